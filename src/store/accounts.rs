//! The `accounts` and `settings` tables: saved accounts (never a secret) and the app's settings.

use rusqlite::{params, OptionalExtension, Row};

use super::{now_ms, Cached, Store};
use crate::error::{Error, ErrorKind, Result};

/// One row of the accounts table. Never holds a secret: `secret` says where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub name: String,
    pub kind: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub path_style: bool,
    pub access_key_id: Option<String>,
    pub profile: Option<String>,
    /// `keychain`, `session` or `none`.
    pub secret: String,
}

fn row_to_account(r: &Row<'_>) -> rusqlite::Result<AccountRow> {
    Ok(AccountRow {
        name: r.get(0)?,
        kind: r.get(1)?,
        endpoint: r.get(2)?,
        region: r.get(3)?,
        path_style: r.get(4)?,
        access_key_id: r.get(5)?,
        profile: r.get(6)?,
        secret: r.get(7)?,
    })
}

impl Store {
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        self.with(|c| {
            c.row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
        })
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.with(|c| {
            c.exec(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }

    pub fn delete_setting(&self, key: &str) -> Result<()> {
        self.with(|c| c.exec("DELETE FROM settings WHERE key = ?1", [key]))
            .map(|_| ())
    }

    pub fn accounts(&self) -> Result<Vec<AccountRow>> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT name, kind, endpoint, region, path_style, access_key_id, profile, secret
                 FROM accounts ORDER BY created_at, name",
            )?;
            let rows = st.query_map([], row_to_account)?.collect();
            rows
        })
    }

    pub fn account(&self, name: &str) -> Result<Option<AccountRow>> {
        self.with(|c| {
            c.row(
                "SELECT name, kind, endpoint, region, path_style, access_key_id, profile, secret
                 FROM accounts WHERE name = ?1",
                [name],
                row_to_account,
            )
            .optional()
        })
    }

    /// Inserts an account; fails if the name is taken.
    pub fn insert_account(&self, a: &AccountRow) -> Result<()> {
        let r = self.with(|c| {
            c.exec(
                "INSERT INTO accounts (name, kind, endpoint, region, path_style, access_key_id, profile, secret, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![a.name, a.kind, a.endpoint, a.region, a.path_style, a.access_key_id, a.profile, a.secret, now_ms()],
            )
        });
        match r {
            Err(e) if e.is_unique_violation() => Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "an account named `{}` already exists; choose another name",
                    a.name
                ),
            )),
            other => other.map(|_| ()),
        }
    }

    pub fn delete_account(&self, name: &str) -> Result<bool> {
        self.with(|c| c.exec("DELETE FROM accounts WHERE name = ?1", [name]))
            .map(|n| n > 0)
    }
}

//! SQLite state: the truth about the queue.
//!
//! One file in the state folder, WAL journal, `synchronous=NORMAL`, foreign keys on. Migrations are
//! append-only and numbered by date; a database written by a newer Ferry (a migration we do not know)
//! is refused rather than guessed at. A transfer row is written before any byte moves; a part row is
//! written only once the server (upload) or the disk (download) holds that part, so after a crash the
//! part table never claims more than is really there.
//!
//! Several processes (the app, the CLI) may open the same file. A transfer is driven by the process
//! holding its lease (`owner`, refreshed in `heartbeat_at`); another process may change its state
//! (pause, cancel) and the owner notices on its next heartbeat.

//!
//! One module per table: `transfers`, `lease` (who drives a transfer), `parts`, `accounts` (and
//! settings); `schema` holds the migrations.

mod accounts;
mod lease;
mod parts;
mod schema;
#[cfg(test)]
mod tests;
mod transfers;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, Params, Row};

use crate::error::{Error, Result};

pub use accounts::AccountRow;
pub use lease::LEASE_TIMEOUT_MS;
pub use parts::PartRow;
pub use transfers::{Direction, NewTransfer, State, TransferRow};

use schema::{damaged, migrate};

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

fn path_text(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| Error::invalid(format!("the path {} is not valid UTF-8", p.display())))
}

/// Statements through the connection's prepared-statement cache: the queue runs the same few
/// statements for every file, and preparing them anew each time cost a tenth of the client's CPU on
/// a thousand small files.
pub(crate) trait Cached {
    fn exec<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn row<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn exec<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(|e| {
            Error::storage(format!(
                "cannot open the state database {}: {e}; check the folder is writable or pass --state-dir",
                path.display()
            ))
        })?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| damaged(path, &e.to_string()))?;
        if check != "ok" {
            return Err(damaged(path, &check));
        }
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        )
        .map_err(|e| damaged(path, &e.to_string()))?;
        migrate(&conn, path)?;
        conn.set_prepared_statement_cache_capacity(64);
        // The bundled SQLite is built with STAT4, which marks statements to be compiled again
        // whenever a new value is bound to a parameter that might change the plan: a cached
        // statement was re-prepared on nearly every use (a sixth of the CLI's CPU on a thousand small
        // files). The queue's plans do not depend on the values, so ask for stable plans.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        Ok(Store {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        Ok(f(&conn)?)
    }
}

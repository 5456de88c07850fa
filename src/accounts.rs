//! Named accounts: where a server is, kept in SQLite, and its secret, kept in the OS keychain (or for
//! this session only, when there is no keychain or the user prefers it).
//!
//! Invariants: no secret is ever written to SQLite, a log, or an error message; an account is saved
//! only after its secret is stored, so a failure leaves nothing half-made. The built-in `local` account
//! (the embedded endpoint) and the profiles of `~/.aws/config` are listed beside the saved accounts.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::s3::{Connection, LOCAL_ACCOUNT};
use crate::store::AccountRow;

/// The keychain service name Ferry's secrets are filed under.
pub const KEYCHAIN_SERVICE: &str = "dev.ferry.Ferry";

/// Where secrets are kept. Two implementations: the OS keychain and this session's memory.
pub trait SecretStore: Send + Sync {
    fn get(&self, account: &str) -> Result<Option<String>>;
    fn set(&self, account: &str, secret: &str) -> Result<()>;
    fn delete(&self, account: &str) -> Result<()>;
}

/// The OS keychain: Secret Service (GNOME Keyring, KWallet) on Linux, Keychain on macOS, Credential
/// Manager on Windows.
pub struct Keychain;

fn keychain_error(e: keyring::Error) -> Error {
    match e {
        keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => Error::new(
            ErrorKind::KeychainUnavailable,
            "no system keychain is available to keep the secret key (on Linux, a Secret Service such as \
             GNOME Keyring or KWallet must be running and unlocked)",
        ),
        other => Error::new(ErrorKind::KeychainUnavailable, format!("the system keychain refused: {other}")),
    }
}

impl SecretStore for Keychain {
    fn get(&self, account: &str) -> Result<Option<String>> {
        let entry = keyring::Entry::new(KEYCHAIN_SERVICE, account).map_err(keychain_error)?;
        match entry.get_password() {
            Ok(s) => Ok(Some(s)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(e)),
        }
    }

    fn set(&self, account: &str, secret: &str) -> Result<()> {
        let entry = keyring::Entry::new(KEYCHAIN_SERVICE, account).map_err(keychain_error)?;
        entry.set_password(secret).map_err(keychain_error)
    }

    fn delete(&self, account: &str) -> Result<()> {
        let entry = keyring::Entry::new(KEYCHAIN_SERVICE, account).map_err(keychain_error)?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keychain_error(e)),
        }
    }
}

/// Secrets held in memory until the process ends.
#[derive(Default)]
pub struct SessionSecrets(Mutex<HashMap<String, String>>);

impl SecretStore for SessionSecrets {
    fn get(&self, account: &str) -> Result<Option<String>> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(account)
            .cloned())
    }

    fn set(&self, account: &str, secret: &str) -> Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.to_string(), secret.to_string());
        Ok(())
    }

    fn delete(&self, account: &str) -> Result<()> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(account);
        Ok(())
    }
}

#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// The embedded endpoint.
    Local,
    /// An S3 or S3-compatible server with an access key.
    S3,
    /// A profile from `~/.aws/config` (its credentials come from the AWS configuration, SSO included).
    AwsProfile,
}

/// An account as the UI shows it.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub name: String,
    pub kind: AccountKind,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub path_style: bool,
    pub access_key_id: Option<String>,
    pub profile: Option<String>,
    /// `keychain`, `session` or `none`.
    #[cfg_attr(test, ts(type = r#""keychain" | "session" | "none""#))]
    pub secret: String,
}

/// What the user types to add an account.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAccount {
    pub name: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub path_style: bool,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_only: bool,
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount")
            .field("name", &self.name)
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl NewAccount {
    /// Checks the fields before anything is stored.
    pub fn validate(&self) -> Result<()> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > 64 {
            return Err(Error::invalid(
                "give the account a name of 1 to 64 characters",
            ));
        }
        if name == LOCAL_ACCOUNT || name == "default" || name.starts_with("profile:") {
            return Err(Error::invalid(format!(
                "`{name}` is reserved; choose another account name"
            )));
        }
        if self.access_key_id.trim().is_empty() || self.secret_access_key.is_empty() {
            return Err(Error::invalid(
                "both the access key id and the secret key are needed",
            ));
        }
        self.connection().validate()
    }

    pub fn connection(&self) -> Connection {
        Connection {
            account: self.name.trim().to_string(),
            endpoint: self
                .endpoint
                .clone()
                .filter(|e| !e.trim().is_empty())
                .map(|e| e.trim().to_string()),
            region: self
                .region
                .clone()
                .filter(|r| !r.trim().is_empty())
                .map(|r| r.trim().to_string()),
            profile: None,
            path_style: self.path_style,
        }
    }

    pub fn credentials(&self) -> aws_credential_types::Credentials {
        aws_credential_types::Credentials::new(
            self.access_key_id.trim(),
            self.secret_access_key.clone(),
            None,
            None,
            "ferry-account",
        )
    }
}

impl From<&AccountRow> for Account {
    fn from(r: &AccountRow) -> Self {
        Account {
            name: r.name.clone(),
            kind: if r.kind == "aws_profile" {
                AccountKind::AwsProfile
            } else {
                AccountKind::S3
            },
            endpoint: r.endpoint.clone(),
            region: r.region.clone(),
            path_style: r.path_style,
            access_key_id: r.access_key_id.clone(),
            profile: r.profile.clone(),
            secret: r.secret.clone(),
        }
    }
}

/// The built-in account of the embedded endpoint.
pub fn local_account() -> Account {
    Account {
        name: LOCAL_ACCOUNT.into(),
        kind: AccountKind::Local,
        endpoint: None,
        region: Some("us-east-1".into()),
        path_style: true,
        access_key_id: None,
        profile: None,
        secret: "none".into(),
    }
}

/// The AWS config and credentials files, where the AWS tools look for them.
pub fn aws_config_files() -> (Option<PathBuf>, Option<PathBuf>) {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let config = std::env::var_os("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/config")));
    let creds = std::env::var_os("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials")));
    (config, creds)
}

/// Refuses AWS config or credentials files the SDK cannot parse, naming the file and line (the SDK
/// itself would only say later, while fetching credentials, that "the profile file" is invalid).
pub async fn check_aws_files() -> Result<()> {
    use aws_config::profile::parser::ProfileFileLoadError;
    use aws_types::os_shim_internal::{Env, Fs};
    match aws_config::profile::load(&Fs::real(), &Env::real(), &Default::default(), None).await {
        Err(e @ ProfileFileLoadError::ParseError { .. }) => Err(Error::invalid(format!(
            "the AWS configuration cannot be read ({}); fix that line, or point AWS_CONFIG_FILE or AWS_SHARED_CREDENTIALS_FILE to another file",
            std::error::Error::source(&e)
                .map_or(e.to_string(), |inner| inner.to_string())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        ))),
        // A missing file is fine (the environment may hold the credentials); other read errors
        // come back from the SDK with their path.
        _ => Ok(()),
    }
}

/// Refuses a profile that neither AWS file names, saying where Ferry looked and how to create it.
pub fn check_profile(profile: &str) -> Result<()> {
    if aws_profiles()
        .iter()
        .any(|a| a.profile.as_deref() == Some(profile))
    {
        return Ok(());
    }
    let (config, creds) = aws_config_files();
    let shown = |p: Option<PathBuf>| p.map_or("(no HOME)".to_string(), |p| p.display().to_string());
    Err(Error::invalid(format!(
        "there is no profile `{profile}` in {} or {}; create it with `aws configure --profile {profile}` (or `aws configure sso`), or choose another profile",
        shown(config),
        shown(creds)
    )))
}

/// Profiles named in the AWS config and credentials files, as accounts `profile:NAME`.
pub fn aws_profiles() -> Vec<Account> {
    let (config, creds) = aws_config_files();
    let mut names: Vec<String> = Vec::new();
    for (path, prefixed) in [(config, true), (creds, false)] {
        let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) else {
            continue;
        };
        for line in text.lines() {
            let l = line.trim();
            let Some(section) = l.strip_prefix('[').and_then(|l| l.strip_suffix(']')) else {
                continue;
            };
            let section = section.trim();
            let name = if prefixed {
                match section.strip_prefix("profile ") {
                    Some(n) => n.trim(),
                    None if section == "default" => "default",
                    None => continue,
                }
            } else {
                section
            };
            if !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
    }
    names
        .into_iter()
        .map(|n| Account {
            name: format!("profile:{n}"),
            kind: AccountKind::AwsProfile,
            endpoint: None,
            region: None,
            path_style: false,
            access_key_id: None,
            profile: Some(n),
            secret: "none".into(),
        })
        .collect()
}

/// The connection of an account by name: `local`, `profile:NAME`, `default`, or a saved account.
pub fn connection_for(name: &str, saved: Option<&AccountRow>) -> Result<Connection> {
    if name == LOCAL_ACCOUNT {
        return Ok(Connection::local());
    }
    if let Some(profile) = name.strip_prefix("profile:") {
        return Ok(Connection {
            account: name.to_string(),
            endpoint: None,
            region: None,
            profile: Some(profile.to_string()),
            path_style: false,
        });
    }
    if name == "default" {
        return Ok(Connection {
            account: name.to_string(),
            endpoint: None,
            region: None,
            profile: None,
            path_style: false,
        });
    }
    let row = saved.ok_or_else(|| Error::not_found(format!("no account named `{name}`")))?;
    Ok(Connection {
        account: row.name.clone(),
        endpoint: row.endpoint.clone(),
        region: row.region.clone(),
        profile: None,
        path_style: row.path_style,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str) -> NewAccount {
        NewAccount {
            name: name.into(),
            endpoint: Some("http://127.0.0.1:9000".into()),
            region: None,
            path_style: true,
            access_key_id: "AKIA".into(),
            secret_access_key: "s3cr3t-value".into(),
            session_only: false,
        }
    }

    #[test]
    fn reserved_or_incomplete_accounts_are_refused() {
        assert!(new("local").validate().is_err());
        assert!(new("profile:x").validate().is_err());
        assert!(new(" ").validate().is_err());
        let mut a = new("minio");
        a.secret_access_key.clear();
        assert!(a.validate().unwrap_err().message.contains("secret key"));
        a = new("minio");
        a.endpoint = Some("minio:9000".into());
        assert!(a.validate().is_err());
        new("minio").validate().unwrap();
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        assert!(!format!("{:?}", new("minio")).contains("s3cr3t"));
    }

    #[test]
    fn session_secrets_round_trip() {
        let s = SessionSecrets::default();
        s.set("a", "x").unwrap();
        assert_eq!(s.get("a").unwrap().as_deref(), Some("x"));
        s.delete("a").unwrap();
        assert_eq!(s.get("a").unwrap(), None);
    }
}

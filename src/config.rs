//! Settings and limits: what the engine is opened with, what the app persists, and the fixed budgets.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::accounts::{Keychain, SecretStore};
use crate::error::{Error, Result};
use crate::plan;
use crate::transfer::RetryPolicy;

/// Buffer memory shared by all parts in flight, in MiB. With 8 MiB parts this allows 8 in flight.
pub const MEMORY_BUDGET_MIB: usize = 64;

/// A paused or failed upload untouched this long is abandoned: the desktop app aborts its multipart
/// upload on start (`ferry clean-uploads` does it on demand).
pub const ABANDONED_UPLOAD_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// The longest a presigned link may live: S3's limit for SigV4 signatures.
pub const MAX_LINK_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Concurrency and bandwidth limits.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Limits {
    /// Transfers running at once (many small files run side by side).
    pub transfers: usize,
    /// Parts in flight for one transfer.
    pub parts_in_flight: usize,
    /// Bytes per second across all transfers; `None` for no limit.
    pub rate_limit: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            transfers: 16,
            parts_in_flight: 8,
            rate_limit: None,
        }
    }
}

#[derive(Clone)]
pub struct EngineConfig {
    pub state_dir: PathBuf,
    pub limits: Limits,
    /// Port of the embedded endpoint (`local` account).
    pub local_port: u16,
    /// Where account secrets live; the OS keychain unless a test says otherwise.
    pub secrets: Arc<dyn SecretStore>,
    /// Retries, the stall watchdog and waits between runs after an outage.
    pub retry: RetryPolicy,
    /// Server-side copies up to this size take one CopyObject, larger ones a multipart copy
    /// (UploadPartCopy): S3's 5 GiB limit unless `FERRY_SINGLE_COPY_MAX` (e.g. `8MiB`) lowers it,
    /// as tests do.
    pub single_copy_max: u64,
}

impl EngineConfig {
    pub fn new(state_dir: impl Into<PathBuf>) -> EngineConfig {
        EngineConfig {
            state_dir: state_dir.into(),
            limits: Limits::default(),
            local_port: std::env::var("FERRY_LOCAL_PORT")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(crate::local::DEFAULT_PORT),
            secrets: Arc::new(Keychain),
            retry: RetryPolicy::default(),
            single_copy_max: std::env::var("FERRY_SINGLE_COPY_MAX")
                .ok()
                .and_then(|v| crate::plan::parse_size(&v).ok())
                .filter(|v| (1..=crate::transfer::copy::MAX_SINGLE_COPY).contains(v))
                .unwrap_or(crate::transfer::copy::MAX_SINGLE_COPY),
        }
    }
}

/// The app's settings, persisted in the state database.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub concurrent_transfers: usize,
    pub parts_in_flight: usize,
    /// `None`: chosen per file.
    pub part_size_mib: Option<u64>,
    /// `None`: unlimited.
    pub bandwidth_limit_mibps: Option<f64>,
    pub default_link_expiry_secs: u64,
    /// `system`, `light` or `dark`.
    #[cfg_attr(test, ts(type = r#""system" | "light" | "dark""#))]
    pub theme: String,
    /// The desktop app: closing its window while transfers run or folders are watched keeps it
    /// running in the tray. Settings saved before it existed read as on.
    #[serde(default = "on")]
    pub keep_in_tray: bool,
    /// The desktop app: the OS starts it at login, hidden in the tray, so watched folders and the
    /// queue go on after a reboot. Off by default (and for settings saved before it existed); the
    /// app keeps the OS's login entry (XDG autostart, LaunchAgent, Run key) in step with it.
    #[serde(default)]
    pub start_at_login: bool,
}

fn on() -> bool {
    true
}

impl Default for Settings {
    fn default() -> Self {
        let l = Limits::default();
        Settings {
            concurrent_transfers: l.transfers,
            parts_in_flight: l.parts_in_flight,
            part_size_mib: None,
            bandwidth_limit_mibps: None,
            default_link_expiry_secs: 3600,
            theme: "system".into(),
            keep_in_tray: true,
            start_at_login: false,
        }
    }
}

impl Settings {
    pub fn validate(&self) -> Result<()> {
        if !(1..=256).contains(&self.concurrent_transfers) {
            return Err(Error::invalid(
                "concurrent transfers must be between 1 and 256",
            ));
        }
        if !(1..=64).contains(&self.parts_in_flight) {
            return Err(Error::invalid("parts in flight must be between 1 and 64"));
        }
        if let Some(p) = self.part_size_mib {
            plan::part_size(0, Some(p * plan::MIB))?;
        }
        if self
            .bandwidth_limit_mibps
            .is_some_and(|b| !(b > 0.0 && b.is_finite()))
        {
            return Err(Error::invalid(
                "the bandwidth limit must be a positive number of MiB/s",
            ));
        }
        if ![900, 3600, 86400, 604800].contains(&self.default_link_expiry_secs) {
            return Err(Error::invalid(
                "the default link expiry must be 15 minutes, 1 hour, 1 day or 7 days",
            ));
        }
        if !["system", "light", "dark"].contains(&self.theme.as_str()) {
            return Err(Error::invalid("the theme must be system, light or dark"));
        }
        Ok(())
    }

    pub fn limits(&self) -> Limits {
        Limits {
            transfers: self.concurrent_transfers,
            parts_in_flight: self.parts_in_flight,
            rate_limit: self
                .bandwidth_limit_mibps
                .map(|b| (b * plan::MIB as f64) as u64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ferry_starts_at_login_only_when_asked() {
        assert!(!Settings::default().start_at_login);
        assert!(Settings::default().validate().is_ok());
        let on = Settings {
            start_at_login: true,
            ..Settings::default()
        };
        let saved = serde_json::to_string(&on).unwrap();
        assert!(saved.contains(r#""startAtLogin":true"#), "{saved}");
        assert_eq!(serde_json::from_str::<Settings>(&saved).unwrap(), on);
    }
}

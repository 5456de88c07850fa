//! What the shells show of the queue: the view of one transfer, lifecycle events, finished batches.

use serde::Serialize;

use crate::error::{Error, ErrorKind};
use crate::s3::Connection;
use crate::store::{Direction, State, TransferRow};
use crate::transfer::download::verified_against_words;

/// All transfers of one request (one drop, one `cp`) have ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchFinished {
    pub batch_id: String,
    pub completed: usize,
    pub failed: usize,
    pub cancelled: usize,
}

/// A transfer as the UI shows it.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferView {
    pub id: String,
    pub direction: Direction,
    pub state: State,
    pub account: String,
    pub bucket: String,
    pub key: String,
    pub local_path: String,
    pub name: String,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub error: Option<Error>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// `waiting_retry`: when it runs again by itself (unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub next_attempt_at: Option<i64>,
    /// Completed downloads: the server checksum the file was verified against (`CRC32C`,
    /// `composite CRC32`, `MD5 ETag`); `null` when the server kept nothing to verify it with.
    pub verified: Option<String>,
    /// `verified` in words, as both shells say it ("the server's CRC32C").
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub verified_words: Option<String>,
    /// A download of one version of the object (absent: the current object).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub version_id: Option<String>,
}

impl From<&TransferRow> for TransferView {
    fn from(r: &TransferRow) -> Self {
        let name = match r.direction {
            Direction::Upload => r
                .local_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned()),
            Direction::Download | Direction::Copy => r.key.rsplit('/').next().map(str::to_string),
        }
        .unwrap_or_default();
        let error = match (&r.error_kind, &r.error_message) {
            (Some(k), Some(m)) => Some(Error::new(
                serde_json::from_value(serde_json::Value::String(k.clone()))
                    .unwrap_or(ErrorKind::Internal),
                m.clone(),
            )),
            _ => None,
        };
        TransferView {
            id: r.id.clone(),
            direction: r.direction,
            state: r.state,
            account: Connection::from_json(&r.connection)
                .map(|c| c.account)
                .unwrap_or_default(),
            bucket: r.bucket.clone(),
            key: r.key.clone(),
            local_path: r.local_path.display().to_string(),
            name,
            bytes_done: r.bytes_done.min(r.size.unwrap_or(0)),
            bytes_total: r.size.unwrap_or(0),
            error,
            created_at: r.created_at,
            verified: r.verified.clone(),
            verified_words: r.verified.as_deref().map(verified_against_words),
            finished_at: r.finished_at,
            next_attempt_at: r.next_attempt_at.filter(|_| r.state == State::WaitingRetry),
            version_id: r.version_id.clone(),
        }
    }
}

/// A lifecycle change of one transfer, for the UI's event stream.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: String,
    pub state: State,
    pub error: Option<Error>,
    /// A download that just completed: what it was verified against (absent otherwise, and when
    /// the server kept nothing to verify it with).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub verified: Option<String>,
    /// `verified` in words ("the server's CRC32C").
    #[serde(skip_serializing_if = "Option::is_none", rename = "verifiedWords")]
    #[cfg_attr(test, ts(optional))]
    pub verified_words: Option<String>,
}

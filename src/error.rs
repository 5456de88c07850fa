//! The engine's one error type: a kind a program can branch on, and a message a person can act on.
//!
//! Shells serialise errors as `{kind, message}` so no front end classifies errors by matching strings.
//! Whether an error is worth retrying is decided here, in one place (`Error::is_retryable`), never at
//! call sites. Messages never carry secrets: they are built from operation names, buckets, keys and
//! server error codes only.

use std::sync::Arc;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use serde::Serialize;

/// What went wrong, coarse enough for a UI to choose an icon and a next step.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The request itself is wrong (bad path, bad bucket name, out-of-range option).
    InvalidInput,
    /// A file, bucket, key or transfer that does not exist.
    NotFound,
    /// The destination already exists and no overwrite policy was chosen.
    AlreadyExists,
    /// Credentials missing, wrong, or not allowed to do this.
    AccessDenied,
    /// The server could not be reached or the connection broke.
    Network,
    /// The server answered with a transient failure (5xx, SlowDown, throttling).
    Server,
    /// The source file changed under an upload, or the object changed under a download.
    Changed,
    /// Data arrived damaged: its checksum does not match what the server holds.
    Corrupt,
    /// The multipart upload this transfer was continuing no longer exists on the server.
    UploadGone,
    /// Another process is driving this transfer.
    Busy,
    /// No OS keychain to keep a secret in (the user may keep it for this session only).
    KeychainUnavailable,
    /// Local disk or database trouble.
    Storage,
    /// The transfer was paused or cancelled while this operation ran.
    Interrupted,
    /// A bug or an answer we cannot interpret.
    Internal,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::AccessDenied => "access_denied",
            ErrorKind::Network => "network",
            ErrorKind::Server => "server",
            ErrorKind::Changed => "changed",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::UploadGone => "upload_gone",
            ErrorKind::Busy => "busy",
            ErrorKind::KeychainUnavailable => "keychain_unavailable",
            ErrorKind::Storage => "storage",
            ErrorKind::Interrupted => "interrupted",
            ErrorKind::Internal => "internal",
        }
    }
}

/// An engine error: `kind` for programs, `message` for people.
#[cfg_attr(test, derive(ts_rs::TS), ts(export, rename = "BackendError"))]
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// What caused it (an I/O or SQLite error), for logs and for classifying by code, never by text.
    #[source]
    #[serde(skip)]
    pub source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The same error, remembering what caused it.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// A write refused by a UNIQUE or PRIMARY KEY constraint of the state database (the row exists).
    pub fn is_unique_violation(&self) -> bool {
        let code = self
            .source
            .as_deref()
            .and_then(|s| s.downcast_ref::<rusqlite::Error>())
            .and_then(|e| match e {
                rusqlite::Error::SqliteFailure(f, _) => Some(f.extended_code),
                _ => None,
            });
        matches!(
            code,
            Some(
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            )
        )
    }

    /// The state database could not be written because its disk is full: the user frees space,
    /// then the transfer continues (paused, not failed).
    pub fn is_state_disk_full(&self) -> bool {
        self.source
            .as_deref()
            .and_then(|s| s.downcast_ref::<rusqlite::Error>())
            .is_some_and(|e| e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull))
    }

    /// The local I/O error behind this one, if that is what caused it.
    pub fn io_source(&self) -> Option<&std::io::Error> {
        self.source.as_deref()?.downcast_ref::<std::io::Error>()
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::NotFound, message)
    }

    pub fn storage(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Storage, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }

    pub fn interrupted() -> Self {
        Error::new(
            ErrorKind::Interrupted,
            "the transfer was paused or cancelled",
        )
    }

    /// Transient failures that the same request may survive when tried again.
    pub fn is_retryable(&self) -> bool {
        matches!(self.kind, ErrorKind::Network | ErrorKind::Server)
    }

    /// Wraps a local I/O error with what we were doing and on which path.
    pub fn io(what: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::PermissionDenied => ErrorKind::AccessDenied,
            std::io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
            _ => ErrorKind::Storage,
        };
        Error::new(kind, format!("{what} {}: {err}", path.display())).with_source(err)
    }

    /// Maps an S3 SDK error to a kind and a message that says what to do next.
    ///
    /// `what` names the operation and its target, e.g. `upload s3://b/k`.
    pub fn from_sdk<E, R>(what: &str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + HttpStatus + Send + Sync + 'static,
    {
        let mapped = match &err {
            SdkError::ConstructionFailure(_) => {
                Error::invalid(format!("{what}: the request could not be built ({})", source_text(&err)))
            }
            SdkError::TimeoutError(_) => Error::new(
                ErrorKind::Network,
                format!("{what}: the server did not answer in time; check the endpoint and your network"),
            ),
            // Credentials that cannot be had (none configured, an SSO session without a login or
            // expired, a config file the SDK cannot read) come back as a dispatch failure; no retry
            // helps, and the network is not to blame.
            SdkError::DispatchFailure(_) if has_source::<CredentialsError>(&err) => Error::new(
                ErrorKind::AccessDenied,
                format!(
                    "{what}: no usable credentials ({}); set them with `aws configure`, sign in with `aws sso login --profile NAME` for an SSO profile, or save an account with `ferry account add`, then run it again (transfers continue where they stopped)",
                    source_text(&err)
                ),
            ),
            SdkError::DispatchFailure(_) if refused(&err) => Error::new(
                ErrorKind::Network,
                format!("{what}: nothing answers at that address (the connection was refused); check the endpoint URL and port, and that the server is running"),
            ),
            SdkError::DispatchFailure(d) => {
                let detail = source_text(&err);
                if d.is_io() || d.is_timeout() || d.is_other() {
                    Error::new(
                        ErrorKind::Network,
                        format!("{what}: could not reach the server ({detail}); check the endpoint URL and your network"),
                    )
                } else {
                    Error::new(ErrorKind::Network, format!("{what}: connection failed ({detail})"))
                }
            }
            SdkError::ResponseError(_) => Error::new(
                ErrorKind::Network,
                format!("{what}: the server's answer was cut off or unreadable ({})", source_text(&err)),
            ),
            SdkError::ServiceError(service) => {
                let status = service.raw().status();
                let e = service.err();
                from_service(what, status, e.code(), e.message())
            }
            _ => Error::internal(format!("{what}: {}", source_text(&err))),
        };
        // A mapping that named its own cause (an expired token) keeps it.
        if mapped.source.is_some() {
            return mapped;
        }
        mapped.with_source(err)
    }
}

/// The HTTP status of a raw response, so `from_sdk` can classify unmodeled errors.
pub trait HttpStatus {
    fn status(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

/// Whether some error in `err`'s chain of sources passes `test`.
fn any_source(
    err: &(dyn std::error::Error + 'static),
    test: impl Fn(&(dyn std::error::Error + 'static)) -> bool,
) -> bool {
    let mut cur = Some(err);
    while let Some(e) = cur {
        if test(e) {
            return true;
        }
        cur = e.source();
    }
    false
}

/// Whether an error of type `T` is in `err`'s chain of sources.
fn has_source<T: std::error::Error + 'static>(err: &(dyn std::error::Error + 'static)) -> bool {
    any_source(err, |e| e.is::<T>())
}

/// Whether the connection was refused: nothing listens at the address, so trying again at once is
/// pointless and the SDK's wording ("dispatch failure: io error…") says nothing to a person.
fn refused(err: &(dyn std::error::Error + 'static)) -> bool {
    any_source(err, |e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
    })
}

/// The server refused a session token as expired (see `from_service`).
#[derive(Debug)]
struct CredentialsExpired;

impl std::fmt::Display for CredentialsExpired {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the credentials expired")
    }
}

impl std::error::Error for CredentialsExpired {}

impl Error {
    /// Whether this error came from credentials that could not be had or have expired (see
    /// `from_sdk`, `from_service`): the user signs in again, then the transfer continues.
    pub fn is_credentials(&self) -> bool {
        self.source.as_deref().is_some_and(|s| {
            has_source::<CredentialsError>(s) || has_source::<CredentialsExpired>(s)
        })
    }
}

fn source_text(err: &dyn std::error::Error) -> String {
    let mut parts = Vec::new();
    let mut cur: Option<&dyn std::error::Error> = Some(err);
    while let Some(e) = cur {
        let s = e.to_string();
        if !parts.contains(&s) {
            parts.push(s);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// Classifies a modeled or unmodeled S3 error answer.
pub fn from_service(what: &str, status: u16, code: Option<&str>, message: Option<&str>) -> Error {
    let detail = match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        (None, Some(m)) => m.to_string(),
        (None, None) => format!("HTTP {status}"),
    };
    match code.unwrap_or("") {
        "NoSuchBucket" => Error::not_found(format!(
            "{what}: the bucket does not exist; create it with `ferry mb s3://BUCKET` or check the name"
        )),
        "NoSuchKey" | "NotFound" => Error::not_found(format!("{what}: no such object")),
        "NoSuchUpload" => Error::new(
            ErrorKind::UploadGone,
            format!("{what}: the multipart upload no longer exists on the server"),
        ),
        // A session token past its time: a provider that can refresh (SSO, an assumed role) does so
        // before this happens, so this one cannot; the transfer pauses until the user signs in.
        "ExpiredToken" | "TokenRefreshRequired" => Error::new(
            ErrorKind::AccessDenied,
            format!("{what}: the credentials expired ({detail}); get fresh ones (e.g. `aws sso login --profile NAME`, or new keys for the account), then resume"),
        )
        .with_source(CredentialsExpired),
        "AccessDenied" | "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "InvalidToken"
        | "AllAccessDisabled" => Error::new(
            ErrorKind::AccessDenied,
            format!("{what}: access denied ({detail}); check the account's access key, secret key and permissions"),
        ),
        "PreconditionFailed" => Error::new(
            ErrorKind::Changed,
            format!("{what}: the object changed on the server while it was being transferred"),
        ),
        "SlowDown" | "Throttling" | "ThrottlingException" | "RequestTimeout" | "InternalError"
        | "ServiceUnavailable" | "RequestTimeTooSkewed" => {
            Error::new(ErrorKind::Server, format!("{what}: the server is busy or failing ({detail})"))
        }
        "BadDigest" | "InvalidDigest" | "XAmzContentSHA256Mismatch" => Error::new(
            ErrorKind::Server,
            format!("{what}: the data arrived damaged ({detail}); it will be sent again"),
        ),
        "InvalidBucketName" => Error::invalid(format!("{what}: invalid bucket name ({detail})")),
        "BucketAlreadyExists" | "BucketAlreadyOwnedByYou" => {
            Error::new(ErrorKind::AlreadyExists, format!("{what}: the bucket already exists"))
        }
        _ => match status {
            404 => Error::not_found(format!("{what}: not found ({detail})")),
            403 | 401 => Error::new(
                ErrorKind::AccessDenied,
                format!("{what}: access denied ({detail}); check the account's access key, secret key and permissions"),
            ),
            412 => Error::new(
                ErrorKind::Changed,
                format!("{what}: the object changed on the server while it was being transferred"),
            ),
            408 | 429 | 500..=599 => {
                Error::new(ErrorKind::Server, format!("{what}: the server is busy or failing ({detail})"))
            }
            _ => Error::new(ErrorKind::Internal, format!("{what}: the server refused ({detail})")),
        },
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DiskFull) {
            return Error::storage(
                "the disk holding Ferry's state database is full; free some space, then resume (nothing recorded was lost)",
            )
            .with_source(e);
        }
        Error::storage(format!("state database: {e}")).with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_codes_map_to_kinds_that_decide_retry() {
        assert!(from_service("x", 503, Some("SlowDown"), None).is_retryable());
        assert!(from_service("x", 500, None, None).is_retryable());
        assert!(!from_service("x", 403, Some("AccessDenied"), None).is_retryable());
        assert_eq!(
            from_service("x", 404, Some("NoSuchBucket"), None).kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            from_service("x", 404, Some("NoSuchUpload"), None).kind,
            ErrorKind::UploadGone
        );
        assert_eq!(from_service("x", 412, None, None).kind, ErrorKind::Changed);
        let expired = from_service("upload s3://b/k", 400, Some("ExpiredToken"), None);
        assert!(expired.is_credentials() && !expired.is_retryable());
        assert!(
            expired.message.contains("then resume"),
            "{}",
            expired.message
        );
        assert!(!from_service("x", 403, Some("AccessDenied"), None).is_credentials());
        let e = from_service("upload s3://b/k", 404, Some("NoSuchBucket"), None);
        assert!(e.message.contains("ferry mb"), "{}", e.message);
    }

    #[test]
    fn errors_keep_their_source_and_are_classified_by_its_code() {
        let io = Error::io(
            "cannot write",
            std::path::Path::new("/x"),
            std::io::Error::from(std::io::ErrorKind::StorageFull),
        );
        assert_eq!(io.kind, ErrorKind::Storage);
        assert_eq!(
            io.io_source().map(|e| e.kind()),
            Some(std::io::ErrorKind::StorageFull)
        );
        assert!(std::error::Error::source(&io).is_some());

        let db = rusqlite::Connection::open_in_memory().unwrap();
        db.execute_batch("CREATE TABLE t (name TEXT PRIMARY KEY); INSERT INTO t VALUES ('a');")
            .unwrap();
        let dup: Error = db
            .execute("INSERT INTO t VALUES ('a')", [])
            .unwrap_err()
            .into();
        assert!(dup.is_unique_violation());
        let other: Error = db
            .execute("INSERT INTO nope VALUES (1)", [])
            .unwrap_err()
            .into();
        assert!(!other.is_unique_violation());
        // The source never reaches the shells: they get {kind, message}.
        assert_eq!(
            serde_json::to_value(&dup)
                .unwrap()
                .as_object()
                .unwrap()
                .len(),
            2
        );
    }
}

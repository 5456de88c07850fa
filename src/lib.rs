//! Ferry's engine: resumable, parallel S3 transfers with their state in SQLite.
//!
//! The CLI (`src/bin/ferry/`) and the desktop app (`src-tauri/`) are thin shells over [`Engine`]
//! and [`Watches`]; what they use is re-exported here. The modules stay public for the shells'
//! details (formatting, logging, the embedded endpoint) and for the integration tests, which reach
//! the store and the checksum code to check outcomes; `error` and `paths` are internal.

pub mod accounts;
pub mod config;
pub mod engine;
mod error;
pub mod format;
pub mod local;
pub mod logging;
pub(crate) mod paths;
pub mod plan;
pub mod progress;
pub(crate) mod rules;
pub mod s3;
pub mod store;
pub mod transfer;
pub mod watch;

pub use config::{EngineConfig, Limits, Settings};
pub use engine::{
    AccountDefaults, BatchFinished, Compare, Copied, CopyOptions, DownloadOptions, Engine,
    Enqueued, Event, IfExists, Link, ObjectVersion, Restored, SyncAction, SyncDirection, SyncItem,
    SyncOptions, SyncPair, SyncPlan, SyncPreview, SyncRun, SyncSide, SyncStarted, SyncTotals,
    TransferView, UploadOptions,
};
pub use error::{Error, ErrorKind, Result};
pub use s3::{Connection, S3Url};
pub use store::{Direction, State, TransferRow};
pub use transfer::copy::ObjectEdit;
pub use transfer::upload::ObjectOptions;
pub use transfer::{RetryPolicy, RunStats};
pub use watch::{NewWatchedFolder, WatchState, WatchedFolder, WatchedUpload, Watches};

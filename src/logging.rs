//! Logs: to stderr at the level `-v` / `RUST_LOG` asks for, and to a daily rolling file in the state
//! folder's `logs/` (kept a week) so a failed transfer can be diagnosed after the fact.
//!
//! Nothing secret is ever logged: the engine logs ids, buckets, keys and error kinds, and the keys of
//! the embedded endpoint only ever appear in the key file and in `ferry serve-local`'s own output.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{Builder, Rotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Flushes the log file when dropped.
pub type Guard = WorkerGuard;

/// Installs the global subscriber. Keep the returned guard alive: dropping it flushes the file.
pub fn init(state_dir: &Path, verbosity: u8) -> Option<Guard> {
    let stderr_level = match verbosity {
        0 => "ferry=warn",
        1 => "ferry=info",
        2 => "ferry=debug,info",
        _ => "trace",
    };
    let stderr_filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(stderr_level));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_filter(stderr_filter);

    let _ = std::fs::create_dir_all(state_dir.join("logs"));
    let file_level = if verbosity >= 3 {
        "trace"
    } else {
        "ferry=debug,warn"
    };
    let (file_layer, guard) = match Builder::new()
        .rotation(Rotation::DAILY)
        .filename_prefix("ferry")
        .filename_suffix("log")
        .max_log_files(7)
        .build(state_dir.join("logs"))
    {
        Ok(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(false)
                .with_filter(EnvFilter::new(file_level));
            (Some(layer), Some(guard))
        }
        Err(e) => {
            eprintln!("ferry: logs will not be kept on disk: {e}");
            (None, None)
        }
    };
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file_layer)
        .try_init();
    guard
}

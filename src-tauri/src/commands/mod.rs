//! The commands the UI invokes, by domain. Each one translates its arguments into one engine call
//! and returns the engine's answer; the types it exchanges are generated from the Rust ones into
//! `ui/src/lib/backend/generated/` (ts-rs). Each command runs in a tracing span of its name.

pub mod accounts;
pub mod objects;
pub mod settings;
pub mod sync;
pub mod transfers;
pub mod watch;

pub(crate) type Result<T> = std::result::Result<T, ferry::Error>;

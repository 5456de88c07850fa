//! The test harness: a real S3 server (s3s-fs behind Ferry's embedded-endpoint wrapper) on
//! 127.0.0.1:0 with SigV4 auth, a fresh bucket, and a request log kept by an access hook.
//!
//! The hook can also hold requests (a "gate") for parts or ranges past a point, which lets tests stop
//! a transfer at an exact place without timing guesses. The server is wrapped in [`FaultyS3`], which
//! checks part checksums like real S3 and answers 500/503 or damages bodies on command; a [`Proxy`]
//! between the engine and the server breaks connections on command.
//!
//! Every helper a test module uses lives here, one of each, re-exported so call sites say
//! `use crate::support::{...}`: [`Harness`] (one test's server and folders), `gate` (the request log
//! and its gate), `run` (transfer options and runs stopped at the gate), `cli` (the `ferry`
//! binary), `keyring` (a Secret Service that outlives one command), `data` (test bytes and objects put without Ferry), `moto` (moto's S3 server, for versions), `seeded` (xorshift for data and
//! faults), `state` (the only raw SQL, for what
//! no public API can do).

pub mod ledger;
pub mod proxy;
pub mod server_faults;

mod cli;
mod data;
mod gate;
mod harness;
mod keyring;
mod moto;
mod run;
mod seeded;
mod state;
mod tags;

use std::time::Duration;

pub use cli::*;
pub use data::*;
pub use gate::Log;
pub use harness::{ferry_command, store_when_created, Harness};
pub use keyring::KeyringSession;
pub use moto::Moto;
pub use proxy::Proxy;
pub use run::*;
pub use seeded::{Chance, Xorshift};
pub use server_faults::{FaultyS3, ServerFaults};
pub use state::*;

pub const MIB: usize = 1024 * 1024;
pub const BUCKET: &str = "test-bucket";
pub const ACCOUNT: &str = "test";

/// Polls `cond` every 20 ms until it holds; panics with `what` after 60 s (a hang, not a timing check).
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..3000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("gave up waiting: {what}");
}

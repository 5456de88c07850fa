//! Building and running transfers through the engine: the options tests use, a retry policy with
//! test-sized waits, and runs stopped at the server's gate.

use std::time::Duration;

use ferry::store::Store;
use ferry::{DownloadOptions, Engine, RetryPolicy, S3Url, UploadOptions};

use super::{wait_until, Harness, Log, BUCKET};

/// The default policy's shape with test-sized waits: a part silent for 1 s is stalled, backoffs are
/// tens of milliseconds, an outage waits half a second before the next run.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        backoff: Duration::from_millis(20),
        sdk_backoff: Duration::from_millis(20),
        stall_timeout: Duration::from_secs(1),
        outage_wait: Duration::from_millis(500),
        max_outage_wait: Duration::from_secs(2),
    }
}

/// Runs `ids` on a background task, so the test can pause or cancel them meanwhile.
pub fn run_in_background(
    engine: &Engine,
    ids: &[String],
) -> tokio::task::JoinHandle<Vec<ferry::engine::Outcome>> {
    let (engine, ids) = (engine.clone(), ids.to_vec());
    tokio::spawn(async move { engine.run(&ids).await })
}

/// Runs the one transfer `id` to its end, here.
pub async fn run_one(engine: &Engine, id: &str) -> ferry::Result<ferry::RunStats> {
    engine.run(&[id.to_string()]).await.remove(0).result
}

/// `s3://BUCKET/key`.
pub fn url(key: &str) -> S3Url {
    S3Url::parse(&format!("s3://{BUCKET}/{key}")).unwrap()
}

/// A single-file upload in parts of `part_size` bytes.
pub fn parts_of(part_size: usize) -> UploadOptions {
    UploadOptions {
        recursive: false,
        part_size: Some(part_size as u64),
        ..UploadOptions::default()
    }
}

/// A download in ranges of `part_size` bytes.
pub fn ranges_of(part_size: usize) -> DownloadOptions {
    DownloadOptions {
        part_size: Some(part_size as u64),
        ..Default::default()
    }
}

/// Where the server's gate stops a transfer (see [`super::Log`]).
#[derive(Debug, Clone, Copy)]
pub enum Hold {
    /// UploadPart requests numbered this or higher.
    PartsFrom(i32),
    /// Ranged GETs starting at this offset or later.
    RangesFrom(u64),
}

impl Hold {
    /// Closes `log`'s gate here until `log.release()`.
    pub fn close(self, log: &Log) {
        match self {
            Hold::PartsFrom(n) => log.hold_parts_from(n),
            Hold::RangesFrom(offset) => log.hold_ranges_from(offset),
        }
    }
}

/// Closes the server's gate at `hold`, runs `ids` on a background task and returns once the first of
/// them has `committed` parts (or ranges) in the store. The caller pauses, cancels or interferes,
/// then calls `h.log.release()`.
pub async fn run_held(
    h: &Harness,
    engine: &Engine,
    ids: &[String],
    hold: Hold,
    committed: usize,
) -> tokio::task::JoinHandle<Vec<ferry::engine::Outcome>> {
    hold.close(&h.log);
    let run = run_in_background(engine, ids);
    wait_committed(&h.store(), &ids[0], committed).await;
    run
}

/// Waits until transfer `id` has `n` parts (or ranges) committed in `store`.
pub async fn wait_committed(store: &Store, id: &str, n: usize) {
    wait_until(&format!("{n} parts of {id} committed"), || {
        store.parts(id).unwrap().len() == n
    })
    .await;
}

/// Waits until the server has seen an UploadPart request for part `n` of `key` (held or not).
pub async fn wait_part_sent(h: &Harness, key: &str, n: i32) {
    wait_until(&format!("part {n} of {key} in flight"), || {
        h.log.part_counts(key).contains_key(&n)
    })
    .await;
}

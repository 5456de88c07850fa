//! The state machines of one transfer: [`upload`] and [`download`].
//!
//! Both follow the same rules: the transfer row and (for multipart) the upload id are in SQLite before
//! the first byte moves; a part counts as done only once it is committed; parts run in parallel under
//! the engine's limits; a pause or cancel drops the in-flight requests at once.

pub mod body;
pub mod buffers;
pub mod download;
pub mod upload;

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bytes::Bytes;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::plan::Part;
use crate::progress::{Counter, RateLimiter};
use crate::store::{Store, TransferRow};

/// Tries per request at this level, on top of the SDK's own quick retries.
pub const PART_ATTEMPTS: u32 = 4;

/// What one transfer needs to run.
pub struct Ctx {
    pub store: Arc<Store>,
    pub client: Client,
    pub row: TransferRow,
    pub owner: String,
    pub counter: Arc<Counter>,
    pub token: CancellationToken,
    /// Parts in flight for this transfer.
    pub parts_per_transfer: usize,
    /// Parts in flight across the engine (connections).
    pub part_slots: Arc<Semaphore>,
    /// Buffer memory across the engine, in MiB permits.
    pub memory: Arc<Semaphore>,
    /// Part buffers handed round instead of allocated per part.
    pub buffers: Arc<buffers::Buffers>,
    pub limiter: Option<Arc<RateLimiter>>,
}

/// What a finished run did, for the CLI's summary and the benchmark.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct RunStats {
    pub bytes_total: u64,
    /// Bytes that crossed the network in this run, retries included.
    pub bytes_sent: u64,
    pub parts_total: u64,
    /// Parts found done from an earlier run and not sent again.
    pub parts_reused: u64,
    pub parts_sent: u64,
}

impl Ctx {
    /// Waits for a connection slot and `bytes` of buffer memory, or for the transfer to be stopped.
    pub async fn admit_part(
        &self,
        bytes: u64,
    ) -> Result<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let mib = (bytes.div_ceil(crate::plan::MIB).max(1)).min(self.memory_capacity()) as u32;
        tokio::select! {
            _ = self.token.cancelled() => Err(Error::interrupted()),
            permits = async {
                let slot = self.part_slots.clone().acquire_owned().await;
                let mem = self.memory.clone().acquire_many_owned(mib).await;
                (slot, mem)
            } => match permits {
                (Ok(s), Ok(m)) => Ok((s, m)),
                _ => Err(Error::interrupted()),
            },
        }
    }

    fn memory_capacity(&self) -> u64 {
        // A part larger than the whole budget still runs, alone.
        crate::engine::MEMORY_BUDGET_MIB as u64
    }

    /// Runs `f` until it succeeds, fails for good, or the transfer is stopped. Retryable failures wait
    /// with exponential backoff and jitter between attempts.
    pub async fn retrying<T, F, Fut>(&self, what: &str, mut f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let r = tokio::select! {
                _ = self.token.cancelled() => return Err(Error::interrupted()),
                r = f() => r,
            };
            match r {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retryable() && attempt < PART_ATTEMPTS => {
                    let wait = backoff(attempt);
                    tracing::warn!(transfer = %self.row.id, what, attempt, ?wait, error = %e, "retrying");
                    tokio::select! {
                        _ = self.token.cancelled() => return Err(Error::interrupted()),
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Runs `work` for every part, at most `parts_per_transfer` at once, each admitted under the engine's
/// limits with `buffer(part)` bytes of memory. Parts are started in order and only when there is room
/// (backpressure, not buffering ahead). The first error stops the rest; it is returned.
pub async fn for_each_part<F, Fut>(
    ctx: &Arc<Ctx>,
    parts: impl IntoIterator<Item = Part>,
    buffer: impl Fn(&Part) -> u64,
    work: F,
) -> Result<()>
where
    F: Fn(Arc<Ctx>, Part) -> Fut,
    Fut: Future<Output = Result<()>> + Send + 'static,
{
    let mut set: JoinSet<Result<()>> = JoinSet::new();
    let mut first_error: Option<Error> = None;
    for part in parts {
        while set.len() >= ctx.parts_per_transfer && first_error.is_none() {
            if let Some(Err(e)) = set.join_next().await.map(joined) {
                first_error = Some(e);
            }
        }
        if first_error.is_some() {
            break;
        }
        let permits = match ctx.admit_part(buffer(&part)).await {
            Ok(p) => p,
            Err(e) => {
                first_error = Some(e);
                break;
            }
        };
        let fut = work(ctx.clone(), part);
        set.spawn(async move {
            let _permits = permits;
            fut.await
        });
    }
    while let Some(r) = set.join_next().await {
        if let Err(e) = joined(r) {
            if first_error.is_none() {
                set.abort_all();
            }
            first_error.get_or_insert(e);
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn joined(r: std::result::Result<Result<()>, tokio::task::JoinError>) -> Result<()> {
    match r {
        Ok(r) => r,
        Err(e) if e.is_cancelled() => Err(Error::interrupted()),
        Err(e) => Err(Error::internal(format!("a part task failed: {e}"))),
    }
}

/// Sends `data` with `send` (which builds and sends one request around the body it is given), with
/// retries; progress counts the bytes as they go and takes back those of failed attempts.
pub async fn send_counted<T, F, Fut>(ctx: &Ctx, what: &str, data: &Bytes, send: F) -> Result<T>
where
    F: Fn(ByteStream) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let counted = Arc::new(AtomicU64::new(0));
    let result = ctx
        .retrying(what, || {
            ctx.counter.sub(counted.swap(0, Ordering::Relaxed));
            send(body::counting(
                data.clone(),
                ctx.counter.clone(),
                counted.clone(),
                ctx.limiter.clone(),
            ))
        })
        .await;
    if result.is_err() {
        ctx.counter.sub(counted.swap(0, Ordering::Relaxed));
    }
    result
}

/// Exponential backoff with full jitter: up to 0.2 s, 0.4 s, 0.8 s … capped at 10 s.
pub fn backoff(attempt: u32) -> Duration {
    let cap_ms = (200u64 << attempt.min(6)).min(10_000);
    let r = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    Duration::from_millis(cap_ms / 2 + r % (cap_ms / 2 + 1))
}

/// CRC32C of `data` as S3 writes it in `x-amz-checksum-crc32c`: base64 of the big-endian value.
pub fn crc32c_b64(data: &[u8]) -> String {
    aws_smithy_types::base64::encode(crc32c::crc32c(data).to_be_bytes())
}

/// Modification time of a file in nanoseconds since the epoch (0 when the platform has none).
pub fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_stays_capped() {
        for a in 1..20 {
            let d = backoff(a);
            assert!(d <= Duration::from_secs(10));
            assert!(d >= Duration::from_millis(100));
        }
        assert!(backoff(6) > backoff(1));
    }

    #[test]
    fn crc32c_matches_the_s3_encoding() {
        // CRC32C("123456789") = 0xE3069283, the standard check value.
        assert_eq!(
            crc32c_b64(b"123456789"),
            aws_smithy_types::base64::encode([0xE3, 0x06, 0x92, 0x83])
        );
    }
}

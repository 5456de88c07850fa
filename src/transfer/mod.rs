//! The state machines of one transfer: [`upload`] and [`download`] (checked against the server's
//! checksums by [`checksum`] and [`verify`]).
//!
//! Both follow the same rules: the transfer row and (for multipart) the upload id are in SQLite before
//! the first byte moves; a part counts as done only once it is committed; parts run in parallel under
//! the engine's limits (under a bandwidth cap, only a few seconds of it in flight: see
//! [`crate::plan::parts_in_flight`]); a cancel drops the in-flight requests at once.
//!
//! A pause (and a quit) is gentler: it starts no new part, stops at once the parts that have far to
//! go, and lets a part that is about to finish ([`near_done`]: at least [`KEEP_SHARE`] sent, or done
//! within [`GRACE`] at its own pace) complete and be committed, for at most [`GRACE_LIMIT`]. What
//! was sent is kept.
//!
//! Retries follow one policy ([`RetryPolicy`]), decided by [`Error::is_retryable`]: each request is
//! tried again with backoff and jitter; a part whose bytes stop moving for the stall timeout is
//! abandoned and tried again (counted where its bytes are sent or written, so a connection that stays
//! open but silent is caught, not only one that closes).

pub(crate) mod body;
pub(crate) mod buffers;
pub mod checksum;
pub mod copy;
pub mod download;
pub mod options;
pub mod upload;
pub(crate) mod verify;

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;
use bytes::Bytes;
use serde::Serialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, ErrorKind, Result};
use crate::plan::Part;
use crate::progress::{Counter, RateLimiter};
use crate::store::{Store, TransferRow};

/// The one retry policy: how often and how far apart requests are tried, when a silent connection
/// counts as stalled, and how long a transfer whose tries are spent waits before it runs again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries per request at the engine's level, on top of the SDK's own quick retries.
    pub attempts: u32,
    /// The first backoff between the engine's tries; it doubles (full jitter), capped at 10 s.
    pub backoff: Duration,
    /// The first backoff of the SDK's own retries (it doubles with jitter, capped by the SDK).
    pub sdk_backoff: Duration,
    /// A part with no progress (no byte sent, written or answered) for this long is abandoned and
    /// tried again. Bytes count as sent when the OS takes them, so this must exceed the time a full
    /// send buffer (up to 4 MiB on Linux) takes to drain on the slowest link: 30 s covers ~140 KB/s.
    pub stall_timeout: Duration,
    /// After a part's tries are spent on a transient error, the transfer waits this long in
    /// `waiting_retry`, doubling with each failed run, up to `max_outage_wait`.
    pub outage_wait: Duration,
    pub max_outage_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            backoff: Duration::from_millis(200),
            sdk_backoff: Duration::from_secs(1),
            stall_timeout: Duration::from_secs(30),
            outage_wait: Duration::from_secs(5),
            max_outage_wait: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// The wait before the engine's try number `attempt + 1`: exponential with full jitter.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let cap = (self.backoff * (1u32 << attempt.min(6))).min(Duration::from_secs(10));
        jitter(cap)
    }

    /// The wait in `waiting_retry` after `outages` runs in a row ended on a transient error.
    pub fn outage_wait(&self, outages: u32) -> Duration {
        let base = self.outage_wait * (1u32 << outages.saturating_sub(1).min(10));
        jitter(base.min(self.max_outage_wait))
    }
}

/// The one retry loop, for parts and for every other S3 request alike: runs `f` until it succeeds,
/// fails for good, or `token` is cancelled. Retryable failures ([`Error::is_retryable`]) wait with
/// exponential backoff and jitter between attempts, up to `policy.attempts` tries.
pub async fn retrying<T, F, Fut>(
    policy: &RetryPolicy,
    token: &CancellationToken,
    what: &str,
    mut f: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        let r = tokio::select! {
            _ = token.cancelled() => return Err(Error::interrupted()),
            r = f() => r,
        };
        match r {
            Ok(v) => return Ok(v),
            Err(e) if e.is_retryable() && attempt < policy.attempts => {
                let wait = policy.backoff(attempt);
                tracing::warn!(what, attempt, ?wait, error = %e, "retrying");
                tokio::select! {
                    _ = token.cancelled() => return Err(Error::interrupted()),
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// A part that will be done within this long at its own pace when a pause lands is let finish.
pub const GRACE: Duration = Duration::from_secs(2);
/// A part with at least this share of its bytes sent when a pause lands is let finish.
pub const KEEP_SHARE: f64 = 0.8;
/// The longest a pause or quit waits for the parts it lets finish; then everything stops.
pub const GRACE_LIMIT: Duration = Duration::from_secs(5);

/// Whether a part of `len` bytes, `sent` of them gone in `elapsed`, is about to finish: at least
/// [`KEEP_SHARE`] of it sent, or the rest due within [`GRACE`] at the pace so far.
pub fn near_done(len: u64, sent: u64, elapsed: Duration) -> bool {
    if len == 0 || sent >= len || sent as f64 >= KEEP_SHARE * len as f64 {
        return true;
    }
    let secs = elapsed.as_secs_f64();
    if sent == 0 || secs <= 0.0 {
        return false;
    }
    let left = (len - sent) as f64 / (sent as f64 / secs);
    left <= GRACE.as_secs_f64()
}

/// What one transfer needs to run.
pub struct Ctx {
    pub store: Arc<Store>,
    pub client: Client,
    /// A copy between accounts: the client of the source's account (`client` is the destination's).
    pub source_client: Option<Client>,
    pub row: TransferRow,
    pub owner: String,
    pub counter: Arc<Counter>,
    /// Stops everything at once (cancel, shutdown, the end of a pause's grace).
    pub token: CancellationToken,
    /// A pause or quit: no new part starts; parts near their end finish (a child of `token`).
    pub stopping: CancellationToken,
    /// Parts in flight for this transfer (the configured count; fewer under a cap).
    pub parts_per_transfer: usize,
    /// Whether the parts' bytes cross this computer's connection (uploads, downloads), so the
    /// bandwidth cap paces them; a server-side copy's do not.
    pub paced: bool,
    /// Parts in flight across the engine (connections).
    pub part_slots: Arc<Semaphore>,
    /// Buffer memory across the engine, in MiB permits.
    pub memory: Arc<Semaphore>,
    /// The most MiB of `memory` ever held at once (the budget's high-water mark).
    pub memory_peak: Arc<AtomicU64>,
    /// Part buffers handed round instead of allocated per part.
    pub buffers: Arc<buffers::Buffers>,
    pub limiter: Option<Arc<RateLimiter>>,
    pub retry: RetryPolicy,
    /// Copies up to this size take one CopyObject; larger ones a multipart copy.
    pub single_copy_max: u64,
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
    /// The server's whole-object checksum a download was verified against ("CRC32", "CRC32C",
    /// "CRC64NVME", "composite CRC32" / "composite CRC32C" for a multipart object's checksum of its
    /// parts' checksums, or "MD5 ETag" for a whole single-part object); `None` when it had none Ferry
    /// could check.
    pub verified: Option<&'static str>,
    /// The run was a download (so `verified: None` means the object could not be checked).
    pub download: bool,
}

/// A part's admission: its connection slot, its buffer memory and its place under the cap.
pub struct Admitted {
    _slot: OwnedSemaphorePermit,
    _memory: OwnedSemaphorePermit,
    _flight: Option<crate::progress::InFlight>,
}

impl Ctx {
    /// Records a part the server now holds (its ETag, and the CRC32C it was sent with, if any) in
    /// the next group commit: from then on it is never sent again.
    pub(crate) async fn record_held_part(
        &self,
        part: crate::plan::Part,
        etag: &str,
        checksum: Option<String>,
    ) -> Result<()> {
        let row = crate::store::PartRow {
            number: part.number,
            offset: part.offset,
            len: part.len,
            etag: Some(etag.to_string()),
            checksum,
        };
        self.store
            .record_part_grouped(&self.row.id, &row, None)
            .await
    }

    /// Waits for a connection slot, `buffer` bytes of buffer memory and, when the cap paces this
    /// transfer, room for `wire` bytes in flight; or for the transfer to be stopped or paused.
    pub async fn admit_part(&self, buffer: u64, wire: u64) -> Result<Admitted> {
        let mib = (buffer.div_ceil(crate::plan::MIB).max(1)).min(self.memory_capacity()) as u32;
        let limiter = self.limiter.clone().filter(|_| self.paced);
        tokio::select! {
            _ = self.stopping.cancelled() => Err(Error::interrupted()),
            permits = async {
                let flight = match &limiter {
                    Some(l) => Some(l.enter(wire).await),
                    None => None,
                };
                let slot = self.part_slots.clone().acquire_owned().await;
                let mem = self.memory.clone().acquire_many_owned(mib).await;
                (slot, mem, flight)
            } => match permits {
                (Ok(s), Ok(m), flight) => {
                    let held = crate::config::MEMORY_BUDGET_MIB
                        .saturating_sub(self.memory.available_permits());
                    self.memory_peak.fetch_max(held as u64, Ordering::Relaxed);
                    Ok(Admitted { _slot: s, _memory: m, _flight: flight })
                }
                _ => Err(Error::interrupted()),
            },
        }
    }

    /// Parts of `part_size` this transfer keeps in flight now: the cap may change while it runs.
    pub fn parts_allowed(&self, part_size: u64) -> usize {
        let rate = self
            .limiter
            .as_ref()
            .filter(|_| self.paced)
            .and_then(|l| l.rate());
        crate::plan::parts_in_flight(self.parts_per_transfer, part_size, rate)
    }

    /// Runs a part's request `work` (of `len` bytes, `sent` of which have gone) until it ends, or
    /// until a pause: then a part [`near_done`] goes on for at most [`GRACE_LIMIT`], any other one
    /// stops at once.
    pub async fn graced<T>(
        &self,
        len: u64,
        sent: &AtomicU64,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let started = Instant::now();
        tokio::pin!(work);
        tokio::select! {
            r = &mut work => return r,
            _ = self.stopping.cancelled() => {}
        }
        if !near_done(len, sent.load(Ordering::Relaxed), started.elapsed()) {
            return Err(Error::interrupted());
        }
        tokio::select! {
            r = &mut work => r,
            _ = tokio::time::sleep(GRACE_LIMIT) => Err(Error::interrupted()),
        }
    }

    fn memory_capacity(&self) -> u64 {
        // A part larger than the whole budget still runs, alone.
        crate::config::MEMORY_BUDGET_MIB as u64
    }

    /// Runs `f` until it succeeds, fails for good, or the transfer is stopped (see [`retrying`]).
    pub async fn retrying<T, F, Fut>(&self, what: &str, f: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        use tracing::Instrument;
        retrying(&self.retry, &self.token, what, f)
            .instrument(tracing::info_span!("transfer", id = %self.row.id))
            .await
    }

    /// Runs one try of a part, abandoning it when `progress` (bytes this try sent or wrote) has not
    /// moved for the stall timeout: the connection may be open and silent.
    pub async fn watched<T>(
        &self,
        what: &str,
        progress: Arc<AtomicU64>,
        attempt: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let limit = self.retry.stall_timeout;
        let tick = (limit / 5).max(Duration::from_millis(10));
        tokio::pin!(attempt);
        let mut seen = progress.load(Ordering::Relaxed);
        let mut since = Instant::now();
        loop {
            tokio::select! {
                r = &mut attempt => return r,
                _ = tokio::time::sleep(tick) => {
                    let now = progress.load(Ordering::Relaxed);
                    if now != seen {
                        (seen, since) = (now, Instant::now());
                    } else if since.elapsed() >= limit {
                        return Err(Error::new(
                            ErrorKind::Network,
                            format!("{what}: no progress for {:.1} s; the connection stalled", limit.as_secs_f64()),
                        ));
                    }
                }
            }
        }
    }
}

/// The planned parts a multipart run still has to do (those not in `done`), with the progress set
/// to the bytes `done` holds; logs the plan as `kind` ("multipart upload", "multipart copy"…).
pub(crate) fn remaining(
    ctx: &Ctx,
    planned: &[Part],
    done: &std::collections::HashMap<u32, crate::store::PartRow>,
    kind: &str,
) -> Vec<Part> {
    ctx.counter.set_done(done.values().map(|p| p.len).sum());
    tracing::info!(transfer = %ctx.row.id, parts = planned.len(), reused = done.len(), "{kind}");
    planned
        .iter()
        .filter(|p| !done.contains_key(&p.number))
        .copied()
        .collect()
}

/// Runs `work` for every part, at most [`Ctx::parts_allowed`] at once, each admitted under the
/// engine's limits with `buffer(part)` bytes of memory. Parts are started in order and only when
/// there is room (backpressure, not buffering ahead). The first error stops the rest; it is returned.
/// A pause starts no more parts and lets those in flight end as [`Ctx::graced`] decides (a part
/// near its end is committed), then returns `Interrupted`.
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
        while set.len() >= ctx.parts_allowed(part.len)
            && first_error.is_none()
            && !ctx.stopping.is_cancelled()
        {
            tokio::select! {
                r = set.join_next() => if let Some(Err(e)) = r.map(joined) {
                    first_error = Some(e);
                },
                _ = ctx.stopping.cancelled() => {}
            }
        }
        if first_error.is_some() || ctx.stopping.is_cancelled() {
            break;
        }
        let permits = match ctx.admit_part(buffer(&part), part.len).await {
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
    // Parts whose bytes do not cross this computer (a server-side copy's) have no pace to judge
    // their end by: a pause stops them at once.
    let mut stopped = false;
    loop {
        let r = tokio::select! {
            r = set.join_next() => match r {
                Some(r) => r,
                None => break,
            },
            _ = ctx.stopping.cancelled(), if !ctx.paced && !stopped => {
                set.abort_all();
                stopped = true;
                continue;
            }
        };
        if let Err(e) = joined(r) {
            // A pause lets the parts near their end finish: only a failure stops the others.
            if first_error.is_none() && !ctx.stopping.is_cancelled() {
                set.abort_all();
            }
            first_error.get_or_insert(e);
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    if ctx.stopping.is_cancelled() {
        return Err(Error::interrupted());
    }
    Ok(())
}

fn joined(r: std::result::Result<Result<()>, tokio::task::JoinError>) -> Result<()> {
    match r {
        Ok(r) => r,
        Err(e) if e.is_cancelled() => Err(Error::interrupted()),
        Err(e) => Err(Error::internal(format!("a part task failed: {e}"))),
    }
}

/// Sends `data` with `send` (which builds and sends one request around the body it is given), with
/// retries and a pause's grace ([`Ctx::graced`]); progress counts the bytes as moving while they go
/// and takes back those of failed or stopped attempts. The caller moves them to done
/// ([`crate::progress::Counter::kept`]) once the part is committed, or takes them back.
pub async fn send_counted<T, F, Fut>(ctx: &Ctx, what: &str, data: &Bytes, send: F) -> Result<T>
where
    F: Fn(ByteStream) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let counted = Arc::new(AtomicU64::new(0));
    let attempts = ctx.retrying(what, || {
        ctx.counter.unsend(counted.swap(0, Ordering::Relaxed));
        let sent = send(body::counting(
            data.clone(),
            ctx.counter.clone(),
            counted.clone(),
            ctx.limiter.clone(),
        ));
        ctx.watched(what, counted.clone(), sent)
    });
    let result = ctx.graced(data.len() as u64, &counted, attempts).await;
    if result.is_err() {
        ctx.counter.unsend(counted.swap(0, Ordering::Relaxed));
    }
    result
}

/// The JSON a transfer's row keeps of `v` (`object_options`); `None` when it is the default.
pub(crate) fn row_json<T: Serialize + Default + PartialEq>(v: &T) -> Option<String> {
    (v != &T::default()).then(|| serde_json::to_string(v).expect("plain data serialises"))
}

/// Reads back [`row_json`]: the default when the column is empty.
pub(crate) fn from_row_json<T: serde::de::DeserializeOwned + Default>(
    stored: Option<&str>,
    what: &str,
) -> Result<T> {
    stored.map_or(Ok(T::default()), |s| {
        serde_json::from_str(s)
            .map_err(|e| Error::storage(format!("stored {what} settings are unreadable: {e}")))
    })
}

/// A random duration between half of `cap` and `cap`.
fn jitter(cap: Duration) -> Duration {
    let cap_ms = cap.as_millis() as u64;
    let r = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    Duration::from_millis(cap_ms / 2 + r % (cap_ms / 2 + 1))
}

/// CRC32C of a whole file, read in 1 MiB steps (memory stays flat whatever its size).
pub fn file_crc32c(path: &std::path::Path) -> std::io::Result<u32> {
    checksum::Algorithm::Crc32c.of_file(path).map(|v| v as u32)
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

/// The user metadata name under which an object keeps its file's modification time, in rclone's
/// format, so that Ferry and rclone read each other's times.
pub const MTIME_META: &str = "mtime";

/// A modification time as rclone writes it in `x-amz-meta-mtime`: seconds since the epoch with the
/// fraction that is not zero (`1614834367.5`).
pub fn mtime_text(ns: i64) -> String {
    let (secs, frac) = (ns.div_euclid(1_000_000_000), ns.rem_euclid(1_000_000_000));
    if frac == 0 {
        return secs.to_string();
    }
    let digits = format!("{frac:09}");
    format!("{secs}.{}", digits.trim_end_matches('0'))
}

/// Reads `x-amz-meta-mtime` (as rclone and Ferry write it) back to nanoseconds; `None` for anything
/// else. Parsed as decimal text, not a float, so nanoseconds survive.
pub fn parse_mtime(text: &str) -> Option<i64> {
    let text = text.trim();
    let (secs, frac) = text.split_once('.').unwrap_or((text, ""));
    if secs.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs: i64 = secs.parse().ok()?;
    if secs < 0 {
        return None;
    }
    let frac: i64 = format!("{frac:0<9}").parse().ok()?;
    secs.checked_mul(1_000_000_000)?.checked_add(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_mtime_is_written_and_read_as_rclone_does() {
        assert_eq!(mtime_text(1_614_834_367_500_000_000), "1614834367.5");
        assert_eq!(mtime_text(1_614_834_367_000_000_000), "1614834367");
        assert_eq!(mtime_text(1_000_000_001), "1.000000001");
        for ns in [0, 1, 1_614_834_367_500_000_000, 1_700_000_000_123_456_789] {
            assert_eq!(parse_mtime(&mtime_text(ns)), Some(ns));
        }
        assert_eq!(parse_mtime("1614834367.5"), Some(1_614_834_367_500_000_000));
        for bad in ["", "x", "-5", "1.2.3", "1.1234567890", ".5"] {
            assert_eq!(parse_mtime(bad), None, "{bad}");
        }
    }

    #[test]
    fn backoff_grows_and_stays_capped() {
        let p = RetryPolicy::default();
        for a in 1..20 {
            let d = p.backoff(a);
            assert!(d <= Duration::from_secs(10));
            assert!(d >= Duration::from_millis(100));
        }
        assert!(p.backoff(6) > p.backoff(1));
        for n in 1..30 {
            assert!(p.outage_wait(n) <= p.max_outage_wait);
            assert!(p.outage_wait(n) >= p.outage_wait / 2);
        }
        assert!(p.outage_wait(8) > p.outage_wait(1));
    }

    #[test]
    fn a_part_about_to_finish_is_let_finish_and_one_far_from_it_is_not() {
        let mib = crate::plan::MIB;
        let s = Duration::from_secs;
        // 80 % sent: kept, however slow.
        assert!(near_done(10 * mib, 8 * mib, s(100)));
        assert!(near_done(10 * mib, 10 * mib, s(100)));
        // Half sent in 4 s: 4 s more to go, stopped; half sent in 1 s: 1 s more, kept.
        assert!(!near_done(10 * mib, 5 * mib, s(4)));
        assert!(near_done(10 * mib, 5 * mib, s(1)));
        // Nothing sent yet: its pace is unknown, stopped.
        assert!(!near_done(10 * mib, 0, s(1)));
        assert!(!near_done(10 * mib, 0, Duration::ZERO));
        assert!(near_done(0, 0, Duration::ZERO));
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

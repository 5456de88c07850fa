//! Honest progress: byte counters updated where bytes move, coalesced into snapshots.
//!
//! What is shown as done is what is kept: a transfer's `done` counter holds the parts committed to
//! SQLite, which a pause, quit or crash keeps, so it never falls when a pause lands. What is moving
//! is shown as moving: `sending` rises as a part's bytes are handed to the connection (uploads) or
//! written to disk (downloads), moves into `done` when the part is committed, and falls back if an
//! attempt is thrown away or a pause stops the part. Snapshots clamp both to the total. `sent` only
//! rises: it is what crossed the network, retries included, and the speed is measured from it.
//! Snapshots are published at most every [`TICK`], and only for transfers whose counters moved;
//! speed is a moving average over [`WINDOW`], and ETA follows from it.
//!
//! The [`RateLimiter`] is the bandwidth cap, and with it the bytes allowed in flight across the
//! engine ([`crate::plan::flight_budget`]): a part enters only when it fits beside those in flight.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::broadcast;

pub const TICK: Duration = Duration::from_millis(100);
pub const WINDOW: Duration = Duration::from_secs(5);

/// The live counters of one transfer.
#[derive(Debug, Default)]
pub struct Counter {
    done: AtomicU64,
    sending: AtomicU64,
    total: AtomicU64,
    sent: AtomicU64,
    ended: AtomicBool,
}

fn take_back(a: &AtomicU64, n: u64) {
    let _ = a.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
        Some(d.saturating_sub(n))
    });
}

impl Counter {
    /// Bytes done and kept at once (a server-side copy's part, committed as it is counted).
    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
        self.sent.fetch_add(n, Ordering::Relaxed);
    }

    /// Takes back kept bytes found damaged (they will be fetched again).
    pub fn sub(&self, n: u64) {
        take_back(&self.done, n);
    }

    /// Bytes of a part in flight handed to the connection or written to disk: moving, not kept.
    pub fn sending(&self, n: u64) {
        self.sending.fetch_add(n, Ordering::Relaxed);
        self.sent.fetch_add(n, Ordering::Relaxed);
    }

    /// Takes back the moving bytes of an attempt that was thrown away or stopped.
    pub fn unsend(&self, n: u64) {
        take_back(&self.sending, n);
    }

    /// A part of `n` bytes was committed: its bytes stop moving and count as done.
    pub fn kept(&self, n: u64) {
        take_back(&self.sending, n);
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    /// Bytes of parts in flight (see [`Counter::sending`]).
    pub fn in_flight(&self) -> u64 {
        self.sending.load(Ordering::Relaxed)
    }

    pub fn set_done(&self, n: u64) {
        self.done.store(n, Ordering::Relaxed);
    }

    pub fn set_total(&self, n: u64) {
        self.total.store(n, Ordering::Relaxed);
    }

    pub fn done(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Bytes that crossed the network in this run, retries included.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

/// What the UI and CLI see of one transfer at one moment.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub id: String,
    /// Bytes kept: committed parts, which a pause or quit keeps. Never falls while a run goes on,
    /// and the paused row shows the same figure.
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Bytes of the parts in flight, on their way but not yet kept: a pause may drop them.
    pub bytes_sending: u64,
    /// Bytes per second, averaged over the last few seconds.
    pub speed: f64,
    /// Seconds left at the current speed; `None` while the speed is unknown.
    pub eta_secs: Option<f64>,
    /// The transfer's run ended: this is its last snapshot until it runs again.
    pub ended: bool,
}

struct Tracked {
    counter: Arc<Counter>,
    /// (when, bytes sent so far): the speed is measured over these.
    samples: VecDeque<(Instant, u64)>,
    last_published: Option<(u64, u64, u64)>,
    /// The speed found at the last tick, bytes per second.
    speed: f64,
}

/// All tracked transfers, and the channel their snapshots go out on.
pub struct Progress {
    tracked: Mutex<HashMap<String, Tracked>>,
    tx: broadcast::Sender<Arc<Vec<Snapshot>>>,
}

impl Default for Progress {
    fn default() -> Self {
        let (tx, _) = broadcast::channel(64);
        Progress {
            tracked: Mutex::new(HashMap::new()),
            tx,
        }
    }
}

impl Progress {
    /// Starts tracking a transfer that has `done` of `total` bytes already.
    pub fn track(&self, id: &str, total: u64, done: u64) -> Arc<Counter> {
        let counter = Arc::new(Counter::default());
        counter.set_total(total);
        counter.set_done(done);
        let mut map = self.tracked.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(
            id.to_string(),
            Tracked {
                counter: counter.clone(),
                samples: VecDeque::new(),
                last_published: None,
                speed: 0.0,
            },
        );
        counter
    }

    /// Marks a transfer's counter finished: its last snapshot goes out on the next tick, then it is
    /// dropped.
    pub fn end(&self, counter: &Counter) {
        counter.ended.store(true, Ordering::Relaxed);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Vec<Snapshot>>> {
        self.tx.subscribe()
    }

    /// The sum of the tracked transfers' speeds at the last tick, bytes per second.
    pub fn total_speed(&self) -> f64 {
        let map = self.tracked.lock().unwrap_or_else(|p| p.into_inner());
        map.values().map(|t| t.speed).sum()
    }

    /// Computes the snapshots of transfers that changed since the last tick and publishes them.
    pub fn tick(&self, now: Instant) -> Vec<Snapshot> {
        let mut out = Vec::new();
        let mut map = self.tracked.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|id, t| {
            let done = t.counter.done();
            let total = t.counter.total();
            let ended = t.counter.ended.load(Ordering::Relaxed);
            // A run that ended has nothing in flight: what it kept is all there is.
            let sending = if ended { 0 } else { t.counter.in_flight() };
            t.samples.push_back((now, t.counter.sent()));
            while t.samples.len() > 2 && now.duration_since(t.samples[0].0) > WINDOW {
                t.samples.pop_front();
            }
            let (t0, s0) = t.samples[0];
            let secs = now.duration_since(t0).as_secs_f64();
            let speed = if secs > 0.0 && !ended {
                t.counter.sent().saturating_sub(s0) as f64 / secs
            } else {
                0.0
            };
            t.speed = speed;
            if t.last_published != Some((done, sending, total)) || ended {
                let shown = done.min(total);
                let sending = sending.min(total - shown);
                let eta_secs = if speed > 0.0 {
                    Some((total - shown - sending) as f64 / speed)
                } else {
                    None
                };
                out.push(Snapshot {
                    id: id.clone(),
                    bytes_done: shown,
                    bytes_total: total,
                    bytes_sending: sending,
                    speed,
                    eta_secs,
                    ended,
                });
                t.last_published = Some((done, sending, total));
            }
            !ended
        });
        drop(map);
        if !out.is_empty() {
            let _ = self.tx.send(Arc::new(out.clone()));
        }
        out
    }
}

/// A token bucket shared by every transfer of an engine: `--limit-rate`. Its rate can change while
/// transfers run; a rate of `None` lets everything through.
///
/// It also keeps the bytes of the parts in flight under the cap within
/// [`crate::plan::flight_budget`]: [`RateLimiter::enter`] waits until a part fits beside the others
/// (or none is in flight), so a pause or quit loses seconds of work, not the whole file.
#[derive(Debug)]
pub struct RateLimiter {
    /// Bytes per second; 0 means unlimited.
    bytes_per_sec: AtomicU64,
    state: Mutex<(f64, Instant)>,
    /// Bytes of the parts in flight that entered (all of them, capped or not, so a cap set while
    /// parts run counts them).
    in_flight: Mutex<u64>,
    /// Wakes parts waiting to enter when one leaves or the rate changes.
    left: tokio::sync::Notify,
}

/// A part's place in flight under the cap; leaving it (drop) lets the next one in.
#[derive(Debug)]
pub struct InFlight {
    limiter: Arc<RateLimiter>,
    bytes: u64,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut n = self
            .limiter
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *n = n.saturating_sub(self.bytes);
        drop(n);
        self.limiter.left.notify_waiters();
    }
}

impl RateLimiter {
    pub fn new(bytes_per_sec: Option<u64>) -> RateLimiter {
        RateLimiter {
            bytes_per_sec: AtomicU64::new(bytes_per_sec.unwrap_or(0)),
            state: Mutex::new((0.0, Instant::now())),
            in_flight: Mutex::new(0),
            left: tokio::sync::Notify::new(),
        }
    }

    pub fn set_rate(&self, bytes_per_sec: Option<u64>) {
        self.bytes_per_sec
            .store(bytes_per_sec.unwrap_or(0), Ordering::Relaxed);
        self.left.notify_waiters();
    }

    /// The cap in bytes per second; `None` without one.
    pub fn rate(&self) -> Option<u64> {
        Some(self.bytes_per_sec.load(Ordering::Relaxed)).filter(|r| *r > 0)
    }

    /// Waits until a part of `bytes` fits in flight under the cap (at once without a cap, or when
    /// nothing is in flight), and holds its place until the returned guard is dropped.
    pub async fn enter(self: &Arc<Self>, bytes: u64) -> InFlight {
        loop {
            let left = self.left.notified();
            tokio::pin!(left);
            left.as_mut().enable();
            {
                let mut n = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
                let fits = match crate::plan::flight_budget(self.rate()) {
                    None => true,
                    Some(budget) => *n == 0 || *n + bytes <= budget,
                };
                if fits {
                    *n += bytes;
                    return InFlight {
                        limiter: self.clone(),
                        bytes,
                    };
                }
            }
            left.await;
        }
    }

    /// Takes `n` bytes from the bucket and says how long to wait before sending them.
    pub fn reserve(&self, n: usize) -> Duration {
        let rate = self.bytes_per_sec.load(Ordering::Relaxed) as f64;
        if rate == 0.0 {
            return Duration::ZERO;
        }
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let refill = now.duration_since(s.1).as_secs_f64() * rate;
        // At most a quarter second of burst.
        s.0 = (s.0 + refill).min(rate / 4.0);
        s.1 = now;
        s.0 -= n as f64;
        if s.0 >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-s.0 / rate)
        }
    }

    pub async fn wait(&self, n: usize) {
        let d = self.reserve(n);
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_transfers_are_published_and_never_past_100_percent() {
        let p = Progress::default();
        let a = p.track("a", 100, 0);
        let _b = p.track("b", 100, 0);
        let t0 = Instant::now();
        assert_eq!(p.tick(t0).len(), 2);
        a.add(150);
        let snaps = p.tick(t0 + Duration::from_secs(1));
        assert_eq!(snaps.len(), 1);
        assert_eq!(snaps[0].id, "a");
        assert_eq!(snaps[0].bytes_done, 100);
        assert!(snaps[0].speed > 0.0);
        assert!(p.tick(t0 + Duration::from_secs(2)).is_empty());
    }

    #[test]
    fn speed_is_a_moving_average_and_eta_follows() {
        let p = Progress::default();
        let c = p.track("a", 1000, 0);
        let t0 = Instant::now();
        p.tick(t0);
        c.add(100);
        p.tick(t0 + Duration::from_secs(1));
        c.add(100);
        let s = p.tick(t0 + Duration::from_secs(2)).pop().unwrap();
        assert!((s.speed - 100.0).abs() < 1e-6, "{}", s.speed);
        assert!((s.eta_secs.unwrap() - 8.0).abs() < 1e-6);
        // The queue's speed is the sum of its transfers' speeds, and an ended one adds nothing.
        let b = p.track("b", 1000, 0);
        p.tick(t0 + Duration::from_secs(2));
        b.add(300);
        c.add(100);
        p.tick(t0 + Duration::from_secs(3));
        // a: 300 bytes in 3 s; b: 300 bytes in 1 s.
        assert!(
            (p.total_speed() - 400.0).abs() < 1e-6,
            "{}",
            p.total_speed()
        );
        p.end(&c);
        p.end(&b);
        p.tick(t0 + Duration::from_secs(4));
        assert!(p.total_speed().abs() < 1e-6, "{}", p.total_speed());
    }

    #[test]
    fn an_ended_transfer_gets_one_last_snapshot_then_is_dropped() {
        let p = Progress::default();
        let c = p.track("a", 10, 0);
        let t0 = Instant::now();
        p.tick(t0);
        p.end(&c);
        assert_eq!(p.tick(t0).len(), 1);
        assert!(p.tick(t0).is_empty());
    }

    #[test]
    fn kept_bytes_never_fall_when_the_bytes_in_flight_are_dropped() {
        let p = Progress::default();
        let c = p.track("a", 100, 10);
        let t0 = Instant::now();
        p.tick(t0);
        c.sending(30);
        let s = p.tick(t0 + Duration::from_secs(1)).pop().unwrap();
        assert_eq!((s.bytes_done, s.bytes_sending), (10, 30));
        // The speed counts what moved, kept or not.
        assert!((s.speed - 30.0).abs() < 1e-6, "{}", s.speed);
        c.kept(20);
        c.unsend(10);
        let s = p.tick(t0 + Duration::from_secs(2)).pop().unwrap();
        assert_eq!((s.bytes_done, s.bytes_sending), (30, 0));
        c.sending(5);
        p.end(&c);
        let s = p.tick(t0 + Duration::from_secs(3)).pop().unwrap();
        assert_eq!((s.bytes_done, s.bytes_sending, s.ended), (30, 0, true));
    }

    /// Whether `f` is still waiting when polled once.
    async fn pending<F: std::future::Future + Unpin>(f: &mut F) -> bool {
        tokio::select! {
            biased;
            _ = f => false,
            _ = std::future::ready(()) => true,
        }
    }

    #[tokio::test]
    async fn parts_enter_while_they_fit_in_a_few_seconds_of_the_cap() {
        let r = Arc::new(RateLimiter::new(Some(crate::plan::MIB)));
        // 4 MiB of budget: a 5 MiB part goes alone, a second waits for it.
        let first = r.enter(5 * crate::plan::MIB).await;
        let mut second = Box::pin(r.enter(crate::plan::MIB));
        assert!(pending(&mut second).await);
        drop(first);
        let second = second.await;
        // Small ones go side by side within the budget.
        let third = r.enter(crate::plan::MIB).await;
        let mut big = Box::pin(r.enter(3 * crate::plan::MIB));
        assert!(pending(&mut big).await);
        // A faster cap lets it in without anyone leaving.
        r.set_rate(Some(10 * crate::plan::MIB));
        let _big = big.await;
        drop((second, third));
        r.set_rate(None);
        let _any = r.enter(u64::MAX / 2).await;
    }

    #[test]
    fn the_rate_limiter_asks_to_wait_once_the_burst_is_spent() {
        let r = RateLimiter::new(Some(1000));
        assert!(r.reserve(200).is_zero() || r.reserve(0) < Duration::from_millis(300));
        let d = r.reserve(1000);
        assert!(d >= Duration::from_millis(700), "{d:?}");
        r.set_rate(None);
        assert!(r.reserve(1 << 30).is_zero());
    }
}

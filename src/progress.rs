//! Honest progress: byte counters updated where bytes move, coalesced into snapshots.
//!
//! A transfer's `done` counter rises as bytes are handed to the connection (uploads) or written to
//! disk (downloads), and falls back if an attempt is thrown away, so it never claims more than is
//! really there; snapshots clamp it to the total. `sent` only rises: it is what crossed the network,
//! retries included. Snapshots are published at most every [`TICK`], and only for transfers whose
//! counters moved; speed is a moving average over [`WINDOW`], and ETA follows from it.

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
    total: AtomicU64,
    sent: AtomicU64,
    ended: AtomicBool,
}

impl Counter {
    pub fn add(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
        self.sent.fetch_add(n, Ordering::Relaxed);
    }

    /// Takes back bytes of an attempt that will be sent again.
    pub fn sub(&self, n: u64) {
        let _ = self
            .done
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| {
                Some(d.saturating_sub(n))
            });
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
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Bytes per second, averaged over the last few seconds.
    pub speed: f64,
    /// Seconds left at the current speed; `None` while the speed is unknown.
    pub eta_secs: Option<f64>,
    /// The transfer's run ended: this is its last snapshot until it runs again.
    pub ended: bool,
}

struct Tracked {
    counter: Arc<Counter>,
    samples: VecDeque<(Instant, u64)>,
    last_published: Option<(u64, u64)>,
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
            t.samples.push_back((now, done));
            while t.samples.len() > 2 && now.duration_since(t.samples[0].0) > WINDOW {
                t.samples.pop_front();
            }
            let ended = t.counter.ended.load(Ordering::Relaxed);
            let (t0, d0) = t.samples[0];
            let secs = now.duration_since(t0).as_secs_f64();
            let speed = if secs > 0.0 {
                done.saturating_sub(d0) as f64 / secs
            } else {
                0.0
            };
            t.speed = if ended { 0.0 } else { speed };
            if t.last_published != Some((done, total)) || ended {
                let shown = done.min(total);
                let eta_secs = if speed > 0.0 {
                    Some((total - shown) as f64 / speed)
                } else {
                    None
                };
                out.push(Snapshot {
                    id: id.clone(),
                    bytes_done: shown,
                    bytes_total: total,
                    speed,
                    eta_secs,
                    ended,
                });
                t.last_published = Some((done, total));
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
#[derive(Debug)]
pub struct RateLimiter {
    /// Bytes per second; 0 means unlimited.
    bytes_per_sec: AtomicU64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    pub fn new(bytes_per_sec: Option<u64>) -> RateLimiter {
        RateLimiter {
            bytes_per_sec: AtomicU64::new(bytes_per_sec.unwrap_or(0)),
            state: Mutex::new((0.0, Instant::now())),
        }
    }

    pub fn set_rate(&self, bytes_per_sec: Option<u64>) {
        self.bytes_per_sec
            .store(bytes_per_sec.unwrap_or(0), Ordering::Relaxed);
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
    fn the_rate_limiter_asks_to_wait_once_the_burst_is_spent() {
        let r = RateLimiter::new(Some(1000));
        assert!(r.reserve(200).is_zero() || r.reserve(0) < Duration::from_millis(300));
        let d = r.reserve(1000);
        assert!(d >= Duration::from_millis(700), "{d:?}");
        r.set_rate(None);
        assert!(r.reserve(1 << 30).is_zero());
    }
}

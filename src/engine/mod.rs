//! The engine: a cheap-to-clone handle over the persisted queue and the tasks that move bytes.
//!
//! Shells (the CLI, the desktop app) only translate between their world and this API. The handle's
//! methods live beside what they are about, one file per responsibility:
//!
//! - `accounts`: saved accounts, secrets and the S3 client of each connection;
//! - `defaults`: an account's upload defaults (storage class, encryption, cache control);
//! - `enqueue`: requests validated and written to the queue (resume/replace/skip decisions);
//! - `runner`: admission and the run of one transfer, with the whole resume protocol in its doc;
//! - `control`: pause, resume, cancel, clear, abandoned uploads;
//! - `listing`: listings as streams of pages, cancellable;
//! - `objects`: buckets, properties, presigned links;
//! - `search`: a recursive listing through a filter (name, size, time), streamed;
//! - `copy`: copies and moves, server-side within an account, streamed to another;
//! - `delete`: deletes of objects and folders, 1,000 keys a request, refusals reported by key;
//! - `stream`: standard input to an object and an object to standard output, memory bounded;
//! - `sync`: a folder or prefix made to match another, planned first;
//! - `versions`: versions and delete markers listed when asked; restore and delete of one version;
//! - `queue`: the queue read in pages and summed up, for the app;
//! - `views`: what the shells show (transfer views, events, finished batches).
//!
//! Admission follows the tokio lifecycle of mini-redis: a semaphore caps concurrent transfers and
//! its permit moves into the transfer's task; two more cap connections (parts in flight) and buffer
//! memory, so memory never grows with file size or queue length; under a bandwidth cap, only a few
//! seconds of it are in flight. Each transfer runs under a child of the engine's cancellation token;
//! cancelling drops its in-flight requests at once, while a pause or quit lets the parts about to
//! finish complete first (a short grace, see `transfer`).
//!
//! Every state change is written to SQLite first. A background task publishes coalesced progress
//! snapshots every 100 ms and refreshes the leases of running transfers every second; when another
//! process pauses or cancels one of them, the lease check notices and stops it here.

mod accounts;
mod control;
mod copy;
mod defaults;
mod delete;
mod dragout;
mod enqueue;
mod listing;
pub mod notices;
mod objects;
mod preview;
mod queue;
mod runner;
mod search;
mod stream;
mod sync;
mod versions;
mod views;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::Client;
use serde::Serialize;
use tokio::sync::{broadcast, OnceCell, Semaphore};

use crate::accounts::{Account, NewAccount, SecretStore, SessionSecrets};
use crate::config::{EngineConfig, Limits, Settings, MAX_LINK_EXPIRY, MEMORY_BUDGET_MIB};
use crate::error::{Error, ErrorKind, Result};
use crate::format::human_duration;
use crate::local::LocalEndpoint;
use crate::paths::local_path_for_key;
use crate::plan;
use crate::progress::{Progress, RateLimiter, Snapshot, TICK};
use crate::s3::{self, check_key, Connection, S3Url};
use crate::store::{self, Direction, NewTransfer, Same, State, Store, TransferRow};
use crate::transfer::{self, download, upload, Ctx, RetryPolicy, RunStats};

pub use copy::{Copied, CopyOptions};
pub use defaults::AccountDefaults;
pub use delete::{DeleteFailure, DeleteProgress, Deleted, Tally, DELETE_BATCH};
pub use dragout::{Staged, DRAG_OUT_AGE};
pub use enqueue::{DownloadOptions, Enqueued, IfExists, Skipped, UploadOptions};
pub use listing::{Depth, Listed, Listing, ObjectInfo};
pub use objects::{Link, ObjectProperties};
pub use preview::{Preview, PreviewKind, IMAGE_MAX, TEXT_MAX};
pub use queue::{Selection, SelectionTotals, TransferPage, TransferSummary};
pub use runner::Outcome;
pub use search::{Found, ObjectFilter, Searched};
pub use stream::{stream_part_size, Streamed, STREAM_PART};
pub use sync::{
    Compare, SyncAction, SyncDeleted, SyncDirection, SyncItem, SyncOptions, SyncPair, SyncPlan,
    SyncPreview, SyncRun, SyncSide, SyncStarted, SyncTotals,
};
/// Stops a listing or search (the engine's API takes one).
pub use tokio_util::sync::CancellationToken;
pub use versions::{ObjectVersion, Restored, VersionListing};
pub use views::{BatchFinished, Event, TransferView};

use objects::object_etag;
use runner::owner_alive;

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Running {
    /// Stops the run at once (cancel, shutdown, the end of a pause's grace).
    token: CancellationToken,
    /// A pause or quit: no new part, parts near their end finish (a child of `token`).
    stopping: CancellationToken,
    /// Whether the lease is taken (queued tasks wait for a slot before claiming).
    claimed: bool,
    /// Ends a wait in `waiting_retry` early (the user asked to resume it now).
    wake: Arc<tokio::sync::Notify>,
}

struct Inner {
    store: Arc<Store>,
    state_dir: PathBuf,
    /// `<pid>-<random>`: names this process in leases.
    owner: String,
    /// The limits in force; the semaphores below are resized when they change.
    limits: Mutex<Limits>,
    transfer_slots: Arc<Semaphore>,
    part_slots: Arc<Semaphore>,
    memory: Arc<Semaphore>,
    /// The most MiB of `memory` held at once since the engine opened.
    memory_peak: Arc<std::sync::atomic::AtomicU64>,
    /// Part buffers reused across parts and transfers, bounded by the memory budget.
    buffers: Arc<transfer::buffers::Buffers>,
    limiter: Arc<RateLimiter>,
    clients: tokio::sync::Mutex<HashMap<String, Client>>,
    /// Credentials handed in at run time (tests, embedders); never persisted.
    credentials: Mutex<HashMap<String, Credentials>>,
    /// Where saved accounts' secrets live (normally the OS keychain).
    keychain: Arc<dyn SecretStore>,
    /// Secrets the user chose to keep for this session only.
    session: SessionSecrets,
    batches: broadcast::Sender<BatchFinished>,
    /// Batches already announced, so two transfers ending together announce their batch once.
    announced: Mutex<std::collections::HashSet<String>>,
    /// How many transfers of each batch this process is running now: a batch is looked up in the
    /// database only when the last of them ends (see `runner::BatchRun`).
    batch_runs: Mutex<HashMap<String, usize>>,
    local: OnceCell<LocalEndpoint>,
    local_port: u16,
    retry: RetryPolicy,
    /// Copies up to this size take one CopyObject; larger ones a multipart copy.
    single_copy_max: u64,
    running: Mutex<HashMap<String, Running>>,
    progress: Progress,
    events: broadcast::Sender<Event>,
    shutdown: CancellationToken,
    /// Cancelled when the engine begins to shut down: no transfer starts after it.
    draining: CancellationToken,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Engine {
    /// Opens the state folder (creating it) and starts the background task. Call inside a tokio runtime.
    pub async fn open(config: EngineConfig) -> Result<Engine> {
        std::fs::create_dir_all(&config.state_dir)
            .map_err(|e| Error::io("cannot create the state folder", &config.state_dir, e))?;
        let store = Arc::new(Store::open(&config.state_dir.join("ferry.db"))?);
        let limits = config.limits;
        if limits.transfers == 0 || limits.parts_in_flight == 0 {
            return Err(Error::invalid("--concurrency must be at least 1"));
        }
        let (events, _) = broadcast::channel(1024);
        let (batches, _) = broadcast::channel(64);
        let inner = Arc::new(Inner {
            store,
            state_dir: config.state_dir,
            owner: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            limits: Mutex::new(limits),
            transfer_slots: Arc::new(Semaphore::new(limits.transfers)),
            part_slots: Arc::new(Semaphore::new(limits.parts_in_flight.max(limits.transfers))),
            memory: Arc::new(Semaphore::new(MEMORY_BUDGET_MIB)),
            memory_peak: Arc::default(),
            buffers: Arc::new(transfer::buffers::Buffers::new(
                MEMORY_BUDGET_MIB * plan::MIB as usize,
            )),
            limiter: Arc::new(RateLimiter::new(limits.rate_limit)),
            clients: tokio::sync::Mutex::new(HashMap::new()),
            credentials: Mutex::new(HashMap::new()),
            keychain: config.secrets,
            session: SessionSecrets::default(),
            batches,
            announced: Mutex::new(Default::default()),
            batch_runs: Mutex::new(HashMap::new()),
            local: OnceCell::new(),
            local_port: config.local_port,
            retry: config.retry,
            single_copy_max: config.single_copy_max,
            running: Mutex::new(HashMap::new()),
            progress: Progress::default(),
            events,
            shutdown: CancellationToken::new(),
            draining: CancellationToken::new(),
        });
        spawn_background(Arc::downgrade(&inner), inner.shutdown.clone());
        Ok(Engine { inner })
    }

    pub fn state_dir(&self) -> &Path {
        &self.inner.state_dir
    }

    /// Cancelled by [`Engine::shutdown`]: clients that run tasks of their own (watched folders)
    /// hang their tokens from it.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    /// The most part-buffer memory transfers held at once since the engine opened, in MiB: never
    /// more than the budget ([`MEMORY_BUDGET_MIB`]) whatever the sizes of objects and files.
    pub fn memory_high_water_mib(&self) -> u64 {
        self.inner
            .memory_peak
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn limits(&self) -> Limits {
        *lock(&self.inner.limits)
    }

    /// Changes the limits while transfers run: new slots open at once, removed ones close as running
    /// parts finish; the bandwidth limit applies to bytes not yet sent.
    pub fn set_limits(&self, new: Limits) -> Result<()> {
        if new.transfers == 0 || new.parts_in_flight == 0 {
            return Err(Error::invalid("limits must be at least 1"));
        }
        let mut cur = lock(&self.inner.limits);
        resize(&self.inner.transfer_slots, cur.transfers, new.transfers);
        resize(
            &self.inner.part_slots,
            cur.parts_in_flight.max(cur.transfers),
            new.parts_in_flight.max(new.transfers),
        );
        self.inner.limiter.set_rate(new.rate_limit);
        *cur = new;
        Ok(())
    }

    /// The saved settings (defaults until the user changes them).
    pub fn settings(&self) -> Result<Settings> {
        Ok(match self.inner.store.setting("settings")? {
            Some(text) => serde_json::from_str(&text).unwrap_or_default(),
            None => Settings::default(),
        })
    }

    /// Validates, saves and applies settings.
    pub fn set_settings(&self, settings: &Settings) -> Result<Settings> {
        settings.validate()?;
        self.inner.store.set_setting(
            "settings",
            &serde_json::to_string(settings).expect("settings serialise"),
        )?;
        self.set_limits(settings.limits())?;
        Ok(settings.clone())
    }

    /// Notices that all transfers of a request have ended (for desktop notifications).
    pub fn subscribe_batches(&self) -> broadcast::Receiver<BatchFinished> {
        self.inner.batches.subscribe()
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Progress snapshots, at most one batch per tick, only transfers that changed.
    pub fn subscribe_progress(&self) -> broadcast::Receiver<Arc<Vec<Snapshot>>> {
        self.inner.progress.subscribe()
    }

    /// Lifecycle changes (running, completed, failed, paused, cancelled).
    pub fn subscribe_events(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    pub(super) fn emit(&self, id: &str, state: State, error: Option<Error>) {
        self.publish(Event {
            id: id.to_string(),
            state,
            error,
            verified: None,
            verified_words: None,
        });
    }

    /// Sends a lifecycle event to the shells (none listening is fine).
    pub(super) fn publish(&self, event: Event) {
        let _ = self.inner.events.send(event);
    }

    /// Stops every transfer of this process (they stay queued for the next start) and the background
    /// task. Like a pause, it lets the parts about to finish complete and be committed first (for at
    /// most [`transfer::GRACE_LIMIT`]), so a quit keeps what was sent.
    pub async fn shutdown(&self) {
        self.inner.draining.cancel();
        for r in lock(&self.inner.running).values() {
            r.stopping.cancel();
        }
        let deadline = Instant::now() + transfer::GRACE_LIMIT + Duration::from_secs(1);
        while Instant::now() < deadline && !lock(&self.inner.running).is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.inner.shutdown.cancel();
        for _ in 0..250 {
            if lock(&self.inner.running).is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Grows or shrinks a semaphore from `old` to `new` permits; shrinking waits for permits to come back.
fn resize(sem: &Arc<Semaphore>, old: usize, new: usize) {
    if new > old {
        sem.add_permits(new - old);
    } else if new < old {
        let (sem, n) = (sem.clone(), (old - new) as u32);
        tokio::spawn(async move {
            if let Ok(p) = sem.acquire_many_owned(n).await {
                p.forget();
            }
        });
    }
}

fn spawn_background(weak: Weak<Inner>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            let Some(inner) = weak.upgrade() else { break };
            inner.progress.tick(Instant::now());
            n += 1;
            if n.is_multiple_of(10) {
                let claimed: Vec<String> = lock(&inner.running)
                    .iter()
                    .filter(|(_, r)| r.claimed)
                    .map(|(id, _)| id.clone())
                    .collect();
                match inner.store.heartbeat(&inner.owner, &claimed) {
                    Ok(changed) => {
                        let running = lock(&inner.running);
                        for id in changed {
                            if let Some(r) = running.get(&id) {
                                tracing::info!(transfer = %id, "paused or cancelled elsewhere; stopping");
                                r.stopping.cancel();
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not refresh transfer leases"),
                }
            }
        }
    });
}

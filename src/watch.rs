//! Watched folders: a local folder mapped to an account, bucket and prefix, whose new and changed
//! files Ferry uploads through the engine's ordinary queue (so parallel parts, pause, resume after a
//! crash and progress hold for them too).
//!
//! Invariants:
//! - A folder is saved only after everything about it was checked (the folder exists and is a
//!   folder, the bucket exists, the ignore patterns parse); a refused request leaves no row.
//! - Hidden and temporary files are never uploaded ([`DEFAULT_IGNORES`]); user patterns add to them.
//! - Keys are `prefix` + the file's path under the folder with `/` separators.
//! - Nothing is uploaded twice: what was last uploaded per key (size, mtime, CRC32C) is remembered in
//!   SQLite, written only once the object is complete (see [`folder`] for the rules).
//! - Deletions and renames are not propagated unless `mirror_deletes` is on, and then only objects
//!   this folder uploaded are deleted.
//! - A running watcher is owned by a handle in the engine; dropping it (pause, remove, engine
//!   shutdown) stops the OS watch. Which process watches is decided by who calls
//!   [`Watches::start_all`] (the desktop app) or [`Watches::watch`] (`ferry watch run`); other
//!   processes (the CLI's `add`, `pause`, …) only change the rows. A running watcher notices a pause
//!   or removal made elsewhere within a second, and the watching process picks up folders added or
//!   resumed elsewhere within a few.

mod folder;
mod table;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

pub use crate::rules::DEFAULT_IGNORES;

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::s3::{check_bucket, check_key, Connection};
use crate::store::now_ms;
use folder::Watcher;
use table::FolderRow;

/// How many recent uploads a folder shows.
pub const RECENT: usize = 20;
/// How often the watching process looks for folders added or resumed by another process.
const ADOPT_EVERY: Duration = Duration::from_secs(2);
/// How long a file's size and mtime must stay the same before it is uploaded, unless configured.
pub const DEFAULT_SETTLE: Duration = Duration::from_secs(2);

#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchState {
    Watching,
    Paused,
    /// A rescan is uploading what changed while nobody watched (on start, or after lost events).
    CatchingUp,
    /// Something needs a person: `error` says what.
    Error,
}

impl WatchState {
    pub fn as_str(self) -> &'static str {
        match self {
            WatchState::Watching => "watching",
            WatchState::Paused => "paused",
            WatchState::CatchingUp => "catching_up",
            WatchState::Error => "error",
        }
    }

    fn parse(s: &str) -> WatchState {
        match s {
            "paused" => WatchState::Paused,
            "catching_up" => WatchState::CatchingUp,
            "error" => WatchState::Error,
            _ => WatchState::Watching,
        }
    }
}

/// One upload of a watched folder.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchedUpload {
    pub key: String,
    pub size: u64,
    /// Unix milliseconds.
    pub uploaded_at: i64,
}

/// A watched folder as the UI and the CLI show it.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchedFolder {
    pub id: String,
    /// Absolute local folder.
    pub path: String,
    pub account: String,
    pub bucket: String,
    /// `""` or ends with `/`.
    pub prefix: String,
    /// The user's patterns (gitignore syntax); [`DEFAULT_IGNORES`] always apply as well.
    pub ignore: Vec<String>,
    pub mirror_deletes: bool,
    pub state: WatchState,
    /// Set when `state` is `error`: a sentence a person can act on.
    pub error: Option<String>,
    /// Unix milliseconds.
    pub created_at: i64,
    /// Newest first, at most [`RECENT`].
    pub recent: Vec<WatchedUpload>,
}

/// What a person asks to watch.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewWatchedFolder {
    pub path: String,
    /// The account name; [`Watches::add`] takes the resolved connection.
    pub account: String,
    pub bucket: String,
    #[serde(default)]
    pub prefix: String,
    #[serde(default)]
    pub ignore: Vec<String>,
    #[serde(default)]
    pub mirror_deletes: bool,
}

/// What one process's watching holds: running watchers and the change broadcast.
struct Registry {
    running: Mutex<HashMap<String, Watcher>>,
    /// Set by `start_all`: this process runs watchers, so adding or resuming one starts it here.
    active: AtomicBool,
    events: broadcast::Sender<WatchedFolder>,
    settle: Duration,
}

impl Registry {
    fn new(settle: Duration) -> Registry {
        Registry {
            running: Mutex::new(HashMap::new()),
            active: AtomicBool::new(false),
            events: broadcast::channel(256).0,
            settle,
        }
    }

    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<String, Watcher>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Watched folders: add, list, pause, resume, remove, and run their watchers. A client of the
/// engine, composed by the shells (one per process: clones share the running watchers); the engine
/// knows nothing of it.
#[derive(Clone)]
pub struct Watches {
    engine: Engine,
    registry: std::sync::Arc<Registry>,
}

fn view(engine: &Engine, row: &FolderRow) -> Result<WatchedFolder> {
    let recent = table::recent(engine.store(), &row.id, RECENT)?
        .into_iter()
        .map(|r| WatchedUpload {
            key: r.key,
            size: r.size,
            uploaded_at: r.uploaded_at,
        })
        .collect();
    Ok(WatchedFolder {
        id: row.id.clone(),
        path: row.path.display().to_string(),
        account: Connection::from_json(&row.connection)
            .map(|c| c.account)
            .unwrap_or_default(),
        bucket: row.bucket.clone(),
        prefix: row.prefix.clone(),
        ignore: row.ignore.clone(),
        mirror_deletes: row.mirror_deletes,
        state: row.state,
        error: row.error.clone(),
        created_at: row.created_at,
        recent,
    })
}

/// Announces a folder's current state and recent uploads to subscribers.
fn publish(engine: &Engine, events: &broadcast::Sender<WatchedFolder>, id: &str) {
    match table::folder(engine.store(), id).and_then(|r| r.map(|r| view(engine, &r)).transpose()) {
        Ok(Some(v)) => {
            let _ = events.send(v);
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(folder = %id, error = %e, "cannot read a watched folder"),
    }
}

/// `""` stays; anything else gets exactly one trailing `/` and no leading one.
fn normalize_prefix(prefix: &str) -> Result<String> {
    let p = prefix.trim().trim_start_matches('/');
    if p.is_empty() {
        return Ok(String::new());
    }
    let p = format!("{}/", p.trim_end_matches('/'));
    if p.contains("//") {
        return Err(Error::invalid(format!(
            "the prefix `{prefix}` has an empty path segment"
        )));
    }
    check_key(&p)?;
    Ok(p)
}

impl Watches {
    /// Watched folders over `engine`, whose files upload once unchanged for `settle`
    /// ([`DEFAULT_SETTLE`] unless a test or `ferry watch run --settle-ms` says otherwise).
    pub fn new(engine: &Engine, settle: Duration) -> Watches {
        Watches {
            engine: engine.clone(),
            registry: std::sync::Arc::new(Registry::new(settle)),
        }
    }

    /// The engine the uploads go through.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Checks and saves a watched folder (it is watched here if this process runs watchers).
    /// `new.account` is informational: `conn` says where uploads go.
    pub async fn add(&self, conn: &Connection, new: &NewWatchedFolder) -> Result<WatchedFolder> {
        conn.validate()?;
        let given = new.path.trim();
        if given.is_empty() {
            return Err(Error::invalid("choose a folder to watch"));
        }
        let meta = std::fs::metadata(given).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::invalid(format!(
                "no such folder: {given}; create it first or choose another"
            )),
            _ => Error::io("cannot read", given.as_ref(), e),
        })?;
        if !meta.is_dir() {
            return Err(Error::invalid(format!(
                "{given} is a file; watch the folder that contains it"
            )));
        }
        let path = std::fs::canonicalize(given)
            .map_err(|e| Error::io("cannot resolve", given.as_ref(), e))?;
        check_bucket(&new.bucket)?;
        let prefix = normalize_prefix(&new.prefix)?;
        let ignore: Vec<String> = new
            .ignore
            .iter()
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        crate::rules::Rules::new(&path, &prefix, &ignore)?;
        if table::folder_at(self.engine.store(), &path, &new.bucket, &prefix)?.is_some() {
            return Err(Error::new(
                crate::ErrorKind::AlreadyExists,
                format!(
                    "{} is already watched into s3://{}/{prefix}; `ferry watch list` shows it",
                    path.display(),
                    new.bucket
                ),
            ));
        }
        let s3 = self.engine.requests(conn).await?;
        self.engine.require_bucket(&s3, &new.bucket).await?;
        let row = FolderRow {
            id: uuid::Uuid::now_v7().to_string(),
            path,
            connection: conn.to_json(),
            bucket: new.bucket.clone(),
            prefix,
            ignore,
            mirror_deletes: new.mirror_deletes,
            state: WatchState::Watching,
            error: None,
            created_at: now_ms(),
        };
        table::insert_folder(self.engine.store(), &row)?;
        if self.registry().active.load(Ordering::SeqCst) {
            let _ = self.start_here(&row);
        }
        let v = self.get(&row.id)?;
        publish(&self.engine, &self.registry.events, &row.id);
        Ok(v)
    }

    /// Every watched folder, oldest first.
    pub fn list(&self) -> Result<Vec<WatchedFolder>> {
        table::folders(self.engine.store())?
            .iter()
            .map(|r| view(&self.engine, r))
            .collect()
    }

    /// A folder by its id, or the end of it as `ferry watch list` prints it.
    pub fn get(&self, id: &str) -> Result<WatchedFolder> {
        view(&self.engine, &table::find_folder(self.engine.store(), id)?)
    }

    /// The folder already saved for `new`'s folder, bucket and prefix, or `new` saved now (checked
    /// like [`Watches::add`]): what `ferry watch run` watches.
    pub async fn find_or_add(
        &self,
        conn: &Connection,
        new: &NewWatchedFolder,
    ) -> Result<WatchedFolder> {
        if let Ok(path) = std::fs::canonicalize(new.path.trim()) {
            let prefix = normalize_prefix(&new.prefix)?;
            if let Some(row) = table::folder_at(self.engine.store(), &path, &new.bucket, &prefix)? {
                return view(&self.engine, &row);
            }
        }
        self.add(conn, new).await
    }

    /// Stops watching a folder until it is resumed. Uploads already queued finish.
    pub fn pause(&self, id: &str) -> Result<WatchedFolder> {
        let row = table::find_folder(self.engine.store(), id)?;
        table::set_state(self.engine.store(), &row.id, WatchState::Paused)?;
        self.registry().running().remove(&row.id);
        publish(&self.engine, &self.registry.events, &row.id);
        self.get(&row.id)
    }

    /// Watches a paused folder again; the restart catches up with what changed meanwhile.
    pub fn resume(&self, id: &str) -> Result<WatchedFolder> {
        let row = table::find_folder(self.engine.store(), id)?;
        if row.state == WatchState::Paused || row.state == WatchState::Error {
            table::set_state(self.engine.store(), &row.id, WatchState::Watching)?;
        }
        if self.registry().active.load(Ordering::SeqCst) {
            let row = table::find_folder(self.engine.store(), &row.id)?;
            let _ = self.start_here(&row);
        }
        publish(&self.engine, &self.registry.events, &row.id);
        self.get(&row.id)
    }

    /// Stops watching and forgets the folder. Objects already uploaded stay.
    pub fn remove(&self, id: &str) -> Result<()> {
        let row = table::find_folder(self.engine.store(), id)?;
        self.registry().running().remove(&row.id);
        table::delete_folder(self.engine.store(), &row.id)?;
        Ok(())
    }

    /// Starts the watcher of every folder that is not paused, in this process, and makes this the
    /// process that watches: folders added or resumed later, here or by another process (the CLI),
    /// start here too. Returns how many run; a folder that cannot be watched shows the reason in its
    /// state.
    pub fn start_all(&self) -> Result<usize> {
        let first = !self.registry().active.swap(true, Ordering::SeqCst);
        let n = self.start_wanted(true)?;
        if first {
            let (watches, token) = (self.clone(), self.engine.shutdown_token());
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(ADOPT_EVERY);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = token.cancelled() => break,
                        _ = tick.tick() => {}
                    }
                    if let Err(e) = watches.start_wanted(false) {
                        tracing::warn!(error = %e, "cannot look for watched folders");
                    }
                }
            });
        }
        Ok(n)
    }

    /// Starts the folders that should run but do not; those that failed to start are retried only
    /// with `retry_failed` (or after a resume clears their error).
    fn start_wanted(&self, retry_failed: bool) -> Result<usize> {
        let mut n = 0;
        for row in table::folders(self.engine.store())? {
            let running = self
                .registry()
                .running()
                .get(&row.id)
                .is_some_and(|w| !w.is_stopped());
            let wanted =
                row.state != WatchState::Paused && (retry_failed || row.state != WatchState::Error);
            if running || (wanted && self.start_here(&row).is_ok()) {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Watches one folder in this process (resuming it if it was paused), as `ferry watch run` does.
    pub fn watch(&self, id: &str) -> Result<WatchedFolder> {
        let row = table::find_folder(self.engine.store(), id)?;
        if row.state != WatchState::Watching {
            table::set_state(self.engine.store(), &row.id, WatchState::Watching)?;
        }
        let row = table::find_folder(self.engine.store(), &row.id)?;
        self.start_here(&row)?;
        self.get(&row.id)
    }

    /// Changes of any folder's state or recent uploads.
    pub fn subscribe(&self) -> broadcast::Receiver<WatchedFolder> {
        self.registry().events.subscribe()
    }

    fn start_here(&self, row: &FolderRow) -> Result<()> {
        let reg = self.registry();
        let mut running = reg.running();
        if running.get(&row.id).is_some_and(|w| !w.is_stopped()) {
            return Ok(());
        }
        match folder::start(
            &self.engine,
            &reg.events,
            row,
            reg.settle,
            &self.engine.shutdown_token(),
        ) {
            Ok(w) => {
                running.insert(row.id.clone(), w);
                Ok(())
            }
            Err(e) => {
                drop(running);
                tracing::warn!(folder = %row.id, error = %e, "cannot watch");
                table::report_state(
                    self.engine.store(),
                    &row.id,
                    WatchState::Error,
                    Some(&e.message),
                )?;
                publish(&self.engine, &self.registry.events, &row.id);
                Err(e)
            }
        }
    }
}

//! One watched folder at work: a file-system watcher (notify, debounced) feeding a settle loop that
//! enqueues uploads on the engine's queue.
//!
//! Invariants:
//! - A file is enqueued only once it has settled: its size and mtime stayed the same for the settle
//!   time since the last event about it. A file still being written is never sent half-done.
//! - At most one upload per file is in flight; a change seen meanwhile waits for it to end. An upload
//!   that fails because the source changed under it is cancelled and the file settles again.
//! - A file is sent only when it differs from what was last uploaded for its key: same size and
//!   mtime skips it without reading; same size and CRC32C only refreshes the remembered mtime.
//! - The record of an upload is written after the engine completed the transfer, and only if the
//!   transfer sent the version that was checksummed.
//! - A rescan (on start, and when the OS watcher overflowed) catches up with what changed unwatched.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use tokio::sync::{broadcast, mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

use super::table::{self, FileRecord, FolderRow};
use super::{publish, WatchState, WatchedFolder};
use crate::engine::{Engine, UploadOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::rules::Rules;
use crate::s3::{Connection, S3Url};
use crate::store::{now_ms, Same};
use crate::transfer::mtime_ns;

/// How often a running watcher checks that its folder was not paused or removed by another process.
const POLL_ROW: Duration = Duration::from_secs(1);

/// Stops its folder's watcher when dropped (the OS watch ends with the task that owns it).
pub(crate) struct Watcher {
    token: CancellationToken,
}

impl Watcher {
    pub fn is_stopped(&self) -> bool {
        self.token.is_cancelled()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.token.cancel();
    }
}

/// What upload tasks share.
struct Shared {
    engine: Engine,
    /// Where the folder's changes are announced (the owning `Watches`' broadcast).
    events: broadcast::Sender<WatchedFolder>,
    id: String,
    conn: Connection,
    conn_json: String,
    bucket: String,
    rules: Rules,
    /// Checksumming reads whole files: a few at a time, not one per settled file.
    hashing: Semaphore,
}

/// How one settled file ended.
enum Outcome {
    Uploaded,
    /// Nothing to send: the content is what was last uploaded.
    Skipped,
    /// It changed before or during its upload: let it settle again.
    Changed,
    Gone,
    /// Its transfer was paused, cancelled, or the engine stopped; the queue continues it later.
    Interrupted,
    Failed(Error),
}

struct Pending {
    size: u64,
    mtime: i64,
    since: Instant,
}

struct Folder {
    shared: Arc<Shared>,
    mirror_deletes: bool,
    settle: Duration,
    pending: HashMap<PathBuf, Pending>,
    inflight: HashSet<PathBuf>,
    /// Files the current rescan found and that are not dealt with yet.
    catching: HashSet<PathBuf>,
    catching_up: bool,
    /// The last upload failure, cleared by the next success.
    error: Option<String>,
    results: mpsc::UnboundedSender<(PathBuf, Outcome)>,
}

/// Starts watching `row`'s folder under `parent` (the engine's shutdown token).
pub(crate) fn start(
    engine: &Engine,
    events: &broadcast::Sender<WatchedFolder>,
    row: &FolderRow,
    settle: Duration,
    parent: &CancellationToken,
) -> Result<Watcher> {
    let conn = Connection::from_json(&row.connection)?;
    let rules = Rules::new(&row.path, &row.prefix, &row.ignore)?;
    if !row.path.is_dir() {
        return Err(Error::not_found(format!(
            "the watched folder {} no longer exists; restore it, or remove this watched folder",
            row.path.display()
        )));
    }
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let debounce = (settle / 4).clamp(Duration::from_millis(50), Duration::from_millis(500));
    let mut debouncer = new_debouncer(debounce, None, move |r: DebounceEventResult| {
        let _ = events_tx.send(r);
    })
    .map_err(|e| cannot_watch(&row.path, e))?;
    debouncer
        .watch(&row.path, RecursiveMode::Recursive)
        .map_err(|e| cannot_watch(&row.path, e))?;

    let (results, results_rx) = mpsc::unbounded_channel();
    let folder = Folder {
        shared: Arc::new(Shared {
            engine: engine.clone(),
            events: events.clone(),
            id: row.id.clone(),
            conn_json: conn.to_json(),
            conn,
            bucket: row.bucket.clone(),
            rules,
            hashing: Semaphore::new(2),
        }),
        mirror_deletes: row.mirror_deletes,
        settle,
        pending: HashMap::new(),
        inflight: HashSet::new(),
        catching: HashSet::new(),
        catching_up: false,
        error: None,
        results,
    };
    let token = parent.child_token();
    tokio::spawn(run(folder, debouncer, events_rx, results_rx, token.clone()));
    tracing::info!(folder = %row.id, path = %row.path.display(), bucket = %row.bucket, prefix = %row.prefix, "watching");
    Ok(Watcher { token })
}

fn cannot_watch(path: &Path, e: notify_debouncer_full::notify::Error) -> Error {
    Error::storage(format!(
        "cannot watch {}: {e}. On Linux a low inotify limit is the usual cause: raise \
         fs.inotify.max_user_watches",
        path.display()
    ))
}

async fn run(
    mut f: Folder,
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    mut events: mpsc::UnboundedReceiver<DebounceEventResult>,
    mut results: mpsc::UnboundedReceiver<(PathBuf, Outcome)>,
    token: CancellationToken,
) {
    // Owned here: the OS watch ends when this task does.
    let _debouncer = debouncer;
    f.rescan();
    let mut tick = tokio::time::interval(
        (f.settle / 4).clamp(Duration::from_millis(20), Duration::from_millis(250)),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut polled = Instant::now();
    loop {
        tokio::select! {
            biased;
            _ = token.cancelled() => break,
            Some(ev) = events.recv() => f.on_events(ev),
            Some((path, outcome)) = results.recv() => f.on_outcome(path, outcome),
            _ = tick.tick() => {
                f.settle_due();
                if polled.elapsed() >= POLL_ROW {
                    polled = Instant::now();
                    if !f.still_wanted() {
                        tracing::info!(folder = %f.shared.id, "paused or removed elsewhere; stopping");
                        // Subscribers (the app's window) learn of a pause made by another process.
                        publish(&f.shared.engine, &f.shared.events, &f.shared.id);
                        break;
                    }
                }
            }
        }
    }
    token.cancel();
    tracing::info!(folder = %f.shared.id, "stopped watching");
}

/// Size and mtime of a regular file (following a symbolic link to one), or `None` when it is gone.
fn stat(path: &Path) -> std::io::Result<Option<(u64, i64)>> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => Ok(Some((m.len(), mtime_ns(&m)))),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The files under `dir` that the rules let through, with size and mtime. Symbolic links to folders
/// are not followed (the watcher would not see inside them).
fn collect(dir: &Path, rules: &Rules, out: &mut Vec<(PathBuf, u64, i64)>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(path = %dir.display(), error = %e, "cannot read a watched folder");
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            if !rules.ignored(&path, true) {
                collect(&path, rules, out);
            }
        } else if !rules.ignored(&path, false) {
            if let Ok(Some((size, mtime))) = stat(&path) {
                out.push((path, size, mtime));
            }
        }
    }
}

impl Folder {
    fn store(&self) -> &crate::store::Store {
        self.shared.engine.store()
    }

    fn id(&self) -> &str {
        &self.shared.id
    }

    fn root(&self) -> &Path {
        self.shared.rules.root()
    }

    /// Walks the whole folder: files that differ from their record settle and upload; with
    /// `mirror_deletes`, objects whose file is gone are deleted.
    fn rescan(&mut self) {
        self.catching_up = true;
        self.report(false);
        let mut files = Vec::new();
        collect(self.root(), &self.shared.rules, &mut files);
        let records: HashMap<String, FileRecord> = match table::records(self.store(), self.id()) {
            Ok(r) => r.into_iter().map(|r| (r.key.clone(), r)).collect(),
            Err(e) => {
                tracing::warn!(folder = %self.id(), error = %e, "cannot read what was uploaded");
                HashMap::new()
            }
        };
        let mut seen = HashSet::new();
        for (path, size, mtime) in files {
            let Some(key) = self.shared.rules.key(&path) else {
                tracing::warn!(path = %path.display(), "skipped: the name is not valid UTF-8");
                continue;
            };
            let unchanged = records
                .get(&key)
                .is_some_and(|r| r.size == size && r.mtime_ns == mtime);
            seen.insert(key);
            if !unchanged {
                self.catching.insert(path.clone());
                self.pend(path, size, mtime);
            }
        }
        if self.mirror_deletes && seen.is_empty() && !records.is_empty() {
            // An empty folder that held uploaded files is more often an unmounted disk than a
            // person deleting everything while nobody watched: delete nothing.
            tracing::warn!(folder = %self.id(), "the folder is empty; not mirroring deletions found by the rescan");
        } else if self.mirror_deletes {
            let gone: Vec<String> = records.into_keys().filter(|k| !seen.contains(k)).collect();
            self.delete_remote(gone);
        }
        self.check_caught_up();
    }

    fn pend(&mut self, path: PathBuf, size: u64, mtime: i64) {
        self.pending.insert(
            path,
            Pending {
                size,
                mtime,
                since: Instant::now(),
            },
        );
    }

    fn on_events(&mut self, result: DebounceEventResult) {
        match result {
            Ok(events) => {
                let mut rescan = false;
                for ev in events {
                    if ev.need_rescan() {
                        rescan = true;
                        continue;
                    }
                    for p in &ev.paths {
                        self.touched(p, &ev.kind);
                    }
                }
                if rescan {
                    tracing::info!(folder = %self.id(), "the watcher lost events; rescanning");
                    self.rescan();
                }
            }
            Err(errors) => {
                for e in errors {
                    tracing::warn!(folder = %self.id(), error = %e, "watcher error");
                }
                if !self.root().is_dir() {
                    self.root_gone();
                }
            }
        }
    }

    fn root_gone(&mut self) {
        self.error = Some(format!(
            "the watched folder {} no longer exists; restore it, or remove this watched folder",
            self.root().display()
        ));
        self.report(false);
    }

    fn touched(&mut self, path: &Path, kind: &EventKind) {
        if path == self.root() {
            if !path.is_dir() {
                self.root_gone();
            }
            return;
        }
        if !path.starts_with(self.root()) {
            return;
        }
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return self.removed(path),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot look at a changed file");
                return;
            }
        };
        if meta.is_dir() {
            // A folder created or moved in: its files may have arrived with it, unannounced.
            let arrived = matches!(
                kind,
                EventKind::Create(_)
                    | EventKind::Modify(notify_debouncer_full::notify::event::ModifyKind::Name(_))
                    | EventKind::Any
                    | EventKind::Other
            );
            if arrived && !self.shared.rules.ignored(path, true) {
                let mut files = Vec::new();
                collect(path, &self.shared.rules, &mut files);
                for (p, size, mtime) in files {
                    self.pend(p, size, mtime);
                }
            }
        } else if !self.shared.rules.ignored(path, false) {
            match stat(path) {
                Ok(Some((size, mtime))) => self.pend(path.to_path_buf(), size, mtime),
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot look at a changed file")
                }
            }
        }
    }

    /// A file or folder disappeared: forget it, and with `mirror_deletes` delete what Ferry uploaded
    /// from it.
    fn removed(&mut self, path: &Path) {
        self.pending.retain(|p, _| !p.starts_with(path));
        self.catching.retain(|p| !p.starts_with(path));
        if self.mirror_deletes {
            if let Some(key) = self.shared.rules.key(path) {
                let under = format!("{key}/");
                match table::records(self.store(), self.id()) {
                    Ok(records) => {
                        let keys = records
                            .into_iter()
                            .map(|r| r.key)
                            .filter(|k| *k == key || k.starts_with(&under))
                            .collect();
                        self.delete_remote(keys);
                    }
                    Err(e) => {
                        tracing::warn!(folder = %self.id(), error = %e, "cannot read what was uploaded")
                    }
                }
            }
        }
        self.check_caught_up();
    }

    /// Deletes objects this folder uploaded whose files are gone (checked again just before).
    fn delete_remote(&self, keys: Vec<String>) {
        let keys: Vec<String> = keys
            .into_iter()
            .filter(|k| {
                self.shared
                    .rules
                    .path(k)
                    .is_some_and(|p| !p.exists() && !self.inflight.contains(&p))
            })
            .collect();
        if keys.is_empty() {
            return;
        }
        let s = self.shared.clone();
        tokio::spawn(async move {
            let keys: Vec<String> = keys
                .into_iter()
                .filter(|k| s.rules.path(k).is_some_and(|p| !p.exists()))
                .collect();
            match s
                .engine
                .delete_objects(&s.conn, &s.bucket, &keys, &[], |_| {})
                .await
            {
                Ok(done) => {
                    for f in &done.failed {
                        tracing::warn!(folder = %s.id, key = %f.key, error = %f.message, "could not delete the object of a deleted file");
                    }
                    let refused: HashSet<&str> =
                        done.failed.iter().map(|f| f.key.as_str()).collect();
                    for k in keys.iter().filter(|k| !refused.contains(k.as_str())) {
                        tracing::info!(folder = %s.id, key = %k, "deleted: its file was deleted");
                        if let Err(e) = table::delete_record(s.engine.store(), &s.id, k) {
                            tracing::warn!(folder = %s.id, error = %e, "cannot forget a deleted key");
                        }
                    }
                    publish(&s.engine, &s.events, &s.id);
                }
                Err(e) => {
                    tracing::warn!(folder = %s.id, error = %e, "could not delete objects of deleted files")
                }
            }
        });
    }

    /// Sends every file that has settled to its upload task.
    fn settle_due(&mut self) {
        let now = Instant::now();
        let due: Vec<PathBuf> = self
            .pending
            .iter()
            .filter(|(p, e)| {
                now.duration_since(e.since) >= self.settle && !self.inflight.contains(*p)
            })
            .map(|(p, _)| p.clone())
            .collect();
        for path in due {
            match stat(&path) {
                Ok(None) => {
                    self.pending.remove(&path);
                    self.removed(&path);
                }
                Ok(Some((size, mtime))) => {
                    let e = self
                        .pending
                        .get_mut(&path)
                        .expect("due entries are pending");
                    if (e.size, e.mtime) != (size, mtime) {
                        (e.size, e.mtime, e.since) = (size, mtime, now);
                        continue;
                    }
                    self.pending.remove(&path);
                    let Some(key) = self.shared.rules.key(&path) else {
                        tracing::warn!(path = %path.display(), "skipped: the name is not valid UTF-8");
                        self.catching.remove(&path);
                        continue;
                    };
                    self.inflight.insert(path.clone());
                    let (s, results) = (self.shared.clone(), self.results.clone());
                    tokio::spawn(async move {
                        let outcome = match upload(&s, &path, &key).await {
                            Ok(o) => o,
                            Err(e) => Outcome::Failed(e),
                        };
                        let _ = results.send((path, outcome));
                    });
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot look at a settled file");
                    if let Some(p) = self.pending.get_mut(&path) {
                        p.since = now;
                    }
                }
            }
        }
        self.check_caught_up();
    }

    fn on_outcome(&mut self, path: PathBuf, outcome: Outcome) {
        self.inflight.remove(&path);
        match outcome {
            Outcome::Uploaded => {
                self.error = None;
                self.catching.remove(&path);
                self.report(true);
            }
            Outcome::Skipped | Outcome::Interrupted => {
                self.catching.remove(&path);
            }
            Outcome::Changed => match stat(&path) {
                Ok(Some((size, mtime))) => self.pend(path, size, mtime),
                _ => self.removed(&path),
            },
            Outcome::Gone => self.removed(&path),
            Outcome::Failed(e) => {
                tracing::warn!(folder = %self.id(), path = %path.display(), error = %e, "upload failed");
                self.catching.remove(&path);
                self.error = Some(format!(
                    "uploading {} failed: {}",
                    path.display(),
                    e.message
                ));
                self.report(false);
            }
        }
        self.check_caught_up();
    }

    fn check_caught_up(&mut self) {
        if self.catching_up && self.catching.is_empty() {
            self.catching_up = false;
            self.report(false);
        }
    }

    /// Writes the folder's state; publishes it when it changed (or always, with `changed`).
    fn report(&self, changed: bool) {
        let state = if self.error.is_some() {
            WatchState::Error
        } else if self.catching_up {
            WatchState::CatchingUp
        } else {
            WatchState::Watching
        };
        let wrote = table::report_state(self.store(), self.id(), state, self.error.as_deref())
            .unwrap_or_else(|e| {
                tracing::warn!(folder = %self.id(), error = %e, "cannot save the folder's state");
                false
            });
        if wrote || changed {
            publish(&self.shared.engine, &self.shared.events, self.id());
        }
    }

    /// Whether the folder is still meant to be watched (not paused or removed from elsewhere).
    fn still_wanted(&self) -> bool {
        match table::folder(self.store(), self.id()) {
            Ok(Some(row)) => row.state != WatchState::Paused,
            Ok(None) => false,
            Err(_) => true,
        }
    }
}

/// Decides whether a settled file needs sending, and sends it through the engine's queue.
async fn upload(s: &Shared, path: &Path, key: &str) -> Result<Outcome> {
    let store = s.engine.store();
    let io = |e| Error::io("cannot read", path, e);
    let Some((size, mtime)) = stat(path).map_err(io)? else {
        return Ok(Outcome::Gone);
    };
    let last = table::record(store, &s.id, key)?;
    if last
        .as_ref()
        .is_some_and(|r| r.size == size && r.mtime_ns == mtime)
    {
        return Ok(Outcome::Skipped);
    }
    let Some(crc) = crc32c(s, path).await? else {
        return Ok(Outcome::Gone);
    };
    if stat(path).map_err(io)? != Some((size, mtime)) {
        return Ok(Outcome::Changed);
    }
    let record = |uploaded_at| FileRecord {
        key: key.to_string(),
        size,
        mtime_ns: mtime,
        crc32c: crc,
        uploaded_at,
    };
    // The latest completed upload of this very file version (a crash can fall between the upload
    // completing and its record being written): count it as uploaded.
    let completed = store
        .find_completed(&Same::upload(&s.conn_json, &s.bucket, key, path))?
        .filter(|r| r.size == Some(size) && r.source_mtime_ns == Some(mtime));
    if let Some(at) = completed.map(|r| r.finished_at.unwrap_or(r.updated_at)) {
        table::put_record(store, &s.id, &record(at))?;
        return Ok(Outcome::Uploaded);
    }
    if last
        .as_ref()
        .is_some_and(|r| r.size == size && r.crc32c == crc)
    {
        table::touch_record(store, &s.id, key, mtime)?;
        return Ok(Outcome::Skipped);
    }
    send(s, path, key, &record).await
}

/// The file's CRC32C, read off the async threads and at most a few files at once (the `hashing`
/// permits); `None` when it disappeared meanwhile.
async fn crc32c(s: &Shared, path: &Path) -> Result<Option<u32>> {
    let _permit = s.hashing.acquire().await;
    let p = path.to_path_buf();
    match tokio::task::spawn_blocking(move || crate::transfer::file_crc32c(&p))
        .await
        .map_err(|e| Error::internal(format!("checksumming {}: {e}", path.display())))?
    {
        Ok(c) => Ok(Some(c)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

/// Uploads the version `record` describes through the engine's queue and remembers it only if the
/// transfer sent that very version (`record` takes the time the upload is recorded at).
async fn send(
    s: &Shared,
    path: &Path,
    key: &str,
    record: &impl Fn(i64) -> FileRecord,
) -> Result<Outcome> {
    let store = s.engine.store();
    let part_size = s
        .engine
        .settings()?
        .part_size_mib
        .map(|m| m * crate::plan::MIB);
    let dst = S3Url {
        bucket: s.bucket.clone(),
        key: key.to_string(),
    };
    let opts = UploadOptions {
        recursive: false,
        part_size,
        ..UploadOptions::default()
    };
    let enq = s.engine.enqueue_upload(&s.conn, path, &dst, &opts).await?;
    let Some(id) = enq.ids.into_iter().next() else {
        return Ok(Outcome::Skipped);
    };
    let result = s
        .engine
        .run(std::slice::from_ref(&id))
        .await
        .pop()
        .map(|o| o.result)
        .unwrap_or_else(|| Err(Error::internal("the upload ended without an outcome")));
    match result {
        Ok(_) => {
            let row = s.engine.transfer(&id)?;
            let version = record(now_ms());
            if row.size != Some(version.size) || row.source_mtime_ns != Some(version.mtime_ns) {
                // It sent a version other than the one checksummed: look again.
                return Ok(Outcome::Changed);
            }
            table::put_record(store, &s.id, &version)?;
            tracing::info!(folder = %s.id, key, size = version.size, "uploaded");
            Ok(Outcome::Uploaded)
        }
        Err(e) if e.kind == ErrorKind::Changed => {
            // A fresh transfer for the new version; this one can never finish.
            if let Err(e) = s.engine.cancel(&id).await {
                tracing::warn!(transfer = %id, error = %e, "could not cancel an outdated upload");
            }
            Ok(Outcome::Changed)
        }
        Err(e) if e.kind == ErrorKind::Interrupted => Ok(Outcome::Interrupted),
        // Another task or process drives it; look again once the file settles.
        Err(e) if e.kind == ErrorKind::Busy => Ok(Outcome::Changed),
        Err(e) => Err(e),
    }
}

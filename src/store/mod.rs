//! SQLite state: the truth about the queue.
//!
//! One file in the state folder, WAL journal, `synchronous=NORMAL`, foreign keys on. Migrations are
//! append-only and numbered by date; a database written by a newer Ferry (a migration we do not know)
//! is refused rather than guessed at. A transfer row is written before any byte moves; a part row is
//! written only once the server (upload) or the disk (download) holds that part, so after a crash the
//! part table never claims more than is really there.
//!
//! Several processes (the app, the CLI) may open the same file. A transfer is driven by the process
//! holding its lease (`owner`, refreshed in `heartbeat_at`); another process may change its state
//! (pause, cancel) and the owner notices on its next heartbeat.

//!
//! One module per table: `transfers` (and `pages`, the queue read in pages and summed up), `lease`
//! (who drives a transfer), `parts`, `accounts` (and settings); `schema` holds the migrations,
//! `group` the group commits of the hottest writes.

mod accounts;
mod check;
mod group;
mod lease;
mod pages;
mod parts;
mod schema;
#[cfg(test)]
mod tests;
mod transfers;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, Params, Row};

use crate::error::{Error, Result};

pub use accounts::AccountRow;
pub use lease::LEASE_TIMEOUT_MS;
pub use pages::{PageQuery, SetTotals, StateCounts, MAX_PAGE};
pub use parts::PartRow;
pub use transfers::{Direction, NewTransfer, Same, State, TransferRow};

use schema::migrate;

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub struct Store {
    conn: Arc<Mutex<Connection>>,
    /// The group commits of the hottest writes (see `group`).
    committer: group::Committer,
    path: PathBuf,
    /// Where a damaged database found at open was kept, and what was wrong with it.
    damaged: Option<(PathBuf, String)>,
    /// Whether the file was checked at open (see `check`).
    checked: bool,
}

impl Drop for Store {
    /// A clean close: the last writes committed, the journal folded into the file, and the file
    /// recorded as this process leaves it, so the next open need not check it (see `check`).
    fn drop(&mut self) {
        self.committer.stop();
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let folded = conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| {
                r.get::<_, i64>(0)
            })
            .is_ok_and(|busy| busy == 0);
        if folded {
            check::record_clean_close(&self.path);
        }
    }
}

/// Why a database could not be opened: damaged (kept aside, a new one started), or anything else
/// (refused, the file left as it is).
enum OpenError {
    Damaged(String),
    Other(Error),
}

/// Sorts an error met while opening: only SQLite's own verdicts of corruption count as damage; a
/// full disk (often seen as an I/O error, when the shared-memory file cannot grow) says so.
fn open_error(path: &Path, e: rusqlite::Error) -> OpenError {
    use rusqlite::ErrorCode::*;
    let code = e.sqlite_error_code();
    match code {
        Some(DatabaseCorrupt | NotADatabase) => OpenError::Damaged(e.to_string()),
        Some(DiskFull | SystemIoFailure) if disk_full(path) => OpenError::Other(full(path)),
        _ => OpenError::Other(Error::storage(format!(
            "cannot open the state database {}: {e}; check the folder is writable or pass --state-dir",
            path.display()
        ))),
    }
}

/// Whether the file system holding `path` has no room left (a small probe write fails so).
fn disk_full(path: &Path) -> bool {
    let dir = path.parent().unwrap_or(Path::new("."));
    let probe = dir.join(format!(".ferry-space-{}", std::process::id()));
    let r = std::fs::write(&probe, [0u8; 64 * 1024]);
    let _ = std::fs::remove_file(&probe);
    matches!(r, Err(e) if e.kind() == std::io::ErrorKind::StorageFull)
}

fn full(path: &Path) -> Error {
    let dir = path.parent().unwrap_or(Path::new("."));
    Error::storage(format!(
        "the disk holding Ferry's state folder {} is full; free some space, then run it again (nothing was changed)",
        dir.display()
    ))
}

/// Moves a damaged database (and its journal files) aside as `NAME.damaged-<unix ms>`, so nothing
/// of it is lost and a new one can start; returns where it went.
fn keep_aside(path: &Path) -> Result<PathBuf> {
    let kept = path.with_file_name(format!(
        "{}.damaged-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("ferry.db"),
        now_ms()
    ));
    std::fs::rename(path, &kept)
        .map_err(|e| Error::io("cannot move aside the damaged", path, e))?;
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            let to = PathBuf::from(format!("{}{suffix}", kept.display()));
            std::fs::rename(&side, &to)
                .map_err(|e| Error::io("cannot move aside the damaged", &side, e))?;
        }
    }
    Ok(kept)
}

fn path_text(p: &Path) -> Result<&str> {
    p.to_str()
        .ok_or_else(|| Error::invalid(format!("the path {} is not valid UTF-8", p.display())))
}

/// Statements through the connection's prepared-statement cache: the queue runs the same few
/// statements for every file, and preparing them anew each time cost a tenth of the client's CPU on
/// a thousand small files.
pub(crate) trait Cached {
    fn exec<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn row<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T>;
}

impl Cached for Connection {
    fn exec<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row<T, P: Params, F: FnOnce(&Row<'_>) -> rusqlite::Result<T>>(
        &self,
        sql: &str,
        params: P,
        f: F,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date. A
    /// damaged database is never replaced silently: it is kept aside, whole, a new one is started,
    /// and [`Store::damaged`] says where the old one went (the shells tell the user).
    pub fn open(path: &Path) -> Result<Store> {
        match Store::open_checked(path) {
            Ok(s) => Ok(s),
            Err(OpenError::Other(e)) => Err(e),
            Err(OpenError::Damaged(detail)) => {
                let kept = keep_aside(path)?;
                tracing::error!(path = %path.display(), kept = %kept.display(), %detail, "the state database was damaged; kept it aside and started a new one");
                let mut store = Store::open_checked(path).map_err(|e| match e {
                    OpenError::Other(e) => e,
                    OpenError::Damaged(d) => Error::storage(format!(
                        "a new state database at {} is damaged too ({d}); check the disk",
                        path.display()
                    )),
                })?;
                store.damaged = Some((kept, detail));
                Ok(store)
            }
        }
    }

    fn open_checked(path: &Path) -> std::result::Result<Store, OpenError> {
        let conn = Connection::open(path).map_err(|e| open_error(path, e))?;
        let other = |e: rusqlite::Error| open_error(path, e);
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(other)?;
        let checked = !check::unchanged_since_clean_close(path);
        if checked {
            let check: String = conn
                .query_row("PRAGMA quick_check", [], |r| r.get(0))
                .map_err(other)?;
            if check != "ok" {
                return Err(OpenError::Damaged(check));
            }
        }
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        )
        .map_err(other)?;
        migrate(&conn, path).map_err(OpenError::Other)?;
        conn.set_prepared_statement_cache_capacity(64);
        // The bundled SQLite is built with STAT4, which marks statements to be compiled again
        // whenever a new value is bound to a parameter that might change the plan: a cached
        // statement was re-prepared on nearly every use (a sixth of the CLI's CPU on a thousand small
        // files). The queue's plans do not depend on the values, so ask for stable plans.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
        .map_err(other)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            committer: group::Committer::new(),
            path: path.to_path_buf(),
            damaged: None,
            checked,
        })
    }

    /// Whether `PRAGMA quick_check` ran at open (it is skipped for a file exactly as a clean close
    /// left it; see `check`).
    pub fn checked_at_open(&self) -> bool {
        self.checked
    }

    /// Where a damaged database found at open was kept aside, and what SQLite said of it.
    pub fn damaged(&self) -> Option<(&Path, &str)> {
        self.damaged
            .as_ref()
            .map(|(p, d)| (p.as_path(), d.as_str()))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        Ok(f(&conn)?)
    }
}

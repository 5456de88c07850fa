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

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, OptionalExtension, Params, Row};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};

/// Append-only: never edit a shipped entry; add a new one with a later number.
const MIGRATIONS: &[(i64, &str)] = &[
    (
        2026112401,
        "CREATE TABLE transfers (
        id              TEXT PRIMARY KEY,
        direction       TEXT NOT NULL CHECK (direction IN ('upload', 'download')),
        state           TEXT NOT NULL,
        connection      TEXT NOT NULL,
        bucket          TEXT NOT NULL,
        key             TEXT NOT NULL,
        local_path      TEXT NOT NULL,
        size            INTEGER,
        source_mtime_ns INTEGER,
        part_size       INTEGER NOT NULL,
        upload_id       TEXT,
        etag            TEXT,
        bytes_done      INTEGER NOT NULL DEFAULT 0,
        overwrite       INTEGER NOT NULL DEFAULT 0,
        error_kind      TEXT,
        error_message   TEXT,
        batch_id        TEXT NOT NULL,
        owner           TEXT,
        heartbeat_at    INTEGER,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        finished_at     INTEGER
    );
    CREATE INDEX transfers_identity ON transfers (local_path, bucket, key);
    CREATE INDEX transfers_state ON transfers (state);
    CREATE TABLE parts (
        transfer_id TEXT NOT NULL REFERENCES transfers (id) ON DELETE CASCADE,
        number      INTEGER NOT NULL,
        offset      INTEGER NOT NULL,
        len         INTEGER NOT NULL,
        etag        TEXT,
        checksum    TEXT,
        PRIMARY KEY (transfer_id, number)
    );",
    ),
    (
        2026112402,
        "CREATE TABLE accounts (
        name          TEXT PRIMARY KEY,
        kind          TEXT NOT NULL,
        endpoint      TEXT,
        region        TEXT,
        path_style    INTEGER NOT NULL DEFAULT 1,
        access_key_id TEXT,
        profile       TEXT,
        secret        TEXT NOT NULL,
        created_at    INTEGER NOT NULL
    );
    CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );",
    ),
    (
        2026120201,
        "CREATE TABLE watched_folders (
        id             TEXT PRIMARY KEY,
        path           TEXT NOT NULL,
        connection     TEXT NOT NULL,
        bucket         TEXT NOT NULL,
        prefix         TEXT NOT NULL,
        ignore         TEXT NOT NULL,
        mirror_deletes INTEGER NOT NULL DEFAULT 0,
        state          TEXT NOT NULL CHECK (state IN ('watching', 'paused', 'catching_up', 'error')),
        error          TEXT,
        created_at     INTEGER NOT NULL,
        UNIQUE (path, bucket, prefix)
    );
    CREATE TABLE watched_files (
        folder_id   TEXT NOT NULL REFERENCES watched_folders (id) ON DELETE CASCADE,
        key         TEXT NOT NULL,
        size        INTEGER NOT NULL,
        mtime_ns    INTEGER NOT NULL,
        crc32c      INTEGER NOT NULL,
        uploaded_at INTEGER NOT NULL,
        PRIMARY KEY (folder_id, key)
    );
    CREATE INDEX watched_files_recent ON watched_files (folder_id, uploaded_at);",
    ),
    (
        2026120202,
        "ALTER TABLE transfers ADD COLUMN next_attempt_at INTEGER",
    ),
    (
        // Each finished transfer counts its batch's states (for the batch notice): without an
        // index that was a scan of the whole queue per transfer.
        2026120203,
        "CREATE INDEX transfers_batch ON transfers (batch_id, state)",
    ),
];

/// A transfer's lifecycle. `Running` rows whose owner died are resumed like `Queued` ones.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Queued,
    Running,
    Paused,
    WaitingRetry,
    Completed,
    Failed,
    Cancelled,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Running => "running",
            State::Paused => "paused",
            State::WaitingRetry => "waiting_retry",
            State::Completed => "completed",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Result<State> {
        Ok(match s {
            "queued" => State::Queued,
            "running" => State::Running,
            "paused" => State::Paused,
            "waiting_retry" => State::WaitingRetry,
            "completed" => State::Completed,
            "failed" => State::Failed,
            "cancelled" => State::Cancelled,
            other => {
                return Err(Error::storage(format!(
                    "unknown transfer state `{other}` in the database"
                )))
            }
        })
    }

    /// Finished for good: nothing more will happen unless the user retries.
    pub fn is_terminal(self) -> bool {
        matches!(self, State::Completed | State::Cancelled)
    }
}

#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Upload,
    Download,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Upload => "upload",
            Direction::Download => "download",
        }
    }
}

/// One row of the transfers table.
#[derive(Debug, Clone, Serialize)]
pub struct TransferRow {
    pub id: String,
    pub direction: Direction,
    pub state: State,
    /// JSON of [`crate::s3::Connection`]; never holds a secret.
    pub connection: String,
    pub bucket: String,
    pub key: String,
    pub local_path: PathBuf,
    pub size: Option<u64>,
    pub source_mtime_ns: Option<i64>,
    pub part_size: u64,
    pub upload_id: Option<String>,
    pub etag: Option<String>,
    pub bytes_done: u64,
    /// Downloads: the user chose to replace an existing file.
    pub overwrite: bool,
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    pub batch_id: String,
    pub owner: Option<String>,
    pub heartbeat_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
    /// `waiting_retry`: when the next run starts (unix ms).
    pub next_attempt_at: Option<i64>,
}

/// What enqueue writes for a new transfer.
#[derive(Debug, Clone)]
pub struct NewTransfer {
    pub id: String,
    pub direction: Direction,
    pub connection: String,
    pub bucket: String,
    pub key: String,
    pub local_path: PathBuf,
    pub size: Option<u64>,
    pub source_mtime_ns: Option<i64>,
    pub part_size: u64,
    pub etag: Option<String>,
    pub overwrite: bool,
    pub batch_id: String,
}

/// One row of the accounts table. Never holds a secret: `secret` says where it lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub name: String,
    pub kind: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub path_style: bool,
    pub access_key_id: Option<String>,
    pub profile: Option<String>,
    /// `keychain`, `session` or `none`.
    pub secret: String,
}

fn row_to_account(r: &Row<'_>) -> rusqlite::Result<AccountRow> {
    Ok(AccountRow {
        name: r.get(0)?,
        kind: r.get(1)?,
        endpoint: r.get(2)?,
        region: r.get(3)?,
        path_style: r.get(4)?,
        access_key_id: r.get(5)?,
        profile: r.get(6)?,
        secret: r.get(7)?,
    })
}

/// A part the server (upload) or the disk (download) is known to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRow {
    pub number: u32,
    pub offset: u64,
    pub len: u64,
    pub etag: Option<String>,
    pub checksum: Option<String>,
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A lease older than this is considered abandoned even if its owner's process still exists.
pub const LEASE_TIMEOUT_MS: i64 = 10_000;

pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

const COLUMNS: &str = "id, direction, state, connection, bucket, key, local_path, size, source_mtime_ns, \
     part_size, upload_id, etag, bytes_done, overwrite, error_kind, error_message, batch_id, owner, heartbeat_at, \
     created_at, updated_at, finished_at, next_attempt_at";

fn row_to_transfer(r: &Row<'_>) -> rusqlite::Result<TransferRow> {
    let direction: String = r.get(1)?;
    let state: String = r.get(2)?;
    let path: String = r.get(6)?;
    Ok(TransferRow {
        id: r.get(0)?,
        direction: if direction == "upload" {
            Direction::Upload
        } else {
            Direction::Download
        },
        state: State::parse(&state).unwrap_or(State::Failed),
        connection: r.get(3)?,
        bucket: r.get(4)?,
        key: r.get(5)?,
        local_path: PathBuf::from(path),
        size: r.get::<_, Option<i64>>(7)?.map(|v| v as u64),
        source_mtime_ns: r.get(8)?,
        part_size: r.get::<_, i64>(9)? as u64,
        upload_id: r.get(10)?,
        etag: r.get(11)?,
        bytes_done: r.get::<_, i64>(12)? as u64,
        overwrite: r.get(13)?,
        error_kind: r.get(14)?,
        error_message: r.get(15)?,
        batch_id: r.get(16)?,
        owner: r.get(17)?,
        heartbeat_at: r.get(18)?,
        created_at: r.get(19)?,
        updated_at: r.get(20)?,
        finished_at: r.get(21)?,
        next_attempt_at: r.get(22)?,
    })
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
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(|e| {
            Error::storage(format!(
                "cannot open the state database {}: {e}; check the folder is writable or pass --state-dir",
                path.display()
            ))
        })?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(|e| damaged(path, &e.to_string()))?;
        if check != "ok" {
            return Err(damaged(path, &check));
        }
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        )
        .map_err(|e| damaged(path, &e.to_string()))?;
        migrate(&conn, path)?;
        conn.set_prepared_statement_cache_capacity(64);
        // The bundled SQLite is built with STAT4, which marks statements to be compiled again
        // whenever a new value is bound to a parameter that might change the plan: a cached
        // statement was re-prepared on nearly every use (a sixth of the CLI's CPU on a thousand small
        // files). The queue's plans do not depend on the values, so ask for stable plans.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        Ok(Store {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        Ok(f(&conn)?)
    }

    /// Inserts many transfers in one transaction: all or none.
    pub fn insert_transfers(&self, rows: &[NewTransfer]) -> Result<()> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT INTO transfers (id, direction, state, connection, bucket, key, local_path, size,
                    source_mtime_ns, part_size, etag, overwrite, batch_id, created_at, updated_at)
                 VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13)",
            )?;
            let now = now_ms();
            for r in rows {
                st.execute(params![
                    r.id,
                    r.direction.as_str(),
                    r.connection,
                    r.bucket,
                    r.key,
                    path_text(&r.local_path)?,
                    r.size.map(|v| v as i64),
                    r.source_mtime_ns,
                    r.part_size as i64,
                    r.etag,
                    r.overwrite,
                    r.batch_id,
                    now
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The bytes done and the total size of the transfers `ids`, summed without loading their rows.
    pub fn totals(&self, ids: &[String]) -> Result<(u64, u64)> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT bytes_done, COALESCE(size, 0) FROM transfers WHERE id = ?1",
            )?;
            let (mut done, mut total) = (0u64, 0u64);
            for id in ids {
                if let Some((d, t)) = st
                    .query_row([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
                    .optional()?
                {
                    let t = t.max(0) as u64;
                    done += (d.max(0) as u64).min(t);
                    total += t;
                }
            }
            Ok((done, total))
        })
    }

    pub fn get(&self, id: &str) -> Result<Option<TransferRow>> {
        self.with(|c| {
            c.row(
                &format!("SELECT {COLUMNS} FROM transfers WHERE id = ?1"),
                [id],
                row_to_transfer,
            )
            .optional()
        })
    }

    /// Finds a transfer by full id or by a unique prefix of it (as printed by `ferry transfers`).
    pub fn find(&self, id_or_prefix: &str) -> Result<TransferRow> {
        if let Some(t) = self.get(id_or_prefix)? {
            return Ok(t);
        }
        let pattern = format!("{}%", id_or_prefix.replace(['%', '_'], ""));
        let rows = self.with(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM transfers WHERE id LIKE ?1 LIMIT 2"
            ))?;
            let rows = st
                .query_map([pattern], row_to_transfer)?
                .collect::<rusqlite::Result<Vec<_>>>();
            rows
        })?;
        match rows.len() {
            1 => Ok(rows.into_iter().next().expect("one row")),
            0 => Err(Error::not_found(format!(
                "no transfer `{id_or_prefix}`; `ferry transfers` lists them"
            ))),
            _ => Err(Error::invalid(format!(
                "`{id_or_prefix}` matches several transfers; give more of the id"
            ))),
        }
    }

    /// Every transfer, oldest first.
    pub fn list(&self) -> Result<Vec<TransferRow>> {
        self.with(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM transfers ORDER BY created_at, id"
            ))?;
            let rows = st.query_map([], row_to_transfer)?.collect();
            rows
        })
    }

    /// The unfinished transfer (if any) that moves the same bytes between the same places, so that running
    /// the same command again continues it instead of starting over.
    pub fn find_unfinished(
        &self,
        direction: Direction,
        connection: &str,
        bucket: &str,
        key: &str,
        local_path: &Path,
    ) -> Result<Option<TransferRow>> {
        self.find_same(
            "state NOT IN ('completed', 'cancelled')",
            direction,
            connection,
            bucket,
            key,
            local_path,
        )
    }

    /// The latest completed transfer that moved the same bytes between the same places, so that
    /// running the same command again after a crash does not send finished files a second time.
    pub fn find_completed(
        &self,
        direction: Direction,
        connection: &str,
        bucket: &str,
        key: &str,
        local_path: &Path,
    ) -> Result<Option<TransferRow>> {
        self.find_same(
            "state = 'completed'",
            direction,
            connection,
            bucket,
            key,
            local_path,
        )
    }

    fn find_same(
        &self,
        states: &str,
        direction: Direction,
        connection: &str,
        bucket: &str,
        key: &str,
        local_path: &Path,
    ) -> Result<Option<TransferRow>> {
        let lp = path_text(local_path)?.to_string();
        self.with(|c| {
            c.row(
                &format!(
                    "SELECT {COLUMNS} FROM transfers WHERE local_path = ?1 AND bucket = ?2 AND key = ?3
                     AND direction = ?4 AND connection = ?5 AND {states}
                     ORDER BY created_at DESC LIMIT 1"
                ),
                params![lp, bucket, key, direction.as_str(), connection],
                row_to_transfer,
            )
            .optional()
        })
    }

    /// Takes the lease on a transfer for `owner` unless a live process holds it.
    ///
    /// `owner_alive` tells whether the process named in a current lease still runs. Returns the row as
    /// claimed, with state `running`.
    pub fn claim(
        &self,
        id: &str,
        owner: &str,
        owner_alive: impl Fn(&str) -> bool,
    ) -> Result<TransferRow> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let row = tx
            .row(
                &format!("SELECT {COLUMNS} FROM transfers WHERE id = ?1"),
                [id],
                row_to_transfer,
            )
            .optional()?
            .ok_or_else(|| Error::not_found(format!("no transfer {id}")))?;
        let now = now_ms();
        if matches!(row.state, State::Running | State::WaitingRetry) {
            if let (Some(other), Some(hb)) = (&row.owner, row.heartbeat_at) {
                if other != owner && now - hb < LEASE_TIMEOUT_MS && owner_alive(other) {
                    return Err(Error::new(
                        ErrorKind::Busy,
                        format!(
                            "transfer {} is being run by another Ferry process ({}); pause it there first",
                            crate::format::short_id(id),
                            other.split('-').next().unwrap_or(other)
                        ),
                    ));
                }
            }
        }
        if row.state == State::Paused {
            // Paused before its turn came (here or in another process): it waits for a resume.
            return Err(Error::new(
                ErrorKind::Interrupted,
                format!(
                    "transfer {} is paused; resume it to continue",
                    crate::format::short_id(id)
                ),
            ));
        }
        if row.state.is_terminal() {
            return Err(Error::invalid(format!(
                "transfer {} is {}; there is nothing to run",
                crate::format::short_id(id),
                row.state.as_str()
            )));
        }
        tx.exec(
            "UPDATE transfers SET state = 'running', owner = ?2, heartbeat_at = ?3, updated_at = ?3,
                error_kind = NULL, error_message = NULL, next_attempt_at = NULL WHERE id = ?1",
            params![id, owner, now],
        )?;
        tx.commit()?;
        let mut row = row;
        row.state = State::Running;
        row.next_attempt_at = None;
        row.owner = Some(owner.to_string());
        row.heartbeat_at = Some(now);
        Ok(row)
    }

    /// Refreshes the lease of every transfer `owner` runs and returns the ids among `ids` whose state
    /// someone else changed (paused or cancelled from another process).
    pub fn heartbeat(&self, owner: &str, ids: &[String]) -> Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.with(|c| {
            let now = now_ms();
            c.exec(
                "UPDATE transfers SET heartbeat_at = ?2 WHERE owner = ?1 AND state IN ('running', 'waiting_retry')",
                params![owner, now],
            )?;
            let mut st = c.prepare_cached("SELECT state, owner FROM transfers WHERE id = ?1")?;
            let mut changed = Vec::new();
            for id in ids {
                let (state, row_owner): (String, Option<String>) = match st
                    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?
                {
                    Some(v) => v,
                    None => {
                        changed.push(id.clone());
                        continue;
                    }
                };
                if !matches!(state.as_str(), "running" | "waiting_retry")
                    || row_owner.as_deref() != Some(owner)
                {
                    changed.push(id.clone());
                }
            }
            Ok(changed)
        })
    }

    /// Sets the state of a transfer, with an error for `failed`/`paused`/`waiting_retry`.
    pub fn set_state(&self, id: &str, state: State, error: Option<&Error>) -> Result<()> {
        self.with(|c| {
            let now = now_ms();
            let finished = if state.is_terminal() { Some(now) } else { None };
            c.exec(
                "UPDATE transfers SET state = ?2, error_kind = ?3, error_message = ?4, updated_at = ?5,
                    finished_at = COALESCE(?6, finished_at), next_attempt_at = NULL,
                    owner = CASE WHEN ?2 = 'running' THEN owner ELSE NULL END
                 WHERE id = ?1",
                params![
                    id,
                    state.as_str(),
                    error.map(|e| e.kind.as_str()),
                    error.map(|e| e.message.as_str()),
                    now,
                    finished
                ],
            )?;
            Ok(())
        })
    }

    /// Ends a run: sets `state` only if `owner` still holds the lease and nobody changed the state
    /// meanwhile (a pause or cancel from elsewhere wins). Returns whether the row was updated.
    pub fn finish_run(
        &self,
        id: &str,
        owner: &str,
        state: State,
        error: Option<&Error>,
    ) -> Result<bool> {
        self.with(|c| {
            let now = now_ms();
            let finished = if state.is_terminal() { Some(now) } else { None };
            let n = c.exec(
                "UPDATE transfers SET state = ?3, error_kind = ?4, error_message = ?5, updated_at = ?6,
                    finished_at = COALESCE(?7, finished_at), owner = NULL
                 WHERE id = ?1 AND owner = ?2 AND state = 'running'",
                params![
                    id,
                    owner,
                    state.as_str(),
                    error.map(|e| e.kind.as_str()),
                    error.map(|e| e.message.as_str()),
                    now,
                    finished
                ],
            )?;
            Ok(n == 1)
        })
    }

    /// Ends a run that a transient failure outlasted: `waiting_retry` until `next_attempt_at` (unix
    /// ms), with the error that caused it. The lease stays with `owner`, which runs it again then.
    /// Returns false if someone changed the state meanwhile (a pause or cancel wins).
    pub fn wait_retry(
        &self,
        id: &str,
        owner: &str,
        error: &Error,
        next_attempt_at: i64,
    ) -> Result<bool> {
        self.with(|c| {
            let n = c.exec(
                "UPDATE transfers SET state = 'waiting_retry', error_kind = ?3, error_message = ?4,
                    next_attempt_at = ?5, updated_at = ?6, heartbeat_at = ?6
                 WHERE id = ?1 AND owner = ?2 AND state = 'running'",
                params![
                    id,
                    owner,
                    error.kind.as_str(),
                    error.message.as_str(),
                    next_attempt_at,
                    now_ms()
                ],
            )?;
            Ok(n == 1)
        })
    }

    pub fn set_upload_id(&self, id: &str, upload_id: Option<&str>) -> Result<()> {
        self.with(|c| {
            c.exec(
                "UPDATE transfers SET upload_id = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, upload_id, now_ms()],
            )?;
            Ok(())
        })
    }

    /// Records what the object looks like (download: from HEAD; upload: the final ETag).
    pub fn set_object(&self, id: &str, size: u64, etag: Option<&str>) -> Result<()> {
        self.with(|c| {
            c.exec(
                "UPDATE transfers SET size = ?2, etag = ?3, updated_at = ?4 WHERE id = ?1",
                params![id, size as i64, etag, now_ms()],
            )?;
            Ok(())
        })
    }

    pub fn parts(&self, id: &str) -> Result<Vec<PartRow>> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT number, offset, len, etag, checksum FROM parts WHERE transfer_id = ?1 ORDER BY number",
            )?;
            let rows = st
                .query_map([id], |r| {
                    Ok(PartRow {
                        number: r.get::<_, i64>(0)? as u32,
                        offset: r.get::<_, i64>(1)? as u64,
                        len: r.get::<_, i64>(2)? as u64,
                        etag: r.get(3)?,
                        checksum: r.get(4)?,
                    })
                })?
                .collect();
            rows
        })
    }

    /// Commits a finished part and the transfer's byte count in one transaction.
    pub fn record_part(&self, id: &str, part: &PartRow) -> Result<()> {
        self.record_part_of(id, part, None)
    }

    /// [`Store::record_part`], and the object's ETag when it is first learnt with this part (a
    /// whole-object download of an object listed without one): one transaction instead of two.
    pub fn record_part_of(&self, id: &str, part: &PartRow, etag: Option<&str>) -> Result<()> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        tx.exec(
            "INSERT OR REPLACE INTO parts (transfer_id, number, offset, len, etag, checksum)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                id,
                part.number as i64,
                part.offset as i64,
                part.len as i64,
                part.etag,
                part.checksum
            ],
        )?;
        tx.exec(
            "UPDATE transfers SET bytes_done = (SELECT COALESCE(SUM(len), 0) FROM parts WHERE transfer_id = ?1),
                etag = COALESCE(?3, etag), updated_at = ?2 WHERE id = ?1",
            params![id, now_ms(), etag],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Forgets the parts of a transfer (the upload id is gone, or the object changed).
    pub fn clear_parts(&self, id: &str) -> Result<()> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        tx.exec("DELETE FROM parts WHERE transfer_id = ?1", [id])?;
        tx.exec(
            "UPDATE transfers SET bytes_done = 0, updated_at = ?2 WHERE id = ?1",
            params![id, now_ms()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Marks a transfer completed with its final byte count.
    pub fn complete(&self, id: &str, owner: &str, size: u64, etag: Option<&str>) -> Result<bool> {
        self.with(|c| {
            let now = now_ms();
            let n = c.exec(
                "UPDATE transfers SET state = 'completed', bytes_done = ?3, size = ?3, etag = COALESCE(?4, etag),
                    error_kind = NULL, error_message = NULL, updated_at = ?5, finished_at = ?5, owner = NULL
                 WHERE id = ?1 AND owner = ?2 AND state = 'running'",
                params![id, owner, size as i64, etag, now],
            )?;
            Ok(n == 1)
        })
    }

    /// Whether a batch still has transfers that may run (queued, running, waiting or paused): one
    /// index probe, where counting the batch's states is a walk over all of its rows.
    pub fn batch_open(&self, batch_id: &str) -> Result<bool> {
        self.with(|c| {
            c.row(
                "SELECT EXISTS (SELECT 1 FROM transfers WHERE batch_id = ?1
                    AND state IN ('queued', 'running', 'waiting_retry', 'paused'))",
                [batch_id],
                |r| r.get(0),
            )
        })
    }

    /// Counts a batch's transfers by state.
    pub fn batch_states(&self, batch_id: &str) -> Result<Vec<(State, usize)>> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT state, COUNT(*) FROM transfers WHERE batch_id = ?1 GROUP BY state",
            )?;
            let rows = st
                .query_map([batch_id], |r| {
                    let s: String = r.get(0)?;
                    Ok((
                        State::parse(&s).unwrap_or(State::Failed),
                        r.get::<_, i64>(1)? as usize,
                    ))
                })?
                .collect();
            rows
        })
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        self.with(|c| {
            c.row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
        })
    }

    pub fn set_setting(&self, key: &str, value: &str) -> Result<()> {
        self.with(|c| {
            c.exec(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }

    pub fn accounts(&self) -> Result<Vec<AccountRow>> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "SELECT name, kind, endpoint, region, path_style, access_key_id, profile, secret
                 FROM accounts ORDER BY created_at, name",
            )?;
            let rows = st.query_map([], row_to_account)?.collect();
            rows
        })
    }

    pub fn account(&self, name: &str) -> Result<Option<AccountRow>> {
        self.with(|c| {
            c.row(
                "SELECT name, kind, endpoint, region, path_style, access_key_id, profile, secret
                 FROM accounts WHERE name = ?1",
                [name],
                row_to_account,
            )
            .optional()
        })
    }

    /// Inserts an account; fails if the name is taken.
    pub fn insert_account(&self, a: &AccountRow) -> Result<()> {
        let r = self.with(|c| {
            c.exec(
                "INSERT INTO accounts (name, kind, endpoint, region, path_style, access_key_id, profile, secret, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![a.name, a.kind, a.endpoint, a.region, a.path_style, a.access_key_id, a.profile, a.secret, now_ms()],
            )
        });
        match r {
            Err(e) if e.message.contains("UNIQUE") => Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "an account named `{}` already exists; choose another name",
                    a.name
                ),
            )),
            other => other.map(|_| ()),
        }
    }

    pub fn delete_account(&self, name: &str) -> Result<bool> {
        self.with(|c| c.exec("DELETE FROM accounts WHERE name = ?1", [name]))
            .map(|n| n > 0)
    }

    /// Deletes finished (completed or cancelled) transfers; returns how many.
    pub fn clear_finished(&self) -> Result<usize> {
        self.with(|c| {
            c.exec(
                "DELETE FROM transfers WHERE state IN ('completed', 'cancelled')",
                [],
            )
        })
    }
}

fn damaged(path: &Path, detail: &str) -> Error {
    Error::storage(format!(
        "the state database {} is damaged ({detail}); Ferry will not replace it. Move it aside to start \
         with an empty queue, or restore it from a backup",
        path.display()
    ))
}

fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    let newest_known = MIGRATIONS.last().map(|m| m.0).unwrap_or(0);
    let newest_applied: Option<i64> =
        conn.query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })?;
    if let Some(v) = newest_applied {
        if v > newest_known {
            return Err(Error::storage(format!(
                "the state database {} was written by a newer version of Ferry (schema {v}, this one knows up \
                 to {newest_known}); update Ferry, or use another --state-dir",
                path.display()
            )));
        }
    }
    for (version, sql) in MIGRATIONS {
        // Checked inside the write transaction: two processes opening a new database at once apply
        // each migration exactly once.
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let applied: rusqlite::Result<bool> = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [version],
            |r| r.get(0),
        );
        let result = match applied {
            Ok(true) => Ok(()),
            Ok(false) => conn.execute_batch(&format!(
                "{sql}; INSERT INTO schema_migrations (version, applied_at) VALUES ({version}, {});",
                now_ms()
            )),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e.into());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(id: &str) -> NewTransfer {
        NewTransfer {
            id: id.into(),
            direction: Direction::Upload,
            connection: "{}".into(),
            bucket: "b".into(),
            key: "k".into(),
            local_path: "/tmp/x".into(),
            size: Some(10),
            source_mtime_ns: Some(1),
            part_size: 5,
            etag: None,
            overwrite: false,
            batch_id: "batch".into(),
        }
    }

    #[test]
    fn parts_and_byte_counts_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        {
            let s = Store::open(&path).unwrap();
            s.insert_transfers(&[new("t1")]).unwrap();
            let part = PartRow {
                number: 1,
                offset: 0,
                len: 5,
                etag: Some("e1".into()),
                checksum: None,
            };
            s.record_part("t1", &part).unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.get("t1").unwrap().unwrap().bytes_done, 5);
        assert_eq!(s.parts("t1").unwrap()[0].etag.as_deref(), Some("e1"));
    }

    #[test]
    fn a_live_lease_refuses_a_second_driver_and_a_dead_one_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("s.db")).unwrap();
        s.insert_transfers(&[new("t1")]).unwrap();
        s.claim("t1", "1-a", |_| true).unwrap();
        let e = s.claim("t1", "2-b", |_| true).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Busy);
        let row = s.claim("t1", "2-b", |_| false).unwrap();
        assert_eq!(row.owner.as_deref(), Some("2-b"));
        // The first owner no longer holds the lease, so its end-of-run write is ignored.
        assert!(!s.finish_run("t1", "1-a", State::Failed, None).unwrap());
        assert!(s.finish_run("t1", "2-b", State::Paused, None).unwrap());
        assert_eq!(s.get("t1").unwrap().unwrap().state, State::Paused);
    }

    #[test]
    fn a_transfer_waiting_to_retry_keeps_its_lease_and_its_next_attempt_time() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("s.db")).unwrap();
        s.insert_transfers(&[new("t1")]).unwrap();
        s.claim("t1", "1-a", |_| true).unwrap();
        let e = Error::new(ErrorKind::Network, "down");
        assert!(s.wait_retry("t1", "1-a", &e, 12345).unwrap());
        let row = s.get("t1").unwrap().unwrap();
        assert_eq!(
            (row.state, row.next_attempt_at),
            (State::WaitingRetry, Some(12345))
        );
        // Still its owner's: the heartbeat keeps it, and another live process may not take it.
        assert!(s.heartbeat("1-a", &["t1".into()]).unwrap().is_empty());
        assert_eq!(
            s.claim("t1", "2-b", |_| true).unwrap_err().kind,
            ErrorKind::Busy
        );
        let row = s.claim("t1", "1-a", |_| true).unwrap();
        assert_eq!((row.state, row.next_attempt_at), (State::Running, None));
        assert!(s.wait_retry("t1", "1-a", &e, 999).unwrap());
        s.set_state("t1", State::Paused, None).unwrap();
        let row = s.get("t1").unwrap().unwrap();
        assert_eq!((row.state, row.next_attempt_at), (State::Paused, None));
        // A pause wins over a run that ends later.
        assert!(!s.wait_retry("t1", "1-a", &e, 1).unwrap());
    }

    #[test]
    fn a_database_from_a_newer_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(Store::open(&path).unwrap());
        let c = Connection::open(&path).unwrap();
        c.execute("INSERT INTO schema_migrations VALUES (2099010101, 0)", [])
            .unwrap();
        drop(c);
        let e = Store::open(&path).err().unwrap();
        assert!(
            e.message.contains("newer version of Ferry"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_damaged_database_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        std::fs::write(&path, b"this is not a database, but it is someone's file").unwrap();
        let e = Store::open(&path).err().unwrap();
        assert!(e.message.contains("damaged"), "{}", e.message);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"this is not a database, but it is someone's file"
        );
    }
}

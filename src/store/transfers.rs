//! The `transfers` table: one row per transfer, its state and progress, and the queries the enqueue
//! decisions ask (the same files' unfinished or completed transfer, a batch's states).

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};

use super::{now_ms, path_text, Cached, Store};
use crate::error::{Error, Result};

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
    /// A server-side copy within one account (CopyObject, or UploadPartCopy for large objects).
    Copy,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Upload => "upload",
            Direction::Download => "download",
            Direction::Copy => "copy",
        }
    }

    fn parse(s: &str) -> Direction {
        match s {
            "upload" => Direction::Upload,
            "copy" => Direction::Copy,
            _ => Direction::Download,
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
    /// The file (uploads, downloads); for a copy, the source object as `s3://bucket/key`.
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
    /// Uploads: JSON of the `ObjectOptions` the object is created with; copies: JSON of the
    /// `CopySpec` (a move, encryption, attributes replaced).
    pub object_options: Option<String>,
    /// Completed downloads: what the file was verified against (`None`: nothing to verify with).
    pub verified: Option<String>,
    /// Downloads of one version of the object (every request asks for it); `None`: the current one.
    pub version_id: Option<String>,
}

/// What enqueue writes for a new transfer.
#[derive(Debug, Clone)]
pub struct NewTransfer<'a> {
    pub id: String,
    pub direction: Direction,
    /// Shared by every transfer of a request: borrowed, not copied per file.
    pub connection: &'a str,
    pub bucket: &'a str,
    pub key: String,
    pub local_path: PathBuf,
    pub size: Option<u64>,
    pub source_mtime_ns: Option<i64>,
    pub part_size: u64,
    pub etag: Option<String>,
    pub overwrite: bool,
    pub batch_id: &'a str,
    /// Uploads: JSON of the `ObjectOptions` the object is created with.
    pub object_options: Option<&'a str>,
    /// Downloads: the version of the object to fetch (`None`: the current one).
    pub version_id: Option<String>,
}

/// What makes two transfers move the same bytes between the same places: the queue's identity of
/// a file's transfer (see [`Store::find_unfinished`]).
#[derive(Debug, Clone, Copy)]
pub struct Same<'a> {
    pub direction: Direction,
    /// JSON of the connection.
    pub connection: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
    pub local_path: &'a Path,
    /// Downloads of one version; `None` for uploads and the current object.
    pub version_id: Option<&'a str>,
}

impl<'a> Same<'a> {
    /// An upload of the file `local_path` to `key`.
    pub fn upload(
        connection: &'a str,
        bucket: &'a str,
        key: &'a str,
        local_path: &'a Path,
    ) -> Self {
        Same {
            direction: Direction::Upload,
            connection,
            bucket,
            key,
            local_path,
            version_id: None,
        }
    }

    /// A download of `key` (of its version `version_id`, else the current object) to `local_path`.
    pub fn download(
        connection: &'a str,
        bucket: &'a str,
        key: &'a str,
        local_path: &'a Path,
        version_id: Option<&'a str>,
    ) -> Self {
        Same {
            direction: Direction::Download,
            connection,
            bucket,
            key,
            local_path,
            version_id,
        }
    }
}

pub(super) const COLUMNS: &str = "id, direction, state, connection, bucket, key, local_path, size, source_mtime_ns, \
     part_size, upload_id, etag, bytes_done, overwrite, error_kind, error_message, batch_id, owner, heartbeat_at, \
     created_at, updated_at, finished_at, next_attempt_at, object_options, verified, version_id";

pub(super) fn row_to_transfer(r: &Row<'_>) -> rusqlite::Result<TransferRow> {
    let direction: String = r.get(1)?;
    let state: String = r.get(2)?;
    let path: String = r.get(6)?;
    Ok(TransferRow {
        id: r.get(0)?,
        direction: Direction::parse(&direction),
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
        object_options: r.get(23)?,
        verified: r.get(24)?,
        version_id: r.get(25)?,
    })
}

/// The rows of one file's transfers to one key (parameters ?1 to ?6: local path, bucket, key,
/// direction, connection, version id; a NULL version is the current object).
const SAME_FILE: &str = "local_path = ?1 AND bucket = ?2 AND key = ?3 AND direction = ?4 \
     AND connection = ?5 AND version_id IS ?6";

/// Transfers that have not ended for good.
const UNFINISHED: &str = "state NOT IN ('completed', 'cancelled')";

impl Store {
    /// Inserts many transfers in one transaction: all or none.
    /// Inserts new transfers in one transaction. A row whose twin (same direction, connection,
    /// bucket, key and file) is unfinished by the time of the write, because another process queued
    /// the same file since this one looked, is not inserted: the twin's id is returned in its place,
    /// so each file is queued once whoever asks. Returns, per row, the id it is queued under.
    pub fn insert_transfers(&self, rows: &[NewTransfer<'_>]) -> Result<Vec<String>> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut ids = Vec::with_capacity(rows.len());
        {
            let mut twin = tx.prepare_cached(&format!(
                "SELECT id FROM transfers WHERE {SAME_FILE} AND {UNFINISHED} LIMIT 1"
            ))?;
            let mut st = tx.prepare_cached(
                "INSERT INTO transfers (id, direction, state, connection, bucket, key, local_path, size,
                    source_mtime_ns, part_size, etag, overwrite, batch_id, created_at, updated_at,
                    object_options, version_id)
                 VALUES (?1, ?2, 'queued', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14, ?15)",
            )?;
            let now = now_ms();
            for r in rows {
                let path = path_text(&r.local_path)?;
                let existing: Option<String> = twin
                    .query_row(
                        params![
                            path,
                            r.bucket,
                            r.key,
                            r.direction.as_str(),
                            r.connection,
                            r.version_id
                        ],
                        |row| row.get(0),
                    )
                    .optional()?;
                if let Some(id) = existing {
                    ids.push(id);
                    continue;
                }
                st.execute(params![
                    r.id,
                    r.direction.as_str(),
                    r.connection,
                    r.bucket,
                    r.key,
                    path,
                    r.size.map(|v| v as i64),
                    r.source_mtime_ns,
                    r.part_size as i64,
                    r.etag,
                    r.overwrite,
                    r.batch_id,
                    now,
                    r.object_options,
                    r.version_id
                ])?;
                ids.push(r.id.clone());
            }
        }
        tx.commit()?;
        Ok(ids)
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
        self.rows_where("1")
    }

    /// The transfers that have not ended (not completed, not cancelled), in queue order: what pause
    /// all, resume all, recovery and the cleanup of abandoned uploads look at, without reading
    /// the finished history.
    pub fn unfinished(&self) -> Result<Vec<TransferRow>> {
        self.rows_where(UNFINISHED)
    }

    /// Cancelled uploads that still name a multipart upload (a cancel that could not reach the
    /// server), for the cleanup of abandoned uploads.
    pub fn cancelled_with_upload(&self) -> Result<Vec<TransferRow>> {
        self.rows_where("state = 'cancelled' AND upload_id IS NOT NULL")
    }

    /// The transfers matching `filter` (an SQL condition written here, never user input), in
    /// queue order.
    fn rows_where(&self, filter: &str) -> Result<Vec<TransferRow>> {
        self.with(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM transfers WHERE {filter} ORDER BY created_at, id"
            ))?;
            let rows = st.query_map([], row_to_transfer)?.collect();
            rows
        })
    }

    /// Calls `f` with each transfer in the order they were queued, reading them one at a time: a
    /// queue of any length costs one row of memory. The database stays locked meanwhile, so `f`
    /// should only print or collect.
    pub fn each(&self, mut f: impl FnMut(TransferRow)) -> Result<()> {
        self.with(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM transfers ORDER BY created_at, id"
            ))?;
            for row in st.query_map([], row_to_transfer)? {
                f(row?);
            }
            Ok(())
        })
    }

    /// The unfinished transfer (if any) that moves the same bytes between the same places, so that running
    /// the same command again continues it instead of starting over.
    pub fn find_unfinished(&self, same: &Same<'_>) -> Result<Option<TransferRow>> {
        self.find_same(UNFINISHED, same)
    }

    /// The latest completed transfer that moved the same bytes between the same places, so that
    /// running the same command again after a crash does not send finished files a second time.
    pub fn find_completed(&self, same: &Same<'_>) -> Result<Option<TransferRow>> {
        self.find_same("state = 'completed'", same)
    }

    pub(super) fn find_same(&self, states: &str, same: &Same<'_>) -> Result<Option<TransferRow>> {
        let Same {
            direction,
            connection,
            bucket,
            key,
            local_path,
            version_id,
        } = *same;
        let lp = path_text(local_path)?.to_string();
        self.with(|c| {
            c.row(
                &format!(
                    "SELECT {COLUMNS} FROM transfers WHERE {SAME_FILE} AND {states}
                     ORDER BY created_at DESC LIMIT 1"
                ),
                params![lp, bucket, key, direction.as_str(), connection, version_id],
                row_to_transfer,
            )
            .optional()
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

    /// Pauses a transfer unless it has completed or been cancelled meanwhile (another process may
    /// finish it between a read and this write); returns whether it was paused.
    pub fn pause_unfinished(&self, id: &str) -> Result<bool> {
        self.with(|c| {
            let changed = c.exec(
                "UPDATE transfers SET state = 'paused', error_kind = NULL, error_message = NULL,
                    updated_at = ?2, next_attempt_at = NULL, owner = NULL
                 WHERE id = ?1 AND state NOT IN ('completed', 'cancelled')",
                params![id, now_ms()],
            )?;
            Ok(changed == 1)
        })
    }

    /// Pauses every queued, running or waiting transfer in one write (so no transfer starts in
    /// another process while the pause is under way); returns their ids.
    pub fn pause_all_unfinished(&self) -> Result<Vec<String>> {
        self.with(|c| {
            let mut st = c.prepare_cached(
                "UPDATE transfers SET state = 'paused', error_kind = NULL, error_message = NULL,
                    updated_at = ?1, next_attempt_at = NULL, owner = NULL
                 WHERE state IN ('queued', 'running', 'waiting_retry')
                 RETURNING id",
            )?;
            let ids = st.query_map([now_ms()], |r| r.get(0))?.collect();
            ids
        })
    }

    /// Queues a transfer again only if it is still as it was read (same state, same owner): a
    /// transfer that another process completed, cancelled or claimed meanwhile is left alone.
    /// Returns whether it was queued.
    pub fn requeue_if_unchanged(&self, row: &TransferRow) -> Result<bool> {
        self.with(|c| {
            let changed = c.exec(
                "UPDATE transfers SET state = 'queued', error_kind = NULL, error_message = NULL,
                    updated_at = ?4, next_attempt_at = NULL, owner = NULL
                 WHERE id = ?1 AND state = ?2 AND owner IS ?3",
                params![row.id, row.state.as_str(), row.owner, now_ms()],
            )?;
            Ok(changed == 1)
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

    /// Marks a transfer completed with its final byte count, in the next group commit (see
    /// `group`), so that many small files ending together share one commit. `verified`: for a
    /// download, the server checksum the file was checked against.
    pub async fn complete_grouped(
        &self,
        id: &str,
        owner: &str,
        size: u64,
        etag: Option<&str>,
        verified: Option<&str>,
    ) -> Result<bool> {
        let (id, owner) = (id.to_string(), owner.to_string());
        let (etag, verified) = (etag.map(str::to_string), verified.map(str::to_string));
        self.grouped(move |c| {
            Ok(complete_in(
                c,
                &id,
                &owner,
                size,
                etag.as_deref(),
                verified.as_deref(),
            )?)
        })
        .await
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

    /// Takes back transfers a request queued before it was refused: each of `ids` still queued is
    /// deleted (one that something already started is left to its run).
    pub fn delete_queued(&self, ids: &[&str]) -> Result<()> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        for id in ids {
            tx.exec(
                "DELETE FROM transfers WHERE id = ?1 AND state = 'queued'",
                [id],
            )?;
        }
        tx.commit()?;
        Ok(())
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

fn complete_in(
    c: &Connection,
    id: &str,
    owner: &str,
    size: u64,
    etag: Option<&str>,
    verified: Option<&str>,
) -> rusqlite::Result<bool> {
    let n = c.exec(
        "UPDATE transfers SET state = 'completed', bytes_done = ?3, size = ?3, etag = COALESCE(?4, etag),
            error_kind = NULL, error_message = NULL, updated_at = ?5, finished_at = ?5, owner = NULL,
            verified = ?6
         WHERE id = ?1 AND owner = ?2 AND state = 'running'",
        params![id, owner, size as i64, etag, now_ms(), verified],
    )?;
    Ok(n == 1)
}

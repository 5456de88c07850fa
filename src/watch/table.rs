//! The watched folders' tables: `watched_folders` (what is watched, where it goes, its state) and
//! `watched_files` (what was last uploaded for each key of a folder: size, mtime, CRC32C, when).
//!
//! A `watched_files` row is written only after the object is complete on the server, so after a
//! crash the table never claims an upload that did not happen. Rows of a removed folder go with it.

use std::path::{Path, PathBuf};

use rusqlite::{params, OptionalExtension, Row};

use super::WatchState;
use crate::error::{Error, ErrorKind, Result};
use crate::store::{Cached, Store};

/// One row of `watched_folders`. `connection` is the JSON of a [`crate::Connection`]: never a secret.
#[derive(Debug, Clone)]
pub(crate) struct FolderRow {
    pub id: String,
    pub path: PathBuf,
    pub connection: String,
    pub bucket: String,
    pub prefix: String,
    pub ignore: Vec<String>,
    pub mirror_deletes: bool,
    pub state: WatchState,
    pub error: Option<String>,
    pub created_at: i64,
}

/// What was last uploaded for one key of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileRecord {
    pub key: String,
    pub size: u64,
    pub mtime_ns: i64,
    pub crc32c: u32,
    pub uploaded_at: i64,
}

const FOLDER_COLUMNS: &str =
    "id, path, connection, bucket, prefix, ignore, mirror_deletes, state, error, created_at";

fn row_to_folder(r: &Row<'_>) -> rusqlite::Result<FolderRow> {
    let path: String = r.get(1)?;
    let ignore: String = r.get(5)?;
    let state: String = r.get(7)?;
    Ok(FolderRow {
        id: r.get(0)?,
        path: PathBuf::from(path),
        connection: r.get(2)?,
        bucket: r.get(3)?,
        prefix: r.get(4)?,
        ignore: serde_json::from_str(&ignore).unwrap_or_default(),
        mirror_deletes: r.get(6)?,
        state: WatchState::parse(&state),
        error: r.get(8)?,
        created_at: r.get(9)?,
    })
}

fn row_to_record(r: &Row<'_>) -> rusqlite::Result<FileRecord> {
    Ok(FileRecord {
        key: r.get(0)?,
        size: r.get::<_, i64>(1)? as u64,
        mtime_ns: r.get(2)?,
        crc32c: r.get::<_, i64>(3)? as u32,
        uploaded_at: r.get(4)?,
    })
}

fn path_text(p: &Path) -> Result<&str> {
    p.to_str().ok_or_else(|| {
        Error::invalid(format!(
            "the path {} is not valid UTF-8, so it cannot be watched",
            p.display()
        ))
    })
}

/// Inserts a folder; the same local folder, bucket and prefix may be watched only once.
pub(crate) fn insert_folder(store: &Store, f: &FolderRow) -> Result<()> {
    let path = path_text(&f.path)?;
    let ignore = serde_json::to_string(&f.ignore).expect("patterns serialise");
    let r = store.with(|c| {
        c.exec(
            &format!("INSERT INTO watched_folders ({FOLDER_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
            params![f.id, path, f.connection, f.bucket, f.prefix, ignore, f.mirror_deletes,
                f.state.as_str(), f.error, f.created_at],
        )
    });
    match r {
        Err(e) if e.is_unique_violation() => Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "{} is already watched into s3://{}/{}; `ferry watch list` shows it",
                f.path.display(),
                f.bucket,
                f.prefix
            ),
        )),
        other => other.map(|_| ()),
    }
}

/// Every watched folder, oldest first.
pub(crate) fn folders(store: &Store) -> Result<Vec<FolderRow>> {
    store.with(|c| {
        let mut st = c.prepare_cached(&format!(
            "SELECT {FOLDER_COLUMNS} FROM watched_folders ORDER BY created_at, id"
        ))?;
        let rows = st.query_map([], row_to_folder)?.collect();
        rows
    })
}

pub(crate) fn folder(store: &Store, id: &str) -> Result<Option<FolderRow>> {
    store.with(|c| {
        c.row(
            &format!("SELECT {FOLDER_COLUMNS} FROM watched_folders WHERE id = ?1"),
            [id],
            row_to_folder,
        )
        .optional()
    })
}

/// A folder by its full id or by the tail `ferry watch list` prints.
pub(crate) fn find_folder(store: &Store, id: &str) -> Result<FolderRow> {
    if let Some(f) = folder(store, id)? {
        return Ok(f);
    }
    let id = id.trim();
    let matches: Vec<FolderRow> = if id.is_empty() {
        Vec::new()
    } else {
        folders(store)?
            .into_iter()
            .filter(|f| f.id.ends_with(id))
            .collect()
    };
    match matches.len() {
        1 => Ok(matches.into_iter().next().expect("one row")),
        0 => Err(Error::not_found(format!(
            "no watched folder `{id}`; `ferry watch list` shows them"
        ))),
        _ => Err(Error::invalid(format!(
            "`{id}` matches several watched folders; give more of the id"
        ))),
    }
}

/// The folder with this local path, bucket and prefix, if it is watched.
pub(crate) fn folder_at(
    store: &Store,
    path: &Path,
    bucket: &str,
    prefix: &str,
) -> Result<Option<FolderRow>> {
    let path = path_text(path)?.to_string();
    store.with(|c| {
        c.row(
            &format!(
                "SELECT {FOLDER_COLUMNS} FROM watched_folders WHERE path = ?1 AND bucket = ?2 AND prefix = ?3"
            ),
            params![path, bucket, prefix],
            row_to_folder,
        )
        .optional()
    })
}

/// Sets the state a person chose (`paused` or `watching`), clearing any error.
pub(crate) fn set_state(store: &Store, id: &str, state: WatchState) -> Result<bool> {
    store
        .with(|c| {
            c.exec(
                "UPDATE watched_folders SET state = ?2, error = NULL WHERE id = ?1",
                params![id, state.as_str()],
            )
        })
        .map(|n| n == 1)
}

/// Sets the state a running watcher reports, unless the folder was paused meanwhile (a pause from
/// another process wins). Returns whether the row changed.
pub(crate) fn report_state(
    store: &Store,
    id: &str,
    state: WatchState,
    error: Option<&str>,
) -> Result<bool> {
    store
        .with(|c| {
            c.exec(
                "UPDATE watched_folders SET state = ?2, error = ?3
                 WHERE id = ?1 AND state != 'paused' AND (state != ?2 OR error IS NOT ?3)",
                params![id, state.as_str(), error],
            )
        })
        .map(|n| n == 1)
}

pub(crate) fn delete_folder(store: &Store, id: &str) -> Result<bool> {
    store
        .with(|c| c.exec("DELETE FROM watched_folders WHERE id = ?1", [id]))
        .map(|n| n == 1)
}

pub(crate) fn record(store: &Store, folder: &str, key: &str) -> Result<Option<FileRecord>> {
    store.with(|c| {
        c.row(
            "SELECT key, size, mtime_ns, crc32c, uploaded_at FROM watched_files
             WHERE folder_id = ?1 AND key = ?2",
            params![folder, key],
            row_to_record,
        )
        .optional()
    })
}

/// Every key uploaded for a folder.
pub(crate) fn records(store: &Store, folder: &str) -> Result<Vec<FileRecord>> {
    store.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT key, size, mtime_ns, crc32c, uploaded_at FROM watched_files WHERE folder_id = ?1",
        )?;
        let rows = st.query_map([folder], row_to_record)?.collect();
        rows
    })
}

/// The newest uploads of a folder, newest first.
pub(crate) fn recent(store: &Store, folder: &str, limit: usize) -> Result<Vec<FileRecord>> {
    store.with(|c| {
        let mut st = c.prepare_cached(
            "SELECT key, size, mtime_ns, crc32c, uploaded_at FROM watched_files WHERE folder_id = ?1
             ORDER BY uploaded_at DESC, rowid DESC LIMIT ?2",
        )?;
        let rows = st
            .query_map(params![folder, limit as i64], row_to_record)?
            .collect();
        rows
    })
}

/// Remembers an upload (replacing what was remembered for that key).
pub(crate) fn put_record(store: &Store, folder: &str, r: &FileRecord) -> Result<()> {
    store.with(|c| {
        c.exec(
            "INSERT INTO watched_files (folder_id, key, size, mtime_ns, crc32c, uploaded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (folder_id, key) DO UPDATE SET size = excluded.size,
                mtime_ns = excluded.mtime_ns, crc32c = excluded.crc32c, uploaded_at = excluded.uploaded_at",
            params![folder, r.key, r.size as i64, r.mtime_ns, r.crc32c as i64, r.uploaded_at],
        )?;
        Ok(())
    })
}

/// The file was touched but its content is what was uploaded: remember the new mtime only.
pub(crate) fn touch_record(store: &Store, folder: &str, key: &str, mtime_ns: i64) -> Result<()> {
    store.with(|c| {
        c.exec(
            "UPDATE watched_files SET mtime_ns = ?3 WHERE folder_id = ?1 AND key = ?2",
            params![folder, key, mtime_ns],
        )?;
        Ok(())
    })
}

pub(crate) fn delete_record(store: &Store, folder: &str, key: &str) -> Result<()> {
    store.with(|c| {
        c.exec(
            "DELETE FROM watched_files WHERE folder_id = ?1 AND key = ?2",
            params![folder, key],
        )?;
        Ok(())
    })
}

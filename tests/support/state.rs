//! The only place tests reach into the state database's tables, for what no public API can do.
//!
//! Everything else goes through the engine, [`ferry::store::Store`] or [`ferry::Watches`]. What stays
//! here, and why:
//! - [`age_transfer`]: no API sets a transfer's `updated_at`, and a test cannot wait a week to make an
//!   upload abandoned.
//! - [`as_if_killed_after_complete`]: the moment between a server completing a multipart upload
//!   and Ferry recording it cannot be hit with a signal reliably; the row is put back as it was.
//! - [`watched_file`] and [`watched_file_count`]: the `watched_files` records (the size, mtime and
//!   CRC32C remembered as last uploaded for a key) are kept private to `ferry::watch`;
//!   [`ferry::WatchedFolder::recent`] shows only the newest few, without mtime or checksum.

use rusqlite::OptionalExtension;

use super::Harness;

fn db(h: &Harness, flags: rusqlite::OpenFlags) -> rusqlite::Connection {
    rusqlite::Connection::open_with_flags(h.state.path().join("ferry.db"), flags).unwrap()
}

/// Moves transfer `id`'s last change `days` into the past, as if it had been left alone that long.
pub fn age_transfer(h: &Harness, id: &str, days: i64) {
    let then = ferry::store::now_ms() - days * 24 * 3600 * 1000;
    let changed = db(h, rusqlite::OpenFlags::default())
        .execute(
            "UPDATE transfers SET updated_at = ?1 WHERE id = ?2",
            rusqlite::params![then, id],
        )
        .unwrap();
    assert_eq!(changed, 1, "no transfer {id}");
}

/// Puts a completed transfer back as a process killed right after the server completed it left it:
/// `running`, its lease held by a process that no longer exists, parts and upload id kept.
pub fn as_if_killed_after_complete(h: &Harness, id: &str) {
    let changed = db(h, rusqlite::OpenFlags::default())
        .execute(
            "UPDATE transfers SET state = 'running', owner = '999999999-gone', heartbeat_at = 0,
                finished_at = NULL WHERE id = ?1 AND state = 'completed' AND upload_id IS NOT NULL",
            [id],
        )
        .unwrap();
    assert_eq!(changed, 1, "no completed multipart transfer {id}");
}

/// (size, mtime_ns, crc32c) remembered as last uploaded for `key` of a watched folder.
pub fn watched_file(h: &Harness, key: &str) -> Option<(u64, i64, u32)> {
    db(h, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .query_row(
            "SELECT size, mtime_ns, crc32c FROM watched_files WHERE key = ?1",
            [key],
            |r| {
                Ok((
                    r.get::<_, i64>(0)? as u64,
                    r.get(1)?,
                    r.get::<_, i64>(2)? as u32,
                ))
            },
        )
        .optional()
        .unwrap()
}

/// How many keys of all watched folders have an upload remembered.
pub fn watched_file_count(h: &Harness) -> usize {
    db(h, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .query_row("SELECT COUNT(*) FROM watched_files", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap() as usize
}

/// SQLite's own verdict on the state database at `path` ("ok" when it is whole).
pub fn integrity(path: &std::path::Path) -> String {
    let db = rusqlite::Connection::open(path).unwrap();
    db.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

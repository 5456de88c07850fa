//! The schema: append-only migrations, and how a database we cannot use is reported.

use std::path::Path;

use rusqlite::Connection;

use super::now_ms;
use crate::error::{Error, Result};

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
    (
        // Uploads: what the object is stored with (content type, cache control, metadata...), as
        // JSON, so a resumed upload creates the same object.
        2026120301,
        "ALTER TABLE transfers ADD COLUMN object_options TEXT",
    ),
    (
        // Downloads: the server checksum the finished file was verified against (`CRC32C`,
        // `composite CRC32`, `MD5 ETag`), or empty when the server kept none to check with.
        2026120302,
        "ALTER TABLE transfers ADD COLUMN verified TEXT",
    ),
    (
        // Downloads of one version of an object (`ferry cp --version-id`): every request of the
        // transfer, in every run, asks for this version, so a resume fetches the same bytes even
        // after the object changed. NULL: the current version, as before.
        2026120303,
        "ALTER TABLE transfers ADD COLUMN version_id TEXT",
    ),
    (
        // Server-side copies join the queue (`direction = 'copy'`: `local_path` holds the source as
        // `s3://bucket/key`). SQLite cannot change a CHECK in place: the table is rebuilt, its parts
        // kept aside meanwhile (dropping `transfers` cascades to them), its indexes made again.
        2026120310,
        "CREATE TEMP TABLE parts_kept AS SELECT * FROM parts;
    CREATE TABLE transfers_new (
        id              TEXT PRIMARY KEY,
        direction       TEXT NOT NULL CHECK (direction IN ('upload', 'download', 'copy')),
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
        finished_at     INTEGER,
        next_attempt_at INTEGER,
        object_options  TEXT,
        verified        TEXT,
        version_id      TEXT
    );
    INSERT INTO transfers_new SELECT id, direction, state, connection, bucket, key, local_path, size,
        source_mtime_ns, part_size, upload_id, etag, bytes_done, overwrite, error_kind, error_message,
        batch_id, owner, heartbeat_at, created_at, updated_at, finished_at, next_attempt_at,
        object_options, verified, version_id FROM transfers;
    DROP TABLE transfers;
    ALTER TABLE transfers_new RENAME TO transfers;
    INSERT INTO parts SELECT * FROM parts_kept;
    DROP TABLE parts_kept;
    CREATE INDEX transfers_identity ON transfers (local_path, bucket, key);
    CREATE INDEX transfers_state ON transfers (state);
    CREATE INDEX transfers_batch ON transfers (batch_id, state)",
    ),
];

pub(super) fn migrate(conn: &Connection, path: &Path) -> Result<()> {
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

    /// A queue written before copies joined it keeps its transfers and their parts through the
    /// rebuild of the `transfers` table, and then takes copies.
    #[test]
    fn the_rebuild_for_copies_keeps_every_transfer_and_part() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA foreign_keys=ON; CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")
            .unwrap();
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 < 2026120310) {
            conn.execute_batch(sql).unwrap();
            conn.execute("INSERT INTO schema_migrations VALUES (?1, 0)", [version])
                .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO transfers (id, direction, state, connection, bucket, key, local_path, part_size,
                batch_id, created_at, updated_at, object_options)
             VALUES ('t1', 'upload', 'paused', '{}', 'b', 'k', '/f', 5, 'x', 1, 2, '{\"cacheControl\":\"no\"}');
             INSERT INTO parts VALUES ('t1', 1, 0, 5, 'e1', 'c1'), ('t1', 2, 5, 5, 'e2', 'c2');",
        )
        .unwrap();
        migrate(&conn, &path).unwrap();
        let parts: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM parts WHERE transfer_id = 't1'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let (state, options): (String, String) = conn
            .query_row(
                "SELECT state, object_options FROM transfers WHERE id = 't1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((parts, state.as_str()), (2, "paused"));
        assert_eq!(options, "{\"cacheControl\":\"no\"}");
        conn.execute_batch(
            "INSERT INTO transfers (id, direction, state, connection, bucket, key, local_path, part_size,
                batch_id, created_at, updated_at) VALUES ('t2', 'copy', 'queued', '{}', 'b', 'k2', 's3://b/k', 5, 'y', 1, 1)",
        )
        .unwrap();
        // The parts still belong to their transfer: deleting it takes them along.
        conn.execute_batch("DELETE FROM transfers WHERE id = 't1'")
            .unwrap();
        let left: i64 = conn
            .query_row("SELECT COUNT(*) FROM parts", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
        let indexes: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'transfers' AND name LIKE 'transfers_%'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 3);
    }
}

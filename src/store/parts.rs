//! The `parts` table: a part or range is recorded only once the server (upload) or the disk
//! (download) holds it.

use rusqlite::{params, OptionalExtension};

use super::{now_ms, Cached, Store};
use crate::error::Result;

/// A part the server (upload) or the disk (download) is known to hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRow {
    pub number: u32,
    pub offset: u64,
    pub len: u64,
    pub etag: Option<String>,
    pub checksum: Option<String>,
}

impl Store {
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

    /// The parts of the multipart upload by which Ferry wrote the object `etag` at `bucket`/`key` of
    /// `connection` (the latest such completed upload), each with the checksum it was sent with:
    /// what a download of that object can be checked against when the server keeps no checksum.
    /// `None` when no such upload is recorded or a part lacks its checksum.
    pub fn uploaded_parts(
        &self,
        connection: &str,
        bucket: &str,
        key: &str,
        etag: &str,
    ) -> Result<Option<Vec<PartRow>>> {
        let id: Option<String> = self.with(|c| {
            // A walk over the transfers rather than an index every insert would pay for: asked
            // only for a multipart object the server gives no checksum for.
            c.query_row(
                "SELECT id FROM transfers WHERE direction = 'upload' AND state = 'completed'
                    AND connection = ?1 AND bucket = ?2 AND key = ?3 AND upload_id IS NOT NULL
                    AND trim(etag, '\"') = trim(?4, '\"')
                 ORDER BY finished_at DESC LIMIT 1",
                params![connection, bucket, key, etag],
                |r| r.get(0),
            )
            .optional()
        })?;
        let Some(id) = id else { return Ok(None) };
        let parts = self.parts(&id)?;
        Ok((!parts.is_empty() && parts.iter().all(|p| p.checksum.is_some())).then_some(parts))
    }

    /// The parts of a transfer by number.
    pub fn parts_by_number(&self, id: &str) -> Result<std::collections::HashMap<u32, PartRow>> {
        Ok(self.parts(id)?.into_iter().map(|p| (p.number, p)).collect())
    }

    /// Commits a finished part and the transfer's byte count in one transaction.
    pub fn record_part(&self, id: &str, part: &PartRow) -> Result<()> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        record_in(&tx, id, part, None)?;
        tx.commit()?;
        Ok(())
    }

    /// [`Store::record_part`] in the next group commit (see `group.rs`), answered once that group
    /// is durable: what a running transfer calls for each part it finishes, so the parts of
    /// transfers running together share a commit. `etag`: the object's ETag when it is first learnt
    /// with this part (a whole-object download of an object listed without one).
    pub async fn record_part_grouped(
        &self,
        id: &str,
        part: &PartRow,
        etag: Option<&str>,
    ) -> Result<()> {
        let (id, part, etag) = (id.to_string(), part.clone(), etag.map(str::to_string));
        self.grouped(move |c| Ok(record_in(c, &id, &part, etag.as_deref())?))
            .await
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
}

/// Records a part and the transfer's byte count (and a first-learnt ETag) in the caller's
/// transaction.
fn record_in(
    c: &rusqlite::Connection,
    id: &str,
    part: &PartRow,
    etag: Option<&str>,
) -> rusqlite::Result<()> {
    c.exec(
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
    c.exec(
        "UPDATE transfers SET bytes_done = (SELECT COALESCE(SUM(len), 0) FROM parts WHERE transfer_id = ?1),
            etag = COALESCE(?3, etag), updated_at = ?2 WHERE id = ?1",
        params![id, now_ms(), etag],
    )?;
    Ok(())
}

//! Whether an entry present on both sides of a sync is the same: by size and modification time (the
//! default), by size alone, or by content.
//!
//! Listings give an object's size, ETag and Last-Modified, not its metadata, so the default decides
//! from the listing and Ferry's queue whenever they can, and asks the server (a HEAD) only for an
//! entry of the same size that they cannot settle.
//!
//! - An object keeps its file's time in `x-amz-meta-mtime` (rclone's format; Ferry writes it on
//!   every upload), and a download gives the file the object's time (that, or its Last-Modified).
//! - Upload: the same when the object was written after the file last changed (what `aws s3 sync`
//!   decides), when Ferry's queue recorded uploading this very file version as this very object, or
//!   when the object's `mtime` is the file's.
//! - Download: the same when Ferry's queue recorded downloading this very object into the untouched
//!   file (by its ETag, or where a server lists none, by the object not written since), or when the object's time (its `mtime`, else its Last-Modified) is the file's. The listing
//!   cannot tell the first (it has no metadata), so an entry the queue does not know is asked for.
//! - Bucket to bucket: the same when the copy was written after the source.
//! - Content (`--checksum`): a single-part object's ETag is the MD5 of its bytes; otherwise the
//!   full-object CRC the server keeps is computed from the file. Never the ETag of a multipart
//!   object, which is no hash of the bytes. What cannot be compared is transferred, and says so.

use super::sides::Entry;
use super::*;
use crate::transfer::checksum;

/// What "the same" means for a sync.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Compare {
    /// Same size and modification time.
    #[default]
    SizeAndTime,
    SizeOnly,
    /// Same content.
    Checksum,
}

/// Times closer than this are the same (other clients write `mtime` as a float).
const TIME_SLACK_NS: i64 = 1_000_000;

pub(super) struct Comparer<'a> {
    engine: &'a Engine,
    s3: &'a s3::Requests,
    conn_json: String,
    src: &'a SyncSide,
    dst: &'a SyncSide,
    mode: Compare,
}

impl<'a> Comparer<'a> {
    pub fn new(
        engine: &'a Engine,
        s3: &'a s3::Requests,
        conn: &Connection,
        src: &'a SyncSide,
        dst: &'a SyncSide,
        mode: Compare,
    ) -> Comparer<'a> {
        Comparer {
            engine,
            s3,
            conn_json: conn.to_json(),
            src,
            dst,
            mode,
        }
    }

    /// Why the destination entry `d` is not the source entry `s`, or `None` when it is the same.
    pub async fn differs(&self, s: &Entry, d: &Entry) -> Result<Option<String>> {
        if s.size != d.size {
            return Ok(Some(format!(
                "size differs ({} on the source, {} on the destination)",
                crate::format::human_bytes(s.size),
                crate::format::human_bytes(d.size)
            )));
        }
        match self.mode {
            Compare::SizeOnly => Ok(None),
            Compare::SizeAndTime => self.time_differs(s, d).await,
            Compare::Checksum => self.content_differs(s, d).await,
        }
    }

    /// Why an entry found the same is left alone.
    pub fn same_reason(&self) -> String {
        match self.mode {
            Compare::SizeOnly => "same size",
            Compare::SizeAndTime => "same size and time",
            Compare::Checksum => "same content",
        }
        .into()
    }

    async fn time_differs(&self, s: &Entry, d: &Entry) -> Result<Option<String>> {
        let (st, dt) = (s.mtime_ns.unwrap_or(0), d.mtime_ns.unwrap_or(0));
        match (self.src, self.dst) {
            (SyncSide::Local(root), SyncSide::Remote(u)) => {
                if st <= dt {
                    return Ok(None);
                }
                let key = format!("{}{}", sync_prefix(u), s.rel);
                let path = local_path_for_key(root, &s.rel)?;
                let store = &self.engine.inner.store;
                let recorded =
                    store.find_completed(&Same::upload(&self.conn_json, &u.bucket, &key, &path))?;
                if recorded.is_some_and(|r| {
                    r.size == Some(s.size)
                        && r.source_mtime_ns == s.mtime_ns
                        && r.etag.is_some()
                        && r.etag == d.etag
                }) {
                    return Ok(None);
                }
                let kept = self.object_mtime(&u.bucket, &key).await?;
                Ok((!kept.is_some_and(|t| close(t, st))).then(|| "the file is newer".into()))
            }
            (SyncSide::Remote(u), SyncSide::Local(root)) => {
                let key = format!("{}{}", sync_prefix(u), s.rel);
                let path = local_path_for_key(root, &s.rel)?;
                let done = self.engine.untouched_download(
                    &Same::download(&self.conn_json, &u.bucket, &key, &path, None),
                    s.size,
                )?;
                // The file is what Ferry downloaded, untouched: the same if the object is still
                // the one downloaded (its ETag; a listing without ETags, as some servers give, by
                // the object not being written after the download finished).
                if let Some(done) = done {
                    let unchanged = match &s.etag {
                        Some(etag) => done.etag.as_ref() == Some(etag),
                        None => done
                            .finished_at
                            .is_some_and(|f| st <= f.saturating_mul(1_000_000)),
                    };
                    if unchanged {
                        return Ok(None);
                    }
                }
                let kept = self.object_mtime(&u.bucket, &key).await?;
                Ok((!kept.is_some_and(|t| close(t, dt)))
                    .then(|| "the modification times differ".into()))
            }
            _ => Ok((st > dt).then(|| "the source is newer".into())),
        }
    }

    /// The object's own time: its `x-amz-meta-mtime`, else its Last-Modified.
    async fn object_mtime(&self, bucket: &str, key: &str) -> Result<Option<i64>> {
        let what = format!("look up s3://{bucket}/{key}");
        let head = self.s3.head_object(&what, bucket, key).await?;
        Ok(download::object_mtime(
            head.metadata(),
            head.last_modified(),
        ))
    }

    async fn content_differs(&self, s: &Entry, d: &Entry) -> Result<Option<String>> {
        let (root, u, object) = match (self.src, self.dst) {
            (SyncSide::Local(root), SyncSide::Remote(u)) => (root, u, d),
            (SyncSide::Remote(u), SyncSide::Local(root)) => (root, u, s),
            (SyncSide::Remote(a), SyncSide::Remote(b)) => {
                if s.etag.is_some() && s.etag == d.etag && !is_multipart(s.etag.as_deref()) {
                    return Ok(None);
                }
                let k1 = format!("{}{}", sync_prefix(a), s.rel);
                let k2 = format!("{}{}", sync_prefix(b), d.rel);
                let h1 = self
                    .s3
                    .head_with_checksums("compare", &a.bucket, &k1)
                    .await?;
                let h2 = self
                    .s3
                    .head_with_checksums("compare", &b.bucket, &k2)
                    .await?;
                return Ok((!crate::transfer::copy::same_object(&h1, &h2))
                    .then(|| "the content differs".into()));
            }
            (SyncSide::Local(_), SyncSide::Local(_)) => unreachable!("refused by plan_sync"),
        };
        let path = local_path_for_key(root, &s.rel)?;
        let key = format!("{}{}", sync_prefix(u), object.rel);
        if let Some(md5) = object.etag.as_deref().and_then(checksum::md5_etag) {
            let local = file_md5(&path)?;
            return Ok((local != md5).then(|| "the content differs (MD5)".into()));
        }
        let what = format!("compare s3://{}/{key}", u.bucket);
        let h = self.s3.head_with_checksums(&what, &u.bucket, &key).await?;
        let (full, _) = checksum::of_answer(
            h.checksum_crc32(),
            h.checksum_crc32_c(),
            h.checksum_crc64_nvme(),
            h.checksum_type(),
        );
        let Some(full) = full else {
            // Some servers list no ETags: the HEAD's, when it is an MD5.
            if let Some(md5) = h.e_tag().and_then(checksum::md5_etag) {
                let local = file_md5(&path)?;
                return Ok((local != md5).then(|| "the content differs (MD5)".into()));
            }
            return Ok(Some(
                "the object keeps no checksum of its whole content to compare with".into(),
            ));
        };
        let value = full
            .algo
            .of_file(&path)
            .map_err(|e| Error::io("cannot read", &path, e))?;
        Ok((full.algo.encode(value) != full.value)
            .then(|| format!("the content differs ({})", full.algo.name())))
    }
}

fn close(a: i64, b: i64) -> bool {
    (a - b).abs() < TIME_SLACK_NS
}

fn is_multipart(etag: Option<&str>) -> bool {
    etag.is_some_and(|e| e.contains('-'))
}

fn file_md5(path: &Path) -> Result<String> {
    checksum::md5_of_file(path).map_err(|e| Error::io("cannot read", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_single_part_etag_is_taken_for_an_md5() {
        assert_eq!(
            checksum::md5_etag("\"9E107D9D372BB6826BD81D3542A419D6\"").as_deref(),
            Some("9e107d9d372bb6826bd81d3542a419d6")
        );
        assert_eq!(
            checksum::md5_etag("\"9e107d9d372bb6826bd81d3542a419d6-3\""),
            None
        );
        assert_eq!(checksum::md5_etag("abc"), None);
        assert!(is_multipart(Some("\"x-2\"")));
    }
}

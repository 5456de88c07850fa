//! One range of a download: its GET (a byte range under `If-Match`, or the whole object with
//! checksum mode on), its body written at the range's offset as it arrives while its CRC is computed
//! (and, for a whole single-part object without a checksum, the MD5 its ETag is), then its commit.
//!
//! A range counts as done only once all its bytes are on disk and its row is in SQLite (as moving
//! until then); bytes a failed or paused try wrote are taken back from the progress.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use aws_sdk_s3::operation::get_object::builders::GetObjectFluentBuilder;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ChecksumMode;
use md5::Digest as _;

use super::super::checksum::{self, Algorithm, Composite, Digest, FullChecksum};
use super::super::Ctx;
use super::writer::TempFile;
use super::{corrupt, mismatch, SMALL_OBJECT};
use crate::error::{Error, ErrorKind, Result};
use crate::plan::Part;
use crate::store::PartRow;

/// What whole GETs' answers said of the object's checksum.
#[derive(Default)]
pub(super) struct Noted {
    /// The checksum the bytes were checked against as they arrived.
    pub(super) checked: OnceLock<&'static str>,
    /// A composite checksum the answer carried (checked once the file is whole).
    pub(super) composite: OnceLock<Composite>,
    /// The object's modification time (ns): its `x-amz-meta-mtime`, else its Last-Modified.
    pub(super) mtime: OnceLock<i64>,
}

/// One range to fetch: where it lies, whether it is the whole object, and the CRC it records.
#[derive(Clone, Copy)]
pub(super) struct Range {
    pub(super) part: Part,
    pub(super) whole: bool,
    pub(super) algo: Algorithm,
}

/// Fetches one range into `file` at its offset and commits it. `whole`: the range is the whole
/// object, so the GET asks for all of it (no `Range`) with checksum mode on, and the SDK checks the
/// object's full checksum as the bytes arrive.
pub(super) async fn fetch_range(
    ctx: &Ctx,
    file: &TempFile,
    etag: Option<&str>,
    range: Range,
    noted: &Noted,
) -> Result<()> {
    let part = range.part;
    let fetch = Fetch {
        what: format!(
            "download bytes {}-{} of s3://{}/{}",
            part.offset,
            part.offset + part.len - 1,
            ctx.row.bucket,
            ctx.row.key
        ),
        ctx,
        file,
        etag,
        range,
        noted,
        written: Arc::new(AtomicU64::new(0)),
    };
    let attempts = ctx.retrying(&fetch.what, || {
        ctx.counter.unsend(fetch.written.swap(0, Ordering::Relaxed));
        ctx.watched(&fetch.what, fetch.written.clone(), fetch.once())
    });
    let result = ctx.graced(part.len, &fetch.written, attempts).await;
    let (text, learnt) = match result {
        Ok(v) => v,
        Err(e) => {
            ctx.counter.unsend(fetch.written.swap(0, Ordering::Relaxed));
            return Err(match e.kind {
                // The local disk refused the bytes (full, read-only, permissions): not the server.
                ErrorKind::Storage | ErrorKind::AccessDenied if e.io_source().is_some() => {
                    Error::storage(format!(
                        "{}; free some space or choose another folder, then resume",
                        e.message
                    ))
                }
                _ => e,
            });
        }
    };
    let row = PartRow {
        number: part.number,
        offset: part.offset,
        len: part.len,
        etag: None,
        checksum: Some(text),
    };
    let committed = ctx
        .store
        .record_part_grouped(&ctx.row.id, &row, learnt.as_deref())
        .await;
    // Its bytes were moving; committed, they are kept.
    match committed {
        Ok(()) => ctx.counter.kept(part.len),
        Err(_) => ctx.counter.unsend(fetch.written.swap(0, Ordering::Relaxed)),
    }
    committed
}

/// A range being fetched: what every try of it shares. `written` is what the current try wrote,
/// both for the stall watch and to take back from the progress when the try fails.
struct Fetch<'a> {
    ctx: &'a Ctx,
    file: &'a TempFile,
    etag: Option<&'a str>,
    range: Range,
    noted: &'a Noted,
    what: String,
    written: Arc<AtomicU64>,
}

/// Computed over a range's bytes as they arrive, so the body is read once: the CRC the range
/// records and, when the object's ETag is an MD5, the MD5 beside the ETag it must equal.
struct Sums {
    digest: Digest,
    md5: Option<(md5::Md5, String)>,
}

impl Sums {
    fn update(&mut self, chunk: &[u8]) {
        self.digest.update(chunk);
        if let Some((h, _)) = &mut self.md5 {
            h.update(chunk);
        }
    }
}

impl Fetch<'_> {
    fn request(&self) -> GetObjectFluentBuilder {
        let Range { part, whole, .. } = self.range;
        let req = self
            .ctx
            .client
            .get_object()
            .bucket(&self.ctx.row.bucket)
            .key(&self.ctx.row.key)
            .set_version_id(self.ctx.row.version_id.clone())
            .set_if_match(self.etag.map(str::to_string));
        if whole {
            req.checksum_mode(ChecksumMode::Enabled)
        } else {
            req.range(format!(
                "bytes={}-{}",
                part.offset,
                part.offset + part.len - 1
            ))
        }
    }

    /// One try: the GET, its body to disk, and the checks its answer allows. Returns the range's
    /// CRC as recorded and the ETag learnt from the answer (for an object listed without one).
    async fn once(&self) -> Result<(String, Option<String>)> {
        let Range { part, whole, algo } = self.range;
        let what = &self.what;
        let out = self
            .request()
            .send()
            .await
            .map_err(|e| Error::from_sdk(what, e))?;
        if whole && out.content_length() != Some(part.len as i64) {
            return Err(Error::new(
                ErrorKind::Changed,
                format!("{what}: the object changed since it was listed"),
            ));
        }
        if let Some(ns) = super::object_mtime(out.metadata(), out.last_modified()) {
            let _ = self.noted.mtime.set(ns);
        }
        // An object listed without an ETag: the answer's is recorded with the range.
        let learnt = if whole && self.etag.is_none() {
            out.e_tag().map(str::to_string)
        } else {
            None
        };
        // A whole-object GET may carry the object's full checksum: the SDK checks it as the
        // body arrives (see `body_error`), and the range records that algorithm's value. A
        // composite one is noted, to be checked once the file is whole.
        let (expected, composite) = if whole {
            checksum::of_answer(
                out.checksum_crc32(),
                out.checksum_crc32_c(),
                out.checksum_crc64_nvme(),
                out.checksum_type(),
            )
        } else {
            (None, None)
        };
        let digest = expected
            .as_ref()
            .map(|e| e.algo)
            .or(composite.as_ref().map(|c| c.algo))
            .unwrap_or(algo)
            .digest();
        // With no checksum, a whole single-part object's ETag is the MD5 of its bytes
        // (not under SSE-KMS or SSE-C, where it is not): checked as they arrive.
        let md5 = match (&expected, out.e_tag()) {
            (None, Some(tag)) if whole => super::md5_etag_of(
                Some(tag),
                out.server_side_encryption(),
                out.sse_customer_algorithm(),
            )
            .map(|want| (md5::Md5::new(), want)),
            _ => None,
        };
        let mut sums = Sums { digest, md5 };
        self.stream(out.body, &mut sums, expected.as_ref()).await?;
        if let Some(expected) = expected {
            if expected.algo.encode(sums.digest.value()) != expected.value {
                return Err(mismatch(what, expected.algo));
            }
            let _ = self.noted.checked.set(expected.algo.name());
        }
        if let Some((h, want)) = sums.md5 {
            let got: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
            if got != want {
                return Err(corrupt(what, "MD5 (its ETag)"));
            }
            let _ = self.noted.checked.set("MD5 ETag");
        }
        if let Some(c) = composite {
            let _ = self.noted.composite.set(c);
        }
        Ok((sums.digest.part_text(), learnt))
    }

    /// Writes the body at the range's offset as it arrives, counting each chunk once written (the
    /// stall watch and the progress see it), and fails when the server sends more or fewer bytes
    /// than the range holds.
    async fn stream(
        &self,
        mut body: ByteStream,
        sums: &mut Sums,
        expected: Option<&FullChecksum>,
    ) -> Result<()> {
        let Range { part, whole, .. } = self.range;
        let (ctx, what) = (self.ctx, &self.what);
        let mut offset = part.offset;
        // The connection hands over a few KiB at a time. A small object's chunks are
        // gathered and written once instead of a system call each (per-file costs dominate
        // there); larger objects and ranges write their chunks as they come, where the copy
        // would cost more than the calls it saves.
        let gather = whole && part.len <= SMALL_OBJECT;
        let mut gathered = Vec::with_capacity(if gather { part.len as usize } else { 0 });
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| body_error(what, expected, e))?
        {
            if offset + chunk.len() as u64 > part.offset + part.len {
                return Err(Error::new(
                    ErrorKind::Server,
                    format!("{what}: the server sent more bytes than asked"),
                ));
            }
            if let Some(l) = &ctx.limiter {
                l.wait(chunk.len()).await;
            }
            if gather {
                gathered.extend_from_slice(&chunk);
            } else {
                self.file
                    .put(&chunk, offset)
                    .map_err(|e| Error::io("cannot write", &ctx.row.local_path, e))?;
            }
            sums.update(&chunk);
            offset += chunk.len() as u64;
            self.written
                .fetch_add(chunk.len() as u64, Ordering::Relaxed);
            ctx.counter.sending(chunk.len() as u64);
        }
        if !gathered.is_empty() {
            self.file
                .put(&gathered, part.offset)
                .map_err(|e| Error::io("cannot write", &ctx.row.local_path, e))?;
        }
        if offset != part.offset + part.len {
            return Err(Error::new(
                ErrorKind::Network,
                format!(
                    "{what}: the connection closed after {} of {} bytes",
                    offset - part.offset,
                    part.len
                ),
            ));
        }
        Ok(())
    }
}

/// What a failure while reading a GET body means: the SDK's check of the object's checksum failed
/// (the bytes are wrong: never retried as if the network hiccupped), or the connection broke.
fn body_error(
    what: &str,
    expected: Option<&FullChecksum>,
    e: aws_sdk_s3::primitives::ByteStreamError,
) -> Error {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(err) = source {
        if err
            .downcast_ref::<aws_smithy_checksums::body::validate::Error>()
            .is_some()
        {
            return mismatch(what, expected.map_or(Algorithm::Crc32c, |e| e.algo));
        }
        source = err.source();
    }
    Error::new(
        ErrorKind::Network,
        format!("{what}: the connection broke ({e})"),
    )
}

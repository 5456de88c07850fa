//! One download: an object that fits in one range comes in one whole GET (its size known from the
//! listing); a larger one takes a HEAD, then parallel ranged GETs with `If-Match`. Either way into a
//! temporary file beside the destination.
//!
//! The temporary file (`.NAME.ferry-ID.part`) is preallocated to the object's size; each range is
//! written at its offset and committed to SQLite once all its bytes are on disk. At the end the file
//! is flushed, its size checked, and it is renamed into place, so the destination is either absent or
//! complete, never truncated. If the object changes on the server (its ETag differs, or `If-Match`
//! fails), the download says so in the log and starts over against the new version.
//!
//! Every download is checked against what the server keeps: a full-object CRC from the ranges'
//! values combined ([`checksum`]), a composite one from one range per part ([`super::verify`]), or a
//! whole single-part object's MD5 ETag. Damaged data is fetched again (only the damaged parts when
//! the server can tell which), at most [`RESTARTS`] times, then the download fails as Corrupt and
//! keeps no file.

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use aws_sdk_s3::types::ChecksumMode;
use md5::Digest as _;

use super::checksum::{self, Algorithm, Composite, FullChecksum};
use super::verify::{self, Verdict};
use super::{for_each_part, Ctx, RunStats};
use crate::error::{Error, ErrorKind, Result};
use crate::plan::{self, Part};
use crate::store::PartRow;

/// An object up to this size is gathered in memory as it arrives and written in one go (one buffer
/// per such download in flight).
const SMALL_OBJECT: u64 = 512 * 1024;

/// How many times a download starts over (the object changed under it, or the data arrived damaged)
/// or fetches damaged parts again before giving up.
const RESTARTS: u32 = 3;

/// The temporary file a download writes before renaming it into place.
pub fn temp_path(dest: &Path, id: &str) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let short = crate::format::short_id(id);
    dest.with_file_name(format!(".{name}.ferry-{short}.part"))
}

/// A key that cannot be placed on this disk as it is fails, naming the key and why: no retry can
/// fix it (a name too long for the file system; a file where the key needs a folder, as when the
/// bucket has both `a` and `a/b`). Other I/O errors keep their kind (a full disk pauses).
fn unplaceable(ctx: &Ctx, dest: &Path, path: &Path, e: std::io::Error, what: &str) -> Error {
    use std::io::ErrorKind as Io;
    match e.kind() {
        Io::InvalidFilename => clash(ctx, dest, "its name is too long for this file system"),
        Io::NotADirectory | Io::AlreadyExists => clash(
            ctx,
            dest,
            "a file of the same name as one of its folders is in the way (the bucket has both `a` and `a/…`)",
        ),
        _ => Error::io(what, path, e),
    }
}

/// The download of this key fails for good: `why` it cannot be saved at `path`.
fn clash(ctx: &Ctx, path: &Path, why: &str) -> Error {
    Error::invalid(format!(
        "s3://{}/{} cannot be saved as {}: {why}; it was not downloaded, and nothing was overwritten",
        ctx.row.bucket,
        ctx.row.key,
        path.display()
    ))
}

pub async fn run(ctx: Arc<Ctx>) -> Result<RunStats> {
    let mut restarts = 0;
    loop {
        match attempt(ctx.clone(), restarts == 0, &mut restarts).await {
            Err(e)
                if matches!(e.kind, ErrorKind::Changed | ErrorKind::Corrupt)
                    && restarts < RESTARTS =>
            {
                restarts += 1;
                tracing::warn!(transfer = %ctx.row.id, error = %e, "starting the download over");
                ctx.store.clear_parts(&ctx.row.id)?;
                let _ = std::fs::remove_file(temp_path(&ctx.row.local_path, &ctx.row.id));
            }
            Err(e) => {
                if e.kind == ErrorKind::Corrupt {
                    // The bytes on disk are known to be wrong: keep none of them.
                    ctx.store.clear_parts(&ctx.row.id)?;
                    let _ = std::fs::remove_file(temp_path(&ctx.row.local_path, &ctx.row.id));
                }
                return Err(e);
            }
            ok => return ok,
        }
    }
}

/// One pass over the object. `first`: the first pass of this run, when the size and ETag recorded at
/// enqueue (from the listing) may stand in for a HEAD. `restarts` counts the fetches again so far;
/// fetching damaged parts again counts as one.
async fn attempt(ctx: Arc<Ctx>, first: bool, restarts: &mut u32) -> Result<RunStats> {
    let row = &ctx.row;
    let what = format!("download s3://{}/{}", row.bucket, row.key);
    // The first pass starts from the row as claimed; a later one from what the previous pass wrote.
    let current = if first {
        row.clone()
    } else {
        ctx.store
            .get(&row.id)?
            .ok_or_else(|| Error::not_found("the transfer was removed"))?
    };
    let dest = row.local_path.clone();
    let temp = temp_path(&dest, &row.id);
    // A fresh download of an object that fits in one range needs no HEAD: its size came with the
    // listing, and one whole-object GET is one version of the object by itself (its ETag is recorded
    // from the answer when the listing had none; a size other than listed means it changed, and the
    // next pass asks the server). The object's full checksum, when it has one, is checked as the
    // bytes arrive. Saves a round trip per small file.
    let temp_exists = temp.exists();
    let fresh = first && !temp_exists && !dest.exists() && ctx.store.parts(&row.id)?.is_empty();
    let listed = match (current.size, &current.etag) {
        (Some(size), etag) if fresh && size > 0 && size <= row.part_size => {
            Some((size, etag.clone()))
        }
        _ => None,
    };
    let (size, etag, expected, composite) = match listed {
        Some((size, etag)) => (size, etag, None, None),
        None => {
            let head = ctx
                .retrying(&what, || {
                    let req = ctx
                        .client
                        .head_object()
                        .bucket(&row.bucket)
                        .key(&row.key)
                        .checksum_mode(ChecksumMode::Enabled);
                    let what = what.clone();
                    async move { req.send().await.map_err(|e| Error::from_sdk(&what, e)) }
                })
                .await?;
            // A full-object checksum (not a composite "xxx-N" of part checksums) is checked end to
            // end from the ranges' values.
            // A composite one ("xxx-N") is checked part by part (see `verify`).
            let (expected, composite) = checksum::of_answer(
                head.checksum_crc32(),
                head.checksum_crc32_c(),
                head.checksum_crc64_nvme(),
                head.checksum_type(),
            );
            (
                head.content_length().unwrap_or(0).max(0) as u64,
                head.e_tag().map(str::to_string),
                expected,
                composite,
            )
        }
    };
    let same_object = current.etag == etag && current.size == Some(size);
    // A fresh download has no destination and no committed ranges: nothing can have finished.
    if same_object && !temp_exists && !fresh {
        if let Some(stats) = finished_before(&ctx, &dest, size)? {
            return Ok(stats);
        }
    }
    // Start over unless the temporary file holds ranges of this same object; a fresh download of
    // the object recorded at enqueue has nothing to forget or record (two writes saved per file).
    if !same_object || (!temp_exists && !fresh) {
        if current.etag.is_some() && current.etag != etag {
            tracing::warn!(transfer = %row.id, "the object changed since the last run; starting over");
        }
        ctx.store.clear_parts(&row.id)?;
        ctx.store.set_object(&row.id, size, etag.as_deref())?;
    }
    ctx.counter.set_total(size);

    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| unplaceable(&ctx, &dest, dir, e, "cannot create the folder"))?;
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&temp)
        .map_err(|e| unplaceable(&ctx, &dest, &temp, e, "cannot write"))?;
    if file
        .metadata()
        .map_err(|e| Error::io("cannot read", &temp, e))?
        .len()
        != size
    {
        file.set_len(size).map_err(|e| {
            let e = Error::io("cannot make room for", &temp, e);
            Error::new(
                e.kind,
                format!(
                    "{}; free some space or choose another folder, then resume",
                    e.message
                ),
            )
        })?;
    }
    let file = Arc::new(file);

    // An object with a composite checksum is fetched one range per part, when the server says
    // what its parts are; otherwise in ranges of the download's part size.
    let by_parts = match &composite {
        Some(c) => verify::part_ranges(&ctx, &what, etag.as_deref(), size, c).await?,
        None => None,
    };
    let composite = composite.filter(|_| by_parts.is_some());
    let planned = by_parts.unwrap_or_else(|| plan::parts(size, row.part_size));
    let committed = ctx.store.parts(&row.id)?;
    let fits = |p: &PartRow| {
        planned
            .get(p.number as usize - 1)
            .is_some_and(|q| match &composite {
                Some(c) => verify::part_value(p, q, c.algo).is_some(),
                None => q.offset == p.offset && q.len == p.len,
            })
    };
    // Ranges committed under another plan cannot give the parts' values: start over (see `verify`).
    let committed = if composite.is_some() && !committed.iter().all(fits) {
        ctx.store.clear_parts(&row.id)?;
        Vec::new()
    } else {
        committed
    };
    let done: HashSet<u32> = committed
        .iter()
        .filter(|p| fits(p))
        .map(|p| p.number)
        .collect();
    let reused = done.len() as u64;
    ctx.counter.set_done(
        planned
            .iter()
            .filter(|p| done.contains(&p.number))
            .map(|p| p.len)
            .sum(),
    );

    let etag = Arc::new(etag);
    let mut todo: Vec<Part> = planned
        .iter()
        .filter(|p| !done.contains(&p.number))
        .copied()
        .collect();
    let mut sent = 0;
    let whole = planned.len() == 1;
    // Each range computes the algorithm the object's checksum uses (CRC32C when it has none, for
    // recognising a finished file later).
    let algo = expected
        .as_ref()
        .map(|e| e.algo)
        .or(composite.as_ref().map(|c| c.algo))
        .unwrap_or(Algorithm::Crc32c);
    // What a whole GET's answer said of the object's checksum.
    let checked = Arc::new(Noted::default());
    loop {
        sent += todo.len() as u64;
        let (writer, noted, tag) = (file.clone(), checked.clone(), etag.clone());
        // Ranges stream to disk as they arrive: they take a connection but no buffer.
        for_each_part(
            &ctx,
            std::mem::take(&mut todo),
            |_| 0,
            move |ctx, part| {
                let (file, etag, noted) = (writer.clone(), tag.clone(), noted.clone());
                let range = Range { part, whole, algo };
                async move { fetch_range(&ctx, &file, etag.as_deref(), range, &noted).await }
            },
        )
        .await?;
        file.sync_all()
            .map_err(|e| Error::io("cannot flush", &temp, e))?;
        let on_disk = file
            .metadata()
            .map_err(|e| Error::io("cannot read", &temp, e))?
            .len();
        if on_disk != size {
            return Err(Error::storage(format!(
                "{what}: the temporary file has {on_disk} bytes, expected {size}; it will be fetched again"
            )));
        }
        let Some(c) = &composite else { break };
        match verify::check(&ctx, &what, etag.as_deref(), c, &planned, &temp).await? {
            Verdict::Verified => break,
            Verdict::Refetch(parts) if *restarts < RESTARTS => {
                *restarts += 1;
                let numbers: Vec<u32> = parts.iter().map(|p| p.number).collect();
                tracing::warn!(transfer = %row.id, parts = ?numbers, "damaged parts; fetching them again");
                ctx.counter.sub(parts.iter().map(|p| p.len).sum());
                todo = parts;
            }
            _ => return Err(mismatch_composite(&what, c)),
        }
    }
    drop(file);
    let verified = match (expected, &composite) {
        (Some(expected), _) => {
            verify(&expected, &ctx.store.parts(&row.id)?, &temp, &what)?;
            Some(expected.algo.name())
        }
        (None, Some(c)) => Some(c.algo.composite_name()),
        // One whole GET: the SDK checked the object's checksum if the answer carried one (and the
        // range recorded that algorithm), or the range checked the MD5 its ETag is; a composite
        // one it carried is checked from the file, once the server says what the parts are.
        (None, None) => match (checked.checked.get(), checked.composite.get()) {
            (Some(name), _) => Some(*name),
            (None, Some(c)) => {
                match verify::check_file(&ctx, &what, etag.as_deref(), c, size, &temp).await? {
                    Some(true) => Some(c.algo.composite_name()),
                    Some(false) => return Err(mismatch_composite(&what, c)),
                    None => None,
                }
            }
            (None, None) => None,
        },
    };
    let recorded = ctx.store.get(&row.id)?.map(|r| r.etag).unwrap_or_default();
    if dest.is_dir() {
        let _ = std::fs::remove_file(&temp);
        return Err(clash(&ctx, &dest, "a folder of that name holds other keys"));
    }
    if dest.exists() && !overwrite_allowed(&ctx) {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "{} appeared while downloading; it was not overwritten. The download is kept in {}",
                dest.display(),
                temp.display()
            ),
        ));
    }
    std::fs::rename(&temp, &dest)
        .map_err(|e| Error::io("cannot move the download into place at", &dest, e))?;
    if let Some(dir) = dest.parent() {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    ctx.store
        .complete(&row.id, &ctx.owner, size, recorded.as_deref())?;
    Ok(RunStats {
        bytes_total: size,
        bytes_sent: ctx.counter.sent(),
        parts_total: planned.len() as u64,
        parts_reused: reused,
        parts_sent: sent,
        verified,
        download: true,
    })
}

/// Compares the object's full checksum with the ranges' values combined (or, when earlier runs
/// recorded ranges under another algorithm, with the file's own value). A mismatch discards the file.
fn verify(expected: &FullChecksum, parts: &[PartRow], temp: &Path, what: &str) -> Result<()> {
    let combined = checksum::combine(
        expected.algo,
        parts.iter().map(|p| (p.checksum.as_deref(), p.len)),
    );
    let actual = match combined {
        Some(c) => c,
        None => expected.algo.encode(
            expected
                .algo
                .of_file(temp)
                .map_err(|e| Error::io("cannot read", temp, e))?,
        ),
    };
    if actual == expected.value {
        return Ok(());
    }
    let _ = std::fs::remove_file(temp);
    Err(mismatch(what, expected.algo))
}

fn mismatch(what: &str, algo: Algorithm) -> Error {
    corrupt(what, &format!("{} checksum", algo.name()))
}

fn mismatch_composite(what: &str, c: &Composite) -> Error {
    corrupt(what, &format!("{} checksum", c.algo.composite_name()))
}

/// The bytes received are not the object's, by `against` (e.g. "CRC32 checksum").
fn corrupt(what: &str, against: &str) -> Error {
    Error::new(
        ErrorKind::Corrupt,
        format!(
            "{what}: the data received does not match the object's {against}; it was discarded"
        ),
    )
}

/// A run killed after moving the file into place but before recording that leaves every range
/// committed, no temporary file, and the destination holding exactly those bytes. Recognise that (the
/// destination's CRC equals the committed ranges' combined CRC, of whichever algorithm they recorded)
/// and record the completion
/// instead of downloading again into a place that is now taken.
fn finished_before(ctx: &Ctx, dest: &Path, size: u64) -> Result<Option<RunStats>> {
    let parts = ctx.store.parts(&ctx.row.id)?;
    // Committed ranges that cover the object once, in order, whatever plan cut them.
    let mut next = 0;
    let all_committed = parts.iter().zip(1..).all(|(p, n)| {
        let follows = p.number == n && p.offset == next;
        next += p.len;
        follows
    }) && next == size;
    let on_disk = std::fs::metadata(dest).map(|m| m.len()).ok();
    if size == 0 || !all_committed || on_disk != Some(size) {
        return Ok(None);
    }
    let Some((algo, _)) = parts[0].checksum.as_deref().and_then(checksum::parse_part) else {
        return Ok(None);
    };
    let Some(expected) =
        checksum::combine(algo, parts.iter().map(|p| (p.checksum.as_deref(), p.len)))
    else {
        return Ok(None);
    };
    let crc = algo
        .of_file(dest)
        .map_err(|e| Error::io("cannot read", dest, e))?;
    if algo.encode(crc) != expected {
        return Ok(None);
    }
    tracing::info!(transfer = %ctx.row.id, "the file was already in place; recording the completion");
    ctx.counter.set_done(size);
    ctx.store
        .complete(&ctx.row.id, &ctx.owner, size, ctx.row.etag.as_deref())?;
    Ok(Some(RunStats {
        bytes_total: size,
        parts_total: parts.len() as u64,
        parts_reused: parts.len() as u64,
        download: true,
        ..Default::default()
    }))
}

/// Downloads may replace an existing file only when the user said so when enqueuing.
fn overwrite_allowed(ctx: &Ctx) -> bool {
    ctx.row.overwrite
}

/// Whether an answer's ETag is the MD5 of the object's bytes: 32 hex digits (a multipart ETag ends
/// in `-N`), and no SSE-KMS or SSE-C, whose ETags are not digests of the data.
fn etag_is_md5(tag: &str, out: &aws_sdk_s3::operation::get_object::GetObjectOutput) -> bool {
    use aws_sdk_s3::types::ServerSideEncryption;
    let tag = tag.trim_matches('"');
    tag.len() == 32
        && tag.bytes().all(|b| b.is_ascii_hexdigit())
        && !matches!(
            out.server_side_encryption(),
            Some(ServerSideEncryption::AwsKms | ServerSideEncryption::AwsKmsDsse)
        )
        && out.sse_customer_algorithm().is_none()
}

/// What whole GETs' answers said of the object's checksum.
#[derive(Default)]
struct Noted {
    /// The checksum the bytes were checked against as they arrived.
    checked: OnceLock<&'static str>,
    /// A composite checksum the answer carried (checked once the file is whole).
    composite: OnceLock<Composite>,
}

/// One range to fetch: where it lies, whether it is the whole object, and the CRC it records.
#[derive(Clone, Copy)]
struct Range {
    part: Part,
    whole: bool,
    algo: Algorithm,
}

fn write_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.write_all_at(buf, offset)
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::FileExt;
        let mut done = 0;
        while done < buf.len() {
            done += file.seek_write(&buf[done..], offset + done as u64)?;
        }
        Ok(())
    }
}

/// Fetches one range into `file` at its offset and commits it. `whole`: the range is the whole
/// object, so the GET asks for all of it (no `Range`) with checksum mode on, and the SDK checks the
/// object's full checksum as the bytes arrive.
async fn fetch_range(
    ctx: &Ctx,
    file: &File,
    etag: Option<&str>,
    range: Range,
    noted: &Noted,
) -> Result<()> {
    let Range { part, whole, algo } = range;
    let what = format!(
        "download bytes {}-{} of s3://{}/{}",
        part.offset,
        part.offset + part.len - 1,
        ctx.row.bucket,
        ctx.row.key
    );
    let written = Arc::new(AtomicU64::new(0));
    let result = ctx
        .retrying(&what, || {
            ctx.counter.sub(written.swap(0, Ordering::Relaxed));
            let req = ctx
                .client
                .get_object()
                .bucket(&ctx.row.bucket)
                .key(&ctx.row.key)
                .set_if_match(etag.map(str::to_string));
            let req = if whole {
                req.checksum_mode(ChecksumMode::Enabled)
            } else {
                req.range(format!(
                    "bytes={}-{}",
                    part.offset,
                    part.offset + part.len - 1
                ))
            };
            let what_now = what.clone();
            let written_now = written.clone();
            let fetched = async move {
                let (what, written) = (what_now, written_now);
                let out = req.send().await.map_err(|e| Error::from_sdk(&what, e))?;
                if whole && out.content_length() != Some(part.len as i64) {
                    return Err(Error::new(
                        ErrorKind::Changed,
                        format!("{what}: the object changed since it was listed"),
                    ));
                }
                // An object listed without an ETag: the answer's is recorded with the range.
                let learnt = if whole && etag.is_none() {
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
                let mut digest = expected
                    .as_ref()
                    .map(|e| e.algo)
                    .or(composite.as_ref().map(|c| c.algo))
                    .unwrap_or(algo)
                    .digest();
                // With no checksum, a whole single-part object's ETag is the MD5 of its bytes
                // (not under SSE-KMS or SSE-C, where it is not): checked as they arrive.
                let mut md5 = match (&expected, out.e_tag()) {
                    (None, Some(tag)) if whole && etag_is_md5(tag, &out) => {
                        Some((md5::Md5::new(), tag.trim_matches('"').to_ascii_lowercase()))
                    }
                    _ => None,
                };
                let mut body = out.body;
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
                    .map_err(|e| body_error(&what, expected.as_ref(), e))?
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
                        write_at(file, &chunk, offset)
                            .map_err(|e| Error::io("cannot write", &ctx.row.local_path, e))?;
                    }
                    digest.update(&chunk);
                    if let Some((h, _)) = &mut md5 {
                        h.update(&chunk);
                    }
                    offset += chunk.len() as u64;
                    written.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    ctx.counter.add(chunk.len() as u64);
                }
                if !gathered.is_empty() {
                    write_at(file, &gathered, part.offset)
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
                if let Some(expected) = expected {
                    if expected.algo.encode(digest.value()) != expected.value {
                        return Err(mismatch(&what, expected.algo));
                    }
                    let _ = noted.checked.set(expected.algo.name());
                }
                if let Some((h, want)) = md5 {
                    let got: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
                    if got != want {
                        return Err(corrupt(&what, "MD5 (its ETag)"));
                    }
                    let _ = noted.checked.set("MD5 ETag");
                }
                if let Some(c) = composite {
                    let _ = noted.composite.set(c);
                }
                Ok((digest.part_text(), learnt))
            };
            ctx.watched(&what, written.clone(), fetched)
        })
        .await;
    let (text, learnt) = match result {
        Ok(v) => v,
        Err(e) => {
            ctx.counter.sub(written.swap(0, Ordering::Relaxed));
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
    ctx.store.record_part_of(
        &ctx.row.id,
        &PartRow {
            number: part.number,
            offset: part.offset,
            len: part.len,
            etag: None,
            checksum: Some(text),
        },
        learnt.as_deref(),
    )
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

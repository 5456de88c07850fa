//! One download: an object that fits in one range comes in one whole GET (its size known from the
//! listing); a larger one takes a HEAD, then parallel ranged GETs with `If-Match`. Either way into a
//! temporary file beside the destination.
//!
//! The temporary file (`.NAME.ferry-ID.part`) is preallocated to the object's size; each range is
//! written at its offset and committed to SQLite once all its bytes are on disk. At the end the file
//! is flushed, its size checked, and it is renamed into place, so the destination is either absent or
//! complete, never truncated. If the object changes on the server (its ETag differs, or `If-Match`
//! fails), the download says so in the log and starts over against the new version. A download of
//! one version (the row's `version_id`) names it in every HEAD and GET of every run, so it fetches
//! that version's bytes however the object changes meanwhile.
//!
//! Every download is checked against what the server keeps: a full-object CRC from the ranges'
//! values combined ([`checksum`]), a composite one from one range per part ([`super::verify`]), or a
//! whole single-part object's MD5 ETag. Damaged data is fetched again (only the damaged parts when
//! the server can tell which), at most [`RESTARTS`] times, then the download fails as Corrupt and
//! keeps no file.

mod fetch;
mod writer;

use std::collections::HashSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aws_sdk_s3::types::ChecksumMode;

use super::checksum::{self, Algorithm, Composite, FullChecksum};
use super::verify::{self, Verdict};
use super::{for_each_part, Ctx, RunStats};
use crate::error::{Error, ErrorKind, Result};
use crate::plan::{self, Part};
use crate::store::{PartRow, TransferRow};
use fetch::{fetch_range, Noted, Range};
use writer::TempFile;

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

/// One pass over the object: what it is now, the temporary file and the ranges still missing, the
/// ranges fetched (damaged parts again), the file verified and moved into place. `first`: the first
/// pass of this run, when the size and ETag recorded at enqueue (from the listing) may stand in for
/// a HEAD. `restarts` counts the fetches again so far; fetching damaged parts again counts as one.
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
    let temp_exists = temp.exists();
    // No part of a row with no bytes done is worth keeping (a part's bytes are counted in the
    // same commit that records it), so that row skips the query; an empty object asks.
    let fresh = first
        && !temp_exists
        && !dest.exists()
        && ((current.bytes_done == 0 && current.size.is_some_and(|s| s > 0))
            || ctx.store.parts(&row.id)?.is_empty());
    let mut object = describe(&ctx, &what, &current, fresh).await?;
    let size = object.size;
    let same_object = current.etag == object.etag && current.size == Some(size);
    // A fresh download has no destination and no committed ranges: nothing can have finished.
    if same_object && !temp_exists && !fresh {
        if let Some(stats) = finished_before(&ctx, &dest, size).await? {
            return Ok(stats);
        }
    }
    // Start over unless the temporary file holds ranges of this same object; a fresh download of
    // the object recorded at enqueue has nothing to forget or record (two writes saved per file).
    if !same_object || (!temp_exists && !fresh) {
        if current.etag.is_some() && current.etag != object.etag {
            tracing::warn!(transfer = %row.id, "the object changed since the last run; starting over");
        }
        ctx.store.clear_parts(&row.id)?;
        ctx.store
            .set_object(&row.id, size, object.etag.as_deref())?;
    }
    ctx.counter.set_total(size);

    let file = Arc::new(TempFile::new(open_temp(&ctx, &dest, &temp, size)?));
    let ranges = plan_ranges(&ctx, &what, &mut object, fresh).await?;
    let (parts_total, reused) = (ranges.planned.len() as u64, ranges.reused);
    let (sent, noted) = fetch_all(&ctx, &file, &temp, &what, &object, ranges, restarts).await?;
    let verified = verified_against(&ctx, &what, &object, &noted, &temp).await?;
    if let Some(ns) = noted.mtime.get().copied().or(object.mtime) {
        set_mtime(&file, &temp, ns)?;
    }
    drop(file);
    place(&ctx, &dest, &temp)?;
    // The ETag learnt from a GET was recorded with its range; the row keeps it.
    ctx.store
        .complete_grouped(&row.id, &ctx.owner, size, None, verified)
        .await?;
    Ok(RunStats {
        bytes_total: size,
        bytes_sent: ctx.counter.sent(),
        parts_total,
        parts_reused: reused,
        parts_sent: sent,
        verified,
        download: true,
    })
}

/// The object as one pass sees it.
struct Object {
    size: u64,
    etag: Option<String>,
    /// A full-object checksum (not a composite "xxx-N" of part checksums): checked end to end from
    /// the ranges' values.
    expected: Option<FullChecksum>,
    /// A composite checksum ("xxx-N"): checked part by part (see `verify`), so only when the object
    /// is fetched one range per part.
    composite: Option<Composite>,
    /// Its modification time (ns), when a HEAD said it.
    mtime: Option<i64>,
    /// The MD5 its ETag is (a single-part object without SSE-KMS), when a HEAD said it: checked
    /// from the file when the object has no checksum and came in several ranges.
    md5: Option<String>,
}

/// The MD5 an answer's ETag is (lowercase hex): a single-part ETag (32 hex digits; a multipart one
/// ends in `-N`) of an object not under SSE-KMS or SSE-C, whose ETags are not digests of the data.
pub(super) fn md5_etag_of(
    etag: Option<&str>,
    sse: Option<&aws_sdk_s3::types::ServerSideEncryption>,
    sse_customer_algorithm: Option<&str>,
) -> Option<String> {
    use aws_sdk_s3::types::ServerSideEncryption::{AwsKms, AwsKmsDsse};
    if matches!(sse, Some(AwsKms | AwsKmsDsse)) || sse_customer_algorithm.is_some() {
        return None;
    }
    etag.and_then(checksum::md5_etag)
}

/// An object's modification time (ns): the file's time it keeps in `x-amz-meta-mtime` (Ferry and
/// rclone write it), else when it was written (Last-Modified).
pub(crate) fn object_mtime(
    metadata: Option<&std::collections::HashMap<String, String>>,
    last_modified: Option<&aws_smithy_types::DateTime>,
) -> Option<i64> {
    metadata
        .and_then(|m| m.get(super::MTIME_META))
        .and_then(|t| super::parse_mtime(t))
        .or_else(|| last_modified.map(|t| t.as_nanos() as i64))
}

/// Gives the downloaded file the object's modification time, as `aws s3 cp` and rclone do, so a
/// sync sees the two as the same.
fn set_mtime(file: &File, path: &Path, ns: i64) -> Result<()> {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(ns.max(0) as u64);
    file.set_modified(time)
        .map_err(|e| Error::io("cannot set the modification time of", path, e))
}

/// What the object is now. A fresh download of an object that fits in one range needs no HEAD: its
/// size came with the listing, and one whole-object GET is one version of the object by itself (its
/// ETag is recorded from the answer when the listing had none; a size other than listed means it
/// changed, and the next pass asks the server). The object's full checksum, when it has one, is
/// checked as the bytes arrive. Saves a round trip per small file.
async fn describe(ctx: &Ctx, what: &str, current: &TransferRow, fresh: bool) -> Result<Object> {
    let row = &ctx.row;
    match (current.size, &current.etag) {
        (Some(size), etag) if fresh && size > 0 && size <= row.part_size => {
            return Ok(Object {
                size,
                etag: etag.clone(),
                expected: None,
                composite: None,
                mtime: None,
                md5: None,
            });
        }
        _ => {}
    }
    let head = ctx
        .retrying(what, || {
            let req = ctx
                .client
                .head_object()
                .bucket(&row.bucket)
                .key(&row.key)
                .set_version_id(row.version_id.clone())
                .checksum_mode(ChecksumMode::Enabled);
            async move { req.send().await.map_err(|e| Error::from_sdk(what, e)) }
        })
        .await?;
    let (expected, composite) = checksum::of_answer(
        head.checksum_crc32(),
        head.checksum_crc32_c(),
        head.checksum_crc64_nvme(),
        head.checksum_type(),
    );
    Ok(Object {
        size: head.content_length().unwrap_or(0).max(0) as u64,
        etag: head.e_tag().map(str::to_string),
        expected,
        composite,
        mtime: object_mtime(head.metadata(), head.last_modified()),
        md5: md5_etag_of(
            head.e_tag(),
            head.server_side_encryption(),
            head.sse_customer_algorithm(),
        ),
    })
}

/// Opens (or creates) the temporary file at the object's size, so every range can be written at its
/// offset; a disk without room for it says so before any byte is fetched.
fn open_temp(ctx: &Ctx, dest: &Path, temp: &Path, size: u64) -> Result<File> {
    let open = || {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(temp)
    };
    // The folder usually exists (the files of a folder come together): one system call, not three.
    let file = match (open(), dest.parent()) {
        (Err(e), Some(dir)) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)
                .map_err(|e| unplaceable(ctx, dest, dir, e, "cannot create the folder"))?;
            open()
        }
        (opened, _) => opened,
    }
    .map_err(|e| unplaceable(ctx, dest, temp, e, "cannot write"))?;
    if file
        .metadata()
        .map_err(|e| Error::io("cannot read", temp, e))?
        .len()
        != size
    {
        file.set_len(size).map_err(|e| {
            let e = Error::io("cannot make room for", temp, e);
            Error::new(
                e.kind,
                format!(
                    "{}; free some space or choose another folder, then resume",
                    e.message
                ),
            )
        })?;
    }
    Ok(file)
}

/// How the object is cut into ranges, and which of them earlier runs already committed.
struct Ranges {
    planned: Vec<Part>,
    /// The planned ranges not yet committed.
    todo: Vec<Part>,
    /// How many were committed before this pass.
    reused: u64,
}

/// Cuts the object into ranges and keeps the committed ones that still fit the plan, so a resumed
/// download fetches only what it lacks; sets the progress to what is already on disk. An object
/// with a composite checksum is fetched one range per part, when the server says what its parts
/// are; otherwise (its composite then left unchecked here) in ranges of the download's part size.
async fn plan_ranges(ctx: &Ctx, what: &str, object: &mut Object, fresh: bool) -> Result<Ranges> {
    let row = &ctx.row;
    let (size, etag) = (object.size, object.etag.as_deref());
    let by_parts = match &object.composite {
        Some(c) => verify::part_ranges(ctx, what, etag, size, c).await?,
        None => None,
    };
    object.composite = object.composite.take().filter(|_| by_parts.is_some());
    let composite = &object.composite;
    let planned = by_parts.unwrap_or_else(|| plan::parts(size, row.part_size));
    // A fresh download has committed nothing (see `attempt`): no query.
    let committed = if fresh {
        Vec::new()
    } else {
        ctx.store.parts(&row.id)?
    };
    let fits = |p: &PartRow| {
        planned
            .get(p.number as usize - 1)
            .is_some_and(|q| match composite {
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
    ctx.counter.set_done(
        planned
            .iter()
            .filter(|p| done.contains(&p.number))
            .map(|p| p.len)
            .sum(),
    );
    let todo = planned
        .iter()
        .filter(|p| !done.contains(&p.number))
        .copied()
        .collect();
    Ok(Ranges {
        reused: done.len() as u64,
        planned,
        todo,
    })
}

/// Fetches the missing ranges into `file` and checks the whole file's size; with a composite
/// checksum, checks each part against the server's and fetches damaged ones again (counted in
/// `restarts`, up to [`RESTARTS`]). Returns how many ranges were sent and what whole GETs' answers
/// said of the object's checksum.
async fn fetch_all(
    ctx: &Arc<Ctx>,
    file: &Arc<TempFile>,
    temp: &Path,
    what: &str,
    object: &Object,
    ranges: Ranges,
    restarts: &mut u32,
) -> Result<(u64, Arc<Noted>)> {
    let Ranges {
        planned, mut todo, ..
    } = ranges;
    let (size, composite) = (object.size, &object.composite);
    let etag = Arc::new(object.etag.clone());
    let mut sent = 0;
    let whole = planned.len() == 1;
    // Each range computes the algorithm the object's checksum uses (CRC32C when it has none, for
    // recognising a finished file later).
    let algo = object
        .expected
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
            ctx,
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
            .map_err(|e| Error::io("cannot flush", temp, e))?;
        let on_disk = file
            .metadata()
            .map_err(|e| Error::io("cannot read", temp, e))?
            .len();
        if on_disk != size {
            return Err(Error::storage(format!(
                "{what}: the temporary file has {on_disk} bytes, expected {size}; it will be fetched again"
            )));
        }
        let Some(c) = composite else { break };
        match verify::check(ctx, what, etag.as_deref(), c, &planned, temp).await? {
            Verdict::Verified => break,
            Verdict::Refetch(parts) if *restarts < RESTARTS => {
                *restarts += 1;
                let numbers: Vec<u32> = parts.iter().map(|p| p.number).collect();
                tracing::warn!(transfer = %ctx.row.id, parts = ?numbers, "damaged parts; fetching them again");
                ctx.counter.sub(parts.iter().map(|p| p.len).sum());
                todo = parts;
            }
            _ => return Err(mismatch_composite(what, c)),
        }
    }
    Ok((sent, checked))
}

/// Checks the whole file against the server's checksum, if not already checked as it arrived, and
/// names the checksum it matched (`None`: the object has none Ferry can check).
async fn verified_against(
    ctx: &Ctx,
    what: &str,
    object: &Object,
    noted: &Noted,
    temp: &Path,
) -> Result<Option<&'static str>> {
    Ok(match (&object.expected, &object.composite) {
        (Some(expected), _) => {
            verify(expected, &ctx.store.parts(&ctx.row.id)?, temp, what)?;
            Some(expected.algo.name())
        }
        (None, Some(c)) => Some(c.algo.composite_name()),
        // One whole GET: the SDK checked the object's checksum if the answer carried one (and the
        // range recorded that algorithm), or the range checked the MD5 its ETag is; a composite
        // one it carried is checked from the file, once the server says what the parts are.
        (None, None) => match (noted.checked.get(), noted.composite.get()) {
            (Some(name), _) => Some(*name),
            (None, Some(c)) => {
                let etag = object.etag.as_deref();
                match verify::check_file(ctx, what, etag, c, object.size, temp).await? {
                    Some(true) => Some(c.algo.composite_name()),
                    Some(false) => return Err(mismatch_composite(what, c)),
                    None => None,
                }
            }
            // Ranges of a single-part object without a checksum: its ETag is the MD5 of the
            // whole, checked from the file (a mismatch discards it; every range is fetched again).
            (None, None) => match &object.md5 {
                Some(want) => {
                    let md5 = |f: &Path| checksum::md5_of_file(f);
                    file_digest_matches(what, temp, want, md5, "MD5 (its ETag)").await?;
                    Some("MD5 ETag")
                }
                None => recorded_at_upload(ctx, what, object, temp).await?,
            },
        },
    })
}

/// What the summary says of a download checked against the part checksums Ferry sent when it
/// uploaded the object.
pub const RECORDED_AT_UPLOAD: &str = "CRC32C recorded at upload";

/// What a download was verified against, in words: the server's checksum named `verified`, or the
/// checksums Ferry recorded when it uploaded the object.
pub fn verified_against_words(verified: &str) -> String {
    if verified == RECORDED_AT_UPLOAD {
        "the CRC32C values Ferry recorded when it uploaded the object".to_string()
    } else {
        format!("the server's {verified}")
    }
}

/// A multipart object the server keeps no checksum for, which Ferry uploaded itself: its parts'
/// CRC32C values, recorded as each part was sent, combine into the whole object's, checked against
/// the file (one read; a mismatch discards it, and every range is fetched again). Matched by the
/// account, the key and the ETag the upload completed with, so an object written since is not.
async fn recorded_at_upload(
    ctx: &Ctx,
    what: &str,
    object: &Object,
    temp: &Path,
) -> Result<Option<&'static str>> {
    let row = &ctx.row;
    let etag = match &object.etag {
        Some(e) => Some(e.clone()),
        None => ctx.store.get(&row.id)?.and_then(|r| r.etag),
    };
    let Some(etag) = etag.filter(|e| e.contains('-')) else {
        return Ok(None);
    };
    let parts = ctx
        .store
        .uploaded_parts(&row.connection, &row.bucket, &row.key, &etag)?;
    let algo = Algorithm::Crc32c;
    let Some(want) = parts.and_then(|parts| {
        (parts.iter().map(|p| p.len).sum::<u64>() == object.size)
            .then(|| checksum::combine(algo, parts.iter().map(|p| (p.checksum.as_deref(), p.len))))
            .flatten()
    }) else {
        return Ok(None);
    };
    let crc = move |f: &Path| algo.of_file(f).map(|v| algo.encode(v));
    file_digest_matches(
        what,
        temp,
        &want,
        crc,
        "CRC32C recorded when Ferry uploaded it",
    )
    .await?;
    Ok(Some(RECORDED_AT_UPLOAD))
}

/// Reads the finished temporary file once (off the async threads) through `digest` and compares the
/// result with `want`; a mismatch discards the file and is Corrupt, naming `against`.
async fn file_digest_matches(
    what: &str,
    temp: &Path,
    want: &str,
    digest: impl FnOnce(&Path) -> std::io::Result<String> + Send + 'static,
    against: &str,
) -> Result<()> {
    let file = temp.to_path_buf();
    let got = tokio::task::spawn_blocking(move || digest(&file))
        .await
        .map_err(|e| Error::internal(format!("{what}: {e}")))?
        .map_err(|e| Error::io("cannot read", temp, e))?;
    if got != want {
        let _ = std::fs::remove_file(temp);
        return Err(corrupt(what, against));
    }
    Ok(())
}

/// Renames the finished temporary file to `dest`, so the destination is either absent or complete.
/// Never over a folder of that name, nor over a file that appeared meanwhile unless the user allowed
/// overwriting; the folder is flushed so the rename survives a crash.
fn place(ctx: &Ctx, dest: &Path, temp: &Path) -> Result<()> {
    let existing = std::fs::metadata(dest).ok();
    if existing.as_ref().is_some_and(|m| m.is_dir()) {
        let _ = std::fs::remove_file(temp);
        return Err(clash(ctx, dest, "a folder of that name holds other keys"));
    }
    if existing.is_some() && !overwrite_allowed(ctx) {
        return Err(Error::new(
            ErrorKind::AlreadyExists,
            format!(
                "{} appeared while downloading; it was not overwritten. The download is kept in {}",
                dest.display(),
                temp.display()
            ),
        ));
    }
    std::fs::rename(temp, dest)
        .map_err(|e| Error::io("cannot move the download into place at", dest, e))?;
    if let Some(dir) = dest.parent() {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
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
async fn finished_before(ctx: &Ctx, dest: &Path, size: u64) -> Result<Option<RunStats>> {
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
        .complete_grouped(&ctx.row.id, &ctx.owner, size, ctx.row.etag.as_deref(), None)
        .await?;
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

//! A copy between two accounts or endpoints (AWS → R2, MinIO → B2…): no server can copy from
//! another's storage, so the bytes stream through Ferry, ranges in from the source's account and
//! parts out to the destination's, each part held in memory only while it moves.
//!
//! The row is a copy's (the source in `local_path`, the destination in `bucket`/`key`, the source's
//! size and ETag when queued in `size`/`etag`); its connection is the destination's account, and its
//! [`CopySpec::source`] the source's. So pause, cancel and clean-up act on the destination, where
//! the multipart upload lives.
//!
//! Small objects (at most one part) take one GET and one PutObject. Larger ones a multipart upload:
//! CreateMultipartUpload with the source's attributes (content type, cache control, disposition,
//! encoding, language, user metadata, storage class, tags when readable; the spec's edit applied)
//! and CRC32C declared, its id committed before the first part; then per part, admitted under the
//! engine's part slots and memory budget like an upload's, a ranged GET under `If-Match` of the
//! source's ETag into a pooled buffer (watched like a part: a silent connection is abandoned and
//! the range read again), an UploadPart carrying the CRC32C of the bytes as they arrived, and the
//! part's ETag and CRC32C committed before it counts. Complete lists them.
//!
//! Resume: ListParts of the kept upload id is the truth, as for an upload; parts the destination
//! holds at the right size are not fetched or sent again. A source whose ETag or size changed since
//! (a new version) restarts the copy: the old upload is aborted and its parts forgotten, so two
//! versions are never mixed. A range refused under `If-Match` mid-run is such a change too.
//!
//! Verified before it completes, and before a move deletes its source: the destination's size; its
//! ETag against the MD5 of the parts' MD5s (or its composite CRC32C against the parts' CRC32Cs);
//! and end to end, the CRC32C of everything read (the parts' values combined) against the source's
//! full-object CRC32C when it keeps one, or the MD5 of a single-part source against its ETag.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::types::{ChecksumAlgorithm, ServerSideEncryption, StorageClass};
use bytes::Bytes;

use super::{finished_before, multipart_etag, recognised, same_etag, start_upload, Attributes};
use super::{CopySpec, Source};
use crate::error::{Error, ErrorKind, Result};
use crate::plan::{self, Part};
use crate::s3::{Requests, S3Url};
use crate::store::PartRow;
use crate::transfer::checksum::{self, Algorithm};
use crate::transfer::{crc32c_b64, for_each_part, send_counted, upload, Ctx, RunStats};

/// Runs a copy from another account; see the module doc.
pub(super) async fn run(ctx: Arc<Ctx>, src: &S3Url, spec: &CopySpec) -> Result<RunStats> {
    let client = ctx.source_client.clone().ok_or_else(|| {
        Error::internal("a copy from another account has no client for its source")
    })?;
    let from = Requests::new(client, ctx.retry, ctx.token.clone());
    let to = super::requests(&ctx);
    // A source replaced while its ranges are read (a GET refused under If-Match): one restart,
    // which finds the new version and copies it afresh.
    match attempt(&ctx, &from, &to, src, spec).await {
        Err(e) if e.kind == ErrorKind::Changed => {
            tracing::warn!(transfer = %ctx.row.id, "the source changed while it was read; starting over");
            attempt(&ctx, &from, &to, src, spec).await
        }
        r => r,
    }
}

async fn attempt(
    ctx: &Arc<Ctx>,
    from: &Requests,
    to: &Requests,
    src: &S3Url,
    spec: &CopySpec,
) -> Result<RunStats> {
    let what = super::what(ctx, src);
    let recorded = Source::stored(ctx)?;
    let head = match from.head_with_checksums(&what, &src.bucket, &src.key).await {
        Ok(h) => h,
        Err(e) if e.kind == ErrorKind::NotFound && spec.delete_source => {
            return match finished_before(ctx, to, &recorded).await? {
                true => recognised(super::completed(ctx, recorded.size, 0).await?, ctx),
                false => Err(Error::not_found(format!(
                    "{what}: the source is gone; nothing was copied"
                ))),
            };
        }
        Err(e) => return Err(e),
    };
    let now = Source {
        size: head.content_length().unwrap_or(0).max(0) as u64,
        etag: head.e_tag().map(str::to_string),
        upload_id: recorded.upload_id.clone(),
    };
    let source =
        if now.size == recorded.size && same_etag(now.etag.as_deref(), recorded.etag.as_deref()) {
            recorded
        } else {
            restart(ctx, to, &what, now).await?
        };
    if source.upload_id.is_none() && plan::is_single_put(source.size, ctx.row.part_size) {
        single(ctx, from, to, src, &head, spec, &source).await
    } else {
        multipart(ctx, from, to, src, &head, spec, source).await
    }
}

/// Forgets what was copied of an earlier version of the source (aborting its upload on the
/// destination) and records the version there is now.
async fn restart(ctx: &Ctx, to: &Requests, what: &str, now: Source) -> Result<Source> {
    tracing::info!(transfer = %ctx.row.id, "{what}: the source changed since the copy was queued; copying it as it is now");
    if let Some(id) = &now.upload_id {
        upload::abort(to.client(), &ctx.row.bucket, &ctx.row.key, id).await?;
    }
    ctx.store.clear_parts(&ctx.row.id)?;
    ctx.store.set_upload_id(&ctx.row.id, None)?;
    ctx.store
        .set_object(&ctx.row.id, now.size, now.etag.as_deref())?;
    ctx.counter.set_total(now.size);
    ctx.counter.set_done(0);
    Ok(Source {
        upload_id: None,
        ..now
    })
}

/// The source's attributes with the spec's edit made.
fn attributes(head: &HeadObjectOutput, spec: &CopySpec) -> Attributes {
    let attrs = Attributes::of(head);
    match &spec.edit {
        Some(edit) => attrs.edited(edit),
        None => attrs,
    }
}

/// The source's tags as a request takes them; none when the source's server keeps none or does not
/// let this account read them (tags are carried when readable).
async fn readable_tags(from: &Requests, src: &S3Url) -> Result<Option<String>> {
    match super::tagging(from, src).await {
        Err(e) if e.kind == ErrorKind::AccessDenied => {
            tracing::warn!("{}; the copy gets no tags", e.message);
            Ok(None)
        }
        r => r,
    }
}

#[allow(clippy::too_many_arguments)] // the two sides and what the row says of the source
async fn single(
    ctx: &Ctx,
    from: &Requests,
    to: &Requests,
    src: &S3Url,
    head: &HeadObjectOutput,
    spec: &CopySpec,
    source: &Source,
) -> Result<RunStats> {
    let what = super::what(ctx, src);
    let size = source.size;
    let attrs = attributes(head, spec);
    let tagging = readable_tags(from, src).await?;
    let _permits = ctx.admit_part(size, size).await?;
    let whole = Part {
        number: 1,
        offset: 0,
        len: size,
    };
    let data = read_range(ctx, src, source.etag.as_deref(), whole).await?;
    let verified = check_source_single(&what, head, &data)?;
    let checksum = crc32c_b64(&data);
    let sent = send_counted(ctx, &what, &data, |body| {
        let req = to
            .client()
            .put_object()
            .bucket(&ctx.row.bucket)
            .key(&ctx.row.key)
            .content_length(size as i64)
            .checksum_crc32_c(&checksum)
            .set_tagging(tagging.clone())
            .set_server_side_encryption(spec.sse.as_deref().map(ServerSideEncryption::from))
            .set_ssekms_key_id(spec.sse_kms_key_id.clone())
            .body(body);
        let req = with_attributes!(req, attrs);
        let what = what.clone();
        async move { req.send().await.map_err(|e| Error::from_sdk(&what, e)) }
    })
    .await;
    ctx.buffers.give(data);
    sent?;
    let copy = to
        .head_with_checksums(&what, &ctx.row.bucket, &ctx.row.key)
        .await?;
    let crc_ok = copy
        .checksum_crc32_c()
        .filter(|c| !c.contains('-'))
        .is_none_or(|c| c == checksum);
    if copy.content_length() != Some(size as i64) || !crc_ok {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!("{what}: the copy does not hold the bytes read (size or CRC32C differ); the source was kept"),
        ));
    }
    let mut stats = super::finish(ctx, from, src, spec, 1).await?;
    stats.verified = verified;
    Ok(stats)
}

/// Checks a whole object's bytes against what its server says of them: its full-object checksum,
/// else the MD5 its ETag is (a single-part object not encrypted with KMS). Returns what it was
/// checked against; `None` when the source offers nothing to check.
fn check_source_single(
    what: &str,
    head: &HeadObjectOutput,
    data: &[u8],
) -> Result<Option<&'static str>> {
    let full = full_checksum(head);
    if let Some(full) = full {
        let mut d = full.algo.digest();
        d.update(data);
        if full.algo.encode(d.value()) != full.value {
            return Err(mismatch(what, full.algo.name()));
        }
        return Ok(Some(full.algo.name()));
    }
    let kms = head
        .server_side_encryption()
        .is_some_and(|e| e.as_str().starts_with("aws:kms"));
    match head.e_tag().and_then(checksum::md5_etag) {
        Some(md5) if !kms => {
            use md5::Digest as _;
            let got: String = md5::Md5::digest(data)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            if got != md5 {
                return Err(mismatch(what, "MD5 ETag"));
            }
            Ok(Some("MD5 ETag"))
        }
        _ => Ok(None),
    }
}

/// Reads `part`'s bytes of the source, as it is while its ETag is `etag` (If-Match), into a pooled
/// buffer (handed back once the part is sent). Each try is watched like a part: a connection that
/// stays open but sends nothing for the stall timeout is abandoned and tried again.
async fn read_range(ctx: &Ctx, src: &S3Url, etag: Option<&str>, part: Part) -> Result<Bytes> {
    if part.len == 0 {
        return Ok(Bytes::new());
    }
    let client = ctx.source_client.as_ref().ok_or_else(|| {
        Error::internal("a copy from another account has no client for its source")
    })?;
    let last = part.offset + part.len - 1;
    let what = format!("read bytes {}-{last} of {src}", part.offset);
    let read = Arc::new(AtomicU64::new(0));
    ctx.retrying(&what, || {
        read.store(0, Ordering::Relaxed);
        let attempt = async {
            let out = client
                .get_object()
                .bucket(&src.bucket)
                .key(&src.key)
                .range(format!("bytes={}-{last}", part.offset))
                .set_if_match(etag.map(str::to_string))
                .send()
                .await
                .map_err(|e| Error::from_sdk(&what, e))?;
            let mut buf = ctx.buffers.take(part.len as usize);
            let mut filled = 0;
            let mut body = out.body;
            while let Some(chunk) = body.try_next().await.map_err(|e| {
                Error::new(
                    ErrorKind::Network,
                    format!("{what}: the connection broke ({e})"),
                )
            })? {
                let end = filled + chunk.len();
                if end > buf.len() {
                    return Err(Error::new(
                        ErrorKind::Server,
                        format!("{what}: the server sent more bytes than asked"),
                    ));
                }
                buf[filled..end].copy_from_slice(&chunk);
                filled = end;
                read.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
            if filled != buf.len() {
                return Err(Error::new(
                    ErrorKind::Network,
                    format!("{what}: {filled} bytes arrived instead of {}", part.len),
                ));
            }
            Ok(Bytes::from(buf))
        };
        ctx.watched(&what, read.clone(), attempt)
    })
    .await
}

/// The source's full-object checksum, when it keeps one (a composite one is not of the bytes).
fn full_checksum(head: &HeadObjectOutput) -> Option<checksum::FullChecksum> {
    checksum::full_object(
        head.checksum_crc32(),
        head.checksum_crc32_c(),
        head.checksum_crc64_nvme(),
        head.checksum_type(),
    )
}

fn mismatch(what: &str, against: &str) -> Error {
    Error::new(
        ErrorKind::Corrupt,
        format!("{what}: the bytes read from the source do not match its {against}; nothing was kept, the source is untouched. Run it again"),
    )
}

#[allow(clippy::too_many_arguments)] // the two sides and what the row says of the source
async fn multipart(
    ctx: &Arc<Ctx>,
    from: &Requests,
    to: &Requests,
    src: &S3Url,
    head: &HeadObjectOutput,
    spec: &CopySpec,
    source: Source,
) -> Result<RunStats> {
    let size = source.size;
    let planned = plan::parts(size, ctx.row.part_size);
    let recorded = ctx.store.parts(&ctx.row.id)?.len();
    if source.upload_id.is_some()
        && recorded == planned.len()
        && finished_before(ctx, to, &source).await?
    {
        return recognised(super::finish(ctx, from, src, spec, 0).await?, ctx);
    }
    let (upload_id, done) = match resume(ctx, &source, &planned).await? {
        Some(resumed) => resumed,
        None => {
            ctx.store.clear_parts(&ctx.row.id)?;
            let attrs = attributes(head, spec);
            let tagging = readable_tags(from, src).await?;
            let id = start_upload(
                ctx,
                to,
                &attrs,
                tagging,
                spec,
                Some(ChecksumAlgorithm::Crc32C),
            )
            .await?;
            (id, Default::default())
        }
    };
    let reused = done.len() as u64;
    let todo = crate::transfer::remaining(ctx, &planned, &done, "streamed copy between accounts");
    let sent = todo.len() as u64;
    let shared = Arc::new((upload_id.clone(), src.clone(), source.etag.clone()));
    for_each_part(
        ctx,
        todo,
        |p| p.len,
        |ctx, part| {
            let shared = shared.clone();
            async move {
                let (upload_id, src, etag) = &*shared;
                let data = read_range(&ctx, src, etag.as_deref(), part).await?;
                upload::send_part(&ctx, upload_id, part, data).await
            }
        },
    )
    .await?;
    let etag = upload::complete_upload(ctx, &upload_id, size, planned.len()).await?;
    let parts = ctx.store.parts(&ctx.row.id)?;
    let what = super::what(ctx, src);
    let copy = to
        .head_with_checksums(&what, &ctx.row.bucket, &ctx.row.key)
        .await?;
    if !made_of_parts(&copy, etag.as_deref(), size, &parts) {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!("{what}: the copy is not made of the parts sent (size, ETag or CRC32C differ); the source was kept"),
        ));
    }
    let verified = check_source_parts(&what, head, &parts)?;
    let mut stats = super::finish(ctx, from, src, spec, sent).await?;
    stats.parts_total = planned.len() as u64;
    stats.parts_reused = reused;
    stats.verified = verified;
    Ok(stats)
}

/// The kept upload and the parts the destination holds of it; `None` when there is none to resume
/// (never started, or gone from the server).
async fn resume(
    ctx: &Ctx,
    source: &Source,
    planned: &[Part],
) -> Result<Option<(String, std::collections::HashMap<u32, PartRow>)>> {
    let Some(id) = source.upload_id.clone() else {
        return Ok(None);
    };
    match upload::reconcile(ctx, &id, planned).await {
        Ok(done) => Ok(Some((id, done))),
        Err(e) if e.kind == ErrorKind::UploadGone => {
            tracing::warn!(transfer = %ctx.row.id, "the multipart upload is gone from the destination; starting over");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Whether the destination's object is the one the committed parts make: its size, and its ETag
/// (the MD5 of the parts' MD5s) or, where part ETags are not MD5s, its composite CRC32C.
fn made_of_parts(
    copy: &HeadObjectOutput,
    etag: Option<&str>,
    size: u64,
    parts: &[PartRow],
) -> bool {
    if copy.content_length() != Some(size as i64) {
        return false;
    }
    if let Some(expected) = multipart_etag(parts) {
        return same_etag(copy.e_tag().or(etag), Some(&expected));
    }
    let algo = Algorithm::Crc32c;
    let values: Option<Vec<u64>> = parts
        .iter()
        .map(|p| p.checksum.as_deref().and_then(|c| algo.decode(c)))
        .collect();
    match (copy.checksum_crc32_c().filter(|c| c.contains('-')), values) {
        (Some(sum), Some(values)) => checksum::Composite::of(algo, &values) == sum,
        _ => false,
    }
}

/// Checks the parts read against the source's full-object CRC32C (their CRC32Cs combined), when the
/// source keeps one. Returns what it was checked against.
fn check_source_parts(
    what: &str,
    head: &HeadObjectOutput,
    parts: &[PartRow],
) -> Result<Option<&'static str>> {
    let full = full_checksum(head);
    let Some(full) = full.filter(|f| f.algo == Algorithm::Crc32c) else {
        return Ok(None);
    };
    let combined = checksum::combine(
        Algorithm::Crc32c,
        parts.iter().map(|p| (p.checksum.as_deref(), p.len)),
    );
    if combined.as_deref() != Some(full.value.as_str()) {
        return Err(mismatch(what, full.algo.name()));
    }
    Ok(Some(full.algo.name()))
}

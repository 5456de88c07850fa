//! One upload: a single PutObject for small files, a multipart upload for the rest.
//!
//! Multipart protocol: the upload id is committed before the first part; each part is read from disk
//! when its turn comes (positioned read of exactly that part, so memory is bounded by the parts in
//! flight, never by the file size), sent with its CRC32C, and its ETag committed before it counts.
//! On resume, ListParts (paginated, sorted here) is the truth: a part is skipped only if the server
//! holds it at the right size and we know its ETag. The source's size and mtime are checked before
//! anything is sent, after every part is read, and before Complete: a changed source is an error, and
//! a mixed object is never completed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;

use super::{checksum, crc32c_b64, for_each_part, mtime_ns, send_counted, Ctx, RunStats};
use crate::error::{Error, ErrorKind, Result};
use crate::plan::{self, Part};
use crate::store::PartRow;

pub(crate) use super::options::with_object_options;
pub use super::options::{check_sse, content_type, ObjectOptions};

pub async fn run(ctx: Arc<Ctx>) -> Result<RunStats> {
    let row = &ctx.row;
    let size = row.size.unwrap_or(0);
    check_source(&ctx)?;
    if plan::is_single_put(size, row.part_size) {
        single_put(&ctx, size).await
    } else {
        multipart(ctx, size).await
    }
}

fn target(ctx: &Ctx) -> String {
    format!("upload to s3://{}/{}", ctx.row.bucket, ctx.row.key)
}

/// The source must be the file that was enqueued: same size, same mtime.
fn check_source(ctx: &Ctx) -> Result<()> {
    let path = &ctx.row.local_path;
    let meta = std::fs::metadata(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::new(
                ErrorKind::Changed,
                format!(
                    "the source file {} is gone; the upload was stopped",
                    path.display()
                ),
            )
        } else {
            Error::io("cannot read", path, e)
        }
    })?;
    if Some(meta.len()) != ctx.row.size || Some(mtime_ns(&meta)) != ctx.row.source_mtime_ns {
        return Err(Error::new(
            ErrorKind::Changed,
            format!(
                "the source file {} changed since its upload started; the partial upload was discarded and \
                 nothing was written to the bucket. Run `ferry cp` again to upload the new version",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Reads `len` bytes at `offset` into a pooled buffer on the blocking pool, then checks the file did
/// not change meanwhile. Hand the buffer back with `ctx.buffers.give` once the part is sent.
async fn read_part(ctx: &Ctx, offset: u64, len: u64) -> Result<Bytes> {
    let path = ctx.row.local_path.clone();
    let buf = ctx.buffers.take(len as usize);
    let buf = tokio::task::spawn_blocking(move || read_at(&path, offset, buf))
        .await
        .map_err(|e| Error::internal(format!("reading a part: {e}")))??;
    check_source(ctx)?;
    Ok(Bytes::from(buf))
}

fn read_at(path: &Path, offset: u64, mut buf: Vec<u8>) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        f.read_exact_at(&mut buf, offset)
            .map_err(|e| Error::io("cannot read", path, e))?;
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = f;
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| Error::io("cannot read", path, e))?;
        f.read_exact(&mut buf)
            .map_err(|e| Error::io("cannot read", path, e))?;
    }
    Ok(buf)
}

async fn single_put(ctx: &Ctx, size: u64) -> Result<RunStats> {
    let options = ObjectOptions::of(ctx.row.object_options.as_deref())?;
    let _permits = ctx.admit_part(size, size).await?;
    let data = read_part(ctx, 0, size).await?;
    let checksum = crc32c_b64(&data);
    let what = target(ctx);
    let out = send_counted(ctx, &what, &data, |body| {
        let req = ctx
            .client
            .put_object()
            .bucket(&ctx.row.bucket)
            .key(&ctx.row.key)
            .content_length(size as i64)
            .checksum_crc32_c(&checksum)
            .body(body);
        let req = with_object_options!(req, options, &ctx.row.key, ctx.row.source_mtime_ns);
        let what = what.clone();
        async move { req.send().await.map_err(|e| Error::from_sdk(&what, e)) }
    })
    .await;
    ctx.buffers.give(data);
    let out = out?;
    let etag = out.e_tag().map(str::to_string);
    if let Err(e) = ctx
        .store
        .complete_grouped(&ctx.row.id, &ctx.owner, size, etag.as_deref(), None)
        .await
    {
        ctx.counter.unsend(size);
        return Err(e);
    }
    ctx.counter.kept(size);
    Ok(RunStats {
        bytes_total: size,
        bytes_sent: ctx.counter.sent(),
        parts_total: 1,
        parts_reused: 0,
        parts_sent: 1,
        verified: None,
        download: false,
    })
}

/// Parts the server holds for `upload_id`: number → (size, ETag). Follows every page.
/// The parts the server holds: number → (size, ETag, CRC32C).
#[allow(clippy::type_complexity)]
pub(super) async fn server_parts(
    ctx: &Ctx,
    upload_id: &str,
) -> Result<HashMap<u32, (u64, Option<String>, Option<String>)>> {
    let mut parts = HashMap::new();
    let mut marker: Option<String> = None;
    loop {
        let what = format!("list parts of s3://{}/{}", ctx.row.bucket, ctx.row.key);
        let page = ctx
            .retrying(&what, || {
                let mut req = ctx
                    .client
                    .list_parts()
                    .bucket(&ctx.row.bucket)
                    .key(&ctx.row.key)
                    .upload_id(upload_id);
                if let Some(m) = &marker {
                    req = req.part_number_marker(m);
                }
                let what = what.clone();
                async move { req.send().await.map_err(|e| Error::from_sdk(&what, e)) }
            })
            .await?;
        for p in page.parts() {
            if let Some(n) = p.part_number() {
                parts.insert(
                    n as u32,
                    (
                        p.size().unwrap_or(-1).max(0) as u64,
                        p.e_tag().map(str::to_string),
                        p.checksum_crc32_c().map(str::to_string),
                    ),
                );
            }
        }
        let next = page.next_part_number_marker().map(str::to_string);
        if page.is_truncated() == Some(true) && next.is_some() && next != marker {
            marker = next;
        } else {
            break;
        }
    }
    Ok(parts)
}

/// Starts a multipart upload and commits its id before any part is sent.
async fn create_upload(ctx: &Ctx) -> Result<String> {
    let options = ObjectOptions::of(ctx.row.object_options.as_deref())?;
    let what = format!(
        "start the upload of s3://{}/{}",
        ctx.row.bucket, ctx.row.key
    );
    let out = ctx
        .retrying(&what, || {
            let req = ctx
                .client
                .create_multipart_upload()
                .bucket(&ctx.row.bucket)
                .key(&ctx.row.key)
                .checksum_algorithm(ChecksumAlgorithm::Crc32C);
            let req = with_object_options!(req, options, &ctx.row.key, ctx.row.source_mtime_ns);
            let what = what.clone();
            async move { req.send().await.map_err(|e| Error::from_sdk(&what, e)) }
        })
        .await?;
    let id = out
        .upload_id()
        .ok_or_else(|| Error::internal(format!("{what}: the server returned no upload id")))?
        .to_string();
    ctx.store.set_upload_id(&ctx.row.id, Some(&id))?;
    Ok(id)
}

/// Which planned parts are already done, reconciled with the server. Commits parts the server holds
/// that were sent but not yet committed when the last run stopped.
pub(super) async fn reconcile(
    ctx: &Ctx,
    upload_id: &str,
    planned: &[Part],
) -> Result<HashMap<u32, PartRow>> {
    let server = server_parts(ctx, upload_id).await?;
    let local = ctx.store.parts_by_number(&ctx.row.id)?;
    let mut done = HashMap::new();
    for part in planned {
        let Some((size, server_etag, server_crc)) = server.get(&part.number) else {
            continue;
        };
        if *size != part.len {
            continue;
        }
        let local_row = local
            .get(&part.number)
            .filter(|p| p.offset == part.offset && p.len == part.len);
        let etag = match (server_etag, local_row.and_then(|p| p.etag.clone())) {
            (Some(s), Some(l)) if s.trim_matches('"') != l.trim_matches('"') => continue,
            (Some(s), _) => s.clone(),
            (None, Some(l)) => l,
            (None, None) => continue,
        };
        // Complete must list each part's CRC32C (the upload declared it): a part whose CRC32C
        // neither side knows is sent again.
        let Some(checksum) = local_row
            .and_then(|p| p.checksum.clone())
            .or_else(|| server_crc.clone())
        else {
            continue;
        };
        let row = PartRow {
            number: part.number,
            offset: part.offset,
            len: part.len,
            etag: Some(etag),
            checksum: Some(checksum),
        };
        if local_row.is_none() {
            ctx.store.record_part(&ctx.row.id, &row)?;
        }
        done.insert(part.number, row);
    }
    Ok(done)
}

async fn multipart(ctx: Arc<Ctx>, size: u64) -> Result<RunStats> {
    let planned = plan::parts(size, ctx.row.part_size);
    let (upload_id, done) = resume_or_create(&ctx, &planned).await?;
    let reused = done.len() as u64;
    let upload_id = Arc::new(upload_id);
    let todo = super::remaining(&ctx, &planned, &done, "multipart upload");
    let sent = todo.len() as u64;
    for_each_part(
        &ctx,
        todo,
        |p| p.len,
        |ctx, part| {
            let upload_id = upload_id.clone();
            async move { upload_part(&ctx, &upload_id, part).await }
        },
    )
    .await?;

    check_source(&ctx)?;
    // A pause that landed as the last parts finished keeps them; Complete waits for the resume.
    if ctx.stopping.is_cancelled() {
        return Err(Error::interrupted());
    }
    let etag = complete_upload(&ctx, &upload_id, size, planned.len()).await?;
    ctx.store
        .complete_grouped(&ctx.row.id, &ctx.owner, size, etag.as_deref(), None)
        .await?;
    Ok(RunStats {
        bytes_total: size,
        bytes_sent: ctx.counter.sent(),
        parts_total: planned.len() as u64,
        parts_reused: reused,
        parts_sent: sent,
        verified: None,
        download: false,
    })
}

/// The upload id to send parts under and the parts the server already holds: the recorded upload
/// when it is still there, otherwise a new one (forgetting parts committed under the old one).
async fn resume_or_create(ctx: &Ctx, planned: &[Part]) -> Result<(String, HashMap<u32, PartRow>)> {
    match ctx.row.upload_id.clone() {
        Some(id) => match reconcile(ctx, &id, planned).await {
            Ok(done) => Ok((id, done)),
            Err(e) if e.kind == ErrorKind::UploadGone => {
                // Every part recorded: a previous run may have completed the upload and died before
                // recording it. Complete then recognises the object instead of sending it again.
                let recorded = recorded_parts(ctx, planned)?;
                if recorded.len() == planned.len() && completed_before(ctx, planned).await? {
                    return Ok((id, recorded));
                }
                tracing::warn!(transfer = %ctx.row.id, "the multipart upload is gone from the server; starting over");
                ctx.store.clear_parts(&ctx.row.id)?;
                Ok((create_upload(ctx).await?, HashMap::new()))
            }
            Err(e) => Err(e),
        },
        None => {
            ctx.store.clear_parts(&ctx.row.id)?;
            Ok((create_upload(ctx).await?, HashMap::new()))
        }
    }
}

/// The parts committed here that match the plan, with their CRC32C (what Complete lists).
fn recorded_parts(ctx: &Ctx, planned: &[Part]) -> Result<HashMap<u32, PartRow>> {
    Ok(ctx
        .store
        .parts(&ctx.row.id)?
        .into_iter()
        .filter(|p| {
            p.checksum.is_some()
                && planned
                    .iter()
                    .any(|q| q.number == p.number && q.offset == p.offset && q.len == p.len)
        })
        .map(|p| (p.number, p))
        .collect())
}

/// Whether the object at the key is the one the recorded parts make (a previous run completed the
/// upload and died before recording it).
///
/// The server may still be assembling the object a killed run asked it to complete (the upload is
/// gone, the object not there yet): it is looked for a few times, with the retry policy's backoff,
/// before the upload starts over.
async fn completed_before(ctx: &Ctx, planned: &[Part]) -> Result<bool> {
    let size = planned.last().map_or(0, |p| p.offset + p.len);
    let parts = ctx.store.parts(&ctx.row.id)?;
    for attempt in 1..=ctx.retry.attempts.max(1) {
        if object_made_of(ctx, size, &parts).await.is_some() {
            return Ok(true);
        }
        if attempt < ctx.retry.attempts {
            tokio::select! {
                _ = ctx.token.cancelled() => return Err(Error::interrupted()),
                _ = tokio::time::sleep(ctx.retry.backoff(attempt)) => {}
            }
        }
    }
    Ok(false)
}

/// The object at the key, when it is the one `parts` make (see [`is_our_upload`]).
async fn object_made_of(ctx: &Ctx, size: u64, parts: &[PartRow]) -> Option<HeadObjectOutput> {
    let head = ctx
        .client
        .head_object()
        .bucket(&ctx.row.bucket)
        .key(&ctx.row.key)
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .ok()?;
    is_our_upload(&head, size, parts).then_some(head)
}

/// Whether the object at the key is the one these recorded parts make: the right size, and, when
/// the server keeps a composite CRC32C, exactly the composite of the parts' CRC32Cs.
fn is_our_upload(head: &HeadObjectOutput, size: u64, parts: &[PartRow]) -> bool {
    if head.content_length() != Some(size as i64) {
        return false;
    }
    let Some(sum) = head.checksum_crc32_c().filter(|s| s.contains('-')) else {
        return true;
    };
    let algo = checksum::Algorithm::Crc32c;
    let values: Option<Vec<u64>> = parts
        .iter()
        .map(|p| p.checksum.as_deref().and_then(|c| algo.decode(c)))
        .collect();
    values.is_some_and(|v| checksum::Composite::of(algo, &v) == sum)
}

/// Completes the upload from the parts committed (all `planned` of them, or it refuses) and returns
/// the object's ETag. An upload the server no longer knows may be one a previous run completed
/// before dying: an object of the right size at the key counts as that.
pub(super) async fn complete_upload(
    ctx: &Ctx,
    upload_id: &str,
    size: u64,
    planned: usize,
) -> Result<Option<String>> {
    let parts = ctx.store.parts(&ctx.row.id)?;
    if parts.len() != planned {
        return Err(Error::internal(format!(
            "{}: {} of {} parts are recorded; run it again to send the rest",
            target(ctx),
            parts.len(),
            planned
        )));
    }
    let completed = CompletedMultipartUpload::builder()
        .set_parts(Some(
            parts
                .iter()
                .map(|p| {
                    CompletedPart::builder()
                        .part_number(p.number as i32)
                        .set_e_tag(p.etag.clone())
                        .set_checksum_crc32_c(p.checksum.clone())
                        .build()
                })
                .collect(),
        ))
        .build();
    let what = format!(
        "complete the upload of s3://{}/{}",
        ctx.row.bucket, ctx.row.key
    );
    let result = ctx
        .retrying(&what, || {
            let req = ctx
                .client
                .complete_multipart_upload()
                .bucket(&ctx.row.bucket)
                .key(&ctx.row.key)
                .upload_id(upload_id)
                .multipart_upload(completed.clone());
            let what = what.clone();
            async move { req.send().await.map_err(|e| Error::from_sdk(&what, e)) }
        })
        .await;
    match result {
        Ok(out) => Ok(out.e_tag().map(str::to_string)),
        Err(e) if e.kind == ErrorKind::UploadGone => {
            // A previous run may have completed it and died before recording that.
            match object_made_of(ctx, size, &parts).await {
                Some(head) => Ok(head.e_tag().map(str::to_string)),
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// Sends one part and commits it; its bytes count as done only then (as moving meanwhile).
async fn upload_part(ctx: &Ctx, upload_id: &str, part: Part) -> Result<()> {
    let data = read_part(ctx, part.offset, part.len).await?;
    send_part(ctx, upload_id, part, data).await
}

/// Sends `data` as part `part.number` with its CRC32C, hands the buffer back, and commits the
/// part's ETag and CRC32C (a copy between accounts sends the ranges it read the same way).
pub(super) async fn send_part(ctx: &Ctx, upload_id: &str, part: Part, data: Bytes) -> Result<()> {
    let checksum = crc32c_b64(&data);
    let what = format!(
        "upload part {} of s3://{}/{}",
        part.number, ctx.row.bucket, ctx.row.key
    );
    let out = send_counted(ctx, &what, &data, |body| {
        let req = ctx
            .client
            .upload_part()
            .bucket(&ctx.row.bucket)
            .key(&ctx.row.key)
            .upload_id(upload_id)
            .part_number(part.number as i32)
            .content_length(part.len as i64)
            .checksum_crc32_c(&checksum)
            .body(body);
        let what = what.clone();
        async move { req.send().await.map_err(|e| Error::from_sdk(&what, e)) }
    })
    .await;
    ctx.buffers.give(data);
    // A failed send took its bytes back; from here on they are all counted as moving.
    let out = out?;
    let committed = commit_part(ctx, &what, part, checksum, &out).await;
    match committed {
        Ok(()) => ctx.counter.kept(part.len),
        Err(_) => ctx.counter.unsend(part.len),
    }
    committed
}

/// Checks the server's answer to a part and commits the part.
async fn commit_part(
    ctx: &Ctx,
    what: &str,
    part: Part,
    checksum: String,
    out: &aws_sdk_s3::operation::upload_part::UploadPartOutput,
) -> Result<()> {
    if let Some(returned) = out.checksum_crc32_c() {
        if returned != checksum {
            return Err(Error::new(
                ErrorKind::Server,
                format!(
                    "{what}: the server computed a different checksum; the part will be sent again"
                ),
            ));
        }
    }
    let etag = out
        .e_tag()
        .ok_or_else(|| Error::internal(format!("{what}: the server returned no ETag")))?;
    ctx.record_held_part(part, etag, Some(checksum)).await?;
    Ok(())
}

/// Aborts the multipart upload of a transfer, if it has one; a missing upload is not an error.
pub async fn abort(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    upload_id: &str,
) -> Result<()> {
    let what = format!("abort the upload of s3://{bucket}/{key}");
    match client
        .abort_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = Error::from_sdk(&what, e);
            if e.kind == ErrorKind::UploadGone || e.kind == ErrorKind::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}

//! One server-side copy within an account: the storage copies the bytes, Ferry sends only requests.
//! (A copy from another account, whose spec names the source's, streams through Ferry instead:
//! see `streamed.rs`; it shares this module's verification, attributes and recognition of a run
//! killed after it finished.)
//!
//! The row names the source in `local_path` (`s3://bucket/key`), the destination in `bucket`/`key`,
//! the source's size and ETag as they were when the copy was queued in `size`/`etag`, and what else
//! to do in `object_options` (a [`CopySpec`]: a move, encryption, attributes to change).
//!
//! Up to the single-copy limit (S3's 5 GiB; lower in tests) one CopyObject. Above it, a multipart
//! copy: CreateMultipartUpload carrying the source's attributes (content type, cache control,
//! disposition, encoding, language, user metadata, storage class, tags: UploadPartCopy copies bytes
//! only), its upload id committed before the first part; one UploadPartCopy per range, each
//! conditional on the source's ETag (`x-amz-copy-source-if-match`) so a source replaced midway is
//! never stitched into the copy; each part's ETag committed before it counts; then Complete.
//!
//! Resume is an upload's: ListParts of the kept upload id is the truth, parts the server holds at
//! the right size are not copied again, and an upload id the server forgot starts over. Cancel aborts
//! the multipart upload like an upload's.
//!
//! A copy is verified before it completes, and a move deletes its source only then: the same size
//! and, for a single copy, the same ETag (or the same full-object checksum); for a multipart copy,
//! the ETag S3 derives from the parts committed (the MD5 of their MD5s, `-N`), which proves the
//! object is made of exactly the ranges copied under the source's ETag. A copy that does not verify
//! fails and its source stays. A move killed after deleting its source and before recording it is
//! recognised on the next run by its destination.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::types::{ChecksumAlgorithm, MetadataDirective, ServerSideEncryption, StorageClass};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::{for_each_part, Ctx, RunStats};
use crate::error::{Error, ErrorKind, Result};
use crate::plan::{self, Part};
use crate::s3::{Requests, S3Url};
use crate::store::PartRow;

mod spec;

pub(crate) use spec::Attributes;
pub use spec::{CopySpec, ObjectEdit};

/// S3's limit for one CopyObject, and the default single-copy limit.
pub const MAX_SINGLE_COPY: u64 = 5 * plan::GIB;

/// What `x-amz-copy-source` leaves unescaped in a key: the unreserved characters and `/`.
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// Sets [`Attributes`] on a CopyObject or CreateMultipartUpload request (their builders share these
/// setters but no trait).
macro_rules! with_attributes {
    ($req:expr, $a:expr) => {
        $req.set_content_type($a.content_type.clone())
            .set_cache_control($a.cache_control.clone())
            .set_content_disposition($a.content_disposition.clone())
            .set_content_encoding($a.content_encoding.clone())
            .set_content_language($a.content_language.clone())
            .set_website_redirect_location($a.website_redirect_location.clone())
            .set_metadata((!$a.metadata.is_empty()).then(|| $a.metadata.clone()))
            .set_storage_class($a.storage_class.as_deref().map(StorageClass::from))
    };
}

mod streamed;

/// The source of a copy transfer, from its row.
pub fn source(ctx: &Ctx) -> Result<S3Url> {
    let text = ctx.row.local_path.to_string_lossy();
    S3Url::parse(&text)
}

/// `x-amz-copy-source` for an object.
pub fn copy_source(src: &S3Url) -> String {
    copy_source_of(&src.bucket, &src.key, None)
}

/// `x-amz-copy-source` for `key` in `bucket`: its version `version`, else the current one.
pub fn copy_source_of(bucket: &str, key: &str, version: Option<&str>) -> String {
    let source = format!("{bucket}/{}", utf8_percent_encode(key, COPY_SOURCE));
    match version {
        Some(v) => format!("{source}?versionId={}", utf8_percent_encode(v, COPY_SOURCE)),
        None => source,
    }
}

/// Refuses a single CopyObject of more than S3's 5 GiB limit, saying what to do.
pub fn too_big_to_copy(what: &str, size: u64) -> Result<()> {
    if size > MAX_SINGLE_COPY {
        return Err(Error::invalid(format!(
            "{what}: a version over 5 GiB cannot be restored in one copy, and Ferry does not restore it in parts yet; nothing was changed"
        )));
    }
    Ok(())
}

fn what(ctx: &Ctx, src: &S3Url) -> String {
    format!("copy {src} to s3://{}/{}", ctx.row.bucket, ctx.row.key)
}

fn requests(ctx: &Ctx) -> Requests {
    Requests::new(ctx.client.clone(), ctx.retry, ctx.token.clone())
}

pub async fn run(ctx: Arc<Ctx>) -> Result<RunStats> {
    let src = source(&ctx)?;
    let spec = CopySpec::of(ctx.row.object_options.as_deref())?;
    if spec.source.is_some() {
        return streamed::run(ctx, &src, &spec).await;
    }
    let size = ctx.row.size.unwrap_or(0);
    let what = what(&ctx, &src);
    let s3 = requests(&ctx);
    let head = match s3.head_with_checksums(&what, &src.bucket, &src.key).await {
        Ok(h) => h,
        // A move killed after deleting its source, before recording that: its copy is whole.
        Err(e) if e.kind == ErrorKind::NotFound && spec.delete_source => {
            return match finished_before(&ctx, &s3, &Source::of_row(&ctx)).await? {
                true => recognised(completed(&ctx, size, 0).await?, &ctx),
                false => Err(Error::not_found(format!(
                    "{what}: the source is gone; nothing was copied"
                ))),
            };
        }
        Err(e) => return Err(e),
    };
    let etag_changed = ctx.row.etag.is_some() && !same_etag(head.e_tag(), ctx.row.etag.as_deref());
    if etag_changed || head.content_length() != Some(size as i64) {
        // A multipart copy killed after the server completed it: an edit in place changed its
        // own source so. Recognised, it is recorded; a source that changed is never deleted.
        if ctx.row.upload_id.is_some() && finished_before(&ctx, &s3, &Source::of_row(&ctx)).await? {
            return recognised(completed(&ctx, size, 0).await?, &ctx);
        }
        return Err(Error::new(
            ErrorKind::Changed,
            format!("{what}: the source changed since the copy was queued; nothing of the new version was copied. Run the copy again to copy it as it is now"),
        ));
    }
    if ctx.row.upload_id.is_none() && size <= ctx.single_copy_max {
        single(&ctx, &s3, &src, &head, &spec).await
    } else {
        multipart(ctx.clone(), &s3, &src, &head, &spec).await
    }
}

/// What a copy's row says of its source: its size and ETag when queued, and the upload id kept.
struct Source {
    size: u64,
    etag: Option<String>,
    upload_id: Option<String>,
}

impl Source {
    fn of_row(ctx: &Ctx) -> Source {
        Source {
            size: ctx.row.size.unwrap_or(0),
            etag: ctx.row.etag.clone(),
            upload_id: ctx.row.upload_id.clone(),
        }
    }

    /// As the store holds it now (a run may have changed it since the row was read).
    fn stored(ctx: &Ctx) -> Result<Source> {
        let row = ctx.store.get(&ctx.row.id)?.ok_or_else(|| {
            Error::not_found(format!("transfer {} is no longer in the queue", ctx.row.id))
        })?;
        Ok(Source {
            size: row.size.unwrap_or(0),
            etag: row.etag,
            upload_id: row.upload_id,
        })
    }
}

/// Whether the destination is already this copy (a killed run made it): the source's size, and
/// its ETag (single copy) or the ETag of the recorded parts (multipart).
async fn finished_before(ctx: &Ctx, s3: &Requests, source: &Source) -> Result<bool> {
    let what = format!("check s3://{}/{}", ctx.row.bucket, ctx.row.key);
    let dest = match s3.head_object(&what, &ctx.row.bucket, &ctx.row.key).await {
        Ok(h) => h,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if dest.content_length() != Some(source.size as i64) {
        return Ok(false);
    }
    let parts = ctx.store.parts(&ctx.row.id)?;
    let expected = match source.upload_id {
        Some(_) => multipart_etag(&parts),
        None => source.etag.clone(),
    };
    Ok(expected.is_some() && same_etag(dest.e_tag(), expected.as_deref()))
}

fn same_etag(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.trim_matches('"') == b.trim_matches('"'),
        _ => false,
    }
}

async fn completed(ctx: &Ctx, size: u64, parts_sent: u64) -> Result<RunStats> {
    ctx.counter.set_done(size);
    // The row keeps the source's ETag: what the copy was made of.
    ctx.store
        .complete_grouped(&ctx.row.id, &ctx.owner, size, None, None)
        .await?;
    Ok(RunStats {
        bytes_total: size,
        bytes_sent: 0,
        parts_total: parts_sent.max(1),
        parts_reused: 0,
        parts_sent,
        verified: None,
        download: false,
    })
}

/// The stats of a run that found its copy already made: every part reused, none sent.
fn recognised(mut stats: RunStats, ctx: &Ctx) -> Result<RunStats> {
    if ctx.row.upload_id.is_some() {
        stats.parts_total = plan::parts(stats.bytes_total, ctx.row.part_size).len() as u64;
    }
    stats.parts_reused = stats.parts_total;
    Ok(stats)
}

async fn single(
    ctx: &Ctx,
    s3: &Requests,
    src: &S3Url,
    head: &HeadObjectOutput,
    spec: &CopySpec,
) -> Result<RunStats> {
    let what = what(ctx, src);
    let source = copy_source(src);
    let etag = ctx.row.etag.clone();
    // Without REPLACE, S3 keeps the metadata, content type and tags, but not the storage class.
    let keep_class = head.storage_class().cloned();
    let edited = spec.edit.as_ref().map(|e| Attributes::of(head).edited(e));
    s3.send(&what, |c| {
        let req = c
            .copy_object()
            .bucket(&ctx.row.bucket)
            .key(&ctx.row.key)
            .copy_source(&source)
            .set_copy_source_if_match(etag.clone())
            .set_server_side_encryption(spec.sse.as_deref().map(ServerSideEncryption::from))
            .set_ssekms_key_id(spec.sse_kms_key_id.clone());
        let req = match &edited {
            Some(a) => with_attributes!(req, a).metadata_directive(MetadataDirective::Replace),
            None => req.set_storage_class(keep_class.clone()),
        };
        req.send()
    })
    .await?;
    let copy = s3
        .head_with_checksums(&what, &ctx.row.bucket, &ctx.row.key)
        .await?;
    if !same_object(head, &copy) {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!("{what}: the copy does not match its source (size, ETag or checksum); the source was kept"),
        ));
    }
    finish(ctx, s3, src, spec, 1).await
}

/// Deletes a move's source through `source_s3` (its account's door) once its copy is verified, and
/// records the transfer completed.
async fn finish(
    ctx: &Ctx,
    source_s3: &Requests,
    src: &S3Url,
    spec: &CopySpec,
    parts_sent: u64,
) -> Result<RunStats> {
    let in_place = spec.source.is_none() && src.bucket == ctx.row.bucket && src.key == ctx.row.key;
    if spec.delete_source && !in_place {
        // The source replaced since it was copied: the new version is not the copy's to delete.
        let copied = Source::stored(ctx)?.etag;
        let what = format!("move {src}");
        let now = source_s3.head_object(&what, &src.bucket, &src.key).await?;
        if !same_etag(now.e_tag(), copied.as_deref()) {
            return Err(Error::new(
                ErrorKind::Changed,
                format!("{what}: the source was replaced after it was copied; the copy holds the version as it was, and the new one was kept. Move it again to move the new version"),
            ));
        }
        source_s3
            .delete_keys(&src.bucket, std::slice::from_ref(&src.key))
            .await?;
    }
    completed(ctx, ctx.row.size.unwrap_or(0), parts_sent).await
}

/// Whether a copy holds its source's bytes, by what the server says of both: the same size, and the
/// same ETag. A multipart source's copy may get a new ETag (S3 computes it afresh), so there the
/// full-object checksums are compared when both sides keep one of a kind, and the size alone
/// decides when they keep none.
pub fn same_object(source: &HeadObjectOutput, copy: &HeadObjectOutput) -> bool {
    if source.content_length() != copy.content_length() {
        return false;
    }
    if source.e_tag() == copy.e_tag() {
        return true;
    }
    if !source.e_tag().is_some_and(|e| e.contains('-')) {
        return false;
    }
    let sums = |h: &HeadObjectOutput| {
        [
            h.checksum_crc32(),
            h.checksum_crc32_c(),
            h.checksum_crc64_nvme(),
        ]
        .map(|c| c.map(str::to_string))
    };
    let pairs: Vec<_> = sums(source)
        .into_iter()
        .zip(sums(copy))
        .filter(|(a, b)| a.is_some() && b.is_some())
        .collect();
    pairs.iter().all(|(a, b)| a == b)
}

/// The ETag S3 gives an object completed from parts with these ETags: the MD5 of their MD5s, `-N`.
/// `None` when a part's ETag is not an MD5 (SSE-KMS, some servers).
pub fn multipart_etag(parts: &[PartRow]) -> Option<String> {
    use md5::Digest as _;
    let mut h = md5::Md5::new();
    for p in parts {
        let hex = p.etag.as_deref()?.trim_matches('"');
        if hex.len() != 32 {
            return None;
        }
        for i in (0..32).step_by(2) {
            h.update([u8::from_str_radix(&hex[i..i + 2], 16).ok()?]);
        }
    }
    let digest = h.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("{hex}-{}", parts.len()))
}

async fn multipart(
    ctx: Arc<Ctx>,
    s3: &Requests,
    src: &S3Url,
    head: &HeadObjectOutput,
    spec: &CopySpec,
) -> Result<RunStats> {
    let size = ctx.row.size.unwrap_or(0);
    let planned = plan::parts(size, ctx.row.part_size);
    // Killed after the server completed the copy, before it was recorded: it is not made again.
    let recorded = ctx.store.parts(&ctx.row.id)?.len();
    if ctx.row.upload_id.is_some()
        && recorded == planned.len()
        && finished_before(&ctx, s3, &Source::of_row(&ctx)).await?
    {
        return recognised(finish(&ctx, s3, src, spec, 0).await?, &ctx);
    }
    let (upload_id, done) = resume_or_create(&ctx, s3, src, head, spec, &planned).await?;
    let reused = done.len() as u64;
    let todo = super::remaining(&ctx, &planned, &done, "multipart copy");
    let sent = todo.len() as u64;
    let (upload_id, source) = (Arc::new(upload_id), Arc::new(copy_source(src)));
    for_each_part(
        &ctx,
        todo,
        |_| 0,
        |ctx, part| {
            let (upload_id, source) = (upload_id.clone(), source.clone());
            async move { copy_part(&ctx, &upload_id, &source, part).await }
        },
    )
    .await?;
    let etag = super::upload::complete_upload(&ctx, &upload_id, size, planned.len()).await?;
    let parts = ctx.store.parts(&ctx.row.id)?;
    let what = what(&ctx, src);
    let copy = s3.head_object(&what, &ctx.row.bucket, &ctx.row.key).await?;
    let expected = multipart_etag(&parts);
    let kms = spec
        .sse
        .as_deref()
        .is_some_and(|m| m.starts_with("aws:kms"));
    let etag_ok = match &expected {
        Some(_) => same_etag(copy.e_tag().or(etag.as_deref()), expected.as_deref()),
        // Part ETags that are not MD5s (SSE-KMS): the size is all there is to compare.
        None => kms,
    };
    if copy.content_length() != Some(size as i64) || !etag_ok {
        return Err(Error::new(
            ErrorKind::Corrupt,
            format!("{what}: the copy is not made of the parts copied (size or ETag differ); the source was kept"),
        ));
    }
    let mut stats = finish(&ctx, s3, src, spec, sent).await?;
    stats.parts_total = planned.len() as u64;
    stats.parts_reused = reused;
    Ok(stats)
}

/// The upload id to copy parts under and the parts the server already holds: the recorded upload
/// when it is still there, otherwise a new one (forgetting parts committed under the old one).
async fn resume_or_create(
    ctx: &Ctx,
    s3: &Requests,
    src: &S3Url,
    head: &HeadObjectOutput,
    spec: &CopySpec,
    planned: &[Part],
) -> Result<(String, HashMap<u32, PartRow>)> {
    if let Some(id) = ctx.row.upload_id.clone() {
        match reconcile(ctx, &id, planned).await {
            Ok(done) => return Ok((id, done)),
            Err(e) if e.kind == ErrorKind::UploadGone => {
                tracing::warn!(transfer = %ctx.row.id, "the multipart copy is gone from the server; starting over");
            }
            Err(e) => return Err(e),
        }
    }
    ctx.store.clear_parts(&ctx.row.id)?;
    let id = create(ctx, s3, src, head, spec).await?;
    Ok((id, HashMap::new()))
}

/// The planned parts the server holds at the right size under `upload_id`, committed here.
async fn reconcile(ctx: &Ctx, upload_id: &str, planned: &[Part]) -> Result<HashMap<u32, PartRow>> {
    let server = super::upload::server_parts(ctx, upload_id).await?;
    let local = ctx.store.parts_by_number(&ctx.row.id)?;
    let mut done = HashMap::new();
    for part in planned {
        let Some((size, Some(etag), _)) = server.get(&part.number) else {
            continue;
        };
        if *size != part.len {
            continue;
        }
        let row = PartRow {
            number: part.number,
            offset: part.offset,
            len: part.len,
            etag: Some(etag.clone()),
            checksum: None,
        };
        if local.get(&part.number) != Some(&row) {
            ctx.store.record_part(&ctx.row.id, &row)?;
        }
        done.insert(part.number, row);
    }
    Ok(done)
}

/// Starts the multipart copy with the source's attributes (changed by the spec's edit) and tags,
/// and commits its id before any part is copied.
async fn create(
    ctx: &Ctx,
    s3: &Requests,
    src: &S3Url,
    head: &HeadObjectOutput,
    spec: &CopySpec,
) -> Result<String> {
    let mut attrs = Attributes::of(head);
    if let Some(edit) = &spec.edit {
        attrs = attrs.edited(edit);
    }
    let tagging = tagging(s3, src).await?;
    start_upload(ctx, s3, &attrs, tagging, spec, None).await
}

/// CreateMultipartUpload at the row's destination with `attrs`, `tagging` and the spec's
/// encryption (and `checksum`, the algorithm its parts declare); its id committed before it returns.
async fn start_upload(
    ctx: &Ctx,
    s3: &Requests,
    attrs: &Attributes,
    tagging: Option<String>,
    spec: &CopySpec,
    checksum: Option<ChecksumAlgorithm>,
) -> Result<String> {
    let what = format!("start the copy to s3://{}/{}", ctx.row.bucket, ctx.row.key);
    let out = s3
        .send(&what, |c| {
            let req = c
                .create_multipart_upload()
                .bucket(&ctx.row.bucket)
                .key(&ctx.row.key)
                .set_tagging(tagging.clone())
                .set_checksum_algorithm(checksum.clone())
                .set_server_side_encryption(spec.sse.as_deref().map(ServerSideEncryption::from))
                .set_ssekms_key_id(spec.sse_kms_key_id.clone());
            with_attributes!(req, attrs).send()
        })
        .await?;
    let id = out
        .upload_id()
        .ok_or_else(|| Error::internal(format!("{what}: the server returned no upload id")))?
        .to_string();
    ctx.store.set_upload_id(&ctx.row.id, Some(&id))?;
    Ok(id)
}

/// The source's tags as CreateMultipartUpload takes them (`a=1&b=2`); none when the server keeps
/// no tags (it does not implement tagging).
async fn tagging(s3: &Requests, src: &S3Url) -> Result<Option<String>> {
    let what = format!("read the tags of {src}");
    let out = match s3
        .client()
        .get_object_tagging()
        .bucket(&src.bucket)
        .key(&src.key)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if e.code() == Some("NotImplemented") => return Ok(None),
        Err(e) => return Err(Error::from_sdk(&what, e)),
    };
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    let tags: Vec<String> = out
        .tag_set()
        .iter()
        .map(|t| format!("{}={}", enc(t.key()), enc(t.value())))
        .collect();
    Ok((!tags.is_empty()).then(|| tags.join("&")))
}

/// Copies one range of the source into part `part.number`, conditional on the source's ETag, and
/// commits the part's ETag.
async fn copy_part(ctx: &Ctx, upload_id: &str, source: &str, part: Part) -> Result<()> {
    let what = format!(
        "copy part {} to s3://{}/{}",
        part.number, ctx.row.bucket, ctx.row.key
    );
    let range = format!("bytes={}-{}", part.offset, part.offset + part.len - 1);
    let out = ctx
        .retrying(&what, || {
            let req = ctx
                .client
                .upload_part_copy()
                .bucket(&ctx.row.bucket)
                .key(&ctx.row.key)
                .upload_id(upload_id)
                .part_number(part.number as i32)
                .copy_source(source)
                .copy_source_range(&range)
                .set_copy_source_if_match(ctx.row.etag.clone());
            let what = what.clone();
            async move { req.send().await.map_err(|e| Error::from_sdk(&what, e)) }
        })
        .await?;
    let etag = out
        .copy_part_result()
        .and_then(|r| r.e_tag())
        .ok_or_else(|| Error::internal(format!("{what}: the server returned no ETag")))?;
    ctx.record_held_part(part, etag, None).await?;
    ctx.counter.add(part.len);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_multipart_etag_is_the_md5_of_the_parts_md5s() {
        use md5::Digest as _;
        let md5 = |b: &[u8]| -> String {
            md5::Md5::digest(b)
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect()
        };
        let part = |n, data: &[u8]| PartRow {
            number: n,
            offset: 0,
            len: data.len() as u64,
            etag: Some(format!("\"{}\"", md5(data))),
            checksum: None,
        };
        let parts = [part(1, b"hello "), part(2, b"world")];
        let mut both = md5::Md5::digest(b"hello ").to_vec();
        both.extend(md5::Md5::digest(b"world"));
        assert_eq!(multipart_etag(&parts), Some(format!("{}-2", md5(&both))));
        let mut kms = parts.clone();
        kms[0].etag = Some("not-an-md5".into());
        assert_eq!(multipart_etag(&kms), None);
    }

    #[test]
    fn an_edit_changes_what_it_names_and_keeps_the_rest() {
        let before = Attributes {
            content_type: Some("image/png".into()),
            cache_control: Some("no-cache".into()),
            content_language: Some("fr".into()),
            metadata: [("owner", "ana"), ("team", "blue")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .into(),
            ..Attributes::default()
        };
        let edit = ObjectEdit {
            content_type: Some("image/webp".into()),
            cache_control: Some(String::new()),
            metadata: [("team".to_string(), "red".to_string())].into(),
            remove_metadata: vec!["owner".into()],
            ..ObjectEdit::default()
        };
        let after = before.clone().edited(&edit);
        assert_eq!(after.content_type.as_deref(), Some("image/webp"));
        assert_eq!(after.cache_control, None, "an empty text removes it");
        assert_eq!(after.content_language.as_deref(), Some("fr"));
        assert_eq!(
            after.metadata,
            [("team".to_string(), "red".to_string())].into()
        );
        assert!(ObjectEdit::default().validate().is_err());
        let both = ObjectEdit {
            metadata: [("a".to_string(), "1".to_string())].into(),
            remove_metadata: vec!["a".into()],
            ..ObjectEdit::default()
        };
        assert!(both.validate().is_err());
        assert!(edit.validate().is_ok());
    }
}

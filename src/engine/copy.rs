//! Server-side copies and moves within one account: the storage copies the bytes (CopyObject), the
//! client sends only requests, so copying a folder of videos costs no download or upload.
//!
//! A request is checked whole before anything is copied: the sources exist, no destination is the
//! source or inside it, and an existing destination follows `if_exists` (refused by default, so
//! nothing is silently overwritten). A move deletes a source only after its copy is verified: same
//! size, and the same ETag (a multipart source's copy gets a new ETag: then the same full-object
//! checksum where the server keeps one, else the size); a copy that fails or does not verify leaves
//! the source where it was. Objects over 5 GiB (UploadPartCopy) are refused for now.

use std::collections::BTreeSet;

use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::*;

/// Objects up to this size are copied by one CopyObject (S3's limit).
const MAX_SINGLE_COPY: u64 = 5 * plan::GIB;

/// What `x-amz-copy-source` leaves unescaped in a key: the unreserved characters and `/`.
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Everything under the source prefix.
    pub recursive: bool,
    /// When a destination exists: refuse the request (default), skip it, or replace it.
    pub if_exists: IfExists,
    /// A move: each source is deleted once its copy is verified.
    pub delete_source: bool,
    /// Server-side encryption of the copies (`AES256`, `aws:kms`); the bucket's default when `None`.
    pub sse: Option<String>,
    /// The KMS key of `aws:kms` copies.
    pub sse_kms_key_id: Option<String>,
}

/// What a copy or move did.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, Serialize)]
pub struct Copied {
    pub copied: usize,
    pub bytes: u64,
    /// Sources deleted after their copy was verified (moves).
    pub moved: usize,
    pub skipped: Vec<Skipped>,
}

impl Engine {
    /// Copies (or moves) an object, or everything under a prefix, to another key or prefix of the
    /// same account, server-side.
    pub async fn copy_objects(
        &self,
        conn: &Connection,
        src: &S3Url,
        dst: &S3Url,
        opts: &CopyOptions,
    ) -> Result<Copied> {
        if opts.if_exists == IfExists::Rename {
            return Err(Error::invalid(
                "--if-exists rename applies to downloads; choose error, skip or overwrite",
            ));
        }
        upload::check_sse(opts.sse.as_deref(), opts.sse_kms_key_id.as_deref())?;
        let s3 = self.requests(conn).await?;
        let pairs = self.copy_pairs(&s3, src, dst, opts).await?;
        let mut out = Copied::default();
        let taken = self.existing_destinations(&s3, dst, &pairs, opts).await?;
        let conflicts: Vec<String> = pairs
            .iter()
            .filter(|(_, to, _)| taken.contains(to))
            .map(|(_, to, _)| format!("s3://{}/{to}", dst.bucket))
            .collect();
        if !conflicts.is_empty() && opts.if_exists == IfExists::Error {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "{} already exist{}; nothing was copied. Choose --if-exists overwrite or skip",
                    conflicts
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    if conflicts.len() == 1 { "s" } else { "" }
                ),
            ));
        }
        for (from, to, size) in pairs {
            if taken.contains(&to) && opts.if_exists == IfExists::Skip {
                out.skipped.push(Skipped {
                    what: format!("s3://{}/{to}", dst.bucket),
                    reason: "already exists".into(),
                });
                continue;
            }
            self.copy_one(&s3, (src, &from), (dst, &to), size, opts)
                .await?;
            out.copied += 1;
            out.bytes += size;
            out.moved += usize::from(opts.delete_source);
        }
        Ok(out)
    }

    /// (source key, destination key, size) of each object the request names.
    async fn copy_pairs(
        &self,
        s3: &s3::Requests,
        src: &S3Url,
        dst: &S3Url,
        opts: &CopyOptions,
    ) -> Result<Vec<(String, String, u64)>> {
        if !opts.recursive {
            if src.key.is_empty() || src.key.ends_with('/') {
                return Err(Error::invalid(format!(
                    "{src} is a prefix; add --recursive to copy everything under it"
                )));
            }
            let head = self.source_head(s3, &src.bucket, &src.key).await?;
            let name = src.key.rsplit('/').next().unwrap_or(&src.key);
            let to = if dst.key.is_empty() || dst.key.ends_with('/') {
                format!("{}{name}", dst.key)
            } else {
                dst.key.clone()
            };
            check_key(&to)?;
            if src.bucket == dst.bucket && src.key == to {
                return Err(Error::invalid(format!(
                    "{src} is its own destination; choose another key"
                )));
            }
            let size = head.content_length().unwrap_or(0).max(0) as u64;
            return Ok(vec![(src.key.clone(), to, size)]);
        }
        let (from_prefix, to_prefix) = (s3::as_folder(&src.key), s3::as_folder(&dst.key));
        if src.bucket == dst.bucket && to_prefix.starts_with(&from_prefix) {
            return Err(Error::invalid(format!(
                "s3://{}/{to_prefix} is inside s3://{}/{from_prefix}; choose a destination outside what is copied",
                dst.bucket, src.bucket
            )));
        }
        self.require_bucket(s3, &dst.bucket).await?;
        let objects = self.list_all(s3, &src.bucket, &from_prefix).await?;
        if objects.is_empty() {
            return Err(Error::not_found(format!(
                "nothing found under s3://{}/{from_prefix}",
                src.bucket
            )));
        }
        objects
            .into_iter()
            .map(|o| {
                let to = format!("{to_prefix}{}", &o.key[from_prefix.len()..]);
                check_key(&to)?;
                Ok((o.key, to, o.size))
            })
            .collect()
    }

    /// The destination keys that already exist (one listing for a prefix, one HEAD for an object).
    async fn existing_destinations(
        &self,
        s3: &s3::Requests,
        dst: &S3Url,
        pairs: &[(String, String, u64)],
        opts: &CopyOptions,
    ) -> Result<BTreeSet<String>> {
        if opts.recursive {
            // Every destination key lies under the destination folder: one listing of it.
            let prefix = s3::as_folder(&dst.key);
            let wanted: BTreeSet<&str> = pairs.iter().map(|(_, to, _)| to.as_str()).collect();
            return Ok(self
                .list_all(s3, &dst.bucket, &prefix)
                .await?
                .into_iter()
                .filter(|o| wanted.contains(o.key.as_str()))
                .map(|o| o.key)
                .collect());
        }
        let mut taken = BTreeSet::new();
        for (_, to, _) in pairs {
            if object_etag(s3, &dst.bucket, to).await.is_some() {
                taken.insert(to.clone());
            }
        }
        Ok(taken)
    }

    async fn source_head(
        &self,
        s3: &s3::Requests,
        bucket: &str,
        key: &str,
    ) -> Result<HeadObjectOutput> {
        let what = format!("copy s3://{bucket}/{key}");
        s3.head_with_checksums(&what, bucket, key).await
    }

    /// Copies one object server-side (metadata, content type and tags kept), verifies the copy, and
    /// for a move deletes the source only then.
    pub(super) async fn copy_one(
        &self,
        s3: &s3::Requests,
        (src, from): (&S3Url, &str),
        (dst, to): (&S3Url, &str),
        size: u64,
        opts: &CopyOptions,
    ) -> Result<()> {
        let what = format!(
            "copy s3://{}/{from} to s3://{}/{to}",
            src.bucket, dst.bucket
        );
        too_big_to_copy(&what, size)?;
        let source = copy_source(&src.bucket, from, None);
        s3.send(&what, |c| {
            c.copy_object()
                .bucket(&dst.bucket)
                .key(to)
                .copy_source(&source)
                .set_server_side_encryption(
                    opts.sse
                        .as_deref()
                        .map(aws_sdk_s3::types::ServerSideEncryption::from),
                )
                .set_ssekms_key_id(opts.sse_kms_key_id.clone())
                .send()
        })
        .await?;
        let before = self.source_head(s3, &src.bucket, from).await?;
        let after = self.source_head(s3, &dst.bucket, to).await?;
        if !same_object(&before, &after) {
            return Err(Error::new(
                ErrorKind::Corrupt,
                format!("{what}: the copy does not match its source (size, ETag or checksum); the source was kept"),
            ));
        }
        if opts.delete_source {
            s3.delete_keys(&src.bucket, &[from.to_string()]).await?;
        }
        Ok(())
    }
}

/// Refuses a server-side copy of more than 5 GiB (one CopyObject's limit), saying what to do.
pub(super) fn too_big_to_copy(what: &str, size: u64) -> Result<()> {
    if size > MAX_SINGLE_COPY {
        return Err(Error::invalid(format!(
            "{what}: objects over 5 GiB need a multipart copy, which Ferry does not do yet; nothing was copied"
        )));
    }
    Ok(())
}

/// The `x-amz-copy-source` of `key` in `bucket` (of its version `version`, else the current one).
pub(super) fn copy_source(bucket: &str, key: &str, version: Option<&str>) -> String {
    let source = format!("{bucket}/{}", utf8_percent_encode(key, COPY_SOURCE));
    match version {
        Some(v) => format!("{source}?versionId={}", utf8_percent_encode(v, COPY_SOURCE)),
        None => source,
    }
}

/// Whether a copy holds its source's bytes, by what the server says of both: the same size, and the
/// same ETag. A multipart source's copy gets a new ETag (S3 computes it afresh), so there the
/// full-object checksums are compared when both sides keep one of a kind, and the size alone
/// decides when they keep none.
pub(super) fn same_object(source: &HeadObjectOutput, copy: &HeadObjectOutput) -> bool {
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

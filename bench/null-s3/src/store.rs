//! `NullS3`: an S3 endpoint that keeps sizes and checksums, never bytes.
//!
//! What it checks, as a real server does: SigV4 (and the payload's SHA-256 or aws-chunked chunk
//! signatures, both done by s3s before a handler runs), and every checksum the client sends with a
//! body (`x-amz-checksum-crc32` / `-crc32c` / `-crc64nvme` / `-sha1` / `-sha256`, as headers or
//! aws-chunked trailers, and `Content-MD5`), which it computes over the bytes as they arrive; a
//! mismatch is refused with `BadDigest` and nothing is recorded. It computes nothing the client did
//! not ask it to check: no MD5 for the ETag (the ETag is an opaque tag, not a digest of the data).
//!
//! What it serves: GET returns the object's [`crate::pattern`] bytes (any range), and with checksum
//! mode a full-object CRC64NVME of those bytes (as S3 reports for new objects), computed once per
//! object and kept. So a download can be verified by the client and by `null-s3 check`.
//!
//! Operations: CreateBucket, HeadBucket, ListBuckets, DeleteBucket, PutObject, HeadObject, GetObject
//! (Range, If-Match), DeleteObject(s), ListObjectsV2 (prefix, delimiter, continuation), multipart
//! (Create, UploadPart, ListParts, Complete, Abort). Everything is in memory and gone at exit.
//!
//! It counts object writes per key ([`Counts`]): how many keys were written more than once is how
//! the benchmark tells files sent twice after a kill and resume.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use futures::StreamExt;
use s3s::checksum::ChecksumHasher;
use s3s::crypto::Checksum as _;
use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result, S3};

use crate::pattern;

/// How many bytes one chunk of a GET's body carries.
const CHUNK: u64 = 256 * 1024;

struct Obj {
    size: u64,
    etag: String,
    modified: SystemTime,
    /// Parts of a multipart upload (HeadObject's PartsCount), none for a single PUT.
    parts: Option<i32>,
    /// CRC64NVME of the served bytes (base64), once asked for.
    served_crc64: Option<String>,
    writes: u32,
}

struct PartRec {
    size: u64,
    etag: String,
    sum: Checksum,
}

struct Upload {
    bucket: String,
    key: String,
    algorithm: Option<ChecksumAlgorithm>,
    parts: BTreeMap<i32, PartRec>,
}

#[derive(Default)]
struct State {
    buckets: BTreeMap<String, BTreeMap<String, Obj>>,
    uploads: HashMap<String, Upload>,
    counts: Counts,
}

/// What the server has been asked to keep, for the benchmark's report.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Objects held now, over all buckets.
    pub objects: u64,
    /// Successful PutObject and CompleteMultipartUpload requests.
    pub writes: u64,
    /// Keys written more than once (an object sent again).
    pub keys_rewritten: u64,
    /// Writes beyond the first per key.
    pub extra_writes: u64,
}

/// The server; clones share one store (the stats task holds one).
#[derive(Default, Clone)]
pub struct NullS3 {
    state: Arc<Mutex<State>>,
    seq: Arc<AtomicU64>,
}

fn now() -> SystemTime {
    SystemTime::now()
}

/// A fresh opaque tag: 32 hex digits, a multipart one ending in `-N` as S3's do.
fn tag(seq: u64, size: u64, parts: Option<i32>) -> String {
    match parts {
        Some(n) => format!("{seq:016x}{size:016x}-{n}"),
        None => format!("{seq:016x}{size:016x}"),
    }
}

/// A hasher for each checksum the request carries or announces.
fn hasher_for(
    sent: &Checksum,
    algorithm: Option<&ChecksumAlgorithm>,
    md5: bool,
) -> S3Result<(ChecksumHasher, Option<s3s::crypto::Md5>)> {
    let mut h = ChecksumHasher::default();
    if sent.checksum_crc32.is_some() {
        h.crc32 = Some(Default::default());
    }
    if sent.checksum_crc32c.is_some() {
        h.crc32c = Some(Default::default());
    }
    if sent.checksum_crc64nvme.is_some() {
        h.crc64nvme = Some(Default::default());
    }
    if sent.checksum_sha1.is_some() {
        h.sha1 = Some(Default::default());
    }
    if sent.checksum_sha256.is_some() {
        h.sha256 = Some(Default::default());
    }
    if let Some(a) = algorithm {
        match a.as_str() {
            ChecksumAlgorithm::CRC32 => h.crc32 = Some(Default::default()),
            ChecksumAlgorithm::CRC32C => h.crc32c = Some(Default::default()),
            ChecksumAlgorithm::CRC64NVME => h.crc64nvme = Some(Default::default()),
            ChecksumAlgorithm::SHA1 => h.sha1 = Some(Default::default()),
            ChecksumAlgorithm::SHA256 => h.sha256 = Some(Default::default()),
            other => {
                return Err(s3_error!(
                    InvalidArgument,
                    "unsupported checksum algorithm {other}"
                ))
            }
        }
    }
    Ok((h, md5.then(s3s::crypto::Md5::new)))
}

/// Reads a body to its end through the hashers; returns its length and what they computed, or
/// `BadDigest` when a checksum the client sent (as a header or a trailer) differs.
async fn drain_checked<T>(
    req: &S3Request<T>,
    body: Option<StreamingBlob>,
    mut sent: Checksum,
    algorithm: Option<&ChecksumAlgorithm>,
    content_md5: Option<&str>,
) -> S3Result<(u64, Checksum)> {
    let Some(mut body) = body else {
        return Err(s3_error!(IncompleteBody));
    };
    let (mut h, mut md5) = hasher_for(&sent, algorithm, content_md5.is_some())?;
    let mut len = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| s3_error!(IncompleteBody, "{e}"))?;
        len += chunk.len() as u64;
        h.update(&chunk);
        if let Some(m) = &mut md5 {
            m.update(&chunk);
        }
    }
    if let (Some(m), Some(want)) = (md5, content_md5) {
        let want = base64_simd::STANDARD
            .decode_to_vec(want)
            .map_err(|_| s3_error!(InvalidDigest, "Content-MD5 is not base64"))?;
        if m.finalize()[..] != want[..] {
            return Err(s3_error!(BadDigest, "Content-MD5 mismatch"));
        }
    }
    if let Some(trailers) = req.trailing_headers.as_ref().and_then(|t| t.take()) {
        let get = |name: &str| {
            trailers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        sent.checksum_crc32 = sent.checksum_crc32.or(get("x-amz-checksum-crc32"));
        sent.checksum_crc32c = sent.checksum_crc32c.or(get("x-amz-checksum-crc32c"));
        sent.checksum_crc64nvme = sent.checksum_crc64nvme.or(get("x-amz-checksum-crc64nvme"));
        sent.checksum_sha1 = sent.checksum_sha1.or(get("x-amz-checksum-sha1"));
        sent.checksum_sha256 = sent.checksum_sha256.or(get("x-amz-checksum-sha256"));
    }
    let got = h.finalize();
    let pairs = [
        ("CRC32", &sent.checksum_crc32, &got.checksum_crc32),
        ("CRC32C", &sent.checksum_crc32c, &got.checksum_crc32c),
        (
            "CRC64NVME",
            &sent.checksum_crc64nvme,
            &got.checksum_crc64nvme,
        ),
        ("SHA1", &sent.checksum_sha1, &got.checksum_sha1),
        ("SHA256", &sent.checksum_sha256, &got.checksum_sha256),
    ];
    for (name, want, computed) in pairs {
        if want.is_some() && want != computed {
            return Err(s3_error!(
                BadDigest,
                "the {name} checksum sent does not match the body"
            ));
        }
    }
    Ok((len, got))
}

fn sent_checksums(
    crc32: Option<String>,
    crc32c: Option<String>,
    crc64nvme: Option<String>,
    sha1: Option<String>,
    sha256: Option<String>,
) -> Checksum {
    Checksum {
        checksum_crc32: crc32,
        checksum_crc32c: crc32c,
        checksum_crc64nvme: crc64nvme,
        checksum_sha1: sha1,
        checksum_sha256: sha256,
        ..Default::default()
    }
}

/// CRC64NVME of an object's served bytes, base64 as S3 writes it.
fn served_crc64(seed: u64, size: u64) -> String {
    let mut h = ChecksumHasher {
        crc64nvme: Some(Default::default()),
        ..Default::default()
    };
    let mut buf = vec![0u8; CHUNK as usize];
    let mut off = 0;
    while off < size {
        let n = (size - off).min(CHUNK) as usize;
        pattern::fill(seed, off, &mut buf[..n]);
        h.update(&buf[..n]);
        off += n as u64;
    }
    h.finalize().checksum_crc64nvme.unwrap_or_default()
}

/// A composite CRC32C (`value-N`: the CRC32C of the parts' raw values), when every part has one.
fn composite(parts: &[&Option<String>]) -> Option<String> {
    let mut raw = Vec::new();
    for p in parts {
        raw.extend(base64_simd::STANDARD.decode_to_vec(p.as_ref()?).ok()?);
    }
    let v = crc32c::crc32c(&raw).to_be_bytes();
    Some(format!(
        "{}-{}",
        base64_simd::STANDARD.encode_to_string(v),
        parts.len()
    ))
}

fn etag_matches(cond: &ETagCondition, etag: &str) -> bool {
    match cond {
        ETagCondition::Any => true,
        ETagCondition::ETag(t) => t.value() == etag,
    }
}

impl NullS3 {
    pub fn counts(&self) -> Counts {
        self.state.lock().unwrap().counts
    }

    fn next(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Records an object written (a PUT or a completed upload) and counts a key written again.
    fn record(&self, bucket: &str, key: &str, mut obj: Obj) -> S3Result<()> {
        let mut st = self.state.lock().unwrap();
        let State {
            buckets, counts, ..
        } = &mut *st;
        let objects = buckets
            .get_mut(bucket)
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        counts.writes += 1;
        match objects.get(key) {
            Some(old) => {
                obj.writes = old.writes + 1;
                counts.extra_writes += 1;
                if old.writes == 1 {
                    counts.keys_rewritten += 1;
                }
            }
            None => counts.objects += 1,
        }
        objects.insert(key.to_owned(), obj);
        Ok(())
    }

    /// Size, tag, time and parts of an object, checking If-Match.
    fn lookup(
        &self,
        bucket: &str,
        key: &str,
        if_match: Option<&ETagCondition>,
    ) -> S3Result<(u64, String, SystemTime, Option<i32>)> {
        let st = self.state.lock().unwrap();
        let objects = st
            .buckets
            .get(bucket)
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        let o = objects.get(key).ok_or_else(|| s3_error!(NoSuchKey))?;
        if let Some(c) = if_match {
            if !etag_matches(c, &o.etag) {
                return Err(s3_error!(
                    PreconditionFailed,
                    "If-Match: the object's ETag differs"
                ));
            }
        }
        Ok((o.size, o.etag.clone(), o.modified, o.parts))
    }

    /// The served bytes' CRC64NVME, computed outside the lock on first use.
    fn served_checksum(&self, bucket: &str, key: &str, size: u64, etag: &str) -> String {
        if let Some(c) = self
            .with_obj(bucket, key, |o| o.served_crc64.clone())
            .flatten()
        {
            return c;
        }
        let c = served_crc64(pattern::seed(bucket, key), size);
        self.with_obj(bucket, key, |o| {
            if o.etag == etag {
                o.served_crc64 = Some(c.clone());
            }
        });
        c
    }

    fn with_obj<R>(&self, bucket: &str, key: &str, f: impl FnOnce(&mut Obj) -> R) -> Option<R> {
        let mut st = self.state.lock().unwrap();
        st.buckets.get_mut(bucket)?.get_mut(key).map(f)
    }

    fn bucket_exists(&self, bucket: &str) -> S3Result<()> {
        if self.state.lock().unwrap().buckets.contains_key(bucket) {
            Ok(())
        } else {
            Err(s3_error!(NoSuchBucket))
        }
    }
}

fn checksum_enabled(mode: Option<&ChecksumMode>) -> bool {
    mode.is_some_and(|m| m.as_str() == ChecksumMode::ENABLED)
}

#[async_trait::async_trait]
impl S3 for NullS3 {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let mut st = self.state.lock().unwrap();
        if st.buckets.contains_key(&req.input.bucket) {
            return Err(s3_error!(BucketAlreadyOwnedByYou));
        }
        st.buckets.insert(req.input.bucket, BTreeMap::new());
        Ok(S3Response::new(CreateBucketOutput::default()))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.bucket_exists(&req.input.bucket)?;
        Ok(S3Response::new(HeadBucketOutput::default()))
    }

    async fn list_buckets(
        &self,
        _: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let st = self.state.lock().unwrap();
        let buckets = st
            .buckets
            .keys()
            .map(|name| Bucket {
                name: Some(name.clone()),
                creation_date: Some(Timestamp::from(now())),
                ..Default::default()
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            ..Default::default()
        }))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let mut st = self.state.lock().unwrap();
        match st.buckets.get(&req.input.bucket) {
            None => return Err(s3_error!(NoSuchBucket)),
            Some(objects) if !objects.is_empty() => return Err(s3_error!(BucketNotEmpty)),
            Some(_) => {}
        }
        st.buckets.remove(&req.input.bucket);
        Ok(S3Response::new(DeleteBucketOutput::default()))
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.bucket_exists(&req.input.bucket)?;
        let i = &req.input;
        let sent = sent_checksums(
            i.checksum_crc32.clone(),
            i.checksum_crc32c.clone(),
            i.checksum_crc64nvme.clone(),
            i.checksum_sha1.clone(),
            i.checksum_sha256.clone(),
        );
        let algorithm = i.checksum_algorithm.clone();
        let md5 = i.content_md5.clone();
        let (bucket, key) = (i.bucket.clone(), i.key.clone());
        let mut req = req;
        let body = req.input.body.take();
        let (size, sum) =
            drain_checked(&req, body, sent, algorithm.as_ref(), md5.as_deref()).await?;
        let etag = tag(self.next(), size, None);
        let out = PutObjectOutput {
            e_tag: Some(ETag::Strong(etag.clone())),
            checksum_crc32: sum.checksum_crc32.clone(),
            checksum_crc32c: sum.checksum_crc32c.clone(),
            checksum_crc64nvme: sum.checksum_crc64nvme.clone(),
            checksum_sha1: sum.checksum_sha1.clone(),
            checksum_sha256: sum.checksum_sha256.clone(),
            ..Default::default()
        };
        let obj = Obj {
            size,
            etag,
            modified: now(),
            parts: None,
            served_crc64: None,
            writes: 1,
        };
        self.record(&bucket, &key, obj)?;
        Ok(S3Response::new(out))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let i = &req.input;
        let (size, etag, modified, parts) = self.lookup(&i.bucket, &i.key, i.if_match.as_ref())?;
        let crc = checksum_enabled(i.checksum_mode.as_ref())
            .then(|| self.served_checksum(&i.bucket, &i.key, size, &etag));
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some(size as i64),
            e_tag: Some(ETag::Strong(etag)),
            last_modified: Some(Timestamp::from(modified)),
            parts_count: parts,
            checksum_type: crc
                .as_ref()
                .map(|_| ChecksumType::from_static(ChecksumType::FULL_OBJECT)),
            checksum_crc64nvme: crc,
            accept_ranges: Some("bytes".into()),
            ..Default::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let i = &req.input;
        let (size, etag, modified, parts) = self.lookup(&i.bucket, &i.key, i.if_match.as_ref())?;
        let (start, end, content_range) = match &i.range {
            None => (0, size, None),
            Some(r) => {
                let r = r.check(size).map_err(|_| s3_error!(InvalidRange))?;
                (
                    r.start,
                    r.end,
                    Some(format!(
                        "bytes {}-{}/{size}",
                        r.start,
                        r.end.saturating_sub(1)
                    )),
                )
            }
        };
        let whole = start == 0 && end == size;
        let crc = (whole && checksum_enabled(i.checksum_mode.as_ref()))
            .then(|| self.served_checksum(&i.bucket, &i.key, size, &etag));
        let seed = pattern::seed(&i.bucket, &i.key);
        let chunks = (start..end).step_by(CHUNK as usize).map(move |off| {
            let mut buf = vec![0u8; (end - off).min(CHUNK) as usize];
            pattern::fill(seed, off, &mut buf);
            Ok::<Bytes, std::io::Error>(Bytes::from(buf))
        });
        Ok(S3Response::new(GetObjectOutput {
            body: Some(StreamingBlob::wrap(futures::stream::iter(chunks))),
            content_length: Some((end - start) as i64),
            content_range,
            e_tag: Some(ETag::Strong(etag)),
            last_modified: Some(Timestamp::from(modified)),
            parts_count: parts,
            checksum_type: crc
                .as_ref()
                .map(|_| ChecksumType::from_static(ChecksumType::FULL_OBJECT)),
            checksum_crc64nvme: crc,
            accept_ranges: Some("bytes".into()),
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let mut st = self.state.lock().unwrap();
        let objects = st
            .buckets
            .get_mut(&req.input.bucket)
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        if objects.remove(&req.input.key).is_some() {
            st.counts.objects -= 1;
        }
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let mut st = self.state.lock().unwrap();
        let State {
            buckets, counts, ..
        } = &mut *st;
        let objects = buckets
            .get_mut(&req.input.bucket)
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        let mut deleted = Vec::new();
        for id in req.input.delete.objects {
            if objects.remove(&id.key).is_some() {
                counts.objects -= 1;
            }
            deleted.push(DeletedObject {
                key: Some(id.key),
                ..Default::default()
            });
        }
        let quiet = req.input.delete.quiet.unwrap_or(false);
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: (!quiet).then_some(deleted),
            ..Default::default()
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let i = req.input;
        let st = self.state.lock().unwrap();
        let objects = st
            .buckets
            .get(&i.bucket)
            .ok_or_else(|| s3_error!(NoSuchBucket))?;
        let prefix = i.prefix.clone().unwrap_or_default();
        let delim = i.delimiter.clone().filter(|d| !d.is_empty());
        let max = i.max_keys.unwrap_or(1000).clamp(0, 1000) as usize;
        // Resume after the token (the last key or common prefix of the page before), else after
        // start-after, else from the prefix.
        let after = i.continuation_token.clone().or(i.start_after.clone());
        let lower = match &after {
            Some(a) if a.as_str() >= prefix.as_str() => Bound::Excluded(a.clone()),
            _ => Bound::Included(prefix.clone()),
        };
        let skip_under = after.filter(|a| delim.as_ref().is_some_and(|d| a.ends_with(d.as_str())));
        let mut contents = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        let mut last = None;
        let mut truncated = false;
        for (key, o) in objects.range::<String, _>((lower, Bound::Unbounded)) {
            if !key.starts_with(&prefix) {
                break;
            }
            if skip_under
                .as_ref()
                .is_some_and(|s| key.starts_with(s.as_str()))
            {
                continue;
            }
            let common = delim.as_ref().and_then(|d| {
                key[prefix.len()..]
                    .find(d.as_str())
                    .map(|at| key[..prefix.len() + at + d.len()].to_owned())
            });
            if let Some(cp) = &common {
                if prefixes.last() == Some(cp) {
                    continue;
                }
            }
            if contents.len() + prefixes.len() == max {
                truncated = true;
                break;
            }
            match common {
                Some(cp) => {
                    last = Some(cp.clone());
                    prefixes.push(cp);
                }
                None => {
                    last = Some(key.clone());
                    contents.push(Object {
                        key: Some(key.clone()),
                        size: Some(o.size as i64),
                        e_tag: Some(ETag::Strong(o.etag.clone())),
                        last_modified: Some(Timestamp::from(o.modified)),
                        storage_class: Some(ObjectStorageClass::from_static(
                            ObjectStorageClass::STANDARD,
                        )),
                        ..Default::default()
                    });
                }
            }
        }
        let count = (contents.len() + prefixes.len()) as i32;
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(i.bucket),
            prefix: i.prefix,
            delimiter: i.delimiter,
            max_keys: Some(max as i32),
            key_count: Some(count),
            continuation_token: i.continuation_token,
            start_after: i.start_after,
            is_truncated: Some(truncated),
            next_continuation_token: if truncated { last } else { None },
            contents: Some(contents),
            common_prefixes: Some(
                prefixes
                    .into_iter()
                    .map(|p| CommonPrefix { prefix: Some(p) })
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let i = req.input;
        self.bucket_exists(&i.bucket)?;
        let id = format!("{:032x}", self.next());
        let up = Upload {
            bucket: i.bucket.clone(),
            key: i.key.clone(),
            algorithm: i.checksum_algorithm.clone(),
            parts: BTreeMap::new(),
        };
        self.state.lock().unwrap().uploads.insert(id.clone(), up);
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            upload_id: Some(id),
            checksum_algorithm: i.checksum_algorithm,
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let i = &req.input;
        if !(1..=10_000).contains(&i.part_number) {
            return Err(s3_error!(InvalidArgument, "part numbers are 1 to 10,000"));
        }
        let algorithm = {
            let st = self.state.lock().unwrap();
            let up = st
                .uploads
                .get(&i.upload_id)
                .ok_or_else(|| s3_error!(NoSuchUpload))?;
            if up.bucket != i.bucket || up.key != i.key {
                return Err(s3_error!(NoSuchUpload));
            }
            i.checksum_algorithm.clone().or(up.algorithm.clone())
        };
        let sent = sent_checksums(
            i.checksum_crc32.clone(),
            i.checksum_crc32c.clone(),
            i.checksum_crc64nvme.clone(),
            i.checksum_sha1.clone(),
            i.checksum_sha256.clone(),
        );
        let (upload_id, number, md5) = (i.upload_id.clone(), i.part_number, i.content_md5.clone());
        let mut req = req;
        let body = req.input.body.take();
        let (size, sum) =
            drain_checked(&req, body, sent, algorithm.as_ref(), md5.as_deref()).await?;
        let etag = tag(self.next(), size, None);
        let out = UploadPartOutput {
            e_tag: Some(ETag::Strong(etag.clone())),
            checksum_crc32: sum.checksum_crc32.clone(),
            checksum_crc32c: sum.checksum_crc32c.clone(),
            checksum_crc64nvme: sum.checksum_crc64nvme.clone(),
            checksum_sha1: sum.checksum_sha1.clone(),
            checksum_sha256: sum.checksum_sha256.clone(),
            ..Default::default()
        };
        let mut st = self.state.lock().unwrap();
        let up = st
            .uploads
            .get_mut(&upload_id)
            .ok_or_else(|| s3_error!(NoSuchUpload))?;
        up.parts.insert(number, PartRec { size, etag, sum });
        Ok(S3Response::new(out))
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let i = req.input;
        let st = self.state.lock().unwrap();
        let up = st
            .uploads
            .get(&i.upload_id)
            .ok_or_else(|| s3_error!(NoSuchUpload))?;
        let max = i.max_parts.unwrap_or(1000).clamp(1, 1000) as usize;
        let marker = i.part_number_marker.unwrap_or(0);
        let mut parts: Vec<Part> = up
            .parts
            .range(marker + 1..)
            .take(max + 1)
            .map(|(n, p)| Part {
                part_number: Some(*n),
                size: Some(p.size as i64),
                e_tag: Some(ETag::Strong(p.etag.clone())),
                checksum_crc32: p.sum.checksum_crc32.clone(),
                checksum_crc32c: p.sum.checksum_crc32c.clone(),
                checksum_crc64nvme: p.sum.checksum_crc64nvme.clone(),
                checksum_sha1: p.sum.checksum_sha1.clone(),
                checksum_sha256: p.sum.checksum_sha256.clone(),
                last_modified: Some(Timestamp::from(now())),
            })
            .collect();
        let truncated = parts.len() > max;
        parts.truncate(max);
        Ok(S3Response::new(ListPartsOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            upload_id: Some(i.upload_id),
            max_parts: Some(max as i32),
            part_number_marker: Some(marker),
            is_truncated: Some(truncated),
            next_part_number_marker: parts.last().and_then(|p| p.part_number),
            checksum_algorithm: up.algorithm.clone(),
            parts: Some(parts),
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let i = req.input;
        let listed = i.multipart_upload.and_then(|m| m.parts).unwrap_or_default();
        if listed.is_empty() {
            return Err(s3_error!(MalformedXML, "no parts named"));
        }
        let (size, crc32c) = {
            let st = self.state.lock().unwrap();
            let up = st
                .uploads
                .get(&i.upload_id)
                .ok_or_else(|| s3_error!(NoSuchUpload))?;
            if up.bucket != i.bucket || up.key != i.key {
                return Err(s3_error!(NoSuchUpload));
            }
            let mut size = 0u64;
            let mut prev = 0;
            let mut sums = Vec::new();
            for p in &listed {
                let n = p.part_number.unwrap_or(0);
                if n <= prev {
                    return Err(s3_error!(InvalidPartOrder));
                }
                prev = n;
                let rec = up
                    .parts
                    .get(&n)
                    .ok_or_else(|| s3_error!(InvalidPart, "part {n} was not uploaded"))?;
                if p.e_tag.as_ref().is_some_and(|t| t.value() != rec.etag) {
                    return Err(s3_error!(InvalidPart, "part {n}: the ETag differs"));
                }
                if p.checksum_crc32c.is_some() && p.checksum_crc32c != rec.sum.checksum_crc32c {
                    return Err(s3_error!(InvalidPart, "part {n}: the CRC32C differs"));
                }
                size += rec.size;
                sums.push(&rec.sum.checksum_crc32c);
            }
            (size, composite(&sums))
        };
        let parts = listed.len() as i32;
        let etag = tag(self.next(), size, Some(parts));
        let obj = Obj {
            size,
            etag: etag.clone(),
            modified: now(),
            parts: Some(parts),
            served_crc64: None,
            writes: 1,
        };
        self.record(&i.bucket, &i.key, obj)?;
        self.state.lock().unwrap().uploads.remove(&i.upload_id);
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(i.bucket),
            key: Some(i.key),
            e_tag: Some(ETag::Strong(etag)),
            checksum_type: crc32c
                .as_ref()
                .map(|_| ChecksumType::from_static(ChecksumType::COMPOSITE)),
            checksum_crc32c: crc32c,
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        match self
            .state
            .lock()
            .unwrap()
            .uploads
            .remove(&req.input.upload_id)
        {
            Some(_) => Ok(S3Response::new(AbortMultipartUploadOutput::default())),
            None => Err(s3_error!(NoSuchUpload)),
        }
    }
}

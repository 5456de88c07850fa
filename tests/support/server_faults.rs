//! A fault-injecting wrapper around the embedded endpoint ([`LocalS3`]), as the test server.
//!
//! Every operation is delegated to s3s-fs (through Ferry's gap-filling wrapper). On top:
//! - UploadPart verifies `x-amz-checksum-crc32c` against the body it received, like real S3 (and
//!   [`LocalS3`] beneath it), answers BadDigest on a mismatch, counts it and returns the checksum;
//! - scripted faults: answer 500 InternalError or 503 SlowDown to a given part, part copy or range,
//!   or refuse a CopyObject; damage a
//!   part's body on its way in (the check above then refuses it), damage a GET body on its way out;
//! - seeded random 500/503 answers to data requests, bounded in count, for the soak test;
//! - object tags kept as S3 keeps them ([`super::tags`]), which s3s-fs does not;
//! - phantom objects: keys a file-backed store cannot hold (`../x`, `/abs/x`, control characters),
//!   answered from a table by ListObjectsV2, HeadObject and GetObject.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use ferry::local::LocalS3;
use s3s::dto::*;
use s3s::{s3_error, Body, S3Request, S3Response, S3Result, S3};

use super::{ledger, Chance};

/// A failure the server may answer with: transient ones, damage, or a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// 500 InternalError.
    Internal,
    /// 503 SlowDown.
    SlowDown,
    /// The body is damaged in transit (UploadPart: on its way in; GetObject: on its way out).
    Corrupt,
    /// 403 AccessDenied: no retry can help.
    Denied,
    /// 400 ExpiredToken: the request's session token is past its time.
    Expired,
}

/// What a scripted fault is aimed at: a key and a part number (UploadPart) or a range start (GET).
struct Scripted {
    op: &'static str,
    key: String,
    at: u64,
    failure: Failure,
    times: usize,
}

#[derive(Default)]
pub struct ServerFaults {
    script: Mutex<Vec<Scripted>>,
    random: Mutex<Option<Chance>>,
    /// 500 and 503 answers given.
    pub errors: AtomicUsize,
    /// Parts refused because their body did not match the checksum sent with it.
    pub bad_digests: AtomicUsize,
    /// GET bodies damaged on their way out.
    pub corrupted_gets: AtomicUsize,
    /// Objects answered from this table instead of the disk: key → bytes.
    phantoms: Mutex<std::collections::BTreeMap<String, Vec<u8>>>,
    /// Keys a DeleteObjects request is refused for (AccessDenied in its `Errors`), the rest deleted.
    refused_deletes: Mutex<std::collections::BTreeSet<String>>,
    /// HEAD and GET answer without any checksum, like a server that keeps none.
    keeps_no_checksums: std::sync::atomic::AtomicBool,
    /// Object tags, kept as S3 keeps them (s3s-fs keeps none).
    pub tags: super::tags::Tags,
}

impl ServerFaults {
    /// The server lists, heads and serves `key` with `bytes`, whatever the key looks like.
    pub fn phantom(&self, key: &str, bytes: Vec<u8>) {
        ledger::note("object key a disk cannot hold", 1);
        self.phantoms.lock().unwrap().insert(key.to_string(), bytes);
    }

    /// From now on HEAD and GET answer with no checksum, as servers that keep none do.
    pub fn keep_no_checksums(&self) {
        self.keeps_no_checksums.store(true, Ordering::SeqCst);
        ledger::note("server that keeps no checksums", 1);
    }

    /// DeleteObjects refuses `key` (AccessDenied, reported in the reply) and deletes the others.
    pub fn refuse_delete(&self, key: &str) {
        self.refused_deletes.lock().unwrap().insert(key.to_string());
    }

    fn phantom_of(&self, key: &str) -> Option<Vec<u8>> {
        self.phantoms.lock().unwrap().get(key).cloned()
    }
    /// The next `times` UploadParts of `key`'s part `part` fail with `failure`.
    pub fn on_part(&self, key: &str, part: i32, failure: Failure, times: usize) {
        self.add("upload_part", key, part as u64, failure, times);
    }

    /// The next `times` UploadPartCopy requests of `key`'s part `part` fail with `failure`.
    pub fn on_part_copy(&self, key: &str, part: i32, failure: Failure, times: usize) {
        self.add("upload_part_copy", key, part as u64, failure, times);
    }

    /// The next `times` ranged GETs of `key` starting at `first` fail with `failure`.
    pub fn on_range(&self, key: &str, first: u64, failure: Failure, times: usize) {
        self.add("get_object", key, first, failure, times);
    }

    /// The next `times` requests of operation `op` (e.g. "list_objects_v2", "delete_objects") aimed
    /// at `target` (the listed prefix, the bucket of a delete) fail with `failure`.
    pub fn on_request(&self, op: &'static str, target: &str, failure: Failure, times: usize) {
        self.add(op, target, 0, failure, times);
    }

    /// Fails a request that a scripted fault names (never a random one: those hit data requests).
    fn scripted_error(&self, op: &str, target: &str) -> S3Result<()> {
        self.answer(self.scripted(op, target, 0)).map(|_| ())
    }

    fn add(&self, op: &'static str, key: &str, at: u64, failure: Failure, times: usize) {
        self.script.lock().unwrap().push(Scripted {
            op,
            key: key.to_string(),
            at,
            failure,
            times,
        });
    }

    /// Answers PutObject, UploadPart and GetObject with a 500 or 503 with chance `per_mille`/1000,
    /// at most `budget` times.
    pub fn random_errors(&self, seed: u64, per_mille: u64, budget: usize) {
        *self.random.lock().unwrap() = Some(Chance::new(seed, per_mille, budget));
    }

    fn scripted(&self, op: &str, key: &str, at: u64) -> Option<Failure> {
        let mut script = self.script.lock().unwrap();
        let s = script
            .iter_mut()
            .find(|s| s.times > 0 && s.op == op && s.key == key && s.at == at)?;
        s.times -= 1;
        Some(s.failure)
    }

    fn random(&self) -> Option<Failure> {
        let mut random = self.random.lock().unwrap();
        let roll = random.as_mut()?.strike()?;
        Some(if (roll >> 32) % 2 == 0 {
            Failure::Internal
        } else {
            Failure::SlowDown
        })
    }

    /// Fails the request if a 500/503 is due; returns whether its body should be damaged.
    fn decide(&self, op: &str, key: &str, at: u64) -> S3Result<bool> {
        self.answer(self.scripted(op, key, at).or_else(|| self.random()))
    }

    /// The answer a due failure gives: an error for a 500/503, `true` when the body is to be damaged.
    fn answer(&self, failure: Option<Failure>) -> S3Result<bool> {
        match failure {
            Some(Failure::Internal) => {
                self.errors.fetch_add(1, Ordering::SeqCst);
                ledger::note("server error 500 InternalError", 1);
                Err(s3_error!(InternalError, "injected by the test"))
            }
            Some(Failure::SlowDown) => {
                self.errors.fetch_add(1, Ordering::SeqCst);
                ledger::note("server error 503 SlowDown", 1);
                Err(s3_error!(SlowDown, "injected by the test"))
            }
            Some(Failure::Denied) => {
                self.errors.fetch_add(1, Ordering::SeqCst);
                ledger::note("request refused: AccessDenied", 1);
                Err(s3_error!(AccessDenied, "injected by the test"))
            }
            Some(Failure::Expired) => {
                self.errors.fetch_add(1, Ordering::SeqCst);
                ledger::note("request refused: ExpiredToken", 1);
                Err(s3_error!(ExpiredToken, "injected by the test"))
            }
            Some(Failure::Corrupt) => Ok(true),
            None => Ok(false),
        }
    }
}

/// Reads a whole request or response body (parts and ranges in tests are a few MiB).
async fn collect(blob: Option<StreamingBlob>) -> S3Result<bytes::Bytes> {
    let mut body: Body = blob.map(Body::from).unwrap_or_default();
    body.store_all_limited(256 << 20)
        .await
        .map_err(|e| s3_error!(IncompleteBody, "{e}"))
}

fn damage(bytes: &bytes::Bytes) -> bytes::Bytes {
    let mut v = bytes.to_vec();
    if let Some(b) = v.get_mut(bytes.len() / 2) {
        *b ^= 0x5a;
    }
    v.into()
}

fn blob(bytes: bytes::Bytes) -> StreamingBlob {
    StreamingBlob::from(Body::from(bytes))
}

/// A stable ETag for a phantom object's bytes.
fn phantom_etag(bytes: &[u8]) -> ETag {
    ETag::Strong(format!("{:08x}", crc32c::crc32c(bytes)))
}

pub struct FaultyS3 {
    pub inner: LocalS3,
    pub faults: std::sync::Arc<ServerFaults>,
}

/// HEAD and GET answers alike: the checksum fields a server that keeps none leaves out.
trait Checksums {
    fn forget(&mut self);
}

macro_rules! checksums {
    ($($t:ty),*) => {$(
        impl Checksums for $t {
            fn forget(&mut self) {
                (self.checksum_crc32, self.checksum_crc32c, self.checksum_crc64nvme) = (None, None, None);
                (self.checksum_sha1, self.checksum_sha256, self.checksum_type) = (None, None, None);
            }
        }
    )*};
}
checksums!(HeadObjectOutput, GetObjectOutput);

impl ServerFaults {
    fn strip_checksums(&self, output: &mut impl Checksums) {
        if self.keeps_no_checksums.load(Ordering::SeqCst) {
            output.forget();
        }
    }
}

macro_rules! faulty_s3 {
    (plain [$($op:ident($in:ident) -> $out:ident;)*]) => {
        #[async_trait::async_trait]
        impl S3 for FaultyS3 {
            $(
                async fn $op(&self, req: S3Request<$in>) -> S3Result<S3Response<$out>> {
                    self.inner.$op(req).await
                }
            )*

            async fn upload_part(
                &self,
                mut req: S3Request<UploadPartInput>,
            ) -> S3Result<S3Response<UploadPartOutput>> {
                // The body is read before any answer: an error answered over a body still being
                // sent reaches the client as a broken connection, not as the error.
                let mut body = collect(req.input.body.take()).await?;
                let corrupt = self.faults.decide(
                    "upload_part",
                    &req.input.key,
                    req.input.part_number as u64,
                )?;
                let Some(sent) = req.input.checksum_crc32c.clone() else {
                    req.input.body = Some(blob(body));
                    return self.inner.upload_part(req).await;
                };
                if corrupt {
                    body = damage(&body);
                }
                let actual = ferry::transfer::crc32c_b64(&body);
                if actual != sent {
                    self.faults.bad_digests.fetch_add(1, Ordering::SeqCst);
                    ledger::note("part damaged on its way in (refused as BadDigest)", 1);
                    return Err(s3_error!(
                        BadDigest,
                        "The CRC32C you specified did not match the calculated checksum."
                    ));
                }
                req.input.body = Some(blob(body));
                let mut resp = self.inner.upload_part(req).await?;
                resp.output.checksum_crc32c = Some(actual);
                Ok(resp)
            }

            async fn list_objects_v2(
                &self,
                req: S3Request<ListObjectsV2Input>,
            ) -> S3Result<S3Response<ListObjectsV2Output>> {
                let prefix = req.input.prefix.clone().unwrap_or_default();
                self.faults.scripted_error("list_objects_v2", &prefix)?;
                let mut resp = self.inner.list_objects_v2(req).await?;
                let phantoms = self.faults.phantoms.lock().unwrap().clone();
                if !phantoms.is_empty() {
                    let contents = resp.output.contents.get_or_insert_with(Vec::new);
                    for (key, bytes) in phantoms.iter().filter(|(k, _)| k.starts_with(&prefix)) {
                        contents.push(Object {
                            key: Some(key.clone()),
                            size: Some(bytes.len() as i64),
                            e_tag: Some(phantom_etag(bytes)),
                            ..Default::default()
                        });
                    }
                    contents.sort_by(|a, b| a.key.cmp(&b.key));
                    resp.output.key_count = Some(contents.len() as i32);
                }
                Ok(resp)
            }

            async fn head_object(
                &self,
                req: S3Request<HeadObjectInput>,
            ) -> S3Result<S3Response<HeadObjectOutput>> {
                let Some(bytes) = self.faults.phantom_of(&req.input.key) else {
                    let mut resp = self.inner.head_object(req).await?;
                    self.faults.strip_checksums(&mut resp.output);
                    return Ok(resp);
                };
                Ok(S3Response::new(HeadObjectOutput {
                    content_length: Some(bytes.len() as i64),
                    e_tag: Some(phantom_etag(&bytes)),
                    ..Default::default()
                }))
            }

            async fn copy_object(
                &self,
                req: S3Request<CopyObjectInput>,
            ) -> S3Result<S3Response<CopyObjectOutput>> {
                self.faults.scripted_error("copy_object", &req.input.key)?;
                let i = &req.input;
                let (to, directive, tagging) = (
                    (i.bucket.clone(), i.key.clone()),
                    i.tagging_directive.clone(),
                    i.tagging.clone(),
                );
                let from = match &i.copy_source {
                    CopySource::Bucket { bucket, key, .. } => Some((bucket.to_string(), key.to_string())),
                    _ => None,
                };
                let resp = self.inner.copy_object(req).await?;
                if let Some((b, k)) = from {
                    let tags = &self.faults.tags;
                    tags.copy((&b, &k), (&to.0, &to.1), directive.as_ref(), tagging.as_deref());
                }
                Ok(resp)
            }

            async fn put_object(
                &self,
                req: S3Request<PutObjectInput>,
            ) -> S3Result<S3Response<PutObjectOutput>> {
                self.faults.decide("put_object", &req.input.key, 0)?;
                let i = &req.input;
                let (bucket, key, tagging) = (i.bucket.clone(), i.key.clone(), i.tagging.clone());
                let resp = self.inner.put_object(req).await?;
                self.faults.tags.put(&bucket, &key, tagging.as_deref());
                Ok(resp)
            }

            async fn create_multipart_upload(
                &self,
                req: S3Request<CreateMultipartUploadInput>,
            ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
                let tagging = req.input.tagging.clone();
                let resp = self.inner.create_multipart_upload(req).await?;
                if let Some(id) = &resp.output.upload_id {
                    self.faults.tags.start(id, tagging.as_deref());
                }
                Ok(resp)
            }

            async fn complete_multipart_upload(
                &self,
                req: S3Request<CompleteMultipartUploadInput>,
            ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
                let i = &req.input;
                let (bucket, key, id) = (i.bucket.clone(), i.key.clone(), i.upload_id.clone());
                let resp = self.inner.complete_multipart_upload(req).await?;
                self.faults.tags.complete(&id, &bucket, &key);
                Ok(resp)
            }

            async fn get_object_tagging(
                &self,
                req: S3Request<GetObjectTaggingInput>,
            ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
                let i = &req.input;
                Ok(S3Response::new(GetObjectTaggingOutput {
                    tag_set: self.faults.tags.get(&i.bucket, &i.key),
                    ..Default::default()
                }))
            }

            async fn upload_part_copy(
                &self,
                req: S3Request<UploadPartCopyInput>,
            ) -> S3Result<S3Response<UploadPartCopyOutput>> {
                let at = req.input.part_number as u64;
                self.faults
                    .answer(self.faults.scripted("upload_part_copy", &req.input.key, at))?;
                self.inner.upload_part_copy(req).await
            }

            async fn delete_objects(
                &self,
                mut req: S3Request<DeleteObjectsInput>,
            ) -> S3Result<S3Response<DeleteObjectsOutput>> {
                self.faults.scripted_error("delete_objects", &req.input.bucket)?;
                let refusing = self.faults.refused_deletes.lock().unwrap().clone();
                let (refused, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut req.input.delete.objects)
                    .into_iter()
                    .partition(|o| refusing.contains(&o.key));
                req.input.delete.objects = kept;
                let mut resp = self.inner.delete_objects(req).await?;
                resp.output.errors = Some(
                    refused
                        .into_iter()
                        .map(|o| s3s::dto::Error {
                            key: Some(o.key),
                            code: Some("AccessDenied".into()),
                            message: Some("refused by the test".into()),
                            ..Default::default()
                        })
                        .collect(),
                );
                Ok(resp)
            }

            async fn get_object(
                &self,
                req: S3Request<GetObjectInput>,
            ) -> S3Result<S3Response<GetObjectOutput>> {
                if let Some(bytes) = self.faults.phantom_of(&req.input.key) {
                    let total = bytes.len() as u64;
                    let (first, last) = match req.input.range {
                        Some(Range::Int { first, last }) => {
                            (first, last.unwrap_or(total - 1).min(total - 1))
                        }
                        _ => (0, total - 1),
                    };
                    let slice = bytes::Bytes::copy_from_slice(&bytes[first as usize..=last as usize]);
                    return Ok(S3Response::new(GetObjectOutput {
                        content_length: Some(slice.len() as i64),
                        content_range: Some(format!("bytes {first}-{last}/{total}")),
                        e_tag: Some(phantom_etag(&bytes)),
                        body: Some(blob(slice)),
                        ..Default::default()
                    }));
                }
                let first = match req.input.range {
                    Some(Range::Int { first, .. }) => first,
                    _ => 0,
                };
                let corrupt = self.faults.decide("get_object", &req.input.key, first)?;
                let mut resp = self.inner.get_object(req).await?;
                self.faults.strip_checksums(&mut resp.output);
                if corrupt {
                    let body = collect(resp.output.body.take()).await?;
                    resp.output.body = Some(blob(damage(&body)));
                    self.faults.corrupted_gets.fetch_add(1, Ordering::SeqCst);
                    ledger::note("download range damaged on its way out", 1);
                }
                Ok(resp)
            }
        }
    };
}

faulty_s3! {
    plain [
    list_buckets(ListBucketsInput) -> ListBucketsOutput;
    create_bucket(CreateBucketInput) -> CreateBucketOutput;
    delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;
    head_bucket(HeadBucketInput) -> HeadBucketOutput;
    get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
    delete_object(DeleteObjectInput) -> DeleteObjectOutput;
    list_objects(ListObjectsInput) -> ListObjectsOutput;
    abort_multipart_upload(AbortMultipartUploadInput) -> AbortMultipartUploadOutput;
    list_parts(ListPartsInput) -> ListPartsOutput;
    list_multipart_uploads(ListMultipartUploadsInput) -> ListMultipartUploadsOutput;
    ]
}

//! The embedded S3-compatible endpoint: s3s + s3s-fs on 127.0.0.1, the zero-config `local` account.
//!
//! A fresh install works with no cloud account: the data lives in `<state>/local/data` (one folder per
//! bucket), the keys are generated once into `<state>/local/keys.json` (mode 0600), and the server
//! listens on a fixed loopback port so the links it signs keep working while any Ferry process serves
//! it. Tests start the same server on `127.0.0.1:0`.
//!
//! [`LocalS3`] wraps s3s-fs 0.14.1 and fills the gaps Ferry relies on:
//! - ListParts: sorted, paginated, with each part's ETag (s3s-fs returns neither order nor ETags);
//! - ListMultipartUploads (s3s-fs: NotImplemented), from an index written beside the data;
//! - UploadPart and ListParts on an unknown upload id answer NoSuchUpload (s3s-fs: AccessDenied);
//! - GetObject honours `If-Match` (s3s-fs ignores it), and reads the object 256 KiB at a time
//!   (s3s-fs: 4 KiB, each a trip to the blocking pool). See [`body`].
//! - UploadPart keeps the part's checksum (s3s-fs ignores it); CompleteMultipartUpload keeps the
//!   full-object CRC the client sent (checked against the parts), or gives the object the COMPOSITE
//!   or FULL_OBJECT checksum S3 would, and drops the checksums an earlier object of the same key left
//!   behind (s3s-fs keeps those), so HEAD and whole GETs answer with the checksum of the bytes they
//!   serve, and its type, like S3;
//! - HEAD and GET with `partNumber` serve that part, with the parts count and the part's checksum
//!   (s3s-fs ignores the parameter). See [`parts`].
//! - UploadPartCopy answers NoSuchUpload for an unknown upload id and honours
//!   `x-amz-copy-source-if-match` (s3s-fs ignores it). See [`copy`].
//! - ListObjectsV2 and ListObjects answer from an in-memory index of each bucket's keys, a page in
//!   milliseconds at any size, with ETags, checksum algorithms and `encoding-type=url` (s3s-fs walks
//!   the whole prefix for every page and lists no ETags). See [`catalog`] for how the index stays
//!   true and [`listing`] for the semantics.

mod body;
mod catalog;
mod copy;
mod keys;
mod listing;
#[macro_use]
mod parts;

pub use keys::Keys;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::access::S3Access;
use s3s::auth::SimpleAuth;
use s3s::dto::*;
use s3s::service::S3ServiceBuilder;
use s3s::{s3_error, S3Request, S3Response, S3Result, S3};
use s3s_fs::FileSystem;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::{Error, Result};
use crate::transfer::checksum::Algorithm;

/// The port the embedded endpoint listens on unless `FERRY_LOCAL_PORT` says otherwise.
pub const DEFAULT_PORT: u16 = 9799;
/// The bucket a fresh local account starts with.
pub const DEFAULT_BUCKET: &str = "ferry";

/// s3s-fs with the gaps Ferry needs filled (see the module docs).
pub struct LocalS3 {
    fs: FileSystem,
    root: PathBuf,
    /// The keys of each bucket, for listings.
    catalog: Arc<catalog::Catalog>,
}

#[derive(Serialize, Deserialize)]
struct UploadIndex {
    bucket: String,
    key: String,
    initiated_ms: i64,
    /// The checksum algorithm and type CreateMultipartUpload declared.
    #[serde(default)]
    checksum_algorithm: Option<String>,
    #[serde(default)]
    checksum_type: Option<String>,
}

impl UploadIndex {
    /// The CRC algorithm the upload declared.
    fn algorithm(&self) -> Option<Algorithm> {
        Algorithm::from_name(self.checksum_algorithm.as_deref()?)
    }
}

impl LocalS3 {
    pub fn new(root: &Path) -> Result<LocalS3> {
        std::fs::create_dir_all(root).map_err(|e| Error::io("cannot create", root, e))?;
        let root = root
            .canonicalize()
            .map_err(|e| Error::io("cannot open", root, e))?;
        let fs = FileSystem::new(&root)
            .map_err(|e| Error::storage(format!("cannot serve {}: {e:?}", root.display())))?;
        Ok(LocalS3 {
            fs,
            root,
            catalog: Default::default(),
        })
    }

    fn upload_exists(&self, upload_id: &str) -> bool {
        uuid::Uuid::parse_str(upload_id).is_ok()
            && self.root.join(format!(".upload-{upload_id}.json")).exists()
    }

    /// Tells the key index that `key` may have been written or removed.
    fn changed(&self, bucket: &str, key: &str) {
        self.catalog.changed(&self.root, bucket, key);
    }

    fn index_path(&self, upload_id: &str) -> PathBuf {
        self.root.join(format!(".ferry-mpu-{upload_id}.json"))
    }

    fn index(&self, upload_id: &str) -> Option<UploadIndex> {
        let bytes = std::fs::read(self.index_path(upload_id)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

fn no_such_upload() -> s3s::S3Error {
    s3_error!(
        NoSuchUpload,
        "The specified multipart upload does not exist"
    )
}

/// A request for another operation that carries the same identity as `req`.
fn sibling<T, U>(req: &S3Request<T>, input: U) -> S3Request<U> {
    S3Request {
        input,
        method: req.method.clone(),
        uri: req.uri.clone(),
        headers: req.headers.clone(),
        extensions: Default::default(),
        credentials: req.credentials.clone(),
        region: req.region.clone(),
        service: req.service.clone(),
        trailing_headers: None,
    }
}

#[async_trait::async_trait]
impl S3 for LocalS3 {
    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.fs.list_buckets(req).await
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.fs.create_bucket(req).await
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        let bucket = req.input.bucket.clone();
        let resp = self.fs.delete_bucket(req).await;
        self.catalog.forget(&bucket);
        resp
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.fs.head_bucket(req).await
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        self.fs.get_bucket_location(req).await
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let resp = self.fs.put_object(req).await;
        self.changed(&bucket, &key);
        resp
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let (bucket, key, part) = (
            req.input.bucket.clone(),
            req.input.key.clone(),
            req.input.part_number,
        );
        let mut resp = self.fs.head_object(req).await?;
        self.answer_head(&bucket, &key, part, &mut resp.output)?;
        Ok(resp)
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let resp = self.fs.delete_object(req).await;
        self.changed(&bucket, &key);
        resp
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let bucket = req.input.bucket.clone();
        let keys: Vec<String> = req
            .input
            .delete
            .objects
            .iter()
            .map(|o| o.key.clone())
            .collect();
        let resp = self.fs.delete_objects(req).await;
        for key in keys {
            self.changed(&bucket, &key);
        }
        resp
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let resp = self.fs.copy_object(req).await;
        self.changed(&bucket, &key);
        resp
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        Ok(S3Response::new(self.list_v1(req.input).await?))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        Ok(S3Response::new(self.list_v2(req.input).await?))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        if let Some(cond) = req.input.if_match.clone() {
            let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
            self.check_if_match(&req, &bucket, &key, &cond).await?;
        }
        let mut req = req;
        let (parts, slice) = self.part_as_range(&mut req.input)?;
        // Like S3: a (presigned) request may choose the answer's Content-Disposition and type.
        let disposition = req.input.response_content_disposition.clone();
        let content_type = req.input.response_content_type.clone();
        let (bucket, key, range) = (
            req.input.bucket.clone(),
            req.input.key.clone(),
            req.input.range,
        );
        let mut resp = self.fs.get_object(req).await?;
        if let Some(body) =
            body::FileBody::open_like(&self.root, &bucket, &key, range, &resp.output).await
        {
            resp.output.body = Some(body.into_blob());
        }
        parts::answer_get(&mut resp.output, parts, slice);
        if disposition.is_some() {
            resp.output.content_disposition = disposition;
        }
        if let Some(t) = content_type {
            resp.output.content_type = Some(t);
        }
        Ok(resp)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let checksum_algorithm = req
            .input
            .checksum_algorithm
            .as_ref()
            .map(|a| a.as_str().to_string());
        let checksum_type = req
            .input
            .checksum_type
            .as_ref()
            .map(|t| t.as_str().to_string());
        let mut resp = self.fs.create_multipart_upload(req).await?;
        resp.output.checksum_algorithm = checksum_algorithm.clone().map(ChecksumAlgorithm::from);
        resp.output.checksum_type = checksum_type.clone().map(ChecksumType::from);
        if let Some(id) = &resp.output.upload_id {
            let entry = UploadIndex {
                bucket,
                key,
                initiated_ms: crate::store::now_ms(),
                checksum_algorithm,
                checksum_type,
            };
            let text = serde_json::to_vec(&entry).map_err(|e| s3_error!(InternalError, "{e}"))?;
            std::fs::write(self.index_path(id), text)
                .map_err(|e| s3_error!(InternalError, "{e}"))?;
        }
        Ok(resp)
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        if !self.upload_exists(&req.input.upload_id) {
            return Err(no_such_upload());
        }
        let (id, n) = (req.input.upload_id.clone(), req.input.part_number);
        let sent = parts::sent_checksums(
            req.input.checksum_crc32.as_deref(),
            req.input.checksum_crc32c.as_deref(),
            req.input.checksum_crc64nvme.as_deref(),
        );
        let declared = self.index(&id).and_then(|i| i.algorithm());
        let mut resp = self.fs.upload_part(req).await?;
        let kept = self.keep_part_checksum(&id, n, declared, &sent)?;
        parts::set_checksum(crc_fields!(resp.output), kept);
        Ok(resp)
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        self.part_copy(req).await
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        if !self.upload_exists(&req.input.upload_id) {
            return Err(no_such_upload());
        }
        let id = req.input.upload_id.clone();
        let index = self.index(&id);
        let declared = (
            index.as_ref().and_then(UploadIndex::algorithm),
            index.as_ref().and_then(|i| i.checksum_type.as_deref()),
        );
        let done = self.complete_parts(&req.input, declared)?;
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let resp = self.fs.complete_multipart_upload(req).await;
        self.changed(&bucket, &key);
        let resp = resp?;
        let _ = std::fs::remove_file(self.index_path(&id));
        self.forget_part_checksums(&id);
        self.keep_completion(&bucket, &key, &done)
            .map_err(|e| s3_error!(InternalError, "cannot record the object's checksum: {e}"))?;
        Ok(resp)
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        if !self.upload_exists(&req.input.upload_id) {
            return Err(no_such_upload());
        }
        let id = req.input.upload_id.clone();
        let resp = self.fs.abort_multipart_upload(req).await?;
        let _ = std::fs::remove_file(self.index_path(&id));
        self.forget_part_checksums(&id);
        Ok(resp)
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        let input = req.input;
        if !self.upload_exists(&input.upload_id) {
            return Err(no_such_upload());
        }
        let prefix = format!(".upload_id-{}.part-", input.upload_id);
        let marker = input.part_number_marker.unwrap_or(0);
        let max = input.max_parts.unwrap_or(1000).clamp(1, 1000) as usize;
        let (root, id) = (self.root.clone(), input.upload_id.clone());
        let declared = self.index(&id).and_then(|i| i.algorithm());
        let listed = tokio::task::spawn_blocking(move || -> std::io::Result<(Vec<Part>, bool)> {
            let mut found: Vec<(i32, PathBuf)> = Vec::new();
            for entry in std::fs::read_dir(&root)? {
                let entry = entry?;
                let name = entry.file_name();
                let Some(n) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
                    continue;
                };
                let Ok(n) = n.parse::<i32>() else { continue };
                if n > marker {
                    found.push((n, entry.path()));
                }
            }
            found.sort_by_key(|p| p.0);
            let truncated = found.len() > max;
            found.truncate(max);
            let mut parts = Vec::with_capacity(found.len());
            for (n, path) in found {
                let meta = std::fs::metadata(&path)?;
                let mut part = Part {
                    part_number: Some(n),
                    size: Some(meta.len() as i64),
                    e_tag: Some(ETag::Strong(crate::transfer::checksum::md5_of_file(&path)?)),
                    last_modified: meta.modified().ok().map(Timestamp::from),
                    ..Default::default()
                };
                let kept = parts::listed_part_checksum(&root, &id, n, declared);
                parts::set_checksum(crc_fields!(part), kept);
                parts.push(part);
            }
            Ok((parts, truncated))
        })
        .await
        .map_err(|e| s3_error!(InternalError, "{e}"))?
        .map_err(|e| s3_error!(InternalError, "{e}"))?;
        let (parts, truncated) = listed;
        let output = ListPartsOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(input.upload_id),
            is_truncated: Some(truncated),
            next_part_number_marker: parts.last().and_then(|p| p.part_number),
            part_number_marker: Some(marker),
            max_parts: Some(max as i32),
            parts: Some(parts),
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        let input = req.input;
        let mut uploads = Vec::new();
        let entries = std::fs::read_dir(&self.root).map_err(|e| s3_error!(InternalError, "{e}"))?;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_prefix(".ferry-mpu-"))
                .and_then(|n| n.strip_suffix(".json"))
            else {
                continue;
            };
            if !self.upload_exists(id) {
                continue;
            }
            let Ok(bytes) = std::fs::read(entry.path()) else {
                continue;
            };
            let Ok(idx) = serde_json::from_slice::<UploadIndex>(&bytes) else {
                continue;
            };
            if idx.bucket != input.bucket
                || !idx.key.starts_with(input.prefix.as_deref().unwrap_or(""))
            {
                continue;
            }
            let initiated =
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(idx.initiated_ms as u64);
            uploads.push(MultipartUpload {
                key: Some(idx.key),
                upload_id: Some(id.to_string()),
                initiated: Some(Timestamp::from(initiated)),
                ..Default::default()
            });
        }
        uploads.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));
        let output = ListMultipartUploadsOutput {
            bucket: Some(input.bucket),
            prefix: input.prefix,
            is_truncated: Some(false),
            uploads: Some(uploads),
            ..Default::default()
        };
        Ok(S3Response::new(output))
    }
}

/// A running S3 server on loopback. Dropping it stops it and closes its connections.
pub struct Server {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `root` with SigV4 auth for `keys` on `addr` (use port 0 for any free port).
    pub async fn start(root: &Path, keys: &Keys, addr: SocketAddr) -> std::io::Result<Server> {
        Self::start_with_access(root, keys, addr, None::<AllowAuthenticated>).await
    }

    /// Like [`Server::start`], with an access hook run before each operation (tests use it to count
    /// requests and inject failures).
    pub async fn start_with_access<A: S3Access>(
        root: &Path,
        keys: &Keys,
        addr: SocketAddr,
        access: Option<A>,
    ) -> std::io::Result<Server> {
        let s3 = LocalS3::new(root).map_err(|e| std::io::Error::other(e.message))?;
        Self::serve(s3, keys, addr, access).await
    }

    /// Serves any S3 implementation the same way (tests wrap [`LocalS3`] to inject server faults).
    pub async fn serve<S: S3, A: S3Access>(
        s3: S,
        keys: &Keys,
        addr: SocketAddr,
        access: Option<A>,
    ) -> std::io::Result<Server> {
        let mut b = S3ServiceBuilder::new(s3);
        b.set_auth(SimpleAuth::from_single(
            keys.access_key.clone(),
            keys.secret_key.clone(),
        ));
        if let Some(a) = access {
            b.set_access(a);
        }
        let service = b.build();
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (tx, mut rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    _ = &mut rx => break,
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let _ = without_nagle(&stream);
                        let svc = service.clone();
                        conns.spawn(async move {
                            let _ = ConnBuilder::new(TokioExecutor::new())
                                .serve_connection(TokioIo::new(stream), svc)
                                .await;
                        });
                    }
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
            conns.abort_all();
        });
        Ok(Server {
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, closes open connections, and waits until the server task has ended.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The default access rule with authentication on: every signed request is allowed.
struct AllowAuthenticated;

#[async_trait::async_trait]
impl S3Access for AllowAuthenticated {}

/// The `local` account as a process sees it: an endpoint URL and its keys, and the server when this
/// process is the one serving it.
pub struct LocalEndpoint {
    pub endpoint: String,
    pub keys: Keys,
    pub data_dir: PathBuf,
    server: Option<Server>,
}

impl std::fmt::Debug for LocalEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEndpoint")
            .field("endpoint", &self.endpoint)
            .field("serving", &self.server.is_some())
            .finish()
    }
}

impl LocalEndpoint {
    /// Makes the local endpoint available: serves it from this process, or, when another Ferry process
    /// already serves this state folder on the port, uses that one.
    pub async fn ensure(state_dir: &Path, port: u16) -> Result<LocalEndpoint> {
        let dir = state_dir.join("local");
        let data_dir = dir.join("data");
        std::fs::create_dir_all(data_dir.join(DEFAULT_BUCKET))
            .map_err(|e| Error::io("cannot create", &data_dir, e))?;
        let keys = Keys::load_or_create(&dir.join("keys.json"))?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        match Server::start(&data_dir, &keys, addr).await {
            Ok(server) => Ok(LocalEndpoint {
                endpoint: server.endpoint(),
                keys,
                data_dir,
                server: Some(server),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                tracing::info!(port, "local endpoint already served by another process; using it");
                Ok(LocalEndpoint {
                    endpoint: format!("http://{addr}"),
                    keys,
                    data_dir,
                    server: None,
                })
            }
            Err(e) => Err(Error::storage(format!(
                "cannot start the local endpoint on {addr}: {e}; set FERRY_LOCAL_PORT to another port"
            ))),
        }
    }

    /// Whether this process serves the endpoint (links it signs die with it otherwise).
    pub fn is_serving(&self) -> bool {
        self.server.is_some()
    }

    /// Waits until the server stops (it does not, unless the process ends): for `ferry serve-local`.
    pub async fn serve_forever(mut self) {
        if let Some(s) = self.server.as_mut() {
            if let Some(t) = s.task.take() {
                let _ = t.await;
            }
        }
    }
}

/// Turns Nagle's algorithm off on an accepted connection. With it on, a response whose head and
/// body leave as two writes (every streamed GET) waits for the client's delayed ACK before its
/// body: 40 ms per small object on Linux, which made a folder of small files download at a tenth
/// of the speed the server can serve.
fn without_nagle(stream: &tokio::net::TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_answer_without_waiting_for_the_clients_ack() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let client = tokio::spawn(tokio::net::TcpStream::connect(addr));
        let (stream, _) = listener.accept().await.unwrap();
        assert!(!stream.nodelay().unwrap(), "a fresh socket has Nagle on");
        without_nagle(&stream).unwrap();
        assert!(stream.nodelay().unwrap());
        client.await.unwrap().unwrap();
    }
}

//! The test harness: a real S3 server (s3s-fs behind Ferry's embedded-endpoint wrapper) on
//! 127.0.0.1:0 with SigV4 auth, a fresh bucket, and a request log kept by an access hook.
//!
//! The hook can also hold requests (a "gate") for parts or ranges past a point, which lets tests stop
//! a transfer at an exact place without timing guesses. The server is wrapped in [`FaultyS3`], which
//! checks part checksums like real S3 and answers 500/503 or damages bodies on command; a [`Proxy`]
//! between the engine and the server breaks connections on command.

pub mod proxy;
pub mod server_faults;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::Credentials;
use ferry::local::{Keys, LocalS3, Server};
use ferry::{Connection, Engine, EngineConfig, Limits, RetryPolicy};
use s3s::access::{S3Access, S3AccessContext};
use s3s::dto::{GetObjectInput, HeadObjectInput, PutObjectInput, Range, UploadPartInput};
use s3s::{S3Request, S3Result};
use tempfile::TempDir;
use tokio::sync::watch;

pub use proxy::Proxy;
pub use server_faults::{FaultyS3, ServerFaults};

pub const MIB: usize = 1024 * 1024;
pub const BUCKET: &str = "test-bucket";
pub const ACCOUNT: &str = "test";

/// What the server saw, and the gate that can hold requests.
pub struct Log {
    /// (key, part number) of every UploadPart request, in arrival order.
    pub upload_parts: Mutex<Vec<(String, i32)>>,
    /// (key, first byte of the range or None) of every GetObject request.
    pub gets: Mutex<Vec<(String, Option<u64>)>>,
    pub puts: Mutex<Vec<String>>,
    /// The key of every HeadObject request.
    pub heads: Mutex<Vec<String>>,
    /// (key, part number) of every HeadObject request with a part number, in arrival order.
    pub part_heads: Mutex<Vec<(String, i32)>>,
    /// UploadPart requests with a part number at or above this are held until the gate opens.
    pub hold_parts_from: AtomicI32,
    /// Ranged GETs starting at or past this offset wait for the gate to open.
    pub hold_ranges_from: AtomicU64,
    open: watch::Sender<bool>,
}

impl Log {
    fn new() -> Log {
        let (open, _) = watch::channel(true);
        Log {
            upload_parts: Mutex::new(Vec::new()),
            gets: Mutex::new(Vec::new()),
            puts: Mutex::new(Vec::new()),
            heads: Mutex::new(Vec::new()),
            part_heads: Mutex::new(Vec::new()),
            hold_parts_from: AtomicI32::new(i32::MAX),
            hold_ranges_from: AtomicU64::new(u64::MAX),
            open,
        }
    }

    /// Holds parts numbered `from` and up until `release`.
    pub fn hold_parts_from(&self, from: i32) {
        self.open.send_replace(false);
        self.hold_parts_from.store(from, Ordering::SeqCst);
    }

    /// Holds ranged GETs that start at `offset` or later until `release`.
    pub fn hold_ranges_from(&self, offset: u64) {
        self.open.send_replace(false);
        self.hold_ranges_from.store(offset, Ordering::SeqCst);
    }

    pub fn release(&self) {
        self.hold_parts_from.store(i32::MAX, Ordering::SeqCst);
        self.hold_ranges_from.store(u64::MAX, Ordering::SeqCst);
        self.open.send_replace(true);
    }

    /// Holds a request until the gate opens, then refuses it: its client gave up on it long ago, and
    /// completing it late (its body may sit whole in the socket buffer) would make counts depend on timing.
    async fn hold(&self) -> S3Result<()> {
        let mut rx = self.open.subscribe();
        let _ = rx.wait_for(|open| *open).await;
        Err(s3s::s3_error!(
            InternalError,
            "a request held by the test gate"
        ))
    }

    /// How many UploadPart requests each part number of `key` got.
    pub fn part_counts(&self, key: &str) -> std::collections::BTreeMap<i32, usize> {
        let mut m = std::collections::BTreeMap::new();
        for (k, n) in self.upload_parts.lock().unwrap().iter() {
            if k == key {
                *m.entry(*n).or_insert(0) += 1;
            }
        }
        m
    }

    /// How many PutObject requests `key` got.
    pub fn put_count(&self, key: &str) -> usize {
        self.puts
            .lock()
            .unwrap()
            .iter()
            .filter(|k| *k == key)
            .count()
    }

    /// How many HeadObject requests `key` got.
    pub fn head_count(&self, key: &str) -> usize {
        self.heads
            .lock()
            .unwrap()
            .iter()
            .filter(|k| *k == key)
            .count()
    }

    /// The part numbers HEAD requests of `key` asked for, in order.
    pub fn part_heads(&self, key: &str) -> Vec<i32> {
        self.part_heads
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, n)| *n)
            .collect()
    }

    /// How many GETs `key` got, whole or ranged.
    pub fn get_count(&self, key: &str) -> usize {
        self.gets
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k == key)
            .count()
    }

    /// How many ranged GETs each starting offset of `key` got.
    pub fn range_counts(&self, key: &str) -> std::collections::BTreeMap<u64, usize> {
        let mut m = std::collections::BTreeMap::new();
        for (k, first) in self.gets.lock().unwrap().iter() {
            if let (true, Some(f)) = (k == key, first) {
                *m.entry(*f).or_insert(0) += 1;
            }
        }
        m
    }
}

struct Hook(Arc<Log>);

#[async_trait::async_trait]
impl S3Access for Hook {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        // The default rule: signed requests only.
        match cx.credentials() {
            Some(_) => Ok(()),
            None => Err(s3s::s3_error!(AccessDenied, "Signature required")),
        }
    }

    async fn upload_part(&self, req: &mut S3Request<UploadPartInput>) -> S3Result<()> {
        let n = req.input.part_number;
        self.0
            .upload_parts
            .lock()
            .unwrap()
            .push((req.input.key.clone(), n));
        if n >= self.0.hold_parts_from.load(Ordering::SeqCst) {
            return self.0.hold().await;
        }
        Ok(())
    }

    async fn get_object(&self, req: &mut S3Request<GetObjectInput>) -> S3Result<()> {
        let first = match req.input.range {
            Some(Range::Int { first, .. }) => Some(first),
            _ => None,
        };
        self.0
            .gets
            .lock()
            .unwrap()
            .push((req.input.key.clone(), first));
        if first.is_some_and(|f| f >= self.0.hold_ranges_from.load(Ordering::SeqCst)) {
            return self.0.hold().await;
        }
        Ok(())
    }

    async fn head_object(&self, req: &mut S3Request<HeadObjectInput>) -> S3Result<()> {
        self.0.heads.lock().unwrap().push(req.input.key.clone());
        if let Some(n) = req.input.part_number {
            self.0
                .part_heads
                .lock()
                .unwrap()
                .push((req.input.key.clone(), n));
        }
        Ok(())
    }

    async fn put_object(&self, req: &mut S3Request<PutObjectInput>) -> S3Result<()> {
        self.0.puts.lock().unwrap().push(req.input.key.clone());
        Ok(())
    }
}

pub struct Harness {
    pub server: Server,
    pub log: Arc<Log>,
    /// Faults the server injects (none unless a test asks).
    pub faults: Arc<ServerFaults>,
    pub keys: Keys,
    /// The server's data folder: `data/<bucket>/<key>` is an object's bytes.
    pub data: TempDir,
    pub state: TempDir,
    /// A scratch folder for the test's local files.
    pub work: TempDir,
}

impl Harness {
    pub async fn new() -> Harness {
        let data = tempfile::tempdir().unwrap();
        let keys = Keys::generate();
        let log = Arc::new(Log::new());
        let faults = Arc::new(ServerFaults::default());
        let s3 = FaultyS3 {
            inner: LocalS3::new(data.path()).unwrap(),
            faults: faults.clone(),
        };
        let server = Server::serve(
            s3,
            &keys,
            "127.0.0.1:0".parse().unwrap(),
            Some(Hook(log.clone())),
        )
        .await
        .unwrap();
        let h = Harness {
            server,
            log,
            faults,
            keys,
            data,
            state: tempfile::tempdir().unwrap(),
            work: tempfile::tempdir().unwrap(),
        };
        h.client()
            .await
            .create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
        h
    }

    pub fn conn(&self) -> Connection {
        Connection {
            account: ACCOUNT.into(),
            endpoint: Some(self.server.endpoint()),
            region: Some("us-east-1".into()),
            profile: None,
            path_style: true,
        }
    }

    /// The same server reached through `proxy`.
    pub fn conn_via(&self, proxy: &Proxy) -> Connection {
        Connection {
            endpoint: Some(proxy.endpoint()),
            ..self.conn()
        }
    }

    /// A proxy in front of this server.
    pub async fn proxy(&self) -> Proxy {
        Proxy::start(self.server.addr()).await
    }

    pub fn credentials(&self) -> Credentials {
        Credentials::new(
            &self.keys.access_key,
            &self.keys.secret_key,
            None,
            None,
            "test",
        )
    }

    /// A plain SDK client for looking at the server from outside Ferry.
    pub async fn client(&self) -> aws_sdk_s3::Client {
        ferry::s3::client(&self.conn(), None, Some(self.credentials()))
            .await
            .unwrap()
    }

    pub async fn engine(&self, limits: Limits) -> Engine {
        self.engine_with(limits, RetryPolicy::default()).await
    }

    /// An engine with its own retry policy (tests use [`quick_retries`]).
    pub async fn engine_with(&self, limits: Limits, retry: RetryPolicy) -> Engine {
        let mut cfg = EngineConfig::new(self.state.path());
        cfg.limits = limits;
        cfg.retry = retry;
        let e = Engine::open(cfg).await.unwrap();
        e.register_credentials(ACCOUNT, self.credentials()).await;
        e
    }

    /// An engine and its watched folders, whose files upload once unchanged for `settle`.
    pub async fn watching_engine(&self, settle: Duration) -> (Engine, ferry::Watches) {
        let e = Engine::open(EngineConfig::new(self.state.path()))
            .await
            .unwrap();
        e.register_credentials(ACCOUNT, self.credentials()).await;
        let watches = ferry::Watches::new(&e, settle);
        (e, watches)
    }

    /// A read-only look at the state database, for the tables no public API exposes whole.
    pub fn db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            self.state.path().join("ferry.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap()
    }

    /// The bytes the server holds for `key`, read from its disk.
    pub fn object(&self, key: &str) -> Vec<u8> {
        std::fs::read(self.data.path().join(BUCKET).join(key))
            .unwrap_or_else(|e| panic!("object {key}: {e}"))
    }

    pub fn object_exists(&self, key: &str) -> bool {
        self.data.path().join(BUCKET).join(key).is_file()
    }

    /// Stores an object through the S3 API (not through Ferry).
    pub async fn put(&self, key: &str, bytes: Vec<u8>) {
        self.client()
            .await
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .unwrap();
    }

    pub fn file(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.work.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Multipart uploads the server still holds for the bucket.
    pub async fn open_uploads(&self) -> Vec<String> {
        let out = self
            .client()
            .await
            .list_multipart_uploads()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
        out.uploads()
            .iter()
            .filter_map(|u| u.key().map(str::to_string))
            .collect()
    }

    /// Part files s3s-fs keeps for unfinished multipart uploads.
    pub fn leftover_part_files(&self) -> usize {
        std::fs::read_dir(self.data.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".upload_id-")
            })
            .count()
    }

    /// The `ferry` binary, pointed at this server through the AWS environment only.
    pub fn ferry(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ferry"));
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.work.path())
            .env("FERRY_STATE_DIR", self.state.path())
            .env("AWS_ACCESS_KEY_ID", &self.keys.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.keys.secret_key)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", self.work.path().join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.work.path().join("no-aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .args(["--endpoint-url", &self.server.endpoint()]);
        c
    }

    /// Waits until a `ferry` child process has created the state database, then opens it.
    pub async fn store_when_created(&self) -> ferry::store::Store {
        let path = self.state.path().join("ferry.db");
        wait_until("the state database exists", || path.exists()).await;
        self.store()
    }

    /// Opens the state database the engine and the CLI write.
    pub fn store(&self) -> ferry::store::Store {
        ferry::store::Store::open(&self.state.path().join("ferry.db")).unwrap()
    }
}

/// The default policy's shape with test-sized waits: a part silent for 1 s is stalled, backoffs are
/// tens of milliseconds, an outage waits half a second before the next run.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        attempts: 4,
        backoff: Duration::from_millis(20),
        sdk_backoff: Duration::from_millis(20),
        stall_timeout: Duration::from_secs(1),
        outage_wait: Duration::from_millis(500),
        max_outage_wait: Duration::from_secs(2),
    }
}

/// Runs `ids` on a background task, so the test can pause or cancel them meanwhile.
pub fn run_in_background(
    engine: &Engine,
    ids: &[String],
) -> tokio::task::JoinHandle<Vec<ferry::engine::Outcome>> {
    let (engine, ids) = (engine.clone(), ids.to_vec());
    tokio::spawn(async move { engine.run(&ids).await })
}

/// Deterministic pseudo-random bytes (xorshift), different for each seed.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Polls `cond` every 20 ms until it holds; panics with `what` after 60 s (a hang, not a timing check).
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..3000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("gave up waiting: {what}");
}

/// GETs `url` over plain HTTP/1.1 on loopback; returns (status, body).
pub async fn http_get(url: &str) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP head")
        + 4;
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "chunked replies are not parsed here"
    );
    (status, buf[head_end..].to_vec())
}

/// Every file under `root`, as (relative path with `/`, bytes), sorted.
pub fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    fn go(dir: &Path, rel: &str, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().to_string();
            let r = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            if e.path().is_dir() {
                go(&e.path(), &r, out);
            } else {
                out.push((r, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    go(root, "", &mut out);
    out.sort();
    out
}

/// Uploads `bytes` as a multipart object in parts of `part` bytes with a full-object checksum of
/// `algo`, as the aws CLI does (CRC32) and S3 does by default for CRC64NVME.
pub async fn put_multipart_with_full_checksum(
    h: &Harness,
    key: &str,
    bytes: &[u8],
    algo: ferry::transfer::checksum::Algorithm,
    part: usize,
) {
    let mut digest = algo.digest();
    digest.update(bytes);
    let value = algo.encode(digest.value());
    put_multipart(h, key, bytes, part, Some((algo, value)))
        .await
        .unwrap();
}

/// Uploads `bytes` as a multipart object in parts of `part` bytes through the S3 API (not through
/// Ferry), completing it with `checksum` as a FULL_OBJECT checksum when given (right or wrong).
pub async fn put_multipart(
    h: &Harness,
    key: &str,
    bytes: &[u8],
    part: usize,
    checksum: Option<(ferry::transfer::checksum::Algorithm, String)>,
) -> Result<(), String> {
    multipart_upload(h, key, bytes, part, None, checksum).await
}

/// Uploads `bytes` in parts of `part` bytes declaring `algo` at CreateMultipartUpload and sending
/// each part's own checksum, with no whole-object one, as the aws CLI and SDKs do by default for
/// CRC32/CRC32C multipart uploads: the server gives the object a COMPOSITE checksum. Returns the
/// parts' checksums, computed here.
pub async fn put_multipart_with_part_checksums(
    h: &Harness,
    key: &str,
    bytes: &[u8],
    algo: ferry::transfer::checksum::Algorithm,
    part: usize,
) -> Vec<u64> {
    multipart_upload(h, key, bytes, part, Some(algo), None)
        .await
        .unwrap();
    bytes
        .chunks(part)
        .map(|c| {
            let mut d = algo.digest();
            d.update(c);
            d.value()
        })
        .collect()
}

async fn multipart_upload(
    h: &Harness,
    key: &str,
    bytes: &[u8],
    part: usize,
    per_part: Option<ferry::transfer::checksum::Algorithm>,
    full: Option<(ferry::transfer::checksum::Algorithm, String)>,
) -> Result<(), String> {
    use aws_sdk_s3::types::{
        ChecksumAlgorithm, ChecksumType, CompletedMultipartUpload, CompletedPart,
    };
    use ferry::transfer::checksum::Algorithm;
    let client = h.client().await;
    let id = client
        .create_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .set_checksum_algorithm(per_part.map(|a| ChecksumAlgorithm::from(a.name())))
        .set_checksum_type(per_part.map(|_| ChecksumType::Composite))
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap();
    let mut done = Vec::new();
    for (i, chunk) in bytes.chunks(part).enumerate() {
        let n = i as i32 + 1;
        let value = per_part.map(|algo| {
            let mut d = algo.digest();
            d.update(chunk);
            algo.encode(d.value())
        });
        let (crc32, crc32c) = match per_part {
            Some(Algorithm::Crc32) => (value, None),
            Some(Algorithm::Crc32c) => (None, value),
            _ => (None, None),
        };
        let out = client
            .upload_part()
            .bucket(BUCKET)
            .key(key)
            .upload_id(&id)
            .part_number(n)
            .set_checksum_crc32(crc32.clone())
            .set_checksum_crc32_c(crc32c.clone())
            .body(chunk.to_vec().into())
            .send()
            .await
            .unwrap();
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .set_e_tag(out.e_tag)
                .set_checksum_crc32(crc32)
                .set_checksum_crc32_c(crc32c)
                .build(),
        );
    }
    let req = client
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        );
    let req = match full {
        None => req,
        Some((algo, value)) => {
            let req = req.checksum_type(ChecksumType::FullObject);
            match algo {
                Algorithm::Crc32 => req.checksum_crc32(value),
                Algorithm::Crc32c => req.checksum_crc32_c(value),
                Algorithm::Crc64Nvme => req.checksum_crc64_nvme(value),
            }
        }
    };
    req.send().await.map(|_| ()).map_err(|e| format!("{e:?}"))
}

//! [`Harness`]: one test's server, bucket, state folder and scratch folder, and the ways a test
//! reaches them (an engine, the `ferry` binary, the store, the server's disk).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::Credentials;
use ferry::local::{Keys, LocalS3, Server};
use ferry::{Connection, Engine, EngineConfig, Limits, RetryPolicy};
use tempfile::TempDir;

use super::gate::{Hook, Log};
use super::{wait_until, write_under, FaultyS3, Proxy, ServerFaults, ACCOUNT, BUCKET};

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

    /// Another server over this one's data folder (a second `LocalS3`, as after a restart or beside
    /// another process), with the same keys, and a plain SDK client for it.
    pub async fn twin(&self) -> (Server, aws_sdk_s3::Client) {
        let server = Server::start(self.data.path(), &self.keys, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
        let conn = Connection {
            endpoint: Some(server.endpoint()),
            ..self.conn()
        };
        let client = ferry::s3::client(&conn, None, Some(self.credentials()))
            .await
            .unwrap();
        (server, client)
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

    /// This server as the account `name` of `engine` (its keys registered there): the other side
    /// of a copy between accounts.
    pub async fn as_account(&self, engine: &Engine, name: &str) -> Connection {
        engine.register_credentials(name, self.credentials()).await;
        Connection {
            account: name.into(),
            ..self.conn()
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
        self.engine_of(cfg).await
    }

    /// An engine whose server-side copies above `max` bytes are multipart copies (UploadPartCopy),
    /// as S3's are above 5 GiB; the `ferry` binary takes the same from `FERRY_SINGLE_COPY_MAX`.
    pub async fn engine_copying_whole_up_to(&self, max: u64) -> Engine {
        let mut cfg = EngineConfig::new(self.state.path());
        cfg.retry = super::quick_retries();
        cfg.single_copy_max = max;
        self.engine_of(cfg).await
    }

    async fn engine_of(&self, cfg: EngineConfig) -> Engine {
        let e = Engine::open(cfg).await.unwrap();
        e.register_credentials(ACCOUNT, self.credentials()).await;
        e
    }

    /// An engine and its watched folders, whose files upload once unchanged for `settle`.
    pub async fn watching_engine(&self, settle: Duration) -> (Engine, ferry::Watches) {
        let e = self.engine(Limits::default()).await;
        let watches = ferry::Watches::new(&e, settle);
        (e, watches)
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

    /// Stores an object with its CRC32C through the S3 API, as Ferry's single-part uploads are stored.
    pub async fn put_with_crc32c(&self, key: &str, bytes: Vec<u8>) {
        self.client()
            .await
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .checksum_crc32_c(ferry::transfer::crc32c_b64(&bytes))
            .body(bytes.into())
            .send()
            .await
            .unwrap();
    }

    /// HEADs `key` through the S3 API with its checksums shown.
    pub async fn head(&self, key: &str) -> aws_sdk_s3::operation::head_object::HeadObjectOutput {
        self.client()
            .await
            .head_object()
            .bucket(BUCKET)
            .key(key)
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
            .send()
            .await
            .unwrap()
    }

    pub fn file(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        write_under(self.work.path(), rel, bytes)
    }

    /// Keys the bucket holds, listed through the S3 API (not through Ferry).
    pub async fn object_keys(&self) -> Vec<String> {
        let out = self
            .client()
            .await
            .list_objects_v2()
            .bucket(BUCKET)
            .send()
            .await
            .unwrap();
        out.contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_string))
            .collect()
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
        ferry_command(
            &self.server.endpoint(),
            &self.keys.access_key,
            &self.keys.secret_key,
            self.work.path(),
            self.state.path(),
        )
    }

    /// Waits until a `ferry` child process has created the state database, then opens it.
    pub async fn store_when_created(&self) -> ferry::store::Store {
        store_when_created(self.state.path()).await
    }

    /// Opens the state database the engine and the CLI write.
    pub fn store(&self) -> ferry::store::Store {
        ferry::store::Store::open(&self.state.path().join("ferry.db")).unwrap()
    }
}

/// The `ferry` binary pointed at the S3 server at `endpoint` through the AWS environment only: no
/// config files, no metadata service, `home` as HOME and `state` as its state folder.
pub fn ferry_command(
    endpoint: &str,
    access_key: &str,
    secret_key: &str,
    home: &std::path::Path,
    state: &std::path::Path,
) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ferry"));
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("FERRY_STATE_DIR", state)
        .env("AWS_ACCESS_KEY_ID", access_key)
        .env("AWS_SECRET_ACCESS_KEY", secret_key)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", home.join("no-aws-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.join("no-aws-credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["--endpoint-url", endpoint]);
    c
}

/// Waits until a `ferry` child process has created the state database in `state`, then opens it.
pub async fn store_when_created(state: &std::path::Path) -> ferry::store::Store {
    let path = state.join("ferry.db");
    wait_until("the state database exists", || path.exists()).await;
    ferry::store::Store::open(&path).unwrap()
}

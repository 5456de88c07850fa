//! [`Moto`]: moto's S3 server (`moto_server`, from pip's `moto[server]`) as a child process on a free
//! 127.0.0.1 port, for what s3s-fs cannot do (object versions). A second, independent S3
//! implementation: in memory, no signature checks, versioning supported. One server per test,
//! killed when the [`Moto`] is dropped; its own state and scratch folders, like [`super::Harness`].
//!
//! `make test-deps` installs it; a test run without it panics saying so.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use aws_credential_types::Credentials;
use ferry::{Connection, Engine, EngineConfig, Limits, RetryPolicy};
use tempfile::TempDir;

use super::{ferry_command, store_when_created, ACCOUNT};

/// moto checks no signatures: any key pair is accepted, and these never leave the test.
const ACCESS_KEY: &str = "moto-test-key";
const SECRET_KEY: &str = "moto-test-secret";

pub struct Moto {
    child: Child,
    endpoint: String,
    pub state: TempDir,
    /// A scratch folder for the test's local files.
    pub work: TempDir,
}

impl Moto {
    /// Starts `moto_server` on port 0 and reads the port it took from its first lines.
    pub async fn start() -> Moto {
        tokio::task::spawn_blocking(Moto::start_blocking)
            .await
            .unwrap()
    }

    fn start_blocking() -> Moto {
        let mut child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto_server ({e}): the versions tests need moto's S3 server; \
                     run `make test-deps` (it runs `pip install \"moto[server]\"`)"
                )
            });
        // Werkzeug says ` * Running on http://127.0.0.1:PORT` on stderr once it listens.
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let endpoint = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.split("Running on ").nth(1) {
                        break url.trim().to_string();
                    }
                }
                _ => {
                    let _ = child.kill();
                    panic!("moto_server exited before it listened; try `moto_server -H 127.0.0.1 -p 0` by hand");
                }
            }
        };
        // Keep draining its request log, so a full pipe never blocks it.
        std::thread::spawn(move || lines.for_each(drop));
        Moto {
            child,
            endpoint,
            state: tempfile::tempdir().unwrap(),
            work: tempfile::tempdir().unwrap(),
        }
    }

    /// The address it listens on (for a proxy in front of it).
    pub fn addr(&self) -> std::net::SocketAddr {
        self.endpoint.trim_start_matches("http://").parse().unwrap()
    }

    pub fn conn(&self) -> Connection {
        self.conn_at(&self.endpoint)
    }

    /// This server's account reached at `endpoint` (a proxy in front of it).
    pub fn conn_at(&self, endpoint: &str) -> Connection {
        Connection {
            account: ACCOUNT.into(),
            endpoint: Some(endpoint.to_string()),
            region: Some("us-east-1".into()),
            profile: None,
            path_style: true,
        }
    }

    pub fn credentials(&self) -> Credentials {
        Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test")
    }

    /// A plain SDK client for looking at the server from outside Ferry.
    pub async fn client(&self) -> aws_sdk_s3::Client {
        ferry::s3::client(&self.conn(), None, Some(self.credentials()))
            .await
            .unwrap()
    }

    /// A new bucket with versioning turned on.
    pub async fn versioned_bucket(&self, bucket: &str) {
        use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
        let c = self.client().await;
        c.create_bucket().bucket(bucket).send().await.unwrap();
        c.put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    /// Stores `bytes` as a new version of `key` (not through Ferry); returns its version id.
    pub async fn put(&self, bucket: &str, key: &str, bytes: Vec<u8>) -> String {
        let out = self
            .client()
            .await
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(bytes.into())
            .send()
            .await
            .unwrap();
        out.version_id().expect("a versioned bucket").to_string()
    }

    /// Deletes `key` without a version id (not through Ferry): a delete marker becomes its current
    /// version; returns the marker's id.
    pub async fn delete(&self, bucket: &str, key: &str) -> String {
        let out = self
            .client()
            .await
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        out.version_id().expect("a versioned bucket").to_string()
    }

    /// The current bytes of `key`, read through the S3 API.
    pub async fn object(&self, bucket: &str, key: &str) -> Vec<u8> {
        let out = self
            .client()
            .await
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        out.body.collect().await.unwrap().into_bytes().to_vec()
    }

    /// `(version id, is delete marker)` of every version of `key` as the server lists them (not
    /// through Ferry): its versions newest first, then its delete markers.
    pub async fn versions(&self, bucket: &str, key: &str) -> Vec<(String, bool)> {
        let out = self
            .client()
            .await
            .list_object_versions()
            .bucket(bucket)
            .prefix(key)
            .send()
            .await
            .unwrap();
        let versions = out
            .versions()
            .iter()
            .filter(|v| v.key() == Some(key))
            .map(|v| (v.version_id().unwrap().to_string(), false));
        let markers = out
            .delete_markers()
            .iter()
            .filter(|m| m.key() == Some(key))
            .map(|m| (m.version_id().unwrap().to_string(), true));
        versions.chain(markers).collect()
    }

    pub async fn engine(&self, limits: Limits, retry: RetryPolicy) -> Engine {
        let mut cfg = EngineConfig::new(self.state.path());
        cfg.limits = limits;
        cfg.retry = retry;
        let e = Engine::open(cfg).await.unwrap();
        e.register_credentials(ACCOUNT, self.credentials()).await;
        e
    }

    /// The `ferry` binary, pointed at this server through the AWS environment only.
    pub fn ferry(&self) -> Command {
        self.ferry_at(&self.endpoint)
    }

    /// The `ferry` binary, pointed at this server reached at `endpoint` (a proxy in front of it).
    pub fn ferry_at(&self, endpoint: &str) -> Command {
        ferry_command(
            endpoint,
            ACCESS_KEY,
            SECRET_KEY,
            self.work.path(),
            self.state.path(),
        )
    }

    /// Waits until a `ferry` child process has created the state database, then opens it.
    pub async fn store_when_created(&self) -> ferry::store::Store {
        store_when_created(self.state.path()).await
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

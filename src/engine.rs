//! The engine: a cheap-to-clone handle over the persisted queue and the tasks that move bytes.
//!
//! Shells (the CLI, the desktop app) only translate between their world and this API. Admission
//! follows the tokio lifecycle of mini-redis: a semaphore caps concurrent transfers and its permit
//! moves into the transfer's task; two more cap connections (parts in flight) and buffer memory, so
//! memory never grows with file size or queue length. Each transfer runs under a child of the
//! engine's cancellation token; pausing or cancelling drops its in-flight requests at once.
//!
//! Every state change is written to SQLite first. A background task publishes coalesced progress
//! snapshots every 100 ms and refreshes the leases of running transfers every second; when another
//! process pauses or cancels one of them, the lease check notices and stops it here.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::Client;
use serde::Serialize;
use tokio::sync::{broadcast, OnceCell, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::accounts::{self, Account, Keychain, NewAccount, SecretStore, SessionSecrets};
use crate::error::{Error, ErrorKind, Result};
use crate::local::LocalEndpoint;
use crate::paths::local_path_for_key;
use crate::plan;
use crate::progress::{Progress, RateLimiter, Snapshot, TICK};
use crate::s3::{self, check_key, Connection, S3Url};
use crate::store::{self, Direction, NewTransfer, State, Store, TransferRow};
use crate::transfer::{self, download, upload, Ctx, RetryPolicy, RunStats};

/// Buffer memory shared by all parts in flight, in MiB. With 8 MiB parts this allows 8 in flight.
pub const MEMORY_BUDGET_MIB: usize = 64;
/// A paused or failed upload untouched this long is abandoned: the desktop app aborts its multipart
/// upload on start (`ferry clean-uploads` does it on demand).
pub const ABANDONED_UPLOAD_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// The longest a presigned link may live: S3's limit for SigV4 signatures.
pub const MAX_LINK_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Concurrency and bandwidth limits.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Limits {
    /// Transfers running at once (many small files run side by side).
    pub transfers: usize,
    /// Parts in flight for one transfer.
    pub parts_in_flight: usize,
    /// Bytes per second across all transfers; `None` for no limit.
    pub rate_limit: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            transfers: 16,
            parts_in_flight: 8,
            rate_limit: None,
        }
    }
}

#[derive(Clone)]
pub struct EngineConfig {
    pub state_dir: PathBuf,
    pub limits: Limits,
    /// Port of the embedded endpoint (`local` account).
    pub local_port: u16,
    /// Where account secrets live; the OS keychain unless a test says otherwise.
    pub secrets: Arc<dyn SecretStore>,
    /// How long a watched file must stay unchanged before it is uploaded.
    pub watch_settle: Duration,
    /// Retries, the stall watchdog and waits between runs after an outage.
    pub retry: RetryPolicy,
}

impl EngineConfig {
    pub fn new(state_dir: impl Into<PathBuf>) -> EngineConfig {
        EngineConfig {
            state_dir: state_dir.into(),
            limits: Limits::default(),
            local_port: std::env::var("FERRY_LOCAL_PORT")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(crate::local::DEFAULT_PORT),
            secrets: Arc::new(Keychain),
            watch_settle: crate::watch::DEFAULT_SETTLE,
            retry: RetryPolicy::default(),
        }
    }
}

/// The app's settings, persisted in the state database.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    pub concurrent_transfers: usize,
    pub parts_in_flight: usize,
    /// `None`: chosen per file.
    pub part_size_mib: Option<u64>,
    /// `None`: unlimited.
    pub bandwidth_limit_mibps: Option<f64>,
    pub default_link_expiry_secs: u64,
    /// `system`, `light` or `dark`.
    pub theme: String,
}

impl Default for Settings {
    fn default() -> Self {
        let l = Limits::default();
        Settings {
            concurrent_transfers: l.transfers,
            parts_in_flight: l.parts_in_flight,
            part_size_mib: None,
            bandwidth_limit_mibps: None,
            default_link_expiry_secs: 3600,
            theme: "system".into(),
        }
    }
}

impl Settings {
    pub fn validate(&self) -> Result<()> {
        if !(1..=256).contains(&self.concurrent_transfers) {
            return Err(Error::invalid(
                "concurrent transfers must be between 1 and 256",
            ));
        }
        if !(1..=64).contains(&self.parts_in_flight) {
            return Err(Error::invalid("parts in flight must be between 1 and 64"));
        }
        if let Some(p) = self.part_size_mib {
            plan::part_size(0, Some(p * plan::MIB))?;
        }
        if self
            .bandwidth_limit_mibps
            .is_some_and(|b| !(b > 0.0 && b.is_finite()))
        {
            return Err(Error::invalid(
                "the bandwidth limit must be a positive number of MiB/s",
            ));
        }
        if ![900, 3600, 86400, 604800].contains(&self.default_link_expiry_secs) {
            return Err(Error::invalid(
                "the default link expiry must be 15 minutes, 1 hour, 1 day or 7 days",
            ));
        }
        if !["system", "light", "dark"].contains(&self.theme.as_str()) {
            return Err(Error::invalid("the theme must be system, light or dark"));
        }
        Ok(())
    }

    pub fn limits(&self) -> Limits {
        Limits {
            transfers: self.concurrent_transfers,
            parts_in_flight: self.parts_in_flight,
            rate_limit: self
                .bandwidth_limit_mibps
                .map(|b| (b * plan::MIB as f64) as u64),
        }
    }
}

/// All transfers of one request (one drop, one `cp`) have ended.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchFinished {
    pub batch_id: String,
    pub completed: usize,
    pub failed: usize,
    pub cancelled: usize,
}

/// A transfer as the UI shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferView {
    pub id: String,
    pub direction: Direction,
    pub state: State,
    pub account: String,
    pub bucket: String,
    pub key: String,
    pub local_path: String,
    pub name: String,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub error: Option<Error>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// `waiting_retry`: when it runs again by itself (unix ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<i64>,
}

impl From<&TransferRow> for TransferView {
    fn from(r: &TransferRow) -> Self {
        let name = match r.direction {
            Direction::Upload => r
                .local_path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned()),
            Direction::Download => r.key.rsplit('/').next().map(str::to_string),
        }
        .unwrap_or_default();
        let error = match (&r.error_kind, &r.error_message) {
            (Some(k), Some(m)) => Some(Error::new(
                serde_json::from_value(serde_json::Value::String(k.clone()))
                    .unwrap_or(ErrorKind::Internal),
                m.clone(),
            )),
            _ => None,
        };
        TransferView {
            id: r.id.clone(),
            direction: r.direction,
            state: r.state,
            account: Connection::from_json(&r.connection)
                .map(|c| c.account)
                .unwrap_or_default(),
            bucket: r.bucket.clone(),
            key: r.key.clone(),
            local_path: r.local_path.display().to_string(),
            name,
            bytes_done: r.bytes_done.min(r.size.unwrap_or(0)),
            bytes_total: r.size.unwrap_or(0),
            error,
            created_at: r.created_at,
            finished_at: r.finished_at,
            next_attempt_at: r.next_attempt_at.filter(|_| r.state == State::WaitingRetry),
        }
    }
}

/// A lifecycle change of one transfer, for the UI's event stream.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub id: String,
    pub state: State,
    pub error: Option<Error>,
}

/// What to do when a download's destination file already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IfExists {
    /// Refuse the whole request before anything starts (the default: never overwrite silently).
    #[default]
    Error,
    Skip,
    Overwrite,
    /// Save as `name (1).ext`, `name (2).ext`, …
    Rename,
}

#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    pub recursive: bool,
    pub part_size: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct DownloadOptions {
    pub recursive: bool,
    pub part_size: Option<u64>,
    pub if_exists: IfExists,
}

/// Something an enqueue request left out, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub what: String,
    pub reason: String,
}

/// The transfers one request created or continued.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Enqueued {
    /// In the order the files were found.
    pub ids: Vec<String>,
    /// How many of `ids` are unfinished transfers from before, continued rather than restarted.
    pub resumed: usize,
    pub skipped: Vec<Skipped>,
}

/// How one transfer's run ended.
#[derive(Debug)]
pub struct Outcome {
    pub id: String,
    pub result: Result<RunStats>,
}

/// A presigned GET link and when it really stops working.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub url: String,
    /// Unix seconds.
    pub expires_at: u64,
    pub expires_in_secs: u64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// Unix seconds.
    pub last_modified: Option<i64>,
    pub etag: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Listing {
    /// Sub-prefixes ("folders"), each ending in `/`.
    pub prefixes: Vec<String>,
    pub objects: Vec<ObjectInfo>,
}

#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Running {
    token: CancellationToken,
    /// Whether the lease is taken (queued tasks wait for a slot before claiming).
    claimed: bool,
    /// Ends a wait in `waiting_retry` early (the user asked to resume it now).
    wake: Arc<tokio::sync::Notify>,
}

struct Inner {
    store: Arc<Store>,
    state_dir: PathBuf,
    /// `<pid>-<random>`: names this process in leases.
    owner: String,
    /// The limits in force; the semaphores below are resized when they change.
    limits: Mutex<Limits>,
    transfer_slots: Arc<Semaphore>,
    part_slots: Arc<Semaphore>,
    memory: Arc<Semaphore>,
    /// Part buffers reused across parts and transfers, bounded by the memory budget.
    buffers: Arc<transfer::buffers::Buffers>,
    limiter: Arc<RateLimiter>,
    clients: tokio::sync::Mutex<HashMap<String, Client>>,
    /// Credentials handed in at run time (tests, embedders); never persisted.
    credentials: Mutex<HashMap<String, Credentials>>,
    /// Where saved accounts' secrets live (normally the OS keychain).
    keychain: Arc<dyn SecretStore>,
    /// Secrets the user chose to keep for this session only.
    session: SessionSecrets,
    batches: broadcast::Sender<BatchFinished>,
    /// Batches already announced, so two transfers ending together announce their batch once.
    announced: Mutex<std::collections::HashSet<String>>,
    local: OnceCell<LocalEndpoint>,
    local_port: u16,
    retry: RetryPolicy,
    running: Mutex<HashMap<String, Running>>,
    progress: Progress,
    events: broadcast::Sender<Event>,
    shutdown: CancellationToken,
    /// Watched folders running in this process.
    watching: crate::watch::Registry,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether the process named in a lease still runs (Linux: /proc; elsewhere the lease timeout decides).
fn owner_alive(owner: &str) -> bool {
    let Some(pid) = owner.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
        return true;
    };
    if cfg!(target_os = "linux") {
        // A zombie (exited, not yet reaped) still has a /proc entry but holds nothing.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !matches!(
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.trim_start().chars().next()),
                Some('Z' | 'X')
            ),
            Err(_) => false,
        }
    } else {
        true
    }
}

impl Engine {
    /// Opens the state folder (creating it) and starts the background task. Call inside a tokio runtime.
    pub async fn open(config: EngineConfig) -> Result<Engine> {
        std::fs::create_dir_all(&config.state_dir)
            .map_err(|e| Error::io("cannot create the state folder", &config.state_dir, e))?;
        let store = Arc::new(Store::open(&config.state_dir.join("ferry.db"))?);
        let limits = config.limits;
        if limits.transfers == 0 || limits.parts_in_flight == 0 {
            return Err(Error::invalid("--concurrency must be at least 1"));
        }
        let (events, _) = broadcast::channel(1024);
        let (batches, _) = broadcast::channel(64);
        let inner = Arc::new(Inner {
            store,
            state_dir: config.state_dir,
            owner: format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()),
            limits: Mutex::new(limits),
            transfer_slots: Arc::new(Semaphore::new(limits.transfers)),
            part_slots: Arc::new(Semaphore::new(limits.parts_in_flight.max(limits.transfers))),
            memory: Arc::new(Semaphore::new(MEMORY_BUDGET_MIB)),
            buffers: Arc::new(transfer::buffers::Buffers::new(
                MEMORY_BUDGET_MIB * plan::MIB as usize,
            )),
            limiter: Arc::new(RateLimiter::new(limits.rate_limit)),
            clients: tokio::sync::Mutex::new(HashMap::new()),
            credentials: Mutex::new(HashMap::new()),
            keychain: config.secrets,
            session: SessionSecrets::default(),
            batches,
            announced: Mutex::new(Default::default()),
            local: OnceCell::new(),
            local_port: config.local_port,
            retry: config.retry,
            running: Mutex::new(HashMap::new()),
            progress: Progress::default(),
            events,
            shutdown: CancellationToken::new(),
            watching: crate::watch::Registry::new(config.watch_settle),
        });
        spawn_background(Arc::downgrade(&inner), inner.shutdown.clone());
        Ok(Engine { inner })
    }

    pub fn state_dir(&self) -> &Path {
        &self.inner.state_dir
    }

    /// Watched folders: folders whose new and changed files are uploaded through this queue.
    pub fn watches(&self) -> crate::watch::Watches {
        crate::watch::Watches::new(self.clone())
    }

    pub(crate) fn watch_registry(&self) -> &crate::watch::Registry {
        &self.inner.watching
    }

    /// Cancelled by [`Engine::shutdown`]; what runs in the background hangs its tokens from it.
    pub(crate) fn shutdown_token(&self) -> CancellationToken {
        self.inner.shutdown.clone()
    }

    pub fn limits(&self) -> Limits {
        *lock(&self.inner.limits)
    }

    /// Changes the limits while transfers run: new slots open at once, removed ones close as running
    /// parts finish; the bandwidth limit applies to bytes not yet sent.
    pub fn set_limits(&self, new: Limits) -> Result<()> {
        if new.transfers == 0 || new.parts_in_flight == 0 {
            return Err(Error::invalid("limits must be at least 1"));
        }
        let mut cur = lock(&self.inner.limits);
        resize(&self.inner.transfer_slots, cur.transfers, new.transfers);
        resize(
            &self.inner.part_slots,
            cur.parts_in_flight.max(cur.transfers),
            new.parts_in_flight.max(new.transfers),
        );
        self.inner.limiter.set_rate(new.rate_limit);
        *cur = new;
        Ok(())
    }

    /// The saved settings (defaults until the user changes them).
    pub fn settings(&self) -> Result<Settings> {
        Ok(match self.inner.store.setting("settings")? {
            Some(text) => serde_json::from_str(&text).unwrap_or_default(),
            None => Settings::default(),
        })
    }

    /// Validates, saves and applies settings.
    pub fn set_settings(&self, settings: &Settings) -> Result<Settings> {
        settings.validate()?;
        self.inner.store.set_setting(
            "settings",
            &serde_json::to_string(settings).expect("settings serialise"),
        )?;
        self.set_limits(settings.limits())?;
        Ok(settings.clone())
    }

    /// Notices that all transfers of a request have ended (for desktop notifications).
    pub fn subscribe_batches(&self) -> broadcast::Receiver<BatchFinished> {
        self.inner.batches.subscribe()
    }

    /// The built-in local account, saved accounts, then the AWS profiles found in `~/.aws`.
    pub fn accounts(&self) -> Result<Vec<Account>> {
        let mut out = vec![accounts::local_account()];
        out.extend(self.inner.store.accounts()?.iter().map(Account::from));
        out.extend(accounts::aws_profiles());
        Ok(out)
    }

    /// Saves an account: its secret first (keychain, or this session only), then its row.
    pub async fn add_account(&self, new: &NewAccount) -> Result<Account> {
        new.validate()?;
        let conn = new.connection();
        if self.inner.store.account(&conn.account)?.is_some() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "an account named `{}` already exists; choose another name",
                    conn.account
                ),
            ));
        }
        let place = if new.session_only {
            self.inner
                .session
                .set(&conn.account, &new.secret_access_key)?;
            "session"
        } else {
            self.inner
                .keychain
                .set(&conn.account, &new.secret_access_key)
                .map_err(|e| match e.kind {
                    ErrorKind::KeychainUnavailable => Error::new(
                        e.kind,
                        format!(
                            "{}; you can keep the secret for this session only instead",
                            e.message
                        ),
                    ),
                    _ => e,
                })?;
            "keychain"
        };
        let row = crate::store::AccountRow {
            name: conn.account.clone(),
            kind: "s3".into(),
            endpoint: conn.endpoint.clone(),
            region: conn.region.clone(),
            path_style: conn.path_style,
            access_key_id: Some(new.access_key_id.trim().to_string()),
            profile: None,
            secret: place.into(),
        };
        if let Err(e) = self.inner.store.insert_account(&row) {
            let _ = self.secrets_of(place).delete(&row.name);
            return Err(e);
        }
        self.forget_clients(&row.name).await;
        Ok(Account::from(&row))
    }

    fn secrets_of(&self, place: &str) -> &dyn SecretStore {
        if place == "session" {
            &self.inner.session
        } else {
            self.inner.keychain.as_ref()
        }
    }

    /// Removes a saved account and its secret. Its transfers stay in the list.
    pub async fn remove_account(&self, name: &str) -> Result<()> {
        let row = self
            .inner
            .store
            .account(name)?
            .ok_or_else(|| Error::not_found(format!("no saved account named `{name}`")))?;
        self.secrets_of(&row.secret).delete(name)?;
        self.inner.store.delete_account(name)?;
        self.forget_clients(name).await;
        Ok(())
    }

    /// Checks an account before saving it; returns how many buckets it sees.
    pub async fn test_connection(&self, new: &NewAccount) -> Result<usize> {
        new.validate()?;
        let client = s3::client(&new.connection(), None, Some(new.credentials())).await?;
        let out = client.list_buckets().send().await.map_err(|e| {
            Error::from_sdk(
                &format!("connect to {}", new.endpoint.as_deref().unwrap_or("AWS S3")),
                e,
            )
        })?;
        Ok(out.buckets().len())
    }

    /// The connection of an account name (`local`, `profile:NAME`, `default` or a saved account).
    pub fn connection(&self, account: &str) -> Result<Connection> {
        let saved = self.inner.store.account(account)?;
        accounts::connection_for(account, saved.as_ref())
    }

    async fn forget_clients(&self, account: &str) {
        self.inner.clients.lock().await.retain(|k, _| {
            Connection::from_json(k)
                .map(|c| c.account != account)
                .unwrap_or(false)
        });
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Progress snapshots, at most one batch per tick, only transfers that changed.
    pub fn subscribe_progress(&self) -> broadcast::Receiver<Arc<Vec<Snapshot>>> {
        self.inner.progress.subscribe()
    }

    /// Lifecycle changes (running, completed, failed, paused, cancelled).
    pub fn subscribe_events(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// Makes an account's secret available to this engine (from the keychain; never stored).
    pub async fn register_credentials(&self, account: &str, credentials: Credentials) {
        lock(&self.inner.credentials).insert(account.to_string(), credentials);
        self.inner.clients.lock().await.retain(|k, _| {
            Connection::from_json(k)
                .map(|c| c.account != account)
                .unwrap_or(false)
        });
    }

    /// The embedded endpoint, started in this process unless another Ferry process already serves it.
    pub async fn local_endpoint(&self) -> Result<&LocalEndpoint> {
        self.inner
            .local
            .get_or_try_init(|| LocalEndpoint::ensure(&self.inner.state_dir, self.inner.local_port))
            .await
    }

    /// A client for `conn`, built once and reused (connection pooling).
    pub async fn client(&self, conn: &Connection) -> Result<Client> {
        let key = conn.to_json();
        if let Some(c) = self.inner.clients.lock().await.get(&key) {
            return Ok(c.clone());
        }
        let client = if conn.is_local() {
            let local = self.local_endpoint().await?;
            let creds = Credentials::new(
                local.keys.access_key.clone(),
                local.keys.secret_key.clone(),
                None,
                None,
                "ferry-local",
            );
            s3::client(conn, Some(&local.endpoint), Some(creds)).await?
        } else {
            let registered = lock(&self.inner.credentials).get(&conn.account).cloned();
            let creds = match registered {
                Some(c) => Some(c),
                None => self.saved_credentials(&conn.account)?,
            };
            s3::client(conn, None, creds).await?
        };
        let client = s3::with_sdk_backoff(&client, self.inner.retry.sdk_backoff);
        self.inner.clients.lock().await.insert(key, client.clone());
        Ok(client)
    }

    /// Credentials of a saved account: its access key id and the secret from where it lives.
    fn saved_credentials(&self, account: &str) -> Result<Option<Credentials>> {
        let Some(row) = self.inner.store.account(account)? else {
            return Ok(None);
        };
        let Some(key_id) = row.access_key_id.clone() else {
            return Ok(None);
        };
        let secret = self.secrets_of(&row.secret).get(account)?.ok_or_else(|| {
            Error::new(
                ErrorKind::AccessDenied,
                format!(
                    "the secret key of account `{account}` is not available{}; remove the account and add it again",
                    if row.secret == "session" { " (it was kept for the previous session only)" } else { " in the keychain" }
                ),
            )
        })?;
        Ok(Some(Credentials::new(
            key_id,
            secret,
            None,
            None,
            "ferry-account",
        )))
    }

    pub(crate) async fn require_bucket(&self, client: &Client, bucket: &str) -> Result<()> {
        match client.head_bucket().bucket(bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = Error::from_sdk(&format!("open the bucket `{bucket}`"), e);
                Err(match e.kind {
                    ErrorKind::NotFound => Error::not_found(format!(
                        "the bucket `{bucket}` does not exist; create it with `ferry mb s3://{bucket}` or check the name"
                    )),
                    _ => e,
                })
            }
        }
    }

    /// Validates an upload request and writes its transfers to the queue as `queued`, in one
    /// transaction. Unfinished transfers of the same files to the same keys are continued, not
    /// duplicated. Nothing is written when the request is refused.
    pub async fn enqueue_upload(
        &self,
        conn: &Connection,
        src: &Path,
        dst: &S3Url,
        opts: &UploadOptions,
    ) -> Result<Enqueued> {
        self.enqueue_upload_in(conn, src, dst, opts, &new_batch())
            .await
    }

    async fn enqueue_upload_in(
        &self,
        conn: &Connection,
        src: &Path,
        dst: &S3Url,
        opts: &UploadOptions,
        batch: &str,
    ) -> Result<Enqueued> {
        conn.validate()?;
        let meta = std::fs::metadata(src).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound if std::fs::symlink_metadata(src).is_ok() => {
                Error::not_found(format!(
                    "{} is a symbolic link to a file that does not exist; fix the link or upload its target",
                    src.display()
                ))
            }
            std::io::ErrorKind::NotFound => Error::not_found(format!(
                "no such file or folder: {}; check the path",
                src.display()
            )),
            _ => unreadable(src, e),
        })?;
        if !meta.is_dir() && !meta.is_file() {
            return Err(Error::invalid(format!(
                "{} is not a regular file (a pipe, socket or device); upload a file or a folder",
                src.display()
            )));
        }
        let src = std::path::absolute(src).map_err(|e| Error::io("cannot resolve", src, e))?;
        let mut skipped = Vec::new();
        let mut files: Vec<(PathBuf, String)> = Vec::new();
        if meta.is_dir() {
            if !opts.recursive {
                return Err(Error::invalid(format!(
                    "{} is a folder; add --recursive to upload it with everything inside",
                    src.display()
                )));
            }
            let mut prefix = dst.key.clone();
            if !prefix.is_empty() && !prefix.ends_with('/') {
                prefix.push('/');
            }
            walk(&src, &prefix, &mut files, &mut skipped)?;
        } else {
            let key = if dst.key.is_empty() || dst.key.ends_with('/') {
                format!("{}{}", dst.key, file_name_utf8(&src)?)
            } else {
                dst.key.clone()
            };
            files.push((src.clone(), key));
        }
        let mut planned = Vec::with_capacity(files.len());
        for (path, key) in files {
            check_key(&key)?;
            let f = std::fs::File::open(&path).map_err(|e| unreadable(&path, e))?;
            let m = f
                .metadata()
                .map_err(|e| Error::io("cannot read", &path, e))?;
            let part_size = plan::part_size(m.len(), opts.part_size)?;
            planned.push((path, key, m.len(), transfer::mtime_ns(&m), part_size));
        }
        let client = self.client(conn).await?;
        self.require_bucket(&client, &dst.bucket).await?;

        let conn_json = conn.to_json();
        let mut out = Enqueued {
            skipped,
            ..Default::default()
        };
        let mut new = Vec::new();
        for (path, key, size, mtime, part_size) in planned {
            if let Some(row) = self.inner.store.find_unfinished(
                Direction::Upload,
                &conn_json,
                &dst.bucket,
                &key,
                &path,
            )? {
                if row.size == Some(size) && row.source_mtime_ns == Some(mtime) {
                    self.continue_unfinished(&row)?;
                    out.ids.push(row.id);
                    out.resumed += 1;
                    continue;
                }
                // The file changed since that transfer was queued: its parts belong to the old
                // version, so it is cancelled (its multipart upload aborted) and the new content
                // starts fresh.
                tracing::info!(transfer = %row.id, "the source changed; replacing the unfinished upload");
                self.cancel(&row.id).await?;
            } else if let Some(done) = self.inner.store.find_completed(
                Direction::Upload,
                &conn_json,
                &dst.bucket,
                &key,
                &path,
            )? {
                if done.size == Some(size)
                    && done.source_mtime_ns == Some(mtime)
                    && done.etag.is_some()
                    && object_etag(&client, &dst.bucket, &key).await == done.etag
                {
                    out.skipped.push(Skipped {
                        what: path.display().to_string(),
                        reason: format!(
                            "already uploaded to s3://{}/{key}; neither the file nor the object changed since",
                            dst.bucket
                        ),
                    });
                    continue;
                }
            }
            let id = uuid::Uuid::now_v7().to_string();
            out.ids.push(id.clone());
            new.push(NewTransfer {
                id,
                direction: Direction::Upload,
                connection: conn_json.clone(),
                bucket: dst.bucket.clone(),
                key,
                local_path: path,
                size: Some(size),
                source_mtime_ns: Some(mtime),
                part_size,
                etag: None,
                overwrite: false,
                batch_id: batch.to_string(),
            });
        }
        self.inner.store.insert_transfers(&new)?;
        for t in &new {
            self.emit(&t.id, State::Queued, None);
        }
        Ok(out)
    }

    /// Validates a download request (object or prefix) and writes its transfers to the queue.
    pub async fn enqueue_download(
        &self,
        conn: &Connection,
        src: &S3Url,
        dst: &Path,
        opts: &DownloadOptions,
    ) -> Result<Enqueued> {
        self.enqueue_download_in(conn, src, dst, opts, &new_batch())
            .await
    }

    async fn enqueue_download_in(
        &self,
        conn: &Connection,
        src: &S3Url,
        dst: &Path,
        opts: &DownloadOptions,
        batch: &str,
    ) -> Result<Enqueued> {
        conn.validate()?;
        let client = self.client(conn).await?;
        let dst = std::path::absolute(dst).map_err(|e| Error::io("cannot resolve", dst, e))?;
        let mut skipped = Vec::new();
        // (key, destination, size, etag)
        let mut wanted: Vec<(String, PathBuf, u64, Option<String>)> = Vec::new();
        if opts.recursive {
            let mut prefix = src.key.clone();
            if !prefix.is_empty() && !prefix.ends_with('/') {
                prefix.push('/');
            }
            self.require_bucket(&client, &src.bucket).await?;
            if dst.exists() && !dst.is_dir() {
                return Err(Error::invalid(format!(
                    "{} is a file; a prefix downloads into a folder",
                    dst.display()
                )));
            }
            for obj in self.list_all(&client, &src.bucket, &prefix).await? {
                let rel = &obj.key[prefix.len()..];
                if rel.is_empty() || obj.key.ends_with('/') {
                    continue;
                }
                match local_path_for_key(&dst, rel) {
                    Ok(p) => wanted.push((obj.key.clone(), p, obj.size, obj.etag.clone())),
                    Err(e) => skipped.push(Skipped {
                        what: format!("s3://{}/{}", src.bucket, obj.key),
                        reason: e.message,
                    }),
                }
            }
            if wanted.is_empty() && skipped.is_empty() {
                return Err(Error::not_found(format!(
                    "nothing found under s3://{}/{prefix}",
                    src.bucket
                )));
            }
        } else {
            if src.key.is_empty() || src.key.ends_with('/') {
                return Err(Error::invalid(format!(
                    "{src} is a prefix; add --recursive to download everything under it"
                )));
            }
            let what = format!("download {src}");
            let head = client
                .head_object()
                .bucket(&src.bucket)
                .key(&src.key)
                .send()
                .await
                .map_err(|e| Error::from_sdk(&what, e));
            let head = match head {
                Ok(h) => h,
                Err(e) if e.kind == ErrorKind::NotFound => {
                    self.require_bucket(&client, &src.bucket).await?;
                    return Err(Error::not_found(format!("no such object: {src}")));
                }
                Err(e) => return Err(e),
            };
            let name = src.key.rsplit('/').next().unwrap_or(&src.key);
            let into_dir = dst.is_dir()
                || dst
                    .as_os_str()
                    .to_string_lossy()
                    .ends_with(std::path::MAIN_SEPARATOR);
            let dest = if into_dir {
                local_path_for_key(&dst, name)?
            } else {
                dst.clone()
            };
            wanted.push((
                src.key.clone(),
                dest,
                head.content_length().unwrap_or(0).max(0) as u64,
                head.e_tag().map(str::to_string),
            ));
        }

        let conn_json = conn.to_json();
        let mut planned = Vec::new();
        let mut conflicts = Vec::new();
        let mut resumed = Vec::new();
        for (key, dest, size, etag) in wanted {
            if let Some(row) = self.inner.store.find_unfinished(
                Direction::Download,
                &conn_json,
                &src.bucket,
                &key,
                &dest,
            )? {
                self.continue_unfinished(&row)?;
                resumed.push(row.id);
                continue;
            }
            if dest.is_dir() {
                return Err(Error::invalid(format!(
                    "{} is a folder; choose another destination for s3://{}/{key}",
                    dest.display(),
                    src.bucket
                )));
            }
            let mut dest = dest;
            let mut overwrite = false;
            if dest.exists() {
                let done_etag = match opts.if_exists {
                    IfExists::Error => {
                        self.completed_download(&conn_json, &src.bucket, &key, &dest, size)?
                    }
                    _ => None,
                };
                let unchanged = match (&done_etag, &etag) {
                    (None, _) => false,
                    (Some(d), Some(e)) => d == e,
                    // Listings may leave the ETag out; then the server is asked.
                    (Some(d), None) => {
                        object_etag(&client, &src.bucket, &key).await.as_ref() == Some(d)
                    }
                };
                if unchanged {
                    skipped.push(Skipped {
                        what: dest.display().to_string(),
                        reason: format!(
                            "already downloaded from s3://{}/{key}; neither the object nor the file changed since",
                            src.bucket
                        ),
                    });
                    continue;
                }
                match opts.if_exists {
                    IfExists::Error => {
                        conflicts.push(dest.display().to_string());
                        continue;
                    }
                    IfExists::Skip => {
                        skipped.push(Skipped {
                            what: dest.display().to_string(),
                            reason: "already exists".into(),
                        });
                        continue;
                    }
                    IfExists::Overwrite => overwrite = true,
                    IfExists::Rename => dest = free_name(&dest),
                }
            }
            let part_size = plan::part_size(size, opts.part_size)?;
            planned.push((key, dest, size, etag, part_size, overwrite));
        }
        if !conflicts.is_empty() {
            let list = conflicts
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let more = if conflicts.len() > 5 {
                format!(" and {} more", conflicts.len() - 5)
            } else {
                String::new()
            };
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "{list}{more} already exist{}; nothing was downloaded. Choose --if-exists overwrite, skip or rename",
                    if conflicts.len() == 1 { "s" } else { "" }
                ),
            ));
        }
        let new: Vec<NewTransfer> = planned
            .into_iter()
            .map(
                |(key, dest, size, etag, part_size, overwrite)| NewTransfer {
                    id: uuid::Uuid::now_v7().to_string(),
                    direction: Direction::Download,
                    connection: conn_json.clone(),
                    bucket: src.bucket.clone(),
                    key,
                    local_path: dest,
                    size: Some(size),
                    source_mtime_ns: None,
                    part_size,
                    etag,
                    overwrite,
                    batch_id: batch.to_string(),
                },
            )
            .collect();
        self.inner.store.insert_transfers(&new)?;
        for t in &new {
            self.emit(&t.id, State::Queued, None);
        }
        let resumed_count = resumed.len();
        let mut ids = resumed;
        ids.extend(new.into_iter().map(|t| t.id));
        Ok(Enqueued {
            ids,
            resumed: resumed_count,
            skipped,
        })
    }

    /// Asking again for an unfinished transfer continues it: a paused one is queued again (a paused
    /// transfer never runs until something resumes it).
    fn continue_unfinished(&self, row: &TransferRow) -> Result<()> {
        if row.state == State::Paused {
            self.resume(&row.id)?;
        }
        Ok(())
    }

    /// The ETag of the completed download whose untouched result `dest` is: same size, and not
    /// modified after that download finished. The caller compares it with the object's ETag now.
    fn completed_download(
        &self,
        conn_json: &str,
        bucket: &str,
        key: &str,
        dest: &Path,
        size: u64,
    ) -> Result<Option<String>> {
        let Some(done) =
            self.inner
                .store
                .find_completed(Direction::Download, conn_json, bucket, key, dest)?
        else {
            return Ok(None);
        };
        let Ok(meta) = std::fs::metadata(dest) else {
            return Ok(None);
        };
        let finished_ns = (done.finished_at.unwrap_or(0) + 1).saturating_mul(1_000_000);
        if done.size != Some(size) || meta.len() != size || transfer::mtime_ns(&meta) > finished_ns
        {
            return Ok(None);
        }
        Ok(done.etag)
    }

    async fn list_all(
        &self,
        client: &Client,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<ObjectInfo>> {
        let mut out = Vec::new();
        let mut pages = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| Error::from_sdk(&format!("list s3://{bucket}/{prefix}"), e))?;
            out.extend(page.contents().iter().map(object_info));
        }
        Ok(out)
    }

    /// Lists one level of a bucket: sub-prefixes and objects.
    pub async fn list(&self, conn: &Connection, bucket: &str, prefix: &str) -> Result<Listing> {
        let client = self.client(conn).await?;
        let mut out = Listing::default();
        let mut pages = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .delimiter("/")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| Error::from_sdk(&format!("list s3://{bucket}/{prefix}"), e))?;
            out.prefixes.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string)),
            );
            out.objects.extend(page.contents().iter().map(object_info));
        }
        Ok(out)
    }

    pub async fn list_buckets(&self, conn: &Connection) -> Result<Vec<String>> {
        let client = self.client(conn).await?;
        let out = client
            .list_buckets()
            .send()
            .await
            .map_err(|e| Error::from_sdk("list buckets", e))?;
        Ok(out
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_string))
            .collect())
    }

    pub async fn make_bucket(&self, conn: &Connection, bucket: &str) -> Result<()> {
        s3::check_bucket(bucket)?;
        let client = self.client(conn).await?;
        client
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .map_err(|e| Error::from_sdk(&format!("create the bucket `{bucket}`"), e))?;
        Ok(())
    }

    /// A presigned GET link valid for `expires` (at most 7 days).
    pub async fn presign(
        &self,
        conn: &Connection,
        bucket: &str,
        key: &str,
        expires: Duration,
    ) -> Result<Link> {
        if expires > MAX_LINK_EXPIRY {
            return Err(Error::invalid(format!(
                "links can last at most 7 days (S3's limit for signed URLs), not {}; choose a shorter expiry",
                human_duration(expires)
            )));
        }
        if expires < Duration::from_secs(1) {
            return Err(Error::invalid("a link must last at least one second"));
        }
        let client = self.client(conn).await?;
        let target = format!("share s3://{bucket}/{key}");
        client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| Error::from_sdk(&target, e))?;
        let cfg = PresigningConfig::expires_in(expires)
            .map_err(|e| Error::invalid(format!("{target}: {e}")))?;
        let signed_at = SystemTime::now();
        let req = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(cfg)
            .await
            .map_err(|e| Error::from_sdk(&target, e))?;
        let at = signed_at.duration_since(UNIX_EPOCH).unwrap_or_default() + expires;
        Ok(Link {
            url: req.uri().to_string(),
            expires_at: at.as_secs(),
            expires_in_secs: expires.as_secs(),
        })
    }

    pub fn transfers(&self) -> Result<Vec<TransferRow>> {
        self.inner.store.list()
    }

    /// The bytes done and the total size of the transfers `ids`.
    pub fn totals(&self, ids: &[String]) -> Result<(u64, u64)> {
        self.inner.store.totals(ids)
    }

    pub fn transfer(&self, id_or_prefix: &str) -> Result<TransferRow> {
        self.inner.store.find(id_or_prefix)
    }

    /// Runs transfers to their end (completed, failed, paused or cancelled) and reports each, in the
    /// order of `ids`. For many transfers prefer [`Engine::run_each`], which does not collect them.
    pub async fn run(&self, ids: &[String]) -> Vec<Outcome> {
        let position: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let mut outcomes = self.run_each(ids.to_vec());
        let mut out = Vec::with_capacity(ids.len());
        while let Some(o) = outcomes.recv().await {
            out.push(o);
        }
        out.sort_by_key(|o| position.get(o.id.as_str()).copied().unwrap_or(usize::MAX));
        out
    }

    /// Runs transfers to their end and sends each outcome as it arrives; the channel closes after
    /// the last one.
    ///
    /// Memory does not grow with the number of transfers waiting: a transfer gets a task only when a
    /// transfer slot is free for it (the dispatcher waits for the slot, not one task per transfer),
    /// so 100,000 queued files cost their ids and nothing more until their turn. A transfer paused
    /// before its turn comes is not run; its outcome is `Interrupted`.
    pub fn run_each<I>(&self, ids: I) -> tokio::sync::mpsc::Receiver<Outcome>
    where
        I: IntoIterator<Item = String>,
        I::IntoIter: Send + 'static,
    {
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(self.clone().dispatch(ids.into_iter(), Some(tx)));
        rx
    }

    /// Starts transfers in the background; follow them through events and progress.
    pub fn start(&self, ids: &[String]) {
        let ids: Vec<String> = ids.to_vec();
        tokio::spawn(self.clone().dispatch(ids.into_iter(), None));
    }

    /// Admits `ids` one by one as transfer slots free up, each on its own task holding the slot, and
    /// forwards their outcomes. The semaphore is the engine's, so every caller (the CLI, the app,
    /// watched folders) shares the same limit.
    async fn dispatch(
        self,
        ids: impl Iterator<Item = String>,
        outcomes: Option<tokio::sync::mpsc::Sender<Outcome>>,
    ) {
        let mut ids = ids.peekable();
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            let more = ids.peek().is_some();
            let slot = self.inner.transfer_slots.clone().acquire_owned();
            tokio::select! {
                biased;
                Some(joined) = tasks.join_next() => match joined {
                    Ok(outcome) => {
                        if let Some(tx) = &outcomes {
                            // A caller that stopped listening still lets the transfers finish.
                            let _ = tx.send(outcome).await;
                        }
                    }
                    Err(e) => tracing::error!("a transfer task panicked: {e}"),
                },
                permit = slot, if more => {
                    let Some(id) = ids.next() else { continue };
                    let engine = self.clone();
                    let permit = permit.ok();
                    tasks.spawn(async move {
                        let result = engine.drive(&id, permit).await;
                        Outcome { id, result }
                    });
                }
                else => break,
            }
        }
    }

    async fn drive(
        &self,
        id: &str,
        mut slot: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Result<RunStats> {
        let token = self.inner.shutdown.child_token();
        let wake = Arc::new(tokio::sync::Notify::new());
        {
            let mut running = lock(&self.inner.running);
            if running.contains_key(id) {
                return Err(Error::new(
                    ErrorKind::Busy,
                    "this transfer is already running",
                ));
            }
            running.insert(
                id.to_string(),
                Running {
                    token: token.clone(),
                    claimed: false,
                    wake: wake.clone(),
                },
            );
        }
        // Runs that a transient failure outlasted wait in `waiting_retry` and run again by themselves,
        // waiting longer after each one, until the transfer ends or is paused or cancelled.
        let mut outages = 0;
        let result = loop {
            match self.drive_claimed(id, &token, outages, slot.take()).await {
                RunEnd::Done(r) => break r,
                RunEnd::Wait(wait) => {
                    outages += 1;
                    tokio::select! {
                        _ = token.cancelled() => break Err(Error::interrupted()),
                        _ = tokio::time::sleep(wait) => {}
                        _ = wake.notified() => {}
                    }
                }
            }
        };
        lock(&self.inner.running).remove(id);
        result
    }

    async fn drive_claimed(
        &self,
        id: &str,
        token: &CancellationToken,
        outages: u32,
        slot: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> RunEnd {
        match self.run_once(id, token, outages, slot).await {
            Ok(end) => end,
            Err(e) => RunEnd::Done(Err(e)),
        }
    }

    /// One run of a transfer on a transfer slot: `slot` when the dispatcher already took one, else
    /// it waits for one (a run after an outage).
    async fn run_once(
        &self,
        id: &str,
        token: &CancellationToken,
        outages: u32,
        slot: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Result<RunEnd> {
        let _permit = match slot {
            Some(p) => p,
            None => tokio::select! {
                _ = token.cancelled() => return Err(Error::interrupted()),
                p = self.inner.transfer_slots.clone().acquire_owned() => p.map_err(|_| Error::interrupted())?,
            },
        };
        if token.is_cancelled() {
            return Err(Error::interrupted());
        }
        let owner = self.inner.owner.clone();
        let row = self.inner.store.claim(id, &owner, owner_alive)?;
        if let Some(r) = lock(&self.inner.running).get_mut(id) {
            r.claimed = true;
        }
        self.emit(id, State::Running, None);
        tracing::info!(transfer = %id, direction = row.direction.as_str(), bucket = %row.bucket, key = %row.key, "running");

        let client = match Connection::from_json(&row.connection) {
            Ok(conn) => self.client(&conn).await,
            Err(e) => Err(e),
        };
        let client = match client {
            Ok(c) => c,
            Err(e) => {
                self.inner
                    .store
                    .finish_run(id, &owner, State::Failed, Some(&e))?;
                self.emit(id, State::Failed, Some(e.clone()));
                return Ok(RunEnd::Done(Err(e)));
            }
        };
        let counter = self
            .inner
            .progress
            .track(id, row.size.unwrap_or(0), row.bytes_done);
        let direction = row.direction;
        let batch_id = row.batch_id.clone();
        let ctx = Arc::new(Ctx {
            store: self.inner.store.clone(),
            client: client.clone(),
            row,
            owner: owner.clone(),
            counter: counter.clone(),
            token: token.clone(),
            parts_per_transfer: self.limits().parts_in_flight,
            part_slots: self.inner.part_slots.clone(),
            memory: self.inner.memory.clone(),
            buffers: self.inner.buffers.clone(),
            limiter: Some(self.inner.limiter.clone()),
            retry: self.inner.retry,
        });
        let result = match direction {
            Direction::Upload => upload::run(ctx.clone()).await,
            Direction::Download => download::run(ctx.clone()).await,
        };
        self.inner.progress.end(&counter);
        match &result {
            Ok(stats) => {
                tracing::info!(transfer = %id, ?stats, "completed");
                self.emit(id, State::Completed, None);
            }
            Err(e) if token.is_cancelled() || e.kind == ErrorKind::Interrupted => {
                // Whoever paused or cancelled wrote the state; an engine shutdown leaves it queued so
                // the next start continues it.
                self.inner
                    .store
                    .finish_run(id, &owner, State::Queued, None)?;
                let state = self
                    .inner
                    .store
                    .get(id)?
                    .map(|r| r.state)
                    .unwrap_or(State::Cancelled);
                tracing::info!(transfer = %id, state = state.as_str(), "stopped");
                self.emit(id, state, None);
            }
            Err(e) if e.is_retryable() => {
                let wait = self.inner.retry.outage_wait(outages + 1);
                let next = store::now_ms() + wait.as_millis() as i64;
                if self.inner.store.wait_retry(id, &owner, e, next)? {
                    tracing::warn!(transfer = %id, error = %e, ?wait, "waiting to retry");
                    self.emit(id, State::WaitingRetry, Some(e.clone()));
                    return Ok(RunEnd::Wait(wait));
                }
            }
            Err(e) => {
                let state = if direction == Direction::Download && e.kind == ErrorKind::Storage {
                    State::Paused
                } else {
                    State::Failed
                };
                if direction == Direction::Upload && e.kind == ErrorKind::Changed {
                    self.discard_upload(&client, &ctx.row).await;
                }
                tracing::warn!(transfer = %id, error = %e, "stopped with an error");
                self.inner.store.finish_run(id, &owner, state, Some(e))?;
                self.emit(id, state, Some(e.clone()));
            }
        }
        self.check_batch(&batch_id);
        Ok(RunEnd::Done(result))
    }

    /// Announces a batch whose transfers have all ended (paused ones have not).
    fn check_batch(&self, batch_id: &str) {
        let mut announced = lock(&self.inner.announced);
        if announced.contains(batch_id) || self.inner.store.batch_open(batch_id).unwrap_or(true) {
            return;
        }
        let Ok(states) = self.inner.store.batch_states(batch_id) else {
            return;
        };
        let count = |s: State| {
            states
                .iter()
                .filter(|(st, _)| *st == s)
                .map(|(_, n)| n)
                .sum::<usize>()
        };
        let open = count(State::Queued)
            + count(State::Running)
            + count(State::WaitingRetry)
            + count(State::Paused);
        if open == 0 && !states.is_empty() {
            announced.insert(batch_id.to_string());
            let _ = self.inner.batches.send(BatchFinished {
                batch_id: batch_id.to_string(),
                completed: count(State::Completed),
                failed: count(State::Failed),
                cancelled: count(State::Cancelled),
            });
        }
    }

    /// Transfers to continue when the app starts: queued ones, and running ones whose process died.
    pub fn recover(&self) -> Result<Vec<String>> {
        Ok(self
            .inner
            .store
            .list()?
            .into_iter()
            .filter(|r| match r.state {
                State::Queued => true,
                State::Running | State::WaitingRetry => {
                    !r.owner.as_deref().is_some_and(owner_alive)
                        || r.heartbeat_at
                            .is_none_or(|h| store::now_ms() - h >= store::LEASE_TIMEOUT_MS)
                }
                _ => false,
            })
            .map(|r| r.id)
            .collect())
    }

    /// Uploads what was dropped on the window into `bucket/prefix`: files by name, folders with their
    /// own name and structure. One batch.
    pub async fn enqueue_dropped(
        &self,
        conn: &Connection,
        paths: &[PathBuf],
        bucket: &str,
        prefix: &str,
    ) -> Result<Enqueued> {
        let mut total = Enqueued::default();
        let settings = self.settings()?;
        let batch = new_batch();
        for path in paths {
            let meta = std::fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
            let key = if meta.is_dir() {
                format!("{prefix}{}/", file_name_utf8(path)?)
            } else {
                prefix.to_string()
            };
            let dst = S3Url {
                bucket: bucket.to_string(),
                key,
            };
            let opts = UploadOptions {
                recursive: true,
                part_size: settings.part_size_mib.map(|m| m * plan::MIB),
            };
            let one = self
                .enqueue_upload_in(conn, path, &dst, &opts, &batch)
                .await?;
            total.ids.extend(one.ids);
            total.resumed += one.resumed;
            total.skipped.extend(one.skipped);
        }
        Ok(total)
    }

    /// Downloads chosen objects and prefixes into `dest_dir`; a prefix becomes a folder of its name.
    /// Existing files are never replaced: the new one gets a free name.
    pub async fn enqueue_download_selection(
        &self,
        conn: &Connection,
        bucket: &str,
        keys: &[String],
        prefixes: &[String],
        dest_dir: &Path,
    ) -> Result<Enqueued> {
        if !dest_dir.is_dir() {
            return Err(Error::invalid(format!(
                "{} is not a folder",
                dest_dir.display()
            )));
        }
        let mut total = Enqueued::default();
        let part_size = self.settings()?.part_size_mib.map(|m| m * plan::MIB);
        let batch = new_batch();
        let mut add = |one: Enqueued| {
            total.ids.extend(one.ids);
            total.resumed += one.resumed;
            total.skipped.extend(one.skipped);
        };
        for key in keys {
            let src = S3Url {
                bucket: bucket.into(),
                key: key.clone(),
            };
            let opts = DownloadOptions {
                recursive: false,
                part_size,
                if_exists: IfExists::Rename,
            };
            add(self
                .enqueue_download_in(conn, &src, dest_dir, &opts, &batch)
                .await?);
        }
        for prefix in prefixes {
            let name = prefix
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("");
            let dest = if name.is_empty() {
                dest_dir.to_path_buf()
            } else {
                local_path_for_key(dest_dir, name)?
            };
            let src = S3Url {
                bucket: bucket.into(),
                key: prefix.clone(),
            };
            let opts = DownloadOptions {
                recursive: true,
                part_size,
                if_exists: IfExists::Rename,
            };
            add(self
                .enqueue_download_in(conn, &src, &dest, &opts, &batch)
                .await?);
        }
        Ok(total)
    }

    /// Deletes objects, and every object under the given prefixes; returns how many were deleted.
    pub async fn delete_objects(
        &self,
        conn: &Connection,
        bucket: &str,
        keys: &[String],
        prefixes: &[String],
    ) -> Result<usize> {
        use aws_sdk_s3::types::{Delete, ObjectIdentifier};
        let client = self.client(conn).await?;
        let mut all: Vec<String> = keys.to_vec();
        for p in prefixes {
            all.extend(
                self.list_all(&client, bucket, p)
                    .await?
                    .into_iter()
                    .map(|o| o.key),
            );
        }
        let mut deleted = 0;
        for chunk in all.chunks(1000) {
            let ids = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::internal(e.to_string()))?;
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| Error::internal(e.to_string()))?;
            let out = client
                .delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| Error::from_sdk(&format!("delete from s3://{bucket}"), e))?;
            if let Some(err) = out.errors().first() {
                return Err(crate::error::from_service(
                    &format!("delete s3://{bucket}/{}", err.key().unwrap_or_default()),
                    403,
                    err.code(),
                    err.message(),
                ));
            }
            deleted += chunk.len();
        }
        Ok(deleted)
    }

    async fn discard_upload(&self, client: &Client, row: &TransferRow) {
        let current = self.inner.store.get(&row.id).ok().flatten();
        if let Some(upload_id) = current.and_then(|r| r.upload_id) {
            if let Err(e) = upload::abort(client, &row.bucket, &row.key, &upload_id).await {
                tracing::warn!(transfer = %row.id, error = %e, "could not abort the multipart upload");
                return;
            }
        }
        let _ = self.inner.store.set_upload_id(&row.id, None);
        let _ = self.inner.store.clear_parts(&row.id);
    }

    fn emit(&self, id: &str, state: State, error: Option<Error>) {
        let _ = self.inner.events.send(Event {
            id: id.to_string(),
            state,
            error,
        });
    }

    fn stop_local(&self, id: &str) {
        if let Some(r) = lock(&self.inner.running).get(id) {
            r.token.cancel();
        }
    }

    /// Pauses a transfer: in-flight parts stop at once, completed parts are kept.
    pub fn pause(&self, id_or_prefix: &str) -> Result<TransferRow> {
        let row = self.inner.store.find(id_or_prefix)?;
        match row.state {
            State::Completed | State::Cancelled => {
                return Err(Error::invalid(format!(
                    "transfer {} is already {}",
                    store::short_id(&row.id),
                    row.state.as_str()
                )))
            }
            State::Paused => return Ok(row),
            _ => {}
        }
        self.inner.store.set_state(&row.id, State::Paused, None)?;
        self.stop_local(&row.id);
        self.emit(&row.id, State::Paused, None);
        self.inner.store.find(&row.id)
    }

    /// Pauses every unfinished transfer; returns how many changed.
    pub fn pause_all(&self) -> Result<usize> {
        let mut n = 0;
        for row in self.inner.store.list()? {
            if matches!(
                row.state,
                State::Queued | State::Running | State::WaitingRetry
            ) {
                self.pause(&row.id)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Pauses the transfers this process is running (Ctrl-C in the CLI, quitting the app).
    pub fn pause_running_here(&self) -> Vec<String> {
        let ids: Vec<String> = lock(&self.inner.running).keys().cloned().collect();
        for id in &ids {
            let _ = self.pause(id);
        }
        ids
    }

    /// Makes a paused or failed transfer runnable again; `run` or `start` then drives it.
    pub fn resume(&self, id_or_prefix: &str) -> Result<TransferRow> {
        let row = self.inner.store.find(id_or_prefix)?;
        match row.state {
            State::Completed | State::Cancelled => Err(Error::invalid(format!(
                "transfer {} is {}; there is nothing to resume",
                store::short_id(&row.id),
                row.state.as_str()
            ))),
            State::WaitingRetry if lock(&self.inner.running).contains_key(&row.id) => {
                // This process waits to run it again: run it again now instead.
                if let Some(r) = lock(&self.inner.running).get(&row.id) {
                    r.wake.notify_one();
                }
                Ok(row)
            }
            State::Running | State::WaitingRetry
                if row.owner.as_deref() != Some(&self.inner.owner)
                    && row.owner.as_deref().is_some_and(owner_alive)
                    && row
                        .heartbeat_at
                        .is_some_and(|h| store::now_ms() - h < store::LEASE_TIMEOUT_MS) =>
            {
                Err(Error::new(
                    ErrorKind::Busy,
                    format!(
                        "transfer {} is running in another Ferry process",
                        store::short_id(&row.id)
                    ),
                ))
            }
            _ => {
                self.inner.store.set_state(&row.id, State::Queued, None)?;
                lock(&self.inner.announced).remove(&row.batch_id);
                self.emit(&row.id, State::Queued, None);
                self.inner.store.find(&row.id)
            }
        }
    }

    /// Makes every paused, failed or interrupted transfer runnable; returns their ids to start.
    pub fn resume_all(&self) -> Result<Vec<String>> {
        self.resumable()?
            .into_iter()
            .map(|r| self.resume(&r.id).map(|r| r.id))
            .collect()
    }

    /// Unfinished transfers that can be resumed (paused, failed, queued, or interrupted by a crash).
    pub fn resumable(&self) -> Result<Vec<TransferRow>> {
        Ok(self
            .inner
            .store
            .list()?
            .into_iter()
            .filter(|r| !r.state.is_terminal())
            .collect())
    }

    /// Cancels a transfer: stops it, aborts its multipart upload on the server, removes its partial
    /// download. Completed transfers cannot be cancelled.
    pub async fn cancel(&self, id_or_prefix: &str) -> Result<TransferRow> {
        let row = self.inner.store.find(id_or_prefix)?;
        match row.state {
            State::Completed => {
                return Err(Error::invalid(format!(
                    "transfer {} already completed; delete the object or file instead",
                    store::short_id(&row.id)
                )))
            }
            State::Cancelled => return Ok(row),
            _ => {}
        }
        self.inner
            .store
            .set_state(&row.id, State::Cancelled, None)?;
        self.stop_local(&row.id);
        match row.direction {
            Direction::Upload => {
                if let Some(upload_id) = &row.upload_id {
                    let conn = Connection::from_json(&row.connection)?;
                    let client = self.client(&conn).await?;
                    upload::abort(&client, &row.bucket, &row.key, upload_id).await.map_err(|e| {
                        Error::new(
                            e.kind,
                            format!("cancelled, but the partial upload could not be removed from the server: {}", e.message),
                        )
                    })?;
                    self.inner.store.set_upload_id(&row.id, None)?;
                }
            }
            Direction::Download => {
                let temp = download::temp_path(&row.local_path, &row.id);
                match std::fs::remove_file(&temp) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io("cancelled, but could not remove", &temp, e)),
                }
            }
        }
        self.inner.store.clear_parts(&row.id)?;
        self.emit(&row.id, State::Cancelled, None);
        self.inner.store.find(&row.id)
    }

    /// Aborts the multipart uploads Ferry started and abandoned: those of cancelled transfers (a cancel
    /// that could not reach the server), and those of paused or failed transfers untouched for
    /// `max_age`, whose parts are forgotten (resuming one starts it over). Only upload ids recorded in
    /// the queue are aborted, so other clients' uploads are never touched. Returns how many were
    /// aborted; one that cannot be aborted now is logged and left for the next time.
    pub async fn abort_abandoned_uploads(&self, max_age: Duration) -> Result<usize> {
        let now = store::now_ms();
        let max_age = i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX);
        let mut aborted = 0;
        for row in self.inner.store.list()? {
            let Some(upload_id) = row.upload_id.as_deref() else {
                continue;
            };
            let abandoned = match row.state {
                State::Cancelled => true,
                State::Paused | State::Failed => now.saturating_sub(row.updated_at) >= max_age,
                _ => false,
            };
            if row.direction != Direction::Upload || !abandoned {
                continue;
            }
            let client = self
                .client(&Connection::from_json(&row.connection)?)
                .await?;
            if let Err(e) = upload::abort(&client, &row.bucket, &row.key, upload_id).await {
                tracing::warn!(transfer = %row.id, error = %e, "could not abort an abandoned upload");
                continue;
            }
            tracing::info!(transfer = %row.id, state = row.state.as_str(), "aborted an abandoned multipart upload");
            self.inner.store.set_upload_id(&row.id, None)?;
            self.inner.store.clear_parts(&row.id)?;
            aborted += 1;
        }
        Ok(aborted)
    }

    /// Stops every transfer of this process (they stay queued for the next start) and the background task.
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        for _ in 0..250 {
            if lock(&self.inner.running).is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Removes completed and cancelled transfers from the list.
    pub fn clear_finished(&self) -> Result<usize> {
        self.inner.store.clear_finished()
    }
}

/// How one run of a transfer ended.
enum RunEnd {
    Done(Result<RunStats>),
    /// A transient failure outlasted the retries: the row is `waiting_retry`; run again after this.
    Wait(Duration),
}

/// Grows or shrinks a semaphore from `old` to `new` permits; shrinking waits for permits to come back.
fn resize(sem: &Arc<Semaphore>, old: usize, new: usize) {
    if new > old {
        sem.add_permits(new - old);
    } else if new < old {
        let (sem, n) = (sem.clone(), (old - new) as u32);
        tokio::spawn(async move {
            if let Ok(p) = sem.acquire_many_owned(n).await {
                p.forget();
            }
        });
    }
}

fn spawn_background(weak: Weak<Inner>, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            let Some(inner) = weak.upgrade() else { break };
            inner.progress.tick(Instant::now());
            n += 1;
            if n.is_multiple_of(10) {
                let claimed: Vec<String> = lock(&inner.running)
                    .iter()
                    .filter(|(_, r)| r.claimed)
                    .map(|(id, _)| id.clone())
                    .collect();
                match inner.store.heartbeat(&inner.owner, &claimed) {
                    Ok(changed) => {
                        let running = lock(&inner.running);
                        for id in changed {
                            if let Some(r) = running.get(&id) {
                                tracing::info!(transfer = %id, "paused or cancelled elsewhere; stopping");
                                r.token.cancel();
                            }
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "could not refresh transfer leases"),
                }
            }
        }
    });
}

/// The ETag the server holds for `key` now, if it can be asked.
async fn object_etag(client: &Client, bucket: &str, key: &str) -> Option<String> {
    let head = client.head_object().bucket(bucket).key(key).send().await;
    head.ok().and_then(|h| h.e_tag().map(str::to_string))
}

/// Transfers enqueued by one request share a batch id (one notification when they all end).
fn new_batch() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn object_info(o: &aws_sdk_s3::types::Object) -> ObjectInfo {
    ObjectInfo {
        key: o.key().unwrap_or_default().to_string(),
        size: o.size().unwrap_or(0).max(0) as u64,
        last_modified: o.last_modified().map(|t| t.secs()),
        etag: o.e_tag().map(str::to_string),
    }
}

/// A source that cannot be opened, with what to do about it.
fn unreadable(path: &Path, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => Error::new(
            ErrorKind::AccessDenied,
            format!(
                "cannot read {}: permission denied; make it readable for this user",
                path.display()
            ),
        ),
        _ => Error::io("cannot read", path, e),
    }
}

fn file_name_utf8(p: &Path) -> Result<String> {
    p.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::invalid(format!(
                "the file name of {} is not valid UTF-8, so it cannot be an S3 key; rename the file or give the full key as the destination",
                p.display()
            ))
        })
}

/// Collects the files under `dir` (sorted, symlinked folders not followed) with their keys.
fn walk(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<(PathBuf, String)>,
    skipped: &mut Vec<Skipped>,
) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io("cannot read the folder", dir, e))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io("cannot read the folder", dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            skipped.push(Skipped {
                what: path.display().to_string(),
                reason: "the name is not valid UTF-8".into(),
            });
            continue;
        };
        let ft = entry
            .file_type()
            .map_err(|e| Error::io("cannot read", &path, e))?;
        if ft.is_symlink() && path.is_dir() {
            skipped.push(Skipped {
                what: path.display().to_string(),
                reason: "symbolic links to folders are not followed".into(),
            });
        } else if path.is_dir() {
            walk(&path, &format!("{prefix}{name}/"), out, skipped)?;
        } else if path.is_file() {
            out.push((path, format!("{prefix}{name}")));
        } else {
            skipped.push(Skipped {
                what: path.display().to_string(),
                reason: "not a regular file".into(),
            });
        }
    }
    Ok(())
}

/// `name (1).ext`, `name (2).ext`, … whichever is free first.
fn free_name(p: &Path) -> PathBuf {
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = p
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (1..)
        .map(|i| p.with_file_name(format!("{stem} ({i}){ext}")))
        .find(|c| !c.exists())
        .expect("some name is free")
}

/// Parses durations like `90s`, `15m`, `1h`, `7d`, `3600`.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| {
        Error::invalid(format!(
            "`{s}` is not a duration; write it like 15m, 1h or 7d"
        ))
    })?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => {
            return Err(Error::invalid(format!(
                "`{s}` has an unknown unit; use s, m, h or d"
            )))
        }
    };
    Ok(Duration::from_secs(secs))
}

pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86400, (s % 86400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        assert_eq!(parse_duration("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_duration("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_duration("7d").unwrap(), MAX_LINK_EXPIRY);
        assert!(parse_duration("1w").is_err());
        assert_eq!(human_duration(Duration::from_secs(3700)), "1h01m");
    }

    #[test]
    fn free_name_never_picks_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, b"x").unwrap();
        std::fs::write(dir.path().join("a (1).txt"), b"x").unwrap();
        assert_eq!(free_name(&p), dir.path().join("a (2).txt"));
    }
}

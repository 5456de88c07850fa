//! `ferry`: the command-line shell over the engine. It parses arguments, calls the engine, and prints;
//! no transfer logic lives here.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand, ValueEnum};
use ferry::format::{human_bytes, human_duration, parse_duration, short_id};
use ferry::plan::parse_size;
use ferry::{
    Connection, DownloadOptions, Engine, EngineConfig, Enqueued, Error, ErrorKind, IfExists,
    Limits, RunStats, S3Url, State, UploadOptions, Watches,
};

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Resumable, parallel transfers to S3 and S3-compatible storage"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct Global {
    /// Folder holding the transfer database, logs and the local endpoint's data.
    #[arg(long, global = true, env = "FERRY_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// `local` for the embedded endpoint; otherwise the AWS configuration (environment, ~/.aws) is used.
    #[arg(long, global = true, value_name = "NAME")]
    account: Option<String>,
    /// S3-compatible endpoint, e.g. http://127.0.0.1:9000 (also AWS_ENDPOINT_URL).
    #[arg(long, global = true, value_name = "URL")]
    endpoint_url: Option<String>,
    #[arg(long, global = true)]
    region: Option<String>,
    /// A profile from ~/.aws/config (SSO profiles included).
    #[arg(long, global = true)]
    profile: Option<String>,
    /// Path-style addressing; on by default when --endpoint-url is given.
    #[arg(long, global = true, value_name = "BOOL")]
    path_style: Option<bool>,
    /// Print JSON instead of text (one object per progress tick, then a summary).
    #[arg(long, global = true)]
    json: bool,
    /// More log output on stderr (-v, -vv, -vvv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Subcommand)]
enum Command {
    /// Copy a file or folder to S3, or an object or prefix from S3. Running it again resumes it.
    Cp(CpArgs),
    /// List buckets, or the objects and prefixes under s3://bucket/prefix.
    Ls { target: Option<String> },
    /// Create a bucket.
    Mb { target: String },
    /// Print a presigned GET link to an object.
    Presign {
        target: String,
        /// How long the link works: 15m, 1h, 1d, 7d (at most 7 days).
        #[arg(long, default_value = "1h")]
        expires_in: String,
    },
    /// List the persisted transfers and their states.
    Transfers,
    /// Pause transfers (here or in another ferry process); completed parts are kept.
    Pause(Target),
    /// Resume paused, failed or interrupted transfers and run them to the end.
    Resume(ResumeArgs),
    /// Cancel transfers: abort partial uploads on the server and delete partial downloads.
    Cancel(Target),
    /// Abort the partial uploads Ferry abandoned: of cancelled transfers, and of paused or failed ones
    /// untouched for a while. Other clients' uploads are never touched.
    CleanUploads {
        /// Paused or failed uploads untouched for this long are abandoned: 1h, 1d, 7d.
        #[arg(long, default_value = "7d")]
        older_than: String,
    },
    /// Run the embedded S3 endpoint in the foreground and print its endpoint and keys.
    ServeLocal,
    /// Saved accounts (secrets in the OS keychain), usable as `--account NAME` here and in the app.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Watched folders: new and changed files in a folder are uploaded under a prefix (by the app, or
    /// by `ferry watch run`).
    #[command(subcommand)]
    Watch(WatchCommand),
}

#[derive(Subcommand)]
enum WatchCommand {
    /// Remember a folder to watch; the app watches it (picking it up within seconds if it runs).
    Add(WatchArgs),
    /// List watched folders, their state and latest uploads.
    List,
    /// Stop watching a folder until it is resumed.
    Pause { id: String },
    /// Watch a paused folder again; what changed meanwhile is uploaded.
    Resume { id: String },
    /// Forget a watched folder. Objects already uploaded stay.
    Remove { id: String },
    /// Watch a folder in the foreground (remembering it like `add`) until Ctrl-C. Its uploads go
    /// through the queue: after a crash, running it again continues them.
    Run {
        #[command(flatten)]
        args: WatchArgs,
        /// How long a file must stay unchanged before it is uploaded, in milliseconds.
        #[arg(long, default_value_t = 2000, value_name = "MS")]
        settle_ms: u64,
    },
}

#[derive(Args)]
struct WatchArgs {
    /// The local folder.
    dir: String,
    /// Where its files go: s3://bucket/prefix/
    target: String,
    /// Also leave out files matching PATTERN (gitignore syntax; repeat for more). Hidden and
    /// temporary files (.*, ~$*, *.tmp, *.part) are always left out.
    #[arg(long = "ignore", value_name = "PATTERN")]
    ignore: Vec<String>,
    /// Delete an uploaded object when its file is deleted (off by default).
    #[arg(long)]
    mirror_deletes: bool,
}

#[derive(Subcommand)]
enum AccountCommand {
    /// List the accounts: built-in `local`, saved ones, and ~/.aws profiles.
    List,
    /// Save an account for the server given by --endpoint-url and --region. The secret key is read from
    /// standard input (or FERRY_SECRET_ACCESS_KEY), never from the command line, and kept in the OS
    /// keychain.
    Add {
        name: String,
        #[arg(long)]
        access_key_id: String,
        /// Virtual-hosted addressing instead of path-style.
        #[arg(long)]
        virtual_hosted: bool,
        /// Keep the secret in memory for this command only (for trying an account out).
        #[arg(long)]
        session_only: bool,
    },
    /// Remove a saved account and its secret.
    Remove { name: String },
}

#[derive(Args)]
struct CpArgs {
    /// A local path (any bytes the OS allows) or s3://bucket/key.
    src: std::ffi::OsString,
    dst: std::ffi::OsString,
    #[arg(short, long)]
    recursive: bool,
    #[command(flatten)]
    tuning: Tuning,
    /// When a download's destination exists.
    #[arg(long, value_enum, default_value = "error")]
    if_exists: IfExistsArg,
}

#[derive(Args, Clone)]
struct Tuning {
    /// Part size for multipart uploads and ranged downloads, e.g. 16MiB (default: automatic).
    #[arg(long)]
    part_size: Option<String>,
    /// Transfers running at once.
    #[arg(long)]
    concurrency: Option<usize>,
    /// Parts in flight per transfer.
    #[arg(long)]
    parts: Option<usize>,
    /// Bandwidth limit across all transfers, e.g. 10MiB (per second).
    #[arg(long)]
    limit_rate: Option<String>,
}

#[derive(Args)]
struct Target {
    /// Transfer id (or its first characters, as `ferry transfers` shows them).
    id: Option<String>,
    #[arg(long, conflicts_with = "id")]
    all: bool,
}

#[derive(Args)]
struct ResumeArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    tuning: Tuning,
}

#[derive(Clone, Copy, ValueEnum)]
enum IfExistsArg {
    Error,
    Skip,
    Overwrite,
    Rename,
}

impl From<IfExistsArg> for IfExists {
    fn from(v: IfExistsArg) -> Self {
        match v {
            IfExistsArg::Error => IfExists::Error,
            IfExistsArg::Skip => IfExists::Skip,
            IfExistsArg::Overwrite => IfExists::Overwrite,
            IfExistsArg::Rename => IfExists::Rename,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let state_dir = cli
        .global
        .state_dir
        .clone()
        .unwrap_or_else(default_state_dir);
    let _guard = ferry::logging::init(&state_dir, cli.global.verbose);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let json = cli.global.json;
    match rt.block_on(run(cli, state_dir)) {
        Ok(code) => code,
        Err(e) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"type": "error", "kind": e.kind, "message": e.message})
                );
            } else {
                eprintln!("ferry: {}", e.message);
            }
            ExitCode::from(exit_code(&e))
        }
    }
}

fn exit_code(e: &Error) -> u8 {
    match e.kind {
        ErrorKind::InvalidInput | ErrorKind::AlreadyExists => 2,
        ErrorKind::Interrupted => 130,
        _ => 1,
    }
}

fn default_state_dir() -> PathBuf {
    directories::ProjectDirs::from("dev", "ferry", "ferry")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from(".ferry"))
}

impl Global {
    /// The server to talk to: a named account (`local`, a saved one, `profile:NAME`), or the AWS
    /// configuration with the endpoint flags.
    fn connection_for(&self, engine: &Engine) -> Result<Connection, Error> {
        match self.account.as_deref() {
            Some(name) if name != "default" && self.endpoint_url.is_none() => {
                engine.connection(name)
            }
            _ => Ok(self.connection()),
        }
    }

    fn connection(&self) -> Connection {
        if self.account.as_deref() == Some(ferry::s3::LOCAL_ACCOUNT) {
            return Connection::local();
        }
        Connection {
            account: self.account.clone().unwrap_or_else(|| "default".into()),
            endpoint: self.endpoint_url.clone(),
            region: self.region.clone(),
            profile: self.profile.clone(),
            path_style: self.path_style.unwrap_or(
                self.endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some(),
            ),
        }
    }
}

impl Tuning {
    fn limits(&self) -> Result<Limits, Error> {
        let mut l = Limits::default();
        if let Some(c) = self.concurrency {
            l.transfers = c;
        }
        if let Some(p) = self.parts {
            l.parts_in_flight = p;
        }
        if let Some(r) = &self.limit_rate {
            l.rate_limit = Some(parse_size(r)?);
        }
        Ok(l)
    }

    fn part_size(&self) -> Result<Option<u64>, Error> {
        self.part_size.as_deref().map(parse_size).transpose()
    }
}

async fn open(state_dir: PathBuf, limits: Limits) -> Result<Engine, Error> {
    let mut cfg = EngineConfig::new(state_dir);
    cfg.limits = limits;
    Engine::open(cfg).await
}

async fn run(cli: Cli, state_dir: PathBuf) -> Result<ExitCode, Error> {
    let g = &cli.global;
    match &cli.command {
        Command::Cp(args) => {
            let engine = open(state_dir, args.tuning.limits()?).await?;
            let conn = g.connection_for(&engine)?;
            let part_size = args.tuning.part_size()?;
            let s3_side = |arg: &std::ffi::OsStr| -> Result<Option<S3Url>, Error> {
                match arg.to_str() {
                    Some(s) if S3Url::is_s3(s) => S3Url::parse(s).map(Some),
                    _ => Ok(None),
                }
            };
            let enq = match (s3_side(&args.src)?, s3_side(&args.dst)?) {
                (None, Some(dst)) => {
                    let opts = UploadOptions {
                        recursive: args.recursive,
                        part_size,
                    };
                    engine.enqueue_upload(&conn, args.src.as_ref(), &dst, &opts).await?
                }
                (Some(src), None) => {
                    let opts = DownloadOptions {
                        recursive: args.recursive,
                        part_size,
                        if_exists: args.if_exists.into(),
                    };
                    engine.enqueue_download(&conn, &src, args.dst.as_ref(), &opts).await?
                }
                (Some(_), Some(_)) => return Err(Error::invalid("copying between two S3 locations is not supported yet; one side must be a local path")),
                (None, None) => return Err(Error::invalid("one side must be an S3 location (s3://bucket/key)")),
            };
            drive(&engine, enq, g.json).await
        }
        Command::Ls { target } => {
            let engine = open(state_dir, Limits::default()).await?;
            let conn = g.connection_for(&engine)?;
            match target {
                None => {
                    let buckets = engine.list_buckets(&conn).await?;
                    if g.json {
                        println!("{}", serde_json::json!({"buckets": buckets}));
                    } else {
                        for b in buckets {
                            println!("{b}");
                        }
                    }
                }
                Some(t) => {
                    let url = S3Url::parse(t)?;
                    let listing = engine.list(&conn, &url.bucket, &url.key).await?;
                    if g.json {
                        println!(
                            "{}",
                            serde_json::to_string(&listing).expect("listing serialises")
                        );
                    } else {
                        for p in &listing.prefixes {
                            println!("{:>19} {:>10}  {p}", "", "PRE");
                        }
                        for o in &listing.objects {
                            let when = o.last_modified.map(format_time).unwrap_or_default();
                            println!("{when:>19} {:>10}  {}", o.size, o.key);
                        }
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Mb { target } => {
            let engine = open(state_dir, Limits::default()).await?;
            let url = S3Url::parse(target)?;
            engine
                .make_bucket(&g.connection_for(&engine)?, &url.bucket)
                .await?;
            if !g.json {
                println!("created s3://{}", url.bucket);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Presign { target, expires_in } => {
            let engine = open(state_dir, Limits::default()).await?;
            let url = S3Url::parse(target)?;
            let expires = parse_duration(expires_in)?;
            let conn = g.connection_for(&engine)?;
            let link = engine
                .presign(&conn, &url.bucket, &url.key, expires)
                .await?;
            if g.json {
                println!("{}", serde_json::to_string(&link).expect("link serialises"));
            } else {
                println!("{}", link.url);
                eprintln!(
                    "expires {} (in {})",
                    format_time(link.expires_at as i64),
                    human_duration(Duration::from_secs(link.expires_in_secs))
                );
                if conn.is_local() && engine.local_endpoint().await?.is_serving() {
                    eprintln!("note: this link works while Ferry's local endpoint runs (`ferry serve-local` or the app)");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::CleanUploads { older_than } => {
            let max_age = parse_duration(older_than)?;
            let engine = open(state_dir, Limits::default()).await?;
            let n = engine.abort_abandoned_uploads(max_age).await?;
            println!(
                "aborted {n} abandoned multipart upload{}",
                if n == 1 { "" } else { "s" }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Transfers => {
            let engine = open(state_dir, Limits::default()).await?;
            let rows = engine.transfers()?;
            if g.json {
                println!("{}", serde_json::to_string(&rows).expect("rows serialise"));
            } else if rows.is_empty() {
                println!("no transfers");
            } else {
                println!(
                    "{:<8}  {:<8}  {:<13}  {:>21}  WHAT",
                    "ID", "DIR", "STATE", "PROGRESS"
                );
                for r in rows {
                    let size = r.size.unwrap_or(0);
                    let progress = format!(
                        "{} / {}",
                        human_bytes(r.bytes_done.min(size)),
                        human_bytes(size)
                    );
                    let what = match r.direction {
                        ferry::Direction::Upload => {
                            format!("{} -> s3://{}/{}", r.local_path.display(), r.bucket, r.key)
                        }
                        ferry::Direction::Download => {
                            format!("s3://{}/{} -> {}", r.bucket, r.key, r.local_path.display())
                        }
                    };
                    println!(
                        "{:<8}  {:<8}  {:<13}  {:>21}  {what}",
                        short_id(&r.id),
                        r.direction.as_str(),
                        r.state.as_str(),
                        progress
                    );
                    if let Some(m) = r.error_message {
                        println!("{:<8}  {m}", "");
                    }
                    if let (ferry::State::WaitingRetry, Some(at)) = (r.state, r.next_attempt_at) {
                        let secs = (at - ferry::store::now_ms()).max(0) as u64 / 1000;
                        println!("{:<8}  next attempt in {secs}s (at {at} unix ms)", "");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Pause(t) => {
            let engine = open(state_dir, Limits::default()).await?;
            if t.all {
                let n = engine.pause_all()?;
                println!("paused {n} transfer{}", if n == 1 { "" } else { "s" });
            } else {
                let row = engine.pause(target_id(t)?)?;
                println!(
                    "paused {}; `ferry resume {}` continues it",
                    short_id(&row.id),
                    short_id(&row.id)
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Resume(args) => {
            let engine = open(state_dir, args.tuning.limits()?).await?;
            let ids: Vec<String> = if args.target.all {
                engine.resume_all()?
            } else {
                vec![engine.resume(target_id(&args.target)?)?.id]
            };
            if ids.is_empty() {
                println!("nothing to resume");
                return Ok(ExitCode::SUCCESS);
            }
            let enq = Enqueued {
                resumed: ids.len(),
                ids,
                skipped: Vec::new(),
            };
            drive(&engine, enq, g.json).await
        }
        Command::Cancel(t) => {
            let engine = open(state_dir, Limits::default()).await?;
            let rows = if t.all {
                engine.resumable()?
            } else {
                vec![engine.transfer(target_id(t)?)?]
            };
            for r in rows {
                engine.cancel(&r.id).await?;
                println!("cancelled {}", short_id(&r.id));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Account(cmd) => {
            let engine = open(state_dir, Limits::default()).await?;
            match cmd {
                AccountCommand::List => {
                    let accounts = engine.accounts()?;
                    if g.json {
                        println!(
                            "{}",
                            serde_json::to_string(&accounts).expect("accounts serialise")
                        );
                    } else {
                        for a in accounts {
                            let place = a.endpoint.as_deref().unwrap_or("AWS");
                            println!("{:<24} {:<40} secret: {}", a.name, place, a.secret);
                        }
                    }
                }
                AccountCommand::Add {
                    name,
                    access_key_id,
                    virtual_hosted,
                    session_only,
                } => {
                    let secret = match std::env::var("FERRY_SECRET_ACCESS_KEY") {
                        Ok(s) => s,
                        Err(_) => {
                            let mut line = String::new();
                            std::io::stdin().read_line(&mut line).map_err(|e| {
                                Error::invalid(format!("cannot read the secret key: {e}"))
                            })?;
                            line.trim_end_matches(['\r', '\n']).to_string()
                        }
                    };
                    let new = ferry::accounts::NewAccount {
                        name: name.clone(),
                        endpoint: g.endpoint_url.clone(),
                        region: g.region.clone(),
                        path_style: !virtual_hosted,
                        access_key_id: access_key_id.clone(),
                        secret_access_key: secret,
                        session_only: *session_only,
                    };
                    let a = engine.add_account(&new).await?;
                    println!("saved account `{}` (secret in the {})", a.name, a.secret);
                }
                AccountCommand::Remove { name } => {
                    engine.remove_account(name).await?;
                    println!("removed account `{name}`");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Watch(cmd) => watch(g, state_dir, cmd).await,
        Command::ServeLocal => {
            let engine = open(state_dir, Limits::default()).await?;
            let local = engine.local_endpoint().await?;
            if !local.is_serving() {
                return Err(Error::new(
                    ErrorKind::Busy,
                    format!(
                        "another process already serves the local endpoint at {}",
                        local.endpoint
                    ),
                ));
            }
            if g.json {
                println!(
                    "{}",
                    serde_json::json!({"endpoint": local.endpoint, "access_key_id": local.keys.access_key,
                        "secret_access_key": local.keys.secret_key, "region": "us-east-1",
                        "bucket": ferry::local::DEFAULT_BUCKET, "data": local.data_dir})
                );
            } else {
                println!("Ferry local S3 endpoint");
                println!("  endpoint           {}", local.endpoint);
                println!("  region             us-east-1 (path-style)");
                println!("  access key id      {}", local.keys.access_key);
                println!("  secret access key  {}", local.keys.secret_key);
                println!("  bucket             {}", ferry::local::DEFAULT_BUCKET);
                println!("  data               {}", local.data_dir.display());
                println!("Use it from another terminal with `ferry --account local ...`. Ctrl-C stops it.");
            }
            tokio::signal::ctrl_c()
                .await
                .map_err(|e| Error::internal(e.to_string()))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

impl WatchArgs {
    fn new_folder(&self, conn: &Connection) -> Result<ferry::NewWatchedFolder, Error> {
        let url = S3Url::parse(&self.target)?;
        Ok(ferry::NewWatchedFolder {
            path: self.dir.clone(),
            account: conn.account.clone(),
            bucket: url.bucket,
            prefix: url.key,
            ignore: self.ignore.clone(),
            mirror_deletes: self.mirror_deletes,
        })
    }
}

fn print_watched(f: &ferry::WatchedFolder) {
    let mut notes = Vec::new();
    if !f.ignore.is_empty() {
        notes.push(format!("ignore {}", f.ignore.join(" ")));
    }
    if f.mirror_deletes {
        notes.push("mirrors deletes".to_string());
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!("  ({})", notes.join("; "))
    };
    println!(
        "{:<8}  {:<11}  {} -> s3://{}/{}{notes}",
        short_id(&f.id),
        f.state.as_str(),
        f.path,
        f.bucket,
        f.prefix
    );
    if let Some(e) = &f.error {
        println!("{:<8}  {e}", "");
    }
}

async fn watch(g: &Global, state_dir: PathBuf, cmd: &WatchCommand) -> Result<ExitCode, Error> {
    let settle = match cmd {
        WatchCommand::Run { settle_ms, .. } => Duration::from_millis(*settle_ms),
        _ => ferry::watch::DEFAULT_SETTLE,
    };
    let engine = Engine::open(EngineConfig::new(state_dir)).await?;
    let watches = Watches::new(&engine, settle);
    let show = |f: &ferry::WatchedFolder| {
        if g.json {
            println!("{}", serde_json::to_string(f).expect("a folder serialises"));
        } else {
            print_watched(f);
        }
    };
    match cmd {
        WatchCommand::Add(args) => {
            let conn = g.connection_for(&engine)?;
            let f = watches.add(&conn, &args.new_folder(&conn)?).await?;
            show(&f);
            if !g.json {
                println!(
                    "the app watches it (within seconds if it runs); `ferry watch run {} {}` watches it from here",
                    f.path, args.target
                );
            }
        }
        WatchCommand::List => {
            let all = watches.list()?;
            if g.json {
                println!(
                    "{}",
                    serde_json::to_string(&all).expect("folders serialise")
                );
            } else if all.is_empty() {
                println!("no watched folders; `ferry watch add DIR s3://bucket/prefix/` adds one");
            } else {
                all.iter().for_each(print_watched);
            }
        }
        WatchCommand::Pause { id } => show(&watches.pause(id)?),
        WatchCommand::Resume { id } => show(&watches.resume(id)?),
        WatchCommand::Remove { id } => {
            let f = watches.get(id)?;
            watches.remove(&f.id)?;
            if !g.json {
                println!("stopped watching {}; objects already uploaded stay", f.path);
            }
        }
        WatchCommand::Run { args, .. } => {
            let conn = g.connection_for(&engine)?;
            let new = args.new_folder(&conn)?;
            let id = watches.find_or_add(&conn, &new).await?.id;
            let mut changes = watches.subscribe();
            let f = watches.watch(&id)?;
            eprintln!(
                "watching {} -> s3://{}/{} (folder {}); Ctrl-C stops",
                f.path,
                f.bucket,
                f.prefix,
                short_id(&f.id)
            );
            let mut seen: std::collections::HashSet<(String, i64)> = f
                .recent
                .iter()
                .map(|u| (u.key.clone(), u.uploaded_at))
                .collect();
            let mut state = f.state;
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    change = changes.recv() => {
                        let f = match change {
                            Ok(f) if f.id == id => f,
                            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(_) => break,
                        };
                        for u in f.recent.iter().rev() {
                            if seen.insert((u.key.clone(), u.uploaded_at)) {
                                if g.json {
                                    println!("{}", serde_json::json!({"type": "uploaded", "key": u.key, "size": u.size}));
                                } else {
                                    println!("uploaded s3://{}/{} ({})", f.bucket, u.key, human_bytes(u.size));
                                }
                            }
                        }
                        if f.state != state {
                            state = f.state;
                            match &f.error {
                                Some(e) => eprintln!("ferry: {e}"),
                                None => eprintln!("{}", state.as_str()),
                            }
                        }
                    }
                }
            }
            engine.shutdown().await;
            eprintln!("stopped; unfinished uploads continue the next time the folder is watched");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn target_id(t: &Target) -> Result<&str, Error> {
    t.id.as_deref()
        .ok_or_else(|| Error::invalid("name a transfer id (see `ferry transfers`) or pass --all"))
}

fn format_time(unix: i64) -> String {
    // UTC, without pulling a date crate into the CLI.
    let days = unix.div_euclid(86400);
    let secs = unix.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        secs / 3600,
        (secs % 3600) / 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Runs the enqueued transfers with a progress display, pausing cleanly on Ctrl-C.
async fn drive(engine: &Engine, enq: Enqueued, json: bool) -> Result<ExitCode, Error> {
    for s in &enq.skipped {
        if json {
            println!(
                "{}",
                serde_json::json!({"type": "skipped", "what": s.what, "reason": s.reason})
            );
        } else {
            eprintln!("ferry: skipped {}: {}", s.what, s.reason);
        }
    }
    if enq.ids.is_empty() {
        if !json {
            println!("nothing to transfer");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if enq.resumed > 0 && !json {
        eprintln!(
            "resuming {} unfinished transfer{}",
            enq.resumed,
            if enq.resumed == 1 { "" } else { "s" }
        );
    }
    let started = Instant::now();
    let mut progress = engine.subscribe_progress();
    let ids = enq.ids;
    // Only what is needed for the bar and the summary is kept: totals, and a counter per transfer
    // while it runs; nothing per queued file beyond its id.
    let (_, total) = engine.totals(&ids)?;
    let bar = (!json && std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30.cyan/blue} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
            )
            .expect("static template"),
        );
        bar
    });
    let mut outcomes = engine.run_each(ids.clone());
    // Bytes done of the transfers running now, and of those whose run ended.
    let mut live: std::collections::HashMap<String, u64> = Default::default();
    let mut ended_done: u64 = 0;
    let mut interrupted = false;
    let mut stats = RunStats::default();
    let mut ran = 0usize;
    let mut failed = Vec::new();
    let mut paused = Vec::new();
    // Finished downloads by the server checksum they were verified against (None: nothing to check).
    let mut verified: std::collections::BTreeMap<Option<&str>, usize> = Default::default();
    loop {
        tokio::select! {
            outcome = outcomes.recv() => {
                let Some(o) = outcome else { break };
                ran += 1;
                match o.result {
                    Ok(s) => {
                        if s.download {
                            *verified.entry(s.verified).or_default() += 1;
                        }
                        stats.bytes_total += s.bytes_total;
                        stats.bytes_sent += s.bytes_sent;
                        stats.parts_total += s.parts_total;
                        stats.parts_reused += s.parts_reused;
                        stats.parts_sent += s.parts_sent;
                    }
                    Err(e) if e.kind == ErrorKind::Interrupted => paused.push(o.id),
                    Err(e) => failed.push((o.id, e)),
                }
            }
            snaps = progress.recv() => {
                let Ok(snaps) = snaps else { continue };
                let mut speed = 0.0;
                for s in snaps.iter() {
                    if s.ended {
                        live.remove(&s.id);
                        ended_done += s.bytes_done;
                    } else {
                        live.insert(s.id.clone(), s.bytes_done);
                    }
                    speed += s.speed;
                }
                let done = (ended_done + live.values().sum::<u64>()).min(total);
                if json {
                    println!("{}", serde_json::json!({"type": "progress", "bytes_done": done, "bytes_total": total,
                        "speed": speed, "eta_secs": if speed > 0.0 { Some((total - done) as f64 / speed) } else { None },
                        "transfers": &*snaps}));
                } else if let Some(b) = &bar {
                    b.set_position(done);
                }
            }
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                engine.pause_running_here();
                for id in &ids {
                    let _ = engine.pause(id);
                }
            }
        }
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let secs = started.elapsed().as_secs_f64();
    let completed = ran - failed.len() - paused.len();
    if json {
        println!(
            "{}",
            serde_json::json!({"type": "summary", "completed": completed, "failed": failed.len(), "paused": paused.len(),
                "bytes_total": stats.bytes_total, "bytes_sent": stats.bytes_sent, "parts_total": stats.parts_total,
                "parts_reused": stats.parts_reused, "parts_sent": stats.parts_sent, "seconds": secs,
                "verified": verified.iter().filter_map(|(k, n)| k.map(|k| (k, *n))).collect::<std::collections::BTreeMap<_, _>>(),
                "unverified": verified.get(&None).copied().unwrap_or(0),
                "ids": ids, "errors": failed.iter().map(|(id, e)| serde_json::json!({"id": id, "kind": e.kind, "message": e.message})).collect::<Vec<_>>()})
        );
    } else {
        for (id, e) in &failed {
            // A download that hit a local disk problem is paused, not failed: it continues where it
            // stopped once the problem is fixed.
            let how = match engine.transfer(id).map(|r| r.state) {
                Ok(State::Paused) => "paused",
                _ => "failed",
            };
            eprintln!("ferry: {} {how}: {}", short_id(id), e.message);
        }
        let speed = if secs > 0.0 {
            stats.bytes_sent as f64 / secs
        } else {
            0.0
        };
        println!(
            "{completed} of {ran} done: {} in {:.1}s ({}/s){}",
            human_bytes(stats.bytes_total),
            secs,
            human_bytes(speed as u64),
            if stats.parts_reused > 0 {
                format!(", {} parts reused from before", stats.parts_reused)
            } else {
                String::new()
            }
        );
        if let Some(line) = verification_line(&verified) {
            println!("{line}");
        }
        if !paused.is_empty() {
            let state = engine
                .transfer(&paused[0])
                .map(|r| r.state)
                .unwrap_or(State::Paused);
            println!(
                "{} transfer{} {}. Run the same command again, or `ferry resume --all`, to continue where it stopped.",
                paused.len(),
                if paused.len() == 1 { "" } else { "s" },
                state.as_str()
            );
        }
    }
    Ok(if !failed.is_empty() {
        ExitCode::from(exit_code(&failed[0].1))
    } else if !paused.is_empty() {
        ExitCode::from(130)
    } else {
        ExitCode::SUCCESS
    })
}

/// What the summary says of the finished downloads' verification, e.g. "checksums: 3 verified
/// against the server's CRC32C; 1 not verified (the server keeps no whole-object checksum for it)".
fn verification_line(verified: &std::collections::BTreeMap<Option<&str>, usize>) -> Option<String> {
    if verified.is_empty() {
        return None;
    }
    let mut said: Vec<String> = verified
        .iter()
        .filter_map(|(k, n)| k.map(|k| format!("{n} verified against the server's {k}")))
        .collect();
    if let Some(n) = verified.get(&None) {
        said.push(format!(
            "{n} not verified (the server keeps no whole-object checksum for {})",
            if *n == 1 { "it" } else { "them" }
        ));
    }
    Some(format!("checksums: {}", said.join("; ")))
}

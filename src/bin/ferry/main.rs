//! `ferry`: the command-line shell over the engine. It parses arguments, calls the engine, and prints;
//! no transfer logic lives here. One module per subcommand (`cmd/`), the progress display and
//! summary of a run in `output.rs`.

/// `println!` for the whole CLI, without std's panic when stdout is a pipe that closed
/// (`ferry ls | head`): the output has no reader any more, so Ferry ends quietly, as Unix tools
/// do on SIGPIPE (the state it keeps is crash-safe, so this is no worse than an interrupt).
macro_rules! println {
    () => {
        $crate::print_line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::print_line(format_args!($($arg)*))
    };
}

mod cmd;
mod output;

fn print_line(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = writeln!(out, "{args}") {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("ferry: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use ferry::{Connection, Engine, EngineConfig, Error, ErrorKind, Limits};

use cmd::account::AccountCommand;
use cmd::cp::CpArgs;
use cmd::transfers::{ResumeArgs, Target};
use cmd::watch::WatchCommand;

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
    /// Copy a file or folder to S3, an object or prefix from S3 (running it again resumes it), or
    /// between two S3 locations: server-side within one account, streamed through Ferry to another
    /// (--to-account).
    Cp(Box<CpArgs>),
    /// Make a folder or prefix match another: local to S3, S3 to local, or S3 to S3 (server-side).
    /// Unchanged entries (same size and time by default) are left alone; --dry-run shows the plan;
    /// running it again after an interruption continues it.
    Sync(cmd::sync::SyncArgs),
    /// Write an object to standard output (in order, checked against the server's checksum).
    Cat {
        target: String,
        /// Range size, e.g. 16MiB (default 8MiB; a few ranges are fetched at once).
        #[arg(long)]
        part_size: Option<String>,
    },
    /// List buckets, or the objects and prefixes under s3://bucket/prefix (--recursive: all levels;
    /// --name: only matching names); lines print as the server's pages arrive.
    Ls(cmd::ls::LsArgs),
    /// Count the objects under s3://bucket/prefix (all levels) and their bytes.
    Du { target: String },
    /// Create a bucket.
    Mb { target: String },
    /// Move an object, or with --recursive a folder, to another S3 location (server-side within one
    /// account, streamed to another with --to-account; each source is deleted only once its copy
    /// is verified).
    Mv(cmd::cp::MvArgs),
    /// Show an object's properties: size, time, ETag, checksums, content type, metadata…
    Stat { target: String },
    /// Change an object's content type, cache control, disposition, metadata or storage class: the
    /// server rewrites it in place (nothing is downloaded); what is not named is kept.
    SetMeta(cmd::objects::SetMetaArgs),
    /// Delete an object, or with --recursive everything under a prefix (--dry-run lists it first);
    /// with --version-id, one version of an object for good (it asks first unless --yes).
    Rm {
        target: String,
        #[arg(long, conflicts_with = "version_id")]
        recursive: bool,
        /// Only list what would be deleted.
        #[arg(long, conflicts_with = "version_id")]
        dry_run: bool,
        /// Delete this version (or delete marker) of the object permanently; `ferry ls --versions`
        /// lists them.
        #[arg(long, value_name = "ID")]
        version_id: Option<String>,
        /// Do not ask before deleting a version.
        #[arg(long, requires = "version_id")]
        yes: bool,
    },
    /// Make an old version of an object current again: the server copies it over the object, which
    /// gains a new version (no version is lost; `ferry ls --versions` lists them).
    Restore {
        target: String,
        #[arg(long, value_name = "ID")]
        version_id: String,
    },
    /// Print a presigned GET link to an object.
    Presign {
        target: String,
        /// How long the link works: 15m, 1h, 1d, 7d (at most 7 days).
        #[arg(long, default_value = "1h")]
        expires_in: String,
        /// The link downloads the object as a file of its name instead of opening it.
        #[arg(long)]
        download: bool,
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
    let result = rt.block_on(run(cli, state_dir));
    // A read of standard input blocks a thread the runtime would otherwise wait for at exit.
    rt.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
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

async fn open(state_dir: PathBuf, limits: Limits) -> Result<Engine, Error> {
    let mut cfg = EngineConfig::new(state_dir);
    cfg.limits = limits;
    let engine = Engine::open(cfg).await?;
    if let Some((kept, detail)) = engine.store().damaged() {
        eprintln!(
            "ferry: the state database was damaged ({detail}); it was kept aside at {} and a new one started. Transfers it listed are no longer in the queue: run their ferry cp again (they start over)",
            kept.display()
        );
    }
    Ok(engine)
}

async fn run(cli: Cli, state_dir: PathBuf) -> Result<ExitCode, Error> {
    let g = &cli.global;
    match &cli.command {
        Command::Cp(args) => cmd::cp::run(g, state_dir, args).await,
        Command::Sync(args) => cmd::sync::run(g, state_dir, args).await,
        Command::Cat { target, part_size } => {
            cmd::cp::cat_command(g, state_dir, target, part_size).await
        }
        Command::Ls(args) => cmd::ls::ls(g, state_dir, args).await,
        Command::Du { target } => cmd::ls::du(g, state_dir, target).await,
        Command::Mb { target } => cmd::objects::mb(g, state_dir, target).await,
        Command::Mv(args) => cmd::cp::mv(g, state_dir, args).await,
        Command::Stat { target } => cmd::objects::stat(g, state_dir, target).await,
        Command::SetMeta(args) => cmd::objects::set_meta(g, state_dir, args).await,
        Command::Rm {
            target,
            version_id: Some(version_id),
            yes,
            ..
        } => cmd::versions::rm_version(g, state_dir, target, version_id, *yes).await,
        Command::Rm {
            target,
            recursive,
            dry_run,
            ..
        } => cmd::objects::rm(g, state_dir, target, *recursive, *dry_run).await,
        Command::Restore { target, version_id } => {
            cmd::versions::restore(g, state_dir, target, version_id).await
        }
        Command::Presign {
            target,
            expires_in,
            download,
        } => cmd::objects::presign(g, state_dir, target, expires_in, *download).await,
        Command::CleanUploads { older_than } => {
            cmd::transfers::clean_uploads(state_dir, older_than).await
        }
        Command::Transfers => cmd::transfers::list(g, state_dir).await,
        Command::Pause(t) => cmd::transfers::pause(state_dir, t).await,
        Command::Resume(args) => cmd::transfers::resume(g, state_dir, args).await,
        Command::Cancel(t) => cmd::transfers::cancel(state_dir, t).await,
        Command::Account(c) => cmd::account::run(g, state_dir, c).await,
        Command::Watch(c) => cmd::watch::run(g, state_dir, c).await,
        Command::ServeLocal => cmd::serve::run(g, state_dir).await,
    }
}

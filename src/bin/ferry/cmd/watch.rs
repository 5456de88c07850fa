//! `ferry watch`: watched folders, and `ferry watch run` to watch them in the foreground.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use ferry::format::{human_bytes, short_id};
use ferry::{Connection, Engine, Error, S3Url, WatchState, Watches};

use crate::Global;

#[derive(Subcommand)]
pub(crate) enum WatchCommand {
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
pub(crate) struct WatchArgs {
    /// The local folder.
    pub(crate) dir: String,
    /// Where its files go: s3://bucket/prefix/
    pub(crate) target: String,
    /// Also leave out files matching PATTERN (gitignore syntax; repeat for more). Hidden and
    /// temporary files (.*, ~$*, *.tmp, *.part) are always left out.
    #[arg(long = "ignore", value_name = "PATTERN")]
    pub(crate) ignore: Vec<String>,
    /// Delete an uploaded object when its file is deleted (off by default).
    #[arg(long)]
    pub(crate) mirror_deletes: bool,
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

pub(crate) async fn run(
    g: &Global,
    state_dir: PathBuf,
    cmd: &WatchCommand,
) -> Result<ExitCode, Error> {
    let settle = match cmd {
        WatchCommand::Run { settle_ms, .. } => Duration::from_millis(*settle_ms),
        _ => ferry::watch::DEFAULT_SETTLE,
    };
    let engine = crate::open(state_dir, ferry::Limits::default()).await?;
    let watches = Watches::new(&engine, settle);
    match cmd {
        WatchCommand::Add(args) => add(g, &engine, &watches, args).await?,
        WatchCommand::List => list(g, &watches)?,
        WatchCommand::Pause { id } => show(g, &watches.pause(id)?),
        WatchCommand::Resume { id } => show(g, &watches.resume(id)?),
        WatchCommand::Remove { id } => remove(g, &watches, id)?,
        WatchCommand::Run { args, .. } => watch_here(g, &engine, &watches, args).await?,
    }
    Ok(ExitCode::SUCCESS)
}

/// One folder as `--json` asks: a JSON object per line, or the text row.
fn show(g: &Global, f: &ferry::WatchedFolder) {
    if g.json {
        println!("{}", serde_json::to_string(f).expect("a folder serialises"));
    } else {
        print_watched(f);
    }
}

async fn add(
    g: &Global,
    engine: &Engine,
    watches: &Watches,
    args: &WatchArgs,
) -> Result<(), Error> {
    let conn = g.connection_for(engine)?;
    let f = watches.add(&conn, &args.new_folder(&conn)?).await?;
    show(g, &f);
    if !g.json {
        println!(
            "the app watches it (within seconds if it runs); `ferry watch run {} {}` watches it from here",
            f.path, args.target
        );
    }
    Ok(())
}

fn list(g: &Global, watches: &Watches) -> Result<(), Error> {
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
    Ok(())
}

fn remove(g: &Global, watches: &Watches, id: &str) -> Result<(), Error> {
    let f = watches.get(id)?;
    watches.remove(&f.id)?;
    if !g.json {
        println!("stopped watching {}; objects already uploaded stay", f.path);
    }
    Ok(())
}

/// `ferry watch run`: watches the folder from this process until Ctrl-C, printing each upload and
/// change of state as the folder's events report them.
async fn watch_here(
    g: &Global,
    engine: &Engine,
    watches: &Watches,
    args: &WatchArgs,
) -> Result<(), Error> {
    let conn = g.connection_for(engine)?;
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
    let mut seen: HashSet<(String, i64)> = f
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
                report(g, &f, &mut seen, &mut state);
            }
        }
    }
    engine.shutdown().await;
    eprintln!("stopped; unfinished uploads continue the next time the folder is watched");
    Ok(())
}

/// Prints what is new in the folder's latest event: uploads not `seen` before (oldest first), and
/// its state when it differs from the last `state` printed.
fn report(
    g: &Global,
    f: &ferry::WatchedFolder,
    seen: &mut HashSet<(String, i64)>,
    state: &mut WatchState,
) {
    for u in f.recent.iter().rev() {
        if seen.insert((u.key.clone(), u.uploaded_at)) {
            if g.json {
                println!(
                    "{}",
                    serde_json::json!({"type": "uploaded", "key": u.key, "size": u.size})
                );
            } else {
                println!(
                    "uploaded s3://{}/{} ({})",
                    f.bucket,
                    u.key,
                    human_bytes(u.size)
                );
            }
        }
    }
    if f.state != *state {
        *state = f.state;
        match &f.error {
            Some(e) => eprintln!("ferry: {e}"),
            None => eprintln!("{}", state.as_str()),
        }
    }
}

//! `ferry transfers`, `pause`, `resume`, `cancel`, `clean-uploads`: the persisted queue.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferry::format::{human_bytes, parse_duration, short_id};
use ferry::{Enqueued, Error, Limits, TransferView};

use crate::cmd::cp::Tuning;
use crate::output::drive;
use crate::{open, Global};

#[derive(Args)]
pub(crate) struct Target {
    /// Transfer id (or its first characters, as `ferry transfers` shows them).
    pub(crate) id: Option<String>,
    #[arg(long, conflicts_with = "id")]
    pub(crate) all: bool,
}

#[derive(Args)]
pub(crate) struct ResumeArgs {
    #[command(flatten)]
    pub(crate) target: Target,
    #[command(flatten)]
    pub(crate) tuning: Tuning,
}

fn target_id(t: &Target) -> Result<&str, Error> {
    t.id.as_deref()
        .ok_or_else(|| Error::invalid("name a transfer id (see `ferry transfers`) or pass --all"))
}

/// Lists the persisted transfers and their states, one row at a time (a queue of any length prints
/// with flat memory).
pub(crate) async fn list(g: &Global, state_dir: PathBuf) -> Result<ExitCode, Error> {
    use std::io::Write;
    let engine = open(state_dir, Limits::default()).await?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut n = 0usize;
    let mut failed = None;
    engine.each_transfer(|r| {
        let written = if g.json {
            // A JSON array of the same shape the app receives for each transfer.
            let view = serde_json::to_string(&TransferView::from(&r)).expect("views serialise");
            write!(out, "{}{view}", if n == 0 { "[" } else { "," })
        } else {
            if n == 0 {
                let _ = writeln!(
                    out,
                    "{:<8}  {:<8}  {:<13}  {:>21}  WHAT",
                    "ID", "DIR", "STATE", "PROGRESS"
                );
            }
            write_row(&mut out, &r)
        };
        n += 1;
        if let Err(e) = written {
            failed.get_or_insert(e);
        }
    })?;
    let end = match (g.json, n) {
        (true, 0) => writeln!(out, "[]"),
        (true, _) => writeln!(out, "]"),
        (false, 0) => writeln!(out, "no transfers"),
        (false, _) => Ok(()),
    };
    match failed.map_or(end.and_then(|_| out.flush()), Err) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A closed pipe (`ferry transfers | head`) is not an error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(Error::invalid(format!("cannot print the transfers: {e}"))),
    }
}

/// One transfer as a line of `ferry transfers` (and its error or next attempt below it).
fn write_row(out: &mut impl std::io::Write, r: &ferry::TransferRow) -> std::io::Result<()> {
    let size = r.size.unwrap_or(0);
    let progress = format!(
        "{} / {}",
        human_bytes(r.bytes_done.min(size)),
        human_bytes(size)
    );
    let what = match r.direction {
        ferry::Direction::Upload | ferry::Direction::Copy => {
            format!("{} -> s3://{}/{}", r.local_path.display(), r.bucket, r.key)
        }
        ferry::Direction::Download => {
            let version = r
                .version_id
                .as_ref()
                .map(|v| format!(" (version {v})"))
                .unwrap_or_default();
            format!(
                "s3://{}/{}{version} -> {}",
                r.bucket,
                r.key,
                r.local_path.display()
            )
        }
    };
    writeln!(
        out,
        "{:<8}  {:<8}  {:<13}  {:>21}  {what}",
        short_id(&r.id),
        r.direction.as_str(),
        r.state.as_str(),
        progress
    )?;
    if let Some(m) = &r.error_message {
        writeln!(out, "{:<8}  {m}", "")?;
    }
    if let (ferry::State::WaitingRetry, Some(at)) = (r.state, r.next_attempt_at) {
        let secs = (at - ferry::store::now_ms()).max(0) as u64 / 1000;
        writeln!(out, "{:<8}  next attempt in {secs}s (at {at} unix ms)", "")?;
    }
    Ok(())
}

/// Pauses one transfer or all.
pub(crate) async fn pause(state_dir: PathBuf, t: &Target) -> Result<ExitCode, Error> {
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

/// Resumes one transfer or all and runs them to the end.
pub(crate) async fn resume(
    g: &Global,
    state_dir: PathBuf,
    args: &ResumeArgs,
) -> Result<ExitCode, Error> {
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

/// Cancels one transfer or all unfinished ones.
pub(crate) async fn cancel(state_dir: PathBuf, t: &Target) -> Result<ExitCode, Error> {
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

/// Aborts the multipart uploads Ferry abandoned.
pub(crate) async fn clean_uploads(state_dir: PathBuf, older_than: &str) -> Result<ExitCode, Error> {
    let max_age = parse_duration(older_than)?;
    let engine = open(state_dir, Limits::default()).await?;
    let n = engine.abort_abandoned_uploads(max_age).await?;
    println!(
        "aborted {n} abandoned multipart upload{}",
        if n == 1 { "" } else { "s" }
    );
    Ok(ExitCode::SUCCESS)
}

//! `ferry sync SRC DST`: make a folder or prefix match another, with a plan shown first on request
//! (`--dry-run`), the transfers run as one batch, and deletes only after they all succeeded.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferry::{Compare, Error, S3Url, SyncAction, SyncItem, SyncOptions, SyncPlan, SyncSide};

use super::cp::Tuning;
use crate::output::drive;
use crate::{open, Global};

#[derive(Args)]
pub(crate) struct SyncArgs {
    /// A local folder or s3://bucket/prefix.
    pub(crate) src: std::ffi::OsString,
    /// A local folder or s3://bucket/prefix (of the same account when both are S3).
    pub(crate) dst: std::ffi::OsString,
    /// Print the plan (each entry, its action and why, then the totals) and change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Same content, not same size and modification time (the default), decides what is unchanged.
    #[arg(long, conflicts_with = "size_only")]
    pub(crate) checksum: bool,
    /// Same size alone decides what is unchanged.
    #[arg(long)]
    pub(crate) size_only: bool,
    /// Delete what is on the destination and not on the source, once every transfer succeeded.
    #[arg(long)]
    pub(crate) delete: bool,
    /// With --delete: stop before deleting more than N.
    #[arg(long, value_name = "N", requires = "delete")]
    pub(crate) max_delete: Option<usize>,
    /// With --delete: delete even when the source lists nothing.
    #[arg(long, requires = "delete")]
    pub(crate) allow_empty_source: bool,
    /// Leave out what matches (gitignore syntax, repeatable); hidden and temporary files always are.
    #[arg(long, value_name = "PATTERN")]
    pub(crate) exclude: Vec<String>,
    /// Take back what an exclude (or a default one) left out (repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub(crate) include: Vec<String>,
    #[command(flatten)]
    pub(crate) tuning: Tuning,
}

fn side(arg: &std::ffi::OsStr) -> Result<SyncSide, Error> {
    match arg.to_str() {
        Some(s) if S3Url::is_s3(s) => Ok(SyncSide::Remote(S3Url::parse(s)?)),
        _ => {
            Ok(SyncSide::Local(std::path::absolute(arg).map_err(|e| {
                Error::io("cannot resolve", arg.as_ref(), e)
            })?))
        }
    }
}

pub(crate) async fn run(
    g: &Global,
    state_dir: PathBuf,
    args: &SyncArgs,
) -> Result<ExitCode, Error> {
    let engine = open(state_dir, args.tuning.limits()?).await?;
    let conn = g.connection_for(&engine)?;
    let (src, dst) = (side(&args.src)?, side(&args.dst)?);
    let opts = SyncOptions {
        compare: if args.checksum {
            Compare::Checksum
        } else if args.size_only {
            Compare::SizeOnly
        } else {
            Compare::SizeAndTime
        },
        delete: args.delete,
        allow_empty_source: args.allow_empty_source,
        max_delete: args.max_delete,
        exclude: args.exclude.clone(),
        include: args.include.clone(),
        part_size: args.tuning.part_size()?,
        plan_only: args.dry_run,
    };
    let (json, dry_run) = (g.json, args.dry_run);
    let mut print = |item: &SyncItem| {
        if !dry_run {
            return;
        }
        if json {
            let mut v = serde_json::to_value(item).expect("an item serialises");
            v["type"] = "item".into();
            println!("{v}");
        } else {
            println!(
                "{:<8} {}  ({})",
                action_word(item.action),
                item.path,
                item.reason
            );
        }
    };
    let plan = engine
        .plan_sync(&conn, &src, &dst, &opts, &mut print)
        .await?;
    report_plan(&plan, json);
    let problems = !plan.problems.is_empty();
    if dry_run {
        return Ok(if problems || plan.deletes_withheld.is_some() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        });
    }
    let started = engine.start_sync(&conn, &plan).await?;
    let ids = started.enqueued.ids.clone();
    let ran = drive(&engine, started.enqueued, json).await?;
    let deleted = engine.finish_sync(&conn, &plan, &ids).await?;
    if json {
        println!(
            "{}",
            serde_json::json!({"type": "sync", "deleted": deleted.deleted, "withheld": deleted.withheld})
        );
    } else if deleted.deleted > 0 {
        println!(
            "deleted {} entr{} not on the source",
            deleted.deleted,
            if deleted.deleted == 1 { "y" } else { "ies" }
        );
    }
    if let Some(why) = &deleted.withheld {
        eprintln!("ferry: {why}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(if problems { ExitCode::FAILURE } else { ran })
}

fn action_word(a: SyncAction) -> &'static str {
    match a {
        SyncAction::Upload => "upload",
        SyncAction::Download => "download",
        SyncAction::Copy => "copy",
        SyncAction::Delete => "delete",
        SyncAction::Skip => "skip",
    }
}

/// The totals, the entries that cannot be synced and why deletes are withheld.
fn report_plan(plan: &SyncPlan, json: bool) {
    let t = &plan.totals;
    for p in &plan.problems {
        eprintln!("ferry: cannot sync {}: {}", p.what, p.reason);
    }
    if let Some(why) = &plan.deletes_withheld {
        eprintln!("ferry: {why}");
    }
    if json {
        println!(
            "{}",
            serde_json::json!({
                "type": "plan",
                "totals": t,
                "problems": plan.problems,
                "deletesWithheld": plan.deletes_withheld,
            })
        );
        return;
    }
    let transfers = t.uploads + t.downloads + t.copies;
    let verb = match (&plan.src, &plan.dst) {
        (SyncSide::Local(_), _) => "upload",
        (_, SyncSide::Local(_)) => "download",
        _ => "copy",
    };
    println!(
        "plan: {verb} {transfers} ({}), delete {} ({}), {} unchanged",
        ferry::format::human_bytes(t.bytes),
        t.deletes,
        ferry::format::human_bytes(t.delete_bytes),
        t.skips
    );
}

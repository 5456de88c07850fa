//! `ferry ls` and `ferry du`: listings printed as their pages arrive (the first line as soon as the
//! server answers the first page), all levels with `--recursive`, and `--json` as one JSON object
//! per line. `ls --recursive --name GLOB` (with sizes and ages) is a search across a prefix: the
//! engine's [`ObjectFilter`] over the streamed listing. `ls --versions` lists versions and delete
//! markers the same way (the same filters apply).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use ferry::engine::{CancellationToken, Depth, Listing, ObjectFilter, ObjectInfo, VersionListing};
use ferry::format::{human_bytes, parse_duration};
use ferry::{Error, Limits, S3Url};

use super::versions::version_line;
use crate::output::format_time;
use crate::{open, Global};

#[derive(Args)]
pub(crate) struct LsArgs {
    /// s3://bucket/prefix; without it, the buckets.
    target: Option<String>,
    /// Every object under the prefix, at all levels, instead of one level.
    #[arg(short, long)]
    recursive: bool,
    /// Only entries whose name matches: a glob (`*.jpg`, `report-202?-*`) or a plain substring;
    /// case is ignored.
    #[arg(long, value_name = "PATTERN")]
    name: Option<String>,
    /// Only objects of at least this many bytes.
    #[arg(long, value_name = "BYTES")]
    min_size: Option<u64>,
    /// Only objects of at most this many bytes.
    #[arg(long, value_name = "BYTES")]
    max_size: Option<u64>,
    /// Only objects modified within this long (15m, 1h, 7d).
    #[arg(long, value_name = "DURATION")]
    newer_than: Option<String>,
    /// Only objects modified longer ago than this (15m, 1h, 7d).
    #[arg(long, value_name = "DURATION")]
    older_than: Option<String>,
    /// Every version and delete marker (ListObjectVersions) instead of the current objects.
    #[arg(long)]
    versions: bool,
}

impl LsArgs {
    /// What the options keep, as the engine's search filter.
    fn filter(&self) -> Result<ObjectFilter, Error> {
        let mut f = match &self.name {
            Some(p) => ObjectFilter::name(p)?,
            None => ObjectFilter::default(),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64;
        let ago = |d: &Option<String>| -> Result<Option<i64>, Error> {
            Ok(match d {
                Some(d) => Some(now - parse_duration(d)?.as_secs() as i64),
                None => None,
            })
        };
        f.min_size = self.min_size;
        f.max_size = self.max_size;
        f.modified_after = ago(&self.newer_than)?;
        f.modified_before = ago(&self.older_than)?;
        Ok(f)
    }
}

/// Lists buckets, or the objects (and with one level, the prefixes) under a prefix.
pub(crate) async fn ls(g: &Global, state_dir: PathBuf, args: &LsArgs) -> Result<ExitCode, Error> {
    let engine = open(state_dir, Limits::default()).await?;
    let conn = g.connection_for(&engine)?;
    let Some(target) = &args.target else {
        let buckets = engine.list_buckets(&conn).await?;
        if g.json {
            println!("{}", serde_json::json!({"buckets": buckets}));
        } else {
            for b in buckets {
                println!("{b}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    };
    let url = S3Url::parse(target)?;
    let filter = args.filter()?;
    let depth = if args.recursive {
        Depth::All
    } else {
        Depth::Level
    };
    let json = g.json;
    let mut failed = None;
    let never = CancellationToken::new();
    if args.versions {
        engine
            .list_version_pages(&conn, &url.bucket, &url.key, depth, &never, |page| {
                if let Err(e) = print_versions(&page, &filter, json) {
                    failed.get_or_insert(e);
                }
            })
            .await?;
    } else {
        engine
            .list_pages(&conn, &url.bucket, &url.key, depth, &never, |page| {
                if let Err(e) = print_page(&page, &filter, json) {
                    failed.get_or_insert(e);
                }
            })
            .await?;
    }
    match failed {
        // A closed pipe (`ferry ls … | head`) is not a failure.
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Some(e) => Err(Error::internal(format!("cannot print the listing: {e}"))),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// One page's entries that match, written and flushed at once.
fn print_page(page: &Listing, filter: &ObjectFilter, json: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    print_prefixes(&mut out, &page.prefixes, filter, json)?;
    for o in page.objects.iter().filter(|o| filter.matches(o)) {
        if json {
            writeln!(
                out,
                "{}",
                serde_json::to_string(o).expect("an object serialises")
            )?;
        } else {
            let when = o.last_modified.map(format_time).unwrap_or_default();
            writeln!(out, "{when:>19} {:>10}  {}", o.size, o.key)?;
        }
    }
    out.flush()
}

/// A page's prefixes ("folders") that match.
fn print_prefixes(
    out: &mut impl Write,
    prefixes: &[String],
    filter: &ObjectFilter,
    json: bool,
) -> std::io::Result<()> {
    for p in prefixes.iter().filter(|p| filter.name_matches(p)) {
        if json {
            writeln!(out, "{}", serde_json::json!({ "prefix": p }))?;
        } else {
            writeln!(out, "{:>19} {:>10}  {p}", "", "PRE")?;
        }
    }
    Ok(())
}

/// One page of versions that match (by the same filter as objects), written and flushed at once.
fn print_versions(page: &VersionListing, filter: &ObjectFilter, json: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    print_prefixes(&mut out, &page.prefixes, filter, json)?;
    let kept = page.versions.iter().filter(|v| {
        filter.matches(&ObjectInfo {
            key: v.key.clone(),
            size: v.size,
            last_modified: v.last_modified,
            etag: None,
        })
    });
    for v in kept {
        if json {
            writeln!(
                out,
                "{}",
                serde_json::to_string(v).expect("a version serialises")
            )?;
        } else {
            writeln!(out, "{}", version_line(v))?;
        }
    }
    out.flush()
}

/// Counts the objects under a prefix (all levels) and their bytes, showing the running count on a
/// terminal while it lists.
pub(crate) async fn du(g: &Global, state_dir: PathBuf, target: &str) -> Result<ExitCode, Error> {
    let engine = open(state_dir, Limits::default()).await?;
    let conn = g.connection_for(&engine)?;
    let url = S3Url::parse(target)?;
    let live = !g.json && std::io::stderr().is_terminal();
    let listed = engine
        .size_of(
            &conn,
            &url.bucket,
            &url.key,
            &CancellationToken::new(),
            |so_far| {
                if live {
                    eprint!(
                        "\r{} objects, {} so far…",
                        so_far.objects,
                        human_bytes(so_far.bytes)
                    );
                }
            },
        )
        .await?;
    if live {
        eprint!("\r\x1b[K");
    }
    if g.json {
        println!(
            "{}",
            serde_json::json!({"url": url.to_string(), "objects": listed.objects, "bytes": listed.bytes})
        );
    } else {
        println!(
            "{} object{}, {} ({} bytes)  {url}",
            listed.objects,
            if listed.objects == 1 { "" } else { "s" },
            human_bytes(listed.bytes),
            listed.bytes
        );
    }
    Ok(ExitCode::SUCCESS)
}

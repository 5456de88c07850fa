//! `ferry ls`, `ferry mb`, `ferry presign`: buckets and objects.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ferry::format::{human_duration, parse_duration};
use ferry::{Error, Limits, S3Url};

use crate::output::format_time;
use crate::{open, Global};

/// Lists buckets, or one level of a bucket.
pub(crate) async fn ls(
    g: &Global,
    state_dir: PathBuf,
    target: &Option<String>,
) -> Result<ExitCode, Error> {
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

/// Creates a bucket.
pub(crate) async fn mb(g: &Global, state_dir: PathBuf, target: &str) -> Result<ExitCode, Error> {
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

/// Prints a presigned GET link.
pub(crate) async fn presign(
    g: &Global,
    state_dir: PathBuf,
    target: &str,
    expires_in: &str,
) -> Result<ExitCode, Error> {
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

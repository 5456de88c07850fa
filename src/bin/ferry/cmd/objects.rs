//! `ferry mb`, `stat`, `set-meta`, `rm`, `presign`: buckets and objects (`ls` and `du` are in `ls`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use ferry::format::{human_bytes, human_duration, parse_duration};
use ferry::{Error, Limits, S3Url};

use crate::output::format_time;
use crate::{open, Global};

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
    download: bool,
) -> Result<ExitCode, Error> {
    let engine = open(state_dir, Limits::default()).await?;
    let url = S3Url::parse(target)?;
    let expires = parse_duration(expires_in)?;
    let conn = g.connection_for(&engine)?;
    let link = if download {
        engine
            .presign_download(&conn, &url.bucket, &url.key, expires)
            .await?
    } else {
        engine
            .presign(&conn, &url.bucket, &url.key, expires)
            .await?
    };
    if g.json {
        println!("{}", serde_json::to_string(&link).expect("link serialises"));
    } else {
        println!("{}", link.url);
        eprintln!(
            "expires {} (in {})",
            format_time(link.expires_at as i64),
            human_duration(Duration::from_secs(link.expires_in_secs))
        );
        if let Some(why) = &link.limited_by {
            eprintln!("note: sooner than asked: {why}");
        }
        if conn.is_local() && engine.local_endpoint().await?.is_serving() {
            eprintln!("note: this link works while Ferry's local endpoint runs (`ferry serve-local` or the app)");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints an object's properties.
pub(crate) async fn stat(g: &Global, state_dir: PathBuf, target: &str) -> Result<ExitCode, Error> {
    let engine = open(state_dir, Limits::default()).await?;
    let url = S3Url::parse(target)?;
    let p = engine
        .stat(&g.connection_for(&engine)?, &url.bucket, &url.key)
        .await?;
    print_properties(g, &url, p);
    Ok(ExitCode::SUCCESS)
}

/// `ferry set-meta s3://bucket/key --content-type … --metadata NAME=VALUE …`: the object's
/// properties rewritten by the server (a copy onto itself with the REPLACE directive, a multipart
/// copy above 5 GiB), what is not named kept; then its properties as `stat` prints them.
#[derive(clap::Args)]
pub(crate) struct SetMetaArgs {
    /// The object, s3://bucket/key.
    target: String,
    #[arg(long, value_name = "TYPE")]
    content_type: Option<String>,
    /// An empty value removes it.
    #[arg(long, value_name = "VALUE")]
    cache_control: Option<String>,
    /// e.g. 'attachment; filename="report.pdf"'; an empty value removes it.
    #[arg(long, value_name = "VALUE")]
    content_disposition: Option<String>,
    /// User metadata to set, NAME=VALUE (repeatable); other names are kept.
    #[arg(long = "metadata", value_name = "NAME=VALUE")]
    metadata: Vec<String>,
    /// User metadata to remove, by name (repeatable).
    #[arg(long = "remove-metadata", value_name = "NAME")]
    remove_metadata: Vec<String>,
    /// STANDARD, STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR, …
    #[arg(long, value_name = "CLASS")]
    storage_class: Option<String>,
}

pub(crate) async fn set_meta(
    g: &Global,
    state_dir: PathBuf,
    args: &SetMetaArgs,
) -> Result<ExitCode, Error> {
    let url = S3Url::parse(&args.target)?;
    let metadata = super::cp::name_values(&args.metadata)?;
    let edit = ferry::ObjectEdit {
        content_type: args.content_type.clone(),
        cache_control: args.cache_control.clone(),
        content_disposition: args.content_disposition.clone(),
        metadata,
        remove_metadata: args.remove_metadata.clone(),
        storage_class: args.storage_class.clone(),
    };
    let engine = open(state_dir, Limits::default()).await?;
    let p = engine
        .edit_object(&g.connection_for(&engine)?, &url, &edit)
        .await?;
    print_properties(g, &url, p);
    Ok(ExitCode::SUCCESS)
}

fn print_properties(g: &Global, url: &S3Url, p: ferry::engine::ObjectProperties) {
    if g.json {
        println!(
            "{}",
            serde_json::to_string(&p).expect("properties serialise")
        );
        return;
    }
    let line = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            println!("{name:<22}{v}");
        }
    };
    line("key", Some(format!("s3://{}/{}", url.bucket, p.key)));
    line(
        "size",
        Some(format!("{} ({} bytes)", human_bytes(p.size), p.size)),
    );
    line("last modified", p.last_modified.map(format_time));
    line("etag", p.etag);
    line("content type", p.content_type);
    line("cache control", p.cache_control);
    line("content disposition", p.content_disposition);
    line("content encoding", p.content_encoding);
    line("storage class", p.storage_class);
    line("encryption", p.server_side_encryption);
    line("version id", p.version_id);
    for (algo, value) in &p.checksums {
        line(&format!("checksum {algo}"), Some(value.clone()));
    }
    line("checksum type", p.checksum_type);
    for (k, v) in &p.metadata {
        line(&format!("metadata {k}"), Some(v.clone()));
    }
}

/// Deletes one object (refusing one that does not exist), or everything under a prefix, 1,000 keys
/// a request with progress on stderr; keys the server refused are named, and the exit code is 1.
pub(crate) async fn rm(
    g: &Global,
    state_dir: PathBuf,
    target: &str,
    recursive: bool,
    dry_run: bool,
) -> Result<ExitCode, Error> {
    let engine = open(state_dir, Limits::default()).await?;
    let conn = g.connection_for(&engine)?;
    let url = S3Url::parse(target)?;
    let objects = engine.objects_to_remove(&conn, &url, recursive).await?;
    let bytes = objects.iter().map(|o| o.size).sum::<u64>();
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if dry_run {
        for o in &objects {
            println!("would delete s3://{}/{}", url.bucket, o.key);
        }
        println!(
            "would delete {} object{} ({}); nothing was deleted",
            objects.len(),
            plural(objects.len()),
            human_bytes(bytes)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let keys: Vec<String> = objects.iter().map(|o| o.key.clone()).collect();
    let done = engine
        .delete_keys(&conn, &url.bucket, &keys, |p| {
            if g.json {
                println!(
                    "{}",
                    serde_json::json!({"type": "progress", "handled": p.handled, "total": p.total})
                );
            } else if p.total > ferry::engine::DELETE_BATCH {
                eprintln!("deleting: {} of {}", p.handled, p.total);
            }
        })
        .await?;
    let refused: std::collections::HashSet<&str> =
        done.failed.iter().map(|f| f.key.as_str()).collect();
    let bytes: u64 = objects
        .iter()
        .filter(|o| !refused.contains(o.key.as_str()))
        .map(|o| o.size)
        .sum();
    if g.json {
        println!(
            "{}",
            serde_json::json!({"type": "summary", "deleted": done.deleted, "bytes": bytes, "failed": done.failed})
        );
    } else {
        for f in &done.failed {
            eprintln!(
                "ferry: not deleted: s3://{}/{}: {}",
                url.bucket, f.key, f.message
            );
        }
        println!(
            "deleted {} object{} ({}){}",
            done.deleted,
            plural(done.deleted),
            human_bytes(bytes),
            match done.failed.len() {
                0 => String::new(),
                n => format!("; {n} could not be deleted (named above)"),
            }
        );
    }
    Ok(if done.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

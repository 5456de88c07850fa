//! Object versions: `ferry ls --versions` lines (printed by `ls`), `ferry restore --version-id`
//! (a server-side copy of the version over the object) and `ferry rm --version-id`, which deletes
//! a version for good and so asks first unless `--yes` is given.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use ferry::engine::ObjectVersion;
use ferry::format::human_bytes;
use ferry::{Error, Limits, S3Url};

use crate::output::format_time;
use crate::{open, Global};

/// One version as `ls --versions` prints it: time, size (or `DELETED` for a delete marker), key,
/// version id, and `(current)` on the current one.
pub(crate) fn version_line(v: &ObjectVersion) -> String {
    let when = v.last_modified.map(format_time).unwrap_or_default();
    let size = if v.is_delete_marker {
        "DELETED".to_string()
    } else {
        v.size.to_string()
    };
    let current = if v.is_latest { "  (current)" } else { "" };
    format!(
        "{when:>19} {size:>10}  {}  {}{current}",
        v.key, v.version_id
    )
}

/// `ferry restore --version-id ID s3://b/k`: the version's bytes become current again.
pub(crate) async fn restore(
    g: &Global,
    state_dir: PathBuf,
    target: &str,
    version_id: &str,
) -> Result<ExitCode, Error> {
    let engine = open(state_dir, Limits::default()).await?;
    let conn = g.connection_for(&engine)?;
    let url = S3Url::parse(target)?;
    let r = engine
        .restore_version(&conn, &url.bucket, &url.key, version_id)
        .await?;
    if g.json {
        println!(
            "{}",
            serde_json::to_string(&r).expect("a restore serialises")
        );
    } else {
        println!(
            "restored {url} from version {} ({}); its new current version is {}",
            r.from_version_id,
            human_bytes(r.size),
            r.new_version_id.as_deref().unwrap_or("(none given)")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `ferry rm --version-id ID s3://b/k`: deletes one version (or delete marker) for good, after a
/// `y` on standard input unless `yes`.
pub(crate) async fn rm_version(
    g: &Global,
    state_dir: PathBuf,
    target: &str,
    version_id: &str,
    yes: bool,
) -> Result<ExitCode, Error> {
    let engine = open(state_dir, Limits::default()).await?;
    let conn = g.connection_for(&engine)?;
    let url = S3Url::parse(target)?;
    if !yes {
        let versions = engine.object_versions(&conn, &url.bucket, &url.key).await?;
        let Some(v) = versions.iter().find(|v| v.version_id == version_id) else {
            return Err(Error::not_found(format!(
                "{url} has no version `{version_id}`; `ferry ls --versions {url}` lists its versions"
            )));
        };
        let what = if v.is_delete_marker {
            "the delete marker".to_string()
        } else {
            format!("version ({})", human_bytes(v.size))
        };
        eprint!(
            "delete {what} {version_id} of {url}{}? This cannot be undone. [y/N] ",
            v.last_modified
                .map(|t| format!(", from {}", format_time(t)))
                .unwrap_or_default()
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| Error::invalid(format!("cannot read the answer: {e}")))?;
        if !matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            eprintln!("nothing was deleted");
            return Ok(ExitCode::from(1));
        }
    }
    let v = engine
        .delete_version(&conn, &url.bucket, &url.key, version_id)
        .await?;
    if g.json {
        println!("{}", serde_json::json!({"type": "summary", "deleted": v}));
    } else {
        println!(
            "deleted {} {} of {url}",
            if v.is_delete_marker {
                "delete marker"
            } else {
                "version"
            },
            v.version_id
        );
    }
    Ok(ExitCode::SUCCESS)
}

//! `ferry serve-local`: the embedded S3 endpoint in the foreground.

use std::path::PathBuf;
use std::process::ExitCode;

use ferry::{Error, ErrorKind, Limits};

use crate::{open, Global};

/// Serves the embedded endpoint until Ctrl-C.
pub(crate) async fn run(g: &Global, state_dir: PathBuf) -> Result<ExitCode, Error> {
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

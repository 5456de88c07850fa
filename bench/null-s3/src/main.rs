//! `null-s3`: the benchmark's second server and its measure of the machine (see docs/BENCHMARKS.md).
//!
//! ```text
//! null-s3 serve [--port P] [--stats FILE]   an S3 endpoint that keeps sizes, not bytes (store.rs);
//!                                            keys from NULL_S3_ACCESS_KEY / NULL_S3_SECRET_KEY;
//!                                            prints {"endpoint": ...} once listening
//! null-s3 floor tcp|crc32c BYTES            the physical floor (floor.rs)
//! null-s3 check BUCKET KEY SIZE FILE        whether FILE holds the bytes the server serves for KEY
//! ```
//!
//! With `--stats FILE` the server rewrites FILE (JSON: objects, writes, keys_rewritten,
//! extra_writes) whenever those counts change, at most every 100 ms.

mod floor;
mod pattern;
mod store;

use std::process::ExitCode;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

const USAGE: &str = "usage: null-s3 serve [--port P] [--stats FILE] | null-s3 floor tcp|crc32c BYTES | null-s3 check BUCKET KEY SIZE FILE";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("floor") => floor(&args[1..]),
        Some("check") => check(&args[1..]),
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("null-s3: {e}");
            ExitCode::from(2)
        }
    }
}

fn number(s: Option<&String>, what: &str) -> Result<u64, String> {
    s.ok_or(format!("{what} is missing; {USAGE}"))?
        .parse()
        .map_err(|_| format!("{what} must be a whole number of bytes; {USAGE}"))
}

fn floor(args: &[String]) -> Result<ExitCode, String> {
    let bytes = number(args.get(1), "BYTES")?;
    match args.first().map(String::as_str) {
        Some("tcp") => {
            let (wall, cpu) =
                floor::tcp(bytes).map_err(|e| format!("loopback copy failed: {e}"))?;
            println!(r#"{{"what":"tcp","bytes":{bytes},"wall_s":{wall},"cpu_s":{cpu}}}"#);
        }
        Some("crc32c") => {
            let (wall, cpu, crc) = floor::crc32c(bytes);
            println!(
                r#"{{"what":"crc32c","bytes":{bytes},"wall_s":{wall},"cpu_s":{cpu},"crc32c":{crc}}}"#
            );
        }
        _ => return Err(USAGE.to_owned()),
    }
    Ok(ExitCode::SUCCESS)
}

fn check(args: &[String]) -> Result<ExitCode, String> {
    let [bucket, key, size, file] = args else {
        return Err(USAGE.to_owned());
    };
    let size = number(Some(size), "SIZE")?;
    let seed = pattern::seed(bucket, key);
    match pattern::check_file(seed, size, std::path::Path::new(file)) {
        Ok(Ok(())) => Ok(ExitCode::SUCCESS),
        Ok(Err(at)) => {
            eprintln!("null-s3: {file} differs from s3://{bucket}/{key} at byte {at}");
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(format!("cannot read {file}: {e}")),
    }
}

fn serve(args: &[String]) -> Result<ExitCode, String> {
    let mut port = 0u16;
    let mut stats = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--port" => {
                port = number(it.next(), "--port")?
                    .try_into()
                    .map_err(|_| "--port is 0 to 65535".to_owned())?
            }
            "--stats" => stats = Some(it.next().ok_or("--stats needs a file")?.clone()),
            other => return Err(format!("unknown argument {other}; {USAGE}")),
        }
    }
    let key = |name: &str| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.is_empty())
            .ok_or(format!("set {name} (the key clients sign with)"))
    };
    let (access, secret) = (key("NULL_S3_ACCESS_KEY")?, key("NULL_S3_SECRET_KEY")?);
    let rt =
        tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(run(port, stats, access, secret))
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

async fn run(
    port: u16,
    stats: Option<String>,
    access: String,
    secret: String,
) -> std::io::Result<()> {
    let s3 = store::NullS3::default();
    let mut b = S3ServiceBuilder::new(s3.clone());
    b.set_auth(SimpleAuth::from_single(access, secret));
    let service = b.build();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(r#"{{"endpoint":"http://{}"}}"#, listener.local_addr()?);
    if let Some(path) = stats {
        tokio::spawn(write_stats(s3, path));
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    loop {
        tokio::select! {
            _ = term.recv() => return Ok(()),
            _ = tokio::signal::ctrl_c() => return Ok(()),
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let svc = service.clone();
                tokio::spawn(async move {
                    let _ = ConnBuilder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        }
    }
}

async fn write_stats(s3: store::NullS3, path: String) {
    let mut last = None;
    loop {
        let c = s3.counts();
        if last != Some(c) {
            let text = format!(
                r#"{{"objects":{},"writes":{},"keys_rewritten":{},"extra_writes":{}}}"#,
                c.objects, c.writes, c.keys_rewritten, c.extra_writes
            );
            let tmp = format!("{path}.tmp");
            if std::fs::write(&tmp, text)
                .and_then(|()| std::fs::rename(&tmp, &path))
                .is_ok()
            {
                last = Some(c);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

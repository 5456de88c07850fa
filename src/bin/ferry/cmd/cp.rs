//! `ferry cp`: an upload or a download, by which side is an S3 URL.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use ferry::plan::parse_size;
use ferry::{DownloadOptions, Error, IfExists, Limits, ObjectOptions, S3Url, UploadOptions};

use crate::output::drive;
use crate::{open, Global};

#[derive(Args)]
#[command(
    after_help = "Streams: `ferry cp - s3://bucket/key` uploads standard input (of any length, \
as a multipart upload with a few parts in memory); `ferry cp s3://bucket/key -` writes the object to \
standard output, checked against the server's checksum. A stream cannot be resumed after a crash: \
on a failure or Ctrl-C its partial upload is aborted and no object appears; send it again."
)]
pub(crate) struct CpArgs {
    /// A local path (any bytes the OS allows), s3://bucket/key, or `-` for standard input/output.
    pub(crate) src: std::ffi::OsString,
    pub(crate) dst: std::ffi::OsString,
    #[arg(short, long)]
    pub(crate) recursive: bool,
    #[command(flatten)]
    pub(crate) tuning: Tuning,
    /// When a download's destination exists.
    #[arg(long, value_enum, default_value = "error")]
    pub(crate) if_exists: IfExistsArg,
    #[command(flatten)]
    pub(crate) object: ObjectArgs,
    /// Download this version of the object (`ferry ls --versions` lists them); a resumed download
    /// fetches the same version.
    #[arg(long, value_name = "ID", conflicts_with = "recursive")]
    pub(crate) version_id: Option<String>,
    #[command(flatten)]
    pub(crate) to: ToAccount,
}

/// A copy or move to another account or endpoint.
#[derive(Args, Clone, Default)]
pub(crate) struct ToAccount {
    /// Copy to this account (a saved one, `local`, or `profile:NAME`) instead of the command's
    /// own: the bytes stream through Ferry (ranges in, parts out, resumable), the source read
    /// with the command's account (--account, --profile, --endpoint-url).
    #[arg(long, value_name = "NAME")]
    pub(crate) to_account: Option<String>,
}

impl ToAccount {
    /// The destination's connection, when it is another account; refused unless both sides are S3.
    fn destination(
        &self,
        engine: &ferry::Engine,
        both_s3: bool,
    ) -> Result<Option<ferry::Connection>, Error> {
        let Some(name) = &self.to_account else {
            return Ok(None);
        };
        if !both_s3 {
            return Err(Error::invalid(
                "--to-account copies between S3 locations of two accounts: ferry cp --to-account NAME s3://bucket/key s3://bucket/key",
            ));
        }
        engine.connection(name).map(Some)
    }
}

/// What uploaded objects are stored with; a server-side copy takes them as changes to its source's.
#[derive(Args, Clone, Default)]
pub(crate) struct ObjectArgs {
    /// Content-Type of every object (default: from each file's name).
    #[arg(long, value_name = "TYPE")]
    pub(crate) content_type: Option<String>,
    #[arg(long, value_name = "VALUE")]
    pub(crate) cache_control: Option<String>,
    /// e.g. 'attachment; filename="report.pdf"'.
    #[arg(long, value_name = "VALUE")]
    pub(crate) content_disposition: Option<String>,
    #[arg(long, value_name = "VALUE")]
    pub(crate) content_encoding: Option<String>,
    /// User metadata, NAME=VALUE (repeatable).
    #[arg(long = "metadata", value_name = "NAME=VALUE")]
    pub(crate) metadata: Vec<String>,
    /// STANDARD, STANDARD_IA, INTELLIGENT_TIERING, GLACIER_IR, …
    #[arg(long, value_name = "CLASS")]
    pub(crate) storage_class: Option<String>,
    #[command(flatten)]
    pub(crate) sse: SseArgs,
}

/// Server-side encryption of uploads and server-side copies.
#[derive(Args, Clone, Default)]
pub(crate) struct SseArgs {
    /// Server-side encryption: AES256 (keys managed by S3) or aws:kms (default: the bucket's).
    #[arg(long, value_name = "MODE")]
    pub(crate) sse: Option<String>,
    /// The KMS key (id, ARN or alias) for --sse aws:kms (default: the account's KMS key).
    #[arg(long, value_name = "ID")]
    pub(crate) sse_kms_key_id: Option<String>,
}

/// `--metadata NAME=VALUE` arguments as a map.
pub(crate) fn name_values(
    args: &[String],
) -> Result<std::collections::BTreeMap<String, String>, Error> {
    let mut metadata = std::collections::BTreeMap::new();
    for m in args {
        let (k, v) = m.split_once('=').ok_or_else(|| {
            Error::invalid(format!(
                "--metadata `{m}` needs a value: write it as NAME=VALUE"
            ))
        })?;
        metadata.insert(k.trim().to_string(), v.to_string());
    }
    Ok(metadata)
}

impl ObjectArgs {
    fn options(&self) -> Result<ObjectOptions, Error> {
        let metadata = name_values(&self.metadata)?;
        Ok(ObjectOptions {
            content_type: self.content_type.clone(),
            cache_control: self.cache_control.clone(),
            content_disposition: self.content_disposition.clone(),
            content_encoding: self.content_encoding.clone(),
            metadata,
            storage_class: self.storage_class.clone(),
            sse: self.sse.sse.clone(),
            sse_kms_key_id: self.sse.sse_kms_key_id.clone(),
        })
    }
}

impl ObjectArgs {
    /// What a server-side copy changes of its source's properties (`None`: it keeps them all).
    fn edit(&self) -> Result<Option<ferry::ObjectEdit>, Error> {
        if self.content_encoding.is_some() {
            return Err(Error::invalid(
                "a server-side copy keeps the source's content encoding (its bytes are not changed); leave out --content-encoding",
            ));
        }
        let edit = ferry::ObjectEdit {
            content_type: self.content_type.clone(),
            cache_control: self.cache_control.clone(),
            content_disposition: self.content_disposition.clone(),
            metadata: name_values(&self.metadata)?,
            remove_metadata: Vec::new(),
            storage_class: self.storage_class.clone(),
        };
        Ok((edit != ferry::ObjectEdit::default()).then_some(edit))
    }
}

#[derive(Args, Clone)]
pub(crate) struct Tuning {
    /// Part size for multipart uploads and ranged downloads, e.g. 16MiB (default: automatic).
    #[arg(long)]
    pub(crate) part_size: Option<String>,
    /// Transfers running at once.
    #[arg(long)]
    pub(crate) concurrency: Option<usize>,
    /// Parts in flight per transfer.
    #[arg(long)]
    pub(crate) parts: Option<usize>,
    /// Bandwidth limit across all transfers, e.g. 10MiB (per second).
    #[arg(long)]
    pub(crate) limit_rate: Option<String>,
}

impl Tuning {
    pub(crate) fn limits(&self) -> Result<Limits, Error> {
        let mut l = Limits::default();
        if let Some(c) = self.concurrency {
            l.transfers = c;
        }
        if let Some(p) = self.parts {
            l.parts_in_flight = p;
        }
        if let Some(r) = &self.limit_rate {
            l.rate_limit = Some(parse_size(r)?);
        }
        Ok(l)
    }

    pub(crate) fn part_size(&self) -> Result<Option<u64>, Error> {
        self.part_size.as_deref().map(parse_size).transpose()
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum IfExistsArg {
    Error,
    Skip,
    Overwrite,
    Rename,
}

impl From<IfExistsArg> for IfExists {
    fn from(v: IfExistsArg) -> Self {
        match v {
            IfExistsArg::Error => IfExists::Error,
            IfExistsArg::Skip => IfExists::Skip,
            IfExistsArg::Overwrite => IfExists::Overwrite,
            IfExistsArg::Rename => IfExists::Rename,
        }
    }
}

/// Enqueues the copy and runs it with a progress display.
pub(crate) async fn run(g: &Global, state_dir: PathBuf, args: &CpArgs) -> Result<ExitCode, Error> {
    let engine = open(state_dir, args.tuning.limits()?).await?;
    let conn = g.connection_for(&engine)?;
    let part_size = args.tuning.part_size()?;
    let s3_side = |arg: &std::ffi::OsStr| -> Result<Option<S3Url>, Error> {
        match arg.to_str() {
            Some(s) if S3Url::is_s3(s) => S3Url::parse(s).map(Some),
            _ => Ok(None),
        }
    };
    let download =
        args.dst != "-" && matches!((s3_side(&args.src)?, s3_side(&args.dst)?), (Some(_), None));
    if args.version_id.is_some() && !download {
        return Err(Error::invalid(
            "--version-id downloads one version of an object: ferry cp --version-id ID s3://bucket/key DEST; `ferry restore` makes a version current",
        ));
    }
    let both_s3 = s3_side(&args.src)?.is_some() && s3_side(&args.dst)?.is_some();
    let destination = args.to.destination(&engine, both_s3)?;
    if args.src == "-" || args.dst == "-" {
        return stream(g, &engine, args).await;
    }
    let enq = match (s3_side(&args.src)?, s3_side(&args.dst)?) {
        (None, Some(dst)) => {
            let opts = UploadOptions {
                recursive: args.recursive,
                part_size,
                object: args.object.options()?,
            };
            engine
                .enqueue_upload(&conn, args.src.as_ref(), &dst, &opts)
                .await?
        }
        (Some(src), None) => {
            if args.object.options()?.to_json().is_some() {
                return Err(Error::invalid(
                    "--content-type, --cache-control, --metadata and the like set how an upload is stored; a download keeps what the object has",
                ));
            }
            let opts = DownloadOptions {
                recursive: args.recursive,
                part_size,
                if_exists: args.if_exists.into(),
                version_id: args.version_id.clone(),
            };
            engine
                .enqueue_download(&conn, &src, args.dst.as_ref(), &opts)
                .await?
        }
        (Some(src), Some(dst)) => {
            let mut opts = copy_options(args.recursive, args.if_exists, false, &args.object.sse);
            opts.part_size = part_size;
            opts.edit = args.object.edit()?;
            opts.destination = destination;
            engine.enqueue_copy(&conn, &src, &dst, &opts).await?
        }
        (None, None) => {
            return Err(Error::invalid(
                "one side must be an S3 location (s3://bucket/key)",
            ))
        }
    };
    drive(&engine, enq, g.json).await
}

/// `ferry mv SRC DST`: a move between S3 locations, server-side within one account, streamed to
/// another (`--to-account`).
pub(crate) async fn mv(g: &Global, state_dir: PathBuf, args: &MvArgs) -> Result<ExitCode, Error> {
    let (src, dst) = match (S3Url::is_s3(&args.src), S3Url::is_s3(&args.dst)) {
        (true, true) => (S3Url::parse(&args.src)?, S3Url::parse(&args.dst)?),
        _ => {
            return Err(Error::invalid(
                "ferry mv moves between S3 locations (s3://bucket/key); for local files use ferry cp, then delete",
            ))
        }
    };
    let engine = open(state_dir, args.tuning.limits()?).await?;
    let mut opts = copy_options(args.recursive, args.if_exists, true, &args.sse);
    opts.part_size = args.tuning.part_size()?;
    opts.destination = args.to.destination(&engine, true)?;
    let enq = engine
        .enqueue_copy(&g.connection_for(&engine)?, &src, &dst, &opts)
        .await?;
    drive(&engine, enq, g.json).await
}

fn copy_options(
    recursive: bool,
    if_exists: IfExistsArg,
    delete_source: bool,
    sse: &SseArgs,
) -> ferry::CopyOptions {
    ferry::CopyOptions {
        recursive,
        if_exists: if_exists.into(),
        delete_source,
        sse: sse.sse.clone(),
        sse_kms_key_id: sse.sse_kms_key_id.clone(),
        part_size: None,
        edit: None,
        destination: None,
    }
}

#[derive(Args)]
pub(crate) struct MvArgs {
    pub(crate) src: String,
    pub(crate) dst: String,
    #[arg(short, long)]
    pub(crate) recursive: bool,
    /// When a destination exists (error, skip or overwrite).
    #[arg(long, value_enum, default_value = "error")]
    pub(crate) if_exists: IfExistsArg,
    #[command(flatten)]
    pub(crate) sse: SseArgs,
    #[command(flatten)]
    pub(crate) tuning: Tuning,
    #[command(flatten)]
    pub(crate) to: ToAccount,
}

/// `ferry cp - s3://…` and `ferry cp s3://… -`: standard input to an object, an object to
/// standard output (neither queued nor resumable).
async fn stream(g: &Global, engine: &ferry::Engine, args: &CpArgs) -> Result<ExitCode, Error> {
    let url = |arg: &std::ffi::OsStr| {
        match arg.to_str() {
        Some(s) if S3Url::is_s3(s) => S3Url::parse(s),
        _ => Err(Error::invalid(
            "`-` streams standard input to an S3 object or an S3 object to standard output; the other side must be s3://bucket/key",
        )),
    }
    };
    if args.recursive {
        return Err(Error::invalid(
            "a stream is one object; --recursive does not apply to `-`",
        ));
    }
    let conn = g.connection_for(engine)?;
    let part_size = args.tuning.part_size()?;
    let done = if args.src == "-" {
        let dst = url(&args.dst)?;
        let stop = tokio_util::sync::CancellationToken::new();
        let on_signal = stop.clone();
        tokio::spawn(async move {
            interrupted().await;
            on_signal.cancel();
        });
        engine
            .upload_stream(
                &conn,
                std_stream(&std::io::stdin())?,
                &dst,
                part_size,
                &args.object.options()?,
                &stop,
            )
            .await?
    } else {
        if args.object.options()?.to_json().is_some() {
            return Err(Error::invalid(
                "--content-type, --metadata and the like set how an upload is stored; a download keeps what the object has",
            ));
        }
        cat(engine, &conn, &url(&args.src)?, part_size).await?
    };
    if g.json {
        // Standard output carries a download's bytes: its summary goes to stderr.
        let summary = serde_json::json!({"type": "summary", "bytes": done.bytes, "parts": done.parts, "verified": done.verified});
        if args.src == "-" {
            println!("{summary}");
        } else {
            eprintln!("{summary}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes an object to standard output; says on stderr when nothing could check it.
pub(crate) async fn cat(
    engine: &ferry::Engine,
    conn: &ferry::Connection,
    src: &S3Url,
    part_size: Option<u64>,
) -> Result<ferry::engine::Streamed, Error> {
    let done = engine
        .download_stream(conn, src, std_stream(&std::io::stdout())?, part_size)
        .await?;
    if done.verified.is_none() {
        eprintln!("ferry: {src} has no checksum on the server; the output was not verified");
    }
    Ok(done)
}

/// Ctrl-C, or SIGTERM where there is one.
async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// `ferry cat s3://bucket/key`.
pub(crate) async fn cat_command(
    g: &Global,
    state_dir: PathBuf,
    target: &str,
    part_size: &Option<String>,
) -> Result<ExitCode, Error> {
    let engine = open(state_dir, Limits::default()).await?;
    let part_size = part_size.as_deref().map(parse_size).transpose()?;
    let src = S3Url::parse(target)?;
    cat(&engine, &g.connection_for(&engine)?, &src, part_size).await?;
    Ok(ExitCode::SUCCESS)
}

/// Standard input or output as an async file (its reads and writes run on the blocking pool).
fn std_stream<T>(s: &T) -> Result<tokio::fs::File, Error>
where
    T: StdHandle,
{
    let file = s
        .duplicate()
        .map_err(|e| Error::invalid(format!("cannot use standard input/output: {e}")))?;
    Ok(tokio::fs::File::from_std(file))
}

/// What standard input and output have in common here: a descriptor that can be duplicated.
trait StdHandle {
    fn duplicate(&self) -> std::io::Result<std::fs::File>;
}

#[cfg(unix)]
impl<T: std::os::fd::AsFd> StdHandle for T {
    fn duplicate(&self) -> std::io::Result<std::fs::File> {
        Ok(self.as_fd().try_clone_to_owned()?.into())
    }
}

#[cfg(windows)]
impl<T: std::os::windows::io::AsHandle> StdHandle for T {
    fn duplicate(&self) -> std::io::Result<std::fs::File> {
        Ok(self.as_handle().try_clone_to_owned()?.into())
    }
}

//! Upload requests: the sources found (a file, or a folder walked in order), checked, and each
//! continued, replaced, skipped or added by [`upload_decision`].

use super::*;

/// A file found for upload, and its key.
type Found = (PathBuf, String);

/// A file to upload, as found and measured at enqueue.
pub(in crate::engine) struct Source {
    pub(in crate::engine) path: PathBuf,
    pub(in crate::engine) key: String,
    pub(in crate::engine) size: u64,
    pub(in crate::engine) mtime: i64,
    pub(in crate::engine) part_size: u64,
}

impl Engine {
    /// Validates an upload request and writes its transfers to the queue as `queued`, in one
    /// transaction. Unfinished transfers of the same files to the same keys are continued, not
    /// duplicated. Nothing is written when the request is refused.
    pub async fn enqueue_upload(
        &self,
        conn: &Connection,
        src: &Path,
        dst: &S3Url,
        opts: &UploadOptions,
    ) -> Result<Enqueued> {
        self.enqueue_upload_in(conn, src, dst, opts, &new_batch())
            .await
    }

    pub(in crate::engine) async fn enqueue_upload_in(
        &self,
        conn: &Connection,
        src: &Path,
        dst: &S3Url,
        opts: &UploadOptions,
        batch: &str,
    ) -> Result<Enqueued> {
        conn.validate()?;
        opts.object.validate()?;
        let object_options = opts.object.to_json();
        let (files, mut skipped) = upload_sources(src, dst, opts)?;
        let single = files.len() == 1 && !std::fs::metadata(src).is_ok_and(|m| m.is_dir());
        let rate = self.limits().rate_limit;
        let sources = measure(files, opts, &mut skipped, single, rate)?;
        let s3 = self.requests(conn).await?;
        self.require_bucket(&s3, &dst.bucket).await?;
        let mut out = Enqueued {
            skipped,
            ..Default::default()
        };
        let sources = sources.into_iter().map(Ok);
        let stored = object_options.as_deref();
        self.enqueue_sources(
            conn,
            &s3,
            &dst.bucket,
            sources,
            stored,
            false,
            batch,
            &mut out,
        )
        .await?;
        Ok(out)
    }

    /// Writes the uploads of `sources` to `bucket` to the queue (adding to `out`): unfinished ones
    /// continued, changed ones replaced, unchanged finished ones skipped unless `decided` (a sync
    /// that compared them already, by content perhaps). Nothing is written when the sources fail.
    #[allow(clippy::too_many_arguments)] // the request's parts as its two callers hold them
    pub(in crate::engine) async fn enqueue_sources(
        &self,
        conn: &Connection,
        s3: &s3::Requests,
        bucket: &str,
        sources: impl IntoIterator<Item = Result<Source>>,
        object_options: Option<&str>,
        decided: bool,
        batch: &str,
        out: &mut Enqueued,
    ) -> Result<()> {
        let conn_json = conn.to_json();
        let object_options = self.with_account_defaults(&conn.account, object_options)?;
        let object_options = object_options.as_deref();
        let (mut new, mut at) = (Vec::new(), Vec::new());
        for s in sources {
            let s = s?;
            let (store, same) = (
                &self.inner.store,
                Same::upload(&conn_json, bucket, &s.key, &s.path),
            );
            let unfinished = store.find_unfinished(&same)?;
            let completed = match unfinished {
                Some(_) => None,
                None => store.find_completed(&same)?,
            };
            match upload_decision(unfinished.as_ref(), completed.as_ref(), s.size, s.mtime) {
                UploadDecision::Continue(id) => {
                    if let Some(row) = &unfinished {
                        self.continue_unfinished(row)?;
                    }
                    out.ids.push(id);
                    out.resumed += 1;
                    continue;
                }
                UploadDecision::Replace(id) => {
                    // Its parts belong to the old version: cancelled (its multipart upload
                    // aborted), and the new content starts fresh.
                    tracing::info!(transfer = %id, "the source changed; replacing the unfinished upload");
                    self.cancel(&id).await?;
                }
                UploadDecision::SkipIfObjectIs(_) if decided => {}
                UploadDecision::SkipIfObjectIs(etag) => {
                    if object_etag(s3, bucket, &s.key).await.as_deref() == Some(&etag) {
                        out.skipped.push(Skipped {
                            what: s.path.display().to_string(),
                            reason: format!(
                                "already uploaded to s3://{bucket}/{}; neither the file nor the object changed since",
                                s.key
                            ),
                        });
                        continue;
                    }
                }
                UploadDecision::New => {}
            }
            let id = uuid::Uuid::now_v7().to_string();
            at.push(out.ids.len());
            out.ids.push(id.clone());
            new.push(NewTransfer {
                id,
                direction: Direction::Upload,
                connection: &conn_json,
                bucket,
                key: s.key,
                local_path: s.path,
                size: Some(s.size),
                source_mtime_ns: Some(s.mtime),
                part_size: s.part_size,
                etag: None,
                overwrite: false,
                batch_id: batch,
                object_options,
                version_id: None,
            });
        }
        // Each in its place in the order found, under the id it is queued with.
        for (i, id) in at.into_iter().zip(self.insert_new(&new)?) {
            out.ids[i] = id;
        }
        Ok(())
    }
}

/// The files a request names, with their keys: the file itself, or everything under a folder
/// (with `recursive`). Refuses what cannot be uploaded, saying what to do instead.
fn upload_sources(
    src: &Path,
    dst: &S3Url,
    opts: &UploadOptions,
) -> Result<(Vec<Found>, Vec<Skipped>)> {
    let meta = std::fs::metadata(src).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound if std::fs::symlink_metadata(src).is_ok() => {
            Error::not_found(format!(
                "{} is a symbolic link to a file that does not exist; fix the link or upload its target",
                src.display()
            ))
        }
        std::io::ErrorKind::NotFound => Error::not_found(format!(
            "no such file or folder: {}; check the path",
            src.display()
        )),
        _ => unreadable(src, e),
    })?;
    if !meta.is_dir() && !meta.is_file() {
        return Err(Error::invalid(format!(
            "{} is not a regular file (a pipe, socket or device); upload a file or a folder",
            src.display()
        )));
    }
    let src = std::path::absolute(src).map_err(|e| Error::io("cannot resolve", src, e))?;
    let mut skipped = Vec::new();
    let mut files = Vec::new();
    if meta.is_dir() {
        if !opts.recursive {
            return Err(Error::invalid(format!(
                "{} is a folder; add --recursive to upload it with everything inside",
                src.display()
            )));
        }
        walk(
            &src,
            &s3::as_folder(&dst.key),
            &mut files,
            &mut skipped,
            true,
        )?;
    } else {
        let key = if dst.key.is_empty() || dst.key.ends_with('/') {
            format!("{}{}", dst.key, file_name_utf8(&src)?)
        } else {
            dst.key.clone()
        };
        files.push((src, key));
    }
    Ok((files, skipped))
}

/// Checks each key and opens each file once: its size, mtime and part size as of now. A file of a
/// folder that cannot be opened (deleted since the walk, unreadable) is skipped by name with the
/// reason and the rest go on; a `single` file asked for by itself refuses the request. The part size
/// suits the bandwidth cap `rate` (see [`plan::paced_part_size`]).
fn measure(
    files: Vec<Found>,
    opts: &UploadOptions,
    skipped: &mut Vec<Skipped>,
    single: bool,
    rate: Option<u64>,
) -> Result<Vec<Source>> {
    let mut out = Vec::with_capacity(files.len());
    for (path, key) in files {
        check_key(&key)?;
        let opened = std::fs::File::open(&path).and_then(|f| f.metadata());
        let m = match opened {
            Ok(m) => m,
            Err(e) if single => return Err(unreadable(&path, e)),
            Err(e) => {
                skipped.push(Skipped {
                    what: path.display().to_string(),
                    reason: match e.kind() {
                        std::io::ErrorKind::NotFound => {
                            "it was deleted before it could be queued".into()
                        }
                        _ => unreadable(&path, e).message,
                    },
                });
                continue;
            }
        };
        out.push(Source {
            part_size: plan::paced_part_size(m.len(), opts.part_size, rate)?,
            size: m.len(),
            mtime: transfer::mtime_ns(&m),
            path,
            key,
        });
    }
    Ok(out)
}

/// Collects the files under `dir` (sorted, symlinked folders not followed) with their keys; `top`:
/// `dir` is the folder asked for.
pub(super) fn walk(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<(PathBuf, String)>,
    skipped: &mut Vec<Skipped>,
    top: bool,
) -> Result<()> {
    // The folder asked for must be readable; one inside it that is not (or that vanished during
    // the walk) is skipped by name and the rest go on.
    let listed = std::fs::read_dir(dir).and_then(|d| d.collect::<std::io::Result<Vec<_>>>());
    let mut entries = match listed {
        Ok(entries) => entries,
        Err(e) if top => return Err(Error::io("cannot read the folder", dir, e)),
        Err(e) => {
            skipped.push(Skipped {
                what: dir.display().to_string(),
                reason: match e.kind() {
                    std::io::ErrorKind::NotFound => "the folder vanished during the walk".into(),
                    _ => format!("the folder cannot be read: {e}"),
                },
            });
            return Ok(());
        }
    };
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            skipped.push(Skipped {
                what: path.display().to_string(),
                reason: "the name is not valid UTF-8".into(),
            });
            continue;
        };
        let ft = entry
            .file_type()
            .map_err(|e| Error::io("cannot read", &path, e))?;
        if ft.is_symlink() && path.is_dir() {
            skipped.push(Skipped {
                what: path.display().to_string(),
                reason: "symbolic links to folders are not followed".into(),
            });
        } else if path.is_dir() {
            walk(&path, &format!("{prefix}{name}/"), out, skipped, false)?;
        } else if path.is_file() {
            out.push((path, format!("{prefix}{name}")));
        } else {
            skipped.push(not_a_file(&path, &ft));
        }
    }
    Ok(())
}

/// An entry of a folder that is neither a file nor a folder, named with what it is.
pub(in crate::engine) fn not_a_file(path: &Path, ft: &std::fs::FileType) -> Skipped {
    Skipped {
        what: path.display().to_string(),
        reason: if ft.is_symlink() {
            "a symbolic link that leads nowhere (its target is missing, or it is a loop)"
        } else {
            "not a regular file (a pipe, socket or device)"
        }
        .into(),
    }
}

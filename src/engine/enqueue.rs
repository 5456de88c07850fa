//! Enqueue: a request is validated and written to the queue as `queued` in one transaction, or
//! refused with nothing written. The same files asked for again continue their unfinished transfers
//! (a paused one is queued again), a changed source replaces its unfinished upload, and finished,
//! unchanged files are skipped.

use super::*;

/// What to do when a download's destination file already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IfExists {
    /// Refuse the whole request before anything starts (the default: never overwrite silently).
    #[default]
    Error,
    Skip,
    Overwrite,
    /// Save as `name (1).ext`, `name (2).ext`, …
    Rename,
}

#[derive(Debug, Clone, Default)]
pub struct UploadOptions {
    pub recursive: bool,
    pub part_size: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct DownloadOptions {
    pub recursive: bool,
    pub part_size: Option<u64>,
    pub if_exists: IfExists,
}

/// Something an enqueue request left out, and why.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub what: String,
    pub reason: String,
}

/// The transfers one request created or continued.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, Serialize)]
pub struct Enqueued {
    /// In the order the files were found.
    pub ids: Vec<String>,
    /// How many of `ids` are unfinished transfers from before, continued rather than restarted.
    pub resumed: usize,
    pub skipped: Vec<Skipped>,
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

    pub(super) async fn enqueue_upload_in(
        &self,
        conn: &Connection,
        src: &Path,
        dst: &S3Url,
        opts: &UploadOptions,
        batch: &str,
    ) -> Result<Enqueued> {
        conn.validate()?;
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
        let mut files: Vec<(PathBuf, String)> = Vec::new();
        if meta.is_dir() {
            if !opts.recursive {
                return Err(Error::invalid(format!(
                    "{} is a folder; add --recursive to upload it with everything inside",
                    src.display()
                )));
            }
            let mut prefix = dst.key.clone();
            if !prefix.is_empty() && !prefix.ends_with('/') {
                prefix.push('/');
            }
            walk(&src, &prefix, &mut files, &mut skipped)?;
        } else {
            let key = if dst.key.is_empty() || dst.key.ends_with('/') {
                format!("{}{}", dst.key, file_name_utf8(&src)?)
            } else {
                dst.key.clone()
            };
            files.push((src.clone(), key));
        }
        let mut planned = Vec::with_capacity(files.len());
        for (path, key) in files {
            check_key(&key)?;
            let f = std::fs::File::open(&path).map_err(|e| unreadable(&path, e))?;
            let m = f
                .metadata()
                .map_err(|e| Error::io("cannot read", &path, e))?;
            let part_size = plan::part_size(m.len(), opts.part_size)?;
            planned.push((path, key, m.len(), transfer::mtime_ns(&m), part_size));
        }
        let s3 = self.requests(conn).await?;
        self.require_bucket(&s3, &dst.bucket).await?;

        let conn_json = conn.to_json();
        let mut out = Enqueued {
            skipped,
            ..Default::default()
        };
        let mut new = Vec::new();
        for (path, key, size, mtime, part_size) in planned {
            if let Some(row) = self.inner.store.find_unfinished(
                Direction::Upload,
                &conn_json,
                &dst.bucket,
                &key,
                &path,
            )? {
                if row.size == Some(size) && row.source_mtime_ns == Some(mtime) {
                    self.continue_unfinished(&row)?;
                    out.ids.push(row.id);
                    out.resumed += 1;
                    continue;
                }
                // The file changed since that transfer was queued: its parts belong to the old
                // version, so it is cancelled (its multipart upload aborted) and the new content
                // starts fresh.
                tracing::info!(transfer = %row.id, "the source changed; replacing the unfinished upload");
                self.cancel(&row.id).await?;
            } else if let Some(done) = self.inner.store.find_completed(
                Direction::Upload,
                &conn_json,
                &dst.bucket,
                &key,
                &path,
            )? {
                if done.size == Some(size)
                    && done.source_mtime_ns == Some(mtime)
                    && done.etag.is_some()
                    && object_etag(&s3, &dst.bucket, &key).await == done.etag
                {
                    out.skipped.push(Skipped {
                        what: path.display().to_string(),
                        reason: format!(
                            "already uploaded to s3://{}/{key}; neither the file nor the object changed since",
                            dst.bucket
                        ),
                    });
                    continue;
                }
            }
            let id = uuid::Uuid::now_v7().to_string();
            out.ids.push(id.clone());
            new.push(NewTransfer {
                id,
                direction: Direction::Upload,
                connection: conn_json.clone(),
                bucket: dst.bucket.clone(),
                key,
                local_path: path,
                size: Some(size),
                source_mtime_ns: Some(mtime),
                part_size,
                etag: None,
                overwrite: false,
                batch_id: batch.to_string(),
            });
        }
        self.inner.store.insert_transfers(&new)?;
        for t in &new {
            self.emit(&t.id, State::Queued, None);
        }
        Ok(out)
    }

    /// Validates a download request (object or prefix) and writes its transfers to the queue.
    pub async fn enqueue_download(
        &self,
        conn: &Connection,
        src: &S3Url,
        dst: &Path,
        opts: &DownloadOptions,
    ) -> Result<Enqueued> {
        self.enqueue_download_in(conn, src, dst, opts, &new_batch())
            .await
    }

    pub(super) async fn enqueue_download_in(
        &self,
        conn: &Connection,
        src: &S3Url,
        dst: &Path,
        opts: &DownloadOptions,
        batch: &str,
    ) -> Result<Enqueued> {
        conn.validate()?;
        let s3 = self.requests(conn).await?;
        let dst = std::path::absolute(dst).map_err(|e| Error::io("cannot resolve", dst, e))?;
        let mut skipped = Vec::new();
        // (key, destination, size, etag)
        let mut wanted: Vec<(String, PathBuf, u64, Option<String>)> = Vec::new();
        if opts.recursive {
            let mut prefix = src.key.clone();
            if !prefix.is_empty() && !prefix.ends_with('/') {
                prefix.push('/');
            }
            self.require_bucket(&s3, &src.bucket).await?;
            if dst.exists() && !dst.is_dir() {
                return Err(Error::invalid(format!(
                    "{} is a file; a prefix downloads into a folder",
                    dst.display()
                )));
            }
            for obj in self.list_all(&s3, &src.bucket, &prefix).await? {
                let rel = &obj.key[prefix.len()..];
                if rel.is_empty() || obj.key.ends_with('/') {
                    continue;
                }
                match local_path_for_key(&dst, rel) {
                    Ok(p) => wanted.push((obj.key.clone(), p, obj.size, obj.etag.clone())),
                    Err(e) => skipped.push(Skipped {
                        what: format!("s3://{}/{}", src.bucket, obj.key),
                        reason: e.message,
                    }),
                }
            }
            if wanted.is_empty() && skipped.is_empty() {
                return Err(Error::not_found(format!(
                    "nothing found under s3://{}/{prefix}",
                    src.bucket
                )));
            }
        } else {
            if src.key.is_empty() || src.key.ends_with('/') {
                return Err(Error::invalid(format!(
                    "{src} is a prefix; add --recursive to download everything under it"
                )));
            }
            let what = format!("download {src}");
            let head = s3.head_object(&what, &src.bucket, &src.key).await;
            let head = match head {
                Ok(h) => h,
                Err(e) if e.kind == ErrorKind::NotFound => {
                    self.require_bucket(&s3, &src.bucket).await?;
                    return Err(Error::not_found(format!("no such object: {src}")));
                }
                Err(e) => return Err(e),
            };
            let name = src.key.rsplit('/').next().unwrap_or(&src.key);
            let into_dir = dst.is_dir()
                || dst
                    .as_os_str()
                    .to_string_lossy()
                    .ends_with(std::path::MAIN_SEPARATOR);
            let dest = if into_dir {
                local_path_for_key(&dst, name)?
            } else {
                dst.clone()
            };
            wanted.push((
                src.key.clone(),
                dest,
                head.content_length().unwrap_or(0).max(0) as u64,
                head.e_tag().map(str::to_string),
            ));
        }

        let conn_json = conn.to_json();
        let mut planned = Vec::new();
        let mut conflicts = Vec::new();
        let mut resumed = Vec::new();
        for (key, dest, size, etag) in wanted {
            if let Some(row) = self.inner.store.find_unfinished(
                Direction::Download,
                &conn_json,
                &src.bucket,
                &key,
                &dest,
            )? {
                self.continue_unfinished(&row)?;
                resumed.push(row.id);
                continue;
            }
            if dest.is_dir() {
                return Err(Error::invalid(format!(
                    "{} is a folder; choose another destination for s3://{}/{key}",
                    dest.display(),
                    src.bucket
                )));
            }
            let mut dest = dest;
            let mut overwrite = false;
            if dest.exists() {
                let done_etag = match opts.if_exists {
                    IfExists::Error => {
                        self.completed_download(&conn_json, &src.bucket, &key, &dest, size)?
                    }
                    _ => None,
                };
                let unchanged = match (&done_etag, &etag) {
                    (None, _) => false,
                    (Some(d), Some(e)) => d == e,
                    // Listings may leave the ETag out; then the server is asked.
                    (Some(d), None) => {
                        object_etag(&s3, &src.bucket, &key).await.as_ref() == Some(d)
                    }
                };
                if unchanged {
                    skipped.push(Skipped {
                        what: dest.display().to_string(),
                        reason: format!(
                            "already downloaded from s3://{}/{key}; neither the object nor the file changed since",
                            src.bucket
                        ),
                    });
                    continue;
                }
                match opts.if_exists {
                    IfExists::Error => {
                        conflicts.push(dest.display().to_string());
                        continue;
                    }
                    IfExists::Skip => {
                        skipped.push(Skipped {
                            what: dest.display().to_string(),
                            reason: "already exists".into(),
                        });
                        continue;
                    }
                    IfExists::Overwrite => overwrite = true,
                    IfExists::Rename => dest = free_name(&dest),
                }
            }
            let part_size = plan::part_size(size, opts.part_size)?;
            planned.push((key, dest, size, etag, part_size, overwrite));
        }
        if !conflicts.is_empty() {
            let list = conflicts
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let more = if conflicts.len() > 5 {
                format!(" and {} more", conflicts.len() - 5)
            } else {
                String::new()
            };
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "{list}{more} already exist{}; nothing was downloaded. Choose --if-exists overwrite, skip or rename",
                    if conflicts.len() == 1 { "s" } else { "" }
                ),
            ));
        }
        let new: Vec<NewTransfer> = planned
            .into_iter()
            .map(
                |(key, dest, size, etag, part_size, overwrite)| NewTransfer {
                    id: uuid::Uuid::now_v7().to_string(),
                    direction: Direction::Download,
                    connection: conn_json.clone(),
                    bucket: src.bucket.clone(),
                    key,
                    local_path: dest,
                    size: Some(size),
                    source_mtime_ns: None,
                    part_size,
                    etag,
                    overwrite,
                    batch_id: batch.to_string(),
                },
            )
            .collect();
        self.inner.store.insert_transfers(&new)?;
        for t in &new {
            self.emit(&t.id, State::Queued, None);
        }
        let resumed_count = resumed.len();
        let mut ids = resumed;
        ids.extend(new.into_iter().map(|t| t.id));
        Ok(Enqueued {
            ids,
            resumed: resumed_count,
            skipped,
        })
    }

    /// Asking again for an unfinished transfer continues it: a paused one is queued again (a paused
    /// transfer never runs until something resumes it).
    pub(super) fn continue_unfinished(&self, row: &TransferRow) -> Result<()> {
        if row.state == State::Paused {
            self.resume(&row.id)?;
        }
        Ok(())
    }

    /// The ETag of the completed download whose untouched result `dest` is: same size, and not
    /// modified after that download finished. The caller compares it with the object's ETag now.
    pub(super) fn completed_download(
        &self,
        conn_json: &str,
        bucket: &str,
        key: &str,
        dest: &Path,
        size: u64,
    ) -> Result<Option<String>> {
        let Some(done) =
            self.inner
                .store
                .find_completed(Direction::Download, conn_json, bucket, key, dest)?
        else {
            return Ok(None);
        };
        let Ok(meta) = std::fs::metadata(dest) else {
            return Ok(None);
        };
        let finished_ns = (done.finished_at.unwrap_or(0) + 1).saturating_mul(1_000_000);
        if done.size != Some(size) || meta.len() != size || transfer::mtime_ns(&meta) > finished_ns
        {
            return Ok(None);
        }
        Ok(done.etag)
    }

    /// Uploads what was dropped on the window into `bucket/prefix`: files by name, folders with their
    /// own name and structure. One batch.
    pub async fn enqueue_dropped(
        &self,
        conn: &Connection,
        paths: &[PathBuf],
        bucket: &str,
        prefix: &str,
    ) -> Result<Enqueued> {
        let mut total = Enqueued::default();
        let settings = self.settings()?;
        let batch = new_batch();
        for path in paths {
            let meta = std::fs::metadata(path).map_err(|e| Error::io("cannot read", path, e))?;
            let key = if meta.is_dir() {
                format!("{prefix}{}/", file_name_utf8(path)?)
            } else {
                prefix.to_string()
            };
            let dst = S3Url {
                bucket: bucket.to_string(),
                key,
            };
            let opts = UploadOptions {
                recursive: true,
                part_size: settings.part_size_mib.map(|m| m * plan::MIB),
            };
            let one = self
                .enqueue_upload_in(conn, path, &dst, &opts, &batch)
                .await?;
            total.ids.extend(one.ids);
            total.resumed += one.resumed;
            total.skipped.extend(one.skipped);
        }
        Ok(total)
    }

    /// Downloads chosen objects and prefixes into `dest_dir`; a prefix becomes a folder of its name.
    /// Existing files are never replaced: the new one gets a free name.
    pub async fn enqueue_download_selection(
        &self,
        conn: &Connection,
        bucket: &str,
        keys: &[String],
        prefixes: &[String],
        dest_dir: &Path,
    ) -> Result<Enqueued> {
        if !dest_dir.is_dir() {
            return Err(Error::invalid(format!(
                "{} is not a folder",
                dest_dir.display()
            )));
        }
        let mut total = Enqueued::default();
        let part_size = self.settings()?.part_size_mib.map(|m| m * plan::MIB);
        let batch = new_batch();
        let mut add = |one: Enqueued| {
            total.ids.extend(one.ids);
            total.resumed += one.resumed;
            total.skipped.extend(one.skipped);
        };
        for key in keys {
            let src = S3Url {
                bucket: bucket.into(),
                key: key.clone(),
            };
            let opts = DownloadOptions {
                recursive: false,
                part_size,
                if_exists: IfExists::Rename,
            };
            add(self
                .enqueue_download_in(conn, &src, dest_dir, &opts, &batch)
                .await?);
        }
        for prefix in prefixes {
            let name = prefix
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("");
            let dest = if name.is_empty() {
                dest_dir.to_path_buf()
            } else {
                local_path_for_key(dest_dir, name)?
            };
            let src = S3Url {
                bucket: bucket.into(),
                key: prefix.clone(),
            };
            let opts = DownloadOptions {
                recursive: true,
                part_size,
                if_exists: IfExists::Rename,
            };
            add(self
                .enqueue_download_in(conn, &src, &dest, &opts, &batch)
                .await?);
        }
        Ok(total)
    }
}

/// Transfers enqueued by one request share a batch id (one notification when they all end).
pub(super) fn new_batch() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A source that cannot be opened, with what to do about it.
pub(super) fn unreadable(path: &Path, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::PermissionDenied => Error::new(
            ErrorKind::AccessDenied,
            format!(
                "cannot read {}: permission denied; make it readable for this user",
                path.display()
            ),
        ),
        _ => Error::io("cannot read", path, e),
    }
}

pub(super) fn file_name_utf8(p: &Path) -> Result<String> {
    p.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::invalid(format!(
                "the file name of {} is not valid UTF-8, so it cannot be an S3 key; rename the file or give the full key as the destination",
                p.display()
            ))
        })
}

/// Collects the files under `dir` (sorted, symlinked folders not followed) with their keys.
pub(super) fn walk(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<(PathBuf, String)>,
    skipped: &mut Vec<Skipped>,
) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io("cannot read the folder", dir, e))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io("cannot read the folder", dir, e))?;
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
            walk(&path, &format!("{prefix}{name}/"), out, skipped)?;
        } else if path.is_file() {
            out.push((path, format!("{prefix}{name}")));
        } else {
            skipped.push(Skipped {
                what: path.display().to_string(),
                reason: "not a regular file".into(),
            });
        }
    }
    Ok(())
}

/// `name (1).ext`, `name (2).ext`, … whichever is free first.
pub(super) fn free_name(p: &Path) -> PathBuf {
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = p
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (1..)
        .map(|i| p.with_file_name(format!("{stem} ({i}){ext}")))
        .find(|c| !c.exists())
        .expect("some name is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_name_never_picks_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        std::fs::write(&p, b"x").unwrap();
        std::fs::write(dir.path().join("a (1).txt"), b"x").unwrap();
        assert_eq!(free_name(&p), dir.path().join("a (2).txt"));
    }
}

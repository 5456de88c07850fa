//! Download requests: the objects wanted (one object, or everything under a prefix, listed page by
//! page), each mapped to a local path that stays inside the chosen folder, then continued, skipped,
//! refused or added by [`download_decision`].

use super::*;
use crate::engine::versions::refused_version_head;

/// An object to download and where it goes.
pub(in crate::engine) struct Wanted {
    pub(in crate::engine) key: String,
    pub(in crate::engine) dest: PathBuf,
    pub(in crate::engine) size: u64,
    pub(in crate::engine) etag: Option<String>,
    /// The version to fetch; `None`: the current object.
    pub(in crate::engine) version_id: Option<String>,
}

impl Engine {
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

    pub(in crate::engine) async fn enqueue_download_in(
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
        if opts.recursive && opts.version_id.is_some() {
            return Err(Error::invalid(
                "--version-id names one version of one object; it cannot be used with --recursive",
            ));
        }
        let (wanted, skipped) = if opts.recursive {
            self.wanted_under_prefix(&s3, src, &dst).await?
        } else {
            let version = opts.version_id.as_deref();
            let one = self.wanted_object(&s3, src, &dst, version).await?;
            (vec![one], Vec::new())
        };
        self.enqueue_wanted(conn, &s3, &src.bucket, wanted, skipped, opts, batch)
            .await
    }

    /// Writes the downloads of `wanted` (objects of `bucket`) to the queue: unfinished ones
    /// continued, existing destinations by `opts.if_exists`; nothing written when one is refused.
    #[allow(clippy::too_many_arguments)] // the request's parts as its two callers hold them
    pub(in crate::engine) async fn enqueue_wanted(
        &self,
        conn: &Connection,
        s3: &s3::Requests,
        bucket: &str,
        wanted: Vec<Wanted>,
        mut skipped: Vec<Skipped>,
        opts: &DownloadOptions,
        batch: &str,
    ) -> Result<Enqueued> {
        let conn_json = conn.to_json();
        // Ranges sized for the bandwidth cap, when there is one.
        let rate = self.limits().rate_limit;
        let mut new = Vec::new();
        let mut conflicts = Vec::new();
        let mut resumed = Vec::new();
        for w in wanted {
            let store = &self.inner.store;
            let version = w.version_id.as_deref();
            let same = Same::download(&conn_json, bucket, &w.key, &w.dest, version);
            if let Some(row) = store.find_unfinished(&same)? {
                self.continue_unfinished(&row)?;
                resumed.push(row.id);
                continue;
            }
            if w.dest.is_dir() {
                return Err(Error::invalid(format!(
                    "{} is a folder; choose another destination for s3://{bucket}/{}",
                    w.dest.display(),
                    w.key
                )));
            }
            let mut dest = w.dest.clone();
            let mut overwrite = false;
            if dest.exists() {
                let unchanged = opts.if_exists == IfExists::Error
                    && self.unchanged_download(s3, &conn_json, bucket, &w).await?;
                match download_decision(opts.if_exists, unchanged) {
                    DownloadDecision::AlreadyDownloaded => {
                        skipped.push(Skipped {
                            what: dest.display().to_string(),
                            reason: format!(
                                "already downloaded from s3://{bucket}/{}; neither the object nor the file changed since",
                                w.key
                            ),
                        });
                        continue;
                    }
                    DownloadDecision::Conflict => {
                        conflicts.push(dest.display().to_string());
                        continue;
                    }
                    DownloadDecision::Skip => {
                        skipped.push(Skipped {
                            what: dest.display().to_string(),
                            reason: "already exists".into(),
                        });
                        continue;
                    }
                    DownloadDecision::Overwrite => overwrite = true,
                    DownloadDecision::Rename => dest = free_name(&dest),
                }
            }
            new.push(NewTransfer {
                id: uuid::Uuid::now_v7().to_string(),
                direction: Direction::Download,
                connection: &conn_json,
                bucket,
                part_size: plan::paced_part_size(w.size, opts.part_size, rate)?,
                key: w.key,
                local_path: dest,
                size: Some(w.size),
                source_mtime_ns: None,
                etag: w.etag,
                overwrite,
                batch_id: batch,
                object_options: None,
                version_id: w.version_id,
            });
        }
        if !conflicts.is_empty() {
            return Err(conflicts_error(&conflicts));
        }
        self.enqueued(resumed, &new, skipped)
    }

    /// Everything under a prefix, mapped into the folder `dst`; keys that cannot be placed there
    /// are skipped by name with the reason.
    async fn wanted_under_prefix(
        &self,
        s3: &s3::Requests,
        src: &S3Url,
        dst: &Path,
    ) -> Result<(Vec<Wanted>, Vec<Skipped>)> {
        let prefix = s3::as_folder(&src.key);
        self.require_bucket(s3, &src.bucket).await?;
        if dst.exists() && !dst.is_dir() {
            return Err(Error::invalid(format!(
                "{} is a file; a prefix downloads into a folder",
                dst.display()
            )));
        }
        let (mut wanted, mut skipped) = (Vec::new(), Vec::new());
        for obj in self.list_all(s3, &src.bucket, &prefix).await? {
            let rel = &obj.key[prefix.len()..];
            if rel.is_empty() || obj.key.ends_with('/') {
                continue;
            }
            match local_path_for_key(dst, rel) {
                Ok(dest) => wanted.push(Wanted {
                    dest,
                    size: obj.size,
                    etag: obj.etag,
                    key: obj.key,
                    version_id: None,
                }),
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
        Ok((wanted, skipped))
    }

    /// One object (its version `version`, else the current one): into the folder `dst` by its
    /// name, or as the file `dst`.
    async fn wanted_object(
        &self,
        s3: &s3::Requests,
        src: &S3Url,
        dst: &Path,
        version: Option<&str>,
    ) -> Result<Wanted> {
        if src.key.is_empty() || src.key.ends_with('/') {
            return Err(Error::invalid(format!(
                "{src} is a prefix; add --recursive to download everything under it"
            )));
        }
        let what = format!("download {src}");
        let head = match s3
            .head_version_with_checksums(&what, &src.bucket, &src.key, version)
            .await
        {
            Ok(h) => h,
            Err(e) if e.kind == ErrorKind::NotFound => {
                self.require_bucket(s3, &src.bucket).await?;
                return Err(Error::not_found(match version {
                    Some(v) => format!(
                        "{src} has no version `{v}`; `ferry ls --versions {src}` lists its versions"
                    ),
                    None => format!("no such object: {src}"),
                }));
            }
            Err(e) => {
                return Err(match version {
                    Some(v) => refused_version_head(s3, &src.bucket, &src.key, v, e).await,
                    None => e,
                })
            }
        };
        let name = src.key.rsplit('/').next().unwrap_or(&src.key);
        let into_dir = dst.is_dir()
            || dst
                .as_os_str()
                .to_string_lossy()
                .ends_with(std::path::MAIN_SEPARATOR);
        Ok(Wanted {
            key: src.key.clone(),
            dest: if into_dir {
                local_path_for_key(dst, name)?
            } else {
                dst.to_path_buf()
            },
            size: head.content_length().unwrap_or(0).max(0) as u64,
            etag: head.e_tag().map(str::to_string),
            version_id: version.map(str::to_string),
        })
    }

    /// Whether the existing destination is the untouched result of a completed download of the
    /// object as it is now (listings may leave the ETag out; then the server is asked).
    async fn unchanged_download(
        &self,
        s3: &s3::Requests,
        conn_json: &str,
        bucket: &str,
        w: &Wanted,
    ) -> Result<bool> {
        let version = w.version_id.as_deref();
        let same = Same::download(conn_json, bucket, &w.key, &w.dest, version);
        let Some(done) = self.completed_download(&same, w.size)? else {
            return Ok(false);
        };
        Ok(match &w.etag {
            Some(e) => e == &done,
            None => object_etag(s3, bucket, &w.key).await.as_ref() == Some(&done),
        })
    }
}

/// Refuses a request whose destinations exist, naming the first few.
fn conflicts_error(conflicts: &[String]) -> Error {
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
    Error::new(
        ErrorKind::AlreadyExists,
        format!(
            "{list}{more} already exist{}; nothing was downloaded. Choose --if-exists overwrite, skip or rename",
            if conflicts.len() == 1 { "s" } else { "" }
        ),
    )
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

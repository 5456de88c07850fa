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
    /// Validates an upload request and writes its transfers to the queue as `queued`, a chunk of
    /// rows per transaction as the folder is walked. Unfinished transfers of the same files to the
    /// same keys are continued, not duplicated. Nothing stays written when the request is refused.
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
        let found = upload_sources(src, dst, opts)?;
        let rate = self.limits().rate_limit;
        let s3 = self.requests(conn).await?;
        self.require_bucket(&s3, &dst.bucket).await?;
        let mut out = Enqueued::default();
        // Walked, measured and queued as a stream, a chunk at a time: memory does not grow with
        // the number of files (beyond their ids).
        let mut sources = Measured {
            found,
            opts,
            rate,
            skipped: Vec::new(),
        };
        let stored = object_options.as_deref();
        let queued: Result<()> = self
            .enqueue_sources(
                conn,
                &s3,
                &dst.bucket,
                &mut sources,
                stored,
                false,
                batch,
                &mut out,
            )
            .await;
        let mut skipped = std::mem::take(&mut sources.found.skipped);
        skipped.append(&mut sources.skipped);
        // What the walk left out first, then what the queue found already done.
        skipped.append(&mut out.skipped);
        out.skipped = skipped;
        queued?;
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
        // Positions in `out.ids` of the rows this call inserted (not twins another process queued):
        // what a failure later in the stream takes back, so a refused request leaves nothing.
        let mut inserted: Vec<usize> = Vec::new();
        let first = out.ids.len();
        let result: Result<()> = async {
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
                if new.len() >= CHUNK {
                    self.insert_chunk(&mut new, &mut at, out, &mut inserted)?;
                }
            }
            self.insert_chunk(&mut new, &mut at, out, &mut inserted)
        }
        .await;
        if result.is_err() {
            let ids: Vec<&str> = inserted.iter().map(|&i| out.ids[i].as_str()).collect();
            self.inner.store.delete_queued(&ids)?;
            out.ids.truncate(first);
        }
        result
    }

    /// Writes the chunk `new` (each in its place `at` in `out.ids`, under the id it is queued
    /// with) and empties it.
    fn insert_chunk(
        &self,
        new: &mut Vec<NewTransfer<'_>>,
        at: &mut Vec<usize>,
        out: &mut Enqueued,
        inserted: &mut Vec<usize>,
    ) -> Result<()> {
        for ((i, id), t) in at.drain(..).zip(self.insert_new(new)?).zip(new.iter()) {
            if id == t.id {
                inserted.push(i);
            }
            out.ids[i] = id;
        }
        new.clear();
        Ok(())
    }
}

/// Rows written per transaction while a request streams in.
const CHUNK: usize = 5_000;

/// The files a request names, with their keys: the file itself, or everything under a folder
/// (with `recursive`), walked as they are queued. Refuses what cannot be uploaded, saying what to
/// do instead.
fn upload_sources(src: &Path, dst: &S3Url, opts: &UploadOptions) -> Result<Walk> {
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
    if meta.is_dir() {
        if !opts.recursive {
            return Err(Error::invalid(format!(
                "{} is a folder; add --recursive to upload it with everything inside",
                src.display()
            )));
        }
        // The folder asked for must be readable; one inside it that is not is skipped.
        let top = read_sorted(&src).map_err(|e| Error::io("cannot read the folder", &src, e))?;
        return Ok(Walk {
            single: None,
            stack: vec![(top.into_iter(), s3::as_folder(&dst.key))],
            skipped: Vec::new(),
        });
    }
    let key = if dst.key.is_empty() || dst.key.ends_with('/') {
        format!("{}{}", dst.key, file_name_utf8(&src)?)
    } else {
        dst.key.clone()
    };
    Ok(Walk {
        single: Some((src, key)),
        stack: Vec::new(),
        skipped: Vec::new(),
    })
}

/// A folder's entries, sorted by name.
fn read_sorted(dir: &Path) -> std::io::Result<Vec<std::fs::DirEntry>> {
    let mut entries = std::fs::read_dir(dir)?.collect::<std::io::Result<Vec<_>>>()?;
    entries.sort_by_key(|e| e.file_name());
    Ok(entries)
}

/// The files under a folder (sorted, symlinked folders not followed) with their keys, one at a
/// time: only the folders on the way down are held, not the files found. What cannot be uploaded
/// is noted in `skipped` by name with the reason.
struct Walk {
    /// A file asked for by itself.
    single: Option<Found>,
    /// The folders being walked: their remaining entries and their keys' prefix.
    stack: Vec<(std::vec::IntoIter<std::fs::DirEntry>, String)>,
    skipped: Vec<Skipped>,
}

impl Iterator for Walk {
    type Item = Result<Found>;

    fn next(&mut self) -> Option<Result<Found>> {
        if let Some(one) = self.single.take() {
            return Some(Ok(one));
        }
        loop {
            let (entries, prefix) = self.stack.last_mut()?;
            let Some(entry) = entries.next() else {
                self.stack.pop();
                continue;
            };
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                self.skipped.push(Skipped {
                    what: path.display().to_string(),
                    reason: "the name is not valid UTF-8".into(),
                });
                continue;
            };
            let ft = match entry.file_type() {
                Ok(ft) => ft,
                Err(e) => return Some(Err(Error::io("cannot read", &path, e))),
            };
            if ft.is_symlink() && path.is_dir() {
                self.skipped.push(Skipped {
                    what: path.display().to_string(),
                    reason: "symbolic links to folders are not followed".into(),
                });
            } else if path.is_dir() {
                let inner = format!("{prefix}{name}/");
                match read_sorted(&path) {
                    Ok(entries) => self.stack.push((entries.into_iter(), inner)),
                    // One that vanished during the walk or cannot be read is skipped by name.
                    Err(e) => self.skipped.push(Skipped {
                        what: path.display().to_string(),
                        reason: match e.kind() {
                            std::io::ErrorKind::NotFound => {
                                "the folder vanished during the walk".into()
                            }
                            _ => format!("the folder cannot be read: {e}"),
                        },
                    }),
                }
            } else if path.is_file() {
                let key = format!("{prefix}{name}");
                return Some(Ok((path, key)));
            } else {
                self.skipped.push(not_a_file(&path, &ft));
            }
        }
    }
}

/// The files of a [`Walk`], each key checked and each file opened once: its size, mtime and part
/// size as of now. A file of a folder that cannot be opened (deleted since the walk, unreadable)
/// is skipped by name with the reason and the rest go on; a file asked for by itself refuses the
/// request. The part size suits the bandwidth cap `rate` (see [`plan::paced_part_size`]).
struct Measured<'a> {
    found: Walk,
    opts: &'a UploadOptions,
    rate: Option<u64>,
    skipped: Vec<Skipped>,
}

impl Iterator for Measured<'_> {
    type Item = Result<Source>;

    fn next(&mut self) -> Option<Result<Source>> {
        let single = self.found.single.is_some();
        loop {
            let (path, key) = match self.found.next()? {
                Ok(f) => f,
                Err(e) => return Some(Err(e)),
            };
            if let Err(e) = check_key(&key) {
                return Some(Err(e));
            }
            let m = match std::fs::File::open(&path).and_then(|f| f.metadata()) {
                Ok(m) => m,
                Err(e) if single => return Some(Err(unreadable(&path, e))),
                Err(e) => {
                    self.skipped.push(Skipped {
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
            return Some(
                plan::paced_part_size(m.len(), self.opts.part_size, self.rate).map(|part_size| {
                    Source {
                        part_size,
                        size: m.len(),
                        mtime: transfer::mtime_ns(&m),
                        path,
                        key,
                    }
                }),
            );
        }
    }
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

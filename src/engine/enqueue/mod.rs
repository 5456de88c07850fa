//! Enqueue: a request is validated and written to the queue as `queued`, or refused with nothing
//! left written. A folder is walked, measured and written as a stream, a few thousand rows per
//! transaction, so memory does not grow with its size (beyond the ids); a refusal found deep in it
//! takes back the rows already written. What happens to each file or object is decided by two pure
//! functions, [`upload_decision`] and [`download_decision`]: the same files asked for again continue
//! their unfinished transfers (a paused one is queued again), a changed source replaces its
//! unfinished upload, finished and unchanged ones are skipped, and an existing destination follows
//! `--if-exists`.

mod download;
mod upload;

pub(super) use download::Wanted;
pub(super) use upload::{not_a_file, Source};

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
    /// What each object is stored with (each file's own Content-Type unless one is given).
    pub object: crate::transfer::upload::ObjectOptions,
}

#[derive(Debug, Clone, Default)]
pub struct DownloadOptions {
    pub recursive: bool,
    pub part_size: Option<u64>,
    pub if_exists: IfExists,
    /// One version of the object (not with `recursive`); `None`: the current object.
    pub version_id: Option<String>,
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

/// What enqueue does with one file to upload, given what the queue remembers of it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum UploadDecision {
    /// An unfinished transfer of this very version: continue it.
    Continue(String),
    /// An unfinished transfer of an older version (the file changed): cancel it, start fresh.
    Replace(String),
    /// Completed before with this very version: skip it if the object still has this ETag.
    SkipIfObjectIs(String),
    New,
}

/// The upload decision for a file of `size` and `mtime` (ns), from the same file's unfinished and
/// last completed transfers to the same key.
pub(super) fn upload_decision(
    unfinished: Option<&TransferRow>,
    completed: Option<&TransferRow>,
    size: u64,
    mtime: i64,
) -> UploadDecision {
    let same = |r: &TransferRow| r.size == Some(size) && r.source_mtime_ns == Some(mtime);
    match (unfinished, completed) {
        (Some(row), _) if same(row) => UploadDecision::Continue(row.id.clone()),
        (Some(row), _) => UploadDecision::Replace(row.id.clone()),
        (None, Some(done)) if same(done) => match &done.etag {
            Some(etag) => UploadDecision::SkipIfObjectIs(etag.clone()),
            None => UploadDecision::New,
        },
        _ => UploadDecision::New,
    }
}

/// What enqueue does with one object to download whose destination exists.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum DownloadDecision {
    /// The file is the untouched result of downloading this very object: skip it.
    AlreadyDownloaded,
    /// Refuse the whole request, naming this file among the conflicts.
    Conflict,
    Skip,
    Overwrite,
    Rename,
}

/// The decision for an existing destination: `unchanged` says the file is the untouched result of a
/// completed download of the object as it is now (only asked under `IfExists::Error`).
pub(super) fn download_decision(if_exists: IfExists, unchanged: bool) -> DownloadDecision {
    match if_exists {
        _ if unchanged => DownloadDecision::AlreadyDownloaded,
        IfExists::Error => DownloadDecision::Conflict,
        IfExists::Skip => DownloadDecision::Skip,
        IfExists::Overwrite => DownloadDecision::Overwrite,
        IfExists::Rename => DownloadDecision::Rename,
    }
}

impl Engine {
    /// Writes new transfers in one transaction and announces them; returns the id each is queued
    /// under (another process may have queued the same file meanwhile: then that one's).
    pub(super) fn insert_new(&self, new: &[NewTransfer<'_>]) -> Result<Vec<String>> {
        let ids = self.inner.store.insert_transfers(new)?;
        for (t, id) in new.iter().zip(&ids) {
            if &t.id == id {
                self.emit(id, State::Queued, None);
            }
        }
        Ok(ids)
    }

    /// Writes `new` and reports them after the `resumed` transfers the same request continues.
    pub(super) fn enqueued(
        &self,
        resumed: Vec<String>,
        new: &[NewTransfer<'_>],
        skipped: Vec<Skipped>,
    ) -> Result<Enqueued> {
        let queued = self.insert_new(new)?;
        let resumed_count = resumed.len();
        let mut ids = resumed;
        ids.extend(queued);
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
    pub(in crate::engine) fn completed_download(
        &self,
        same: &Same<'_>,
        size: u64,
    ) -> Result<Option<String>> {
        Ok(self
            .untouched_download(same, size)?
            .and_then(|done| done.etag))
    }

    /// The completed download whose untouched result `dest` is (see [`Engine::completed_download`]).
    pub(in crate::engine) fn untouched_download(
        &self,
        same: &Same<'_>,
        size: u64,
    ) -> Result<Option<TransferRow>> {
        let dest = same.local_path;
        let Some(done) = self.inner.store.find_completed(same)? else {
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
        Ok(Some(done))
    }

    /// Uploads what was dropped on the window into `bucket/prefix`: files by name, folders with their
    /// own name and structure. One batch. The staged files of a drag out of the window are left
    /// out (refused when nothing else was dropped).
    pub async fn enqueue_dropped(
        &self,
        conn: &Connection,
        paths: &[PathBuf],
        bucket: &str,
        prefix: &str,
    ) -> Result<Enqueued> {
        // Files of a drag out of the app's window that came back to it are not uploaded again.
        let paths: Vec<&PathBuf> = paths.iter().filter(|p| !self.is_drag_out(p)).collect();
        if paths.is_empty() {
            return Err(Error::invalid(
                "Those files are Ferry's own copies of objects being dragged out: drop them outside Ferry's window.",
            ));
        }
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
                ..UploadOptions::default()
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
                version_id: None,
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
                version_id: None,
            };
            add(self
                .enqueue_download_in(conn, &src, &dest, &opts, &batch)
                .await?);
        }
        Ok(total)
    }
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

/// Transfers enqueued by one request share a batch id (one notification when they all end).
pub(in crate::engine) fn new_batch() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, size: u64, mtime: i64, etag: Option<&str>) -> TransferRow {
        TransferRow {
            id: id.into(),
            direction: Direction::Upload,
            state: State::Completed,
            connection: String::new(),
            bucket: "b".into(),
            key: "k".into(),
            local_path: "/f".into(),
            size: Some(size),
            source_mtime_ns: Some(mtime),
            part_size: 0,
            upload_id: None,
            etag: etag.map(str::to_string),
            bytes_done: 0,
            overwrite: false,
            error_kind: None,
            error_message: None,
            batch_id: String::new(),
            owner: None,
            heartbeat_at: None,
            created_at: 0,
            updated_at: 0,
            finished_at: None,
            next_attempt_at: None,
            object_options: None,
            verified: None,
            version_id: None,
        }
    }

    #[test]
    fn an_upload_continues_replaces_skips_or_starts_by_what_the_queue_remembers() {
        use UploadDecision::*;
        let same = row("u", 10, 5, None);
        let older = row("u", 9, 5, None);
        let done = row("d", 10, 5, Some("e1"));
        assert_eq!(
            upload_decision(Some(&same), Some(&done), 10, 5),
            Continue("u".into())
        );
        assert_eq!(
            upload_decision(Some(&older), None, 10, 5),
            Replace("u".into())
        );
        assert_eq!(
            upload_decision(None, Some(&done), 10, 5),
            SkipIfObjectIs("e1".into())
        );
        // A newer mtime or another size is a new version; no recorded ETag cannot be compared.
        assert_eq!(upload_decision(None, Some(&done), 10, 6), New);
        assert_eq!(
            upload_decision(None, Some(&row("d", 10, 5, None)), 10, 5),
            New
        );
        assert_eq!(upload_decision(None, None, 10, 5), New);
    }

    #[test]
    fn an_existing_destination_follows_if_exists_unless_it_is_already_the_object() {
        use DownloadDecision::*;
        assert_eq!(download_decision(IfExists::Error, true), AlreadyDownloaded);
        assert_eq!(download_decision(IfExists::Error, false), Conflict);
        assert_eq!(download_decision(IfExists::Skip, false), Skip);
        assert_eq!(download_decision(IfExists::Overwrite, false), Overwrite);
        assert_eq!(download_decision(IfExists::Rename, false), Rename);
    }
}

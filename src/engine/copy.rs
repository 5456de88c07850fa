//! Server-side copies and moves within one account, as transfers of the queue: the storage copies
//! the bytes (CopyObject, or UploadPartCopy above the single-copy limit), the client sends only
//! requests, so copying a folder of videos costs no download or upload, and each copy shows in the
//! transfers list with its progress, pause, cancel and resume (see `transfer/copy`).
//!
//! A request is checked whole before anything is queued: the sources exist, no destination is the
//! source or inside it, and an existing destination follows `if_exists` (refused by default, so
//! nothing is silently overwritten). A prefix becomes one batch of copy transfers. The same copy
//! asked for again continues its unfinished transfer. A move deletes a source only after its copy
//! is verified; a copy that fails or does not verify leaves the source where it was.
//!
//! Editing an object's properties is a copy onto itself with the REPLACE directive
//! ([`Engine::enqueue_edit`]): the server rewrites the object, nothing passes through the client.

use std::collections::BTreeSet;

use super::enqueue::new_batch;
use crate::transfer::copy::{CopySpec, ObjectEdit};

use super::*;

#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Everything under the source prefix.
    pub recursive: bool,
    /// When a destination exists: refuse the request (default), skip it, or replace it.
    pub if_exists: IfExists,
    /// A move: each source is deleted once its copy is verified.
    pub delete_source: bool,
    /// Server-side encryption of the copies (`AES256`, `aws:kms`); the bucket's default when `None`.
    pub sse: Option<String>,
    /// The KMS key of `aws:kms` copies.
    pub sse_kms_key_id: Option<String>,
    /// The part size of multipart copies (default: automatic).
    pub part_size: Option<u64>,
    /// Properties the copies get instead of their source's (the rest are kept).
    pub edit: Option<ObjectEdit>,
    /// The destination's account when it is not the source's: the copies stream through Ferry
    /// (ranged GETs from the source, parts out to the destination) instead of being server-side.
    pub destination: Option<Connection>,
}

/// What a copy or move did.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, Serialize)]
pub struct Copied {
    pub copied: usize,
    pub bytes: u64,
    /// Sources deleted after their copy was verified (moves).
    pub moved: usize,
    pub skipped: Vec<Skipped>,
}

/// One object a request copies.
pub(super) struct Pair {
    pub(super) from: String,
    pub(super) to: String,
    pub(super) size: u64,
    pub(super) etag: Option<String>,
}

impl Engine {
    /// Queues copies (or moves) of an object, or of everything under a prefix, to another key or
    /// prefix: one batch. Run them with `run_each` or `start`. Within one account the copies are
    /// server-side; to another account (`opts.destination`), `conn` being the source's, they stream
    /// through Ferry (see `transfer/copy/streamed.rs`).
    pub async fn enqueue_copy(
        &self,
        conn: &Connection,
        src: &S3Url,
        dst: &S3Url,
        opts: &CopyOptions,
    ) -> Result<Enqueued> {
        if opts.if_exists == IfExists::Rename {
            return Err(Error::invalid(
                "--if-exists rename applies to downloads; choose error, skip or overwrite",
            ));
        }
        upload::check_sse(opts.sse.as_deref(), opts.sse_kms_key_id.as_deref())?;
        if let Some(edit) = &opts.edit {
            edit.validate()?;
        }
        conn.validate()?;
        let from = self.requests(conn).await?;
        let across = opts.destination.as_ref().filter(|d| *d != conn);
        let (to_conn, to) = match across {
            Some(d) => {
                d.validate()?;
                (d, self.requests(d).await?)
            }
            None => (conn, from.clone()),
        };
        let pairs = self
            .copy_pairs((&from, &to), across.is_some(), src, dst, opts)
            .await?;
        let spec = CopySpec {
            delete_source: opts.delete_source,
            sse: opts.sse.clone(),
            sse_kms_key_id: opts.sse_kms_key_id.clone(),
            edit: opts.edit.clone(),
            source: across.map(|_| conn.clone()),
        };
        self.enqueue_pairs(to_conn, &to, (src, dst), pairs, opts, &spec, &new_batch())
            .await
    }

    /// Queues the rewrite of an object's properties (content type, cache control, disposition,
    /// metadata, storage class) on the server: a copy onto itself with the REPLACE directive, the
    /// attributes not named kept. Nothing passes through the client.
    pub async fn enqueue_edit(
        &self,
        conn: &Connection,
        target: &S3Url,
        edit: &ObjectEdit,
    ) -> Result<Enqueued> {
        edit.validate()?;
        conn.validate()?;
        if target.key.is_empty() || target.key.ends_with('/') {
            return Err(Error::invalid(format!(
                "{target} is a prefix; properties are changed one object at a time"
            )));
        }
        let s3 = self.requests(conn).await?;
        let head = self.source_head(&s3, &target.bucket, &target.key).await?;
        let pair = Pair {
            from: target.key.clone(),
            to: target.key.clone(),
            size: head.content_length().unwrap_or(0).max(0) as u64,
            etag: head.e_tag().map(str::to_string),
        };
        let spec = CopySpec {
            edit: Some(edit.clone()),
            ..CopySpec::default()
        };
        let opts = CopyOptions {
            if_exists: IfExists::Overwrite,
            ..CopyOptions::default()
        };
        let batch = new_batch();
        self.enqueue_pairs(
            conn,
            &s3,
            (target, target),
            vec![pair],
            &opts,
            &spec,
            &batch,
        )
        .await
    }

    /// Copies (or moves) server-side and waits for the copies to end: [`Engine::enqueue_copy`], then
    /// the run of its batch. The first copy that fails is the error (its source is kept).
    pub async fn copy_objects(
        &self,
        conn: &Connection,
        src: &S3Url,
        dst: &S3Url,
        opts: &CopyOptions,
    ) -> Result<Copied> {
        let enq = self.enqueue_copy(conn, src, dst, opts).await?;
        let mut out = Copied {
            skipped: enq.skipped,
            ..Copied::default()
        };
        let mut first_error = None;
        for o in self.run(&enq.ids).await {
            match o.result {
                Ok(stats) => {
                    out.copied += 1;
                    out.bytes += stats.bytes_total;
                    out.moved += usize::from(opts.delete_source);
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(out), Err)
    }

    /// Rewrites an object's properties on the server ([`Engine::enqueue_edit`], run to its end) and
    /// returns them as they are now.
    pub async fn edit_object(
        &self,
        conn: &Connection,
        target: &S3Url,
        edit: &ObjectEdit,
    ) -> Result<ObjectProperties> {
        let enq = self.enqueue_edit(conn, target, edit).await?;
        for o in self.run(&enq.ids).await {
            o.result?;
        }
        self.stat(conn, &target.bucket, &target.key).await
    }

    /// Writes the copy transfers of `pairs` (from `src`'s bucket to `dst`'s) in one batch, on
    /// `conn`, the destination's account (`spec.source` names the source's when it differs): an
    /// unfinished copy of the same object to the same key is continued (replaced when the source
    /// changed since), existing destinations follow `opts.if_exists`; nothing is written when one is
    /// refused.
    #[allow(clippy::too_many_arguments)] // the request's parts as its three callers hold them
    pub(super) async fn enqueue_pairs(
        &self,
        conn: &Connection,
        s3: &s3::Requests,
        (src, dst): (&S3Url, &S3Url),
        pairs: Vec<Pair>,
        opts: &CopyOptions,
        spec: &CopySpec,
        batch: &str,
    ) -> Result<Enqueued> {
        let conn_json = conn.to_json();
        let source_of = |from: &str| PathBuf::from(format!("s3://{}/{from}", src.bucket));
        let mut resumed = Vec::new();
        let mut fresh = Vec::new();
        for p in pairs {
            let source = source_of(&p.from);
            let same = crate::store::Same {
                direction: Direction::Copy,
                connection: &conn_json,
                bucket: &dst.bucket,
                key: &p.to,
                local_path: &source,
                version_id: None,
            };
            let same_source = |row: &TransferRow| {
                CopySpec::of(row.object_options.as_deref()).is_ok_and(|s| s.source == spec.source)
            };
            match self.inner.store.find_unfinished(&same)? {
                Some(row)
                    if row.etag == p.etag && row.size == Some(p.size) && same_source(&row) =>
                {
                    self.continue_unfinished(&row)?;
                    resumed.push(row.id);
                }
                Some(row) => {
                    // Its parts are of a source that no longer exists: cancelled (its multipart
                    // copy aborted), and the source as it is now copied afresh.
                    tracing::info!(transfer = %row.id, "the source changed; replacing the unfinished copy");
                    self.cancel(&row.id).await?;
                    fresh.push(p);
                }
                None => fresh.push(p),
            }
        }
        let in_place = spec.edit.is_some() && src == dst;
        let replace = in_place || opts.if_exists == IfExists::Overwrite;
        let taken = if replace {
            BTreeSet::new()
        } else {
            self.existing_destinations(s3, dst, &fresh, opts).await?
        };
        let conflicts: Vec<String> = fresh
            .iter()
            .filter(|p| taken.contains(&p.to))
            .map(|p| format!("s3://{}/{}", dst.bucket, p.to))
            .collect();
        if !conflicts.is_empty() && opts.if_exists == IfExists::Error {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!(
                    "{} already exist{}; nothing was copied. Choose --if-exists overwrite or skip",
                    conflicts
                        .iter()
                        .take(5)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    if conflicts.len() == 1 { "s" } else { "" }
                ),
            ));
        }
        let spec_json = spec.to_json();
        let mut skipped = Vec::new();
        let mut new = Vec::with_capacity(fresh.len());
        for p in fresh {
            let exists = taken.contains(&p.to);
            if exists && opts.if_exists == IfExists::Skip {
                skipped.push(Skipped {
                    what: format!("s3://{}/{}", dst.bucket, p.to),
                    reason: "already exists".into(),
                });
                continue;
            }
            new.push(NewTransfer {
                id: uuid::Uuid::now_v7().to_string(),
                direction: Direction::Copy,
                connection: &conn_json,
                bucket: &dst.bucket,
                part_size: match spec.source {
                    // Streamed: parts held in memory, sized like an upload's.
                    Some(_) => plan::part_size(p.size, opts.part_size)?,
                    None => plan::copy_part_size(p.size, opts.part_size)?,
                },
                local_path: source_of(&p.from),
                key: p.to,
                size: Some(p.size),
                source_mtime_ns: None,
                etag: p.etag,
                overwrite: exists || replace,
                batch_id: batch,
                version_id: None,
                object_options: spec_json.as_deref(),
            });
        }
        self.enqueued(resumed, &new, skipped)
    }

    /// The objects the request names (listed through `from`, the source's account), each with its
    /// destination key (the bucket checked through `to_s3`), size and ETag. `across`: the two are
    /// different accounts, so a key cannot be its own destination.
    async fn copy_pairs(
        &self,
        (from, to_s3): (&s3::Requests, &s3::Requests),
        across: bool,
        src: &S3Url,
        dst: &S3Url,
        opts: &CopyOptions,
    ) -> Result<Vec<Pair>> {
        let s3 = from;
        if !opts.recursive {
            if src.key.is_empty() || src.key.ends_with('/') {
                return Err(Error::invalid(format!(
                    "{src} is a prefix; add --recursive to copy everything under it"
                )));
            }
            let head = self.source_head(s3, &src.bucket, &src.key).await?;
            let name = src.key.rsplit('/').next().unwrap_or(&src.key);
            let to = if dst.key.is_empty() || dst.key.ends_with('/') {
                format!("{}{name}", dst.key)
            } else {
                dst.key.clone()
            };
            check_key(&to)?;
            if !across && src.bucket == dst.bucket && src.key == to {
                return Err(Error::invalid(format!(
                    "{src} is its own destination; choose another key"
                )));
            }
            self.require_bucket(to_s3, &dst.bucket).await?;
            return Ok(vec![Pair {
                from: src.key.clone(),
                to,
                size: head.content_length().unwrap_or(0).max(0) as u64,
                etag: head.e_tag().map(str::to_string),
            }]);
        }
        let (from_prefix, to_prefix) = (s3::as_folder(&src.key), s3::as_folder(&dst.key));
        if !across && src.bucket == dst.bucket && to_prefix.starts_with(&from_prefix) {
            return Err(Error::invalid(format!(
                "s3://{}/{to_prefix} is inside s3://{}/{from_prefix}; choose a destination outside what is copied",
                dst.bucket, src.bucket
            )));
        }
        self.require_bucket(to_s3, &dst.bucket).await?;
        let objects = self.list_all(s3, &src.bucket, &from_prefix).await?;
        if objects.is_empty() {
            return Err(Error::not_found(format!(
                "nothing found under s3://{}/{from_prefix}",
                src.bucket
            )));
        }
        objects
            .into_iter()
            .map(|o| {
                let to = format!("{to_prefix}{}", &o.key[from_prefix.len()..]);
                check_key(&to)?;
                Ok(Pair {
                    from: o.key,
                    to,
                    size: o.size,
                    etag: o.etag,
                })
            })
            .collect()
    }

    /// The destination keys that already exist (one listing for a prefix, one HEAD for an object).
    async fn existing_destinations(
        &self,
        s3: &s3::Requests,
        dst: &S3Url,
        pairs: &[Pair],
        opts: &CopyOptions,
    ) -> Result<BTreeSet<String>> {
        if pairs.is_empty() {
            return Ok(BTreeSet::new());
        }
        if opts.recursive {
            // Every destination key lies under the destination folder: one listing of it.
            let prefix = s3::as_folder(&dst.key);
            let wanted: BTreeSet<&str> = pairs.iter().map(|p| p.to.as_str()).collect();
            return Ok(self
                .list_all(s3, &dst.bucket, &prefix)
                .await?
                .into_iter()
                .filter(|o| wanted.contains(o.key.as_str()))
                .map(|o| o.key)
                .collect());
        }
        let mut taken = BTreeSet::new();
        for p in pairs {
            if object_etag(s3, &dst.bucket, &p.to).await.is_some() {
                taken.insert(p.to.clone());
            }
        }
        Ok(taken)
    }

    pub(super) async fn source_head(
        &self,
        s3: &s3::Requests,
        bucket: &str,
        key: &str,
    ) -> Result<aws_sdk_s3::operation::head_object::HeadObjectOutput> {
        let what = format!("copy s3://{bucket}/{key}");
        s3.head_with_checksums(&what, bucket, key).await
    }
}

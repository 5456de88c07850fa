//! Sync: make a destination (a folder or a bucket prefix) match a source, after showing what will
//! change.
//!
//! A sync is planned, then carried out. The plan streams: the source and the destination are read in
//! key order (a folder walked and sorted, a prefix listed page by page, never a HEAD per object) and
//! merged, so each entry is decided as it passes ([`compare`]) and only what will change is kept.
//! The plan's transfers go to the queue as one batch, so pause, resume and a rerun after a crash work
//! as for any copy: planning again finds what completed already the same on both sides, and an
//! unfinished transfer is continued from its parts by the enqueue's own decision. Server-side copies
//! (bucket to bucket) are done while carrying out the plan.
//!
//! Deletes are guarded ([`Engine::finish_sync`]): they run only once every transfer of the run has
//! completed, never when the source listed nothing (unless asked), and never more than `max_delete`.

mod compare;
mod pairs;
mod preview;
mod sides;

use super::enqueue::{Source, Wanted};
use super::*;
use sides::{Cursor, Entry};

pub use compare::Compare;
pub use pairs::{SyncDirection, SyncPair, SyncRun};
pub use preview::SyncPreview;

/// Uploads written to the queue per transaction when a plan is carried out.
const ENQUEUE_CHUNK: usize = 10_000;

/// One side of a sync: a local folder or an S3 prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncSide {
    Local(PathBuf),
    Remote(S3Url),
}

impl std::fmt::Display for SyncSide {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncSide::Local(p) => write!(f, "{}", p.display()),
            SyncSide::Remote(u) => write!(f, "{u}"),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    pub compare: Compare,
    /// Remove what is on the destination and not on the source (after every transfer succeeded).
    pub delete: bool,
    /// Delete even when the source lists nothing (an empty source otherwise deletes nothing).
    pub allow_empty_source: bool,
    /// Refuse to delete more than this many.
    pub max_delete: Option<usize>,
    /// Gitignore patterns left out (besides hidden and temporary files), on both sides.
    pub exclude: Vec<String>,
    /// Gitignore patterns taken back from the excluded ones.
    pub include: Vec<String>,
    pub part_size: Option<u64>,
    /// Only count and report (a dry run): the plan keeps no items, so its memory does not grow
    /// with the number of changes.
    pub plan_only: bool,
}

/// What a sync does with one entry.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncAction {
    Upload,
    Download,
    Copy,
    Delete,
    Skip,
}

/// One entry of a plan: its path below both roots, what happens and why.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncItem {
    pub action: SyncAction,
    /// The path below the source (or, for a delete, the destination) root, with `/`.
    pub path: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub size: u64,
    pub reason: String,
    /// The source's modification time (ns), for an upload.
    #[serde(skip)]
    mtime_ns: Option<i64>,
    /// The source object's ETag, for a download.
    #[serde(skip)]
    etag: Option<String>,
}

/// The counts of a plan.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncTotals {
    pub uploads: usize,
    pub downloads: usize,
    pub copies: usize,
    pub deletes: usize,
    pub skips: usize,
    /// Bytes to transfer or copy.
    #[cfg_attr(test, ts(type = "number"))]
    pub bytes: u64,
    /// Bytes that deletes remove.
    #[cfg_attr(test, ts(type = "number"))]
    pub delete_bytes: u64,
    /// Entries found on the source (after the patterns).
    pub source_entries: usize,
}

/// What a sync will do: the transfers and deletes (entries left as they are are only counted), and
/// why deletes will not run when they won't.
#[derive(Debug, Clone)]
pub struct SyncPlan {
    pub src: SyncSide,
    pub dst: SyncSide,
    pub items: Vec<SyncItem>,
    pub totals: SyncTotals,
    /// Set when `--delete` was asked but deletes are withheld (an empty source, too many).
    pub deletes_withheld: Option<String>,
    /// Entries that cannot be synced as they are (a key that cannot be a local name, a file name
    /// that cannot be a key), by name and reason.
    pub problems: Vec<Skipped>,
    opts: SyncOptions,
}

impl SyncPlan {
    pub fn changes_nothing(&self) -> bool {
        let t = &self.totals;
        t.uploads + t.downloads + t.copies + t.deletes == 0
    }
}

/// What carrying out a plan started: its transfers (uploads, downloads or server-side copies), one
/// batch.
#[derive(Debug, Clone, Default)]
pub struct SyncStarted {
    pub enqueued: Enqueued,
}

/// What the deletes did.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncDeleted {
    pub deleted: usize,
    /// Why nothing was deleted, when deletes were planned and did not run.
    pub withheld: Option<String>,
}

impl Engine {
    /// Plans a sync of `src` onto `dst`, calling `on_item` for every entry as it is decided (skips
    /// included) and keeping only the changes. Changes nothing anywhere.
    pub async fn plan_sync(
        &self,
        conn: &Connection,
        src: &SyncSide,
        dst: &SyncSide,
        opts: &SyncOptions,
        on_item: &mut (dyn FnMut(&SyncItem) + Send),
    ) -> Result<SyncPlan> {
        conn.validate()?;
        let direction = check_sides(src, dst)?;
        let s3 = self.requests(conn).await?;
        // Paths are matched below a root of their own: both sides' entries by the same rules.
        let rules =
            || crate::rules::Rules::with_includes(Path::new("/"), "", &opts.exclude, &opts.include);
        let mut problems = Vec::new();
        let mut source = Cursor::open(self, &s3, src, rules()?, &mut problems).await?;
        let mut dest = Cursor::open(self, &s3, dst, rules()?, &mut problems).await?;
        let compare = compare::Comparer::new(self, &s3, conn, src, dst, opts.compare);

        let mut plan = SyncPlan {
            src: src.clone(),
            dst: dst.clone(),
            items: Vec::new(),
            totals: SyncTotals::default(),
            deletes_withheld: None,
            problems: Vec::new(),
            opts: opts.clone(),
        };
        let mut deletes = Vec::new();
        let (mut a, mut b) = (source.next().await?, dest.next().await?);
        loop {
            let order = match (&a, &b) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(s), Some(d)) => s.rel.cmp(&d.rel),
            };
            match order {
                std::cmp::Ordering::Less => {
                    let s = a.take().expect("a source entry");
                    plan.totals.source_entries += 1;
                    plan.change(direction, &s, "new".into(), on_item);
                    a = source.next().await?;
                }
                std::cmp::Ordering::Greater => {
                    let d = b.take().expect("a destination entry");
                    if opts.delete {
                        deletes.push(item_of(SyncAction::Delete, &d, "not on the source".into()));
                    }
                    b = dest.next().await?;
                }
                std::cmp::Ordering::Equal => {
                    let (s, d) = (
                        a.take().expect("a source"),
                        b.take().expect("a destination"),
                    );
                    plan.totals.source_entries += 1;
                    match compare.differs(&s, &d).await? {
                        Some(why) => plan.change(direction, &s, why, on_item),
                        None => plan.add(
                            item_of(SyncAction::Skip, &s, compare.same_reason()),
                            on_item,
                        ),
                    }
                    a = source.next().await?;
                    b = dest.next().await?;
                }
            }
        }
        plan.problems.append(&mut problems);
        plan.deletes_withheld = withheld(&plan, deletes.len(), opts);
        if plan.deletes_withheld.is_none() {
            for d in deletes {
                plan.add(d, on_item);
            }
        }
        Ok(plan)
    }

    /// Carries out a plan's transfers: uploads, downloads or server-side copies go to the queue as
    /// one batch (the caller runs them). Deletes wait for [`Engine::finish_sync`].
    pub async fn start_sync(&self, conn: &Connection, plan: &SyncPlan) -> Result<SyncStarted> {
        let s3 = self.requests(conn).await?;
        let batch = enqueue::new_batch();
        let mut out = SyncStarted::default();
        // Collected, not lazy: a closure held across the awaits below would keep this future from
        // being spawned (its lifetimes are not general enough for `tokio::spawn`).
        let changes: Vec<&SyncItem> = plan
            .items
            .iter()
            .filter(|i| i.action != SyncAction::Delete)
            .collect();
        match (&plan.src, &plan.dst) {
            (SyncSide::Local(root), SyncSide::Remote(dst)) => {
                let prefix = sync_prefix(dst);
                // Written in chunks, so a plan of a million uploads never has a million new rows
                // in memory at once besides its own items.
                for chunk in changes.chunks(ENQUEUE_CHUNK) {
                    let sources: Vec<Result<Source>> = chunk
                        .iter()
                        .map(|i| {
                            Ok(Source {
                                path: local_path_for_key(root, &i.path)?,
                                key: format!("{prefix}{}", i.path),
                                size: i.size,
                                mtime: i.mtime_ns.unwrap_or(0),
                                part_size: plan::part_size(i.size, plan.opts.part_size)?,
                            })
                        })
                        .collect();
                    self.enqueue_sources(
                        conn,
                        &s3,
                        &dst.bucket,
                        sources,
                        None,
                        true,
                        &batch,
                        &mut out.enqueued,
                    )
                    .await?;
                }
            }
            (SyncSide::Remote(src), SyncSide::Local(root)) => {
                let prefix = sync_prefix(src);
                let mut wanted = Vec::new();
                for i in changes {
                    wanted.push(Wanted {
                        key: format!("{prefix}{}", i.path),
                        dest: local_path_for_key(root, &i.path)?,
                        size: i.size,
                        etag: i.etag.clone(),
                        version_id: None,
                    });
                }
                let opts = DownloadOptions {
                    recursive: true,
                    part_size: plan.opts.part_size,
                    if_exists: IfExists::Overwrite,
                    version_id: None,
                };
                out.enqueued = self
                    .enqueue_wanted(conn, &s3, &src.bucket, wanted, Vec::new(), &opts, &batch)
                    .await?;
            }
            (SyncSide::Remote(src), SyncSide::Remote(dst)) => {
                let (from, to) = (sync_prefix(src), sync_prefix(dst));
                let pairs = changes
                    .iter()
                    .map(|i| copy::Pair {
                        from: format!("{from}{}", i.path),
                        to: format!("{to}{}", i.path),
                        size: i.size,
                        etag: i.etag.clone(),
                    })
                    .collect();
                let opts = CopyOptions {
                    if_exists: IfExists::Overwrite,
                    part_size: plan.opts.part_size,
                    ..CopyOptions::default()
                };
                out.enqueued = self
                    .enqueue_pairs(
                        conn,
                        &s3,
                        (src, dst),
                        pairs,
                        &opts,
                        &Default::default(),
                        &batch,
                    )
                    .await?;
            }
            (SyncSide::Local(_), SyncSide::Local(_)) => unreachable!("refused by plan_sync"),
        }
        Ok(out)
    }

    /// Runs a plan's deletes once every transfer it started (`ids`) has completed; otherwise, or
    /// when the plan withheld them, deletes nothing and says why.
    pub async fn finish_sync(
        &self,
        conn: &Connection,
        plan: &SyncPlan,
        ids: &[String],
    ) -> Result<SyncDeleted> {
        let deletes: Vec<&SyncItem> = plan
            .items
            .iter()
            .filter(|i| i.action == SyncAction::Delete)
            .collect();
        if let Some(why) = &plan.deletes_withheld {
            return Ok(SyncDeleted {
                deleted: 0,
                withheld: Some(why.clone()),
            });
        }
        if deletes.is_empty() {
            return Ok(SyncDeleted::default());
        }
        let unfinished = ids
            .iter()
            .filter(|id| {
                !matches!(self.inner.store.get(id), Ok(Some(r)) if r.state == State::Completed)
            })
            .count();
        if unfinished > 0 || !plan.problems.is_empty() {
            let why = if unfinished > 0 {
                format!("{unfinished} transfer(s) of this sync did not complete")
            } else {
                format!("{} entr(ies) could not be synced", plan.problems.len())
            };
            return Ok(SyncDeleted {
                deleted: 0,
                withheld: Some(format!("{why}, so nothing was deleted; run the sync again")),
            });
        }
        let deleted = match &plan.dst {
            SyncSide::Local(root) => {
                for d in &deletes {
                    let path = local_path_for_key(root, &d.path)?;
                    match std::fs::remove_file(&path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(Error::io("cannot delete", &path, e)),
                    }
                }
                deletes.len()
            }
            SyncSide::Remote(dst) => {
                let s3 = self.requests(conn).await?;
                let prefix = sync_prefix(dst);
                let keys: Vec<String> = deletes
                    .iter()
                    .map(|d| format!("{prefix}{}", d.path))
                    .collect();
                for chunk in keys.chunks(1000) {
                    s3.delete_keys(&dst.bucket, chunk).await?;
                }
                keys.len()
            }
        };
        Ok(SyncDeleted {
            deleted,
            withheld: None,
        })
    }
}

impl SyncPlan {
    /// A transfer of `e`; a key that cannot be a local name is a problem instead, by its name.
    fn change(
        &mut self,
        direction: SyncAction,
        e: &Entry,
        why: String,
        on_item: &mut (dyn FnMut(&SyncItem) + Send),
    ) {
        if let (SyncSide::Remote(u), SyncSide::Local(root)) = (&self.src, &self.dst) {
            if let Err(err) = local_path_for_key(root, &e.rel) {
                self.problems.push(Skipped {
                    what: format!("s3://{}/{}{}", u.bucket, sync_prefix(u), e.rel),
                    reason: err.message,
                });
                return;
            }
        }
        self.add(item_of(direction, e, why), on_item);
    }

    fn add(&mut self, item: SyncItem, on_item: &mut (dyn FnMut(&SyncItem) + Send)) {
        on_item(&item);
        let t = &mut self.totals;
        match item.action {
            SyncAction::Skip => {
                t.skips += 1;
                return;
            }
            SyncAction::Upload => t.uploads += 1,
            SyncAction::Download => t.downloads += 1,
            SyncAction::Copy => t.copies += 1,
            SyncAction::Delete => {
                t.deletes += 1;
                t.delete_bytes += item.size;
            }
        }
        if item.action != SyncAction::Delete {
            t.bytes += item.size;
        }
        if !self.opts.plan_only {
            self.items.push(item);
        }
    }
}

/// Why `--delete`'s deletes will not run, if they won't.
fn withheld(plan: &SyncPlan, deletes: usize, opts: &SyncOptions) -> Option<String> {
    if !opts.delete || deletes == 0 {
        return None;
    }
    if plan.totals.source_entries == 0 && !opts.allow_empty_source {
        return Some(format!(
            "{} lists nothing, so the {deletes} entr{} only on {} were not deleted; if the source really is empty, add --allow-empty-source",
            plan.src,
            if deletes == 1 { "y" } else { "ies" },
            plan.dst
        ));
    }
    match opts.max_delete {
        Some(max) if deletes > max => Some(format!(
            "the sync would delete {deletes} entries, more than --max-delete {max}; nothing was deleted. Check the source, then raise --max-delete"
        )),
        _ => None,
    }
}

/// Which way the bytes go; refuses what cannot be synced.
fn check_sides(src: &SyncSide, dst: &SyncSide) -> Result<SyncAction> {
    match (src, dst) {
        (SyncSide::Local(p), SyncSide::Remote(_)) => {
            if !p.is_dir() {
                return Err(Error::invalid(format!(
                    "{} is not a folder; ferry sync makes a prefix match a folder (use ferry cp for one file)",
                    p.display()
                )));
            }
            Ok(SyncAction::Upload)
        }
        (SyncSide::Remote(_), SyncSide::Local(p)) => {
            if p.exists() && !p.is_dir() {
                return Err(Error::invalid(format!(
                    "{} is a file; a sync downloads into a folder",
                    p.display()
                )));
            }
            Ok(SyncAction::Download)
        }
        (SyncSide::Remote(a), SyncSide::Remote(b)) => {
            let (pa, pb) = (sync_prefix(a), sync_prefix(b));
            if a.bucket == b.bucket && (pa.starts_with(&pb) || pb.starts_with(&pa)) {
                return Err(Error::invalid(format!(
                    "{a} and {b} overlap; sync between prefixes that do not contain each other"
                )));
            }
            Ok(SyncAction::Copy)
        }
        (SyncSide::Local(_), SyncSide::Local(_)) => Err(Error::invalid(
            "one side of a sync must be an S3 location (s3://bucket/prefix)",
        )),
    }
}

/// The prefix a sync works under: the URL's key taken as a folder (the whole bucket when empty).
fn sync_prefix(u: &S3Url) -> String {
    if u.key.is_empty() {
        String::new()
    } else {
        s3::as_folder(&u.key)
    }
}

fn item_of(action: SyncAction, e: &Entry, reason: String) -> SyncItem {
    SyncItem {
        action,
        path: e.rel.clone(),
        size: e.size,
        reason,
        mtime_ns: e.mtime_ns,
        etag: e.etag.clone(),
    }
}

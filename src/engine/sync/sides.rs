//! The two sides of a sync, read in key order: a folder walked and sorted by its keys (the byte
//! order S3 lists in), a prefix listed one page at a time.

use std::collections::VecDeque;

use super::*;
use crate::rules::Rules;

/// One file or object, by its path below the side's root.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// Below the root, with `/` between components.
    pub rel: String,
    pub size: u64,
    /// A file's modification time, or an object's Last-Modified (ns).
    pub mtime_ns: Option<i64>,
    /// An object's ETag.
    pub etag: Option<String>,
}

/// Entries of one side in key order.
pub(super) enum Cursor<'a> {
    Local(std::vec::IntoIter<Entry>),
    Remote(Box<Listing<'a>>),
}

pub(super) struct Listing<'a> {
    s3: &'a s3::Requests,
    bucket: String,
    prefix: String,
    rules: Rules,
    token: Option<String>,
    page: VecDeque<Entry>,
    done: bool,
}

impl<'a> Cursor<'a> {
    /// Opens a side; a folder is read whole here (a missing destination folder is empty), a bucket
    /// must exist. Entries the patterns leave out are not seen. Problems of the source side (names
    /// that cannot be keys, links not followed) are collected into `problems`.
    pub async fn open(
        engine: &Engine,
        s3: &'a s3::Requests,
        side: &SyncSide,
        rules: Rules,
        problems: &mut Vec<Skipped>,
    ) -> Result<Cursor<'a>> {
        match side {
            SyncSide::Local(root) => {
                let mut out = Vec::new();
                if root.exists() {
                    walk(root, "", &rules, &mut out, problems)?;
                }
                out.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
                Ok(Cursor::Local(out.into_iter()))
            }
            SyncSide::Remote(u) => {
                engine.require_bucket(s3, &u.bucket).await?;
                Ok(Cursor::Remote(Box::new(Listing {
                    s3,
                    bucket: u.bucket.clone(),
                    prefix: sync_prefix(u),
                    rules,
                    token: None,
                    page: VecDeque::new(),
                    done: false,
                })))
            }
        }
    }

    /// The next entry in key order; a listing that fails ends the plan with its error.
    pub async fn next(&mut self) -> Result<Option<Entry>> {
        match self {
            Cursor::Local(it) => Ok(it.next()),
            Cursor::Remote(l) => loop {
                if let Some(e) = l.page.pop_front() {
                    return Ok(Some(e));
                }
                if l.done {
                    return Ok(None);
                }
                l.fetch().await?;
            },
        }
    }
}

impl Listing<'_> {
    async fn fetch(&mut self) -> Result<()> {
        let page = self
            .s3
            .list_page(&self.bucket, &self.prefix, None, self.token.as_deref())
            .await?;
        for o in page.output.contents() {
            let Some(key) = o.key() else { continue };
            let rel = &key[self.prefix.len()..];
            // Folder markers ("photos/") hold nothing to sync.
            if rel.is_empty() || rel.ends_with('/') {
                continue;
            }
            if self.rules.ignored(&Path::new("/").join(rel), false) {
                continue;
            }
            self.page.push_back(Entry {
                rel: rel.to_string(),
                size: o.size().unwrap_or(0).max(0) as u64,
                mtime_ns: o.last_modified().map(|t| t.as_nanos() as i64),
                etag: o.e_tag().map(str::to_string),
            });
        }
        match page.next {
            Some(t) => self.token = Some(t),
            None => self.done = true,
        }
        Ok(())
    }
}

/// The files under `dir` that the patterns let through, with their paths below the root (`rel` is
/// the path of `dir`). Symbolic links to folders are not followed, and said so: a sync must not
/// delete on the other side what it could not look at.
fn walk(
    dir: &Path,
    rel: &str,
    rules: &Rules,
    out: &mut Vec<Entry>,
    problems: &mut Vec<Skipped>,
) -> Result<()> {
    // The root must be readable; a folder inside it that is not (or vanished) is a problem, which
    // keeps the sync from deleting anything on the other side.
    let listed = std::fs::read_dir(dir).and_then(|d| d.collect::<std::io::Result<Vec<_>>>());
    let entries = match listed {
        Ok(entries) => entries,
        Err(e) if rel.is_empty() => return Err(Error::io("cannot read the folder", dir, e)),
        Err(e) => {
            problems.push(Skipped {
                what: dir.display().to_string(),
                reason: format!("the folder cannot be read: {e}"),
            });
            return Ok(());
        }
    };
    for entry in entries {
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            problems.push(Skipped {
                what: path.display().to_string(),
                reason: "the name is not valid UTF-8, so it cannot be an S3 key".into(),
            });
            continue;
        };
        let key = format!("{rel}{name}");
        let is_dir = path.is_dir();
        if rules.ignored(&Path::new("/").join(&key), is_dir) {
            continue;
        }
        let ft = entry
            .file_type()
            .map_err(|e| Error::io("cannot read", &path, e))?;
        if ft.is_symlink() && is_dir {
            problems.push(Skipped {
                what: path.display().to_string(),
                reason: "symbolic links to folders are not followed".into(),
            });
        } else if is_dir {
            walk(&path, &format!("{key}/"), rules, out, problems)?;
        } else if path.is_file() {
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) => {
                    problems.push(Skipped {
                        what: path.display().to_string(),
                        reason: format!("cannot be read: {e}"),
                    });
                    continue;
                }
            };
            out.push(Entry {
                rel: key,
                size: meta.len(),
                mtime_ns: Some(transfer::mtime_ns(&meta)),
                etag: None,
            });
        } else {
            problems.push(super::super::enqueue::not_a_file(&path, &ft));
        }
    }
    Ok(())
}

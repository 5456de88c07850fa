//! The key index the embedded endpoint lists from: per bucket, the sorted set of its keys and the
//! folders that hold them, so a page of ListObjects costs a range walk over memory (plus a `stat` and a
//! small read per object on the page, see [`super::listing`]) instead of s3s-fs's walk of the whole
//! prefix for every page.
//!
//! Invariants and how they are kept:
//! - A bucket's index is built lazily, by the first listing of it after the server starts (a restart
//!   rebuilds it from the data folder; nothing is persisted, so nothing can go stale on disk).
//! - Writes through [`super::LocalS3`] (PutObject, CopyObject, CompleteMultipartUpload, DeleteObject,
//!   DeleteObjects) call [`Catalog::changed`], which asks the disk whether the key's file exists now
//!   and updates the set, whatever the request's outcome (s3s-fs can leave a file behind on an error).
//! - Files that appear or vanish without going through this instance (another `LocalS3` over the same
//!   folder, in this process or another; a test seeding the folder; a person copying files in) are
//!   caught by the folders' modification times: every folder of a built bucket is recorded with its
//!   mtime, and a listing's first page (no continuation token; every page of a v1 listing, whose
//!   marker cannot tell a first page from a later one) re-reads the folders under its
//!   prefix whose mtime moved, and those still "hot" (modified less than [`SETTLE`] before they were
//!   read: a file created in the same clock tick as the read would leave the mtime unchanged). That is
//!   one `stat` per folder under the prefix per listing, and a `readdir` of the folders that changed.
//!   Later pages of a listing trust the index, and a key whose file has vanished since is dropped from
//!   the page when it is stat'ed. A file rewritten in place keeps its folder's mtime, but its size and
//!   time are read from the file for each page, so they are never stale.
//! - Only regular files under `<root>/<bucket>/` are objects; s3s-fs keeps its temporary files, part
//!   files and metadata in `<root>` itself (never inside a bucket), and folders are never listed
//!   (as in s3s-fs, a `dir/` marker is a folder, not an object). File names that are not UTF-8 are
//!   skipped, as s3s-fs skips them.
//!
//! Memory: per object, its key in a `BTreeSet<Box<str>>` — the key's bytes plus about 40 bytes (the
//! 16-byte box in a B-tree node kept at least half full, and the allocation's own overhead); per
//! folder, its path and a 24-byte stamp. 100,000 objects with 30-byte keys take about 7 MB. Sizes,
//! times and ETags are not kept: they are read per page, so the index never holds more than names.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// How long after its last change a folder's mtime is trusted to reveal the next change.
const SETTLE: Duration = Duration::from_secs(2);

/// The key indexes of one data folder's buckets (see the module docs).
#[derive(Default)]
pub(super) struct Catalog {
    buckets: Mutex<HashMap<String, Arc<Mutex<Option<Keys>>>>>,
}

/// One bucket's keys and folders.
#[derive(Default)]
pub(super) struct Keys {
    pub(super) keys: BTreeSet<Box<str>>,
    /// Each folder under the bucket by its key prefix (`""`, `"a/"`, `"a/b/"`), with the mtime it had
    /// when it was last read (`None`: never read, read it before trusting it).
    dirs: BTreeMap<Box<str>, Option<Stamp>>,
}

#[derive(Clone, Copy)]
struct Stamp {
    mtime: SystemTime,
    settled: bool,
}

impl Catalog {
    fn slot(&self, bucket: &str) -> Arc<Mutex<Option<Keys>>> {
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(bucket.to_string()).or_default().clone()
    }

    /// Runs `f` over the bucket's index, built or brought up to date for `prefix` first when `fresh`
    /// (a listing's first page). Blocking: call from a blocking task.
    pub(super) fn with_keys<T>(
        &self,
        bucket_dir: &Path,
        bucket: &str,
        prefix: &str,
        fresh: bool,
        f: impl FnOnce(&mut Keys) -> T,
    ) -> std::io::Result<T> {
        let slot = self.slot(bucket);
        let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
        let keys = match guard.as_mut() {
            Some(keys) => {
                if fresh {
                    keys.refresh(bucket_dir, prefix)?;
                }
                keys
            }
            None => {
                let mut keys = Keys::default();
                keys.dirs.insert("".into(), None);
                keys.refresh(bucket_dir, "")?;
                guard.insert(keys)
            }
        };
        Ok(f(keys))
    }

    /// Brings the index in line with the disk for `key` after a write or delete of it.
    pub(super) fn changed(&self, root: &Path, bucket: &str, key: &str) {
        let slot = self.slot(bucket);
        let mut guard = slot.lock().unwrap_or_else(|e| e.into_inner());
        let Some(keys) = guard.as_mut() else {
            return; // not built yet: the build will read the disk
        };
        if !is_plain_key(key) {
            // s3s-fs stored it under a normalised path: read the whole bucket again next time.
            *guard = None;
            return;
        }
        let is_file = std::fs::metadata(root.join(bucket).join(key)).is_ok_and(|m| m.is_file());
        if is_file {
            keys.insert_key(key);
        } else {
            keys.keys.remove(key);
        }
    }

    /// Forgets a bucket (deleted, or to be read again).
    pub(super) fn forget(&self, bucket: &str) {
        let mut map = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(bucket);
    }
}

/// Whether s3s-fs stores `key` at `<bucket>/<key>` as written: no empty, `.` or `..` segment, no
/// leading slash (keys ending in `/` are folders, never files).
fn is_plain_key(key: &str) -> bool {
    let body = key.strip_suffix('/').unwrap_or(key);
    !body.is_empty()
        && body
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

/// The folder part of a key or prefix: up to and including its last `/` (`""` for none).
fn dir_part(s: &str) -> &str {
    s.rfind('/').map_or("", |i| &s[..=i])
}

/// The least string greater than every string that starts with `s`, if there is one.
pub(super) fn successor(s: &str) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    while let Some(c) = chars.pop() {
        let next = match c as u32 {
            0xD7FF => Some('\u{E000}'),
            n => char::from_u32(n + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// All strings starting with `prefix`, as bounds for a range over the key set.
pub(super) fn prefix_range(prefix: &str) -> (Bound<String>, Bound<String>) {
    (
        Bound::Included(prefix.to_string()),
        successor(prefix).map_or(Bound::Unbounded, Bound::Excluded),
    )
}

impl Keys {
    fn insert_key(&mut self, key: &str) {
        // Folders the key created are read before they are trusted.
        let mut at = 0;
        while let Some(i) = key[at..].find('/') {
            let dir = &key[..at + i + 1];
            if !self.dirs.contains_key(dir) {
                self.dirs.insert(dir.into(), None);
            }
            at += i + 1;
        }
        if !self.keys.contains(key) {
            self.keys.insert(key.into());
        }
    }

    /// Re-reads the folders that may hold keys under `prefix` and have changed (see the module docs).
    fn refresh(&mut self, bucket_dir: &Path, prefix: &str) -> std::io::Result<()> {
        if !bucket_dir.is_dir() {
            return Err(std::io::ErrorKind::NotFound.into());
        }
        let base = dir_part(prefix);
        let mut candidates: Vec<Box<str>> = Vec::new();
        // The folders on the way down to `base` (a new folder shows in its parent's mtime)…
        let mut at = 0;
        loop {
            let dir = &base[..at];
            if self.dirs.contains_key(dir) {
                candidates.push(dir.into());
            }
            match base[at..].find('/') {
                Some(i) => at += i + 1,
                None => break,
            }
        }
        // …and every folder under it.
        let below: Vec<Box<str>> = self
            .dirs
            .range::<str, _>((Bound::Excluded(base), Bound::Unbounded))
            .take_while(|(d, _)| d.starts_with(base))
            .map(|(d, _)| d.clone())
            .collect();
        candidates.extend(below);
        for dir in candidates {
            let Some(stamp) = self.dirs.get(&dir) else {
                continue; // gone with a parent read just before
            };
            let stale = match stamp {
                None => true,
                Some(s) => {
                    !s.settled
                        || std::fs::metadata(bucket_dir.join(&*dir))
                            .and_then(|m| m.modified())
                            .map_or(true, |m| m != s.mtime)
                }
            };
            if stale {
                self.read_dir(bucket_dir, &dir)?;
            }
        }
        Ok(())
    }

    /// Reads folder `dir` (and any new folder below it) into the index.
    fn read_dir(&mut self, bucket_dir: &Path, dir: &str) -> std::io::Result<()> {
        let mut todo = vec![dir.to_string()];
        while let Some(dir) = todo.pop() {
            let path: PathBuf = bucket_dir.join(&dir);
            let stamp = match std::fs::metadata(&path) {
                Ok(m) if m.is_dir() => m.modified().ok().map(|mtime| Stamp {
                    mtime,
                    settled: SystemTime::now()
                        .duration_since(mtime)
                        .is_ok_and(|age| age >= SETTLE),
                }),
                Ok(_) => {
                    self.forget_dir(&dir);
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    self.forget_dir(&dir);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let entries = match std::fs::read_dir(&path) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    self.forget_dir(&dir);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut files: BTreeSet<String> = BTreeSet::new();
            let mut subdirs: BTreeSet<String> = BTreeSet::new();
            for entry in entries {
                let entry = entry?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                if entry.file_type()?.is_dir() {
                    subdirs.insert(format!("{dir}{name}/"));
                } else {
                    files.insert(format!("{dir}{name}"));
                }
            }
            // Files directly in `dir` the index holds, minus those still there.
            let (old_files, old_subdirs) = self.children(&dir);
            for k in old_files.iter().filter(|k| !files.contains(k.as_str())) {
                self.keys.remove(k.as_str());
            }
            for k in files {
                if !self.keys.contains(k.as_str()) {
                    self.keys.insert(k.into());
                }
            }
            for d in old_subdirs.iter().filter(|d| !subdirs.contains(d.as_str())) {
                self.forget_dir(d);
            }
            for d in subdirs {
                match self.dirs.get(d.as_str()) {
                    Some(Some(_)) => {} // known: `refresh` checks it on its own
                    _ => {
                        self.dirs.insert(d.as_str().into(), None);
                        todo.push(d);
                    }
                }
            }
            self.dirs.insert(dir.as_str().into(), stamp);
        }
        Ok(())
    }

    /// The keys directly in `dir` and its immediate subfolders, as the index holds them.
    fn children(&self, dir: &str) -> (Vec<String>, Vec<String>) {
        let mut files = Vec::new();
        let mut cursor = Bound::Included(dir.to_string());
        let end = successor(dir);
        loop {
            let upper = end.clone().map_or(Bound::Unbounded, Bound::Excluded);
            let Some(k) = self
                .keys
                .range::<str, _>((as_str(&cursor), as_str(&upper)))
                .next()
            else {
                break;
            };
            let rest = &k[dir.len()..];
            match rest.find('/') {
                Some(i) => match successor(&k[..dir.len() + i + 1]) {
                    Some(s) => cursor = Bound::Included(s),
                    None => break,
                },
                None => {
                    files.push(k.to_string());
                    cursor = Bound::Excluded(k.to_string());
                }
            }
        }
        let subdirs = self
            .dirs
            .range::<str, _>((Bound::Excluded(dir), Bound::Unbounded))
            .take_while(|(d, _)| d.starts_with(dir))
            .filter(|(d, _)| !d[dir.len()..d.len() - 1].contains('/'))
            .map(|(d, _)| d.to_string())
            .collect();
        (files, subdirs)
    }

    /// Drops folder `dir`, its subfolders and every key under it.
    fn forget_dir(&mut self, dir: &str) {
        let (lo, hi) = prefix_range(dir);
        let keys: Vec<Box<str>> = self
            .keys
            .range::<str, _>((as_str(&lo), as_str(&hi)))
            .cloned()
            .collect();
        for k in keys {
            self.keys.remove(&k);
        }
        let dirs: Vec<Box<str>> = self
            .dirs
            .range::<str, _>((as_str(&lo), as_str(&hi)))
            .map(|(d, _)| d.clone())
            .collect();
        for d in dirs {
            if !d.is_empty() {
                self.dirs.remove(&d);
            }
        }
    }
}

/// A bound over `String` as one over `str`, for ranges over `Box<str>` sets.
pub(super) fn as_str(b: &Bound<String>) -> Bound<&str> {
    match b {
        Bound::Included(s) => Bound::Included(s.as_str()),
        Bound::Excluded(s) => Bound::Excluded(s.as_str()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_successor_of_a_prefix_is_above_every_key_that_starts_with_it() {
        assert_eq!(successor("a/").as_deref(), Some("a0"));
        assert_eq!(successor("").as_deref(), None);
        assert_eq!(successor("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(successor("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert!("a/\u{10FFFF}\u{10FFFF}" < successor("a/").unwrap().as_str());
    }

    #[test]
    fn a_key_with_an_empty_or_dot_segment_is_not_plain() {
        assert!(is_plain_key("a/b.txt"));
        assert!(is_plain_key("dir/"));
        assert!(!is_plain_key("a//b"));
        assert!(!is_plain_key("/a"));
        assert!(!is_plain_key("a/./b"));
        assert!(!is_plain_key("../a"));
    }
}

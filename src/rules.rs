//! Which files (or keys) a watched folder or a sync takes, and under which key.
//!
//! Hidden and temporary files are never uploaded ([`DEFAULT_IGNORES`]); a folder adds its own
//! patterns in gitignore syntax. A key is the prefix followed by the file's path relative to the
//! folder, with `/` between components, so the folder's structure is kept.

use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::error::{Error, Result};

/// Always ignored: hidden files and folders, Office lock files, and files still being downloaded or
/// written by other programs (and Ferry's own partial downloads, which are hidden).
pub const DEFAULT_IGNORES: &[&str] = &[".*", "~$*", "*.tmp", "*.part", ".DS_Store"];

pub(crate) struct Rules {
    root: PathBuf,
    prefix: String,
    ignore: Gitignore,
}

impl Rules {
    /// `root` must be absolute and canonical (the form the watcher reports paths in).
    pub fn new(root: &Path, prefix: &str, user: &[String]) -> Result<Rules> {
        Rules::with_includes(root, prefix, user, &[])
    }

    /// As [`Rules::new`], and `include` patterns that take back what an ignore pattern (a default
    /// one too) left out, like `aws s3 sync --include`.
    pub fn with_includes(
        root: &Path,
        prefix: &str,
        user: &[String],
        include: &[String],
    ) -> Result<Rules> {
        let mut b = GitignoreBuilder::new(root);
        for p in DEFAULT_IGNORES {
            b.add_line(None, p)
                .map_err(|e| Error::internal(format!("default ignore pattern `{p}`: {e}")))?;
        }
        for p in user {
            if p.trim().is_empty() {
                return Err(Error::invalid("an ignore pattern is empty"));
            }
            b.add_line(None, p).map_err(|e| {
                Error::invalid(format!(
                    "`{p}` is not a valid ignore pattern ({e}); use gitignore syntax, e.g. `*.log` or `build/`"
                ))
            })?;
        }
        for p in include {
            if p.trim().is_empty() || p.starts_with('!') {
                return Err(Error::invalid(format!(
                    "`{p}` is not an include pattern; give a gitignore-style pattern such as `*.jpg`"
                )));
            }
            b.add_line(None, &format!("!{p}")).map_err(|e| {
                Error::invalid(format!(
                    "`{p}` is not a valid include pattern ({e}); use gitignore syntax, e.g. `*.jpg`"
                ))
            })?;
        }
        let ignore = b
            .build()
            .map_err(|e| Error::invalid(format!("the ignore patterns are not valid: {e}")))?;
        Ok(Rules {
            root: root.to_path_buf(),
            prefix: prefix.to_string(),
            ignore,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `path` (under the root) is left alone: a folder above it is, or it matches a pattern
    /// itself. As in git, an include pattern cannot take a file back out of a folder left out, so
    /// a folder walked (pruned where left out) and a prefix listed (every key) agree.
    pub fn ignored(&self, path: &Path, is_dir: bool) -> bool {
        let rel = match path.strip_prefix(&self.root) {
            Ok(rel) if rel.as_os_str().is_empty() => return false,
            Ok(rel) => rel,
            Err(_) => return true,
        };
        let mut above = self.root.clone();
        let n = rel.components().count();
        for c in rel.components().take(n - 1) {
            above.push(c);
            if self.ignore.matched(&above, true).is_ignore() {
                return true;
            }
        }
        self.ignore.matched(path, is_dir).is_ignore()
    }

    /// The key of a file under the root, or `None` when it is outside it or its name is not UTF-8.
    pub fn key(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.root).ok()?;
        let mut key = self.prefix.clone();
        let mut first = true;
        for c in rel.components() {
            let std::path::Component::Normal(name) = c else {
                return None;
            };
            if !first {
                key.push('/');
            }
            key.push_str(name.to_str()?);
            first = false;
        }
        (!first).then_some(key)
    }

    /// The local path a key of this folder came from (the inverse of [`Rules::key`]).
    pub fn path(&self, key: &str) -> Option<PathBuf> {
        let rel = key.strip_prefix(&self.prefix)?;
        Some(rel.split('/').fold(self.root.clone(), |p, c| p.join(c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(user: &[&str]) -> Rules {
        let user: Vec<String> = user.iter().map(|s| s.to_string()).collect();
        Rules::new(Path::new("/w"), "backup/", &user).unwrap()
    }

    #[test]
    fn hidden_and_temporary_files_are_ignored_by_default() {
        let r = rules(&[]);
        for p in [
            "/w/.DS_Store",
            "/w/.hidden",
            "/w/~$report.docx",
            "/w/a/b.tmp",
            "/w/film.mkv.part",
            "/w/.git/config",
        ] {
            assert!(r.ignored(Path::new(p), false), "{p}");
        }
        for p in ["/w/report.docx", "/w/a/b.txt", "/w/tmp.txt"] {
            assert!(!r.ignored(Path::new(p), false), "{p}");
        }
    }

    #[test]
    fn user_patterns_use_gitignore_syntax() {
        let r = rules(&["*.log", "build/", "!keep.log"]);
        assert!(r.ignored(Path::new("/w/x/debug.log"), false));
        assert!(!r.ignored(Path::new("/w/keep.log"), false));
        assert!(r.ignored(Path::new("/w/build/out.bin"), false));
        assert!(!r.ignored(Path::new("/w/builder.txt"), false));
        assert!(Rules::new(Path::new("/w"), "", &["{a,b".to_string()]).is_err());
    }

    #[test]
    fn include_patterns_take_back_what_an_ignore_pattern_left_out() {
        let s = |v: &[&str]| v.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        let r = Rules::with_includes(
            Path::new("/w"),
            "",
            &s(&["*.log"]),
            &s(&["keep.log", ".env"]),
        )
        .unwrap();
        assert!(r.ignored(Path::new("/w/debug.log"), false));
        assert!(!r.ignored(Path::new("/w/keep.log"), false));
        assert!(!r.ignored(Path::new("/w/.env"), false));
        assert!(r.ignored(Path::new("/w/.other"), false));
        assert!(Rules::with_includes(Path::new("/w"), "", &[], &s(&["!x"])).is_err());
    }

    #[test]
    fn keys_keep_the_folder_structure_under_the_prefix() {
        let r = rules(&[]);
        assert_eq!(
            r.key(Path::new("/w/photos/2024/a.jpg")).as_deref(),
            Some("backup/photos/2024/a.jpg")
        );
        assert_eq!(r.key(Path::new("/elsewhere/a.jpg")), None);
        assert_eq!(r.key(Path::new("/w")), None);
        assert_eq!(
            r.path("backup/photos/a.jpg").unwrap(),
            Path::new("/w/photos/a.jpg")
        );
    }

    proptest::proptest! {
        /// Whatever the path: anything inside a hidden folder, or a hidden or temporary file, is
        /// left out by default; a path of plain names is kept; an include pattern for a file's own
        /// name takes it back unless a folder above it is left out.
        #[test]
        fn the_default_rules_hold_for_any_path(
            dirs in proptest::collection::vec("[a-z0-9_-]([a-z0-9 _-]{0,6}[a-z0-9_-])?", 0..4),
            name in "[a-z0-9_-]([a-z0-9 _-]{0,6}[a-z0-9_-])?",
            hidden_at in proptest::option::of(0usize..5),
            temp in proptest::bool::ANY,
        ) {
            let mut parts: Vec<String> = dirs.clone();
            let file = if temp { format!("{name}.part") } else { format!("{name}.txt") };
            parts.push(file.clone());
            let hidden = hidden_at.map(|i| i % parts.len());
            if let Some(i) = hidden {
                parts[i] = format!(".{}", parts[i]);
            }
            let path = parts.iter().fold(PathBuf::from("/w"), |p, c| p.join(c));
            let r = rules(&[]);
            proptest::prop_assert_eq!(r.ignored(&path, false), hidden.is_some() || temp);

            let taken_back = Rules::with_includes(Path::new("/w"), "", &[], &[parts.last().unwrap().clone()]).unwrap();
            let folder_hidden = hidden.is_some_and(|i| i < parts.len() - 1);
            proptest::prop_assert_eq!(taken_back.ignored(&path, false), folder_hidden);
        }
    }
}

//! Where a downloaded key lands on disk: always inside the chosen folder.
//!
//! A key is a server's string, not a path. Each `/`-separated segment becomes one path component;
//! anything that could climb out of the folder or mean something special to the file system is
//! refused with a message naming the key: `.` and `..`, empty segments (`a//b`, a leading `/`),
//! backslashes, NUL and control characters, and on Windows drive letters, reserved device names and
//! trailing dots or spaces.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The path for `rel_key` (a key with the downloaded prefix removed) under `root`.
pub fn local_path_for_key(root: &Path, rel_key: &str) -> Result<PathBuf> {
    let refuse = |why: &str| {
        Err(Error::invalid(format!(
            "the key `{}` cannot be saved safely ({why}); it was skipped",
            rel_key.escape_debug()
        )))
    };
    if rel_key.is_empty() {
        return refuse("it is empty");
    }
    let mut out = root.to_path_buf();
    for seg in rel_key.split('/') {
        if seg.is_empty() {
            return refuse("it has an empty path segment");
        }
        if seg == "." || seg == ".." {
            return refuse("it contains `.` or `..`");
        }
        if seg.contains('\\') {
            return refuse("it contains a backslash");
        }
        if seg.chars().any(|c| c.is_control()) {
            return refuse("it contains a control character");
        }
        if cfg!(windows) && windows_unsafe(seg) {
            return refuse("it uses a name Windows reserves");
        }
        let p = Path::new(seg);
        if p.components().count() != 1
            || !matches!(p.components().next(), Some(Component::Normal(_)))
        {
            return refuse("it is not a plain name");
        }
        out.push(seg);
    }
    debug_assert!(out.starts_with(root));
    Ok(out)
}

fn windows_unsafe(seg: &str) -> bool {
    let upper = seg.to_ascii_uppercase();
    let stem = upper.split('.').next().unwrap_or("");
    let reserved = ["CON", "PRN", "AUX", "NUL"].contains(&stem)
        || ((stem.starts_with("COM") || stem.starts_with("LPT"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    reserved
        || seg.contains(':')
        || seg.ends_with('.')
        || seg.ends_with(' ')
        || seg.contains(['<', '>', '"', '|', '?', '*'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_keys_map_under_the_root() {
        let root = Path::new("/dl");
        assert_eq!(
            local_path_for_key(root, "a/b/ünïcødé.txt").unwrap(),
            PathBuf::from("/dl/a/b/ünïcødé.txt")
        );
    }

    #[test]
    fn names_windows_reserves_are_recognised() {
        for bad in [
            "C:x", "C:\\x", "CON", "con", "nul.txt", "COM1", "lpt9.log", "aux", "dot.", "space ",
            "a?b", "a*b", "a|b", "a<b>",
        ] {
            assert!(windows_unsafe(bad), "{bad}");
        }
        for ok in ["CONSOLE", "null.txt", "COM10", "report.pdf", "ünï.txt"] {
            assert!(!windows_unsafe(ok), "{ok}");
        }
    }

    #[test]
    fn keys_that_could_escape_are_refused() {
        let root = Path::new("/dl");
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a//b",
            "a\\..\\x",
            "a/./b",
            "nul\0byte",
            "ctl\u{1}x",
            "",
        ] {
            let e = local_path_for_key(root, bad).unwrap_err();
            assert!(
                e.message.contains("cannot be saved safely"),
                "{bad}: {}",
                e.message
            );
        }
    }

    proptest::proptest! {
        /// Whatever a server calls a key, its file lands inside the chosen folder, one plain path
        /// component per segment, or the key is refused.
        #[test]
        fn no_key_ever_leaves_the_folder(key in "([a-z.\\\\/ ]|\\PC|[\\x00-\\x1f]){0,40}") {
            let root = Path::new("/downloads/here");
            if let Ok(p) = local_path_for_key(root, &key) {
                proptest::prop_assert!(p.starts_with(root));
                let rest = p.strip_prefix(root).unwrap();
                proptest::prop_assert_eq!(rest.components().count(), key.split('/').count());
                proptest::prop_assert!(rest.components().all(|c| matches!(c, Component::Normal(_))));
            }
        }
    }
}

//! When the state database is checked at open.
//!
//! `PRAGMA quick_check` reads the whole file: 1 s for the 600 MB database a million finished
//! transfers leave (on tmpfs; more from a cold disk), paid by every `ferry` command and every start
//! of the app. It finds damage done to the file from outside (a disk fault, another program); a
//! crash cannot cause any (SQLite's journal sees to that). So the check is skipped when the file is
//! exactly as the last process to use it left it on a clean close: the same size and modification
//! time (nanoseconds), recorded then in `<db>.checked`, and that record less than a week old. A
//! file changed since in any way (written by a process that did not close cleanly, or by anything
//! else) is checked; so is every database once a week. BENCHMARKS.md lists this among the changes
//! that trade safety for speed: damage that leaves a file's size and time alone (bit rot) is found
//! by the weekly check or by SQLite when it reads the page, not at open.

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

/// How old a clean close's record may be and still spare the check.
const TRUSTED_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

fn record_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".checked");
    PathBuf::from(name)
}

/// The database file's size and modification time, as recorded.
fn stamp(db: &Path) -> Option<String> {
    let m = std::fs::metadata(db).ok()?;
    let ns = m
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_nanos();
    Some(format!("{} {ns}\n", m.len()))
}

/// Whether the file is as a clean close left it (recently); the record is used up either way, so
/// a process that then dies leaves none behind.
pub(super) fn unchanged_since_clean_close(db: &Path) -> bool {
    let record = record_path(db);
    let recent = std::fs::metadata(&record)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age < TRUSTED_FOR);
    let recorded = std::fs::read_to_string(&record).ok();
    let _ = std::fs::remove_file(&record);
    recent && recorded.is_some() && recorded == stamp(db)
}

/// Records the file as this clean close leaves it.
pub(super) fn record_clean_close(db: &Path) {
    if let Some(s) = stamp(db) {
        let _ = std::fs::write(record_path(db), s);
    }
}

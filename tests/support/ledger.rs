//! The fault ledger: every fault a test injects for real is noted here by kind, so that `make test`
//! can say after the suite how many of each were injected and came through (tests/fault_summary.py
//! adds them up). One file per test process under `target/tmp/fault-ledger/`, a line per note
//! (`kind<TAB>count`); the Makefile empties the folder before the suite.

use std::io::Write;
use std::sync::Mutex;

static FILE: Mutex<Option<std::fs::File>> = Mutex::new(None);

/// Notes `count` faults of `kind` (e.g. "connection cut"); nothing when `count` is 0.
pub fn note(kind: &str, count: usize) {
    if count == 0 {
        return;
    }
    let mut file = FILE.lock().unwrap_or_else(|p| p.into_inner());
    if file.is_none() {
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fault-ledger");
        let _ = std::fs::create_dir_all(&dir);
        *file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{}.tsv", std::process::id())))
            .ok();
    }
    if let Some(f) = file.as_mut() {
        let _ = writeln!(f, "{kind}\t{count}");
    }
}

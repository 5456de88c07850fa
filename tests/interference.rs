//! The local world changing under a transfer: a source file edited during or between upload
//! attempts, and a destination disk that fills up during a download.

use std::io::Write;

use ferry::{ErrorKind, Limits, State};

use crate::support::ledger;
use crate::support::{
    data, output, parts_of, run_held, run_one, spawn_held, stderr, tree, url, wait_child, Harness,
    Hold, BUCKET, MIB,
};

/// Appends to a file, so its size (and mtime) change whatever the clock's resolution.
fn append(path: &std::path::Path, bytes: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(bytes).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_changed_during_an_upload_stops_it_and_aborts_the_multipart_upload() {
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    let src = h.file("log.bin", &data(30 * MIB, 31));
    let enq = engine
        .enqueue_upload(&h.conn(), &src, &url("log.bin"), &parts_of(5 * MIB))
        .await
        .unwrap();
    let id = enq.ids[0].clone();
    let run = run_held(&h, &engine, &enq.ids, Hold::PartsFrom(3), 2).await;
    append(&src, b"a new line");
    h.log.release();
    let outcome = run.await.unwrap().remove(0);
    let e = outcome.result.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Changed, "{}", e.message);
    assert!(e.message.contains("Run `ferry cp` again"), "{}", e.message);
    let row = engine.transfer(&id).unwrap();
    assert_eq!(row.state, State::Failed);
    assert_eq!(row.error_kind.as_deref(), Some("changed"));
    assert!(
        h.open_uploads().await.is_empty(),
        "the multipart upload was left open"
    );
    assert_eq!(h.leftover_part_files(), 0);
    assert!(!h.object_exists("log.bin"), "a mixed object was completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_changed_between_attempts_is_refused_and_enqueueing_again_sends_the_new_version() {
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    let src = h.file("notes.bin", &data(20 * MIB, 32));
    let enq = engine
        .enqueue_upload(&h.conn(), &src, &url("notes.bin"), &parts_of(5 * MIB))
        .await
        .unwrap();
    let id = enq.ids[0].clone();
    let run = run_held(&h, &engine, &enq.ids, Hold::PartsFrom(3), 2).await;
    engine.pause(&id).unwrap();
    h.log.release();
    let paused = run.await.unwrap().remove(0);
    assert_eq!(paused.result.unwrap_err().kind, ErrorKind::Interrupted);
    assert_eq!(h.open_uploads().await.len(), 1, "a pause keeps the upload");

    let new_bytes = data(20 * MIB + 5, 33);
    std::fs::write(&src, &new_bytes).unwrap();
    engine.resume(&id).unwrap();
    let e = run_one(&engine, &id).await;
    assert_eq!(e.unwrap_err().kind, ErrorKind::Changed);
    assert!(h.open_uploads().await.is_empty());
    assert!(!h.object_exists("notes.bin"));

    // Asking again for the same upload sends the new content as a fresh transfer.
    let again = engine
        .enqueue_upload(&h.conn(), &src, &url("notes.bin"), &parts_of(5 * MIB))
        .await
        .unwrap();
    assert_eq!(again.resumed, 0);
    assert_ne!(again.ids[0], id);
    for o in engine.run(&again.ids).await {
        o.result.unwrap();
    }
    assert_eq!(h.object("notes.bin"), new_bytes);
    assert_eq!(engine.transfer(&id).unwrap().state, State::Cancelled);
    assert!(h.open_uploads().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rerunning_ferry_cp_after_the_source_changed_uploads_the_new_version() {
    let h = Harness::new().await;
    let src = h.file("db.dump", &data(30 * MIB, 34));
    let dst = format!("s3://{BUCKET}/db.dump");
    let args = [
        "cp",
        src.to_str().unwrap(),
        &dst,
        "--part-size",
        "5MiB",
        "--parts",
        "2",
    ];
    let (first, store, _) = spawn_held(&h, &args, Hold::PartsFrom(3), 2).await;
    let new_bytes = data(31 * MIB, 35);
    std::fs::write(&src, &new_bytes).unwrap();
    h.log.release();
    let out = wait_child(first).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("changed since its upload started"),
        "{}",
        stderr(&out)
    );
    assert!(h.open_uploads().await.is_empty());
    assert!(!h.object_exists("db.dump"));

    let out = output(&h, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(h.object("db.dump"), new_bytes);
    let rows = store.list().unwrap();
    assert_eq!(rows.len(), 2, "the new version is a fresh transfer");
    assert_eq!(
        rows.iter().filter(|r| r.state == State::Completed).count(),
        1
    );
    assert!(h.open_uploads().await.is_empty());
}

/// A small tmpfs mounted for one test, unmounted when dropped.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: std::path::PathBuf, mib: usize) -> SmallDisk {
        std::fs::create_dir_all(&dir).unwrap();
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "mounting a {mib} MiB tmpfs at {} failed (these tests run as root)",
            dir.display()
        );
        SmallDisk(dir)
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_pauses_a_download_without_a_truncated_file_and_resume_finishes_it() {
    ledger::note("download disk full", 1);
    let h = Harness::new().await;
    let bytes = data(12 * MIB, 36);
    h.put("big.bin", bytes.clone()).await;
    let disk = SmallDisk::mount(h.work.path().join("disk"), 16);
    let filler = disk.0.join("filler");
    std::fs::write(&filler, data(10 * MIB, 37)).unwrap();
    let dl = disk.0.join("dl");
    std::fs::create_dir(&dl).unwrap();
    let args = [
        "cp",
        &format!("s3://{BUCKET}/big.bin"),
        dl.to_str().unwrap(),
        "--part-size",
        "5MiB",
    ];
    let out = output(&h, &args).await;
    assert!(
        !out.status.success()
            && stderr(&out).contains("paused")
            && stderr(&out).contains("free some space"),
        "{}",
        stderr(&out)
    );
    let rows = h.store().list().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, State::Paused);
    assert_eq!(rows[0].error_kind.as_deref(), Some("storage"));
    let msg = rows[0].error_message.clone().unwrap_or_default();
    assert!(msg.contains("free some space"), "{msg}");
    assert!(
        !dl.join("big.bin").exists(),
        "a truncated destination file was created"
    );

    std::fs::remove_file(&filler).unwrap();
    let out = output(&h, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        tree(&dl),
        vec![("big.bin".to_string(), bytes)],
        "the download is whole and no temporary file is left"
    );
    assert_eq!(h.store().list().unwrap()[0].state, State::Completed);
}

/// Fills `dir`'s file system until a write fails (what is left is a few KiB at most).
fn fill(dir: &std::path::Path) -> std::path::PathBuf {
    use std::io::Write;
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![7u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let small = vec![7u8; 512];
    while f.write_all(&small).is_ok() {}
    let _ = f.sync_all();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_under_the_state_database_is_said_plainly_and_nothing_is_half_made() {
    ledger::note("state database disk full", 1);
    let h = Harness::new().await;
    let disk = SmallDisk::mount(h.work.path().join("state-disk"), 4);
    let state = disk.0.join("state");
    let file = h.file("report.pdf", &data(300_000, 41));
    let ferry = |args: &[&str]| {
        let mut cmd = h.ferry();
        cmd.env("FERRY_STATE_DIR", &state).args(args);
        crate::support::output_of(cmd)
    };
    // The database exists (an earlier run), then the disk fills up.
    let out = ferry(&["transfers"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let filler = fill(&disk.0);

    let dst = format!("s3://{BUCKET}/docs/");
    let out = ferry(&["cp", file.to_str().unwrap(), &dst]).await;
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("full") && err.contains("free some space"),
        "{err}"
    );
    assert!(err.contains(&state.display().to_string()), "{err}");
    assert!(
        !h.object_exists("docs/report.pdf"),
        "an upload ran without its row"
    );

    std::fs::remove_file(&filler).unwrap();
    let out = ferry(&["cp", file.to_str().unwrap(), &dst]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(h.object("docs/report.pdf"), data(300_000, 41));
    assert_eq!(crate::support::integrity(&state.join("ferry.db")), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_state_database_is_kept_aside_and_reported_and_ferry_goes_on() {
    ledger::note("damaged state database", 1);
    let h = Harness::new().await;
    let file = h.file("a.txt", b"after the damage");
    let out = output(&h, &["transfers"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    // A page in the middle of the file overwritten: SQLite finds it when it checks the file.
    let db = h.state.path().join("ferry.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let len = bytes.len();
    assert!(len > 8192, "the database is at least two pages");
    bytes[4096..len].fill(0xA5);
    std::fs::write(&db, &bytes).unwrap();

    let dst = format!("s3://{BUCKET}/after/");
    let out = output(&h, &["cp", file.to_str().unwrap(), &dst]).await;
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("damaged") && err.contains("kept aside at"),
        "{err}"
    );
    let kept: Vec<_> = std::fs::read_dir(h.state.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("ferry.db.damaged-")
        })
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(err.contains(&kept[0].display().to_string()), "{err}");
    assert_eq!(
        std::fs::read(&kept[0]).unwrap(),
        bytes,
        "the damaged file is kept whole"
    );
    assert_eq!(h.object("after/a.txt"), b"after the damage");
    assert_eq!(crate::support::integrity(&db), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_disk_filling_up_during_an_upload_pauses_it_and_resume_finishes_it() {
    ledger::note("state disk filling up during an upload", 1);
    let h = Harness::new().await;
    let disk = SmallDisk::mount(h.work.path().join("state-disk"), 4);
    let state = disk.0.join("state");
    let bytes = data(3 * 5 * MIB + 11, 42);
    let file = h.file("big.bin", &bytes);
    let args = [
        "cp",
        file.to_str().unwrap(),
        &format!("s3://{BUCKET}/big.bin"),
        "--part-size",
        "5MiB",
        "--parts",
        "1",
    ];
    let spawn_ferry = || {
        let mut cmd = h.ferry();
        cmd.env("FERRY_STATE_DIR", &state)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().unwrap()
    };
    h.log.hold_parts_from(2);
    let child = spawn_ferry();
    crate::support::wait_part_sent(&h, "big.bin", 2).await;
    let filler = fill(&disk.0);
    h.log.release();
    let out = crate::support::wait_child(child).await;
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("paused") && err.contains("full") && err.contains("free some space"),
        "{err}"
    );

    std::fs::remove_file(&filler).unwrap();
    let mut cmd = h.ferry();
    cmd.env("FERRY_STATE_DIR", &state).args(args);
    let out = crate::support::output_of(cmd).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(h.object("big.bin"), bytes);
    assert_eq!(crate::support::integrity(&state.join("ferry.db")), "ok");
    let sent = h.log.part_counts("big.bin");
    assert_eq!(sent.get(&1), Some(&1), "part 1 was kept: {sent:?}");
}

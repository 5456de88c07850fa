//! Watched folders: files that appear or change in a folder arrive on the server once, complete,
//! through the ordinary queue; hidden, temporary and ignored files never do; a crash or a stop loses
//! nothing; the CLI manages the folders and refuses bad input without leaving a row.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ferry::{Engine, NewWatchedFolder, State, WatchState, WatchedFolder, Watches};
use tokio::sync::broadcast::error::TryRecvError;

use crate::support::ledger;
use crate::support::{
    data, interrupt, kill, output, spawn, stderr, wait_until, watched_file, watched_file_count,
    Harness, BUCKET, MIB,
};

fn folder(dir: &Path, prefix: &str, ignore: &[&str]) -> NewWatchedFolder {
    NewWatchedFolder {
        path: dir.display().to_string(),
        account: crate::support::ACCOUNT.into(),
        bucket: BUCKET.into(),
        prefix: prefix.into(),
        ignore: ignore.iter().map(|s| s.to_string()).collect(),
        mirror_deletes: false,
    }
}

fn mtime_ns(p: &Path) -> i64 {
    std::fs::metadata(p)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

/// An engine watching a fresh folder `work/<name>` into `prefix`.
async fn watching(
    h: &Harness,
    settle: Duration,
    name: &str,
    prefix: &str,
    ignore: &[&str],
) -> (Engine, Watches, WatchedFolder, PathBuf) {
    let dir = h.work.path().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let (engine, watches) = h.watching_engine(settle).await;
    watches.start_all().unwrap();
    let f = watches
        .add(&h.conn(), &folder(&dir, prefix, ignore))
        .await
        .unwrap();
    wait_until("the folder is watched", || {
        watches.get(&f.id).unwrap().state == WatchState::Watching
    })
    .await;
    (engine, watches, f, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_written_slowly_is_uploaded_once_complete_after_it_settles() {
    let h = Harness::new().await;
    // Pieces 100 ms apart, well inside the settle time: the file is never seen as finished early.
    let (engine, watches, f, dir) = watching(&h, Duration::from_secs(1), "inbox", "in/", &[]).await;
    let bytes = data(300_000, 1);
    let path = dir.join("report.pdf");
    let mut file = std::fs::File::create(&path).unwrap();
    for piece in bytes.chunks(30_000) {
        file.write_all(piece).unwrap();
        file.flush().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(file);

    wait_until("the upload is recorded", || {
        watched_file(&h, "in/report.pdf").is_some()
    })
    .await;
    assert_eq!(h.object("in/report.pdf"), bytes);
    assert_eq!(
        h.log.put_count("in/report.pdf"),
        1,
        "a half-written version was sent"
    );
    let (size, mtime, crc) = watched_file(&h, "in/report.pdf").unwrap();
    assert_eq!(size, bytes.len() as u64);
    assert_eq!(mtime, mtime_ns(&path));
    assert_eq!(crc, crc32c::crc32c(&bytes));
    // It went through the ordinary queue.
    let rows = engine.transfers().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].key, "in/report.pdf");
    assert_eq!(rows[0].state, State::Completed);
    let shown = watches.get(&f.id).unwrap();
    assert_eq!(shown.recent.len(), 1);
    assert_eq!(shown.recent[0].key, "in/report.pdf");
    assert_eq!(shown.recent[0].size, bytes.len() as u64);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_500_files_all_arrive_once_and_ignored_files_never_do() {
    let h = Harness::new().await;
    let (engine, watches, f, dir) = watching(
        &h,
        Duration::from_millis(300),
        "burst",
        "burst/",
        &["*.log", "scratch/"],
    )
    .await;
    let mut changes = watches.subscribe();
    let ignored = [
        ".hidden",
        ".DS_Store",
        "~$report.docx",
        "draft.tmp",
        "movie.mkv.part",
        "d1/.cache/blob",
        "debug.log",
        "d2/trace.log",
        "scratch/notes.txt",
    ];
    for name in ignored {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"never uploaded").unwrap();
    }
    let key = |i: usize| format!("burst/d{}/f{i:03}.txt", i % 10);
    for i in 0..500 {
        let p = dir.join(format!("d{}/f{i:03}.txt", i % 10));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data(100 + i, i as u64)).unwrap();
    }

    wait_until("500 uploads recorded", || watched_file_count(&h) == 500).await;
    for i in 0..500 {
        assert_eq!(h.object(&key(i)), data(100 + i, i as u64), "{}", key(i));
        assert_eq!(
            h.log.put_count(&key(i)),
            1,
            "{} sent more than once",
            key(i)
        );
    }
    assert_eq!(
        h.log.puts.lock().unwrap().len(),
        500,
        "something other than the 500 files was sent"
    );
    for name in ignored {
        assert!(
            !h.object_exists(&format!("burst/{name}")),
            "{name} was uploaded"
        );
    }
    let shown = watches.get(&f.id).unwrap();
    assert_eq!(shown.state, WatchState::Watching);
    assert_eq!(shown.recent.len(), 20);
    assert!(shown
        .recent
        .windows(2)
        .all(|w| w[0].uploaded_at >= w[1].uploaded_at));
    // Subscribers heard about it.
    let mut heard = 0;
    loop {
        match changes.try_recv() {
            Ok(v) if v.id == f.id && !v.recent.is_empty() => heard += 1,
            Ok(_) | Err(TryRecvError::Lagged(_)) => {}
            Err(_) => break,
        }
    }
    assert!(heard > 0, "no watch://state change was broadcast");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_file_is_sent_again_and_a_touched_one_is_not() {
    let h = Harness::new().await;
    let (engine, _watches, _f, dir) =
        watching(&h, Duration::from_millis(300), "docs", "", &[]).await;
    let a = dir.join("a.txt");
    let b = dir.join("notes/b.txt");
    std::fs::create_dir_all(b.parent().unwrap()).unwrap();
    std::fs::write(&a, b"first version").unwrap();
    std::fs::write(&b, b"stays the same").unwrap();
    wait_until("both uploaded", || {
        watched_file(&h, "a.txt").is_some() && watched_file(&h, "notes/b.txt").is_some()
    })
    .await;
    assert_eq!(h.object("a.txt"), b"first version");

    std::fs::write(&a, b"the second, longer version").unwrap();
    let later = SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options()
        .write(true)
        .open(&b)
        .unwrap()
        .set_modified(later)
        .unwrap();
    let touched = mtime_ns(&b);
    wait_until("the new version is recorded", || {
        watched_file(&h, "a.txt").is_some_and(|r| r.0 == 26)
    })
    .await;
    wait_until("the touch is noticed", || {
        watched_file(&h, "notes/b.txt").is_some_and(|r| r.1 == touched)
    })
    .await;
    assert_eq!(h.object("a.txt"), b"the second, longer version");
    assert_eq!(h.log.put_count("a.txt"), 2);
    assert_eq!(
        h.log.put_count("notes/b.txt"),
        1,
        "an unchanged file was sent again"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_changed_during_its_upload_is_sent_again_with_the_new_content() {
    let h = Harness::new().await;
    let (engine, _watches, _f, dir) =
        watching(&h, Duration::from_millis(300), "edits", "e/", &[]).await;
    let path = dir.join("big.bin");
    // Parts of 8, 8 and 1 MiB (files up to 16 MiB go whole); the second is held while the file
    // changes.
    h.log.hold_parts_from(2);
    std::fs::write(&path, data(17 * MIB, 1)).unwrap();
    wait_until("part 2 in flight", || {
        h.log.part_counts("e/big.bin").contains_key(&2)
    })
    .await;
    let v2 = data(17 * MIB + 5, 2);
    std::fs::write(&path, &v2).unwrap();
    h.log.release();

    wait_until("the new version is recorded", || {
        watched_file(&h, "e/big.bin").is_some_and(|r| r.0 == v2.len() as u64)
    })
    .await;
    assert_eq!(h.object("e/big.bin"), v2, "a mix of versions was stored");
    let states: Vec<State> = engine
        .transfers()
        .unwrap()
        .iter()
        .filter(|t| t.key == "e/big.bin")
        .map(|t| t.state)
        .collect();
    assert_eq!(states, [State::Cancelled, State::Completed]);
    assert!(h.open_uploads().await.is_empty());
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_added_while_nobody_watched_are_found_on_the_next_start() {
    let h = Harness::new().await;
    let (engine, _watches, f, dir) =
        watching(&h, Duration::from_millis(300), "camera", "cam/", &[]).await;
    std::fs::write(dir.join("one.jpg"), data(1000, 1)).unwrap();
    wait_until("one.jpg uploaded", || {
        watched_file(&h, "cam/one.jpg").is_some()
    })
    .await;
    engine.shutdown().await;

    std::fs::write(dir.join("two.jpg"), data(2000, 2)).unwrap();
    std::fs::create_dir(dir.join("2024")).unwrap();
    std::fs::write(dir.join("2024/three.jpg"), data(3000, 3)).unwrap();

    let (engine, watches) = h.watching_engine(Duration::from_millis(300)).await;
    let mut changes = watches.subscribe();
    assert_eq!(watches.start_all().unwrap(), 1);
    wait_until("the missed files are uploaded", || {
        watched_file(&h, "cam/two.jpg").is_some()
            && watched_file(&h, "cam/2024/three.jpg").is_some()
    })
    .await;
    assert_eq!(h.object("cam/two.jpg"), data(2000, 2));
    assert_eq!(h.object("cam/2024/three.jpg"), data(3000, 3));
    assert_eq!(h.log.put_count("cam/one.jpg"), 1);
    wait_until("watching again", || {
        watches.get(&f.id).unwrap().state == WatchState::Watching
    })
    .await;
    let mut states = Vec::new();
    while let Ok(v) = changes.try_recv() {
        states.push(v.state);
    }
    assert_eq!(
        states.first(),
        Some(&WatchState::CatchingUp),
        "the rescan was not shown: {states:?}"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_stops_uploads_and_resume_catches_up() {
    let h = Harness::new().await;
    let (engine, watches, f, dir) =
        watching(&h, Duration::from_millis(300), "paused", "p/", &[]).await;
    let paused = watches.pause(&f.id).unwrap();
    assert_eq!(paused.state, WatchState::Paused);
    std::fs::write(dir.join("while-paused.txt"), b"later").unwrap();
    let resumed = watches.resume(&f.id).unwrap();
    assert_ne!(resumed.state, WatchState::Paused);
    wait_until("uploaded after resume", || {
        watched_file(&h, "p/while-paused.txt").is_some()
    })
    .await;
    assert_eq!(h.object("p/while-paused.txt"), b"later");

    watches.remove(&f.id).unwrap();
    assert!(watches.list().unwrap().is_empty());
    assert_eq!(
        watched_file_count(&h),
        0,
        "the folder's records outlived it"
    );
    assert!(
        h.object_exists("p/while-paused.txt"),
        "removing deleted objects"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_and_resume_from_the_cli_reach_the_watching_process() {
    let h = Harness::new().await;
    let (engine, watches, f, dir) =
        watching(&h, Duration::from_millis(300), "shared", "s/", &[]).await;
    let mut changes = watches.subscribe();
    let short = ferry::format::short_id(&f.id).to_string();
    let mut states = Vec::new();
    let mut heard = |changes: &mut tokio::sync::broadcast::Receiver<WatchedFolder>| {
        while let Ok(v) = changes.try_recv() {
            if v.id == f.id {
                states.push(v.state);
            }
        }
        states.clone()
    };

    let out = output(&h, &["watch", "pause", &short]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    wait_until("the watching process stops", || {
        heard(&mut changes).contains(&WatchState::Paused)
    })
    .await;
    std::fs::write(dir.join("during-pause.txt"), b"written while paused").unwrap();
    let out = output(&h, &["watch", "resume", &short]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    wait_until("uploaded after the resume", || {
        watched_file(&h, "s/during-pause.txt").is_some()
    })
    .await;
    assert_eq!(h.object("s/during-pause.txt"), b"written while paused");
    // The watching process restarted the folder itself, catching up with what changed meanwhile.
    wait_until("the catch-up is shown", || {
        heard(&mut changes).contains(&WatchState::CatchingUp)
    })
    .await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_are_mirrored_only_when_asked_and_only_for_uploaded_objects() {
    let h = Harness::new().await;
    h.put("m/not-ours.txt", b"someone else's".to_vec()).await;
    let dir = h.work.path().join("mirror");
    std::fs::create_dir(&dir).unwrap();
    let plain_dir = h.work.path().join("plain");
    std::fs::create_dir(&plain_dir).unwrap();
    let (engine, watches) = h.watching_engine(Duration::from_millis(300)).await;
    watches.start_all().unwrap();
    let mut mirrored = folder(&dir, "m/", &[]);
    mirrored.mirror_deletes = true;
    watches.add(&h.conn(), &mirrored).await.unwrap();
    watches
        .add(&h.conn(), &folder(&plain_dir, "plain/", &[]))
        .await
        .unwrap();
    std::fs::write(dir.join("gone.txt"), b"x").unwrap();
    std::fs::write(plain_dir.join("kept.txt"), b"y").unwrap();
    wait_until("both uploaded", || {
        watched_file(&h, "m/gone.txt").is_some() && watched_file(&h, "plain/kept.txt").is_some()
    })
    .await;

    std::fs::remove_file(dir.join("gone.txt")).unwrap();
    std::fs::remove_file(plain_dir.join("kept.txt")).unwrap();
    // The object goes first, then the folder's record of it.
    wait_until("the mirrored delete", || {
        !h.object_exists("m/gone.txt") && watched_file(&h, "m/gone.txt").is_none()
    })
    .await;
    // Deleting a file in the plain folder leaves its object; the foreign object stays as well.
    std::fs::write(dir.join("marker.txt"), b"z").unwrap();
    wait_until("a later upload", || {
        watched_file(&h, "m/marker.txt").is_some()
    })
    .await;
    assert!(h.object_exists("plain/kept.txt"));
    assert!(h.object_exists("m/not-ours.txt"));
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_while_stopped_are_mirrored_on_start_but_an_emptied_folder_deletes_nothing() {
    let h = Harness::new().await;
    let settle = Duration::from_millis(300);
    let dir = h.work.path().join("m");
    std::fs::create_dir(&dir).unwrap();
    let (engine, watches) = h.watching_engine(settle).await;
    watches.start_all().unwrap();
    let mut new = folder(&dir, "m/", &[]);
    new.mirror_deletes = true;
    let f = watches.add(&h.conn(), &new).await.unwrap();
    std::fs::write(dir.join("a.txt"), b"a").unwrap();
    std::fs::write(dir.join("b.txt"), b"b").unwrap();
    wait_until("both uploaded", || watched_file_count(&h) == 2).await;
    engine.shutdown().await;

    std::fs::remove_file(dir.join("a.txt")).unwrap();
    let (engine, watches) = h.watching_engine(settle).await;
    watches.start_all().unwrap();
    wait_until("a.txt deleted by the catch-up", || {
        !h.object_exists("m/a.txt") && watched_file(&h, "m/a.txt").is_none()
    })
    .await;
    assert!(h.object_exists("m/b.txt"));
    engine.shutdown().await;

    // Emptied while stopped (an unmounted disk looks the same): nothing is deleted.
    std::fs::remove_file(dir.join("b.txt")).unwrap();
    let (engine, watches) = h.watching_engine(settle).await;
    let mut changes = watches.subscribe();
    watches.start_all().unwrap();
    let mut states = Vec::new();
    wait_until("the catch-up ends", || {
        while let Ok(v) = changes.try_recv() {
            states.push(v.state);
        }
        states.ends_with(&[WatchState::CatchingUp, WatchState::Watching])
    })
    .await;
    std::fs::write(dir.join("c.txt"), b"c").unwrap();
    wait_until("a later upload", || watched_file(&h, "m/c.txt").is_some()).await;
    assert!(
        h.object_exists("m/b.txt"),
        "an emptied folder deleted its objects"
    );
    assert!(watched_file(&h, "m/b.txt").is_some());
    assert_eq!(watches.get(&f.id).unwrap().state, WatchState::Watching);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watching_survives_a_sigkill_without_losing_or_duplicating_uploads() {
    let h = Harness::new().await;
    let dir = h.work.path().join("shoot");
    std::fs::create_dir(&dir).unwrap();
    let small: Vec<(String, Vec<u8>)> = (0..20)
        .map(|i| (format!("img{i:02}.raw"), data(50_000 + i, i as u64)))
        .collect();
    // 17 MiB: three parts of the default 8 MiB part size (files up to 16 MiB go whole).
    let big: Vec<(String, Vec<u8>)> = (0..3)
        .map(|i| (format!("video{i}.mov"), data(17 * MIB + i, 100 + i as u64)))
        .collect();
    for (name, bytes) in small.iter().chain(&big) {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let target = format!("s3://{BUCKET}/shoot/");
    let args = [
        "watch",
        "run",
        dir.to_str().unwrap(),
        &target,
        "--settle-ms",
        "300",
    ];

    // The second part of every big file is held, so the kill lands mid-way through their uploads.
    h.log.hold_parts_from(2);
    let child = spawn(&h, &args);
    let store = h.store_when_created().await;
    let done = |name: &str| {
        store
            .list()
            .unwrap()
            .iter()
            .any(|t| t.key == format!("shoot/{name}") && t.state == State::Completed)
    };
    let part_one = |name: &str| {
        store
            .list()
            .unwrap()
            .iter()
            .any(|t| t.key == format!("shoot/{name}") && store.parts(&t.id).unwrap().len() == 1)
    };
    wait_until(
        "small files done and part 1 of each big file committed",
        || small.iter().all(|(n, _)| done(n)) && big.iter().all(|(n, _)| part_one(n)),
    )
    .await;
    wait_until("part 2 of each big file in flight", || {
        big.iter()
            .all(|(n, _)| h.log.part_counts(&format!("shoot/{n}")).contains_key(&2))
    })
    .await;
    kill(child).await;
    h.log.release();
    // A file that arrives while nothing watches.
    let late = data(7_000, 999);
    std::fs::write(dir.join("late.raw"), &late).unwrap();

    let child = spawn(&h, &args);
    wait_until("everything recorded", || watched_file_count(&h) == 24).await;
    let out = interrupt(child).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("stopped"), "{}", stderr(&out));

    for (name, bytes) in &small {
        let key = format!("shoot/{name}");
        assert_eq!(&h.object(&key), bytes, "{key}");
        assert_eq!(
            h.log.put_count(&key),
            1,
            "{key} was sent again after the crash"
        );
    }
    for (name, bytes) in &big {
        let key = format!("shoot/{name}");
        assert_eq!(&h.object(&key), bytes, "{key}");
        let parts = h.log.part_counts(&key);
        assert_eq!(parts[&1], 1, "{key}: part 1 was sent again: {parts:?}");
        assert_eq!(parts.len(), 3, "{key}: {parts:?}");
    }
    assert_eq!(h.object("shoot/late.raw"), late);
    // One transfer per file: the restart continued the interrupted ones instead of adding new ones.
    let rows = store.list().unwrap();
    assert_eq!(rows.len(), 24, "{rows:#?}");
    assert!(rows.iter().all(|r| r.state == State::Completed));
    assert!(h.open_uploads().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_manages_watched_folders_and_refuses_bad_input_leaving_no_row() {
    let h = Harness::new().await;
    // Not watching here: only to read the folders the CLI saves.
    let (engine, watches) = h.watching_engine(Duration::from_secs(2)).await;
    let folders = || watches.list().unwrap();
    let dir = h.work.path().join("reports");
    std::fs::create_dir(&dir).unwrap();
    let dir_s = dir.to_str().unwrap();
    let target = format!("s3://{BUCKET}/reports");
    let out = output(
        &h,
        &[
            "watch",
            "add",
            dir_s,
            &target,
            "--ignore",
            "*.log",
            "--ignore",
            "build/",
            "--mirror-deletes",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = folders();
    assert_eq!(rows.len(), 1);
    let canonical = std::fs::canonicalize(&dir).unwrap();
    assert_eq!(rows[0].path, canonical.to_str().unwrap());
    assert_eq!(rows[0].bucket, BUCKET);
    assert_eq!(rows[0].prefix, "reports/");
    assert_eq!(rows[0].ignore, ["*.log", "build/"]);
    assert_eq!(rows[0].state, WatchState::Watching);
    assert!(rows[0].mirror_deletes);

    let out = output(&h, &["watch", "list", "--json"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["prefix"], "reports/");
    assert_eq!(listed[0]["mirrorDeletes"], true);
    let id = listed[0]["id"].as_str().unwrap().to_string();
    let short = ferry::format::short_id(&id).to_string();

    let out = output(&h, &["watch", "pause", &short]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(folders()[0].state, WatchState::Paused);
    let out = output(&h, &["watch", "list"]).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&short) && text.contains("paused") && text.contains(&target),
        "{text}"
    );
    let out = output(&h, &["watch", "resume", &short]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(folders()[0].state, WatchState::Watching);

    let out = output(&h, &["watch", "add", dir_s, &format!("{target}/")]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already watched"), "{}", stderr(&out));
    assert_eq!(folders().len(), 1);

    let out = output(&h, &["watch", "remove", &id]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(folders().is_empty());

    let file = h.file("single.txt", b"x");
    let missing = h.work.path().join("missing");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "add".into(),
                missing.to_str().unwrap().into(),
                target.clone(),
            ],
            "no such folder",
        ),
        (
            vec![
                "run".into(),
                missing.to_str().unwrap().into(),
                target.clone(),
            ],
            "no such folder",
        ),
        (
            vec!["add".into(), file.to_str().unwrap().into(), target.clone()],
            "is a file",
        ),
        (
            vec!["add".into(), dir_s.into(), "s3://no-such-bucket/x/".into()],
            "ferry mb s3://no-such-bucket",
        ),
        (
            vec!["add".into(), dir_s.into(), "s3://Bad_Bucket/x/".into()],
            "not a valid bucket name",
        ),
        (
            vec!["add".into(), dir_s.into(), "/not/s3".into()],
            "not an S3 location",
        ),
        (
            vec![
                "add".into(),
                dir_s.into(),
                target.clone(),
                "--ignore".into(),
                "{a,b".into(),
            ],
            "not a valid ignore pattern",
        ),
        (vec!["pause".into(), "nosuchid".into()], "no watched folder"),
        (
            vec!["remove".into(), "nosuchid".into()],
            "no watched folder",
        ),
    ];
    for (args, expect) in &cases {
        let mut all = vec!["watch"];
        all.extend(args.iter().map(String::as_str));
        let out = output(&h, &all).await;
        assert!(!out.status.success(), "{all:?} succeeded");
        let err = stderr(&out);
        assert!(
            err.contains(expect),
            "{all:?}: expected `{expect}` in:\n{err}"
        );
        assert!(folders().is_empty(), "{all:?} left a row behind");
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_watching_one_folder_upload_each_file_once() {
    ledger::note("two processes watching one folder", 1);
    let h = Harness::new().await;
    let (_engine, _watches, _f, dir) =
        watching(&h, Duration::from_millis(300), "shared", "shared/", &[]).await;
    // A second process watches the same folder into the same prefix.
    let target = format!("s3://{BUCKET}/shared/");
    let args = [
        "watch",
        "run",
        dir.to_str().unwrap(),
        &target,
        "--settle-ms",
        "300",
    ];
    let child = spawn(&h, &args);
    // Give the second process a moment to start its watcher (files it misses it catches up on).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let files: Vec<(String, Vec<u8>)> = (0..150)
        .map(|i| (format!("f{i:03}.bin"), data(2_000 + i, 300 + i as u64)))
        .collect();
    for (name, bytes) in &files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    wait_until("every file uploaded", || {
        files
            .iter()
            .all(|(n, _)| h.object_exists(&format!("shared/{n}")))
    })
    .await;
    // Let both settle on what they saw, then stop the second.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let out = interrupt(child).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let twice: Vec<(String, usize)> = files
        .iter()
        .map(|(n, _)| format!("shared/{n}"))
        .map(|k| (k.clone(), h.log.put_count(&k)))
        .filter(|(_, n)| *n != 1)
        .collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    for (name, bytes) in &files {
        assert_eq!(&h.object(&format!("shared/{name}")), bytes, "{name}");
    }
}

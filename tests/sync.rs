//! Sync against the real server: what each comparison mode decides both ways, modification times
//! that survive a round trip (and rclone's), a dry run that changes nothing and matches the run,
//! guarded deletes, a rerun after SIGKILL that sends only what was unfinished, and bucket-to-bucket
//! sync done by the server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ferry::{Compare, Engine, Limits, SyncAction, SyncOptions, SyncPlan, SyncSide};

use crate::support::server_faults::Failure;
use crate::support::{
    data, kill, output, quick_retries, spawn, stderr, tree, url, wait_until, Harness, BUCKET, MIB,
};

fn local(p: &Path) -> SyncSide {
    SyncSide::Local(p.to_path_buf())
}

fn remote(prefix: &str) -> SyncSide {
    SyncSide::Remote(url(prefix))
}

/// Each entry's action, by path, as the plan decides it (skips included).
async fn planned(
    engine: &Engine,
    h: &Harness,
    src: &SyncSide,
    dst: &SyncSide,
    opts: &SyncOptions,
) -> (SyncPlan, BTreeMap<String, SyncAction>) {
    let mut seen = BTreeMap::new();
    let plan = engine
        .plan_sync(&h.conn(), src, dst, opts, &mut |i| {
            seen.insert(i.path.clone(), i.action);
        })
        .await
        .unwrap();
    (plan, seen)
}

/// Plans and carries out a sync to its end: transfers run, then the guarded deletes.
async fn sync(
    engine: &Engine,
    h: &Harness,
    src: &SyncSide,
    dst: &SyncSide,
    opts: &SyncOptions,
) -> (SyncPlan, ferry::engine::SyncDeleted) {
    let (plan, _) = planned(engine, h, src, dst, opts).await;
    let started = engine.start_sync(&h.conn(), &plan).await.unwrap();
    engine.run(&started.enqueued.ids).await;
    let deleted = engine
        .finish_sync(&h.conn(), &plan, &started.enqueued.ids)
        .await
        .unwrap();
    (plan, deleted)
}

fn set_mtime(path: &Path, t: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn mtime(path: &Path) -> SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

/// Rewrites a file with other bytes of the same length, keeping its modification time.
fn sneak(path: &Path) {
    let before = mtime(path);
    let mut bytes = std::fs::read(path).unwrap();
    bytes[0] ^= 0xff;
    std::fs::write(path, bytes).unwrap();
    set_mtime(path, before);
}

fn actions(pairs: &[(&str, SyncAction)]) -> BTreeMap<String, SyncAction> {
    pairs.iter().map(|(p, a)| (p.to_string(), *a)).collect()
}

fn opts(compare: Compare) -> SyncOptions {
    SyncOptions {
        compare,
        delete: true,
        ..SyncOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_comparison_mode_decides_right_when_uploading() {
    use SyncAction::*;
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    let dir = h.work.path().join("up");
    for (name, seed) in [
        ("grown.txt", 1),
        ("touched.txt", 2),
        ("sneaky.txt", 3),
        ("same.txt", 4),
        ("gone.txt", 5),
    ] {
        h.file(&format!("up/{name}"), &data(1000, seed));
    }
    let (src, dst) = (local(&dir), remote("up/"));
    let (first, _) = sync(&engine, &h, &src, &dst, &opts(Compare::SizeAndTime)).await;
    assert_eq!(first.totals.uploads, 5);

    h.file("up/new.txt", b"new");
    std::fs::write(dir.join("grown.txt"), data(1001, 1)).unwrap();
    std::fs::write(dir.join("touched.txt"), data(1000, 22)).unwrap();
    set_mtime(
        &dir.join("touched.txt"),
        SystemTime::now() + Duration::from_secs(120),
    );
    sneak(&dir.join("sneaky.txt"));
    std::fs::remove_file(dir.join("gone.txt")).unwrap();

    let (time_plan, by_time) = planned(&engine, &h, &src, &dst, &opts(Compare::SizeAndTime)).await;
    let (_, by_size) = planned(&engine, &h, &src, &dst, &opts(Compare::SizeOnly)).await;
    let (content_plan, by_content) =
        planned(&engine, &h, &src, &dst, &opts(Compare::Checksum)).await;
    assert_eq!(
        by_time,
        actions(&[
            ("gone.txt", Delete),
            ("grown.txt", Upload),
            ("new.txt", Upload),
            ("same.txt", Skip),
            ("sneaky.txt", Skip),
            ("touched.txt", Upload)
        ]),
        "{:?}",
        time_plan.items
    );
    assert_eq!(
        by_size,
        actions(&[
            ("gone.txt", Delete),
            ("grown.txt", Upload),
            ("new.txt", Upload),
            ("same.txt", Skip),
            ("sneaky.txt", Skip),
            ("touched.txt", Skip)
        ])
    );
    assert_eq!(
        by_content,
        actions(&[
            ("gone.txt", Delete),
            ("grown.txt", Upload),
            ("new.txt", Upload),
            ("same.txt", Skip),
            ("sneaky.txt", Upload),
            ("touched.txt", Upload)
        ]),
        "{:?}",
        content_plan.items
    );

    // Carried out by content: the bucket holds exactly the folder.
    let (_, deleted) = sync(&engine, &h, &src, &dst, &opts(Compare::Checksum)).await;
    assert_eq!(deleted.deleted, 1);
    for (rel, bytes) in tree(&dir) {
        assert_eq!(h.object(&format!("up/{rel}")), bytes, "{rel}");
    }
    assert!(!h.object_exists("up/gone.txt"));
    let (again, _) = planned(&engine, &h, &src, &dst, &opts(Compare::Checksum)).await;
    assert!(again.changes_nothing(), "{:?}", again.items);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_comparison_mode_decides_right_when_downloading() {
    use SyncAction::*;
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    for (name, seed) in [
        ("grown.txt", 1),
        ("touched.txt", 2),
        ("sneaky.txt", 3),
        ("same.txt", 4),
    ] {
        h.put(&format!("down/{name}"), data(1000, seed)).await;
    }
    let dir = h.work.path().join("down");
    h.file("down/gone.txt", b"only here");
    let (src, dst) = (remote("down"), local(&dir));
    let (first, deleted) = sync(&engine, &h, &src, &dst, &opts(Compare::SizeAndTime)).await;
    assert_eq!((first.totals.downloads, deleted.deleted), (4, 1));
    assert!(!dir.join("gone.txt").exists());

    h.put("down/new.txt", b"new".to_vec()).await;
    h.put("down/grown.txt", data(1001, 1)).await;
    // Same size, another time (as another client would keep it) and other bytes.
    put_with_mtime(&h, "down/touched.txt", data(1000, 22), "1700000000").await;
    // Same size, and the very time the file has, kept as rclone keeps it, but other bytes.
    let kept = ferry::transfer::mtime_text(ferry::transfer::mtime_ns(
        &std::fs::metadata(dir.join("sneaky.txt")).unwrap(),
    ));
    let mut other = data(1000, 3);
    other[0] ^= 0xff;
    put_with_mtime(&h, "down/sneaky.txt", other, &kept).await;
    h.file("down/gone.txt", b"only here");

    let (time_plan, by_time) = planned(&engine, &h, &src, &dst, &opts(Compare::SizeAndTime)).await;
    let (_, by_size) = planned(&engine, &h, &src, &dst, &opts(Compare::SizeOnly)).await;
    let (content_plan, by_content) =
        planned(&engine, &h, &src, &dst, &opts(Compare::Checksum)).await;
    assert_eq!(
        by_time,
        actions(&[
            ("gone.txt", Delete),
            ("grown.txt", Download),
            ("new.txt", Download),
            ("same.txt", Skip),
            ("sneaky.txt", Skip),
            ("touched.txt", Download)
        ]),
        "{:?}",
        time_plan.items
    );
    assert_eq!(
        by_size,
        actions(&[
            ("gone.txt", Delete),
            ("grown.txt", Download),
            ("new.txt", Download),
            ("same.txt", Skip),
            ("sneaky.txt", Skip),
            ("touched.txt", Skip)
        ])
    );
    assert_eq!(
        by_content,
        actions(&[
            ("gone.txt", Delete),
            ("grown.txt", Download),
            ("new.txt", Download),
            ("same.txt", Skip),
            ("sneaky.txt", Download),
            ("touched.txt", Download)
        ]),
        "{:?}",
        content_plan.items
    );
    sync(&engine, &h, &src, &dst, &opts(Compare::Checksum)).await;
    for (rel, bytes) in tree(&dir) {
        assert_eq!(h.object(&format!("down/{rel}")), bytes, "{rel}");
    }
    assert!(!dir.join("gone.txt").exists());
}

async fn put_with_mtime(h: &Harness, key: &str, bytes: Vec<u8>, mtime: &str) {
    h.client()
        .await
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .metadata("mtime", mtime)
        .body(bytes.into())
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modification_times_survive_a_round_trip_and_are_read_from_other_clients() {
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    let a = h.work.path().join("a");
    let times = [
        1_600_000_000_123_456_789u64,
        1_500_000_000_000_000_000,
        1_700_000_000_500_000_000,
    ];
    for (i, ns) in times.iter().enumerate() {
        let p = h.file(&format!("a/d{i}/f{i}.bin"), &data(2000 + i, i as u64));
        set_mtime(&p, SystemTime::UNIX_EPOCH + Duration::from_nanos(*ns));
    }
    let b = h.work.path().join("b");
    let opts = SyncOptions::default();
    sync(&engine, &h, &local(&a), &remote("rt/"), &opts).await;
    assert_eq!(
        h.head("rt/d0/f0.bin")
            .await
            .metadata()
            .unwrap()
            .get("mtime")
            .map(String::as_str),
        Some("1600000000.123456789"),
        "the file's time is kept as rclone keeps it"
    );
    sync(&engine, &h, &remote("rt/"), &local(&b), &opts).await;
    for (i, ns) in times.iter().enumerate() {
        let got = mtime(&b.join(format!("d{i}/f{i}.bin")));
        assert_eq!(
            got,
            SystemTime::UNIX_EPOCH + Duration::from_nanos(*ns),
            "f{i}"
        );
    }
    // Nothing to do either way now, from either folder.
    for (src, dst) in [
        (local(&a), remote("rt/")),
        (remote("rt/"), local(&b)),
        (local(&b), remote("rt/")),
        (remote("rt/"), local(&a)),
    ] {
        let (plan, _) = planned(&engine, &h, &src, &dst, &opts).await;
        assert!(plan.changes_nothing(), "{src} → {dst}: {:?}", plan.items);
    }

    // An object another client (rclone) wrote with its file's time.
    put_with_mtime(&h, "other/photo.jpg", b"jpeg".to_vec(), "1614834367.5").await;
    let c = h.work.path().join("c");
    sync(&engine, &h, &remote("other"), &local(&c), &opts).await;
    assert_eq!(
        mtime(&c.join("photo.jpg")),
        SystemTime::UNIX_EPOCH + Duration::from_millis(1_614_834_367_500)
    );
    // A copy of that file the queue knows nothing of: the object's own time says it is the same.
    let c2 = h.work.path().join("c2");
    std::fs::create_dir_all(&c2).unwrap();
    std::fs::copy(c.join("photo.jpg"), c2.join("photo.jpg")).unwrap();
    set_mtime(&c2.join("photo.jpg"), mtime(&c.join("photo.jpg")));
    let (plan, _) = planned(&engine, &h, &remote("other"), &local(&c2), &opts).await;
    assert!(plan.changes_nothing(), "{:?}", plan.items);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_changes_nothing_and_prints_the_plan_the_run_carries_out() {
    let h = Harness::new().await;
    for i in 0..6 {
        h.file(&format!("dry/f{i}.txt"), format!("file {i}").as_bytes());
        if i % 2 == 0 {
            h.put(&format!("dst/f{i}.txt"), format!("old {i}").into_bytes())
                .await;
        }
    }
    h.put("dst/extra.txt", b"extra".to_vec()).await;
    h.file("dry/.hidden", b"never synced");
    let dir = h.work.path().join("dry");
    let dst = format!("s3://{BUCKET}/dst/");
    let before_objects = object_etags(&h).await;
    let before_tree = tree_with_mtimes(&dir);

    let args = [
        "sync",
        "--dry-run",
        "--delete",
        "--json",
        dir.to_str().unwrap(),
        &dst,
    ];
    let out = output(&h, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let plan: BTreeMap<String, String> = lines
        .iter()
        .filter(|v| v["type"] == "item" && v["action"] != "skip")
        .map(|v| {
            (
                v["path"].as_str().unwrap().to_string(),
                v["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: BTreeMap<String, String> = (0..6)
        .map(|i| (format!("f{i}.txt"), "upload".to_string()))
        .chain([("extra.txt".to_string(), "delete".to_string())])
        .collect();
    assert_eq!(plan, expected);
    let totals = &lines.last().unwrap()["totals"];
    assert_eq!(
        (totals["uploads"].as_u64(), totals["deletes"].as_u64()),
        (Some(6), Some(1))
    );
    assert_eq!(
        object_etags(&h).await,
        before_objects,
        "the dry run changed the bucket"
    );
    assert_eq!(
        tree_with_mtimes(&dir),
        before_tree,
        "the dry run changed the folder"
    );
    assert!(
        h.store().list().unwrap().is_empty(),
        "the dry run queued transfers"
    );

    let puts_before = h.log.puts.lock().unwrap().len();
    let out = output(&h, &["sync", "--delete", dir.to_str().unwrap(), &dst]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let after: Vec<String> = object_etags(&h).await.into_keys().collect();
    let wanted: Vec<String> = (0..6).map(|i| format!("dst/f{i}.txt")).collect();
    assert_eq!(after, wanted);
    let uploaded: std::collections::BTreeSet<String> = h.log.puts.lock().unwrap()[puts_before..]
        .iter()
        .cloned()
        .collect();
    assert_eq!(
        uploaded,
        wanted.into_iter().collect(),
        "the run sent what the plan said"
    );
}

async fn object_etags(h: &Harness) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for key in h.object_keys().await {
        out.insert(key.clone(), h.head(&key).await.e_tag().unwrap().to_string());
    }
    out
}

fn tree_with_mtimes(dir: &Path) -> Vec<(PathBuf, Vec<u8>, SystemTime)> {
    let mut out = Vec::new();
    for (rel, bytes) in tree(dir) {
        let p = dir.join(&rel);
        out.push((p.clone(), bytes, mtime(&p)));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_wait_for_every_transfer_and_refuse_an_empty_source_or_too_many() {
    let h = Harness::new().await;
    let engine = h.engine_with(Limits::default(), quick_retries()).await;
    let dir = h.work.path().join("guard");
    h.file("guard/ok.txt", b"fine");
    h.file("guard/fails.txt", b"the server refuses this one");
    for k in ["a", "b", "c"] {
        h.put(
            &format!("g/{k}.old"),
            b"keep me until the copies succeed".to_vec(),
        )
        .await;
    }
    let opts = SyncOptions {
        delete: true,
        ..SyncOptions::default()
    };
    // One upload fails for good: nothing on the destination is deleted.
    h.faults
        .on_request("put_object", "g/fails.txt", Failure::Denied, 1000);
    let (plan, deleted) = sync(&engine, &h, &local(&dir), &remote("g/"), &opts).await;
    assert_eq!(plan.totals.deletes, 3);
    assert_eq!(deleted.deleted, 0);
    assert!(deleted.withheld.unwrap().contains("did not complete"));
    for k in ["a", "b", "c"] {
        assert!(h.object_exists(&format!("g/{k}.old")), "{k}");
    }
    assert_eq!(h.object("g/ok.txt"), b"fine");

    // An empty source deletes nothing (unless asked), and says why.
    let empty = h.work.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let (plan, deleted) = sync(&engine, &h, &local(&empty), &remote("g/"), &opts).await;
    assert!(plan
        .deletes_withheld
        .as_deref()
        .unwrap()
        .contains("--allow-empty-source"));
    assert_eq!(deleted.deleted, 0);
    assert_eq!(h.object_keys().await.len(), 4);

    // More deletes than --max-delete: none, from the CLI too, with a non-zero exit.
    let dst = format!("s3://{BUCKET}/g/");
    let out = output(
        &h,
        &[
            "sync",
            "--delete",
            "--max-delete",
            "2",
            empty.to_str().unwrap(),
            &dst,
            "--allow-empty-source",
        ],
    )
    .await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--max-delete 2"), "{}", stderr(&out));
    assert_eq!(h.object_keys().await.len(), 4);

    // Allowed: the empty source empties the prefix.
    let out = output(
        &h,
        &[
            "sync",
            "--delete",
            "--allow-empty-source",
            empty.to_str().unwrap(),
            &dst,
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(h.object_keys().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_midway_continues_sending_only_what_was_unfinished() {
    let h = Harness::new().await;
    let dir = h.work.path().join("big");
    let mut files = Vec::new();
    for i in 0..300 {
        let rel = format!("d{}/f{i:03}.bin", i % 7);
        let bytes = data(2000 + i * 13, i as u64);
        h.file(&format!("big/{rel}"), &bytes);
        files.push((rel, bytes));
    }
    // First in key order, so small files are sent beside it when the kill comes.
    let multipart = data(3 * 5 * MIB + 17, 999);
    h.file("big/a-film.mov", &multipart);
    files.push(("a-film.mov".into(), multipart));
    files.sort();
    let dst = format!("s3://{BUCKET}/mirror/");
    let args = [
        "sync",
        "--part-size",
        "5MiB",
        "--parts",
        "2",
        "--concurrency",
        "2",
        dir.to_str().unwrap(),
        &dst,
    ];

    // Killed once part 2 of the big file has been asked for, with other files done before it.
    let log = h.log.clone();
    let child = spawn(&h, &args);
    wait_until("the multipart file is half sent", || {
        log.upload_parts
            .lock()
            .unwrap()
            .iter()
            .any(|(k, n)| k == "mirror/a-film.mov" && *n >= 2)
    })
    .await;
    kill(child).await;
    let parts_before = h.log.upload_parts.lock().unwrap().len();
    let puts_before = h.log.puts.lock().unwrap().len();

    let out = output(&h, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    for (rel, bytes) in &files {
        assert_eq!(&h.object(&format!("mirror/{rel}")), bytes, "{rel}");
    }
    // The rerun sent each small file not already there once, and of the big one only the parts
    // not committed (at most the two in flight at the kill, again).
    let puts = h.log.puts.lock().unwrap().clone();
    let parts = h.log.upload_parts.lock().unwrap().clone();
    let again_puts = puts.len() - puts.iter().collect::<std::collections::BTreeSet<_>>().len();
    let again_parts = parts.len()
        - parts
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len();
    assert!(
        again_puts <= 2,
        "{again_puts} small files sent twice (2 can be in flight at a kill)"
    );
    assert!(
        again_parts <= 2,
        "{again_parts} parts sent twice: {parts:?}"
    );
    assert!(
        puts.len() > puts_before || parts.len() > parts_before,
        "the rerun sent the rest"
    );
    // And a third run finds nothing to do.
    let out = output(
        &h,
        &["sync", "--dry-run", "--json", dir.to_str().unwrap(), &dst],
    )
    .await;
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .to_string();
    let plan: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(plan["totals"]["uploads"], 0, "{last}");
    assert_eq!(plan["totals"]["skips"], 301, "{last}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_to_bucket_sync_is_done_by_the_server() {
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    for i in 0..20 {
        h.put(&format!("from/p{i:02}.jpg"), data(500 + i, i as u64))
            .await;
    }
    h.put("to/stale.jpg", b"stale".to_vec()).await;
    h.put("to/p00.jpg", b"older and other".to_vec()).await;
    let opts = SyncOptions {
        delete: true,
        ..SyncOptions::default()
    };
    let (plan, deleted) = sync(&engine, &h, &remote("from/"), &remote("to/"), &opts).await;
    assert_eq!((plan.totals.copies, deleted.deleted), (20, 1));
    for i in 0..20 {
        assert_eq!(
            h.object(&format!("to/p{i:02}.jpg")),
            data(500 + i, i as u64)
        );
    }
    assert!(!h.object_exists("to/stale.jpg"));
    let gets = h.log.gets.lock().unwrap().len();
    assert_eq!(gets, 0, "no body went through the client");
    assert_eq!(h.log.copies.lock().unwrap().len(), 20);
    let (again, _) = planned(&engine, &h, &remote("from/"), &remote("to/"), &opts).await;
    assert!(again.changes_nothing(), "{:?}", again.items);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_pair_syncs_again_and_records_what_it_did() {
    use ferry::{SyncDirection, SyncPair};
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    let dir = h.work.path().join("pair");
    h.file("pair/a.txt", b"a");
    h.file("pair/b.txt", b"bb");
    let pair = SyncPair {
        id: String::new(),
        account: crate::support::ACCOUNT.into(),
        direction: SyncDirection::Upload,
        local_path: dir.display().to_string(),
        bucket: BUCKET.into(),
        prefix: "pair/".into(),
        compare: Compare::SizeAndTime,
        delete: true,
        exclude: vec!["*.log".into()],
        last_run: None,
    };
    let saved = engine.save_sync_pair(&pair).unwrap();
    assert!(!saved.id.is_empty());
    // The same folder, prefix and direction again: one pair, with the new options.
    let again = engine
        .save_sync_pair(&SyncPair {
            delete: false,
            ..pair.clone()
        })
        .unwrap();
    assert_eq!(again.id, saved.id);
    assert_eq!(engine.sync_pairs().unwrap().len(), 1);
    assert!(!engine.sync_pairs().unwrap()[0].delete);

    h.file("pair/skip.log", b"left out");
    let (src, dst, opts) = again.request().unwrap();
    let (plan, _) = planned(&engine, &h, &src, &dst, &opts).await;
    let mut queued = Vec::new();
    let run = engine
        .run_sync(&h.conn(), &plan, Some(&again.id), |s| {
            queued = s.enqueued.ids.clone()
        })
        .await
        .unwrap();
    assert_eq!((run.transferred, run.bytes, run.failed), (2, 3, 0));
    // What the run announced at its start is what it transferred.
    assert_eq!(queued.len(), 2);
    for id in &queued {
        assert_eq!(engine.transfer(id).unwrap().state, ferry::State::Completed);
    }
    assert_eq!(h.object("pair/b.txt"), b"bb");
    assert!(!h.object_exists("pair/skip.log"));
    let stored = engine.sync_pairs().unwrap().remove(0);
    assert_eq!(stored.last_run, Some(run));

    engine.remove_sync_pair(&again.id).unwrap();
    assert!(engine.sync_pairs().unwrap().is_empty());
    let relative = SyncPair {
        local_path: "pair".into(),
        ..pair
    };
    assert!(
        engine.save_sync_pair(&relative).is_err(),
        "a relative folder is refused"
    );
}

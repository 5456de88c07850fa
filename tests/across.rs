//! Copies and moves between two accounts: two in-process servers with different keys, the bytes
//! streamed through Ferry (ranged GETs from the source, parts out to the destination) under the
//! engine's memory budget; kept attributes; only missing parts sent after a crash; a move whose
//! upload fails keeps its source.

use ferry::{CopyOptions, Direction, ErrorKind, Limits, State};

use crate::support::proxy::{Action, Match};
use crate::support::server_faults::Failure;
use crate::support::{
    data, ferry_command, kill, output, output_of, put_film, quick_retries, run_in_background,
    spawn_until_committed, stderr, url, wait_committed, Harness, KeyringSession, BUCKET, MIB,
};

/// The account name the destination server has in the source's engine.
const OTHER: &str = "other";

fn in_parts_of_5mib(destination: ferry::Connection) -> CopyOptions {
    CopyOptions {
        part_size: Some(5 * MIB as u64),
        destination: Some(destination),
        ..CopyOptions::default()
    }
}

async fn tags(h: &Harness, key: &str) -> Vec<(String, String)> {
    let out = h
        .client()
        .await
        .get_object_tagging()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap();
    out.tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_and_a_prefix_stream_to_another_account_byte_identical_with_their_attributes() {
    let (src, dst) = (Harness::new().await, Harness::new().await);
    assert_ne!(src.keys.access_key, dst.keys.access_key);
    let film = put_film(&src, "film.mp4", Some("project=ferry")).await;
    let limits = Limits {
        parts_in_flight: 4,
        ..Limits::default()
    };
    let engine = src.engine_with(limits, quick_retries()).await;
    let other = dst.as_account(&engine, OTHER).await;

    let copied = engine
        .copy_objects(
            &src.conn(),
            &url("film.mp4"),
            &url("copies/film.mp4"),
            &in_parts_of_5mib(other.clone()),
        )
        .await
        .unwrap();
    assert_eq!((copied.copied, copied.bytes), (1, 26 * MIB as u64));
    assert!(dst.object("copies/film.mp4") == film);
    let head = dst.head("copies/film.mp4").await;
    assert_eq!(head.content_type(), Some("video/mp4"));
    assert_eq!(head.cache_control(), Some("max-age=600"));
    assert_eq!(
        head.metadata().unwrap().get("owner").map(String::as_str),
        Some("ana")
    );
    assert_eq!(
        tags(&dst, "copies/film.mp4").await,
        [("project".into(), "ferry".into())]
    );
    assert_eq!(
        dst.log.part_counts("copies/film.mp4"),
        (1..=6).map(|n| (n, 1)).collect(),
        "each part sent to the destination once"
    );
    let ranges = src.log.range_counts("film.mp4");
    assert_eq!(
        ranges.len(),
        6,
        "six ranged GETs from the source: {ranges:?}"
    );
    assert!(src.open_uploads().await.is_empty() && dst.open_uploads().await.is_empty());
    assert!(src.object_exists("film.mp4"), "a copy keeps its source");
    // Memory: the parts in flight were held under the engine's budget, never the whole object.
    let peak = engine.memory_high_water_mib();
    assert!(
        (5..=ferry::config::MEMORY_BUDGET_MIB as u64).contains(&peak),
        "part buffers held at most: {peak} MiB"
    );
    assert!(
        peak <= 4 * 5,
        "no more than the 4 parts in flight: {peak} MiB"
    );

    // A prefix of small objects: one GET and one PUT each, the content types and metadata kept.
    let names = ["a.txt", "b.json", "sub/c.html"];
    let client = src.client().await;
    for (i, name) in names.iter().enumerate() {
        client
            .put_object()
            .bucket(BUCKET)
            .key(format!("docs/{name}"))
            .content_type(ferry::transfer::upload::content_type(name))
            .metadata("n", i.to_string())
            .body(data(1000 + i, i as u64).into())
            .send()
            .await
            .unwrap();
    }
    let opts = CopyOptions {
        recursive: true,
        ..in_parts_of_5mib(other.clone())
    };
    let enq = engine
        .enqueue_copy(&src.conn(), &url("docs/"), &url("backup/"), &opts)
        .await
        .unwrap();
    assert_eq!(enq.ids.len(), 3);
    for o in engine.run(&enq.ids).await {
        o.result.unwrap();
    }
    for (i, name) in names.iter().enumerate() {
        let key = format!("backup/{name}");
        assert_eq!(dst.object(&key), data(1000 + i, i as u64), "{key}");
        let head = dst.head(&key).await;
        assert_eq!(
            head.content_type(),
            Some(ferry::transfer::upload::content_type(name).as_str())
        );
        assert_eq!(
            head.metadata().unwrap().get("n"),
            Some(&i.to_string()),
            "{key}"
        );
        assert_eq!(dst.log.put_count(&key), 1);
        assert_eq!(src.log.get_count(&format!("docs/{name}")), 1);
    }
    let row = engine.transfer(&enq.ids[0]).unwrap();
    assert_eq!(
        (row.direction, row.state),
        (Direction::Copy, State::Completed)
    );
    assert_eq!(
        row.connection,
        other.to_json(),
        "the row is the destination's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_to_another_account_whose_upload_fails_keeps_its_source() {
    let (src, dst) = (Harness::new().await, Harness::new().await);
    let film = put_film(&src, "film.mp4", Some("project=ferry")).await;
    let engine = src.engine_with(Limits::default(), quick_retries()).await;
    let other = dst.as_account(&engine, OTHER).await;
    dst.faults.on_part("moved.mp4", 4, Failure::Denied, 1);
    let opts = CopyOptions {
        delete_source: true,
        ..in_parts_of_5mib(other.clone())
    };
    let e = engine
        .copy_objects(&src.conn(), &url("film.mp4"), &url("moved.mp4"), &opts)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::AccessDenied, "{}", e.message);
    assert!(src.object("film.mp4") == film, "the source stays whole");
    assert!(!dst.object_exists("moved.mp4"));

    // Run again, the move sends what is missing, then deletes its source.
    let moved = engine
        .copy_objects(&src.conn(), &url("film.mp4"), &url("moved.mp4"), &opts)
        .await
        .unwrap();
    assert_eq!(moved.moved, 1);
    assert!(dst.object("moved.mp4") == film);
    assert!(!src.object_exists("film.mp4"), "moved once verified");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_move_to_another_account_resumes_sending_only_the_missing_parts() {
    let (src, dst) = (Harness::new().await, Harness::new().await);
    let film = put_film(&src, "film.mp4", Some("project=ferry")).await;
    let keyring = KeyringSession::start(src.work.path()).await;
    // The destination saved as an account of the source's Ferry, its secret in the keychain.
    let mut add = ferry_command(
        &dst.server.endpoint(),
        &dst.keys.access_key,
        &dst.keys.secret_key,
        src.work.path(),
        src.state.path(),
    );
    add.env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
        .env("FERRY_SECRET_ACCESS_KEY", &dst.keys.secret_key)
        .args(["--region", "us-east-1", "account", "add", OTHER])
        .args(["--access-key-id", &dst.keys.access_key]);
    let out = output_of(add).await;
    assert!(out.status.success(), "{}", stderr(&out));

    let (from, to) = (
        format!("s3://{BUCKET}/film.mp4"),
        format!("s3://{BUCKET}/moved.mp4"),
    );
    let command = || {
        let mut c = src.ferry();
        c.env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
            .args(["mv", "--to-account", OTHER, &from, &to])
            .args(["--part-size", "5MiB", "--json"]);
        c
    };
    dst.log.hold_parts_from(4);
    let (child, store, id) = spawn_until_committed(command(), &src, 3).await;
    kill(child).await;
    dst.log.release();
    let before = dst.log.upload_parts.lock().unwrap().len();
    assert!(src.object_exists("film.mp4") && !dst.object_exists("moved.mp4"));

    let out = output_of(command()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let mut again: Vec<i32> = dst.log.upload_parts.lock().unwrap()[before..]
        .iter()
        .map(|(_, n)| *n)
        .collect();
    again.sort();
    assert_eq!(again, [4, 5, 6], "only the missing parts were sent again");
    let ranges = src.log.range_counts("film.mp4");
    for first in [0, 5, 10].map(|m| (m * MIB) as u64) {
        assert_eq!(
            ranges.get(&first),
            Some(&1),
            "range at {first} read once: {ranges:?}"
        );
    }
    assert!(dst.object("moved.mp4") == film);
    assert_eq!(
        dst.head("moved.mp4").await.content_type(),
        Some("video/mp4")
    );
    assert!(
        !src.object_exists("film.mp4"),
        "moved: the source is gone once verified"
    );
    assert!(dst.open_uploads().await.is_empty());
    assert_eq!(store.get(&id).unwrap().unwrap().state, State::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_to_another_account_pauses_resumes_cancels_and_restarts_on_a_new_source() {
    let (src, dst) = (Harness::new().await, Harness::new().await);
    let film = put_film(&src, "film.mp4", Some("project=ferry")).await;
    // Two parts in flight: a replacement while parts 3 and 4 are held is seen by part 5's GET.
    let limits = Limits {
        parts_in_flight: 2,
        ..Limits::default()
    };
    let engine = src.engine_with(limits, quick_retries()).await;
    let other = dst.as_account(&engine, OTHER).await;
    let copy = |to: &str| {
        let (engine, conn, to, opts) = (
            engine.clone(),
            src.conn(),
            url(to),
            in_parts_of_5mib(other.clone()),
        );
        async move {
            engine
                .enqueue_copy(&conn, &url("film.mp4"), &to, &opts)
                .await
                .unwrap()
                .ids
        }
    };
    // Held at the destination's part 3, so two parts are in and the rest waits.
    let held = |ids: Vec<String>| {
        dst.log.hold_parts_from(3);
        let run = run_in_background(&engine, &ids);
        let store = src.store();
        async move {
            wait_committed(&store, &ids[0], 2).await;
            (ids, run)
        }
    };

    // Paused, then resumed: the two parts the destination holds are not read or sent again.
    let (ids, run) = held(copy("paused.mp4").await).await;
    engine.pause(&ids[0]).unwrap();
    dst.log.release();
    let e = run.await.unwrap().remove(0).result.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Interrupted, "{}", e.message);
    assert_eq!(engine.transfer(&ids[0]).unwrap().state, State::Paused);
    engine.resume(&ids[0]).unwrap();
    let stats = engine.run(&ids).await.remove(0).result.unwrap();
    assert_eq!((stats.parts_reused, stats.parts_total), (2, 6), "{stats:?}");
    assert!(dst.object("paused.mp4") == film);
    let sent = dst.log.part_counts("paused.mp4");
    assert_eq!(
        (sent[&1], sent[&2]),
        (1, 1),
        "kept parts were not sent again"
    );

    // Cancelled: the destination's multipart upload is aborted, nothing is left there.
    let (ids, run) = held(copy("cancelled.mp4").await).await;
    let row = engine.cancel(&ids[0]).await.unwrap();
    dst.log.release();
    run.await.unwrap();
    assert_eq!(row.state, State::Cancelled);
    assert!(
        dst.open_uploads().await.is_empty(),
        "the upload was aborted"
    );
    assert_eq!(dst.leftover_part_files(), 0);
    assert!(!dst.object_exists("cancelled.mp4"));

    // The source replaced midway (same size, new bytes): the copy starts over from the new
    // version instead of mixing the two.
    let (_, run) = held(copy("replaced.mp4").await).await;
    let new = data(26 * MIB, 52);
    src.put("film.mp4", new.clone()).await;
    dst.log.release();
    run.await.unwrap().remove(0).result.unwrap();
    assert!(dst.object("replaced.mp4") == new, "only the new version");
    let sent = dst.log.part_counts("replaced.mp4");
    assert_eq!(
        sent[&1], 2,
        "the parts of the old version were sent again: {sent:?}"
    );
    assert!(dst.open_uploads().await.is_empty());
}

/// The app's paste into another bucket of the same account: the server copies, nothing is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_into_another_bucket_of_the_same_account_stays_server_side() {
    let h = Harness::new().await;
    h.client()
        .await
        .create_bucket()
        .bucket("second-bucket")
        .send()
        .await
        .unwrap();
    h.put("notes.txt", data(3000, 9)).await;
    let engine = h.engine_with(Limits::default(), quick_retries()).await;
    let same = CopyOptions {
        destination: Some(h.conn()),
        ..CopyOptions::default()
    };
    let into = ferry::S3Url::parse("s3://second-bucket/notes.txt").unwrap();
    let copied = engine
        .copy_objects(&h.conn(), &url("notes.txt"), &into, &same)
        .await
        .unwrap();
    assert_eq!(copied.copied, 1);
    let on_disk = std::fs::read(h.data.path().join("second-bucket/notes.txt")).unwrap();
    assert!(on_disk == data(3000, 9));
    assert_eq!(
        *h.log.copies.lock().unwrap(),
        ["notes.txt"],
        "one CopyObject"
    );
    assert_eq!(
        h.log.get_count("notes.txt"),
        0,
        "no body went through Ferry"
    );
}

/// The source's connection breaks during one range and stalls during another: each range is read
/// again alone (the stall noticed by the part watchdog), and the copy is whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_from_the_source_that_breaks_or_stalls_is_read_again() {
    let (src, dst) = (Harness::new().await, Harness::new().await);
    let film = put_film(&src, "film.mp4", None).await;
    let proxy = src.proxy().await;
    let engine = src.engine_with(Limits::default(), quick_retries()).await;
    let other = dst.as_account(&engine, OTHER).await;
    let mib = MIB as u64;
    proxy.inject(Match::RangeFrom(5 * mib), Action::CutResponse(mib), 1);
    proxy.inject(Match::RangeFrom(15 * mib), Action::StallResponse(mib), 1);
    engine
        .copy_objects(
            &src.conn_via(&proxy),
            &url("film.mp4"),
            &url("film.mp4"),
            &in_parts_of_5mib(other),
        )
        .await
        .unwrap();
    assert_eq!((proxy.cuts(), proxy.stalls()), (1, 1));
    assert!(dst.object("film.mp4") == film);
    assert_eq!(
        dst.log.part_counts("film.mp4"),
        (1..=6).map(|n| (n, 1)).collect(),
        "each part sent once: only the ranges were read again"
    );
}

/// `--to-account` takes two S3 locations and an account that exists; anything else is refused,
/// saying what to do, with nothing queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn to_account_refuses_what_it_cannot_copy_and_queues_nothing() {
    let h = Harness::new().await;
    h.put("notes.txt", data(100, 3)).await;
    let file = h.file("local.txt", b"local");
    let file = file.to_str().unwrap();
    let object = format!("s3://{BUCKET}/notes.txt");
    for (args, says) in [
        (
            vec!["cp", "--to-account", "local", file, object.as_str()],
            "--to-account copies between S3 locations of two accounts",
        ),
        (
            vec![
                "cp",
                "--to-account",
                "nosuch",
                object.as_str(),
                "s3://other-bucket/k",
            ],
            "no account named `nosuch`",
        ),
    ] {
        let out = output(&h, &args).await;
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
    }
    assert!(h.store().list().unwrap().is_empty(), "nothing queued");
}

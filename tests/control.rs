//! Pause, resume and cancel, stopped at exact points with the server's gate.

use ferry::{Limits, State, UploadOptions};

use crate::support::ledger;
use crate::support::{
    data, parts_of, ranges_of, run_held, run_in_background, run_one, url, wait_part_sent,
    wait_until, Harness, Hold, MIB,
};

fn two_parts_at_a_time() -> Limits {
    Limits {
        parts_in_flight: 2,
        ..Limits::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_keeps_finished_parts_and_resume_sends_only_the_rest() {
    let h = Harness::new().await;
    let bytes = data(40 * MIB, 11);
    let src = h.file("movie.mkv", &bytes);
    let engine = h.engine(two_parts_at_a_time()).await;
    let enq = engine
        .enqueue_upload(&h.conn(), &src, &url("movie.mkv"), &parts_of(5 * MIB))
        .await
        .unwrap();
    let id = enq.ids[0].clone();

    let run = run_held(&h, &engine, &enq.ids, Hold::PartsFrom(4), 3).await;
    wait_part_sent(&h, "movie.mkv", 4).await;
    let row = engine.pause(&id).unwrap();
    assert_eq!(row.state, State::Paused);
    let outcome = run.await.unwrap().remove(0);
    assert_eq!(
        outcome.result.unwrap_err().kind,
        ferry::ErrorKind::Interrupted
    );
    let row = engine.transfer(&id).unwrap();
    assert_eq!(row.state, State::Paused);
    assert_eq!(
        row.bytes_done,
        15 * MIB as u64,
        "only whole committed parts count"
    );
    assert!(!h.object_exists("movie.mkv"));
    h.log.release();

    engine.resume(&id).unwrap();
    let stats = run_one(&engine, &id).await.unwrap();
    assert_eq!(stats.parts_reused, 3);
    assert_eq!(stats.parts_sent, 5);
    assert_eq!(h.object("movie.mkv"), bytes);
    let counts = h.log.part_counts("movie.mkv");
    for n in 1..=3 {
        assert_eq!(counts[&n], 1, "part {n} was sent again after resume");
    }
    assert_eq!(counts.len(), 8);
    assert_eq!(engine.transfer(&id).unwrap().state, State::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_an_upload_aborts_it_on_the_server() {
    let h = Harness::new().await;
    let src = h.file("big.iso", &data(30 * MIB, 12));
    let engine = h.engine(two_parts_at_a_time()).await;
    let enq = engine
        .enqueue_upload(&h.conn(), &src, &url("big.iso"), &parts_of(5 * MIB))
        .await
        .unwrap();
    let id = enq.ids[0].clone();
    let run = run_held(&h, &engine, &enq.ids, Hold::PartsFrom(3), 2).await;
    assert_eq!(h.open_uploads().await, vec!["big.iso".to_string()]);

    let row = engine.cancel(&id).await.unwrap();
    assert_eq!(row.state, State::Cancelled);
    run.await.unwrap();
    h.log.release();
    assert!(
        h.open_uploads().await.is_empty(),
        "the multipart upload is still open"
    );
    assert_eq!(
        h.leftover_part_files(),
        0,
        "part data is still on the server"
    );
    assert!(!h.object_exists("big.iso"));
    assert!(h.store().parts(&id).unwrap().is_empty());
    assert_eq!(engine.transfer(&id).unwrap().state, State::Cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_download_removes_the_partial_file() {
    let h = Harness::new().await;
    h.put("video.mp4", data(20 * MIB, 13)).await;
    let engine = h.engine(two_parts_at_a_time()).await;
    let dest = h.work.path().join("video.mp4");
    let opts = ranges_of(5 * MIB);
    let enq = engine
        .enqueue_download(&h.conn(), &url("video.mp4"), &dest, &opts)
        .await
        .unwrap();
    let id = enq.ids[0].clone();
    let run = run_held(&h, &engine, &enq.ids, Hold::RangesFrom(10 * MIB as u64), 2).await;
    let temp = ferry::transfer::download::temp_path(&dest, &id);
    assert!(
        temp.exists(),
        "the partial download lives beside the destination"
    );

    engine.cancel(&id).await.unwrap();
    run.await.unwrap();
    h.log.release();
    assert!(!temp.exists(), "the partial download is still on disk");
    assert!(!dest.exists());
    assert_eq!(std::fs::read_dir(h.work.path()).unwrap().count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_download_resumes_with_only_the_missing_ranges() {
    let h = Harness::new().await;
    let bytes = data(20 * MIB + 5, 14);
    h.put("data.tar", bytes.clone()).await;
    let engine = h.engine(two_parts_at_a_time()).await;
    let dest = h.work.path().join("data.tar");
    let opts = ranges_of(5 * MIB);
    let enq = engine
        .enqueue_download(&h.conn(), &url("data.tar"), &dest, &opts)
        .await
        .unwrap();
    let id = enq.ids[0].clone();
    let run = run_held(&h, &engine, &enq.ids, Hold::RangesFrom(10 * MIB as u64), 2).await;
    engine.pause(&id).unwrap();
    run.await.unwrap();
    h.log.release();
    assert!(
        !dest.exists(),
        "a paused download never shows a partial file at the destination"
    );

    engine.resume(&id).unwrap();
    let stats = run_one(&engine, &id).await.unwrap();
    assert_eq!(stats.parts_reused, 2);
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    let ranges = h.log.range_counts("data.tar");
    assert_eq!(ranges[&0], 1);
    assert_eq!(ranges[&(5 * MIB as u64)], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_replaced_during_a_download_restarts_it_and_never_mixes_versions() {
    let h = Harness::new().await;
    h.put("report.pdf", data(20 * MIB, 15)).await;
    let engine = h.engine(two_parts_at_a_time()).await;
    let dest = h.work.path().join("report.pdf");
    let opts = ranges_of(5 * MIB);
    let enq = engine
        .enqueue_download(&h.conn(), &url("report.pdf"), &dest, &opts)
        .await
        .unwrap();
    let id = enq.ids[0].clone();
    let run = run_held(&h, &engine, &enq.ids, Hold::RangesFrom(10 * MIB as u64), 2).await;

    // Someone replaces the object (a different size too) while the last ranges are in flight.
    let replaced = data(18 * MIB + 3, 16);
    h.put("report.pdf", replaced.clone()).await;
    h.log.release();
    run.await.unwrap();

    let row = h.store().get(&id).unwrap().unwrap();
    assert_eq!(row.state, State::Completed, "{:?}", row.error_message);
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        replaced,
        "the file is the new version, whole"
    );
    assert_eq!(
        h.log.range_counts("report.pdf")[&0],
        2,
        "the first range was fetched again from the new version"
    );
    assert_eq!(
        std::fs::read_dir(h.work.path()).unwrap().count(),
        1,
        "no partial file is left beside the destination"
    );
}

/// A long queue costs its ids, not a task each: while two large uploads hold both transfer slots,
/// the 300 files behind them have no task yet (the engine admits each when a slot frees), and one
/// of them paused before its turn is never run, while the rest all arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_queue_waits_without_a_task_per_transfer_and_a_transfer_paused_in_it_is_not_run() {
    let h = Harness::new().await;
    let engine = h
        .engine(Limits {
            transfers: 2,
            parts_in_flight: 1,
            ..Limits::default()
        })
        .await;
    let mut ids = Vec::new();
    for name in ["big1.bin", "big2.bin"] {
        let src = h.file(name, &data(20 * MIB, 5));
        let enq = engine
            .enqueue_upload(&h.conn(), &src, &url(name), &parts_of(5 * MIB))
            .await
            .unwrap();
        ids.extend(enq.ids);
    }
    for i in 0..300 {
        h.file(&format!("small/{i:03}.txt"), format!("file {i}").as_bytes());
    }
    let (conn, small_folder, small_url) = (h.conn(), h.work.path().join("small"), url("small/"));
    let recursive = UploadOptions {
        recursive: true,
        part_size: None,
        ..UploadOptions::default()
    };
    let enqueue_small = || engine.enqueue_upload(&conn, &small_folder, &small_url, &recursive);
    let small = enqueue_small().await.unwrap();
    assert_eq!(small.ids.len(), 300);
    ids.extend(small.ids.iter().cloned());

    let metrics = tokio::runtime::Handle::current().metrics();
    let tasks_before = metrics.num_alive_tasks();
    h.log.hold_parts_from(2);
    let run = run_in_background(&engine, &ids);
    let store = h.store();
    // Both large uploads hold their slot with part 2 in flight.
    for key in ["big1.bin", "big2.bin"] {
        wait_part_sent(&h, key, 2).await;
    }
    let waiting_tasks = metrics.num_alive_tasks().saturating_sub(tasks_before);
    assert!(
        waiting_tasks < 100,
        "{waiting_tasks} tasks for 2 running transfers and 300 waiting"
    );
    let paused = small.ids[150].clone();
    assert_eq!(engine.pause(&paused).unwrap().state, State::Paused);
    h.log.release();

    let outcomes = run.await.unwrap();
    for o in &outcomes {
        if o.id == paused {
            assert_eq!(
                o.result.as_ref().unwrap_err().kind,
                ferry::ErrorKind::Interrupted
            );
        } else {
            assert!(o.result.is_ok(), "{}: {:?}", o.id, o.result);
        }
    }
    let row = store.get(&paused).unwrap().unwrap();
    assert_eq!(row.state, State::Paused, "it waits for a resume");
    assert!(!h.object_exists(&row.key), "a paused transfer sent nothing");
    for i in (0..300).filter(|&i| i != 150) {
        assert_eq!(
            h.object(&format!("small/{i:03}.txt")),
            format!("file {i}").as_bytes()
        );
    }

    // Asking for the same folder again continues the paused one, and only it.
    let again = enqueue_small().await.unwrap();
    assert_eq!(
        (again.ids.clone(), again.resumed),
        (vec![paused.clone()], 1)
    );
    engine.run(&again.ids).await.remove(0).result.unwrap();
    assert_eq!(h.object("small/150.txt"), b"file 150");
}

/// A process killed after the server completed its multipart upload but before recording it: the
/// next run finds the upload gone, recognises the object as the one its recorded parts make (size
/// and composite CRC32C), and records it complete without sending a byte again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_completed_on_the_server_but_not_recorded_is_not_sent_again() {
    let h = Harness::new().await;
    let bytes = data(16 * MIB, 44);
    let src = h.file("done.bin", &bytes);
    let engine = h.engine(two_parts_at_a_time()).await;
    let enq = engine
        .enqueue_upload(&h.conn(), &src, &url("done.bin"), &parts_of(5 * MIB))
        .await
        .unwrap();
    let id = enq.ids[0].clone();
    engine.run(&enq.ids).await.remove(0).result.unwrap();
    let sent = h.log.part_counts("done.bin");
    assert_eq!(sent.len(), 4);

    crate::support::as_if_killed_after_complete(&h, &id);
    let stats = engine
        .run(std::slice::from_ref(&id))
        .await
        .remove(0)
        .result
        .unwrap();
    assert_eq!(stats.parts_sent, 0, "nothing sent again");
    assert_eq!(h.log.part_counts("done.bin"), sent);
    assert_eq!(h.object("done.bin"), bytes);
    assert_eq!(engine.transfer(&id).unwrap().state, State::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_queue_under_load_never_drive_a_transfer_twice_nor_lose_a_row() {
    ledger::note("two processes on one queue under load", 1);
    let h = Harness::new().await;
    let mut files = Vec::new();
    for i in 0..240 {
        let rel = format!("d{}/f{i:03}.bin", i % 4);
        let bytes = data(3000 + i * 7, 500 + i as u64);
        h.file(&format!("load/{rel}"), &bytes);
        files.push((rel, bytes));
    }
    let root = h.work.path().join("load");
    // This process (as the app) queues the folder and runs it two at a time...
    let engine = h
        .engine(Limits {
            transfers: 2,
            ..Limits::default()
        })
        .await;
    let opts = UploadOptions {
        recursive: true,
        ..Default::default()
    };
    let enq = engine
        .enqueue_upload(&h.conn(), &root, &url("load/"), &opts)
        .await
        .unwrap();
    assert_eq!(enq.ids.len(), 240);
    let here = run_in_background(&engine, &enq.ids);
    // ...while a second process resumes the whole queue, a third pauses everything from outside,
    // and the second is started again to finish.
    let log = h.log.clone();
    let sent = move || log.puts.lock().unwrap().len();
    wait_until("some files are sent", || sent() >= 20).await;
    let other = crate::support::output(&h, &["resume", "--all", "--concurrency", "8"]);
    let pauser = async {
        wait_until("more files are sent", || sent() >= 80).await;
        let out = crate::support::output(&h, &["pause", "--all"]).await;
        assert!(out.status.success(), "{}", crate::support::stderr(&out));
    };
    let (other, _) = tokio::join!(other, pauser);
    // What the other process met running here is not a failure of its own.
    let said = crate::support::stderr(&other);
    assert!(!said.contains("failed"), "{said}");
    assert!(
        String::from_utf8_lossy(&other.stdout).contains(" of "),
        "the other process ran its share to a summary: {said}"
    );
    here.await.unwrap();
    let out = crate::support::output(&h, &["resume", "--all"]).await;
    assert!(out.status.success(), "{}", crate::support::stderr(&out));

    // Every row is there and completed, every object whole.
    let rows = h.store().list().unwrap();
    assert_eq!(rows.len(), 240, "rows were lost or added");
    assert!(
        rows.iter().all(|r| r.state == State::Completed),
        "{:?}",
        rows.iter().map(|r| r.state).collect::<Vec<_>>()
    );
    for (rel, bytes) in &files {
        assert_eq!(&h.object(&format!("load/{rel}")), bytes, "{rel}");
    }
    // A file is sent twice only when the pause stopped its PUT in flight; never by two drivers.
    let puts = h.log.puts.lock().unwrap().clone();
    let mut counts = std::collections::BTreeMap::new();
    for k in &puts {
        *counts.entry(k.clone()).or_insert(0usize) += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.len() <= 10 && twice.iter().all(|(_, n)| **n == 2),
        "sent more than once: {twice:?} (at most the 2 + 8 in flight at the pause may be sent again)"
    );
}

/// A bandwidth cap of 3 MiB/s: parts of 6 MiB, two in flight (about 4 s of the cap).
fn capped() -> Limits {
    Limits {
        rate_limit: Some(3 * MIB as u64),
        ..Limits::default()
    }
}

/// (bytes done, bytes on their way) of each progress snapshot of one transfer, in order.
type Shown = std::sync::Arc<std::sync::Mutex<Vec<(u64, u64)>>>;

/// Collects `id`'s progress figures as the shells receive them, until the task is aborted.
fn record_done(engine: &ferry::Engine, id: &str) -> (Shown, tokio::task::JoinHandle<()>) {
    let seen = Shown::default();
    let mut rx = engine.subscribe_progress();
    let (id, out) = (id.to_string(), seen.clone());
    let task = tokio::spawn(async move {
        while let Ok(batch) = rx.recv().await {
            for s in batch.iter().filter(|s| s.id == id) {
                out.lock().unwrap().push((s.bytes_done, s.bytes_sending));
            }
        }
    });
    (seen, task)
}

/// A `size`-byte file queued for upload to `key` through `proxy` by an engine under [`capped`], with
/// the part size Ferry chooses: the engine, what was queued and the file's bytes.
async fn capped_upload(
    h: &Harness,
    proxy: &crate::support::Proxy,
    key: &str,
    size: u64,
    seed: u64,
) -> (ferry::Engine, ferry::Enqueued, Vec<u8>) {
    let bytes = data(size as usize, seed);
    let src = h.file(key, &bytes);
    let engine = h.engine(capped()).await;
    let enq = engine
        .enqueue_upload(&h.conn_via(proxy), &src, &url(key), &Default::default())
        .await
        .unwrap();
    (engine, enq, bytes)
}

/// Request bodies besides the parts (CreateMultipartUpload, CompleteMultipartUpload's part list).
const REQUEST_XML: u64 = 16 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capped_upload_paused_mid_way_sends_again_at_most_the_parts_in_flight_and_shown_bytes_never_fall(
) {
    let h = Harness::new().await;
    let proxy = h.proxy().await;
    let size = 24 * MIB as u64;
    let (engine, enq, bytes) = capped_upload(&h, &proxy, "capped.bin", size, 15).await;
    let id = enq.ids[0].clone();
    let part = engine.transfer(&id).unwrap().part_size;
    assert_eq!(
        part,
        6 * MIB as u64,
        "parts sized to a few seconds of the cap"
    );
    let (seen, recorder) = record_done(&engine, &id);

    let run = run_in_background(&engine, &enq.ids);
    // Two parts kept, the next two a sixth of the way: far from their end when the pause lands.
    wait_until("14 MiB on the server", || {
        proxy.body_bytes() >= 14 * MIB as u64
    })
    .await;
    let in_flight = h.log.part_counts("capped.bin").len() - h.store().parts(&id).unwrap().len();
    assert!(in_flight <= 2, "{in_flight} parts in flight under the cap");
    engine.pause(&id).unwrap();
    let outcome = run.await.unwrap().remove(0);
    assert_eq!(
        outcome.result.unwrap_err().kind,
        ferry::ErrorKind::Interrupted
    );
    let paused = engine.transfer(&id).unwrap();
    assert_eq!(paused.state, State::Paused);
    let kept = h.store().parts(&id).unwrap().len() as u64;
    assert!(kept >= 2, "{kept} parts kept");
    assert_eq!(
        paused.bytes_done,
        kept * part,
        "a paused row shows what is kept"
    );
    let shown_before_pause = seen.lock().unwrap().clone();
    assert!(
        shown_before_pause.iter().any(|&(_, sending)| sending > 0),
        "the bytes on their way were shown as moving"
    );

    engine.resume(&id).unwrap();
    run_one(&engine, &id).await.unwrap();
    assert_eq!(h.object("capped.bin"), bytes);
    recorder.abort();

    // Counted on the server's side: the resume sent again at most the two parts in flight.
    let received = proxy.body_bytes();
    assert!(
        received <= size + 2 * part + REQUEST_XML,
        "the server received {received} bytes for a {size}-byte file"
    );
    let again = h
        .log
        .part_counts("capped.bin")
        .values()
        .filter(|n| **n > 1)
        .count();
    assert!(again <= 2, "{again} parts sent twice");

    // What a row shows as done never falls: not while running, not when the pause lands.
    let mut done: Vec<u64> = shown_before_pause.iter().map(|s| s.0).collect();
    done.push(paused.bytes_done);
    done.extend(
        seen.lock().unwrap()[shown_before_pause.len()..]
            .iter()
            .map(|s| s.0),
    );
    assert!(
        done.windows(2).all(|w| w[0] <= w[1]),
        "the bytes shown as done went backwards: {done:?}"
    );
    assert_eq!(done.last(), Some(&size));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_nearly_sent_when_a_pause_lands_are_finished_and_kept() {
    let h = Harness::new().await;
    let proxy = h.proxy().await;
    let size = 18 * MIB as u64;
    let (engine, enq, bytes) = capped_upload(&h, &proxy, "nearly.bin", size, 16).await;
    let id = enq.ids[0].clone();
    let part = engine.transfer(&id).unwrap().part_size;

    let run = run_in_background(&engine, &enq.ids);
    // Parts 1 and 2 go side by side: past 80 % each when 10.5 of their 12 MiB are on the server.
    wait_until("10.5 MiB on the server", || {
        proxy.body_bytes() >= 21 * MIB as u64 / 2
    })
    .await;
    engine.pause(&id).unwrap();
    run.await.unwrap();
    let paused = engine.transfer(&id).unwrap();
    assert_eq!(paused.state, State::Paused);
    assert_eq!(
        h.store().parts(&id).unwrap().len(),
        2,
        "both parts in flight were kept"
    );
    assert_eq!(paused.bytes_done, 2 * part);
    assert!(
        !h.log.part_counts("nearly.bin").contains_key(&3),
        "a pause starts no new part"
    );

    engine.resume(&id).unwrap();
    let stats = run_one(&engine, &id).await.unwrap();
    assert_eq!((stats.parts_reused, stats.parts_sent), (2, 1));
    assert_eq!(h.object("nearly.bin"), bytes);
    let received = proxy.body_bytes();
    assert!(
        received <= size + REQUEST_XML,
        "the server received {received} bytes for a {size}-byte file: something was sent twice"
    );
}

/// A resume that comes while the paused run is still letting its nearly-sent parts finish (its
/// grace) continues the transfer once that run has ended: it is not refused as already running,
/// and the transfer does not sit queued for ever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_during_a_pause_grace_continues_the_transfer_once_the_paused_run_ends() {
    let h = Harness::new().await;
    let proxy = h.proxy().await;
    let size = 18 * MIB as u64;
    let (engine, enq, bytes) = capped_upload(&h, &proxy, "regrace.bin", size, 17).await;
    let id = enq.ids[0].clone();

    let first = run_in_background(&engine, &enq.ids);
    // Parts 1 and 2 go side by side: past 80 % each when 10.5 of their 12 MiB are on the server,
    // so the pause lets them finish.
    wait_until("10.5 MiB on the server", || {
        proxy.body_bytes() >= 21 * MIB as u64 / 2
    })
    .await;
    engine.pause(&id).unwrap();
    engine.resume(&id).unwrap();
    let second = run_in_background(&engine, &enq.ids);
    let first = first.await.unwrap().remove(0);
    assert_eq!(
        first.result.unwrap_err().kind,
        ferry::ErrorKind::Interrupted
    );
    let stats = second.await.unwrap().remove(0).result.unwrap();
    assert_eq!(
        stats.parts_reused, 2,
        "the parts finished in the grace are kept"
    );
    assert_eq!(engine.transfer(&id).unwrap().state, State::Completed);
    assert_eq!(h.object("regrace.bin"), bytes);
}

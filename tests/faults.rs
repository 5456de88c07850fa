//! Faults injected for real: a loopback proxy that cuts, stalls and refuses connections, and a server
//! that answers 500/503 and damages bodies. Every transfer must still end byte-identical, re-sending
//! only what was lost.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use ferry::{DownloadOptions, Limits, RetryPolicy, State, UploadOptions};

use crate::support::ledger;
use crate::support::proxy::{Action, Match};
use crate::support::server_faults::Failure;
use crate::support::{
    age_transfer, data, output, parts_of, put_multipart, put_multipart_with_full_checksum,
    put_multipart_with_part_checksums, quick_retries, ranges_of, run_held, run_one, url,
    wait_part_sent, wait_until, Harness, Hold, BUCKET, MIB,
};

const PART: usize = 5 * MIB;

/// `n` parts (or ranges) each asked for once, except those in `again`, asked for `1 + extra` times.
fn counts<K: Ord + Copy>(keys: &[K], again: &[(K, usize)]) -> BTreeMap<K, usize> {
    keys.iter()
        .map(|k| {
            let extra = again.iter().find(|(a, _)| a == k).map_or(0, |a| a.1);
            (*k, 1 + extra)
        })
        .collect()
}

/// Downloads `key` into the work folder with one byte of the range starting at `at` damaged once on
/// its way out; checks that the damage happened and that the file arrived as `bytes` all the same.
async fn download_damaged_once(
    h: &Harness,
    engine: &ferry::Engine,
    key: &str,
    bytes: &[u8],
    at: u64,
    opts: &DownloadOptions,
) -> ferry::RunStats {
    let before = h.faults.corrupted_gets.load(Ordering::SeqCst);
    h.faults.on_range(key, at, Failure::Corrupt, 1);
    let dest = h.work.path().join(key);
    let enq = engine
        .enqueue_download(&h.conn(), &url(key), &dest, opts)
        .await
        .unwrap();
    let stats = engine.run(&enq.ids).await.remove(0).result.unwrap();
    assert_eq!(h.faults.corrupted_gets.load(Ordering::SeqCst), before + 1);
    assert!(std::fs::read(&dest).unwrap() == bytes, "{key} differs");
    assert_eq!(
        engine.transfer(&enq.ids[0]).unwrap().state,
        State::Completed
    );
    stats
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_mid_part_resends_only_the_cut_parts() {
    let h = Harness::new().await;
    let proxy = h.proxy().await;
    // Part 2 is cut once and part 4 twice, each after 1 MiB of its body.
    proxy.inject(Match::UploadPart(2), Action::CutRequest(MIB as u64), 1);
    proxy.inject(Match::UploadPart(4), Action::CutRequest(MIB as u64), 2);
    let bytes = data(4 * PART + 123, 11);
    let src = h.file("cut.bin", &bytes);
    let engine = h.engine(Limits::default()).await;
    let enq = engine
        .enqueue_upload(&h.conn_via(&proxy), &src, &url("cut.bin"), &parts_of(PART))
        .await
        .unwrap();
    let stats = engine.run(&enq.ids).await.remove(0).result.unwrap();

    assert_eq!(h.object("cut.bin"), bytes);
    assert_eq!(proxy.cuts(), 3);
    assert_eq!(proxy.pending_rules(), 0);
    // The server saw each cut attempt begin, and every other part exactly once: nothing from zero.
    assert_eq!(
        h.log.part_counts("cut.bin"),
        counts(&[1, 2, 3, 4, 5], &[(2, 1), (4, 2)])
    );
    assert_eq!((stats.parts_total, stats.parts_sent), (5, 5));
    let row = engine.transfer(&enq.ids[0]).unwrap();
    assert_eq!(row.state, State::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_cut_mid_range_refetches_only_the_cut_ranges() {
    let h = Harness::new().await;
    let bytes = data(4 * PART + 99, 12);
    h.put("cut.bin", bytes.clone()).await;
    let proxy = h.proxy().await;
    let (second, fourth) = (PART as u64, 3 * PART as u64);
    proxy.inject(Match::RangeFrom(second), Action::CutResponse(MIB as u64), 1);
    proxy.inject(
        Match::RangeFrom(fourth),
        Action::CutResponse(2 * MIB as u64),
        2,
    );
    let engine = h.engine(Limits::default()).await;
    let dest = h.work.path().join("cut.bin");
    let enq = engine
        .enqueue_download(
            &h.conn_via(&proxy),
            &url("cut.bin"),
            &dest,
            &ranges_of(PART),
        )
        .await
        .unwrap();
    engine.run(&enq.ids).await.remove(0).result.unwrap();

    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    assert_eq!(proxy.cuts(), 3);
    assert_eq!(proxy.pending_rules(), 0);
    let starts: Vec<u64> = (0..5).map(|i| i * PART as u64).collect();
    assert_eq!(
        h.log.range_counts("cut.bin"),
        counts(&starts, &[(second, 1), (fourth, 2)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_part_or_range_is_abandoned_and_sent_again() {
    let h = Harness::new().await;
    let proxy = h.proxy().await;
    // The connection stays open and silent after 1 MiB: no error ever comes, only the watchdog
    // (1 s here) can notice.
    proxy.inject(Match::UploadPart(3), Action::StallRequest(MIB as u64), 1);
    let bytes = data(3 * PART + 5, 13);
    let src = h.file("stall.bin", &bytes);
    let engine = h.engine_with(Limits::default(), quick_retries()).await;
    let conn = h.conn_via(&proxy);
    let enq = engine
        .enqueue_upload(&conn, &src, &url("stall.bin"), &parts_of(PART))
        .await
        .unwrap();
    engine.run(&enq.ids).await.remove(0).result.unwrap();
    assert_eq!(h.object("stall.bin"), bytes);
    assert_eq!(
        h.log.part_counts("stall.bin"),
        counts(&[1, 2, 3, 4], &[(3, 1)])
    );

    let second = PART as u64;
    proxy.inject(
        Match::RangeFrom(second),
        Action::StallResponse(MIB as u64),
        1,
    );
    let dest = h.work.path().join("stall-down.bin");
    let enq = engine
        .enqueue_download(&conn, &url("stall.bin"), &dest, &ranges_of(PART))
        .await
        .unwrap();
    engine.run(&enq.ids).await.remove(0).result.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    let starts: Vec<u64> = (0..4).map(|i| i * PART as u64).collect();
    assert_eq!(
        h.log.range_counts("stall.bin"),
        counts(&starts, &[(second, 1)])
    );
    assert_eq!(proxy.stalls(), 2);
    assert_eq!(proxy.pending_rules(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_a_damaged_part_are_retried_per_part_and_never_stored() {
    let h = Harness::new().await;
    let key = "server.bin";
    h.faults.on_part(key, 2, Failure::SlowDown, 2);
    h.faults.on_part(key, 3, Failure::Internal, 1);
    // Part 4's body is damaged on its way in: the server computes another CRC32C than the one sent
    // and answers BadDigest, so the damaged bytes are never stored.
    h.faults.on_part(key, 4, Failure::Corrupt, 1);
    let bytes = data(4 * PART + 77, 14);
    let src = h.file(key, &bytes);
    let engine = h.engine_with(Limits::default(), quick_retries()).await;
    let enq = engine
        .enqueue_upload(&h.conn(), &src, &url(key), &parts_of(PART))
        .await
        .unwrap();
    engine.run(&enq.ids).await.remove(0).result.unwrap();

    assert_eq!(h.object(key), bytes);
    assert_eq!(h.faults.errors.load(Ordering::SeqCst), 3);
    assert_eq!(h.faults.bad_digests.load(Ordering::SeqCst), 1);
    assert_eq!(
        h.log.part_counts(key),
        counts(&[1, 2, 3, 4, 5], &[(2, 2), (3, 1), (4, 1)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_download_is_caught_by_its_checksum_and_fetched_again() {
    let h = Harness::new().await;
    let key = "damaged.bin";
    let bytes = data(4 * PART + 31, 15);
    // Stored with its CRC32C, as Ferry's single-part uploads are: the download checks it at the end.
    h.put_with_crc32c(key, bytes.clone()).await;
    let (second, third) = (PART as u64, 2 * PART as u64);
    h.faults.on_range(key, second, Failure::Corrupt, 1);
    h.faults.on_range(key, third, Failure::SlowDown, 1);
    let engine = h.engine_with(Limits::default(), quick_retries()).await;
    let dest = h.work.path().join(key);
    let enq = engine
        .enqueue_download(&h.conn(), &url(key), &dest, &ranges_of(PART))
        .await
        .unwrap();
    engine.run(&enq.ids).await.remove(0).result.unwrap();

    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    assert_eq!(h.faults.corrupted_gets.load(Ordering::SeqCst), 1);
    assert_eq!(h.faults.errors.load(Ordering::SeqCst), 1);
    // A whole-object checksum cannot say which range was damaged, so every range was fetched once
    // more; the range that got a 503 was also tried again at once.
    let starts: Vec<u64> = (0..5).map(|i| i * PART as u64).collect();
    let again: Vec<(u64, usize)> = starts
        .iter()
        .map(|&s| (s, if s == third { 2 } else { 1 }))
        .collect();
    assert_eq!(h.log.range_counts(key), counts(&starts, &again));
    assert_eq!(
        engine.transfer(&enq.ids[0]).unwrap().state,
        State::Completed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_outage_waits_in_waiting_retry_then_continues_by_itself() {
    let h = Harness::new().await;
    let proxy = h.proxy().await;
    let key = "outage.bin";
    let bytes = data(5 * PART + 9, 16);
    let src = h.file(key, &bytes);
    let limits = Limits {
        parts_in_flight: 2,
        ..Limits::default()
    };
    let engine = h.engine_with(limits, quick_retries()).await;
    let enq = engine
        .enqueue_upload(&h.conn_via(&proxy), &src, &url(key), &parts_of(PART))
        .await
        .unwrap();
    let id = enq.ids[0].clone();
    // Parts 1 and 2 are committed; 3 and 4 are held at the server when the server goes away.
    let run = run_held(&h, &engine, &enq.ids, Hold::PartsFrom(3), 2).await;
    for n in [3, 4] {
        wait_part_sent(&h, key, n).await;
    }
    let store = h.store();
    let before = ferry::store::now_ms();
    proxy.outage();
    h.log.release();

    // The retries are spent long before the outage ends: the transfer waits, saying until when.
    wait_until("the transfer waits to retry", || {
        store.get(&id).unwrap().unwrap().state == State::WaitingRetry
    })
    .await;
    let row = store.get(&id).unwrap().unwrap();
    let next = row.next_attempt_at.expect("a next attempt time");
    assert!(next > before, "{next} <= {before}");
    assert_eq!(row.error_kind.as_deref(), Some("network"));
    let view = serde_json::to_value(ferry::TransferView::from(&row)).unwrap();
    assert_eq!(view["state"], "waiting_retry");
    assert_eq!(view["nextAttemptAt"], next);
    let listed = output(&h, &["transfers"]).await;
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("waiting_retry") && listed.contains("next attempt in"),
        "{listed}"
    );

    // Resuming it here (the app's "retry now") runs it again at once; it waits again, still in the
    // same run, rather than being left queued with nobody to drive it.
    let resumed = engine.resume(&id).unwrap();
    assert_eq!(resumed.state, State::WaitingRetry);
    wait_until("another try, and another wait", || {
        let r = store.get(&id).unwrap().unwrap();
        r.state == State::WaitingRetry && r.next_attempt_at != Some(next)
    })
    .await;

    proxy.restore();
    let outcome = run.await.unwrap().remove(0);
    let stats = outcome.result.unwrap();
    assert_eq!(h.object(key), bytes);
    // Parts committed before the outage were not sent again; the two cut by it were sent once more.
    assert_eq!(
        h.log.part_counts(key),
        counts(&[1, 2, 3, 4, 5, 6], &[(3, 1), (4, 1)])
    );
    assert_eq!((stats.parts_reused, stats.parts_sent), (2, 4));
    let row = store.get(&id).unwrap().unwrap();
    assert_eq!(row.state, State::Completed);
    assert_eq!(row.next_attempt_at, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_a_thousand_files_under_random_cuts_and_server_errors_arrive_whole() {
    let h = Harness::new().await;
    let proxy = h.proxy().await;
    // Seeded and bounded: about 3% of request bodies cut at a random byte, about 3% of data requests
    // answered 500 or 503, at most 80 of each.
    proxy.random_cuts(0x5eed, 30, 80);
    h.faults.random_errors(0xfa17, 30, 80);
    let mut files: Vec<(String, Vec<u8>)> = (0..1000u64)
        .map(|i| {
            let len = 200 + (i as usize * 7919) % 8000;
            (format!("small/{i:04}.bin"), data(len, 1000 + i))
        })
        .collect();
    for i in 0..3u64 {
        files.push((
            format!("big/{i}.bin"),
            data(2 * PART + 4321 * (i as usize + 1), 50 + i),
        ));
    }
    for (rel, bytes) in &files {
        h.file(&format!("soak/{rel}"), bytes);
    }
    let limits = Limits {
        transfers: 16,
        parts_in_flight: 4,
        rate_limit: None,
    };
    let engine = h.engine_with(limits, quick_retries()).await;
    let opts = UploadOptions {
        recursive: true,
        part_size: Some(PART as u64),
        ..UploadOptions::default()
    };
    let enq = engine
        .enqueue_upload(
            &h.conn_via(&proxy),
            &h.work.path().join("soak"),
            &url("soak/"),
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(enq.ids.len(), files.len());
    // A guard against a hang, not a timing check.
    let outcomes = tokio::time::timeout(std::time::Duration::from_secs(600), engine.run(&enq.ids))
        .await
        .expect("the soak hung");

    let failed: Vec<_> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let (mut sent, mut total) = (0u64, 0u64);
    for o in &outcomes {
        let s = o.result.as_ref().unwrap();
        sent += s.bytes_sent;
        total += s.bytes_total;
    }
    let mut identical = 0;
    for (rel, bytes) in &files {
        let key = format!("soak/{rel}");
        assert!(h.object_exists(&key), "{key} is missing");
        assert_eq!(&h.object(&key), bytes, "{key} differs");
        identical += 1;
    }
    let rows = engine.transfers().unwrap();
    assert!(rows.iter().all(|r| r.state == State::Completed));
    let (cuts, errors) = (proxy.cuts(), h.faults.errors.load(Ordering::SeqCst));
    // The faults really happened: both kinds, and more than a handful.
    assert!(
        cuts >= 5 && errors >= 5,
        "cuts {cuts}, server errors {errors}"
    );
    for i in 0..3 {
        let key = format!("soak/big/{i}.bin");
        assert_eq!(h.log.part_counts(&key).len(), 3, "{key}");
    }
    println!(
        "soak: {} faults injected ({cuts} connection cuts, {errors} server 500/503), {identical} of {} \
         transfers completed byte-identical, {} bytes re-sent of {total}, nothing lost",
        cuts + errors,
        files.len(),
        sent.saturating_sub(total),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_connection_that_keeps_moving_is_not_taken_for_a_stall() {
    let h = Harness::new().await;
    let proxy = h.proxy().await;
    // Each 16 MiB part takes about 4 s through a 4 MiB/s link, twice the 2 s stall timeout: only a
    // part that stops moving is abandoned, not one that is merely slow. (The stall timeout must
    // exceed the time the OS's send buffer, up to 4 MiB on Linux, takes to drain: here 1 s.)
    proxy.throttle(Some(4 * MIB as u64));
    let key = "slow.bin";
    let part = 16 * MIB;
    let bytes = data(part + 1, 17);
    let src = h.file(key, &bytes);
    let limits = Limits {
        parts_in_flight: 1,
        ..Limits::default()
    };
    let retry = RetryPolicy {
        stall_timeout: std::time::Duration::from_secs(2),
        ..quick_retries()
    };
    let engine = h.engine_with(limits, retry).await;
    let conn = h.conn_via(&proxy);
    let opts = parts_of(part);
    let enq = engine
        .enqueue_upload(&conn, &src, &url(key), &opts)
        .await
        .unwrap();
    engine.run(&enq.ids).await.remove(0).result.unwrap();
    assert_eq!(h.object(key), bytes);
    assert_eq!(h.log.part_counts(key), counts(&[1, 2], &[]));

    let dest = h.work.path().join("slow-down.bin");
    let opts = ranges_of(part);
    let enq = engine
        .enqueue_download(&conn, &url(key), &dest, &opts)
        .await
        .unwrap();
    engine.run(&enq.ids).await.remove(0).result.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    assert_eq!(h.log.range_counts(key), counts(&[0, part as u64], &[]));
    assert_eq!(proxy.cuts() + proxy.stalls(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_uploads_are_aborted_and_other_clients_uploads_never_touched() {
    let h = Harness::new().await;
    let proxy = h.proxy().await;
    // Another client's unfinished upload in the same bucket.
    h.client()
        .await
        .create_multipart_upload()
        .bucket(BUCKET)
        .key("others.bin")
        .send()
        .await
        .unwrap();
    let limits = Limits {
        parts_in_flight: 1,
        ..Limits::default()
    };
    let engine = h.engine_with(limits, quick_retries()).await;
    let store = h.store();
    let names = ["cancelled.bin", "old.bin", "recent.bin"];
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let src = h.file(name, &data(2 * PART + 1, 20 + i as u64));
        let enq = engine
            .enqueue_upload(&h.conn_via(&proxy), &src, &url(name), &parts_of(PART))
            .await
            .unwrap();
        let id = enq.ids[0].clone();
        let run = run_held(&h, &engine, &enq.ids, Hold::PartsFrom(2), 1).await;
        wait_part_sent(&h, name, 2).await;
        engine.pause(&id).unwrap();
        run.await.unwrap();
        h.log.release();
        ids.push(id);
    }
    // The cancel of the first cannot reach the server, so its upload stays behind.
    proxy.outage();
    assert!(engine.cancel(&ids[0]).await.is_err());
    proxy.restore();
    // The second was paused eight days ago.
    age_transfer(&h, &ids[1], 8);
    assert_eq!(
        h.open_uploads().await,
        ["cancelled.bin", "old.bin", "others.bin", "recent.bin"]
    );

    let week = std::time::Duration::from_secs(7 * 24 * 3600);
    assert_eq!(engine.abort_abandoned_uploads(week).await.unwrap(), 2);
    assert_eq!(h.open_uploads().await, ["others.bin", "recent.bin"]);
    let row = |i: usize| store.get(&ids[i]).unwrap().unwrap();
    assert_eq!((row(0).state, row(0).upload_id), (State::Cancelled, None));
    assert_eq!((row(1).state, row(1).upload_id), (State::Paused, None));
    assert!(store.parts(&ids[1]).unwrap().is_empty());
    assert_eq!(row(2).state, State::Paused);
    assert!(row(2).upload_id.is_some());
    assert_eq!(store.parts(&ids[2]).unwrap().len(), 1);
    // Nothing more is abandoned, and the old one resumed starts over and completes.
    assert_eq!(engine.abort_abandoned_uploads(week).await.unwrap(), 0);
    engine.resume(&ids[1]).unwrap();
    run_one(&engine, &ids[1]).await.unwrap();
    assert_eq!(h.object("old.bin"), data(2 * PART + 1, 21));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_file_fetched_whole_without_a_head_is_still_checked_and_a_damaged_one_fetched_again(
) {
    let h = Harness::new().await;
    let bytes = data(300 * 1024 + 7, 19);
    h.put_with_crc32c("small/clean.bin", bytes.clone()).await;
    h.put_with_crc32c("small/damaged.bin", bytes.clone()).await;
    h.faults
        .on_range("small/damaged.bin", 0, Failure::Corrupt, 1);
    let engine = h.engine_with(Limits::default(), quick_retries()).await;
    let opts = DownloadOptions {
        recursive: true,
        ..Default::default()
    };
    let enq = engine
        .enqueue_download(&h.conn(), &url("small/"), h.work.path(), &opts)
        .await
        .unwrap();
    for outcome in engine.run(&enq.ids).await {
        outcome.result.unwrap();
    }

    for key in ["clean.bin", "damaged.bin"] {
        assert_eq!(std::fs::read(h.work.path().join(key)).unwrap(), bytes);
    }
    assert_eq!(h.faults.corrupted_gets.load(Ordering::SeqCst), 1);
    // One whole GET and nothing else for the clean file; the damaged one was caught by the object's
    // CRC32C and fetched once more, never accepted.
    assert_eq!(h.log.get_count("small/clean.bin"), 1);
    assert_eq!(h.log.get_count("small/damaged.bin"), 2);
    assert!(h.log.range_counts("small/clean.bin").is_empty());
    // The listing gave the size: the clean file needed no HEAD; the damaged one's second pass asked
    // the server again.
    assert_eq!(h.log.head_count("small/clean.bin"), 0);
    assert_eq!(h.log.head_count("small/damaged.bin"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_range_of_a_multipart_object_is_caught_by_its_full_checksum_of_each_kind() {
    use ferry::transfer::checksum::Algorithm;
    let h = Harness::new().await;
    let engine = h.engine_with(Limits::default(), quick_retries()).await;
    for (i, algo) in [Algorithm::Crc32, Algorithm::Crc32c, Algorithm::Crc64Nvme]
        .into_iter()
        .enumerate()
    {
        let key = format!("multipart-{}.bin", algo.name());
        let bytes = data(4 * PART + 4321, 40 + i as u64);
        put_multipart_with_full_checksum(&h, &key, &bytes, algo, PART).await;
        // The server keeps the checksum and shows it, as S3 does.
        let head = h.head(&key).await;
        assert!(head.e_tag().unwrap().contains("-5"), "{:?}", head.e_tag());
        // One byte of the third range is damaged on its way out; nothing else is wrong.
        let third = 2 * PART as u64;
        let stats = download_damaged_once(&h, &engine, &key, &bytes, third, &ranges_of(PART)).await;
        assert_eq!(stats.verified, Some(algo.name()));
        // The whole-object checksum cannot say which range was damaged: every range came twice.
        let starts: Vec<u64> = (0..5).map(|i| i * PART as u64).collect();
        let twice: Vec<(u64, usize)> = starts.iter().map(|&s| (s, 1)).collect();
        assert_eq!(h.log.range_counts(&key), counts(&starts, &twice));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_object_damaged_on_every_try_fails_as_corrupt_and_leaves_no_file() {
    use ferry::transfer::checksum::Algorithm;
    let h = Harness::new().await;
    let key = "always-damaged.bin";
    let bytes = data(3 * PART + 10, 44);
    put_multipart_with_full_checksum(&h, key, &bytes, Algorithm::Crc32, PART).await;
    download_damaged_always(&h, key, PART as u64, &ranges_of(PART), "CRC32 checksum").await;
}

/// Downloads `key` with the range starting at `at` damaged on every try: the download must fail as
/// Corrupt, its message naming `against`, and leave neither the file nor its temporary file.
async fn download_damaged_always(
    h: &Harness,
    key: &str,
    at: u64,
    opts: &DownloadOptions,
    against: &str,
) {
    h.faults.on_range(key, at, Failure::Corrupt, 100);
    let engine = h.engine_with(Limits::default(), quick_retries()).await;
    let dest = h.work.path().join(key);
    let enq = engine
        .enqueue_download(&h.conn(), &url(key), &dest, opts)
        .await
        .unwrap();
    let err = engine.run(&enq.ids).await.remove(0).result.unwrap_err();
    assert_eq!(err.kind, ferry::ErrorKind::Corrupt, "{}", err.message);
    assert!(err.message.contains(against), "{}", err.message);
    assert!(files_named(h, key).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_endpoint_refuses_a_wrong_full_checksum_and_forgets_a_replaced_objects_one() {
    use ferry::transfer::checksum::Algorithm;
    let h = Harness::new().await;
    let key = "replaced.bin";
    // First a single PUT with its CRC32C, then a multipart object without a checksum over it: the
    // old CRC32C must not be served for the new bytes.
    let old = data(1000, 1);
    h.put_with_crc32c(key, old).await;
    let new = data(2 * PART + 5, 2);
    let wrong = (
        Algorithm::Crc32c,
        ferry::transfer::crc32c_b64(b"other bytes"),
    );
    let err = put_multipart(&h, key, &new, PART, Some(wrong))
        .await
        .unwrap_err();
    assert!(err.contains("BadDigest"), "{err}");
    put_multipart(&h, key, &new, PART, None).await.unwrap();
    let head = h.head(key).await;
    assert_eq!(head.checksum_crc32_c(), None);
    assert_eq!(head.content_length(), Some(new.len() as i64));

    // Ferry downloads the new bytes, and says it had nothing to verify them against.
    let engine = h.engine(Limits::default()).await;
    let dest = h.work.path().join(key);
    let enq = engine
        .enqueue_download(&h.conn(), &url(key), &dest, &ranges_of(PART))
        .await
        .unwrap();
    let stats = engine.run(&enq.ids).await.remove(0).result.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), new);
    assert_eq!(stats.verified, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_small_object_without_a_checksum_is_caught_by_its_md5_etag_and_fetched_again() {
    let h = Harness::new().await;
    let key = "small/no-checksum.bin";
    let bytes = data(200 * 1024 + 17, 71);
    h.put(key, bytes.clone()).await;
    h.faults.on_range(key, 0, Failure::Corrupt, 1);
    let engine = h.engine_with(Limits::default(), quick_retries()).await;
    let dest = h.work.path().join("no-checksum.bin");
    let enq = engine
        .enqueue_download(&h.conn(), &url(key), &dest, &DownloadOptions::default())
        .await
        .unwrap();
    let stats = engine.run(&enq.ids).await.remove(0).result.unwrap();
    assert_eq!(h.faults.corrupted_gets.load(Ordering::SeqCst), 1);
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    assert_eq!(h.log.get_count(key), 2);
    assert_eq!(stats.verified, Some("MD5 ETag"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_server_that_keeps_no_checksums_a_ferry_uploaded_object_is_checked_against_its_recorded_parts(
) {
    let h = Harness::new().await;
    let engine = h.engine_with(Limits::default(), quick_retries()).await;
    let key = "recorded.bin";
    let bytes = data(3 * PART + 999, 72);
    let src = h.file("recorded-src.bin", &bytes);
    let up = engine
        .enqueue_upload(&h.conn(), &src, &url(key), &parts_of(PART))
        .await
        .unwrap();
    engine.run(&up.ids).await.remove(0).result.unwrap();
    assert!(h.head(key).await.e_tag().unwrap().contains("-4"));
    // From here on the server answers as one that keeps no checksum at all.
    h.faults.keep_no_checksums();
    let head = h.head(key).await;
    assert_eq!(
        (head.checksum_crc32_c(), head.checksum_type()),
        (None, None)
    );

    // One byte of the second range is damaged on its way out: the parts' CRC32C values Ferry
    // recorded while uploading catch it, and every range is fetched again.
    let stats =
        download_damaged_once(&h, &engine, key, &bytes, PART as u64, &ranges_of(PART)).await;
    assert_eq!(
        stats.verified,
        Some(ferry::transfer::download::RECORDED_AT_UPLOAD)
    );
    // What the shells show of it, in the engine's words (the app and the CLI alike).
    let rows = engine.transfers().unwrap();
    let row = rows
        .iter()
        .rfind(|r| r.direction == ferry::Direction::Download)
        .unwrap();
    assert_eq!(
        ferry::engine::TransferView::from(row)
            .verified_words
            .as_deref(),
        Some("the CRC32C values Ferry recorded when it uploaded the object")
    );
    let starts: Vec<u64> = (0..4).map(|i| i * PART as u64).collect();
    let twice: Vec<(u64, usize)> = starts.iter().map(|&s| (s, 1)).collect();
    assert_eq!(h.log.range_counts(key), counts(&starts, &twice));

    // The same key written since by another client is another object: nothing recorded for it, and
    // the download says so instead of claiming a check.
    let other = data(2 * PART + 5, 73);
    put_multipart(&h, key, &other, PART, None).await.unwrap();
    let dest = h.work.path().join("other.bin");
    let enq = engine
        .enqueue_download(&h.conn(), &url(key), &dest, &ranges_of(PART))
        .await
        .unwrap();
    let stats = engine.run(&enq.ids).await.remove(0).result.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), other);
    assert_eq!(stats.verified, None);
}

/// A range size of 8 MiB: a download of an object with a composite checksum must follow the
/// object's own 5 MiB parts instead.
const UNLIKE_PARTS: usize = 8 * MIB;

/// Files in the test's work folder whose name contains `name` (the download and its temporary file).
fn files_named(h: &Harness, name: &str) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(h.work.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().contains(name))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_endpoint_keeps_part_checksums_gives_a_composite_and_serves_parts_by_number() {
    use aws_sdk_s3::types::{ChecksumMode, ChecksumType};
    use ferry::transfer::checksum::Algorithm;
    let h = Harness::new().await;
    let client = h.client().await;
    for (i, algo) in [Algorithm::Crc32, Algorithm::Crc32c]
        .into_iter()
        .enumerate()
    {
        let key = format!("composite-{}.bin", algo.name());
        let bytes = data(3 * PART + 1234, 90 + i as u64);
        let values = put_multipart_with_part_checksums(&h, &key, &bytes, algo, PART).await;
        // Computed here from the definition: the CRC of the parts' big-endian CRCs, then "-N".
        let mut raw = Vec::new();
        for v in &values {
            raw.extend_from_slice(&(*v as u32).to_be_bytes());
        }
        let mut d = algo.digest();
        d.update(&raw);
        let expected = format!("{}-4", algo.encode(d.value()));

        let head = |part: Option<i32>| {
            client
                .head_object()
                .bucket(BUCKET)
                .key(&key)
                .set_part_number(part)
                .checksum_mode(ChecksumMode::Enabled)
                .send()
        };
        let crc = |crc32: Option<&str>, crc32c: Option<&str>| {
            match algo {
                Algorithm::Crc32 => crc32,
                _ => crc32c,
            }
            .map(str::to_string)
        };
        let whole = head(None).await.unwrap();
        assert_eq!(
            crc(whole.checksum_crc32(), whole.checksum_crc32_c()),
            Some(expected.clone())
        );
        assert_eq!(whole.checksum_type(), Some(&ChecksumType::Composite));
        assert_eq!(whole.content_length(), Some(bytes.len() as i64));
        assert_eq!(whole.parts_count(), None);
        for n in 1..=4 {
            let part = head(Some(n)).await.unwrap();
            let len = if n == 4 { 1234 } else { PART as i64 };
            assert_eq!(part.content_length(), Some(len), "part {n}");
            assert_eq!(part.parts_count(), Some(4));
            assert_eq!(
                crc(part.checksum_crc32(), part.checksum_crc32_c()),
                Some(algo.encode(values[n as usize - 1])),
                "part {n}"
            );
        }
        assert!(head(Some(5)).await.is_err());

        // GET by part number serves that part's bytes; a whole GET carries the composite.
        let got = client
            .get_object()
            .bucket(BUCKET)
            .key(&key)
            .part_number(2)
            .send()
            .await
            .unwrap();
        assert_eq!(got.parts_count(), Some(4));
        let body = got.body.collect().await.unwrap().into_bytes();
        assert!(body[..] == bytes[PART..2 * PART], "part 2's bytes");
        let got = client
            .get_object()
            .bucket(BUCKET)
            .key(&key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
        assert_eq!(
            crc(got.checksum_crc32(), got.checksum_crc32_c()),
            Some(expected)
        );
        assert_eq!(got.checksum_type(), Some(&ChecksumType::Composite));
    }

    // A part whose bytes do not match the checksum sent with it is refused, as on S3.
    let id = client
        .create_multipart_upload()
        .bucket(BUCKET)
        .key("bad-part.bin")
        .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32)
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap();
    let err = client
        .upload_part()
        .bucket(BUCKET)
        .key("bad-part.bin")
        .upload_id(&id)
        .part_number(1)
        .checksum_crc32(Algorithm::Crc32.encode(1))
        .body(data(1000, 3).into())
        .send()
        .await
        .unwrap_err();
    assert!(format!("{err:?}").contains("BadDigest"), "{err:?}");
    // A good one is kept, and ListParts shows its checksum (a resumed upload completes with it).
    let good = data(1000, 4);
    let mut d = Algorithm::Crc32.digest();
    d.update(&good);
    let sum = Algorithm::Crc32.encode(d.value());
    client
        .upload_part()
        .bucket(BUCKET)
        .key("bad-part.bin")
        .upload_id(&id)
        .part_number(1)
        .checksum_crc32(&sum)
        .body(good.into())
        .send()
        .await
        .unwrap();
    let listed = client
        .list_parts()
        .bucket(BUCKET)
        .key("bad-part.bin")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.parts()[0].checksum_crc32(), Some(sum.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_part_of_an_object_with_a_composite_checksum_is_fetched_again_alone() {
    use ferry::transfer::checksum::Algorithm;
    let h = Harness::new().await;
    let engine = h.engine_with(Limits::default(), quick_retries()).await;
    for (i, algo) in [Algorithm::Crc32, Algorithm::Crc32c]
        .into_iter()
        .enumerate()
    {
        let key = format!("composite-{}.bin", algo.name());
        let bytes = data(4 * PART + 4321, 80 + i as u64);
        put_multipart_with_part_checksums(&h, &key, &bytes, algo, PART).await;
        // One byte of the third part is damaged on its way out; nothing else is wrong.
        let third = 2 * PART as u64;
        let stats =
            download_damaged_once(&h, &engine, &key, &bytes, third, &ranges_of(UNLIKE_PARTS)).await;
        assert_eq!(stats.verified, Some(algo.composite_name()));
        // One range per 5 MiB part (not per 8 MiB), and only the damaged part came twice: the
        // server's per-part checksums said which one it was.
        let starts: Vec<u64> = (0..5).map(|i| i * PART as u64).collect();
        assert_eq!(
            h.log.range_counts(&key),
            counts(&starts, &[(2 * PART as u64, 1)])
        );
        assert_eq!((stats.parts_total, stats.parts_sent), (5, 6));
        // Its first and last parts (so the parts are equal), then each part's own checksum.
        assert_eq!(h.log.part_heads(&key), [1, 5, 1, 2, 3, 4, 5]);
        assert_eq!(files_named(&h, &key), [key.as_str()]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_with_a_composite_checksum_damaged_on_every_try_fails_as_corrupt_and_leaves_no_file(
) {
    use ferry::transfer::checksum::Algorithm;
    let h = Harness::new().await;
    let key = "always-damaged-composite.bin";
    let bytes = data(3 * PART + 10, 45);
    put_multipart_with_part_checksums(&h, key, &bytes, Algorithm::Crc32c, PART).await;
    let (second, opts) = (PART as u64, ranges_of(UNLIKE_PARTS));
    download_damaged_always(&h, key, second, &opts, "composite CRC32C checksum").await;
    // The damaged part was fetched once and three times again; the others once.
    let starts: Vec<u64> = (0..4).map(|i| i * PART as u64).collect();
    assert_eq!(
        h.log.range_counts(key),
        counts(&starts, &[(PART as u64, 3)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_upload_by_ferry_is_verified_by_its_composite_crc32c_on_download() {
    let h = Harness::new().await;
    let key = "ferry-made.bin";
    let bytes = data(3 * PART + 777, 46);
    let src = h.file("upload/ferry-made.bin", &bytes);
    let engine = h.engine_with(Limits::default(), quick_retries()).await;
    let enq = engine
        .enqueue_upload(&h.conn(), &src, &url(key), &parts_of(PART))
        .await
        .unwrap();
    engine.run(&enq.ids).await.remove(0).result.unwrap();
    let head = h.head(key).await;
    assert!(
        head.checksum_crc32_c().is_some_and(|c| c.ends_with("-4")),
        "{head:?}"
    );

    let fourth = 3 * PART as u64;
    let stats =
        download_damaged_once(&h, &engine, key, &bytes, fourth, &ranges_of(UNLIKE_PARTS)).await;
    assert_eq!(stats.verified, Some("composite CRC32C"));
    let starts: Vec<u64> = (0..4).map(|i| i * PART as u64).collect();
    assert_eq!(
        h.log.range_counts(key),
        counts(&starts, &[(3 * PART as u64, 1)])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_download_of_an_object_with_a_composite_checksum_resumes_with_its_parts_checked() {
    use ferry::transfer::checksum::Algorithm;
    let h = Harness::new().await;
    let key = "composite-resumed.bin";
    let bytes = data(4 * PART + 99, 47);
    put_multipart_with_part_checksums(&h, key, &bytes, Algorithm::Crc32, PART).await;
    let limits = Limits {
        parts_in_flight: 2,
        ..Limits::default()
    };
    let engine = h.engine_with(limits, quick_retries()).await;
    let dest = h.work.path().join(key);
    let enq = engine
        .enqueue_download(&h.conn(), &url(key), &dest, &ranges_of(UNLIKE_PARTS))
        .await
        .unwrap();
    let id = enq.ids[0].clone();
    let run = run_held(&h, &engine, &enq.ids, Hold::RangesFrom(2 * PART as u64), 2).await;
    engine.pause(&id).unwrap();
    run.await.unwrap();
    h.log.release();

    // The third part is damaged when the download goes on: the two parts committed before the pause
    // are kept, and their committed checksums count in the composite.
    h.faults.on_range(key, 3 * PART as u64, Failure::Corrupt, 1);
    engine.resume(&id).unwrap();
    let stats = run_one(&engine, &id).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    assert_eq!(h.faults.corrupted_gets.load(Ordering::SeqCst), 1);
    assert_eq!(stats.verified, Some("composite CRC32"));
    assert_eq!(stats.parts_reused, 2);
    let ranges = h.log.range_counts(key);
    assert_eq!((ranges[&0], ranges[&(PART as u64)]), (1, 1));
    assert_eq!(ranges[&(4 * PART as u64)], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_object_with_a_composite_checksum_fetched_whole_is_checked_and_fetched_again() {
    use ferry::transfer::checksum::Algorithm;
    let h = Harness::new().await;
    // 5 MiB + 1 MiB: two parts, yet within one 8 MiB range, so it comes in one GET without a HEAD.
    let key = "small-composite.bin";
    let bytes = data(PART + MIB, 48);
    put_multipart_with_part_checksums(&h, key, &bytes, Algorithm::Crc32c, PART).await;
    let engine = h.engine_with(Limits::default(), quick_retries()).await;
    let stats = download_damaged_once(&h, &engine, key, &bytes, 0, &ranges_of(UNLIKE_PARTS)).await;
    assert_eq!(stats.verified, Some("composite CRC32C"));
    // The damaged whole GET, then one range per part.
    assert_eq!(h.log.get_count(key), 3);
    assert_eq!(h.log.range_counts(key), counts(&[0, PART as u64], &[]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_range_of_a_big_single_part_object_is_caught_by_its_md5_etag() {
    // One PUT of 12 MiB with no checksum kept: fetched in 5 MiB ranges, so only the ETag (the MD5
    // of the whole) can say whether the file is the object.
    let h = Harness::new().await;
    let bytes = data(12 * MIB + 5, 73);
    h.put("md5/big.bin", bytes.clone()).await;
    let engine = h.engine_with(Limits::default(), quick_retries()).await;
    let stats = download_damaged_once(
        &h,
        &engine,
        "md5/big.bin",
        &bytes,
        5 * MIB as u64,
        &ranges_of(5 * MIB),
    )
    .await;
    assert_eq!(stats.verified, Some("MD5 ETag"));
    // The damage could not be placed: every range was fetched twice, none more.
    let ranges = h.log.range_counts("md5/big.bin");
    assert_eq!(ranges.len(), 3, "{ranges:?}");
    assert!(ranges.values().all(|n| *n == 2), "{ranges:?}");

    // A clean one is verified the same way, each range fetched once.
    h.put("md5/clean.bin", bytes.clone()).await;
    let dest = h.work.path().join("clean.bin");
    let enq = engine
        .enqueue_download(&h.conn(), &url("md5/clean.bin"), &dest, &ranges_of(5 * MIB))
        .await
        .unwrap();
    let stats = engine.run(&enq.ids).await.remove(0).result.unwrap();
    assert_eq!(stats.verified, Some("MD5 ETag"));
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    assert!(h
        .log
        .range_counts("md5/clean.bin")
        .values()
        .all(|n| *n == 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_session_token_pauses_an_upload_with_what_to_do_and_resume_finishes_it() {
    ledger::note("session token expired mid-upload", 1);
    let h = Harness::new().await;
    let bytes = data(3 * PART + 9, 74);
    let src = h.file("expiring.bin", &bytes);
    h.faults.on_part("expiring.bin", 3, Failure::Expired, 1);
    let engine = h
        .engine_with(
            Limits {
                parts_in_flight: 1,
                ..Limits::default()
            },
            quick_retries(),
        )
        .await;
    let enq = engine
        .enqueue_upload(&h.conn(), &src, &url("expiring.bin"), &parts_of(PART))
        .await
        .unwrap();
    let err = engine.run(&enq.ids).await.remove(0).result.unwrap_err();
    assert!(
        err.message.contains("credentials expired"),
        "{}",
        err.message
    );
    let row = engine.transfer(&enq.ids[0]).unwrap();
    assert_eq!(
        row.state,
        State::Paused,
        "not failed: signing in again and resuming continues it"
    );

    engine.resume(&enq.ids[0]).unwrap();
    engine.run(&enq.ids).await.remove(0).result.unwrap();
    assert_eq!(h.object("expiring.bin"), bytes);
    let sent = h.log.part_counts("expiring.bin");
    assert_eq!(
        (sent.get(&1), sent.get(&2)),
        (Some(&1), Some(&1)),
        "{sent:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_that_expire_during_a_long_upload_are_refreshed_and_it_goes_on() {
    ledger::note("credentials expiring mid-upload", 1);
    // A profile whose credentials come from a process, good for 5 seconds each time (as SSO and
    // assumed roles hand out, only shorter: the SDK renews them from 10 s before they end), and an
    // upload of several requests that lasts past their end under a bandwidth cap.
    let h = Harness::new().await;
    let calls = h.work.path().join("calls");
    let script = h.work.path().join("creds.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho call >> '{}'\nexp=$(date -u -d '+5 seconds' +%Y-%m-%dT%H:%M:%SZ)\nprintf '{{\"Version\":1,\"AccessKeyId\":\"%s\",\"SecretAccessKey\":\"%s\",\"SessionToken\":\"session\",\"Expiration\":\"%s\"}}' '{}' '{}' \"$exp\"\n",
            calls.display(),
            h.keys.access_key,
            h.keys.secret_key
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = h.work.path().join("process-config");
    std::fs::write(
        &config,
        format!(
            "[profile short]\ncredential_process = {}\nregion = us-east-1\n",
            script.display()
        ),
    )
    .unwrap();
    let bytes = data(6 * MIB, 75);
    let src = h.file("long.bin", &bytes);
    let mut cmd = h.ferry();
    cmd.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", &config)
        .args(["--profile", "short", "cp", src.to_str().unwrap()])
        .arg(format!("s3://{BUCKET}/long.bin"))
        .args(["--part-size", "5MiB", "--limit-rate", "2MiB"]);
    let out = crate::support::output_of(cmd).await;
    assert!(out.status.success(), "{}", crate::support::stderr(&out));
    assert_eq!(h.object("long.bin"), bytes);
    let asked = std::fs::read_to_string(&calls).unwrap().lines().count();
    assert!(
        asked >= 2,
        "the credentials were fetched {asked} time(s) during the upload"
    );
}

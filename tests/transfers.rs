//! Uploads and downloads, byte for byte, through the engine.

use std::time::Duration;

use ferry::{DownloadOptions, IfExists, Limits, State, UploadOptions};

use crate::support::{
    data, http_get, parts_of, ranges_of, run_one, tree, url, Harness, BUCKET, MIB,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_and_downloads_are_byte_identical_at_and_around_part_boundaries() {
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    let p = 5 * MIB;
    let sizes = [0, 1, p - 1, p, p + 1, 2 * p - 1, 2 * p, 2 * p + 1];
    for (i, &size) in sizes.iter().enumerate() {
        let bytes = data(size, i as u64 + 1);
        let src = h.file(&format!("in/f{i}.bin"), &bytes);
        let key = format!("sizes/f{i}.bin");
        let enq = engine
            .enqueue_upload(&h.conn(), &src, &url(&key), &parts_of(p))
            .await
            .unwrap();
        let out = engine.run(&enq.ids).await;
        let stats = out[0]
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("upload of {size} bytes: {e}"));
        assert_eq!(h.object(&key), bytes, "object of {size} bytes differs");
        // Small files take one PutObject; larger ones are cut at exactly the part size.
        let expected_parts = if size <= p { 0 } else { size.div_ceil(p) };
        assert_eq!(
            h.log.part_counts(&key).len(),
            expected_parts,
            "parts for {size} bytes"
        );
        assert_eq!(stats.bytes_total, size as u64);

        let dest = h.work.path().join(format!("out/f{i}.bin"));
        let opts = ranges_of(p);
        let enq = engine
            .enqueue_download(&h.conn(), &url(&key), &dest, &opts)
            .await
            .unwrap();
        let out = engine.run(&enq.ids).await;
        out[0]
            .result
            .as_ref()
            .unwrap_or_else(|e| panic!("download of {size} bytes: {e}"));
        assert_eq!(
            std::fs::read(&dest).unwrap(),
            bytes,
            "download of {size} bytes differs"
        );
        // One GET per range; an object that fits in one range is fetched whole.
        assert_eq!(
            h.log.get_count(&key),
            size.div_ceil(p),
            "GETs for {size} bytes"
        );
        if size > p {
            assert_eq!(h.log.range_counts(&key).len(), size.div_ceil(p));
        }
    }
    let rows = engine.transfers().unwrap();
    assert_eq!(rows.len(), sizes.len() * 2);
    assert!(rows
        .iter()
        .all(|r| r.state == State::Completed && r.bytes_done == r.size.unwrap()));
    // Only the final objects and the downloaded files exist: no temporary files beside them.
    let leftovers: Vec<_> = tree(&h.work.path().join("out"))
        .into_iter()
        .filter(|(n, _)| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_up_to_16_mib_go_whole_by_default_and_larger_ones_in_8_mib_parts() {
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    let whole = data(10 * MIB + 3, 21);
    let cut = data(17 * MIB, 22);
    h.file("sizes/whole.bin", &whole);
    h.file("sizes/cut.bin", &cut);
    let opts = UploadOptions {
        recursive: true,
        part_size: None,
        ..UploadOptions::default()
    };
    let enq = engine
        .enqueue_upload(
            &h.conn(),
            &h.work.path().join("sizes"),
            &url("sizes/"),
            &opts,
        )
        .await
        .unwrap();
    assert!(engine.run(&enq.ids).await.iter().all(|o| o.result.is_ok()));
    assert_eq!(h.object("sizes/whole.bin"), whole);
    assert_eq!(h.object("sizes/cut.bin"), cut);
    // One PutObject for the 10 MiB file; 8 + 8 + 1 MiB parts for the 17 MiB one.
    assert_eq!(h.log.put_count("sizes/whole.bin"), 1);
    assert!(h.log.part_counts("sizes/whole.bin").is_empty());
    assert_eq!(
        h.log
            .part_counts("sizes/cut.bin")
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );

    // Down again with default settings: the 10 MiB object in one whole GET with no HEAD (its size
    // came with the listing), its ETag recorded from the answer; the 17 MiB one in three ranges.
    let dest = h.work.path().join("back");
    let enq = engine
        .enqueue_download(
            &h.conn(),
            &url("sizes/"),
            &dest,
            &DownloadOptions {
                recursive: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(engine.run(&enq.ids).await.iter().all(|o| o.result.is_ok()));
    assert_eq!(std::fs::read(dest.join("whole.bin")).unwrap(), whole);
    assert_eq!(std::fs::read(dest.join("cut.bin")).unwrap(), cut);
    assert_eq!(h.log.get_count("sizes/whole.bin"), 1);
    assert!(h.log.range_counts("sizes/whole.bin").is_empty());
    assert_eq!(h.log.head_count("sizes/whole.bin"), 0);
    assert_eq!(h.log.range_counts("sizes/cut.bin").len(), 3);
    let etag = h
        .client()
        .await
        .head_object()
        .bucket(BUCKET)
        .key("sizes/whole.bin")
        .send()
        .await
        .unwrap()
        .e_tag()
        .map(str::to_string);
    assert!(etag.is_some());
    let row = engine
        .transfers()
        .unwrap()
        .into_iter()
        .find(|r| r.direction == ferry::Direction::Download && r.key == "sizes/whole.bin")
        .unwrap();
    assert_eq!(row.state, State::Completed);
    assert_eq!(row.etag, etag);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_object_downloads_in_parallel_ranges() {
    let h = Harness::new().await;
    let bytes = data(23 * MIB + 17, 7);
    h.put("big.bin", bytes.clone()).await;
    let engine = h.engine(Limits::default()).await;
    let dest = h.work.path().join("big.bin");
    let opts = ranges_of(5 * MIB);
    let enq = engine
        .enqueue_download(&h.conn(), &url("big.bin"), &dest, &opts)
        .await
        .unwrap();
    let stats = engine.run(&enq.ids).await.remove(0).result.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    let ranges = h.log.range_counts("big.bin");
    let starts: Vec<u64> = ranges.keys().copied().collect();
    assert_eq!(
        starts,
        (0..5).map(|i| i * 5 * MIB as u64).collect::<Vec<_>>()
    );
    assert!(ranges.values().all(|&n| n == 1));
    assert_eq!(stats.parts_sent, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_keeps_its_structure_up_and_down_including_non_ascii_names() {
    let h = Harness::new().await;
    let files = [
        ("a.txt", data(10, 1)),
        ("empty.dat", Vec::new()),
        ("nested/b.bin", data(6 * MIB + 3, 2)),
        ("nested/deeper/ünïcødé ファイル.txt", data(1000, 3)),
        ("nested/deeper/with space.txt", data(5, 4)),
        ("z/€uro/c.txt", data(4096, 5)),
    ];
    for (rel, bytes) in &files {
        h.file(&format!("tree/{rel}"), bytes);
    }
    let engine = h.engine(Limits::default()).await;
    let opts = UploadOptions {
        recursive: true,
        part_size: Some(5 * MIB as u64),
        ..UploadOptions::default()
    };
    let enq = engine
        .enqueue_upload(
            &h.conn(),
            &h.work.path().join("tree"),
            &url("backup/2026"),
            &opts,
        )
        .await
        .unwrap();
    assert_eq!(enq.ids.len(), files.len());
    let outcomes = engine.run(&enq.ids).await;
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    for (rel, bytes) in &files {
        assert_eq!(&h.object(&format!("backup/2026/{rel}")), bytes, "{rel}");
    }

    let dest = h.work.path().join("restored");
    let opts = DownloadOptions {
        recursive: true,
        ..Default::default()
    };
    let enq = engine
        .enqueue_download(&h.conn(), &url("backup/2026/"), &dest, &opts)
        .await
        .unwrap();
    let outcomes = engine.run(&enq.ids).await;
    assert!(outcomes.iter().all(|o| o.result.is_ok()), "{outcomes:?}");
    let mut want: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(r, b)| (r.to_string(), b.clone()))
        .collect();
    want.sort();
    assert_eq!(tree(&dest), want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_small_files_run_concurrently() {
    let h = Harness::new().await;
    for i in 0..40 {
        h.file(&format!("many/f{i:03}.txt"), &data(1000 + i, i as u64));
    }
    // Hold every PUT until several are in flight at once: a serial queue would never get there.
    let engine = h
        .engine(Limits {
            transfers: 8,
            ..Limits::default()
        })
        .await;
    let opts = UploadOptions {
        recursive: true,
        part_size: None,
        ..UploadOptions::default()
    };
    let enq = engine
        .enqueue_upload(&h.conn(), &h.work.path().join("many"), &url("many/"), &opts)
        .await
        .unwrap();
    let started = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut events = engine.subscribe_events();
    let seen = started.clone();
    let watcher = tokio::spawn(async move {
        let mut running = 0usize;
        let mut max = 0usize;
        while let Ok(ev) = events.recv().await {
            match ev.state {
                State::Running => running += 1,
                State::Completed | State::Failed => running -= 1,
                _ => {}
            }
            max = max.max(running);
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        max
    });
    let outcomes = engine.run(&enq.ids).await;
    assert!(outcomes.iter().all(|o| o.result.is_ok()));
    drop(engine);
    let max = tokio::time::timeout(Duration::from_secs(30), watcher)
        .await
        .unwrap()
        .unwrap();
    assert!(max > 1, "at most {max} transfer ran at a time");
    for i in 0..40 {
        assert_eq!(
            h.object(&format!("many/f{i:03}.txt")),
            data(1000 + i, i as u64)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presigned_link_downloads_over_http_and_a_tampered_one_is_refused() {
    let h = Harness::new().await;
    let bytes = data(300_000, 9);
    h.put("shared/report.pdf", bytes.clone()).await;
    let engine = h.engine(Limits::default()).await;
    let link = engine
        .presign(
            &h.conn(),
            BUCKET,
            "shared/report.pdf",
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    assert_eq!(link.expires_in_secs, 3600);
    let (status, body) = http_get(&link.url).await;
    assert_eq!(status, 200);
    assert_eq!(body, bytes);

    let tampered = link.url.replace("report.pdf", "report.pdg");
    assert_eq!(http_get(&tampered).await.0, 403);
    let longer = link.url.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200");
    assert_ne!(longer, link.url);
    assert_eq!(http_get(&longer).await.0, 403);

    let e = engine
        .presign(
            &h.conn(),
            BUCKET,
            "shared/report.pdf",
            Duration::from_secs(8 * 86400),
        )
        .await
        .unwrap_err();
    assert!(e.message.contains("at most 7 days"), "{}", e.message);
    let e = engine
        .presign(
            &h.conn(),
            BUCKET,
            "shared/missing.pdf",
            Duration::from_secs(60),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ferry::ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_destination_is_never_overwritten_silently() {
    let h = Harness::new().await;
    h.put("doc.txt", b"new contents".to_vec()).await;
    let engine = h.engine(Limits::default()).await;
    let dest = h.file("doc.txt", b"precious local edits");
    let e = engine
        .enqueue_download(
            &h.conn(),
            &url("doc.txt"),
            &dest,
            &DownloadOptions::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ferry::ErrorKind::AlreadyExists);
    assert!(e.message.contains("--if-exists"), "{}", e.message);
    assert_eq!(std::fs::read(&dest).unwrap(), b"precious local edits");
    assert!(
        engine.transfers().unwrap().is_empty(),
        "a refused request leaves no transfer behind"
    );

    let rename = DownloadOptions {
        if_exists: IfExists::Rename,
        ..Default::default()
    };
    let enq = engine
        .enqueue_download(&h.conn(), &url("doc.txt"), &dest, &rename)
        .await
        .unwrap();
    engine.run(&enq.ids).await.remove(0).result.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), b"precious local edits");
    assert_eq!(
        std::fs::read(h.work.path().join("doc (1).txt")).unwrap(),
        b"new contents"
    );

    let overwrite = DownloadOptions {
        if_exists: IfExists::Overwrite,
        ..Default::default()
    };
    let enq = engine
        .enqueue_download(&h.conn(), &url("doc.txt"), &dest, &overwrite)
        .await
        .unwrap();
    engine.run(&enq.ids).await.remove(0).result.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), b"new contents");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_whose_bytes_do_not_match_the_object_checksum_is_never_accepted() {
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    let bytes = data(3 * MIB, 31);
    let src = h.file("ledger.db", &bytes);
    let enq = engine
        .enqueue_upload(
            &h.conn(),
            &src,
            &url("ledger.db"),
            &UploadOptions::default(),
        )
        .await
        .unwrap();
    engine.run(&enq.ids).await.remove(0).result.unwrap();
    let head = h.head("ledger.db").await;
    assert!(
        head.checksum_crc32_c().is_some(),
        "the upload stored a CRC32C with the object"
    );

    // Damage one byte on the server's disk, behind its back: same size, same recorded ETag.
    let on_disk = h.data.path().join(BUCKET).join("ledger.db");
    let mut damaged = bytes.clone();
    damaged[MIB + 5] ^= 0xff;
    std::fs::write(&on_disk, &damaged).unwrap();

    let dest = h.work.path().join("restore/ledger.db");
    let opts = ranges_of(5 * MIB);
    let enq = engine
        .enqueue_download(&h.conn(), &url("ledger.db"), &dest, &opts)
        .await
        .unwrap();
    let e = engine.run(&enq.ids).await.remove(0).result.unwrap_err();
    assert_eq!(e.kind, ferry::ErrorKind::Corrupt, "{e}");
    assert!(e.message.contains("CRC32C"), "{}", e.message);
    assert!(!dest.exists(), "a damaged download reached its destination");
    assert_eq!(
        std::fs::read_dir(dest.parent().unwrap()).unwrap().count(),
        0,
        "temporary file left behind"
    );
    assert_eq!(engine.transfer(&enq.ids[0]).unwrap().state, State::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_stopped_after_its_file_was_moved_into_place_is_recorded_complete_without_fetching_again(
) {
    let h = Harness::new().await;
    let bytes = data(12 * MIB + 3, 41);
    h.put("disk.img", bytes.clone()).await;
    let engine = h.engine(Limits::default()).await;
    let dl = h.work.path().join("dl");
    std::fs::create_dir(&dl).unwrap();
    let opts = ranges_of(5 * MIB);
    let enq = engine
        .enqueue_download(&h.conn(), &url("disk.img"), &dl, &opts)
        .await
        .unwrap();
    let id = enq.ids[0].clone();
    engine.run(&enq.ids).await.remove(0).result.unwrap();
    // What a SIGKILL between the rename and the commit leaves: the file in place, every range
    // committed, and the row not yet completed (crash recovery makes it queued).
    h.store().set_state(&id, State::Queued, None).unwrap();
    let gets = h.log.gets.lock().unwrap().len();
    let stats = run_one(&engine, &id).await.unwrap();
    assert_eq!(stats.parts_reused, 3);
    assert_eq!(stats.bytes_sent, 0);
    assert_eq!(
        h.log.gets.lock().unwrap().len(),
        gets,
        "nothing fetched again"
    );
    assert_eq!(engine.transfer(&id).unwrap().state, State::Completed);
    assert_eq!(tree(&dl), vec![("disk.img".to_string(), bytes)]);

    // A different file of the same size in that place is not taken for the download.
    let stranger = data(12 * MIB + 3, 42);
    std::fs::write(dl.join("disk.img"), &stranger).unwrap();
    h.store().set_state(&id, State::Queued, None).unwrap();
    let e = run_one(&engine, &id).await;
    assert_eq!(e.unwrap_err().kind, ferry::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read(dl.join("disk.img")).unwrap(), stranger);
}

/// Every upload carries the Content-Type of its name, so a shared PDF or image opens in the
/// browser: single PUTs and multipart uploads alike, and octet-stream when the name says nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_carry_the_content_type_of_their_name() {
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    let types = [
        ("report.pdf", "application/pdf"),
        ("photo.png", "image/png"),
        ("photo.JPG", "image/jpeg"),
        ("page.html", "text/html"),
        ("style.css", "text/css"),
        ("app.js", "text/javascript"),
        ("data.json", "application/json"),
        ("notes.txt", "text/plain"),
        ("README", "application/octet-stream"),
    ];
    for (name, _) in types {
        h.file(&format!("site/{name}"), name.as_bytes());
    }
    h.file("site/movie.mp4", &data(11 * MIB, 7));
    let enq = engine
        .enqueue_upload(
            &h.conn(),
            &h.work.path().join("site"),
            &url("site/"),
            &UploadOptions {
                recursive: true,
                part_size: Some(5 * MIB as u64),
                ..UploadOptions::default()
            },
        )
        .await
        .unwrap();
    assert!(engine.run(&enq.ids).await.iter().all(|o| o.result.is_ok()));
    let client = h.client().await;
    let head = |key: String| {
        let client = client.clone();
        async move {
            let out = client
                .head_object()
                .bucket(BUCKET)
                .key(&key)
                .send()
                .await
                .unwrap();
            out.content_type().map(str::to_string)
        }
    };
    for (name, want) in types.into_iter().chain([("movie.mp4", "video/mp4")]) {
        assert_eq!(
            head(format!("site/{name}")).await.as_deref(),
            Some(want),
            "{name}"
        );
    }
    assert_eq!(
        h.log.part_counts("site/movie.mp4").len(),
        3,
        "the mp4 went multipart"
    );
}

/// A finished download remembers what it was verified against, and the app's view of it says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_download_records_what_it_was_verified_against() {
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    let src = h.file("v/notes.txt", b"checked on arrival");
    let up = engine
        .enqueue_upload(
            &h.conn(),
            &src,
            &url("v/notes.txt"),
            &UploadOptions::default(),
        )
        .await
        .unwrap();
    engine.run(&up.ids).await.remove(0).result.unwrap();
    let down = engine
        .enqueue_download(
            &h.conn(),
            &url("v/notes.txt"),
            &h.work.path().join("back.txt"),
            &DownloadOptions::default(),
        )
        .await
        .unwrap();
    engine.run(&down.ids).await.remove(0).result.unwrap();
    let row = engine.transfer(&down.ids[0]).unwrap();
    assert_eq!(row.verified.as_deref(), Some("CRC32C"));
    let view = ferry::TransferView::from(&row);
    assert_eq!(view.verified.as_deref(), Some("CRC32C"));
    assert_eq!(
        engine.transfer(&up.ids[0]).unwrap().verified,
        None,
        "uploads carry no such note"
    );
}

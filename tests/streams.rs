//! Streams through the `ferry` binary: standard input to an object of unknown length (multipart,
//! parts filled from the pipe) and an object to standard output, in order and verified; a stream cut
//! off mid-way leaves no multipart upload on the server.

use crate::support::server_faults::Failure;
use crate::support::{
    data, feed, interrupt, output, spawn_fed, stderr, wait_child, wait_until, Harness, BUCKET, MIB,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mib_stream_piped_into_ferry_cp_arrives_byte_identical() {
    let h = Harness::new().await;
    let bytes = data(100 * MIB, 7);
    let mut child = spawn_fed(&h, &["cp", "-", &format!("s3://{BUCKET}/videos/clip.mp4")]);
    feed(&mut child, bytes.clone(), true).await;
    let out = wait_child(child).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        h.object("videos/clip.mp4") == bytes,
        "the object differs from the stream"
    );
    // Parts of 8 MiB filled from the pipe: 13 of them, each sent once.
    let parts = h.log.part_counts("videos/clip.mp4");
    assert_eq!(parts.len(), 13, "{parts:?}");
    assert!(parts.values().all(|n| *n == 1), "{parts:?}");
    let head = h.head("videos/clip.mp4").await;
    assert_eq!(
        head.content_type(),
        Some("video/mp4"),
        "the type comes from the key's name"
    );
    assert!(h.open_uploads().await.is_empty());

    // A stream shorter than a part is one PutObject, with the type given.
    let mut child = spawn_fed(
        &h,
        &[
            "cp",
            "--content-type",
            "text/csv",
            "-",
            &format!("s3://{BUCKET}/rows"),
        ],
    );
    feed(&mut child, b"a,b\n1,2\n".to_vec(), true).await;
    let out = wait_child(child).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(h.object("rows"), b"a,b\n1,2\n");
    assert_eq!(h.log.put_count("rows"), 1);
    assert_eq!(h.head("rows").await.content_type(), Some("text/csv"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_cp_to_stdout_writes_the_object_in_order_and_checks_it_against_the_server() {
    let h = Harness::new().await;
    // A multipart object of Ferry's (composite CRC32C), read back in 5 MiB ranges.
    let bytes = data(23 * MIB + 5, 11);
    let src = h.file("big.bin", &bytes);
    let url = format!("s3://{BUCKET}/big.bin");
    let out = output(&h, &["cp", src.to_str().unwrap(), &url]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = output(&h, &["--json", "cp", "--part-size", "5MiB", &url, "-"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout == bytes, "stdout differs from the object");
    assert!(
        stderr(&out).contains("\"verified\":\"composite CRC32C\""),
        "{}",
        stderr(&out)
    );
    assert_eq!(h.log.range_counts("big.bin").len(), 5, "five 5 MiB ranges");

    // Another client's single-part object: checked against its MD5 ETag, by `ferry cat` too.
    h.put("notes.txt", b"plain notes".to_vec()).await;
    let out = output(&h, &["--json", "cat", &format!("s3://{BUCKET}/notes.txt")]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout, b"plain notes");

    // A range damaged on its way out is caught: the exit code says the output cannot be trusted.
    h.faults.on_range(
        "big.bin",
        5 * MIB as u64,
        crate::support::server_faults::Failure::Corrupt,
        1,
    );
    let out = output(&h, &["cp", "--part-size", "5MiB", &url, "-"]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("do not match the server's composite CRC32C"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_off_mid_way_leaves_no_multipart_upload_on_the_server() {
    let h = Harness::new().await;
    let key = "cut.bin";
    // Part 3 and later are held, so the upload is open with parts on the server when it is cut.
    h.log.hold_parts_from(3);
    let mut child = spawn_fed(&h, &["cp", "-", &format!("s3://{BUCKET}/{key}")]);
    let _open = feed(&mut child, data(40 * MIB, 3), false).await;
    wait_until("part 3 reached the server", || {
        h.log.part_counts(key).contains_key(&3)
    })
    .await;
    assert_eq!(h.open_uploads().await, [key]);

    let out = interrupt(child).await;
    h.log.release();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the partial upload was aborted")
            && stderr(&out).contains("cannot be resumed"),
        "{}",
        stderr(&out)
    );
    assert!(h.open_uploads().await.is_empty(), "the upload was aborted");
    assert!(!h.object_exists(key));
}

/// The server refuses a part for good: the CLI fails, says why, and aborts the upload it started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_the_server_refuses_mid_way_fails_and_leaves_no_multipart_upload() {
    let h = Harness::new().await;
    let key = "refused.bin";
    h.faults.on_part(key, 2, Failure::Denied, 1);
    let mut child = spawn_fed(&h, &["cp", "-", &format!("s3://{BUCKET}/{key}")]);
    // The CLI stops reading once it fails: the pipe may break under the writer.
    let _ = tokio::task::spawn_blocking({
        let mut stdin = child.stdin.take().unwrap();
        move || std::io::Write::write_all(&mut stdin, &data(40 * MIB, 9))
    })
    .await
    .unwrap();
    let out = wait_child(child).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("upload part 2")
            && err.contains("access denied")
            && err.contains("the partial upload was aborted"),
        "{err}"
    );
    assert_eq!(
        h.log.part_counts(key).get(&2),
        Some(&1),
        "a refusal is not retried"
    );
    assert!(h.open_uploads().await.is_empty(), "the upload was aborted");
    assert!(!h.object_exists(key));
}

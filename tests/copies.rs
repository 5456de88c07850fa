//! Server-side copies as transfers of the queue: above the single-copy limit (lowered here from
//! S3's 5 GiB) a multipart copy (UploadPartCopy by ranges) that keeps the source's metadata, never
//! reads the body through the client, pauses, cancels without leaving a multipart upload, resumes
//! after SIGKILL with only the missing parts, and as a move keeps its source when the copy fails.

use ferry::{CopyOptions, Direction, ErrorKind, State};

use crate::support::server_faults::Failure;
use crate::support::{
    as_if_killed_after_complete, data, kill, output, output_of, put_film, run_held,
    spawn_until_committed, stderr, url, wait_until, Harness, Hold, BUCKET, MIB,
};

/// The single-copy limit of these tests: objects above it take a multipart copy.
const SINGLE: u64 = 8 * MIB as u64;

/// A small PNG with a cache control and user metadata (owner=ana, team=blue).
async fn put_photo(h: &Harness) {
    h.client()
        .await
        .put_object()
        .bucket(BUCKET)
        .key("photo.png")
        .content_type("image/png")
        .cache_control("max-age=60")
        .metadata("owner", "ana")
        .metadata("team", "blue")
        .body(b"pixels".to_vec().into())
        .send()
        .await
        .unwrap();
}

/// The user metadata `name` of an object.
fn meta<'a>(
    head: &'a aws_sdk_s3::operation::head_object::HeadObjectOutput,
    name: &str,
) -> Option<&'a str> {
    head.metadata()?.get(name).map(String::as_str)
}

fn parts_of_5mib() -> CopyOptions {
    CopyOptions {
        part_size: Some(5 * MIB as u64),
        ..CopyOptions::default()
    }
}

fn assert_described(head: &aws_sdk_s3::operation::head_object::HeadObjectOutput) {
    assert_eq!(head.content_type(), Some("video/mp4"));
    assert_eq!(head.cache_control(), Some("max-age=600"));
    assert_eq!(
        head.metadata().unwrap().get("owner").map(String::as_str),
        Some("ana")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_copy_is_byte_identical_keeps_its_metadata_and_reads_no_body() {
    let h = Harness::new().await;
    let bytes = put_film(&h, "film.mp4", None).await;
    let engine = h.engine_copying_whole_up_to(SINGLE).await;
    let enq = engine
        .enqueue_copy(
            &h.conn(),
            &url("film.mp4"),
            &url("copies/film.mp4"),
            &parts_of_5mib(),
        )
        .await
        .unwrap();
    let outcome = engine.run(&enq.ids).await.remove(0);
    let stats = outcome.result.unwrap();
    assert_eq!((stats.parts_total, stats.bytes_total), (6, 26 * MIB as u64));

    assert_eq!(h.object("copies/film.mp4"), bytes);
    assert_described(&h.head("copies/film.mp4").await);
    let part_copies = h.log.part_copy_counts("copies/film.mp4");
    assert_eq!(
        part_copies,
        (1..=6).map(|n| (n, 1)).collect(),
        "each range copied once, by the server"
    );
    assert!(h.log.copies.lock().unwrap().is_empty(), "no CopyObject");
    assert_eq!(
        h.log.get_count("film.mp4"),
        0,
        "no body went through the client"
    );
    assert!(h.open_uploads().await.is_empty());
    let row = engine.transfer(&enq.ids[0]).unwrap();
    assert_eq!(
        (row.direction, row.state),
        (Direction::Copy, State::Completed)
    );
    assert_eq!(row.bytes_done, 26 * MIB as u64);

    // At or under the limit, one CopyObject.
    h.put("small.bin", data(3 * MIB, 42)).await;
    let enq = engine
        .enqueue_copy(
            &h.conn(),
            &url("small.bin"),
            &url("copies/"),
            &parts_of_5mib(),
        )
        .await
        .unwrap();
    engine.run(&enq.ids).await.remove(0).result.unwrap();
    assert_eq!(h.object("copies/small.bin"), data(3 * MIB, 42));
    assert_eq!(*h.log.copies.lock().unwrap(), ["copies/small.bin"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multipart_copy_pauses_resumes_from_its_parts_and_cancels_leaving_no_upload() {
    let h = Harness::new().await;
    let bytes = put_film(&h, "film.mp4", None).await;
    let engine = h.engine_copying_whole_up_to(SINGLE).await;
    let copy = |to: &str| {
        let (engine, h, to) = (engine.clone(), h.conn(), url(to));
        async move {
            engine
                .enqueue_copy(&h, &url("film.mp4"), &to, &parts_of_5mib())
                .await
                .unwrap()
                .ids
        }
    };

    let ids = copy("paused.mp4").await;
    let run = run_held(&h, &engine, &ids, Hold::PartsFrom(3), 2).await;
    engine.pause(&ids[0]).unwrap();
    h.log.release();
    let e = run.await.unwrap().remove(0).result.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Interrupted, "{}", e.message);
    let row = engine.transfer(&ids[0]).unwrap();
    assert_eq!(
        (row.state, row.bytes_done),
        (State::Paused, 10 * MIB as u64)
    );
    assert!(!h.object_exists("paused.mp4"));

    engine.resume(&ids[0]).unwrap();
    let stats = engine.run(&ids).await.remove(0).result.unwrap();
    assert_eq!(stats.parts_reused, 2, "{stats:?}");
    assert_eq!(h.object("paused.mp4"), bytes);
    let counts = h.log.part_copy_counts("paused.mp4");
    assert_eq!(
        (counts[&1], counts[&2]),
        (1, 1),
        "kept parts were not copied again"
    );

    let ids = copy("cancelled.mp4").await;
    let run = run_held(&h, &engine, &ids, Hold::PartsFrom(3), 2).await;
    let row = engine.cancel(&ids[0]).await.unwrap();
    h.log.release();
    run.await.unwrap();
    assert_eq!(row.state, State::Cancelled);
    assert!(
        h.open_uploads().await.is_empty(),
        "the multipart copy was aborted"
    );
    assert_eq!(h.leftover_part_files(), 0);
    assert!(!h.object_exists("cancelled.mp4"));
    assert!(h.object_exists("film.mp4"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_multipart_copy_resumes_with_only_the_missing_parts() {
    let h = Harness::new().await;
    let bytes = put_film(&h, "film.mp4", None).await;
    let (src, dst) = (
        format!("s3://{BUCKET}/film.mp4"),
        format!("s3://{BUCKET}/moved.mp4"),
    );
    let command = || {
        let mut c = h.ferry();
        c.env("FERRY_SINGLE_COPY_MAX", "8MiB").args([
            "mv",
            &src,
            &dst,
            "--part-size",
            "5MiB",
            "--json",
        ]);
        c
    };
    Hold::PartsFrom(4).close(&h.log);
    let (child, store, id) = spawn_until_committed(command(), &h, 3).await;
    kill(child).await;
    h.log.release();
    let before = h.log.part_copies.lock().unwrap().len();
    assert!(h.object_exists("film.mp4") && !h.object_exists("moved.mp4"));

    let out = output_of(command()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let again: Vec<i32> = h.log.part_copies.lock().unwrap()[before..]
        .iter()
        .map(|(_, n)| *n)
        .collect();
    let mut again = again;
    again.sort();
    assert_eq!(again, [4, 5, 6], "only the missing parts were copied again");
    assert_eq!(h.object("moved.mp4"), bytes);
    assert_described(&h.head("moved.mp4").await);
    assert!(
        !h.object_exists("film.mp4"),
        "moved: the source is gone once verified"
    );
    assert!(h.open_uploads().await.is_empty());
    assert_eq!(h.log.get_count("film.mp4"), 0);
    wait_until("the copy is recorded", || {
        store.get(&id).unwrap().unwrap().state == State::Completed
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_whose_multipart_copy_fails_keeps_its_source_and_leaves_nothing() {
    let h = Harness::new().await;
    let bytes = put_film(&h, "film.mp4", None).await;
    let engine = h.engine_copying_whole_up_to(SINGLE).await;
    h.faults.on_part_copy("moved.mp4", 4, Failure::Denied, 1);
    let opts = CopyOptions {
        delete_source: true,
        ..parts_of_5mib()
    };
    let e = engine
        .copy_objects(&h.conn(), &url("film.mp4"), &url("moved.mp4"), &opts)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::AccessDenied, "{}", e.message);
    assert_eq!(h.object("film.mp4"), bytes, "the source stays whole");
    assert!(!h.object_exists("moved.mp4"));

    // A source replaced after the copy was queued is never stitched into it.
    let enq = engine
        .enqueue_copy(&h.conn(), &url("film.mp4"), &url("other.mp4"), &opts)
        .await
        .unwrap();
    h.put("film.mp4", data(20 * MIB, 7)).await;
    let e = engine.run(&enq.ids).await.remove(0).result.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Changed, "{}", e.message);
    assert!(!h.object_exists("other.mp4") && h.object_exists("film.mp4"));
    // Asked again, the copy starts afresh from the source as it is now.
    let again = engine
        .enqueue_copy(&h.conn(), &url("film.mp4"), &url("other.mp4"), &opts)
        .await
        .unwrap();
    assert_ne!(again.ids, enq.ids);
    assert_eq!(
        engine.transfer(&enq.ids[0]).unwrap().state,
        State::Cancelled
    );
    engine.run(&again.ids).await.remove(0).result.unwrap();
    assert_eq!(h.object("other.mp4"), data(20 * MIB, 7));
    assert!(!h.object_exists("film.mp4"), "moved once verified");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_properties_rewrites_them_on_the_server_and_keeps_the_rest() {
    let h = Harness::new().await;
    let engine = h.engine_copying_whole_up_to(SINGLE).await;
    put_photo(&h).await;
    let edit = ferry::ObjectEdit {
        content_type: Some("image/webp".into()),
        content_disposition: Some("attachment; filename=\"photo.webp\"".into()),
        metadata: [("team".to_string(), "red".to_string())].into(),
        ..ferry::ObjectEdit::default()
    };
    let p = engine
        .edit_object(&h.conn(), &url("photo.png"), &edit)
        .await
        .unwrap();
    assert_eq!(p.content_type.as_deref(), Some("image/webp"));
    let head = h.head("photo.png").await;
    assert_eq!(head.content_type(), Some("image/webp"));
    assert_eq!(
        head.content_disposition(),
        Some("attachment; filename=\"photo.webp\"")
    );
    assert_eq!(
        head.cache_control(),
        Some("max-age=60"),
        "what is not named is kept"
    );
    assert_eq!(
        (meta(&head, "owner"), meta(&head, "team")),
        (Some("ana"), Some("red"))
    );
    assert_eq!(h.object("photo.png"), b"pixels");
    assert_eq!(
        *h.log.copies.lock().unwrap(),
        ["photo.png"],
        "one CopyObject onto itself"
    );
    assert_eq!(
        h.log.get_count("photo.png") + h.log.put_count("photo.png"),
        1,
        "only the test's own PUT"
    );

    // Above the single-copy limit: a multipart copy onto itself, metadata carried over.
    let bytes = put_film(&h, "film.mp4", None).await;
    let edit = ferry::ObjectEdit {
        remove_metadata: vec!["owner".into()],
        metadata: [("rating".to_string(), "pg".to_string())].into(),
        ..ferry::ObjectEdit::default()
    };
    engine
        .edit_object(&h.conn(), &url("film.mp4"), &edit)
        .await
        .unwrap();
    assert_eq!(h.object("film.mp4"), bytes);
    let head = h.head("film.mp4").await;
    assert_eq!(head.content_type(), Some("video/mp4"));
    assert_eq!(head.cache_control(), Some("max-age=600"));
    let meta = head.metadata().unwrap();
    assert_eq!(
        (meta.get("owner"), meta.get("rating").map(String::as_str)),
        (None, Some("pg"))
    );
    assert_eq!(
        h.log.part_copy_counts("film.mp4"),
        [(1, 1)].into(),
        "a copy's parts are 128 MiB unless chosen"
    );
    assert_eq!(h.log.get_count("film.mp4"), 0);
    assert!(h.open_uploads().await.is_empty());

    // Nothing to change, or a bad content type, is refused before anything is queued.
    let queued = engine.transfers().unwrap().len();
    for bad in [
        ferry::ObjectEdit::default(),
        ferry::ObjectEdit {
            content_type: Some("not a type".into()),
            ..ferry::ObjectEdit::default()
        },
    ] {
        let e = engine
            .edit_object(&h.conn(), &url("film.mp4"), &bad)
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidInput, "{}", e.message);
    }
    assert_eq!(engine.transfers().unwrap().len(), queued);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_set_meta_changes_what_it_names_from_the_cli() {
    let h = Harness::new().await;
    h.client()
        .await
        .put_object()
        .bucket(BUCKET)
        .key("notes")
        .content_type("application/octet-stream")
        .metadata("owner", "ana")
        .metadata("draft", "yes")
        .body(b"text".to_vec().into())
        .send()
        .await
        .unwrap();
    let target = format!("s3://{BUCKET}/notes");
    let out = output(
        &h,
        &[
            "set-meta",
            &target,
            "--content-type",
            "text/plain",
            "--cache-control",
            "no-cache",
            "--remove-metadata",
            "draft",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("text/plain"), "{printed}");
    let head = h.head("notes").await;
    assert_eq!(head.content_type(), Some("text/plain"));
    assert_eq!(head.cache_control(), Some("no-cache"));
    let meta = head.metadata().unwrap();
    assert_eq!(
        (meta.get("owner").map(String::as_str), meta.get("draft")),
        (Some("ana"), None)
    );
    assert_eq!(h.object("notes"), b"text");

    let out = output(&h, &["set-meta", &target]).await;
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("nothing to change"),
        "{}",
        stderr(&out)
    );
}

/// A copy or move killed after the server completed it, before Ferry recorded that (and, for a
/// move, after its source was deleted), is recognised by its destination on the next run: nothing
/// is copied again and the move does not fail for its missing source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_killed_after_the_server_completed_it_is_recognised_not_made_again() {
    let h = Harness::new().await;
    let bytes = put_film(&h, "film.mp4", None).await;
    let engine = h.engine_copying_whole_up_to(SINGLE).await;
    for (to, delete_source) in [("copy.mp4", false), ("moved.mp4", true)] {
        let opts = CopyOptions {
            delete_source,
            ..parts_of_5mib()
        };
        let ids = engine
            .enqueue_copy(&h.conn(), &url("film.mp4"), &url(to), &opts)
            .await
            .unwrap()
            .ids;
        engine.run(&ids).await.remove(0).result.unwrap();
        as_if_killed_after_complete(&h, &ids[0]);
        let copied = h.log.part_copies.lock().unwrap().len();
        let stats = engine.run(&ids).await.remove(0).result.unwrap();
        assert_eq!((stats.parts_sent, stats.parts_reused), (0, 6), "{to}");
        assert_eq!(h.log.part_copies.lock().unwrap().len(), copied, "{to}");
        assert_eq!(h.object(to), bytes);
        assert_eq!(engine.transfer(&ids[0]).unwrap().state, State::Completed);
    }
    assert!(!h.object_exists("film.mp4"), "the move's source went once");
}

/// An edit in place above the single-copy limit, killed after the server completed it: its object
/// is its own source and has changed, yet the next run recognises the edit as done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edit_in_place_killed_after_the_server_completed_it_is_recognised() {
    let h = Harness::new().await;
    let bytes = put_film(&h, "film.mp4", None).await;
    let engine = h.engine_copying_whole_up_to(SINGLE).await;
    let edit = ferry::ObjectEdit {
        content_type: Some("video/webm".into()),
        ..ferry::ObjectEdit::default()
    };
    let ids = engine
        .enqueue_edit(&h.conn(), &url("film.mp4"), &edit)
        .await
        .unwrap()
        .ids;
    engine.run(&ids).await.remove(0).result.unwrap();
    as_if_killed_after_complete(&h, &ids[0]);
    let copied = h.log.part_copies.lock().unwrap().len();
    engine.run(&ids).await.remove(0).result.unwrap();
    assert_eq!(h.log.part_copies.lock().unwrap().len(), copied);
    assert_eq!(engine.transfer(&ids[0]).unwrap().state, State::Completed);
    assert_eq!(h.head("film.mp4").await.content_type(), Some("video/webm"));
    assert_eq!(h.object("film.mp4"), bytes);
}

/// `ferry cp` between S3 locations with --content-type or --metadata changes those of the copy and
/// keeps the rest of its source's; the source is untouched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_side_copy_changes_only_the_properties_it_is_given() {
    let h = Harness::new().await;
    put_photo(&h).await;
    let (src, dst) = (
        format!("s3://{BUCKET}/photo.png"),
        format!("s3://{BUCKET}/copies/photo.webp"),
    );
    let args = [
        "cp",
        &src,
        &dst,
        "--content-type",
        "image/webp",
        "--metadata",
        "team=red",
    ];
    let out = output(&h, &args).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let copy = h.head("copies/photo.webp").await;
    assert_eq!(copy.content_type(), Some("image/webp"));
    assert_eq!(copy.cache_control(), Some("max-age=60"));
    assert_eq!(
        (meta(&copy, "owner"), meta(&copy, "team")),
        (Some("ana"), Some("red"))
    );
    assert_eq!(h.object("copies/photo.webp"), b"pixels");
    let source = h.head("photo.png").await;
    assert_eq!(source.content_type(), Some("image/png"));
    assert_eq!(meta(&source, "team"), Some("blue"));

    let out = output(
        &h,
        &[
            "cp",
            &src,
            &format!("s3://{BUCKET}/c2.png"),
            "--content-encoding",
            "gzip",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!h.object_exists("c2.png"));
}

/// A copy keeps its source's tags: a multipart copy reads them (GetObjectTagging) and gives them to
/// CreateMultipartUpload, since UploadPartCopy carries none; a single CopyObject keeps them itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copies_keep_their_sources_tags() {
    let h = Harness::new().await;
    let bytes = data(12 * MIB, 43);
    for (key, body) in [("film.mp4", bytes.clone()), ("note.txt", b"note".to_vec())] {
        h.client()
            .await
            .put_object()
            .bucket(BUCKET)
            .key(key)
            .tagging("project=ferry&stage=final%20cut")
            .body(body.into())
            .send()
            .await
            .unwrap();
    }
    let engine = h.engine_copying_whole_up_to(SINGLE).await;
    for (from, to) in [("film.mp4", "copy.mp4"), ("note.txt", "copy.txt")] {
        let enq = engine
            .enqueue_copy(&h.conn(), &url(from), &url(to), &parts_of_5mib())
            .await
            .unwrap();
        engine.run(&enq.ids).await.remove(0).result.unwrap();
        let tags = h
            .client()
            .await
            .get_object_tagging()
            .bucket(BUCKET)
            .key(to)
            .send()
            .await
            .unwrap();
        let tags: Vec<(&str, &str)> = tags
            .tag_set()
            .iter()
            .map(|t| (t.key(), t.value()))
            .collect();
        assert_eq!(tags, [("project", "ferry"), ("stage", "final cut")], "{to}");
    }
    assert_eq!(h.log.part_copy_counts("copy.mp4").len(), 3);
    assert_eq!(h.object("copy.mp4"), bytes);
}

//! Objects: moved and copied by the server (bytes, content type and metadata kept, no body through
//! the client, nothing overwritten unasked, a source deleted only once its copy is verified),
//! folders deleted in batches of 1,000 with refusals named, server-side encryption asked for.

use ferry::{CopyOptions, ErrorKind, IfExists, Limits, S3Url};

use crate::support::server_faults::Failure;
use crate::support::{
    feed, http_get_with_head, output, quick_retries, spawn_fed, stderr, Harness, BUCKET,
};

fn s3(key: &str) -> S3Url {
    S3Url::parse(&format!("s3://{BUCKET}/{key}")).unwrap()
}

/// An object with a content type and user metadata, as another client would have put it.
async fn put_described(h: &Harness, key: &str, body: &str) {
    h.client()
        .await
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .content_type("image/png")
        .metadata("owner", "ana")
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_of_200_objects_is_copied_and_moved_by_the_server_keeping_bytes_type_and_metadata()
{
    let h = Harness::new().await;
    for i in 0..200 {
        put_described(&h, &format!("album/{i:03}.png"), &format!("picture {i}")).await;
    }
    let engine = h.engine(Limits::default()).await;
    let opts = CopyOptions {
        recursive: true,
        ..CopyOptions::default()
    };
    let done = engine
        .copy_objects(&h.conn(), &s3("album"), &s3("backup/album/"), &opts)
        .await
        .unwrap();
    assert_eq!((done.copied, done.moved), (200, 0));
    let client = h.client().await;
    for i in [0, 57, 199] {
        let key = format!("backup/album/{i:03}.png");
        assert_eq!(h.object(&key), format!("picture {i}").into_bytes());
        let head = client
            .head_object()
            .bucket(BUCKET)
            .key(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(head.content_type(), Some("image/png"));
        assert_eq!(
            head.metadata().unwrap().get("owner").map(String::as_str),
            Some("ana")
        );
    }
    let bodies_read: usize = (0..200)
        .map(|i| h.log.get_count(&format!("album/{i:03}.png")))
        .sum();
    assert_eq!(bodies_read, 0, "the client never downloaded a body");
    assert!(h.object_exists("album/000.png"), "a copy keeps its source");
    let rows = engine.transfers().unwrap();
    assert_eq!(rows.len(), 200);
    assert!(rows
        .iter()
        .all(|r| r.direction == ferry::Direction::Copy && r.state == ferry::State::Completed));
    assert!(
        rows.iter().all(|r| r.batch_id == rows[0].batch_id),
        "a prefix is one batch of copy transfers"
    );

    // The same folder moved: bytes, type and metadata kept, every source gone, no body read.
    let mv = CopyOptions {
        delete_source: true,
        ..opts.clone()
    };
    let done = engine
        .copy_objects(&h.conn(), &s3("album/"), &s3("moved/"), &mv)
        .await
        .unwrap();
    assert_eq!((done.copied, done.moved), (200, 200));
    for i in [0, 123, 199] {
        let key = format!("moved/{i:03}.png");
        assert_eq!(h.object(&key), format!("picture {i}").into_bytes());
        let head = h.head(&key).await;
        assert_eq!(head.content_type(), Some("image/png"));
        assert_eq!(
            head.metadata().unwrap().get("owner").map(String::as_str),
            Some("ana")
        );
    }
    assert!((0..200).all(|i| !h.object_exists(&format!("album/{i:03}.png"))));
    let bodies_read: usize = (0..200)
        .map(|i| {
            h.log.get_count(&format!("album/{i:03}.png"))
                + h.log.get_count(&format!("moved/{i:03}.png"))
        })
        .sum();
    assert_eq!(bodies_read, 0, "the client never downloaded a body");

    // Copying a folder into itself is refused before anything happens.
    let e = engine
        .copy_objects(&h.conn(), &s3("moved/"), &s3("moved/inner/"), &opts)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput, "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_never_replaces_unasked_and_keeps_its_source_when_the_copy_fails() {
    let h = Harness::new().await;
    put_described(&h, "draft.png", "new draft").await;
    put_described(&h, "final.png", "the final one").await;
    let engine = h.engine_with(Limits::default(), quick_retries()).await;
    let mv = |if_exists| CopyOptions {
        delete_source: true,
        if_exists,
        ..CopyOptions::default()
    };

    let e = engine
        .copy_objects(
            &h.conn(),
            &s3("draft.png"),
            &s3("final.png"),
            &mv(IfExists::Error),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::AlreadyExists, "{}", e.message);
    assert_eq!(h.object("final.png"), b"the final one");
    assert!(h.object_exists("draft.png"));

    // The server refuses the copy: the move fails, the source stays, nothing appears.
    h.faults
        .on_request("copy_object", "moved.png", Failure::Denied, 1);
    let e = engine
        .copy_objects(
            &h.conn(),
            &s3("draft.png"),
            &s3("moved.png"),
            &mv(IfExists::Error),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::AccessDenied, "{}", e.message);
    assert!(h.object_exists("draft.png") && !h.object_exists("moved.png"));
    let failed = engine.transfers().unwrap();
    let failed = failed.iter().find(|r| r.key == "moved.png").unwrap();
    assert_eq!(
        (failed.direction, failed.state),
        (ferry::Direction::Copy, ferry::State::Failed)
    );

    let done = engine
        .copy_objects(
            &h.conn(),
            &s3("draft.png"),
            &s3("final.png"),
            &mv(IfExists::Overwrite),
        )
        .await
        .unwrap();
    assert_eq!(done.moved, 1);
    assert_eq!(h.object("final.png"), b"new draft");
    assert!(
        !h.object_exists("draft.png"),
        "moved: the source is gone once the copy verified"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_mv_and_cp_between_s3_locations_work_from_the_cli() {
    let h = Harness::new().await;
    for k in ["in/a.png", "in/sub/b.png", "in-other/c.png"] {
        put_described(&h, k, k).await;
    }
    let out = output(
        &h,
        &[
            "cp",
            &format!("s3://{BUCKET}/in/a.png"),
            &format!("s3://{BUCKET}/copy/"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(h.object("copy/a.png"), b"in/a.png");
    let out = output(
        &h,
        &[
            "mv",
            "--recursive",
            &format!("s3://{BUCKET}/in"),
            &format!("s3://{BUCKET}/out/"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("2 of 2 done: 20 B in ")
            && String::from_utf8_lossy(&out.stdout).contains("(no bytes through this machine)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(h.object("out/sub/b.png"), b"in/sub/b.png");
    assert!(!h.object_exists("in/a.png") && !h.object_exists("in/sub/b.png"));
    assert!(
        h.object_exists("in-other/c.png"),
        "the folder beside it stays"
    );
    let out = output(
        &h,
        &[
            "mv",
            &format!("s3://{BUCKET}/copy/a.png"),
            &format!("s3://{BUCKET}/out/a.png"),
        ],
    )
    .await;
    assert!(
        !out.status.success() && stderr(&out).contains("--if-exists"),
        "{}",
        stderr(&out)
    );
}

/// A share link opens an object in the browser with its type; the "download as" link saves it under
/// its name (Content-Disposition: attachment), non-ASCII names included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_links_open_inline_or_download_as_the_files_name() {
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    let src = h.file("report final é.pdf", b"%PDF-1.7 report");
    let enq = engine
        .enqueue_upload(
            &h.conn(),
            &src,
            &s3("docs/"),
            &ferry::UploadOptions::default(),
        )
        .await
        .unwrap();
    engine.run(&enq.ids).await.remove(0).result.unwrap();
    let key = "docs/report final é.pdf";
    let hour = std::time::Duration::from_secs(3600);

    let inline = engine.presign(&h.conn(), BUCKET, key, hour).await.unwrap();
    let (status, head, body) = http_get_with_head(&inline.url).await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(body, b"%PDF-1.7 report");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-type: application/pdf"), "{head}");
    assert!(!head.contains("content-disposition: attachment"), "{head}");

    let download = engine
        .presign_download(&h.conn(), BUCKET, key, hour)
        .await
        .unwrap();
    let (status, head, body) = http_get_with_head(&download.url).await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(body, b"%PDF-1.7 report");
    assert!(
        head.contains("attachment; filename=\"report final _.pdf\"; filename*=UTF-8''report%20final%20%C3%A9%2Epdf"),
        "{head}"
    );
}

/// Puts `n` small objects named `{prefix}{i:04}.txt` through the S3 API, a few at a time.
async fn put_many(h: &Harness, prefix: &str, n: usize) {
    let client = h.client().await;
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..8 {
        let (client, prefix) = (client.clone(), prefix.to_string());
        tasks.spawn(async move {
            for i in (lane..n).step_by(8) {
                client
                    .put_object()
                    .bucket(BUCKET)
                    .key(format!("{prefix}{i:04}.txt"))
                    .body(format!("line {i}").into_bytes().into())
                    .send()
                    .await
                    .unwrap();
            }
        });
    }
    while let Some(t) = tasks.join_next().await {
        t.unwrap();
    }
}

/// `ferry rm --recursive` on a folder of 2,500 objects: `--dry-run` deletes nothing, then three
/// DeleteObjects requests (1,000, 1,000, 500 keys) remove it all, and the folder beside it stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_of_2500_objects_is_deleted_in_three_delete_objects_requests() {
    let h = Harness::new().await;
    put_many(&h, "logs/", 2500).await;
    h.put("logs-old/keep.txt", b"kept".to_vec()).await;
    let target = format!("s3://{BUCKET}/logs");

    let out = output(&h, &["rm", "--recursive", "--dry-run", &target]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("would delete s3://test-bucket/logs/2499.txt")
            && text.contains("would delete 2500 objects"),
        "{text}"
    );
    assert!(h.log.delete_batches.lock().unwrap().is_empty());
    assert!(h.object_exists("logs/0000.txt"));

    let out = output(&h, &["rm", "--recursive", &target]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("deleted 2500 objects"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        stderr(&out).contains("deleting: 2000 of 2500"),
        "{}",
        stderr(&out)
    );
    assert_eq!(*h.log.delete_batches.lock().unwrap(), [1000, 1000, 500]);
    assert_eq!(h.object_keys().await, ["logs-old/keep.txt"]);
}

/// A key the server refuses to delete is named, with the server's reason; every other key, in its
/// batch and in the next, is still deleted, and the exit code says not everything went.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_the_server_refuses_to_delete_is_named_and_the_others_are_deleted() {
    let h = Harness::new().await;
    put_many(&h, "tmp/", 1200).await;
    h.faults.refuse_delete("tmp/0042.txt");

    let out = output(&h, &["rm", "--recursive", &format!("s3://{BUCKET}/tmp/")]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("not deleted: s3://test-bucket/tmp/0042.txt") && err.contains("access denied"),
        "{err}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("deleted 1199 objects"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(h.object_keys().await, ["tmp/0042.txt"]);

    // The app's command reports the same through the engine, by key.
    put_many(&h, "more/", 3).await;
    h.faults.refuse_delete("more/0001.txt");
    let engine = h.engine(Limits::default()).await;
    let tally = engine
        .tally(&h.conn(), BUCKET, &["more/".into()])
        .await
        .unwrap();
    assert_eq!((tally.objects, tally.bytes), (3, 18));
    let mut seen = Vec::new();
    let done = engine
        .delete_objects(&h.conn(), BUCKET, &[], &["more/".into()], |p| {
            seen.push((p.handled, p.total))
        })
        .await
        .unwrap();
    assert_eq!(seen, [(3, 3)], "one request for the three keys");
    assert_eq!(done.deleted, 2);
    assert_eq!(
        done.failed
            .iter()
            .map(|f| f.key.as_str())
            .collect::<Vec<_>>(),
        ["more/0001.txt"]
    );
    let e = engine
        .delete_objects(&h.conn(), BUCKET, &[], &["".into()], |_| {})
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput, "{}", e.message);
}

/// `--sse` reaches the server on every request that makes an object: a PutObject, a multipart
/// upload's start, a streamed upload and a server-side copy; a mode S3 does not know, or a KMS key
/// without KMS, is refused before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_encryption_is_asked_for_on_uploads_streams_and_copies() {
    let h = Harness::new().await;
    let small = h.file("small.txt", b"small");
    let small = small.to_str().unwrap();
    let big = h.file(
        "big.bin",
        &crate::support::data(20 * crate::support::MIB, 5),
    );
    let url = |k: &str| format!("s3://{BUCKET}/{k}");
    let aes = || (Some("AES256".to_string()), None);

    let out = output(&h, &["cp", "--sse", "AES256", small, &url("small.txt")]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(h.log.encryption_of("small.txt"), [aes()]);

    let kms = ["--sse", "aws:kms", "--sse-kms-key-id", "alias/ferry"];
    let (big, big_url) = (big.to_str().unwrap(), url("big.bin"));
    let out = output(&h, &[&["cp"][..], &kms, &[big, &big_url]].concat()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        h.log.encryption_of("big.bin"),
        [(Some("aws:kms".to_string()), Some("alias/ferry".to_string()))],
        "the multipart upload's start carries it"
    );

    let out = output(
        &h,
        &["cp", "--sse", "AES256", &url("small.txt"), &url("copy.txt")],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(h.log.encryption_of("copy.txt"), [aes()]);
    let out = output(
        &h,
        &["mv", "--sse", "AES256", &url("copy.txt"), &url("moved.txt")],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(h.log.encryption_of("moved.txt"), [aes()]);

    let mut child = spawn_fed(&h, &["cp", "--sse", "AES256", "-", &url("piped.txt")]);
    feed(&mut child, b"piped".to_vec(), true).await;
    let out = crate::support::wait_child(child).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(h.log.encryption_of("piped.txt"), [aes()]);

    let before = h.log.encryption.lock().unwrap().len();
    let dst = url("refused.txt");
    for (args, says) in [
        (["--sse", "AES128"], "choose --sse AES256"),
        (["--sse-kms-key-id", "k"], "needs --sse aws:kms"),
    ] {
        let out = output(&h, &[&["cp"][..], &args, &[small, &dst]].concat()).await;
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
    let out = output(
        &h,
        &["cp", "--sse", "AES128", &url("small.txt"), &url("c2.txt")],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(
        h.log.encryption.lock().unwrap().len(),
        before,
        "nothing was sent"
    );
    assert!(!h.object_exists("refused.txt") && !h.object_exists("c2.txt"));
}

/// An account's upload defaults (storage class, encryption, cache control) go with every upload of
/// it, single or multipart, file or stream, unless the upload chooses its own; cleared, they stop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accounts_upload_defaults_apply_unless_an_upload_chooses_otherwise() {
    let h = Harness::new().await;
    let small = h.file("small.txt", b"small");
    let small = small.to_str().unwrap();
    let big = h.file(
        "big.bin",
        &crate::support::data(20 * crate::support::MIB, 6),
    );
    let big = big.to_str().unwrap();
    let url = |k: &str| format!("s3://{BUCKET}/{k}");
    let aes = || (Some("AES256".to_string()), None);
    let rr = || Some("REDUCED_REDUNDANCY".to_string());

    // The CLI's account here is `default` (an endpoint and keys from the environment).
    let set = [
        "account",
        "defaults",
        "default",
        "--storage-class",
        "REDUCED_REDUNDANCY",
        "--sse",
        "AES256",
        "--cache-control",
        "max-age=60",
    ];
    let out = output(&h, &set).await;
    assert!(out.status.success(), "{}", stderr(&out));
    for (src, key) in [(small, "small.txt"), (big, "big.bin")] {
        let out = output(&h, &["cp", src, &url(key)]).await;
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(h.log.encryption_of(key), [aes()], "{key}");
        assert_eq!(h.log.storage_class_of(key), [rr()], "{key}");
        assert_eq!(h.head(key).await.cache_control(), Some("max-age=60"));
    }
    let mut child = spawn_fed(&h, &["cp", "-", &url("piped.txt")]);
    feed(&mut child, b"piped".to_vec(), true).await;
    let out = crate::support::wait_child(child).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(h.log.encryption_of("piped.txt"), [aes()]);

    let own = [
        "cp",
        "--sse",
        "aws:kms",
        "--sse-kms-key-id",
        "alias/own",
        "--cache-control",
        "no-cache",
        small,
    ];
    let out = output(&h, &[&own[..], &[&url("own.txt")]].concat()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        h.log.encryption_of("own.txt"),
        [(Some("aws:kms".to_string()), Some("alias/own".to_string()))]
    );
    assert_eq!(h.head("own.txt").await.cache_control(), Some("no-cache"));
    assert_eq!(
        h.log.storage_class_of("own.txt"),
        [rr()],
        "what it left out"
    );

    let out = output(&h, &["account", "defaults", "default", "--clear"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = output(&h, &["cp", small, &url("plain.txt")]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(h.log.encryption_of("plain.txt"), [(None, None)]);
    assert_eq!(h.log.storage_class_of("plain.txt"), [None]);

    let out = output(&h, &["account", "defaults", "default", "--sse", "AES128"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("choose --sse AES256"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_show_a_texts_first_bytes_and_give_media_a_link_without_saving_anything() {
    use ferry::engine::{PreviewKind, TEXT_MAX};
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    h.put("notes/readme.txt", b"hello, preview\n".to_vec())
        .await;
    h.put("notes/data.json", br#"{"a": 1}"#.to_vec()).await;
    let long: Vec<u8> = (0..TEXT_MAX as usize + 1000)
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    h.put("notes/long.csv", long.clone()).await;
    h.put("notes/binary.txt", vec![0, 159, 146, 150]).await;
    h.put("notes/archive.zip", b"PK\x03\x04".to_vec()).await;
    let png = b"\x89PNG\r\n\x1a\n fake image bytes".to_vec();
    h.put("pics/boat.png", png.clone()).await;
    let before: Vec<_> = std::fs::read_dir(h.work.path()).unwrap().collect();

    let p = engine
        .preview(&h.conn(), BUCKET, "notes/readme.txt")
        .await
        .unwrap();
    assert_eq!(
        (p.kind, p.text.as_deref(), p.truncated),
        (PreviewKind::Text, Some("hello, preview\n"), false)
    );
    let p = engine
        .preview(&h.conn(), BUCKET, "notes/data.json")
        .await
        .unwrap();
    assert_eq!(
        (p.kind, p.content_type.as_str()),
        (PreviewKind::Text, "application/json")
    );
    // A long text: its first 256 KiB only, in one ranged GET, said to be cut.
    let p = engine
        .preview(&h.conn(), BUCKET, "notes/long.csv")
        .await
        .unwrap();
    assert!(p.truncated);
    assert_eq!(p.text.unwrap().as_bytes(), &long[..TEXT_MAX as usize]);
    assert_eq!(h.log.get_count("notes/long.csv"), 1);
    // Named like text but binary, and a type with no preview: none, with why.
    let p = engine
        .preview(&h.conn(), BUCKET, "notes/binary.txt")
        .await
        .unwrap();
    assert_eq!(p.kind, PreviewKind::None);
    assert!(p.reason.unwrap().contains("binary"));
    let p = engine
        .preview(&h.conn(), BUCKET, "notes/archive.zip")
        .await
        .unwrap();
    assert_eq!((p.kind, p.text, p.url), (PreviewKind::None, None, None));
    // An image: a link that serves its bytes, and no GET by Ferry itself.
    let p = engine
        .preview(&h.conn(), BUCKET, "pics/boat.png")
        .await
        .unwrap();
    assert_eq!(p.kind, PreviewKind::Image);
    assert_eq!(h.log.get_count("pics/boat.png"), 0);
    let (status, _, body) = http_get_with_head(&p.url.unwrap()).await;
    assert_eq!((status, body), (200, png));
    // A missing object is named.
    let e = engine
        .preview(&h.conn(), BUCKET, "notes/gone.txt")
        .await
        .unwrap_err();
    assert!(e.message.contains("notes/gone.txt"), "{}", e.message);
    // Nothing was written locally.
    assert_eq!(
        std::fs::read_dir(h.work.path()).unwrap().count(),
        before.len()
    );
}

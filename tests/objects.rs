//! Objects moved and copied by the server: bytes, content type and metadata kept, no body through
//! the client, nothing overwritten unasked, and a source deleted only once its copy is verified.

use ferry::{CopyOptions, ErrorKind, IfExists, Limits, S3Url};

use crate::support::server_faults::Failure;
use crate::support::{http_get_with_head, output, quick_retries, stderr, Harness, BUCKET};

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
async fn a_folder_of_200_objects_is_copied_by_the_server_keeping_bytes_type_and_metadata() {
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

    // Copying a folder into itself is refused before anything happens.
    let e = engine
        .copy_objects(&h.conn(), &s3("album/"), &s3("album/inner/"), &opts)
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

    // The server refuses every copy: the source stays, nothing appears.
    h.faults
        .on_request("copy_object", "moved.png", Failure::Internal, 100);
    let e = engine
        .copy_objects(
            &h.conn(),
            &s3("draft.png"),
            &s3("moved.png"),
            &mv(IfExists::Error),
        )
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{}", e.message);
    assert!(h.object_exists("draft.png") && !h.object_exists("moved.png"));

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
    assert!(String::from_utf8_lossy(&out.stdout).contains("moved 2 objects"));
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

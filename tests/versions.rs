//! Object versions against moto's S3 server (s3s-fs keeps no versions), in a bucket with versioning
//! on: versions and delete markers listed (the engine's stream, and `ferry ls --versions`), an old
//! version downloaded byte-identical and, killed half-way, resumed with the same version after the
//! object changed; a version restored by a server-side copy; exactly one version deleted, after the
//! CLI asked. A proxy in front of the server shows what it was asked.

use std::process::{Command, Output, Stdio};

use ferry::engine::{CancellationToken, Depth, ObjectVersion};
use ferry::{DownloadOptions, ErrorKind, Limits, S3Url};

use crate::support::proxy::{Action, Head, Match};
use crate::support::*;

/// The versioned bucket of each test (moto wants names of 3+ characters).
const VB: &str = "versioned";

fn s3(key: &str) -> String {
    format!("s3://{VB}/{key}")
}

fn ids(versions: &[ObjectVersion]) -> Vec<&str> {
    versions.iter().map(|v| v.version_id.as_str()).collect()
}

/// `ferry args` against the server, run to its end.
async fn ferry(m: &Moto, args: &[&str]) -> Output {
    let mut c = m.ferry();
    c.args(args);
    output_of(c).await
}

/// `cmd` with `answer` typed on its standard input, run to its end.
async fn answered(mut cmd: Command, answer: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    feed(&mut child, answer.as_bytes().to_vec(), true).await;
    wait_child(child).await
}

/// The requests for `key`'s object (not bucket listings) the proxy saw.
fn asked_for(proxy: &Proxy, key: &str) -> Vec<Head> {
    let path = format!("/{VB}/{key}");
    proxy
        .requests()
        .into_iter()
        .filter(|h| h.target.split('?').next() == Some(path.as_str()))
        .collect()
}

fn range_gets_from(asked: &[Head], offset: usize) -> usize {
    let from = format!("bytes={offset}-");
    asked
        .iter()
        .filter(|h| h.method == "GET" && h.header("range").is_some_and(|r| r.starts_with(&from)))
        .count()
}

#[tokio::test]
async fn versions_and_delete_markers_are_listed_for_an_object_and_for_a_folder() {
    let m = Moto::start().await;
    m.versioned_bucket(VB).await;
    let r1 = m.put(VB, "docs/report.txt", b"first".to_vec()).await;
    let r2 = m.put(VB, "docs/report.txt", b"second!".to_vec()).await;
    let o1 = m.put(VB, "docs/other.txt", b"x".to_vec()).await;
    m.put(VB, "docs/sub/deep.txt", b"deep".to_vec()).await;
    let g1 = m.put(VB, "docs/gone.txt", b"gone".to_vec()).await;
    let marker = m.delete(VB, "docs/gone.txt").await;
    let e = m.engine(Limits::default(), quick_retries()).await;
    let conn = m.conn();

    let report = e
        .object_versions(&conn, VB, "docs/report.txt")
        .await
        .unwrap();
    assert_eq!(ids(&report), [r2.as_str(), r1.as_str()], "newest first");
    assert_eq!(
        report
            .iter()
            .map(|v| (v.size, v.is_latest, v.is_delete_marker))
            .collect::<Vec<_>>(),
        [(7, true, false), (5, false, false)]
    );
    assert!(report
        .iter()
        .all(|v| v.etag.is_some() && v.last_modified.is_some()));

    let mut pages = Vec::new();
    let listed = e
        .list_version_pages(
            &conn,
            VB,
            "docs/",
            Depth::Level,
            &CancellationToken::new(),
            |p| pages.push(p),
        )
        .await
        .unwrap();
    assert!(listed.complete);
    let prefixes: Vec<&str> = pages
        .iter()
        .flat_map(|p| p.prefixes.iter().map(String::as_str))
        .collect();
    assert_eq!(prefixes, ["docs/sub/"]);
    let rows: Vec<(String, String, bool, bool)> = pages
        .iter()
        .flat_map(|p| p.versions.iter())
        .map(|v| {
            (
                v.key.clone(),
                v.version_id.clone(),
                v.is_latest,
                v.is_delete_marker,
            )
        })
        .collect();
    let row = |k: &str, id: &String, latest, dm| (k.to_string(), id.clone(), latest, dm);
    assert_eq!(
        rows,
        [
            row("docs/gone.txt", &marker, true, true),
            row("docs/gone.txt", &g1, false, false),
            row("docs/other.txt", &o1, true, false),
            row("docs/report.txt", &r2, true, false),
            row("docs/report.txt", &r1, false, false),
        ]
    );
    assert_eq!(listed.objects, 5);

    // The CLI: text lines, the delete marker shown as DELETED and the current version marked.
    let out = ferry(&m, &["ls", "--versions", &s3("docs/")]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let line_of = |id: &str| text.lines().find(|l| l.contains(id)).unwrap_or_default();
    assert!(line_of(&marker).contains("DELETED") && line_of(&marker).contains("docs/gone.txt"));
    assert!(line_of(&r2).ends_with("(current)"));
    assert!(!line_of(&r1).contains("(current)") && line_of(&r1).contains(" 5  docs/report.txt"));
    assert!(text
        .lines()
        .any(|l| l.contains("PRE") && l.ends_with("docs/sub/")));
    // --json: one object per line.
    let out = ferry(&m, &["ls", "--versions", "--json", &s3("docs/report.txt")]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let json_ids: Vec<&str> = lines
        .iter()
        .map(|l| l["versionId"].as_str().unwrap())
        .collect();
    assert_eq!(json_ids, [r2.as_str(), r1.as_str()]);
    assert_eq!(lines[0]["isLatest"], true);
    assert_eq!(lines[1]["size"], 5);
    // Without --versions, a listing shows only the current objects (ListObjectsV2).
    let out = ferry(&m, &["ls", "--json", &s3("docs/")]).await;
    let plain = String::from_utf8_lossy(&out.stdout);
    assert!(!plain.contains("versionId") && !plain.contains("gone.txt"));
}

#[tokio::test]
async fn a_folders_versions_arrive_page_by_page_each_once() {
    let m = Moto::start().await;
    m.versioned_bucket(VB).await;
    // More versions than one page holds (1,000), the page boundary inside one key's versions.
    let mut put = Vec::new();
    for (key, n) in [("f/a", 600), ("f/b", 500), ("f/c", 3)] {
        for i in 0..n {
            put.push(m.put(VB, key, format!("{key} {i}").into_bytes()).await);
        }
    }
    let e = m.engine(Limits::default(), quick_retries()).await;
    let mut per_page = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let listed = e
        .list_version_pages(
            &m.conn(),
            VB,
            "f/",
            Depth::All,
            &CancellationToken::new(),
            |p| {
                per_page.push(p.versions.len());
                for v in p.versions {
                    assert!(seen.insert(v.version_id), "a version listed twice");
                }
            },
        )
        .await
        .unwrap();
    assert!(listed.complete && listed.pages >= 2, "{per_page:?}");
    assert_eq!(listed.objects, 1103);
    assert_eq!(seen, put.into_iter().collect());
    // One object's versions across the page boundary.
    let b = e.object_versions(&m.conn(), VB, "f/b").await.unwrap();
    assert_eq!(b.len(), 500);
    assert_eq!(b.iter().filter(|v| v.is_latest).count(), 1);
    assert!(b[0].is_latest);
}

#[tokio::test]
async fn an_old_version_downloads_byte_identical_and_every_request_names_it() {
    let m = Moto::start().await;
    m.versioned_bucket(VB).await;
    let old = data(12 * MIB, 1);
    let v1 = m.put(VB, "big.bin", old.clone()).await;
    let current = data(7 * MIB, 2);
    m.put(VB, "big.bin", current.clone()).await;
    let proxy = Proxy::start(m.addr()).await;
    let e = m.engine(Limits::default(), quick_retries()).await;
    let conn = m.conn_at(&proxy.endpoint());

    let dest = m.work.path().join("old.bin");
    let opts = DownloadOptions {
        version_id: Some(v1.clone()),
        ..ranges_of(5 * MIB)
    };
    let src = S3Url::parse(&s3("big.bin")).unwrap();
    let enq = e.enqueue_download(&conn, &src, &dest, &opts).await.unwrap();
    let stats = run_one(&e, &enq.ids[0]).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), old);
    assert_eq!(
        stats.verified,
        Some("MD5 ETag"),
        "checked against the version's ETag"
    );
    let asked = asked_for(&proxy, "big.bin");
    assert_eq!(asked.iter().filter(|h| h.method == "GET").count(), 3);
    assert!(
        asked
            .iter()
            .all(|h| h.query("versionId") == Some(v1.as_str())),
        "every HEAD and GET names the version: {asked:?}"
    );
    assert_eq!(
        m.object(VB, "big.bin").await,
        current,
        "the object is untouched"
    );

    // The CLI.
    let out = ferry(
        &m,
        &[
            "cp",
            "--version-id",
            &v1,
            &s3("big.bin"),
            m.work.path().join("cli.bin").to_str().unwrap(),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read(m.work.path().join("cli.bin")).unwrap(), old);

    // A version the object does not have: said so, how to see the others, nothing written.
    let missing = m.work.path().join("missing.bin");
    let out = ferry(
        &m,
        &[
            "cp",
            "--version-id",
            "no-such-version",
            &s3("big.bin"),
            missing.to_str().unwrap(),
        ],
    )
    .await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("has no version `no-such-version`") && err.contains("ferry ls --versions"),
        "{err}"
    );
    assert!(!missing.exists());
    // A delete marker has no bytes to download.
    let marker = m.delete(VB, "big.bin").await;
    let out = ferry(
        &m,
        &[
            "cp",
            "--version-id",
            &marker,
            &s3("big.bin"),
            missing.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is a delete marker"),
        "{}",
        stderr(&out)
    );
    assert!(!missing.exists());
    // --version-id names one object.
    let out = ferry(
        &m,
        &[
            "cp",
            "-r",
            "--version-id",
            &v1,
            &s3(""),
            m.work.path().to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[tokio::test]
async fn a_version_download_killed_half_way_resumes_the_same_version_after_the_object_changed() {
    let m = Moto::start().await;
    m.versioned_bucket(VB).await;
    let old = data(15 * MIB, 1);
    let v1 = m.put(VB, "big.bin", old.clone()).await;
    m.put(VB, "big.bin", data(15 * MIB, 2)).await;
    let proxy = Proxy::start(m.addr()).await;
    // The third range hangs: the first two are committed, then the process is killed.
    proxy.inject(
        Match::RangeFrom(10 * MIB as u64),
        Action::StallResponse(0),
        100,
    );
    let dest = m.work.path().join("old.bin");
    let args = [
        "cp",
        "--version-id",
        &v1,
        "--part-size",
        "5MiB",
        "--parts",
        "1",
        &s3("big.bin"),
        dest.to_str().unwrap(),
    ];
    let child = m
        .ferry_at(&proxy.endpoint())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let store = m.store_when_created().await;
    let id = only_transfer(&store).await;
    wait_committed(&store, &id, 2).await;
    kill(child).await;
    assert_eq!(
        store.get(&id).unwrap().unwrap().version_id.as_deref(),
        Some(v1.as_str()),
        "the version is kept in the transfer's row"
    );

    // Meanwhile the object changes: a new current version of the same size.
    m.put(VB, "big.bin", data(15 * MIB, 3)).await;
    proxy.clear();
    let mut again = m.ferry_at(&proxy.endpoint());
    again.args(args);
    let out = output_of(again).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        old,
        "the version asked for, not the current one"
    );
    let asked = asked_for(&proxy, "big.bin");
    assert!(asked
        .iter()
        .all(|h| h.query("versionId") == Some(v1.as_str())));
    assert_eq!(
        range_gets_from(&asked, 0),
        1,
        "the committed ranges are not fetched again"
    );
    assert_eq!(range_gets_from(&asked, 5 * MIB), 1);
    assert!(
        range_gets_from(&asked, 10 * MIB) >= 1,
        "the missing range is fetched"
    );
    assert_eq!(
        store.get(&id).unwrap().unwrap().state,
        ferry::State::Completed
    );
    // `ferry transfers` says which version it fetched.
    let out = ferry(&m, &["transfers"]).await;
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        listed.contains(&format!("s3://{VB}/big.bin (version {v1}) -> ")),
        "{listed}"
    );
}

#[tokio::test]
async fn restoring_a_version_copies_it_over_the_object_on_the_server_as_a_new_version() {
    let m = Moto::start().await;
    m.versioned_bucket(VB).await;
    let v1 = m.put(VB, "notes.txt", b"version one".to_vec()).await;
    let v2 = m
        .put(VB, "notes.txt", b"version two, longer".to_vec())
        .await;
    let proxy = Proxy::start(m.addr()).await;

    let mut c = m.ferry_at(&proxy.endpoint());
    c.args(["restore", "--version-id", &v1, &s3("notes.txt")]);
    let out = output_of(c).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(m.object(VB, "notes.txt").await, b"version one");
    let versions = m.versions(VB, "notes.txt").await;
    assert_eq!(versions.len(), 3, "a new version; none lost: {versions:?}");
    let newest = &versions[0].0;
    assert!(newest != &v1 && newest != &v2);
    assert!(String::from_utf8_lossy(&out.stdout).contains(newest.as_str()));
    // Server-side: one CopyObject naming the version, and no GET of the object's bytes.
    let asked = asked_for(&proxy, "notes.txt");
    let copies: Vec<&Head> = asked
        .iter()
        .filter(|h| h.method == "PUT" && h.header("x-amz-copy-source").is_some())
        .collect();
    assert_eq!(copies.len(), 1);
    assert_eq!(
        copies[0].header("x-amz-copy-source"),
        Some(format!("{VB}/notes.txt?versionId={v1}").as_str())
    );
    assert!(!asked.iter().any(|h| h.method == "GET"), "{asked:?}");

    // Refused, with nothing changed: the current version, and a delete marker.
    let out = ferry(&m, &["restore", "--version-id", newest, &s3("notes.txt")]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already the current version"));
    let e = m.engine(Limits::default(), quick_retries()).await;
    let marker = m.delete(VB, "notes.txt").await;
    let err = e
        .restore_version(&m.conn(), VB, "notes.txt", &marker)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert!(err.message.contains("delete marker"), "{}", err.message);
    assert_eq!(m.versions(VB, "notes.txt").await.len(), 4);
}

#[tokio::test]
async fn deleting_a_version_removes_exactly_it_after_the_cli_asked() {
    let m = Moto::start().await;
    m.versioned_bucket(VB).await;
    let v1 = m.put(VB, "keep.txt", b"one".to_vec()).await;
    let v2 = m.put(VB, "keep.txt", b"two".to_vec()).await;
    let v3 = m.put(VB, "keep.txt", b"three".to_vec()).await;
    let all = |ids: &[&String]| {
        ids.iter()
            .map(|i| (i.to_string(), false))
            .collect::<Vec<_>>()
    };

    // Asked, answered no (the default): nothing deleted.
    let mut c = m.ferry();
    c.args(["rm", "--version-id", &v2, &s3("keep.txt")]);
    let out = answered(c, "\n").await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot be undone") && err.contains("nothing was deleted"),
        "{err}"
    );
    assert_eq!(m.versions(VB, "keep.txt").await, all(&[&v3, &v2, &v1]));

    // Answered yes: exactly that version is gone; the current bytes are as they were.
    let mut c = m.ferry();
    c.args(["rm", "--version-id", &v2, &s3("keep.txt")]);
    let out = answered(c, "y\n").await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(m.versions(VB, "keep.txt").await, all(&[&v3, &v1]));
    assert_eq!(m.object(VB, "keep.txt").await, b"three");

    // --yes does not ask.
    let out = ferry(&m, &["rm", "--version-id", &v1, "--yes", &s3("keep.txt")]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(m.versions(VB, "keep.txt").await, all(&[&v3]));
    // A version the object does not have is refused by name.
    let out = ferry(&m, &["rm", "--version-id", &v1, "--yes", &s3("keep.txt")]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&format!("has no version `{v1}`")));

    // Deleting a delete marker brings the object back.
    let e = m.engine(Limits::default(), quick_retries()).await;
    m.delete(VB, "keep.txt").await;
    let versions = e.object_versions(&m.conn(), VB, "keep.txt").await.unwrap();
    assert!(versions[0].is_delete_marker && versions[0].is_latest);
    let gone = e
        .delete_version(&m.conn(), VB, "keep.txt", &versions[0].version_id)
        .await
        .unwrap();
    assert!(gone.is_delete_marker);
    assert_eq!(m.object(VB, "keep.txt").await, b"three");
}

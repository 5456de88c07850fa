//! Listings stream: pages reach the caller as the server answers them, the first long before the
//! last is asked for, and a cancelled listing sends no further request. The CLI's `ls` and `du`
//! print from the same stream; searches filter it.

use std::io::{BufRead, BufReader};

use ferry::engine::{CancellationToken, Depth, Listed, Listing, ObjectFilter};
use ferry::Limits;
use tokio::sync::mpsc;

use crate::support::{fill_folder, output, spawn, stderr, wait_child, wait_until, Harness, BUCKET};

/// Starts a listing of `prefix` in a task; its pages come out of the receiver as they arrive.
fn stream(
    engine: ferry::Engine,
    h: &Harness,
    prefix: &str,
    depth: Depth,
    cancel: &CancellationToken,
) -> (
    mpsc::UnboundedReceiver<Listing>,
    tokio::task::JoinHandle<ferry::Result<Listed>>,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let (conn, prefix, cancel) = (h.conn(), prefix.to_string(), cancel.clone());
    let task = tokio::spawn(async move {
        engine
            .list_pages(&conn, BUCKET, &prefix, depth, &cancel, |page| {
                let _ = tx.send(page);
            })
            .await
    });
    (rx, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_of_12000_objects_arrives_page_by_page_the_first_before_the_last_is_asked_for() {
    let h = Harness::new().await;
    fill_folder(&h, "big/", 12_000);
    h.put("big/zz/inner.txt", b"inner".to_vec()).await;
    let engine = h.engine(Limits::default()).await;

    // The server answers the first page and holds the second.
    h.log.hold_lists_from(2);
    let (mut pages, task) = stream(
        engine.clone(),
        &h,
        "big/",
        Depth::Level,
        &CancellationToken::new(),
    );
    let first = pages.recv().await.expect("a first page");
    assert!(
        h.log.list_count() <= 2,
        "the first page was delivered while the second was still held, {} requests in",
        h.log.list_count()
    );
    assert_eq!(first.objects.len(), 1000);
    assert_eq!(first.objects[0].key, "big/00000.txt");
    assert_eq!(first.objects[0].size, 1);
    assert!(first.objects[0].last_modified.is_some());

    h.log.release();
    let listed = task.await.unwrap().unwrap();
    let mut rest = vec![first];
    while let Some(p) = pages.recv().await {
        rest.push(p);
    }
    assert_eq!(
        listed,
        Listed {
            pages: 13,
            objects: 12_000,
            prefixes: 1,
            bytes: (1..=12_000).sum(),
            complete: true,
        }
    );
    assert_eq!(rest.len(), 13, "one delivery per page");
    let keys: Vec<&str> = rest
        .iter()
        .flat_map(|p| p.objects.iter().map(|o| o.key.as_str()))
        .collect();
    let expected: Vec<String> = (0..12_000).map(|i| format!("big/{i:05}.txt")).collect();
    assert_eq!(keys, expected, "every object once, in key order");
    let prefixes: Vec<&String> = rest.iter().flat_map(|p| &p.prefixes).collect();
    assert_eq!(prefixes, ["big/zz/"]);
    let tokens = h.log.lists.lock().unwrap().clone();
    assert_eq!(tokens.len(), 13, "one request per page, none repeated");
    assert_eq!(tokens[0], None);

    // Callers that need the whole listing still get it, collected from the same stream.
    let whole = engine.list(&h.conn(), BUCKET, "big/").await.unwrap();
    assert_eq!((whole.objects.len(), whole.prefixes.len()), (12_000, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_listing_sends_no_further_request() {
    let h = Harness::new().await;
    fill_folder(&h, "many/", 5_000);
    let engine = h.engine(Limits::default()).await;

    h.log.hold_lists_from(3);
    let cancel = CancellationToken::new();
    let (mut pages, task) = stream(engine, &h, "many/", Depth::All, &cancel);
    for _ in 0..2 {
        pages.recv().await.expect("a page before the gate");
    }
    wait_until("the third page is asked for", || h.log.list_count() == 3).await;

    cancel.cancel();
    let listed = task.await.unwrap().unwrap();
    h.log.release();
    assert_eq!(
        (listed.pages, listed.objects, listed.complete),
        (2, 2_000, false)
    );
    assert!(
        pages.recv().await.is_none(),
        "nothing delivered after the cancel"
    );
    assert_eq!(
        h.log.list_count(),
        3,
        "no request after the one in flight when it was cancelled"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_ls_prints_its_first_line_while_the_second_page_is_held() {
    let h = Harness::new().await;
    fill_folder(&h, "big/", 2_500);
    h.log.hold_lists_from(2);
    let mut child = spawn(&h, &["ls", &format!("s3://{BUCKET}/big/")]);
    let stdout = child.stdout.take().unwrap();
    let (first, lines) = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        (lines.next().unwrap().unwrap(), lines)
    })
    .await
    .unwrap();
    assert!(first.ends_with("         1  big/00000.txt"), "{first}");
    assert!(
        h.log.list_count() <= 2,
        "printed before the second page was answered"
    );
    h.log.release();
    let rest: Vec<String> =
        tokio::task::spawn_blocking(move || lines.map(Result::unwrap).collect())
            .await
            .unwrap();
    let out = wait_child(child).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(rest.len(), 2_499);
    assert!(rest[2_498].ends_with("  big/02499.txt"), "{}", rest[2_498]);
}

/// Objects at two levels with names a filter can tell apart.
async fn put_docs(h: &Harness) {
    for (key, body) in [
        ("docs/a.txt", "a"),
        ("docs/readme.md", "readme"),
        ("docs/2025/b.TXT", "bb"),
        ("docs/2025/c.jpg", "ccc"),
        ("docs/2025/deep/d.txt", "dddd"),
    ] {
        h.put(key, body.as_bytes().to_vec()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_ls_goes_through_every_level_and_filters_names_by_glob_or_substring() {
    let h = Harness::new().await;
    put_docs(&h).await;
    let docs = format!("s3://{BUCKET}/docs/");
    let keys = |out: &std::process::Output| -> Vec<String> {
        assert!(out.status.success(), "{}", stderr(out));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| l.rsplit("  ").next().unwrap().to_string())
            .collect()
    };

    let out = output(&h, &["ls", "--recursive", "--name", "*.txt", &docs]).await;
    assert_eq!(
        keys(&out),
        ["docs/2025/b.TXT", "docs/2025/deep/d.txt", "docs/a.txt"]
    );
    let out = output(&h, &["ls", &docs]).await;
    assert_eq!(keys(&out), ["docs/2025/", "docs/a.txt", "docs/readme.md"]);
    let out = output(&h, &["ls", "--name", "READ", &docs]).await;
    assert_eq!(keys(&out), ["docs/readme.md"]);
    let out = output(&h, &["ls", "--name", "20", &docs]).await;
    assert_eq!(
        keys(&out),
        ["docs/2025/"],
        "a folder is filtered by its name"
    );

    let out = output(&h, &["ls", "-r", "--json", "--name", "*.jpg", &docs]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["key"], "docs/2025/c.jpg");
    assert_eq!(lines[0]["size"], 3);
    assert!(lines[0]["lastModified"].is_i64());
    let out = output(&h, &["ls", "--json", &docs]).await;
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first, serde_json::json!({"prefix": "docs/2025/"}));

    let out = output(
        &h,
        &[
            "ls",
            "-r",
            "--min-size",
            "2",
            "--max-size",
            "3",
            "--newer-than",
            "1h",
            &docs,
        ],
    )
    .await;
    assert_eq!(keys(&out), ["docs/2025/b.TXT", "docs/2025/c.jpg"]);
    let out = output(&h, &["ls", "-r", "--older-than", "1h", &docs]).await;
    assert_eq!(keys(&out), Vec::<String>::new(), "nothing is an hour old");

    let out = output(&h, &["ls", "--name", "[", &docs]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("name pattern"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ferry_du_counts_the_objects_and_bytes_at_every_level_of_a_prefix() {
    let h = Harness::new().await;
    fill_folder(&h, "big/", 3_000);
    h.put("big/zz/inner.txt", b"inner".to_vec()).await;
    h.put("bigger.txt", b"not under big/".to_vec()).await;
    let bytes: u64 = (1..=3_000).sum::<u64>() + 5;

    let out = output(&h, &["du", &format!("s3://{BUCKET}/big/")]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("3001 objects, ") && text.contains(&format!("({bytes} bytes)")),
        "{text}"
    );
    let out = output(&h, &["du", "--json", &format!("s3://{BUCKET}/big/")]).await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["objects"].as_u64(), v["bytes"].as_u64()),
        (Some(3_001), Some(bytes))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folders_size_is_counted_page_by_page_with_running_totals() {
    let h = Harness::new().await;
    fill_folder(&h, "big/", 2_500);
    h.put("big/zz/inner.txt", b"inner".to_vec()).await;
    h.put("bigger.txt", b"not under big/".to_vec()).await;
    let e = h.engine(Limits::default()).await;
    let mut seen = Vec::new();
    let total = e
        .size_of(
            &h.conn(),
            BUCKET,
            "big/",
            &CancellationToken::new(),
            |so_far| seen.push((so_far.pages, so_far.objects, so_far.bytes)),
        )
        .await
        .unwrap();
    let bytes: u64 = (1..=2_500).sum::<u64>() + 5;
    assert_eq!(
        (total.objects, total.bytes, total.complete),
        (2_501, bytes, true)
    );
    // After each of the three pages, what was counted so far.
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0], (1, 1_000, (1..=1_000).sum::<u64>()));
    assert_eq!(seen[2], (3, 2_501, bytes));
    // The whole bucket when the prefix is empty.
    let all = e
        .size_of(&h.conn(), BUCKET, "", &CancellationToken::new(), |_| {})
        .await
        .unwrap();
    assert_eq!((all.objects, all.bytes), (2_502, bytes + 14));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_across_a_prefix_streams_matches_by_name_size_and_date_and_can_be_cancelled() {
    let h = Harness::new().await;
    fill_folder(&h, "big/", 3_000);
    put_docs(&h).await;
    let engine = h.engine(Limits::default()).await;
    let never = CancellationToken::new();

    // Names 01000, 01010 … 01990 by glob, and at most 1,500 bytes (object i has i + 1): 01000 … 01490.
    let mut filter = ObjectFilter::name("01??0.txt").unwrap();
    filter.max_size = Some(1_500);
    let mut got = Vec::new();
    let mut running = Vec::new();
    let found = engine
        .search(
            &h.conn(),
            BUCKET,
            "big/",
            &filter,
            &never,
            |hits, so_far| {
                got.extend(hits.into_iter().map(|o| o.key));
                running.push(so_far.matched);
            },
        )
        .await
        .unwrap();
    let expected: Vec<String> = (0..3_000)
        .filter(|i| (1000..1500).contains(i) && i % 10 == 0)
        .map(|i| format!("big/{i:05}.txt"))
        .collect();
    assert_eq!(got, expected);
    assert_eq!((found.matched, found.listed.objects), (50, 3_000));
    assert_eq!(running, [0, 50, 50], "a running count after each page");

    let mut filter = ObjectFilter::name("*0.txt").unwrap();
    filter.min_size = Some(2_991);
    let mut got = Vec::new();
    let found = engine
        .search(&h.conn(), BUCKET, "", &filter, &never, |hits, _| {
            got.extend(hits.into_iter().map(|o| o.key))
        })
        .await
        .unwrap();
    assert_eq!(got, ["big/02990.txt"]);
    assert_eq!(found.matched_bytes, 2_991);
    assert!(found.listed.complete);
    assert_eq!(found.listed.objects, 3_005);

    // A substring, a time range that holds everything, then one in the future that holds nothing.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let mut filter = ObjectFilter::name("txt").unwrap();
    filter.modified_after = Some(now - 3600);
    let found = engine
        .search(&h.conn(), BUCKET, "docs/", &filter, &never, |_, _| {})
        .await
        .unwrap();
    assert_eq!(found.matched, 3, "a.txt, b.TXT, d.txt");
    filter.modified_after = Some(now + 3600);
    let found = engine
        .search(&h.conn(), BUCKET, "docs/", &filter, &never, |_, _| {})
        .await
        .unwrap();
    assert_eq!(found.matched, 0);

    // Cancelled from its first matches, the search asks for no further page.
    let before = h.log.list_count();
    let cancel = CancellationToken::new();
    let found = engine
        .search(
            &h.conn(),
            BUCKET,
            "big/",
            &ObjectFilter::default(),
            &cancel,
            |_, _| cancel.cancel(),
        )
        .await
        .unwrap();
    assert_eq!((found.matched, found.listed.complete), (1_000, false));
    assert_eq!(h.log.list_count() - before, 1);
}

//! Listings stream: pages reach the caller as the server answers them, the first long before the
//! last is asked for, and a cancelled listing sends no further request.

use ferry::engine::{CancellationToken, Depth, Listed, Listing};
use ferry::Limits;
use tokio::sync::mpsc;

use crate::support::{fill_folder, wait_until, Harness, BUCKET};

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

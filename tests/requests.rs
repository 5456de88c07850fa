//! Every S3 request of the engine, not only the parts of a transfer, goes through one door that
//! retries transient failures: listings, deletes and HEADs survive a run of 503s longer than the
//! SDK's own retries.

use std::sync::atomic::Ordering;

use ferry::{DownloadOptions, Limits};

use crate::support::server_faults::Failure;
use crate::support::{quick_retries, url, Harness, BUCKET};

/// More 503s in a row than the SDK tries a request (4): only the engine's retries get through.
const OUTAGE: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_and_a_delete_that_meet_a_run_of_503s_succeed() {
    let h = Harness::new().await;
    for key in ["docs/a.txt", "docs/b.txt", "docs/sub/c.txt"] {
        h.put(key, key.as_bytes().to_vec()).await;
    }
    let engine = h.engine_with(Limits::default(), quick_retries()).await;

    h.faults
        .on_request("list_objects_v2", "docs/", Failure::SlowDown, OUTAGE);
    let listing = engine.list(&h.conn(), BUCKET, "docs/").await.unwrap();
    assert_eq!(listing.prefixes, ["docs/sub/"]);
    let keys: Vec<&str> = listing.objects.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, ["docs/a.txt", "docs/b.txt"]);
    assert_eq!(h.faults.errors.load(Ordering::SeqCst), OUTAGE);

    // A recursive download lists through the same door.
    h.faults
        .on_request("list_objects_v2", "docs/", Failure::Internal, OUTAGE);
    let dest = h.work.path().join("got");
    let enq = engine
        .enqueue_download(
            &h.conn(),
            &url("docs/"),
            &dest,
            &DownloadOptions {
                recursive: true,
                ..DownloadOptions::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(enq.ids.len(), 3);

    h.faults
        .on_request("delete_objects", BUCKET, Failure::SlowDown, OUTAGE);
    let deleted = engine
        .delete_objects(
            &h.conn(),
            BUCKET,
            &["docs/a.txt".into()],
            &["docs/sub/".into()],
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(deleted.deleted, 2);
    assert!(!h.object_exists("docs/a.txt"));
    assert!(!h.object_exists("docs/sub/c.txt"));
    assert!(
        h.object_exists("docs/b.txt"),
        "only what was asked is deleted"
    );
    assert_eq!(h.faults.errors.load(Ordering::SeqCst), 3 * OUTAGE);
}

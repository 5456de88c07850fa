//! The queue read as the app reads it: pages newest first, found by cursor, and its sums, over a
//! queue far longer than any page.

use ferry::engine::{Selection, TransferPage};
use ferry::store::PageQuery;
use ferry::{Limits, State, UploadOptions};

use crate::support::{url, Harness};

const FILES: usize = 20_000;

fn page(before: Option<i64>, after: Option<i64>, limit: usize, state: Option<State>) -> PageQuery {
    PageQuery {
        before,
        after,
        limit,
        state,
    }
}

fn ids(p: &TransferPage) -> Vec<String> {
    p.items.iter().map(|t| t.id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_thousand_queued_files_page_newest_first_each_exactly_once_and_add_up() {
    let h = Harness::new().await;
    // 20,000 files of 1 to 7 bytes in 20 folders, queued as one upload (not run).
    let size = |i: usize| i % 7 + 1;
    for i in 0..FILES {
        h.file(
            &format!("big/d{:02}/f{i:05}", i / 1000),
            &vec![b'x'; size(i)],
        );
    }
    let engine = h.engine(Limits::default()).await;
    let opts = UploadOptions {
        recursive: true,
        ..UploadOptions::default()
    };
    let enq = engine
        .enqueue_upload(&h.conn(), &h.work.path().join("big"), &url("big/"), &opts)
        .await
        .unwrap();
    assert_eq!(enq.ids.len(), FILES);
    let paused: Vec<String> = [17, 4_000, 19_999]
        .iter()
        .map(|&i| enq.ids[i].clone())
        .collect();
    for id in &paused {
        engine.pause(id).unwrap();
    }

    // Every transfer exactly once, newest first (the reverse of the order they were queued in).
    let mut seen = Vec::with_capacity(FILES);
    let mut before = None;
    let mut pages = 0;
    loop {
        let p = engine
            .transfer_page(&page(before, None, 500, None))
            .unwrap();
        if p.items.is_empty() {
            assert!(p.cursors.is_empty());
            break;
        }
        assert!(p.items.len() <= 500 && p.cursors.len() == p.items.len());
        before = p.cursors.last().copied();
        seen.extend(ids(&p));
        pages += 1;
    }
    let newest_first: Vec<String> = enq.ids.iter().rev().cloned().collect();
    assert_eq!(pages, FILES / 500);
    assert_eq!(seen, newest_first);

    // The end of the queue, and the page just above a page: what the app reads when its list is
    // scrolled to the bottom, and back up.
    let end = engine.transfer_page(&page(None, Some(0), 3, None)).unwrap();
    assert_eq!(ids(&end), newest_first[FILES - 3..]);
    let middle = engine.transfer_page(&page(None, None, 1000, None)).unwrap();
    let above = engine
        .transfer_page(&page(None, middle.cursors.last().copied(), 2, None))
        .unwrap();
    assert_eq!(ids(&above), newest_first[997..999]);

    // One state's page holds only that state's transfers.
    let p = engine
        .transfer_page(&page(None, None, 10, Some(State::Paused)))
        .unwrap();
    let want: Vec<String> = paused.iter().rev().cloned().collect();
    assert_eq!(ids(&p), want);
    assert!(p.items.iter().all(|t| t.state == State::Paused));

    // The sums: per state, the active bytes, a set of ids and the whole batch.
    let bytes = |range: std::ops::Range<usize>| range.map(|i| size(i) as u64).sum::<u64>();
    let paused_bytes: u64 = [17, 4_000, 19_999].iter().map(|&i| size(i) as u64).sum();
    let s = engine
        .transfer_summary(Some(Selection::Ids(&enq.ids[..10])))
        .unwrap();
    assert_eq!(
        (s.total, s.counts.queued, s.counts.paused),
        (20_000, 19_997, 3)
    );
    assert_eq!(
        (s.active_bytes_done, s.active_bytes_total),
        (0, bytes(0..FILES) - paused_bytes)
    );
    let ten = s.selection.unwrap();
    assert_eq!((ten.counts.queued, ten.bytes_total), (10, bytes(0..10)));
    let batch = engine.store().get(&enq.ids[0]).unwrap().unwrap().batch_id;
    // The 20,000 are one batch, which a sync's bar sums by.
    assert_eq!(
        engine.batch_of(&enq.ids).unwrap().as_deref(),
        Some(batch.as_str())
    );
    let all = engine
        .transfer_summary(Some(Selection::Batch(&batch)))
        .unwrap()
        .selection
        .unwrap();
    assert_eq!((all.counts.total(), all.counts.paused), (20_000, 3));
    assert_eq!(all.bytes_total, bytes(0..FILES));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_asked_for_wrongly_says_what_to_ask_instead() {
    let h = Harness::new().await;
    let engine = h.engine(Limits::default()).await;
    let e = engine
        .transfer_page(&page(None, None, 5_000, None))
        .unwrap_err();
    assert_eq!(e.kind, ferry::ErrorKind::InvalidInput);
    assert!(e.message.contains("1 to 1000 transfers"), "{}", e.message);
    let e = engine
        .transfer_page(&page(Some(9), Some(1), 10, None))
        .unwrap_err();
    assert!(e.message.contains("give one cursor"), "{}", e.message);
}

//! Unit tests of the store against a real SQLite file.

use super::*;
use crate::error::ErrorKind;

fn new(id: &str) -> NewTransfer<'static> {
    NewTransfer {
        id: id.into(),
        direction: Direction::Upload,
        connection: "{}",
        bucket: "b",
        key: "k".into(),
        local_path: "/tmp/x".into(),
        size: Some(10),
        source_mtime_ns: Some(1),
        part_size: 5,
        etag: None,
        overwrite: false,
        object_options: None,
        batch_id: "batch",
        version_id: None,
    }
}

#[test]
fn parts_and_byte_counts_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let s = Store::open(&path).unwrap();
        s.insert_transfers(&[new("t1")]).unwrap();
        let part = PartRow {
            number: 1,
            offset: 0,
            len: 5,
            etag: Some("e1".into()),
            checksum: None,
        };
        s.record_part("t1", &part).unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(s.get("t1").unwrap().unwrap().bytes_done, 5);
    assert_eq!(s.parts("t1").unwrap()[0].etag.as_deref(), Some("e1"));
}

#[test]
fn a_live_lease_refuses_a_second_driver_and_a_dead_one_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("s.db")).unwrap();
    s.insert_transfers(&[new("t1")]).unwrap();
    s.claim("t1", "1-a", |_| true).unwrap();
    let e = s.claim("t1", "2-b", |_| true).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Busy);
    let row = s.claim("t1", "2-b", |_| false).unwrap();
    assert_eq!(row.owner.as_deref(), Some("2-b"));
    // The first owner no longer holds the lease, so its end-of-run write is ignored.
    assert!(!s.finish_run("t1", "1-a", State::Failed, None).unwrap());
    assert!(s.finish_run("t1", "2-b", State::Paused, None).unwrap());
    assert_eq!(s.get("t1").unwrap().unwrap().state, State::Paused);
}

#[test]
fn a_transfer_waiting_to_retry_keeps_its_lease_and_its_next_attempt_time() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::open(&dir.path().join("s.db")).unwrap();
    s.insert_transfers(&[new("t1")]).unwrap();
    s.claim("t1", "1-a", |_| true).unwrap();
    let e = Error::new(ErrorKind::Network, "down");
    assert!(s.wait_retry("t1", "1-a", &e, 12345).unwrap());
    let row = s.get("t1").unwrap().unwrap();
    assert_eq!(
        (row.state, row.next_attempt_at),
        (State::WaitingRetry, Some(12345))
    );
    // Still its owner's: the heartbeat keeps it, and another live process may not take it.
    assert!(s.heartbeat("1-a", &["t1".into()]).unwrap().is_empty());
    assert_eq!(
        s.claim("t1", "2-b", |_| true).unwrap_err().kind,
        ErrorKind::Busy
    );
    let row = s.claim("t1", "1-a", |_| true).unwrap();
    assert_eq!((row.state, row.next_attempt_at), (State::Running, None));
    assert!(s.wait_retry("t1", "1-a", &e, 999).unwrap());
    s.set_state("t1", State::Paused, None).unwrap();
    let row = s.get("t1").unwrap().unwrap();
    assert_eq!((row.state, row.next_attempt_at), (State::Paused, None));
    // A pause wins over a run that ends later.
    assert!(!s.wait_retry("t1", "1-a", &e, 1).unwrap());
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    drop(Store::open(&path).unwrap());
    let c = Connection::open(&path).unwrap();
    c.execute("INSERT INTO schema_migrations VALUES (2099010101, 0)", [])
        .unwrap();
    drop(c);
    let e = Store::open(&path).err().unwrap();
    assert!(
        e.message.contains("newer version of Ferry"),
        "{}",
        e.message
    );
}

#[test]
fn a_damaged_database_is_kept_aside_whole_and_reported_never_replaced_silently() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let junk = b"this is not a database, but it is someone's file".repeat(100);
    std::fs::write(&path, &junk).unwrap();
    let store = Store::open(&path).unwrap();
    let (kept, detail) = store.damaged().unwrap();
    assert!(detail.contains("not a database"), "{detail}");
    assert_eq!(kept.parent(), path.parent());
    assert!(kept
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("s.db.damaged-"));
    assert_eq!(
        std::fs::read(kept).unwrap(),
        junk,
        "the damaged file is kept as it was"
    );
    // The new database works.
    store.set_setting("k", "v").unwrap();
    drop(store);
    let again = Store::open(&path).unwrap();
    assert!(again.damaged().is_none());
    assert_eq!(again.setting("k").unwrap().as_deref(), Some("v"));
}

#[test]
fn a_file_queued_by_two_processes_at_once_is_queued_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    // Two connections, as two processes: both decided the file was new, the second writes last.
    let (a, b) = (Store::open(&path).unwrap(), Store::open(&path).unwrap());
    assert_eq!(a.insert_transfers(&[new("first")]).unwrap(), vec!["first"]);
    let mut other = new("second");
    other.key = "other-key".into();
    assert_eq!(
        b.insert_transfers(&[new("second"), other]).unwrap(),
        vec!["first".to_string(), "second".to_string()],
        "the twin continues the first; another key is queued"
    );
    assert_eq!(a.list().unwrap().len(), 2);
    // Once the first has ended, the same file may be queued again (the object may be gone).
    a.set_state("first", State::Completed, None).unwrap();
    assert_eq!(b.insert_transfers(&[new("third")]).unwrap(), vec!["third"]);
}

/// Many transfers claimed and completed at once share group commits: every acknowledged write is
/// in the file when it is opened again, and a write refused inside a group (a claim of a paused
/// transfer) changes nothing while the others of its group still land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grouped_claims_and_completions_all_land_and_a_refused_one_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let ids: Vec<String> = (0..64).map(|i| format!("t{i}")).collect();
    {
        let s = std::sync::Arc::new(Store::open(&path).unwrap());
        let rows: Vec<NewTransfer<'_>> = ids
            .iter()
            .map(|id| {
                let mut n = new("");
                n.id = id.as_str().into();
                n.key = format!("k/{id}");
                n
            })
            .collect();
        s.insert_transfers(&rows).unwrap();
        assert!(s.pause_unfinished("t0").unwrap());
        let mut tasks = tokio::task::JoinSet::new();
        for id in ids.clone() {
            let s = s.clone();
            tasks.spawn(async move {
                let claimed = s.claim_grouped(&id, "1-a", |_| true).await;
                let completed = match &claimed {
                    Ok(_) => s
                        .complete_grouped(&id, "1-a", 10, Some("etag"), None)
                        .await
                        .unwrap(),
                    Err(_) => false,
                };
                (id, claimed.map(|r| r.state), completed)
            });
        }
        while let Some(joined) = tasks.join_next().await {
            let (id, claimed, completed) = joined.unwrap();
            if id == "t0" {
                assert_eq!(claimed.unwrap_err().kind, ErrorKind::Interrupted);
                assert!(!completed);
            } else {
                assert_eq!(claimed.unwrap(), State::Running);
                assert!(completed, "{id} completed");
            }
        }
    }
    let s = Store::open(&path).unwrap();
    for id in &ids {
        let row = s.get(id).unwrap().unwrap();
        if id == "t0" {
            assert_eq!(row.state, State::Paused);
            assert_eq!(row.owner, None);
        } else {
            assert_eq!(row.state, State::Completed, "{id}");
            assert_eq!(row.etag.as_deref(), Some("etag"));
            assert_eq!(row.bytes_done, 10);
        }
    }
}

/// Parts recorded through the group commit by transfers running together all land, each with its
/// transfer's byte count and the ETag first learnt with it, and survive reopening the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_recorded_in_groups_all_land_with_their_byte_counts_and_learnt_etags() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    {
        let s = std::sync::Arc::new(Store::open(&path).unwrap());
        let ids: Vec<String> = (0..20).map(|i| format!("t{i:02}")).collect();
        let rows: Vec<_> = ids
            .iter()
            .map(|id| NewTransfer {
                key: format!("k-{id}"),
                ..new(id)
            })
            .collect();
        s.insert_transfers(&rows).unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for (i, id) in ids.iter().enumerate() {
            let (s, id) = (s.clone(), id.clone());
            tasks.spawn(async move {
                for number in 1..=2u32 {
                    let part = PartRow {
                        number,
                        offset: (number as u64 - 1) * 5,
                        len: 5,
                        etag: None,
                        checksum: Some(format!("crc-{i}-{number}")),
                    };
                    let learnt = (number == 1).then(|| format!("\"etag-{i}\""));
                    s.record_part_grouped(&id, &part, learnt.as_deref())
                        .await
                        .unwrap();
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    }
    let s = Store::open(&path).unwrap();
    for i in 0..20 {
        let id = format!("t{i:02}");
        let row = s.get(&id).unwrap().unwrap();
        assert_eq!(row.bytes_done, 10, "{id}");
        assert_eq!(row.etag.as_deref(), Some(format!("\"etag-{i}\"").as_str()));
        let crcs: Vec<_> = s
            .parts(&id)
            .unwrap()
            .into_iter()
            .map(|p| p.checksum.unwrap())
            .collect();
        assert_eq!(crcs, [format!("crc-{i}-1"), format!("crc-{i}-2")]);
    }
}

/// The whole-file check at open is spared only for a file exactly as a clean close left it: one
/// changed since (here: a page overwritten from outside) is checked and found damaged, and after a
/// process that did not close cleanly the next open checks again.
#[test]
fn the_check_at_open_is_spared_only_for_a_file_as_a_clean_close_left_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let s = Store::open(&path).unwrap();
    assert!(s.checked_at_open(), "a new file is checked");
    s.insert_transfers(&[new("t1")]).unwrap();
    drop(s);
    let s = Store::open(&path).unwrap();
    assert!(!s.checked_at_open(), "unchanged since a clean close");
    assert!(s.get("t1").unwrap().is_some());
    // A process that dies leaves no record: the next open checks.
    std::mem::forget(s);
    let s = Store::open(&path).unwrap();
    assert!(s.checked_at_open(), "checked after an unclean end");
    drop(s);
    // Damage from outside, the size kept: checked, found, kept aside.
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 8192);
    let len = bytes.len();
    bytes[4096..len].fill(0xA5);
    std::fs::write(&path, &bytes).unwrap();
    let s = Store::open(&path).unwrap();
    assert!(s.checked_at_open());
    assert!(s.damaged().is_some(), "the damage was found at open");
}

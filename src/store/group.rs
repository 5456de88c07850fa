//! Group commit: the queue's hottest writes (a transfer's claim, each part or range it finishes,
//! and its completion) from many concurrent transfers share one SQLite transaction instead of one
//! each.
//!
//! A write sent here is run by the committer thread in the next group: the thread takes every write
//! waiting, runs each in its own savepoint (one that fails is undone alone and reports its error),
//! commits them together, and only then answers each caller. So a caller still learns of its write
//! only once it is durable, exactly as with a write of its own (a kill -9 loses nothing that was
//! acknowledged), but sixteen small files finishing together cost one commit, not sixteen: with
//! one commit per file the state database was a quarter of Ferry's CPU on small files (the file
//! locks, the WAL frames and the index pages written again for every commit).
//!
//! The thread holds no connection of its own: it locks the store's, so the store's other writes
//! are serialised with the groups as before.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;

use super::Store;
use crate::error::{Error, Result};

/// One write: runs against the group's transaction and returns what to tell its caller once the
/// group's commit is known.
type Work = Box<dyn FnOnce(&Connection) -> Reply + Send>;
type Reply = Box<dyn FnOnce(Result<()>) + Send>;

/// The sending side of the committer thread. Dropping it ends the thread once the writes already
/// sent are committed.
pub(super) struct Committer {
    tx: Mutex<Option<mpsc::Sender<Work>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Committer {
    pub(super) fn new() -> Committer {
        Committer {
            tx: Mutex::new(None),
            thread: Mutex::new(None),
        }
    }

    /// Sends `work`, starting the thread at the first write.
    fn send(&self, conn: &Arc<Mutex<Connection>>, work: Work) {
        let mut tx = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let sender = tx.get_or_insert_with(|| {
            let (sender, receiver) = mpsc::channel::<Work>();
            let conn = conn.clone();
            let handle = std::thread::Builder::new()
                .name("ferry-store-commit".into())
                .spawn(move || commit_loop(&conn, &receiver))
                .expect("a thread for the state database's commits");
            *self.thread.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
            sender
        });
        if let Err(mpsc::SendError(work)) = sender.send(work) {
            // The thread is gone (it cannot be, while we hold its sender; but never lose a write):
            // run it here, on its own.
            let c = conn.lock().unwrap_or_else(|p| p.into_inner());
            run_group(&c, vec![work]);
        }
    }
}

impl Committer {
    /// Ends the thread once the writes already sent are committed (again: nothing).
    pub(super) fn stop(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How long a group stays open for more writes after its first: long enough for the transfers
/// running at the same time to join it, short against a transfer's own time. A small file waits
/// for three groups (claim, range, completion), so the linger is latency each file pays three
/// times: 100,000 files of 1 KiB downloaded from `ferry serve-local` took 41.8 s with 1 ms, 32.0 s
/// with 250 µs and 32.6 s with 50 µs (and more CPU: smaller groups).
const LINGER: Duration = Duration::from_micros(250);
/// A group commits at once when it has this many writes.
const GROUP_MAX: usize = 256;

fn commit_loop(conn: &Mutex<Connection>, receiver: &mpsc::Receiver<Work>) {
    while let Ok(first) = receiver.recv() {
        // Sleep through the linger rather than wake for each write that joins: a sender wakes this
        // thread only when it waits in `recv`, so a group costs one wake-up, not one per write.
        std::thread::sleep(LINGER);
        let mut group = vec![first];
        group.extend(receiver.try_iter().take(GROUP_MAX));
        let c = conn.lock().unwrap_or_else(|p| p.into_inner());
        run_group(&c, group);
    }
}

/// Runs a group of writes in one transaction and answers each.
fn run_group(c: &Connection, group: Vec<Work>) {
    if let Err(e) = run(c, "BEGIN IMMEDIATE") {
        let e = Error::from(e);
        // No transaction: each write runs on its own (autocommit), as it would have without groups.
        for work in group {
            let reply = work(c);
            reply(Ok(()));
        }
        tracing::debug!(error = %e, "a group commit could not begin; its writes ran one by one");
        return;
    }
    let replies: Vec<Reply> = group.into_iter().map(|work| work(c)).collect();
    let committed = run(c, "COMMIT").map_err(Error::from);
    if committed.is_err() {
        let _ = run(c, "ROLLBACK");
    }
    for reply in replies {
        reply(committed.clone());
    }
}

impl Store {
    /// Runs `f` in the next group commit and returns its result once that group is committed. `f`
    /// runs in a savepoint: an error from it undoes its own changes only.
    pub(crate) async fn grouped<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T>>();
        let work: Work = Box::new(move |c| {
            let result = in_savepoint(c, f);
            Box::new(move |committed: Result<()>| {
                let _ = tx.send(committed.and(result));
            })
        });
        self.committer.send(&self.conn, work);
        rx.await.unwrap_or_else(|_| {
            Err(Error::storage(
                "the state database's commit thread stopped; restart Ferry",
            ))
        })
    }
}

fn in_savepoint<T>(c: &Connection, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
    run(c, "SAVEPOINT ferry_write")?;
    match f(c) {
        Ok(v) => {
            run(c, "RELEASE ferry_write")?;
            Ok(v)
        }
        Err(e) => {
            let _ = run(c, "ROLLBACK TO ferry_write");
            let _ = run(c, "RELEASE ferry_write");
            Err(e)
        }
    }
}

/// One statement through the statement cache (these run for every write).
fn run(c: &Connection, sql: &str) -> rusqlite::Result<()> {
    c.prepare_cached(sql)?.execute([]).map(|_| ())
}

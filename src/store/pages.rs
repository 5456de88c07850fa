//! The `transfers` table read for a view of the queue that never loads it whole: pages, newest first,
//! and sums (rows per state, bytes of the active ones, the totals of a set of transfers or of a
//! batch).
//!
//! A page is found by keyset pagination on the row's `rowid`, which SQLite gives each row as it is
//! written and which only grows, so the queue's order is the order its transfers were queued (as
//! `created_at, id` orders it, without trusting a clock that may step back). The table is stored in
//! rowid order, so a page costs a seek and `limit` rows however deep it lies, and needs no index; a
//! page of one state walks the `transfers_state` index, whose entries end with the rowid. A cursor is
//! a row's rowid: rows are deleted only by "clear finished", which never changes the others'.

use rusqlite::params;
use serde::Serialize;

use super::transfers::{row_to_transfer, COLUMNS};
use super::{State, Store, TransferRow};
use crate::error::{Error, Result};

/// The most rows one page may ask for.
pub const MAX_PAGE: usize = 1000;

/// Which page of the queue to read.
#[derive(Debug, Clone, Copy, Default)]
pub struct PageQuery {
    /// Rows queued before the row with this cursor (older ones); with neither bound, the newest.
    pub before: Option<i64>,
    /// Rows queued after the row with this cursor (newer ones): the page just above it. `Some(0)`
    /// reads the oldest rows, the end of the queue.
    pub after: Option<i64>,
    /// How many rows, 1 to [`MAX_PAGE`].
    pub limit: usize,
    /// Only rows in this state.
    pub state: Option<State>,
}

/// How many transfers are in each state.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    pub queued: u64,
    pub running: u64,
    pub paused: u64,
    pub waiting_retry: u64,
    pub completed: u64,
    pub failed: u64,
    pub cancelled: u64,
}

impl StateCounts {
    fn add(&mut self, state: State, n: u64) {
        *match state {
            State::Queued => &mut self.queued,
            State::Running => &mut self.running,
            State::Paused => &mut self.paused,
            State::WaitingRetry => &mut self.waiting_retry,
            State::Completed => &mut self.completed,
            State::Failed => &mut self.failed,
            State::Cancelled => &mut self.cancelled,
        } += n;
    }

    /// Every transfer counted.
    pub fn total(&self) -> u64 {
        self.queued
            + self.running
            + self.paused
            + self.waiting_retry
            + self.completed
            + self.failed
            + self.cancelled
    }
}

/// A set of transfers added up: how many in each state, their bytes done and in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SetTotals {
    pub counts: StateCounts,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

impl SetTotals {
    fn add(&mut self, state: State, n: u64, done: i64, total: i64) {
        self.counts.add(state, n);
        self.bytes_done += done.max(0) as u64;
        self.bytes_total += total.max(0) as u64;
    }
}

/// A row's state as stored; an unknown one counts as failed, as it is listed.
fn state_of(s: &str) -> State {
    State::parse(s).unwrap_or(State::Failed)
}

/// The bytes done of a row, never more than its size (a download's size is known only after HEAD).
const DONE: &str = "MIN(bytes_done, COALESCE(size, 0))";

/// The query of a page: rows matching `state` (`?1`) beyond the cursor `?2` by `bound`, `?3` of them.
fn page_sql(state: &str, bound: &str, order: &str) -> String {
    format!(
        "SELECT {COLUMNS}, rowid FROM transfers WHERE {state} AND rowid {bound} ?2
         ORDER BY rowid {order} LIMIT ?3"
    )
}

impl Store {
    /// One page of the queue, newest first, each row with its cursor.
    pub fn page(&self, q: &PageQuery) -> Result<Vec<(i64, TransferRow)>> {
        if q.limit == 0 || q.limit > MAX_PAGE {
            return Err(Error::invalid(format!(
                "a page holds 1 to {MAX_PAGE} transfers, not {}; ask for fewer",
                q.limit
            )));
        }
        let (bound, order, cursor) = match (q.before, q.after) {
            (Some(_), Some(_)) => return Err(Error::invalid(
                "a page is read either before a transfer or after one, not both; give one cursor",
            )),
            (_, Some(after)) => (">", "ASC", after),
            (before, None) => ("<", "DESC", before.unwrap_or(i64::MAX)),
        };
        let state = if q.state.is_some() {
            "state = ?1"
        } else {
            "?1 IS NULL"
        };
        let mut rows = self.with(|c| {
            let mut st = c.prepare_cached(&page_sql(state, bound, order))?;
            let rows = st
                .query_map(
                    params![q.state.map(State::as_str), cursor, q.limit as i64],
                    |r| Ok((r.get::<_, i64>(26)?, row_to_transfer(r)?)),
                )?
                .collect::<rusqlite::Result<Vec<_>>>();
            rows
        })?;
        if q.after.is_some() {
            rows.reverse();
        }
        Ok(rows)
    }

    /// How many transfers are in each state: a walk of the `transfers_state` index, no row read.
    pub fn state_counts(&self) -> Result<StateCounts> {
        self.with(|c| {
            let mut st =
                c.prepare_cached("SELECT state, COUNT(*) FROM transfers GROUP BY state")?;
            let mut counts = StateCounts::default();
            for row in st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
                let (s, n) = row?;
                counts.add(state_of(&s), n as u64);
            }
            Ok(counts)
        })
    }

    /// The bytes done and in all of the active transfers (queued, running, waiting to retry).
    pub fn active_bytes(&self) -> Result<(u64, u64)> {
        self.with(|c| {
            c.prepare_cached(&format!(
                "SELECT COALESCE(SUM({DONE}), 0), COALESCE(SUM(COALESCE(size, 0)), 0) FROM transfers
                 WHERE state IN ('queued', 'running', 'waiting_retry')"
            ))?
            .query_row([], |r| {
                Ok((
                    r.get::<_, i64>(0)?.max(0) as u64,
                    r.get::<_, i64>(1)?.max(0) as u64,
                ))
            })
        })
    }

    /// The transfers `ids` added up, one primary-key probe each (ids no longer in the queue are left
    /// out: they were cleared).
    pub fn totals_of(&self, ids: &[String]) -> Result<SetTotals> {
        self.with(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT state, {DONE}, COALESCE(size, 0) FROM transfers WHERE id = ?1"
            ))?;
            let mut sum = SetTotals::default();
            for id in ids {
                let mut rows = st.query([id])?;
                if let Some(r) = rows.next()? {
                    sum.add(state_of(&r.get::<_, String>(0)?), 1, r.get(1)?, r.get(2)?);
                }
            }
            Ok(sum)
        })
    }

    /// The batch every one of `ids` belongs to, if they all belong to one (a run's transfers may
    /// include one queued earlier by another request, whose batch is its own).
    pub fn batch_of(&self, ids: &[String]) -> Result<Option<String>> {
        self.with(|c| {
            let mut st = c.prepare_cached("SELECT batch_id FROM transfers WHERE id = ?1")?;
            let mut batch: Option<String> = None;
            for id in ids {
                let mut rows = st.query([id])?;
                let Some(r) = rows.next()? else {
                    return Ok(None);
                };
                let b: String = r.get(0)?;
                match &batch {
                    Some(known) if *known != b => return Ok(None),
                    Some(_) => {}
                    None => batch = Some(b),
                }
            }
            Ok(batch)
        })
    }

    /// The transfers of one batch (one drop, one `cp`, one sync run) added up.
    pub fn totals_of_batch(&self, batch_id: &str) -> Result<SetTotals> {
        self.with(|c| {
            let mut st = c.prepare_cached(&format!(
                "SELECT state, COUNT(*), SUM({DONE}), SUM(COALESCE(size, 0)) FROM transfers
                 WHERE batch_id = ?1 GROUP BY state"
            ))?;
            let mut sum = SetTotals::default();
            for row in st.query_map([batch_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })? {
                let (s, n, done, total) = row?;
                sum.add(state_of(&s), n as u64, done, total);
            }
            Ok(sum)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Direction, NewTransfer, PartRow};

    fn new<'a>(id: String, batch: &'a str, size: u64) -> NewTransfer<'a> {
        NewTransfer {
            key: format!("k/{id}"),
            local_path: format!("/tmp/{id}").into(),
            id,
            direction: Direction::Upload,
            connection: "{}",
            bucket: "b",
            size: Some(size),
            source_mtime_ns: Some(1),
            part_size: 5,
            etag: None,
            overwrite: false,
            object_options: None,
            batch_id: batch,
            version_id: None,
        }
    }

    /// A store on a real file with `n` transfers t0000… queued in that order, in batches of 10.
    fn queue(n: usize) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("state.db")).unwrap();
        let batches: Vec<String> = (0..n.div_ceil(10)).map(|b| format!("b{b}")).collect();
        let rows: Vec<NewTransfer<'_>> = (0..n)
            .map(|i| new(format!("t{i:04}"), &batches[i / 10], 10))
            .collect();
        s.insert_transfers(&rows).unwrap();
        (dir, s)
    }

    fn ids(page: &[(i64, TransferRow)]) -> Vec<&str> {
        page.iter().map(|(_, r)| r.id.as_str()).collect()
    }

    fn query(before: Option<i64>, after: Option<i64>, limit: usize) -> PageQuery {
        PageQuery {
            before,
            after,
            limit,
            state: None,
        }
    }

    #[test]
    fn pages_run_newest_first_each_row_once_and_back_up_from_a_cursor() {
        let (_dir, s) = queue(25);
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = s.page(&query(before, None, 10)).unwrap();
            if page.is_empty() {
                break;
            }
            before = page.last().map(|(c, _)| *c);
            seen.extend(ids(&page).into_iter().map(String::from));
        }
        let newest_first: Vec<String> = (0..25).rev().map(|i| format!("t{i:04}")).collect();
        assert_eq!(seen, newest_first);

        // The page just above a row, and the end of the queue, both newest first.
        let top = s.page(&query(None, None, 5)).unwrap();
        let above = s.page(&query(None, Some(top[4].0), 3)).unwrap();
        assert_eq!(ids(&above), ["t0023", "t0022", "t0021"]);
        let end = s.page(&query(None, Some(0), 3)).unwrap();
        assert_eq!(ids(&end), ["t0002", "t0001", "t0000"]);
    }

    #[test]
    fn a_page_of_one_state_skips_the_others_and_clearing_keeps_the_cursors() {
        let (_dir, s) = queue(30);
        for i in (0..30).step_by(3) {
            s.set_state(&format!("t{i:04}"), State::Completed, None)
                .unwrap();
        }
        let q = |before| PageQuery {
            before,
            after: None,
            limit: 4,
            state: Some(State::Completed),
        };
        let first = s.page(&q(None)).unwrap();
        assert_eq!(ids(&first), ["t0027", "t0024", "t0021", "t0018"]);
        let next = s.page(&q(first.last().map(|r| r.0))).unwrap();
        assert_eq!(ids(&next), ["t0015", "t0012", "t0009", "t0006"]);

        // Clearing the finished rows leaves the others' cursors where they were.
        let queued = s.page(&query(None, None, 30)).unwrap();
        let cursor_of_t0010 = queued.iter().find(|r| r.1.id == "t0010").unwrap().0;
        s.clear_finished().unwrap();
        let after_clear = s.page(&query(Some(cursor_of_t0010), None, 3)).unwrap();
        assert_eq!(ids(&after_clear), ["t0008", "t0007", "t0005"]);
    }

    #[test]
    fn a_page_asked_for_wrongly_is_refused_with_what_to_do() {
        let (_dir, s) = queue(3);
        for bad in [query(None, None, 0), query(None, None, MAX_PAGE + 1)] {
            let e = s.page(&bad).unwrap_err();
            assert!(e.message.contains("1 to 1000 transfers"), "{}", e.message);
        }
        let e = s.page(&query(Some(5), Some(1), 10)).unwrap_err();
        assert!(e.message.contains("give one cursor"), "{}", e.message);
    }

    #[test]
    fn sums_count_states_and_add_up_bytes_of_the_active_a_set_and_a_batch() {
        let (_dir, s) = queue(20);
        s.set_state("t0000", State::Completed, None).unwrap();
        s.set_state("t0001", State::Failed, None).unwrap();
        s.set_state("t0002", State::Paused, None).unwrap();
        s.set_state("t0019", State::Cancelled, None).unwrap();
        // Five bytes of t0003 are on the server.
        let part = PartRow {
            number: 1,
            offset: 0,
            len: 5,
            etag: Some("e".into()),
            checksum: None,
        };
        s.record_part("t0003", &part).unwrap();

        let counts = s.state_counts().unwrap();
        assert_eq!(
            counts,
            StateCounts {
                queued: 16,
                completed: 1,
                failed: 1,
                paused: 1,
                cancelled: 1,
                ..Default::default()
            }
        );
        assert_eq!(counts.total(), 20);
        // 16 queued transfers of 10 bytes, 5 bytes done.
        assert_eq!(s.active_bytes().unwrap(), (5, 160));

        let set = s
            .totals_of(&["t0001".into(), "t0003".into(), "gone".into()])
            .unwrap();
        assert_eq!((set.counts.total(), set.counts.failed), (2, 1));
        assert_eq!((set.bytes_done, set.bytes_total), (5, 20));

        // Batch b0 holds t0000…t0009.
        let batch = s.totals_of_batch("b0").unwrap();
        assert_eq!(
            (
                batch.counts.total(),
                batch.counts.completed,
                batch.counts.queued
            ),
            (10, 1, 7)
        );
        assert_eq!((batch.bytes_done, batch.bytes_total), (5, 100));
        assert_eq!(s.totals_of_batch("none").unwrap(), SetTotals::default());

        // The batch of a set of ids: only when they all share one.
        let of = |ids: &[&str]| {
            let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
            s.batch_of(&ids).unwrap()
        };
        assert_eq!(of(&["t0000", "t0009"]).as_deref(), Some("b0"));
        assert_eq!(of(&["t0000", "t0010"]), None);
        assert_eq!(of(&["t0000", "gone"]), None);
        assert_eq!(of(&[]), None);
    }
}

#[cfg(test)]
mod plans {
    use super::*;

    /// The query plan of `sql` as SQLite prints it, one step a line.
    fn plan(s: &Store, sql: &str) -> String {
        s.with(|c| {
            let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
            // Unbound parameters plan as NULL, as the planner sees them before a value is bound.
            let mut rows = st.raw_query();
            let mut lines = Vec::new();
            while let Some(r) = rows.next()? {
                lines.push(r.get::<_, String>(3)?);
            }
            Ok(lines.join("\n"))
        })
        .unwrap()
    }

    /// A page is a seek and a short walk, in the table's own order or down the state index: never a
    /// scan of the queue or a sort of it, however long it is.
    #[test]
    fn a_page_seeks_its_cursor_and_sorts_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("state.db")).unwrap();
        for (state, bound, order, uses) in [
            (
                "?1 IS NULL",
                "<",
                "DESC",
                "USING INTEGER PRIMARY KEY (rowid<?)",
            ),
            (
                "?1 IS NULL",
                ">",
                "ASC",
                "USING INTEGER PRIMARY KEY (rowid>?)",
            ),
            (
                "state = ?1",
                "<",
                "DESC",
                "USING INDEX transfers_state (state=? AND rowid<?)",
            ),
            (
                "state = ?1",
                ">",
                "ASC",
                "USING INDEX transfers_state (state=? AND rowid>?)",
            ),
        ] {
            let p = plan(&s, &page_sql(state, bound, order));
            assert!(p.starts_with("SEARCH transfers") && p.contains(uses), "{p}");
            assert!(!p.contains("TEMP B-TREE"), "{p}");
        }
        let counts = plan(&s, "SELECT state, COUNT(*) FROM transfers GROUP BY state");
        assert!(
            counts.contains("COVERING INDEX transfers_state"),
            "{counts}"
        );
    }
}

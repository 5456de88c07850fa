//! The queue as the app shows it without ever loading it whole: pages of transfer views, newest
//! first, found by cursor (see `store::pages`), and a summary (transfers per state, the bytes and
//! speed of the active ones, the totals of a sync's transfers) that costs a walk of an index, not
//! a read of every row. `ferry transfers` streams the rows instead (`each_transfer`).

use super::*;
use crate::store::{PageQuery, SetTotals, StateCounts};

/// One page of the queue, newest first.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferPage {
    pub items: Vec<TransferView>,
    /// Each item's cursor, in the same order: the next page is read `before` the last one, the
    /// page above `after` the first one.
    pub cursors: Vec<i64>,
}

/// Which transfers a summary adds up besides the whole queue.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// These transfers (a sync's run, as the app knows it).
    Ids(&'a [String]),
    /// The transfers of one batch (one drop, one `cp`, one sync run).
    Batch(&'a str),
}

/// Some transfers added up.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SelectionTotals {
    /// How many of them are in each state (those cleared from the queue are not counted).
    pub counts: StateCounts,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

impl From<SetTotals> for SelectionTotals {
    fn from(t: SetTotals) -> Self {
        SelectionTotals {
            counts: t.counts,
            bytes_done: t.bytes_done,
            bytes_total: t.bytes_total,
        }
    }
}

/// What the queue adds up to: what the transfers panel's header and the sync's bar show.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TransferSummary {
    pub counts: StateCounts,
    /// Every transfer in the queue.
    pub total: u64,
    /// The bytes done and in all of the active transfers (queued, running, waiting to retry).
    pub active_bytes_done: u64,
    pub active_bytes_total: u64,
    /// The transfers running in this process, bytes per second together.
    pub speed: f64,
    /// The totals of the selection asked for, if any.
    pub selection: Option<SelectionTotals>,
}

impl Engine {
    /// One page of the queue as the app shows it (see [`PageQuery`]; bad bounds are refused).
    pub fn transfer_page(&self, q: &PageQuery) -> Result<TransferPage> {
        let rows = self.inner.store.page(q)?;
        Ok(TransferPage {
            cursors: rows.iter().map(|r| r.0).collect(),
            items: rows.iter().map(|(_, r)| TransferView::from(r)).collect(),
        })
    }

    /// The batch all of `ids` belong to, if one (a run's transfers are summed by it; see
    /// [`Store::batch_of`](crate::store::Store::batch_of)).
    pub fn batch_of(&self, ids: &[String]) -> Result<Option<String>> {
        self.inner.store.batch_of(ids)
    }

    /// The queue summed up, with the totals of `selection` if one is given.
    pub fn transfer_summary(&self, selection: Option<Selection<'_>>) -> Result<TransferSummary> {
        let store = &self.inner.store;
        let counts = store.state_counts()?;
        let (active_bytes_done, active_bytes_total) = store.active_bytes()?;
        let selection = match selection {
            None => None,
            Some(Selection::Ids(ids)) => Some(store.totals_of(ids)?.into()),
            Some(Selection::Batch(batch)) => Some(store.totals_of_batch(batch)?.into()),
        };
        Ok(TransferSummary {
            counts,
            total: counts.total(),
            active_bytes_done,
            active_bytes_total,
            speed: self.inner.progress.total_speed(),
            selection,
        })
    }
}

//! A plan as a person reviews it before anything moves: the totals, the changes (deletes first, so
//! none of them can hide behind thousands of transfers), capped at a length a screen can show with
//! the count of the rest, and what keeps deletes from running.

use super::*;

/// What a plan will do, for a person to confirm.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPreview {
    pub totals: SyncTotals,
    /// The changes: every delete first, then the transfers, at most the cap asked for.
    pub items: Vec<SyncItem>,
    /// Changes left out of `items` by the cap.
    pub more: usize,
    /// Deletes among `more` (only when there are more deletes than the cap).
    pub more_deletes: usize,
    /// Why the asked-for deletes will not run, when they won't.
    pub deletes_withheld: Option<String>,
    /// Entries that cannot be synced as they are.
    pub problems: Vec<Skipped>,
}

impl SyncPlan {
    /// The plan as a preview of at most `cap` changes, deletes first.
    pub fn preview(&self, cap: usize) -> SyncPreview {
        let (deletes, transfers): (Vec<&SyncItem>, Vec<&SyncItem>) = self
            .items
            .iter()
            .partition(|i| i.action == SyncAction::Delete);
        let items: Vec<SyncItem> = deletes
            .iter()
            .chain(transfers.iter())
            .take(cap)
            .map(|i| (*i).clone())
            .collect();
        SyncPreview {
            totals: self.totals.clone(),
            more: self.items.len() - items.len(),
            more_deletes: deletes.len().saturating_sub(cap),
            items,
            deletes_withheld: self.deletes_withheld.clone(),
            problems: self.problems.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(action: SyncAction, path: &str) -> SyncItem {
        SyncItem {
            action,
            path: path.into(),
            size: 1,
            reason: "new".into(),
            mtime_ns: None,
            etag: None,
        }
    }

    fn plan(items: Vec<SyncItem>) -> SyncPlan {
        SyncPlan {
            src: SyncSide::Local(PathBuf::from("/a")),
            dst: SyncSide::Remote(S3Url {
                bucket: "b".into(),
                key: String::new(),
            }),
            items,
            totals: SyncTotals::default(),
            deletes_withheld: None,
            problems: Vec::new(),
            opts: SyncOptions::default(),
        }
    }

    #[test]
    fn deletes_come_first_and_the_cap_counts_the_rest() {
        let mut items: Vec<SyncItem> = (0..5)
            .map(|i| item(SyncAction::Upload, &format!("u{i}")))
            .collect();
        items.push(item(SyncAction::Delete, "gone-1"));
        items.push(item(SyncAction::Delete, "gone-2"));
        let p = plan(items).preview(3);
        let shown: Vec<&str> = p.items.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(shown, ["gone-1", "gone-2", "u0"]);
        assert_eq!((p.more, p.more_deletes), (4, 0));
    }

    #[test]
    fn more_deletes_than_the_cap_are_counted() {
        let items = (0..4)
            .map(|i| item(SyncAction::Delete, &format!("d{i}")))
            .collect();
        let p = plan(items).preview(2);
        assert_eq!(p.items.len(), 2);
        assert_eq!((p.more, p.more_deletes), (2, 2));
    }

    #[test]
    fn a_small_plan_is_shown_whole() {
        let p = plan(vec![item(SyncAction::Download, "x")]).preview(2000);
        assert_eq!((p.items.len(), p.more, p.more_deletes), (1, 0, 0));
    }
}

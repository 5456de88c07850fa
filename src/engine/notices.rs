//! What the desktop app's notifications say about the queue, and when: a batch that finished, and
//! transfers that failed (after their retries). Pure: the shell feeds it events and the clock, and
//! shows what it returns.
//!
//! Failures are grouped so a burst never floods the desktop: the first failure waits a moment
//! ([`FAILURE_GATHER`]) for others of the same burst, and two failure notices are at least
//! [`FAILURE_GAP`] apart; what fails in between is told together ("3 uploads failed: a.bin, b.bin
//! and 1 more"). A batch whose transfers all failed or were cancelled has no batch notice of its own
//! (its failures were told; a cancel is the user's own doing).

use std::time::{Duration, Instant};

use super::views::{BatchFinished, TransferView};
use crate::store::Direction;

/// How long the first failure of a burst waits for the rest.
pub const FAILURE_GATHER: Duration = Duration::from_secs(1);
/// The least time between two failure notices.
pub const FAILURE_GAP: Duration = Duration::from_secs(5);
/// Names listed in a grouped notice before "and N more".
const NAMES_SHOWN: usize = 2;

/// A desktop notification's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
}

/// The notice of a finished batch, if it needs one of its own.
pub fn batch_notice(b: &BatchFinished) -> Option<Notice> {
    if b.completed == 0 {
        return None;
    }
    let title = if b.failed == 0 {
        "Transfers finished"
    } else {
        "Transfers finished with errors"
    };
    let mut body = format!("{} completed", b.completed);
    if b.failed > 0 {
        body.push_str(&format!(", {} failed", b.failed));
    }
    if b.cancelled > 0 {
        body.push_str(&format!(", {} cancelled", b.cancelled));
    }
    Some(Notice {
        title: title.into(),
        body,
    })
}

/// One failed transfer as a notice names it.
#[derive(Debug, Clone)]
struct Failed {
    name: String,
    direction: Direction,
    reason: String,
}

/// Failed transfers waiting to be told, and when the last notice went out.
#[derive(Debug, Default)]
pub struct FailureNotices {
    pending: Vec<Failed>,
    /// When the first pending failure arrived.
    first_at: Option<Instant>,
    shown_at: Option<Instant>,
}

impl FailureNotices {
    /// A transfer that failed (its view, read after the failure, carries the reason).
    pub fn push(&mut self, t: &TransferView, now: Instant) {
        let name = if t.name.is_empty() {
            t.key.clone()
        } else {
            t.name.clone()
        };
        let reason = t
            .error
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "the reason was not recorded".into());
        self.pending.push(Failed {
            name,
            direction: t.direction,
            reason,
        });
        self.first_at.get_or_insert(now);
    }

    /// When the pending failures are to be told; `None` when nothing is pending.
    pub fn due_at(&self) -> Option<Instant> {
        let gathered = self.first_at? + FAILURE_GATHER;
        Some(match self.shown_at {
            Some(shown) => gathered.max(shown + FAILURE_GAP),
            None => gathered,
        })
    }

    /// The notice for what is pending, once it is due; it is then no longer pending.
    pub fn take(&mut self, now: Instant) -> Option<Notice> {
        if self.due_at()? > now {
            return None;
        }
        let notice = failure_notice(&self.pending);
        self.pending.clear();
        self.first_at = None;
        self.shown_at = Some(now);
        Some(notice)
    }
}

fn noun(direction: Direction, plural: bool) -> &'static str {
    match (direction, plural) {
        (Direction::Upload, false) => "Upload",
        (Direction::Upload, true) => "uploads",
        (Direction::Download, false) => "Download",
        (Direction::Download, true) => "downloads",
        (Direction::Copy, false) => "Copy",
        (Direction::Copy, true) => "copies",
    }
}

/// "Upload failed: a.bin" with its reason, or "3 transfers failed" with the first names and the
/// reason when they share one.
fn failure_notice(failed: &[Failed]) -> Notice {
    let [first, rest @ ..] = failed else {
        unreachable!("a failure notice is only made for pending failures");
    };
    if rest.is_empty() {
        return Notice {
            title: format!("{} failed: {}", noun(first.direction, false), first.name),
            body: first.reason.clone(),
        };
    }
    let n = failed.len();
    let what = if rest.iter().all(|f| f.direction == first.direction) {
        noun(first.direction, true)
    } else {
        "transfers"
    };
    let names: Vec<&str> = failed
        .iter()
        .take(NAMES_SHOWN)
        .map(|f| f.name.as_str())
        .collect();
    let mut body = match n - names.len() {
        0 => format!(
            "{} and {}",
            names[..names.len() - 1].join(", "),
            names[names.len() - 1]
        ),
        more => format!("{} and {more} more", names.join(", ")),
    };
    if rest.iter().all(|f| f.reason == first.reason) {
        body.push_str(&format!(". {}", first.reason));
    }
    Notice {
        title: format!("{n} {what} failed"),
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::State;
    use crate::Error;

    fn failed(name: &str, direction: Direction, reason: &str) -> TransferView {
        TransferView {
            id: name.into(),
            direction,
            state: State::Failed,
            account: "local".into(),
            bucket: "b".into(),
            key: format!("dir/{name}"),
            local_path: format!("/home/you/{name}"),
            name: name.into(),
            bytes_done: 0,
            bytes_total: 10,
            error: Some(Error::new(crate::ErrorKind::AccessDenied, reason)),
            created_at: 0,
            finished_at: Some(1),
            next_attempt_at: None,
            verified: None,
            verified_words: None,
            version_id: None,
        }
    }

    const DENIED: &str = "Access denied to s3://b/dir: check the account's permissions.";

    #[test]
    fn one_failure_is_told_by_name_and_reason_once_the_burst_had_a_moment() {
        let t0 = Instant::now();
        let mut n = FailureNotices::default();
        assert_eq!(n.due_at(), None);
        assert_eq!(n.take(t0), None);
        n.push(&failed("a.bin", Direction::Upload, DENIED), t0);
        assert_eq!(n.due_at(), Some(t0 + FAILURE_GATHER));
        assert_eq!(n.take(t0), None, "not before the gathering moment");
        assert_eq!(
            n.take(t0 + FAILURE_GATHER),
            Some(Notice {
                title: "Upload failed: a.bin".into(),
                body: DENIED.into(),
            })
        );
        assert_eq!(n.due_at(), None, "told once");
        assert_eq!(n.take(t0 + FAILURE_GAP * 10), None);
    }

    #[test]
    fn a_burst_is_one_notice_naming_two_and_counting_the_rest() {
        let t0 = Instant::now();
        let mut n = FailureNotices::default();
        for (i, name) in ["a.bin", "b.bin", "c.bin"].into_iter().enumerate() {
            n.push(
                &failed(name, Direction::Upload, DENIED),
                t0 + Duration::from_millis(100 * i as u64),
            );
        }
        let notice = n.take(t0 + FAILURE_GATHER).unwrap();
        assert_eq!(notice.title, "3 uploads failed");
        assert_eq!(notice.body, format!("a.bin, b.bin and 1 more. {DENIED}"));
    }

    #[test]
    fn failures_after_a_notice_wait_for_the_gap_and_come_together() {
        let t0 = Instant::now();
        let mut n = FailureNotices::default();
        n.push(&failed("a.bin", Direction::Upload, DENIED), t0);
        let shown = t0 + FAILURE_GATHER;
        assert!(n.take(shown).is_some());
        // Two more fail just after, for different reasons and in both directions.
        n.push(
            &failed("b.bin", Direction::Download, "The object changed."),
            shown,
        );
        n.push(
            &failed("c.bin", Direction::Upload, DENIED),
            shown + Duration::from_secs(2),
        );
        assert_eq!(n.due_at(), Some(shown + FAILURE_GAP));
        assert_eq!(n.take(shown + FAILURE_GAP - Duration::from_millis(1)), None);
        let notice = n.take(shown + FAILURE_GAP).unwrap();
        assert_eq!(notice.title, "2 transfers failed");
        assert_eq!(notice.body, "b.bin and c.bin", "no one reason to give");
    }

    #[test]
    fn a_download_without_a_file_name_is_named_by_its_key() {
        let mut t = failed("", Direction::Download, "The object is gone.");
        t.key = "dir/".into();
        let t0 = Instant::now();
        let mut n = FailureNotices::default();
        n.push(&t, t0);
        let notice = n.take(t0 + FAILURE_GATHER).unwrap();
        assert_eq!(notice.title, "Download failed: dir/");
        assert_eq!(notice.body, "The object is gone.");
    }

    #[test]
    fn a_batch_notice_counts_what_ended_and_is_left_to_the_failures_when_nothing_completed() {
        let batch = |completed, failed, cancelled| BatchFinished {
            batch_id: "b".into(),
            completed,
            failed,
            cancelled,
        };
        assert_eq!(
            batch_notice(&batch(3, 0, 0)),
            Some(Notice {
                title: "Transfers finished".into(),
                body: "3 completed".into()
            })
        );
        assert_eq!(
            batch_notice(&batch(3, 1, 2)),
            Some(Notice {
                title: "Transfers finished with errors".into(),
                body: "3 completed, 1 failed, 2 cancelled".into()
            })
        );
        assert_eq!(batch_notice(&batch(0, 2, 0)), None);
        assert_eq!(batch_notice(&batch(0, 0, 1)), None);
    }
}

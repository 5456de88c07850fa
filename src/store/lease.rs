//! Leases: which process drives a transfer. `claim` takes a row's lease (or refuses a live one of
//! another process), `heartbeat` keeps this process's leases fresh and reports rows changed
//! elsewhere, `finish_run` and `wait_retry` end a run. The liveness test itself is the runner's
//! (`engine/runner.rs`), passed in.

use rusqlite::{params, OptionalExtension};

use super::transfers::{row_to_transfer, COLUMNS};
use super::{now_ms, Cached, State, Store, TransferRow};
use crate::error::{Error, ErrorKind, Result};

/// A lease older than this is considered abandoned even if its owner's process still exists.
pub const LEASE_TIMEOUT_MS: i64 = 10_000;

impl Store {
    /// Takes the lease on a transfer for `owner` unless a live process holds it.
    ///
    /// `owner_alive` tells whether the process named in a current lease still runs. Returns the row as
    /// claimed, with state `running`.
    pub fn claim(
        &self,
        id: &str,
        owner: &str,
        owner_alive: impl Fn(&str) -> bool,
    ) -> Result<TransferRow> {
        let mut conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let row = claim_in(&tx, id, owner, owner_alive)?;
        tx.commit()?;
        Ok(row)
    }

    /// [`Store::claim`] in the next group commit (see `group`): what the runner uses, so that many
    /// transfers starting together share one commit.
    pub async fn claim_grouped(
        &self,
        id: &str,
        owner: &str,
        owner_alive: impl Fn(&str) -> bool + Send + 'static,
    ) -> Result<TransferRow> {
        let (id, owner) = (id.to_string(), owner.to_string());
        self.grouped(move |c| claim_in(c, &id, &owner, owner_alive))
            .await
    }

    /// Refreshes the lease of every transfer `owner` runs and returns the ids among `ids` whose state
    /// someone else changed (paused or cancelled from another process).
    pub fn heartbeat(&self, owner: &str, ids: &[String]) -> Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.with(|c| {
            let now = now_ms();
            c.exec(
                "UPDATE transfers SET heartbeat_at = ?2 WHERE owner = ?1 AND state IN ('running', 'waiting_retry')",
                params![owner, now],
            )?;
            let mut st = c.prepare_cached("SELECT state, owner FROM transfers WHERE id = ?1")?;
            let mut changed = Vec::new();
            for id in ids {
                let (state, row_owner): (String, Option<String>) = match st
                    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
                    .optional()?
                {
                    Some(v) => v,
                    None => {
                        changed.push(id.clone());
                        continue;
                    }
                };
                if !matches!(state.as_str(), "running" | "waiting_retry")
                    || row_owner.as_deref() != Some(owner)
                {
                    changed.push(id.clone());
                }
            }
            Ok(changed)
        })
    }

    /// Ends a run: sets `state` only if `owner` still holds the lease and nobody changed the state
    /// meanwhile (a pause or cancel from elsewhere wins). Returns whether the row was updated.
    pub fn finish_run(
        &self,
        id: &str,
        owner: &str,
        state: State,
        error: Option<&Error>,
    ) -> Result<bool> {
        self.with(|c| {
            let now = now_ms();
            let finished = if state.is_terminal() { Some(now) } else { None };
            let n = c.exec(
                "UPDATE transfers SET state = ?3, error_kind = ?4, error_message = ?5, updated_at = ?6,
                    finished_at = COALESCE(?7, finished_at), owner = NULL
                 WHERE id = ?1 AND owner = ?2 AND state = 'running'",
                params![
                    id,
                    owner,
                    state.as_str(),
                    error.map(|e| e.kind.as_str()),
                    error.map(|e| e.message.as_str()),
                    now,
                    finished
                ],
            )?;
            Ok(n == 1)
        })
    }

    /// Ends a run that a transient failure outlasted: `waiting_retry` until `next_attempt_at` (unix
    /// ms), with the error that caused it. The lease stays with `owner`, which runs it again then.
    /// Returns false if someone changed the state meanwhile (a pause or cancel wins).
    pub fn wait_retry(
        &self,
        id: &str,
        owner: &str,
        error: &Error,
        next_attempt_at: i64,
    ) -> Result<bool> {
        self.with(|c| {
            let n = c.exec(
                "UPDATE transfers SET state = 'waiting_retry', error_kind = ?3, error_message = ?4,
                    next_attempt_at = ?5, updated_at = ?6, heartbeat_at = ?6
                 WHERE id = ?1 AND owner = ?2 AND state = 'running'",
                params![
                    id,
                    owner,
                    error.kind.as_str(),
                    error.message.as_str(),
                    next_attempt_at,
                    now_ms()
                ],
            )?;
            Ok(n == 1)
        })
    }
}

/// Takes the lease on `id` for `owner` within the caller's transaction (see [`Store::claim`]).
fn claim_in(
    c: &rusqlite::Connection,
    id: &str,
    owner: &str,
    owner_alive: impl Fn(&str) -> bool,
) -> Result<TransferRow> {
    let row = c
        .row(
            &format!("SELECT {COLUMNS} FROM transfers WHERE id = ?1"),
            [id],
            row_to_transfer,
        )
        .optional()?
        .ok_or_else(|| Error::not_found(format!("no transfer {id}")))?;
    let now = now_ms();
    if matches!(row.state, State::Running | State::WaitingRetry) {
        if let (Some(other), Some(hb)) = (&row.owner, row.heartbeat_at) {
            if other != owner && now - hb < LEASE_TIMEOUT_MS && owner_alive(other) {
                return Err(Error::new(
                    ErrorKind::Busy,
                    format!(
                        "transfer {} is being run by another Ferry process ({}); pause it there first",
                        crate::format::short_id(id),
                        other.split('-').next().unwrap_or(other)
                    ),
                ));
            }
        }
    }
    if row.state == State::Paused {
        // Paused before its turn came (here or in another process): it waits for a resume.
        return Err(Error::new(
            ErrorKind::Interrupted,
            format!(
                "transfer {} is paused; resume it to continue",
                crate::format::short_id(id)
            ),
        ));
    }
    if row.state.is_terminal() {
        // It ended since it was queued here: another process (the app, another terminal) ran
        // it or cancelled it. Not a failure of this run.
        return Err(Error::new(
            ErrorKind::Busy,
            format!(
                "transfer {} was {} by another Ferry process; there is nothing to run",
                crate::format::short_id(id),
                row.state.as_str()
            ),
        ));
    }
    c.exec(
        "UPDATE transfers SET state = 'running', owner = ?2, heartbeat_at = ?3, updated_at = ?3,
            error_kind = NULL, error_message = NULL, next_attempt_at = NULL WHERE id = ?1",
        params![id, owner, now],
    )?;
    let mut row = row;
    row.state = State::Running;
    row.next_attempt_at = None;
    row.owner = Some(owner.to_string());
    row.heartbeat_at = Some(now);
    Ok(row)
}

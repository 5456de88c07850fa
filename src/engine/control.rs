//! Control of queued and running transfers: pause, resume, cancel, clearing finished ones, and the
//! cleanup of abandoned multipart uploads.

use super::*;

impl Engine {
    /// Calls `f` with each transfer in queue order without loading them all (`ferry transfers`
    /// over 100,000 rows holds one at a time).
    pub fn each_transfer(&self, f: impl FnMut(TransferRow)) -> Result<()> {
        self.inner.store.each(f)
    }

    pub fn transfers(&self) -> Result<Vec<TransferRow>> {
        self.inner.store.list()
    }

    /// The bytes done and the total size of the transfers `ids`.
    pub fn totals(&self, ids: &[String]) -> Result<(u64, u64)> {
        let t = self.inner.store.totals_of(ids)?;
        Ok((t.bytes_done, t.bytes_total))
    }

    pub fn transfer(&self, id_or_prefix: &str) -> Result<TransferRow> {
        self.inner.store.find(id_or_prefix)
    }

    /// Pauses a transfer: completed parts are kept, a part about to finish is let finish (a short
    /// grace), the other in-flight parts stop at once.
    pub fn pause(&self, id_or_prefix: &str) -> Result<TransferRow> {
        let row = self.inner.store.find(id_or_prefix)?;
        if row.state == State::Paused {
            return Ok(row);
        }
        // One guarded write: a transfer that completed (here or in another process) since it was
        // read is never turned back into a paused one.
        if !self.inner.store.pause_unfinished(&row.id)? {
            let now = self.inner.store.find(&row.id)?;
            return Err(Error::invalid(format!(
                "transfer {} is already {}",
                crate::format::short_id(&now.id),
                now.state.as_str()
            )));
        }
        self.stop_gently(&row.id);
        self.emit(&row.id, State::Paused, None);
        self.inner.store.find(&row.id)
    }

    /// Pauses every unfinished transfer at once; returns how many changed.
    pub fn pause_all(&self) -> Result<usize> {
        let ids = self.inner.store.pause_all_unfinished()?;
        for id in &ids {
            self.stop_gently(id);
            self.emit(id, State::Paused, None);
        }
        Ok(ids.len())
    }

    /// Pauses the transfers this process is running (Ctrl-C in the CLI, quitting the app).
    pub fn pause_running_here(&self) -> Vec<String> {
        let ids: Vec<String> = lock(&self.inner.running).keys().cloned().collect();
        for id in &ids {
            let _ = self.pause(id);
        }
        ids
    }

    /// Makes a paused or failed transfer runnable again; `run` or `start` then drives it.
    pub fn resume(&self, id_or_prefix: &str) -> Result<TransferRow> {
        let row = self.inner.store.find(id_or_prefix)?;
        match row.state {
            State::Completed | State::Cancelled => Err(Error::invalid(format!(
                "transfer {} is {}; there is nothing to resume",
                crate::format::short_id(&row.id),
                row.state.as_str()
            ))),
            State::WaitingRetry if lock(&self.inner.running).contains_key(&row.id) => {
                // This process waits to run it again: run it again now instead.
                if let Some(r) = lock(&self.inner.running).get(&row.id) {
                    r.wake.notify_one();
                }
                Ok(row)
            }
            State::Running | State::WaitingRetry
                if row.owner.as_deref() != Some(&self.inner.owner)
                    && row.owner.as_deref().is_some_and(owner_alive)
                    && row
                        .heartbeat_at
                        .is_some_and(|h| store::now_ms() - h < store::LEASE_TIMEOUT_MS) =>
            {
                Err(Error::new(
                    ErrorKind::Busy,
                    format!(
                        "transfer {} is running in another Ferry process",
                        crate::format::short_id(&row.id)
                    ),
                ))
            }
            _ => {
                // Written only if the row is still as read: another process may have completed or
                // claimed it since; then decide again from what it is now.
                if !self.inner.store.requeue_if_unchanged(&row)? {
                    return self.resume(&row.id);
                }
                lock(&self.inner.announced).remove(&row.batch_id);
                self.emit(&row.id, State::Queued, None);
                self.inner.store.find(&row.id)
            }
        }
    }

    /// Makes every paused, failed or interrupted transfer runnable; returns their ids to start.
    /// Transfers another process is running, or that ended meanwhile, are left to it.
    pub fn resume_all(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for r in self.resumable()? {
            match self.resume(&r.id) {
                Ok(row) => ids.push(row.id),
                Err(e) if matches!(e.kind, ErrorKind::Busy | ErrorKind::InvalidInput) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(ids)
    }

    /// Unfinished transfers that can be resumed (paused, failed, queued, or interrupted by a crash).
    pub fn resumable(&self) -> Result<Vec<TransferRow>> {
        Ok(self
            .inner
            .store
            .unfinished()?
            .into_iter()
            .filter(|r| !r.state.is_terminal())
            .collect())
    }

    /// Cancels a transfer: stops it, aborts its multipart upload (or multipart copy) on the server,
    /// removes its partial download. Completed transfers cannot be cancelled.
    pub async fn cancel(&self, id_or_prefix: &str) -> Result<TransferRow> {
        let row = self.inner.store.find(id_or_prefix)?;
        match row.state {
            State::Completed => {
                return Err(Error::invalid(format!(
                    "transfer {} already completed; delete the object or file instead",
                    crate::format::short_id(&row.id)
                )))
            }
            State::Cancelled => return Ok(row),
            _ => {}
        }
        self.inner
            .store
            .set_state(&row.id, State::Cancelled, None)?;
        self.stop_local(&row.id);
        match row.direction {
            Direction::Upload | Direction::Copy => {
                if let Some(upload_id) = &row.upload_id {
                    let conn = Connection::from_json(&row.connection)?;
                    let client = self.client(&conn).await?;
                    upload::abort(&client, &row.bucket, &row.key, upload_id).await.map_err(|e| {
                        Error::new(
                            e.kind,
                            format!("cancelled, but the partial upload could not be removed from the server: {}", e.message),
                        )
                    })?;
                    self.inner.store.set_upload_id(&row.id, None)?;
                }
            }
            Direction::Download => {
                let temp = download::temp_path(&row.local_path, &row.id);
                match std::fs::remove_file(&temp) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(Error::io("cancelled, but could not remove", &temp, e)),
                }
            }
        }
        self.inner.store.clear_parts(&row.id)?;
        self.emit(&row.id, State::Cancelled, None);
        self.inner.store.find(&row.id)
    }

    /// Aborts the multipart uploads Ferry started and abandoned: those of cancelled transfers (a cancel
    /// that could not reach the server), and those of paused or failed transfers untouched for
    /// `max_age`, whose parts are forgotten (resuming one starts it over). Only upload ids recorded in
    /// the queue are aborted, so other clients' uploads are never touched. Returns how many were
    /// aborted; one that cannot be aborted now is logged and left for the next time.
    pub async fn abort_abandoned_uploads(&self, max_age: Duration) -> Result<usize> {
        let now = store::now_ms();
        let max_age = i64::try_from(max_age.as_millis()).unwrap_or(i64::MAX);
        let mut aborted = 0;
        let store = &self.inner.store;
        for row in store
            .cancelled_with_upload()?
            .into_iter()
            .chain(store.unfinished()?)
        {
            let Some(upload_id) = row.upload_id.as_deref() else {
                continue;
            };
            let abandoned = match row.state {
                State::Cancelled => true,
                State::Paused | State::Failed => now.saturating_sub(row.updated_at) >= max_age,
                _ => false,
            };
            if row.direction == Direction::Download || !abandoned {
                continue;
            }
            let client = self
                .client(&Connection::from_json(&row.connection)?)
                .await?;
            if let Err(e) = upload::abort(&client, &row.bucket, &row.key, upload_id).await {
                tracing::warn!(transfer = %row.id, error = %e, "could not abort an abandoned upload");
                continue;
            }
            tracing::info!(transfer = %row.id, state = row.state.as_str(), "aborted an abandoned multipart upload");
            self.inner.store.set_upload_id(&row.id, None)?;
            self.inner.store.clear_parts(&row.id)?;
            aborted += 1;
        }
        Ok(aborted)
    }

    /// Removes completed and cancelled transfers from the list.
    pub fn clear_finished(&self) -> Result<usize> {
        self.inner.store.clear_finished()
    }

    /// Stops a transfer running here at once (a cancel).
    pub(super) fn stop_local(&self, id: &str) {
        if let Some(r) = lock(&self.inner.running).get(id) {
            r.token.cancel();
        }
    }

    /// Stops a transfer running here as a pause does: parts about to finish complete first (the
    /// run ends within `transfer::GRACE_LIMIT`).
    pub(super) fn stop_gently(&self, id: &str) {
        if let Some(r) = lock(&self.inner.running).get(id) {
            r.stopping.cancel();
        }
    }

    pub(super) async fn discard_upload(&self, client: &Client, row: &TransferRow) {
        let current = self.inner.store.get(&row.id).ok().flatten();
        if let Some(upload_id) = current.and_then(|r| r.upload_id) {
            if let Err(e) = upload::abort(client, &row.bucket, &row.key, &upload_id).await {
                tracing::warn!(transfer = %row.id, error = %e, "could not abort the multipart upload");
                return;
            }
        }
        let _ = self.inner.store.set_upload_id(&row.id, None);
        let _ = self.inner.store.clear_parts(&row.id);
    }
}

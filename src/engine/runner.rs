//! The runner, and the resume protocol in one place.
//!
//! One verb runs transfers: [`Engine::run_each`] (with `run` and `start` over it) admits queued
//! transfers as transfer slots free up and drives each to its end. How Ferry resumes, from the
//! request to the last byte:
//!
//! 1. **Enqueue** (`enqueue.rs`). The same files asked for again continue their unfinished
//!    transfer instead of starting a second one (a paused one is queued again); an upload whose
//!    source changed since it was queued is cancelled (its multipart upload aborted) and starts
//!    fresh; a completed transfer whose file and object are both unchanged is skipped. A download
//!    killed between moving its file into place and recording it is recognised by its parts' CRCs.
//! 2. **Admission** (here). A transfer gets a task only when a transfer slot is free for it, so the
//!    queue costs its ids, not a task each. A transfer paused before its turn is not run.
//! 3. **Lease** (`Store::claim`). Running a transfer takes its row's lease: state `running`,
//!    `owner` = this process (`<pid>-<random>`), `heartbeat_at` refreshed every second by the
//!    engine's background task. A lease is live while its heartbeat is younger than
//!    `LEASE_TIMEOUT_MS` and its process runs ([`owner_alive`], the one liveness test); a live lease
//!    of another process refuses the claim (`Busy`), a dead one is taken over. The heartbeat also
//!    notices a pause or cancel written by another process and stops the run here.
//! 4. **Reconcile** (`transfer/upload.rs`, `transfer/download.rs`). An upload checks its source is
//!    unchanged (size, mtime), asks the server which parts it holds (ListParts is the truth), sends
//!    the rest and completes; a vanished upload id starts over. A download keeps its committed
//!    ranges in a temporary file beside the destination and fetches the rest with `If-Match`; an
//!    object replaced meanwhile starts it over. A copy (`transfer/copy/`) resumes like an upload
//!    from ListParts of its kept upload id; a copy between accounts (the row's connection the
//!    destination's, its spec naming the source's, both clients made here) restarts when the
//!    source's ETag changed. A part counts only once committed to SQLite.
//! 5. **Outcome → state** ([`next_state`], a pure function): completed; stopped by a pause, cancel
//!    or shutdown (whoever stopped it wrote the state; a shutdown leaves it queued for the next
//!    start; a pause or shutdown first lets the parts about to finish be committed, so what was
//!    sent is kept); a transient failure that outlasted the part retries waits in `waiting_retry`;
//!    a local disk problem under a download pauses it; anything else fails it with its reason.
//! 6. **Outages**. A transfer in `waiting_retry` runs again by itself after a wait that grows with
//!    each outage (`RetryPolicy::outage_wait`), or at once when resumed; pausing or cancelling ends
//!    the wait.
//! 7. **Crash**. After a crash, `running` rows of a dead process are continued by the next start
//!    (`recover`), from their committed parts.

use super::*;

/// How one transfer's run ended.
#[derive(Debug)]
pub struct Outcome {
    pub id: String,
    pub result: Result<RunStats>,
}

/// How one run of a transfer ended.
pub(super) enum RunEnd {
    Done(Result<RunStats>),
    /// A transient failure outlasted the retries: the row is `waiting_retry`; run again after this.
    Wait(Duration),
}

/// What a run's result means for its transfer: the outcome → next-state table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    /// The transfer completed (it wrote its own row).
    Completed,
    /// A pause, cancel or shutdown stopped it; whoever stopped it wrote the state.
    Stopped,
    /// A transient failure outlasted the part retries: `waiting_retry`, then run again.
    WaitRetry,
    /// It ended in `state` with its error; `discard_upload` aborts the multipart upload of a source
    /// that changed (its parts belong to a version that no longer exists).
    Ended { state: State, discard_upload: bool },
}

/// The outcome → next-state table; `stopped` says the run's token was cancelled.
pub(super) fn next_state(direction: Direction, result: &Result<RunStats>, stopped: bool) -> Next {
    let e = match result {
        Ok(_) => return Next::Completed,
        Err(e) => e,
    };
    if stopped || e.kind == ErrorKind::Interrupted {
        return Next::Stopped;
    }
    if e.is_retryable() {
        return Next::WaitRetry;
    }
    // A full or read-only disk under a download (or under the state database, for any transfer)
    // is fixed by the user, then the transfer continues where it stopped: paused, not failed. So
    // is one whose credentials ran out for good (an SSO session ended): the user signs in again.
    let paused = (direction == Direction::Download && e.kind == ErrorKind::Storage)
        || e.is_state_disk_full()
        || e.is_credentials();
    let state = if paused { State::Paused } else { State::Failed };
    Next::Ended {
        state,
        discard_upload: direction != Direction::Download && e.kind == ErrorKind::Changed,
    }
}

/// Whether the process named in a lease still runs (Linux: /proc; elsewhere the lease timeout decides).
pub(super) fn owner_alive(owner: &str) -> bool {
    let Some(pid) = owner.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
        return true;
    };
    if cfg!(target_os = "linux") {
        // A zombie (exited, not yet reaped) still has a /proc entry but holds nothing.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => !matches!(
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.trim_start().chars().next()),
                Some('Z' | 'X')
            ),
            Err(_) => false,
        }
    } else {
        true
    }
}

impl Engine {
    /// Runs transfers to their end (completed, failed, paused or cancelled) and reports each, in the
    /// order of `ids`. For many transfers prefer [`Engine::run_each`], which does not collect them.
    pub async fn run(&self, ids: &[String]) -> Vec<Outcome> {
        let position: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let mut outcomes = self.run_each(ids.to_vec());
        let mut out = Vec::with_capacity(ids.len());
        while let Some(o) = outcomes.recv().await {
            out.push(o);
        }
        out.sort_by_key(|o| position.get(o.id.as_str()).copied().unwrap_or(usize::MAX));
        out
    }

    /// Runs transfers to their end and sends each outcome as it arrives; the channel closes after
    /// the last one.
    ///
    /// Memory does not grow with the number of transfers waiting: a transfer gets a task only when a
    /// transfer slot is free for it (the dispatcher waits for the slot, not one task per transfer),
    /// so 100,000 queued files cost their ids and nothing more until their turn. A transfer paused
    /// before its turn comes is not run; its outcome is `Interrupted`.
    pub fn run_each<I>(&self, ids: I) -> tokio::sync::mpsc::Receiver<Outcome>
    where
        I: IntoIterator<Item = String>,
        I::IntoIter: Send + 'static,
    {
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(self.clone().dispatch(ids.into_iter(), Some(tx)));
        rx
    }

    /// Starts transfers in the background; follow them through events and progress.
    pub fn start(&self, ids: &[String]) {
        let ids: Vec<String> = ids.to_vec();
        tokio::spawn(self.clone().dispatch(ids.into_iter(), None));
    }

    /// Admits `ids` one by one as transfer slots free up, each on its own task holding the slot, and
    /// forwards their outcomes. The semaphore is the engine's, so every caller (the CLI, the app,
    /// watched folders) shares the same limit.
    pub(super) async fn dispatch(
        self,
        ids: impl Iterator<Item = String>,
        outcomes: Option<tokio::sync::mpsc::Sender<Outcome>>,
    ) {
        let mut ids = ids.peekable();
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            let more = ids.peek().is_some();
            let slot = self.inner.transfer_slots.clone().acquire_owned();
            tokio::select! {
                biased;
                Some(joined) = tasks.join_next() => match joined {
                    Ok(outcome) => {
                        if let Some(tx) = &outcomes {
                            // A caller that stopped listening still lets the transfers finish.
                            let _ = tx.send(outcome).await;
                        }
                    }
                    Err(e) => tracing::error!("a transfer task panicked: {e}"),
                },
                permit = slot, if more => {
                    let Some(id) = ids.next() else { continue };
                    let engine = self.clone();
                    let permit = permit.ok();
                    tasks.spawn(async move {
                        let result = engine.drive(&id, permit).await;
                        Outcome { id, result }
                    });
                }
                else => break,
            }
        }
    }

    pub(super) async fn drive(
        &self,
        id: &str,
        mut slot: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Result<RunStats> {
        let token = self.inner.shutdown.child_token();
        let stopping = token.child_token();
        let wake = Arc::new(tokio::sync::Notify::new());
        // A run of this transfer still winding down after a pause (its grace: parts near their end
        // finish) is waited for, so a resume right after a pause continues the transfer rather than
        // being refused as already running.
        let mut waited = std::time::Duration::ZERO;
        loop {
            {
                let mut running = lock(&self.inner.running);
                match running.get(id) {
                    Some(r) if r.stopping.is_cancelled() && waited <= 2 * transfer::GRACE_LIMIT => {
                    }
                    Some(_) => {
                        return Err(Error::new(
                            ErrorKind::Busy,
                            "this transfer is already running",
                        ))
                    }
                    None => {
                        running.insert(
                            id.to_string(),
                            Running {
                                token: token.clone(),
                                stopping: stopping.clone(),
                                claimed: false,
                                wake: wake.clone(),
                            },
                        );
                        break;
                    }
                }
            }
            let step = std::time::Duration::from_millis(50);
            tokio::time::sleep(step).await;
            waited += step;
        }
        // Shutting down: nothing starts now (checked after the insert, which shutdown sees).
        if self.inner.draining.is_cancelled() {
            stopping.cancel();
        }
        // A pause's grace ends here: whatever still runs after it stops at once.
        let deadline = {
            let (stopping, token) = (stopping.clone(), token.clone());
            tokio::spawn(async move {
                tokio::select! {
                    _ = token.cancelled() => {}
                    _ = async {
                        stopping.cancelled().await;
                        tokio::time::sleep(transfer::GRACE_LIMIT).await;
                    } => token.cancel(),
                }
            })
        };
        // Runs that a transient failure outlasted wait in `waiting_retry` and run again by themselves,
        // waiting longer after each one, until the transfer ends or is paused or cancelled.
        let mut outages = 0;
        let result = loop {
            match self
                .drive_claimed(id, &token, &stopping, outages, slot.take())
                .await
            {
                RunEnd::Done(r) => break r,
                RunEnd::Wait(wait) => {
                    outages += 1;
                    tokio::select! {
                        _ = stopping.cancelled() => break Err(Error::interrupted()),
                        _ = tokio::time::sleep(wait) => {}
                        _ = wake.notified() => {}
                    }
                }
            }
        };
        deadline.abort();
        lock(&self.inner.running).remove(id);
        result
    }

    pub(super) async fn drive_claimed(
        &self,
        id: &str,
        token: &CancellationToken,
        stopping: &CancellationToken,
        outages: u32,
        slot: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> RunEnd {
        match self.run_once(id, token, stopping, outages, slot).await {
            Ok(end) => end,
            Err(e) => RunEnd::Done(Err(e)),
        }
    }

    /// One run of a transfer on a transfer slot: `slot` when the dispatcher already took one, else
    /// it waits for one (a run after an outage).
    pub(super) async fn run_once(
        &self,
        id: &str,
        token: &CancellationToken,
        stopping: &CancellationToken,
        outages: u32,
        slot: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Result<RunEnd> {
        let _permit = match slot {
            Some(p) => p,
            None => tokio::select! {
                _ = stopping.cancelled() => return Err(Error::interrupted()),
                p = self.inner.transfer_slots.clone().acquire_owned() => p.map_err(|_| Error::interrupted())?,
            },
        };
        if stopping.is_cancelled() {
            return Err(Error::interrupted());
        }
        let owner = self.inner.owner.clone();
        let row = self
            .inner
            .store
            .claim_grouped(id, &owner, owner_alive)
            .await?;
        if let Some(r) = lock(&self.inner.running).get_mut(id) {
            r.claimed = true;
        }
        let mut batch_run = BatchRun::enter(self, &row.batch_id);
        self.emit(id, State::Running, None);
        // Per file, so off the log file by default (`-vvv` shows it): a folder of 100,000 small
        // files wrote a line for each start and each end. The end's line names the file.
        tracing::trace!(transfer = %id, direction = row.direction.as_str(), bucket = %row.bucket, key = %row.key, "running");

        let clients = self.clients_of(&row).await;
        let (client, source_client) = match clients {
            Ok(c) => c,
            Err(e) => {
                self.inner
                    .store
                    .finish_run(id, &owner, State::Failed, Some(&e))?;
                self.emit(id, State::Failed, Some(e.clone()));
                if batch_run.last() {
                    self.check_batch(&batch_run.batch);
                }
                return Ok(RunEnd::Done(Err(e)));
            }
        };
        let result = self
            .run_claimed(row, token, stopping, client, source_client)
            .await;
        self.record_outcome(id, &owner, outages, stopping, result, batch_run)
            .await
    }

    /// The client of a transfer's connection and, for a copy from another account, the source's.
    async fn clients_of(&self, row: &TransferRow) -> Result<(Client, Option<Client>)> {
        let client = self
            .client(&Connection::from_json(&row.connection)?)
            .await?;
        if row.direction != Direction::Copy {
            return Ok((client, None));
        }
        let spec = crate::transfer::copy::CopySpec::of(row.object_options.as_deref())?;
        let source = match &spec.source {
            Some(conn) => Some(self.client(conn).await?),
            None => None,
        };
        Ok((client, source))
    }

    /// Runs a claimed transfer's state machine to its end, its progress tracked meanwhile.
    async fn run_claimed(
        &self,
        row: TransferRow,
        token: &CancellationToken,
        stopping: &CancellationToken,
        client: Client,
        source_client: Option<Client>,
    ) -> (Result<RunStats>, Arc<Ctx>) {
        let counter = self
            .inner
            .progress
            .track(&row.id, row.size.unwrap_or(0), row.bytes_done);
        let direction = row.direction;
        let ctx = Arc::new(Ctx {
            store: self.inner.store.clone(),
            client,
            source_client,
            row,
            owner: self.inner.owner.clone(),
            counter: counter.clone(),
            token: token.clone(),
            stopping: stopping.clone(),
            parts_per_transfer: self.limits().parts_in_flight,
            paced: direction != Direction::Copy,
            part_slots: self.inner.part_slots.clone(),
            memory: self.inner.memory.clone(),
            memory_peak: self.inner.memory_peak.clone(),
            buffers: self.inner.buffers.clone(),
            limiter: Some(self.inner.limiter.clone()),
            retry: self.inner.retry,
            single_copy_max: self.inner.single_copy_max,
        });
        // Boxed: the state machines are deep futures; kept on the heap, they do not make every
        // future that awaits a run (dispatch, drive) as deep and as large as they are.
        let result = match direction {
            Direction::Upload => Box::pin(upload::run(ctx.clone())).await,
            Direction::Download => Box::pin(download::run(ctx.clone())).await,
            Direction::Copy => Box::pin(transfer::copy::run(ctx.clone())).await,
        };
        self.inner.progress.end(&counter);
        (result, ctx)
    }

    /// Writes what a run's result means for its transfer (the table of [`next_state`]) and tells
    /// the shells; returns whether to wait and run again. `token`: the run's pause-or-stop token.
    async fn record_outcome(
        &self,
        id: &str,
        owner: &str,
        outages: u32,
        token: &CancellationToken,
        (result, ctx): (Result<RunStats>, Arc<Ctx>),
        mut batch_run: BatchRun,
    ) -> Result<RunEnd> {
        let direction = ctx.row.direction;
        match (
            next_state(direction, &result, token.is_cancelled()),
            &result,
        ) {
            (Next::Completed, Ok(stats)) => {
                tracing::info!(
                    transfer = %id,
                    direction = direction.as_str(),
                    bucket = %ctx.row.bucket,
                    key = %ctx.row.key,
                    bytes = stats.bytes_total,
                    sent = stats.bytes_sent,
                    verified = stats.verified.unwrap_or("no"),
                    "completed"
                );
                self.publish(Event {
                    id: id.to_string(),
                    state: State::Completed,
                    error: None,
                    verified: stats.verified.map(str::to_string),
                    verified_words: stats
                        .verified
                        .map(crate::transfer::download::verified_against_words),
                });
            }
            (Next::Stopped, _) => {
                // Whoever paused or cancelled wrote the state; an engine shutdown leaves it queued so
                // the next start continues it.
                self.inner
                    .store
                    .finish_run(id, owner, State::Queued, None)?;
                let state = self
                    .inner
                    .store
                    .get(id)?
                    .map(|r| r.state)
                    .unwrap_or(State::Cancelled);
                tracing::info!(transfer = %id, state = state.as_str(), "stopped");
                self.emit(id, state, None);
            }
            (Next::WaitRetry, Err(e)) => {
                let wait = self.inner.retry.outage_wait(outages + 1);
                let next = store::now_ms() + wait.as_millis() as i64;
                if self.inner.store.wait_retry(id, owner, e, next)? {
                    tracing::warn!(transfer = %id, error = %e, ?wait, "waiting to retry");
                    self.emit(id, State::WaitingRetry, Some(e.clone()));
                    return Ok(RunEnd::Wait(wait));
                }
            }
            (
                Next::Ended {
                    state,
                    discard_upload,
                },
                Err(e),
            ) => {
                if discard_upload {
                    self.discard_upload(&ctx.client, &ctx.row).await;
                }
                tracing::warn!(transfer = %id, error = %e, "stopped with an error");
                self.inner.store.finish_run(id, owner, state, Some(e))?;
                self.emit(id, state, Some(e.clone()));
            }
            (next, _) => unreachable!("next_state gave {next:?} for {result:?}"),
        }
        if batch_run.last() {
            self.check_batch(&ctx.row.batch_id);
        }
        Ok(RunEnd::Done(result))
    }

    /// Announces a batch whose transfers have all ended (paused ones have not).
    pub(super) fn check_batch(&self, batch_id: &str) {
        let mut announced = lock(&self.inner.announced);
        if announced.contains(batch_id) || self.inner.store.batch_open(batch_id).unwrap_or(true) {
            return;
        }
        let Ok(states) = self.inner.store.batch_states(batch_id) else {
            return;
        };
        let count = |s: State| {
            states
                .iter()
                .filter(|(st, _)| *st == s)
                .map(|(_, n)| n)
                .sum::<usize>()
        };
        let open = count(State::Queued)
            + count(State::Running)
            + count(State::WaitingRetry)
            + count(State::Paused);
        if open == 0 && !states.is_empty() {
            announced.insert(batch_id.to_string());
            let _ = self.inner.batches.send(BatchFinished {
                batch_id: batch_id.to_string(),
                completed: count(State::Completed),
                failed: count(State::Failed),
                cancelled: count(State::Cancelled),
            });
        }
    }

    /// Transfers to continue when the app starts: queued ones, and running ones whose process died.
    pub fn recover(&self) -> Result<Vec<String>> {
        Ok(self
            .inner
            .store
            .unfinished()?
            .into_iter()
            .filter(|r| match r.state {
                State::Queued => true,
                State::Running | State::WaitingRetry => {
                    !r.owner.as_deref().is_some_and(owner_alive)
                        || r.heartbeat_at
                            .is_none_or(|h| store::now_ms() - h >= store::LEASE_TIMEOUT_MS)
                }
                _ => false,
            })
            .map(|r| r.id)
            .collect())
    }
}

/// This process running one transfer of a batch. Its batch is looked up in the database (is it
/// over?) only by the last of the batch's runs here to end: one query per batch rather than one per
/// transfer, which on a thousand small files was a tenth of the state database's CPU. A run that
/// ends while others of its batch still run leaves the question to them.
pub(super) struct BatchRun {
    engine: Engine,
    batch: String,
    counted: bool,
}

impl BatchRun {
    fn enter(engine: &Engine, batch: &str) -> BatchRun {
        *lock(&engine.inner.batch_runs)
            .entry(batch.to_string())
            .or_default() += 1;
        BatchRun {
            engine: engine.clone(),
            batch: batch.to_string(),
            counted: true,
        }
    }

    /// Ends this run's count (once); whether it was the batch's last run in this process. Counting
    /// down and deciding happen under one lock, so of two runs ending together exactly one is last.
    fn last(&mut self) -> bool {
        if !std::mem::take(&mut self.counted) {
            return false;
        }
        let mut runs = lock(&self.engine.inner.batch_runs);
        let Some(n) = runs.get_mut(&self.batch) else {
            return true;
        };
        *n -= 1;
        if *n == 0 {
            runs.remove(&self.batch);
            return true;
        }
        false
    }
}

impl Drop for BatchRun {
    fn drop(&mut self) {
        self.last();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(kind: ErrorKind) -> Result<RunStats> {
        Err(Error::new(kind, "x"))
    }

    #[test]
    fn each_outcome_leads_to_its_state() {
        use Direction::{Download, Upload};
        let ended = |state, discard_upload| Next::Ended {
            state,
            discard_upload,
        };
        let ok = Ok(RunStats::default());
        assert_eq!(next_state(Upload, &ok, false), Next::Completed);
        // A run stopped by its token is stopped whatever error the stop surfaced as.
        assert_eq!(
            next_state(Upload, &failed(ErrorKind::Network), true),
            Next::Stopped
        );
        assert_eq!(
            next_state(Download, &failed(ErrorKind::Interrupted), false),
            Next::Stopped
        );
        for kind in [ErrorKind::Network, ErrorKind::Server] {
            assert_eq!(next_state(Upload, &failed(kind), false), Next::WaitRetry);
            assert_eq!(next_state(Download, &failed(kind), false), Next::WaitRetry);
        }
        assert_eq!(
            next_state(Download, &failed(ErrorKind::Storage), false),
            ended(State::Paused, false)
        );
        assert_eq!(
            next_state(Upload, &failed(ErrorKind::Storage), false),
            ended(State::Failed, false)
        );
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            None,
        );
        assert_eq!(
            next_state(Upload, &Err(Error::from(full)), false),
            ended(State::Paused, false)
        );
        let signed_out = Error::new(ErrorKind::AccessDenied, "no usable credentials").with_source(
            aws_credential_types::provider::error::CredentialsError::not_loaded(
                "SSO session ended",
            ),
        );
        assert_eq!(
            next_state(Upload, &Err(signed_out), false),
            ended(State::Paused, false)
        );
        assert_eq!(
            next_state(Upload, &failed(ErrorKind::Changed), false),
            ended(State::Failed, true)
        );
        assert_eq!(
            next_state(Download, &failed(ErrorKind::Changed), false),
            ended(State::Failed, false)
        );
        for kind in [
            ErrorKind::Corrupt,
            ErrorKind::AccessDenied,
            ErrorKind::NotFound,
        ] {
            assert_eq!(
                next_state(Download, &failed(kind), false),
                ended(State::Failed, false)
            );
        }
    }
}

//! Transfers: enqueue drops and downloads, the queue (in pages, and summed up), pause/resume/cancel,
//! the progress channel.

use std::path::PathBuf;

use ferry::engine::{Selection, TransferPage, TransferSummary, TransferView};
use ferry::progress::Snapshot;
use ferry::store::PageQuery;
use ferry::{Engine, Enqueued};
use tauri::ipc::Channel;
use tauri::State;

use super::Result;
use crate::AppState;

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn upload_paths(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    prefix: String,
    paths: Vec<PathBuf>,
) -> Result<Enqueued> {
    let conn = state.engine.connection(&account)?;
    let enq = state
        .engine
        .enqueue_dropped(&conn, &paths, &bucket, &prefix)
        .await?;
    state.engine.start(&enq.ids);
    Ok(enq)
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn download(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    keys: Vec<String>,
    prefixes: Vec<String>,
    dest_dir: PathBuf,
) -> Result<Enqueued> {
    let conn = state.engine.connection(&account)?;
    let enq = state
        .engine
        .enqueue_download_selection(&conn, &bucket, &keys, &prefixes, &dest_dir)
        .await?;
    state.engine.start(&enq.ids);
    Ok(enq)
}

/// The whole queue at once, oldest first: for the desktop tests and scripts. The app's panel reads
/// pages (`list_transfers_page`) and sums (`transfer_summary`), so a long queue never crosses whole.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn list_transfers(state: State<'_, AppState>) -> Result<Vec<TransferView>> {
    Ok(state
        .engine
        .transfers()?
        .iter()
        .map(TransferView::from)
        .collect())
}

/// One page of the queue, newest first: `before` a cursor (older transfers; none: the newest),
/// or `after` one (the page just above it; 0: the oldest), `limit` of them (1 to 1,000), of one
/// state if asked.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn list_transfers_page(
    app: State<'_, AppState>,
    before: Option<i64>,
    after: Option<i64>,
    limit: usize,
    state: Option<ferry::State>,
) -> Result<TransferPage> {
    app.engine.transfer_page(&PageQuery {
        before,
        after,
        limit,
        state,
    })
}

/// The queue summed up (per state, the active bytes, the speed), with the totals of the transfers
/// `ids` or of the batch `batch` when one is given.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn transfer_summary(
    state: State<'_, AppState>,
    ids: Option<Vec<String>>,
    batch: Option<String>,
) -> Result<TransferSummary> {
    let selection =
        match (&ids, &batch) {
            (Some(_), Some(_)) => return Err(ferry::Error::invalid(
                "a summary adds up either some transfers or a batch, not both; give ids or batch",
            )),
            (Some(ids), None) => Some(Selection::Ids(ids)),
            (None, Some(batch)) => Some(Selection::Batch(batch)),
            (None, None) => None,
        };
    state.engine.transfer_summary(selection)
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn pause(state: State<'_, AppState>, id: String) -> Result<()> {
    state.engine.pause(&id).map(|_| ())
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn resume(state: State<'_, AppState>, id: String) -> Result<()> {
    let row = state.engine.resume(&id)?;
    state.engine.start(&[row.id]);
    Ok(())
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn retry(state: State<'_, AppState>, id: String) -> Result<()> {
    resume(state, id).await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn cancel(state: State<'_, AppState>, id: String) -> Result<()> {
    state.engine.cancel(&id).await.map(|_| ())
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn pause_all(state: State<'_, AppState>) -> Result<()> {
    pause_all_now(&state.engine)
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn resume_all(state: State<'_, AppState>) -> Result<()> {
    resume_all_now(&state.engine)
}

/// Pause all, from the window's button or the tray's menu.
pub fn pause_all_now(engine: &Engine) -> Result<()> {
    engine.pause_all().map(|_| ())
}

/// Resume all, from the window's button or the tray's menu.
pub fn resume_all_now(engine: &Engine) -> Result<()> {
    let ids = engine.resume_all()?;
    engine.start(&ids);
    Ok(())
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn clear_finished(state: State<'_, AppState>) -> Result<usize> {
    state.engine.clear_finished()
}

/// Streams progress snapshots to the UI over one channel until the window goes away.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn subscribe_progress(
    state: State<'_, AppState>,
    channel: Channel<Vec<Snapshot>>,
) -> Result<()> {
    let mut rx = state.engine.subscribe_progress();
    tauri::async_runtime::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(batch) => {
                    if channel.send(batch.as_ref().clone()).is_err() {
                        break;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
    });
    Ok(())
}

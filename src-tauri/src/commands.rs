//! The commands the UI invokes. Each one translates its arguments into one engine call and returns
//! the engine's answer; the contract is `ui/src/lib/backend/types.ts`.

use std::path::PathBuf;
use std::time::Duration;

use ferry::accounts::{Account, NewAccount};
use ferry::engine::{Listing, TransferView};
use ferry::progress::Snapshot;
use ferry::Settings;
use ferry::{Enqueued, Error, Link, NewWatchedFolder, WatchedFolder};
use tauri::ipc::Channel;
use tauri::State;

use crate::AppState;

type Result<T> = std::result::Result<T, Error>;

#[tauri::command]
pub async fn list_accounts(state: State<'_, AppState>) -> Result<Vec<Account>> {
    state.engine.accounts()
}

#[tauri::command]
pub async fn add_account(state: State<'_, AppState>, account: NewAccount) -> Result<Account> {
    state.engine.add_account(&account).await
}

#[tauri::command]
pub async fn remove_account(state: State<'_, AppState>, name: String) -> Result<()> {
    state.engine.remove_account(&name).await
}

#[tauri::command]
pub async fn test_connection(state: State<'_, AppState>, account: NewAccount) -> Result<usize> {
    state.engine.test_connection(&account).await
}

#[tauri::command]
pub async fn list_buckets(state: State<'_, AppState>, account: String) -> Result<Vec<String>> {
    let conn = state.engine.connection(&account)?;
    state.engine.list_buckets(&conn).await
}

#[tauri::command]
pub async fn create_bucket(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
) -> Result<()> {
    let conn = state.engine.connection(&account)?;
    state.engine.make_bucket(&conn, &bucket).await
}

#[tauri::command]
pub async fn list_objects(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    prefix: String,
) -> Result<Listing> {
    let conn = state.engine.connection(&account)?;
    state.engine.list(&conn, &bucket, &prefix).await
}

#[tauri::command]
pub async fn delete_objects(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    keys: Vec<String>,
    prefixes: Vec<String>,
) -> Result<usize> {
    let conn = state.engine.connection(&account)?;
    state
        .engine
        .delete_objects(&conn, &bucket, &keys, &prefixes)
        .await
}

#[tauri::command]
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

#[tauri::command]
pub async fn list_transfers(state: State<'_, AppState>) -> Result<Vec<TransferView>> {
    Ok(state
        .engine
        .transfers()?
        .iter()
        .map(TransferView::from)
        .collect())
}

#[tauri::command]
pub async fn pause(state: State<'_, AppState>, id: String) -> Result<()> {
    state.engine.pause(&id).map(|_| ())
}

#[tauri::command]
pub async fn resume(state: State<'_, AppState>, id: String) -> Result<()> {
    let row = state.engine.resume(&id)?;
    state.engine.start(&[row.id]);
    Ok(())
}

#[tauri::command]
pub async fn retry(state: State<'_, AppState>, id: String) -> Result<()> {
    resume(state, id).await
}

#[tauri::command]
pub async fn cancel(state: State<'_, AppState>, id: String) -> Result<()> {
    state.engine.cancel(&id).await.map(|_| ())
}

#[tauri::command]
pub async fn pause_all(state: State<'_, AppState>) -> Result<()> {
    state.engine.pause_all().map(|_| ())
}

#[tauri::command]
pub async fn resume_all(state: State<'_, AppState>) -> Result<()> {
    let ids = state.engine.resume_all()?;
    state.engine.start(&ids);
    Ok(())
}

#[tauri::command]
pub async fn clear_finished(state: State<'_, AppState>) -> Result<usize> {
    state.engine.clear_finished()
}

#[tauri::command]
pub async fn presign(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    key: String,
    expires_secs: u64,
) -> Result<Link> {
    let conn = state.engine.connection(&account)?;
    state
        .engine
        .presign(&conn, &bucket, &key, Duration::from_secs(expires_secs))
        .await
}

#[tauri::command]
pub async fn get_settings(state: State<'_, AppState>) -> Result<Settings> {
    state.engine.settings()
}

#[tauri::command]
pub async fn set_settings(state: State<'_, AppState>, settings: Settings) -> Result<Settings> {
    state.engine.set_settings(&settings)
}

#[tauri::command]
pub async fn list_watched(state: State<'_, AppState>) -> Result<Vec<WatchedFolder>> {
    state.watches.list()
}

#[tauri::command]
pub async fn add_watched(
    state: State<'_, AppState>,
    folder: NewWatchedFolder,
) -> Result<WatchedFolder> {
    let conn = state.engine.connection(&folder.account)?;
    state.watches.add(&conn, &folder).await
}

#[tauri::command]
pub async fn pause_watched(state: State<'_, AppState>, id: String) -> Result<WatchedFolder> {
    state.watches.pause(&id)
}

#[tauri::command]
pub async fn resume_watched(state: State<'_, AppState>, id: String) -> Result<WatchedFolder> {
    state.watches.resume(&id)
}

#[tauri::command]
pub async fn remove_watched(state: State<'_, AppState>, id: String) -> Result<()> {
    state.watches.remove(&id)
}

/// Streams progress snapshots to the UI over one channel until the window goes away.
#[tauri::command]
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

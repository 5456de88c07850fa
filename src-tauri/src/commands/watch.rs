//! Watched folders.

use ferry::{NewWatchedFolder, WatchedFolder};
use tauri::State;

use super::Result;
use crate::AppState;

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn list_watched(state: State<'_, AppState>) -> Result<Vec<WatchedFolder>> {
    state.watches.list()
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn add_watched(
    state: State<'_, AppState>,
    folder: NewWatchedFolder,
) -> Result<WatchedFolder> {
    let conn = state.engine.connection(&folder.account)?;
    state.watches.add(&conn, &folder).await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn pause_watched(state: State<'_, AppState>, id: String) -> Result<WatchedFolder> {
    state.watches.pause(&id)
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn resume_watched(state: State<'_, AppState>, id: String) -> Result<WatchedFolder> {
    state.watches.resume(&id)
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn remove_watched(state: State<'_, AppState>, id: String) -> Result<()> {
    state.watches.remove(&id)
}

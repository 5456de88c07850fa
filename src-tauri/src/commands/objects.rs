//! Buckets and objects: list, create, delete, share links.

use std::time::Duration;

use ferry::engine::Listing;
use ferry::Link;
use tauri::State;

use super::Result;
use crate::AppState;

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn list_buckets(state: State<'_, AppState>, account: String) -> Result<Vec<String>> {
    let conn = state.engine.connection(&account)?;
    state.engine.list_buckets(&conn).await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn create_bucket(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
) -> Result<()> {
    let conn = state.engine.connection(&account)?;
    state.engine.make_bucket(&conn, &bucket).await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
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
#[tracing::instrument(skip_all)]
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
#[tracing::instrument(skip_all)]
pub async fn presign(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    key: String,
    expires_secs: u64,
    download: Option<bool>,
) -> Result<Link> {
    let conn = state.engine.connection(&account)?;
    let expires = Duration::from_secs(expires_secs);
    if download.unwrap_or(false) {
        state
            .engine
            .presign_download(&conn, &bucket, &key, expires)
            .await
    } else {
        state.engine.presign(&conn, &bucket, &key, expires).await
    }
}

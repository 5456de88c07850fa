//! Buckets and objects: list, create, delete, properties, rename/move/copy, share links.

use std::time::Duration;

use ferry::engine::{DeleteProgress, Deleted, Listing, ObjectProperties, Tally};
use ferry::Link;
use ferry::{Copied, CopyOptions, IfExists, S3Url};
use tauri::ipc::Channel;
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
    progress: Channel<DeleteProgress>,
) -> Result<Deleted> {
    let conn = state.engine.connection(&account)?;
    state
        .engine
        .delete_objects(&conn, &bucket, &keys, &prefixes, |p| {
            // A window that went away no longer wants to know; the delete goes on.
            let _ = progress.send(p);
        })
        .await
}

/// How many objects and bytes lie under folders: what the delete confirmation shows.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn tally_folders(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    prefixes: Vec<String>,
) -> Result<Tally> {
    let conn = state.engine.connection(&account)?;
    state.engine.tally(&conn, &bucket, &prefixes).await
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

/// One object's properties (size, times, ETag, checksums, content type, metadata…).
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn object_properties(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    key: String,
) -> Result<ObjectProperties> {
    let conn = state.engine.connection(&account)?;
    state.engine.stat(&conn, &bucket, &key).await
}

/// Copies or moves (renames) an object, or a folder (`from` ending in `/`), to `to` in the same
/// bucket, server-side. An existing destination is refused unless `replace`.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn copy_objects(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    from: String,
    to: String,
    move_source: bool,
    replace: bool,
) -> Result<Copied> {
    let conn = state.engine.connection(&account)?;
    let at = |key: String| S3Url {
        bucket: bucket.clone(),
        key,
    };
    let opts = CopyOptions {
        recursive: from.ends_with('/'),
        if_exists: if replace {
            IfExists::Overwrite
        } else {
            IfExists::Error
        },
        delete_source: move_source,
        ..CopyOptions::default()
    };
    state
        .engine
        .copy_objects(&conn, &at(from), &at(to), &opts)
        .await
}

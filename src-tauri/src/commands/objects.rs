//! Buckets and objects: list (streamed over a channel, cancellable), search, create, delete,
//! properties, rename/move/copy, share links; versions (listed when asked, downloaded, restored,
//! deleted).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use ferry::engine::{
    CancellationToken, DeleteProgress, Deleted, Depth, Found, Listed, Listing, ObjectFilter,
    ObjectProperties, ObjectVersion, Restored, Searched, Tally, VersionListing,
};
use ferry::Link;
use ferry::{CopyOptions, DownloadOptions, Enqueued, IfExists, ObjectEdit, S3Url};
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

/// The listings under way, by the id the UI gave each (never reused), so that moving to another
/// folder can stop the old one (`cancel_listing`). A cancel that overtakes its listing's start
/// leaves a cancelled token, which the listing then finds and ends at once.
#[derive(Default)]
pub struct Listings(Mutex<HashMap<u32, CancellationToken>>);

impl Listings {
    /// The token of listing `id`, forgotten when the returned guard drops.
    fn start(&self, id: u32) -> Started<'_> {
        let token = self.lock().entry(id).or_default().clone();
        Started {
            listings: self,
            id,
            token,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u32, CancellationToken>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A listing under way; dropping it forgets its token.
struct Started<'a> {
    listings: &'a Listings,
    id: u32,
    token: CancellationToken,
}

impl Started<'_> {
    /// Sends a page to the UI; a closed channel (the window went away) stops the listing.
    fn forward<T: tauri::ipc::IpcResponse>(&self, channel: &Channel<T>, page: T) {
        if channel.send(page).is_err() {
            self.token.cancel();
        }
    }
}

impl Drop for Started<'_> {
    fn drop(&mut self) {
        self.listings.lock().remove(&self.id);
    }
}

/// Streams one level of `prefix` to `pages`, a page as soon as the server answers it; resolves
/// with what was listed once the last page is sent or the listing was cancelled.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn list_objects(
    state: State<'_, AppState>,
    listings: State<'_, Listings>,
    account: String,
    bucket: String,
    prefix: String,
    listing: u32,
    pages: Channel<Listing>,
) -> Result<Listed> {
    let conn = state.engine.connection(&account)?;
    let run = listings.start(listing);
    state
        .engine
        .list_pages(&conn, &bucket, &prefix, Depth::Level, &run.token, |page| {
            run.forward(&pages, page)
        })
        .await
}

/// Searches every level under `prefix` for names matching `name` (a glob or a substring), within
/// optional size bounds, streaming each page's matches with the running totals to `found`; stopped
/// by `cancel_listing` like a listing.
#[tauri::command]
#[tracing::instrument(skip_all)]
#[allow(clippy::too_many_arguments)]
pub async fn search_objects(
    state: State<'_, AppState>,
    listings: State<'_, Listings>,
    account: String,
    bucket: String,
    prefix: String,
    name: String,
    min_size: Option<u64>,
    max_size: Option<u64>,
    modified_after: Option<i64>,
    modified_before: Option<i64>,
    listing: u32,
    found: Channel<Found>,
) -> Result<Searched> {
    let conn = state.engine.connection(&account)?;
    let mut filter = ObjectFilter::name(&name)?;
    filter.min_size = min_size;
    filter.max_size = max_size;
    filter.modified_after = modified_after;
    filter.modified_before = modified_before;
    let run = listings.start(listing);
    state
        .engine
        .search(
            &conn,
            &bucket,
            &prefix,
            &filter,
            &run.token,
            |objects, so_far| {
                let so_far = *so_far;
                run.forward(&found, Found { objects, so_far })
            },
        )
        .await
}

/// Stops the listing (or search) the UI started as `listing` (it moved to another folder).
#[tauri::command]
#[tracing::instrument(skip_all)]
pub fn cancel_listing(listings: State<'_, Listings>, listing: u32) {
    listings.lock().entry(listing).or_default().cancel();
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

/// A preview of one object for the side panel: the first bytes of a text, or a short-lived link
/// the webview loads for an image, a PDF, audio or video; nothing is written to disk.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn preview_object(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    key: String,
) -> Result<ferry::engine::Preview> {
    let conn = state.engine.connection(&account)?;
    state.engine.preview(&conn, &bucket, &key).await
}

/// Rewrites an object's content type, cache control, disposition, metadata or storage class on the
/// server (what `edit` leaves out is kept) and returns its properties as they are now. The rewrite
/// is a copy transfer of the queue, so a large one shows in the transfers panel.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn edit_object(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    key: String,
    edit: ObjectEdit,
) -> Result<ObjectProperties> {
    let conn = state.engine.connection(&account)?;
    state
        .engine
        .edit_object(&conn, &S3Url { bucket, key }, &edit)
        .await
}

/// Copies or moves (renames) an object, or a folder (`from` ending in `/`), to `to`: in the same
/// bucket, or in `to_bucket` of `to_account` when given (a paste into another bucket). Within one
/// account the copies are server-side; into another account they stream through Ferry. Queues one
/// batch of copy transfers (the transfers panel shows them) and starts it. An existing destination
/// is refused, with nothing queued, unless `replace`.
#[tauri::command]
#[tracing::instrument(skip_all)]
#[allow(clippy::too_many_arguments)] // the command's arguments as the front end names them
pub async fn copy_objects(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    from: String,
    to: String,
    move_source: bool,
    replace: bool,
    to_account: Option<String>,
    to_bucket: Option<String>,
) -> Result<Enqueued> {
    let conn = state.engine.connection(&account)?;
    let destination = match &to_account {
        Some(name) if *name != account => Some(state.engine.connection(name)?),
        _ => None,
    };
    let src = S3Url {
        bucket: bucket.clone(),
        key: from,
    };
    let dst = S3Url {
        bucket: to_bucket.unwrap_or(bucket),
        key: to,
    };
    let opts = CopyOptions {
        recursive: src.key.ends_with('/'),
        if_exists: if replace {
            IfExists::Overwrite
        } else {
            IfExists::Error
        },
        delete_source: move_source,
        destination,
        ..CopyOptions::default()
    };
    let enq = state.engine.enqueue_copy(&conn, &src, &dst, &opts).await?;
    state.engine.start(&enq.ids);
    Ok(enq)
}

/// Streams the versions and delete markers of one level of `prefix` to `pages` (the folder's
/// "Show versions"); stopped by `cancel_listing` like a listing.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn list_versions(
    state: State<'_, AppState>,
    listings: State<'_, Listings>,
    account: String,
    bucket: String,
    prefix: String,
    listing: u32,
    pages: Channel<VersionListing>,
) -> Result<Listed> {
    let conn = state.engine.connection(&account)?;
    let run = listings.start(listing);
    state
        .engine
        .list_version_pages(&conn, &bucket, &prefix, Depth::Level, &run.token, |page| {
            run.forward(&pages, page)
        })
        .await
}

/// Every version and delete marker of one object, newest first.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn object_versions(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    key: String,
) -> Result<Vec<ObjectVersion>> {
    let conn = state.engine.connection(&account)?;
    state.engine.object_versions(&conn, &bucket, &key).await
}

/// Queues the download of one version of an object into `dest_dir` (under its name; a taken name
/// gets ` (1)`), started at once.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn download_version(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    key: String,
    version_id: String,
    dest_dir: std::path::PathBuf,
) -> Result<Enqueued> {
    let conn = state.engine.connection(&account)?;
    let opts = DownloadOptions {
        if_exists: IfExists::Rename,
        version_id: Some(version_id),
        ..DownloadOptions::default()
    };
    let enq = state
        .engine
        .enqueue_download(&conn, &S3Url { bucket, key }, &dest_dir, &opts)
        .await?;
    state.engine.start(&enq.ids);
    Ok(enq)
}

/// Makes a version current again (a server-side copy over the object: a new version).
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn restore_version(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    key: String,
    version_id: String,
) -> Result<Restored> {
    let conn = state.engine.connection(&account)?;
    state
        .engine
        .restore_version(&conn, &bucket, &key, &version_id)
        .await
}

/// Deletes one version (or delete marker) for good; the UI has asked first.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn delete_version(
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    key: String,
    version_id: String,
) -> Result<ObjectVersion> {
    let conn = state.engine.connection(&account)?;
    state
        .engine
        .delete_version(&conn, &bucket, &key, &version_id)
        .await
}

/// Counts the objects and bytes under `prefix` (the bucket when empty), sending the running totals
/// to `progress` after each page ("Calculate size"); stopped by `cancel_listing` like a listing.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn folder_size(
    state: State<'_, AppState>,
    listings: State<'_, Listings>,
    account: String,
    bucket: String,
    prefix: String,
    listing: u32,
    progress: Channel<Listed>,
) -> Result<Listed> {
    let conn = state.engine.connection(&account)?;
    let run = listings.start(listing);
    state
        .engine
        .size_of(&conn, &bucket, &prefix, &run.token, |so_far| {
            run.forward(&progress, *so_far)
        })
        .await
}

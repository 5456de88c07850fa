//! Ferry's desktop shell: Tauri commands that translate to engine calls, and forwarding of the engine's
//! streams to the UI. No transfer logic lives here (it belongs in the `ferry` engine crate).
//!
//! - Progress: one `tauri::ipc::Channel` per window, subscribed once (`subscribe_progress`), carrying the
//!   engine's coalesced snapshots (≤ 10 batches per second, only transfers that changed).
//! - Lifecycle changes go out as the `transfer://state` event; watched folders' state and recent
//!   uploads as `watch://state`; a sync run's end as `sync://finished`.
//! - Errors cross as `{kind, message}` (the engine's `Error` serialises that way).
//! - On start the queue is restored: queued transfers and those interrupted by a quit or crash continue.
//!   On quit, running transfers stop (parts about to finish complete first, off the main thread)
//!   and stay queued for the next start. Saved watched folders that
//!   are not paused are watched from the start.
//! - The tray (`tray`): progress, Pause all, Resume all, Show, Quit; closing the window while there
//!   is work keeps Ferry running there. One instance (`launch`): a second launch hands over its files.
//! - Notifications while the window is not focused: a batch's end, and transfers that failed,
//!   grouped so a burst is one notification (`ferry::engine::notices`); each is also logged.
//! - Dragging objects out of the window (`dragout`): staged downloads handed to the platform's drag.
//! - Start at login (`login`): the OS's login entry starts Ferry with `--hidden`: no window, the
//!   tray, the queue restored and the folders watched as at any start.

mod commands;
mod dragout;
mod launch;
mod login;
mod tray;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use ferry::engine::notices::{batch_notice, FailureNotices};
use ferry::{Engine, EngineConfig, TransferView, Watches};
use tauri::{Emitter, Manager, RunEvent};
use tauri_plugin_notification::NotificationExt;

/// What every command reaches through `State`.
pub struct AppState {
    pub engine: Engine,
    /// This process's watched folders (the app is the process that watches).
    pub watches: Watches,
    /// Keeps the log file writer alive for the life of the app.
    _log_guard: Mutex<Option<ferry::logging::Guard>>,
}

fn state_dir(app: &tauri::App) -> PathBuf {
    std::env::var_os("FERRY_STATE_DIR")
        .map(PathBuf::from)
        .or_else(|| app.path().app_data_dir().ok())
        .unwrap_or_else(|| PathBuf::from(".ferry"))
}

pub fn run() {
    let app = tauri::Builder::default()
        // First: a second launch hands over its files and exits before anything else starts.
        .plugin(launch::plugin())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_clipboard_manager::init())
        .plugin(tauri_plugin_notification::init())
        .plugin(login::plugin())
        .manage(commands::sync::SyncPlans::default())
        .setup(|app| {
            let dir = state_dir(app);
            let guard = ferry::logging::init(&dir, 0);
            let engine = tauri::async_runtime::block_on(async {
                let engine = Engine::open(EngineConfig::new(&dir)).await?;
                engine.set_limits(engine.settings()?.limits())?;
                // The built-in account works from the first start: serve the embedded endpoint.
                engine.local_endpoint().await?;
                Ok::<_, ferry::Error>(engine)
            })
            .map_err(|e| Box::<dyn std::error::Error>::from(e.message))?;

            // A damaged queue was kept aside and a new one started (see Store::open): say where.
            if let Some((kept, detail)) = engine.store().damaged() {
                tracing::error!(kept = %kept.display(), %detail, "the state database was damaged");
                let body = format!(
                    "It was kept aside at {} and a new, empty queue started ({detail}).",
                    kept.display()
                );
                notify(app.handle(), "Ferry's transfer queue was damaged", &body);
            }
            let ids = engine.recover()?;
            if !ids.is_empty() {
                tracing::info!(count = ids.len(), "continuing interrupted transfers");
                let e = engine.clone();
                tauri::async_runtime::spawn(async move { e.start(&ids) });
            }
            // Multipart uploads this app started and abandoned (cancelled while offline, or paused
            // or failed for a week) hold storage on the server: abort them in the background.
            let e = engine.clone();
            tauri::async_runtime::spawn(async move {
                match e
                    .abort_abandoned_uploads(ferry::config::ABANDONED_UPLOAD_AGE)
                    .await
                {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(count = n, "aborted abandoned multipart uploads"),
                    Err(e) => tracing::warn!(error = %e, "could not clean up abandoned uploads"),
                }
                // Files staged for drags out of the window, long since dropped.
                if let Err(e) = e.clean_drag_out(ferry::engine::DRAG_OUT_AGE) {
                    tracing::warn!(error = %e, "could not clean up the drag-out folder");
                }
            });
            let watches = Watches::new(&engine, ferry::watch::DEFAULT_SETTLE);
            let w = watches.clone();
            tauri::async_runtime::spawn(async move {
                match w.start_all() {
                    Ok(n) => tracing::info!(count = n, "watching folders"),
                    Err(e) => tracing::warn!(error = %e, "could not start the watched folders"),
                }
            });
            // Lifecycle changes, and watched folders' state and recent uploads.
            forward(
                app.handle().clone(),
                engine.subscribe_events(),
                "transfer://state",
            );
            forward(app.handle().clone(), watches.subscribe(), "watch://state");
            notify_batches(app.handle().clone(), &engine);
            notify_failures(app.handle().clone(), &engine);
            tray::install(app, &engine)?;
            app.manage(commands::objects::Listings::default());
            app.manage(AppState {
                engine,
                watches,
                _log_guard: Mutex::new(guard),
            });
            // The window (`create: false` in tauri.conf.json) is made here, hidden when the login
            // entry started Ferry: it then lives in the tray until Show Ferry or a second launch.
            let hidden = login::starts_hidden(&std::env::args().collect::<Vec<_>>());
            if let Some(config) = app.config().app.windows.first() {
                tauri::WebviewWindowBuilder::from_config(app.handle(), config)?
                    .visible(!hidden)
                    .build()?;
            }
            if hidden {
                tracing::info!("started at login: hidden in the tray");
            }
            Ok(())
        })
        .on_window_event(tray::on_window_event)
        .invoke_handler(tauri::generate_handler![
            commands::accounts::list_accounts,
            commands::accounts::add_account,
            commands::accounts::remove_account,
            commands::accounts::test_connection,
            commands::accounts::account_defaults,
            commands::accounts::set_account_defaults,
            commands::objects::list_buckets,
            commands::objects::create_bucket,
            commands::objects::list_objects,
            commands::objects::cancel_listing,
            commands::objects::search_objects,
            commands::objects::delete_objects,
            commands::objects::tally_folders,
            commands::objects::object_properties,
            commands::objects::copy_objects,
            commands::objects::list_versions,
            commands::objects::object_versions,
            commands::objects::download_version,
            commands::objects::restore_version,
            commands::objects::delete_version,
            commands::objects::folder_size,
            commands::objects::edit_object,
            commands::objects::preview_object,
            commands::transfers::upload_paths,
            commands::transfers::download,
            dragout::drag_out,
            commands::transfers::list_transfers,
            commands::transfers::list_transfers_page,
            commands::transfers::transfer_summary,
            commands::transfers::pause,
            commands::transfers::resume,
            commands::transfers::cancel,
            commands::transfers::retry,
            commands::transfers::pause_all,
            commands::transfers::resume_all,
            commands::transfers::clear_finished,
            commands::objects::presign,
            commands::settings::get_settings,
            commands::settings::set_settings,
            commands::transfers::subscribe_progress,
            commands::watch::list_watched,
            commands::watch::add_watched,
            commands::watch::pause_watched,
            commands::watch::resume_watched,
            commands::watch::remove_watched,
            commands::sync::preview_sync,
            commands::sync::run_sync,
            commands::sync::list_sync_pairs,
            commands::sync::remove_sync_pair,
        ])
        .build(tauri::generate_context!())
        .expect("the Tauri application could not be built");

    app.run(|handle, event| {
        if let RunEvent::ExitRequested { api, code, .. } = event {
            if QUIT.stopped.load(Ordering::SeqCst) {
                return;
            }
            if let Some(state) = handle.try_state::<AppState>() {
                // Running transfers stop and stay queued; the next start continues them. Parts
                // about to finish complete first (a few seconds at most), off the main thread, with
                // the window gone meanwhile; then the exit goes through.
                api.prevent_exit();
                if !QUIT.stopping.swap(true, Ordering::SeqCst) {
                    for w in handle.webview_windows().values() {
                        let _ = w.hide();
                    }
                    let (handle, engine) = (handle.clone(), state.engine.clone());
                    tauri::async_runtime::spawn(async move {
                        engine.shutdown().await;
                        QUIT.stopped.store(true, Ordering::SeqCst);
                        handle.exit(code.unwrap_or(0));
                    });
                }
            }
        }
    });
}

/// The app's quit: stopping the engine (once), then stopped (the exit is let through).
struct Quit {
    stopping: AtomicBool,
    stopped: AtomicBool,
}

static QUIT: Quit = Quit {
    stopping: AtomicBool::new(false),
    stopped: AtomicBool::new(false),
};

/// Forwards an engine broadcast to the UI as `event` events, until the engine closes it. A UI that
/// fell behind skips what it missed (the next message carries the current state).
fn forward<T>(
    app: tauri::AppHandle,
    mut rx: tokio::sync::broadcast::Receiver<T>,
    event: &'static str,
) where
    T: serde::Serialize + Clone + Send + 'static,
{
    tauri::async_runtime::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(message) => {
                    let _ = app.emit(event, message);
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            }
        }
    });
}

/// Whether the user is looking at Ferry's window (then the list says it all; no notification).
fn focused(app: &tauri::AppHandle) -> bool {
    app.get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false)
}

/// A desktop notification when a batch finishes while the window is not focused.
fn notify_batches(app: tauri::AppHandle, engine: &Engine) {
    let mut rx = engine.subscribe_batches();
    tauri::async_runtime::spawn(async move {
        loop {
            let b = match rx.recv().await {
                Ok(b) => b,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(_) => break,
            };
            if let Some(n) = batch_notice(&b).filter(|_| !focused(&app)) {
                notify(&app, &n.title, &n.body);
            }
        }
    });
}

/// A desktop notification when transfers fail (after their retries) while the window is not
/// focused, grouped so a burst of failures is one notification (`FailureNotices`).
fn notify_failures(app: tauri::AppHandle, engine: &Engine) {
    let mut rx = engine.subscribe_events();
    let engine = engine.clone();
    tauri::async_runtime::spawn(async move {
        let mut pending = FailureNotices::default();
        loop {
            let due = pending.due_at();
            let wait = async {
                match due {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                got = rx.recv() => match got {
                    Ok(e) if e.state == ferry::State::Failed && !focused(&app) => {
                        match engine.transfer(&e.id) {
                            Ok(row) => pending.push(&TransferView::from(&row), Instant::now()),
                            Err(err) => tracing::warn!(id = %e.id, error = %err, "a failed transfer could not be read"),
                        }
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => break,
                },
                _ = wait => {
                    if let Some(n) = pending.take(Instant::now()) {
                        notify(&app, &n.title, &n.body);
                    }
                }
            }
        }
    });
}

/// A desktop notification, logged (the log tells what Ferry said); one that cannot be shown (no
/// notification daemon) is only logged.
pub(crate) fn notify(app: &tauri::AppHandle, title: &str, body: &str) {
    tracing::info!(%title, %body, "notification");
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!(error = %e, "could not show a notification");
    }
}

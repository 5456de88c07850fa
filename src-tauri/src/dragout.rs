//! Dragging objects out of the window: the UI calls `drag_out` when a drag of rows leaves the
//! window; the engine stages the objects as downloads in a drag folder of its own
//! (`Engine::stage_drag_out`), and the shell starts the platform's drag of those files, so the
//! desktop or a file manager copies them where they are dropped.
//!
//! - Linux (GTK 3, X11): a GTK drag from the window offering the staged files as `text/uri-list`.
//!   Written here rather than with the `drag` crate, whose GTK code disconnects its data handler when
//!   the drop is performed, before an X11 target asks for the data (crabnebula-dev/drag-rs#84), so
//!   nothing landed. The handler here lives until the drag ends.
//! - macOS and Windows: not built; `drag_out` refuses with words (use Download).
//!
//! A file exists at its staged path only once downloaded whole (see `ferry::engine::dragout`): a
//! drop before then finds no file there, and the file manager says so; nothing partial is copied.

use ferry::Enqueued;
use tauri::{AppHandle, State, WebviewWindow};

use crate::commands::Result;
use crate::AppState;

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn drag_out(
    app: AppHandle,
    window: WebviewWindow,
    state: State<'_, AppState>,
    account: String,
    bucket: String,
    keys: Vec<String>,
    prefixes: Vec<String>,
) -> Result<Enqueued> {
    if !cfg!(target_os = "linux") {
        return Err(ferry::Error::invalid(
            "Dragging objects out of the window works only on Linux for now: use Download.",
        ));
    }
    let engine = &state.engine;
    let conn = engine.connection(&account)?;
    let staged = engine
        .stage_drag_out(&conn, &bucket, &keys, &prefixes)
        .await?;
    engine.start(&staged.enqueued.ids);
    let (tx, rx) = tokio::sync::oneshot::channel();
    let paths = staged.paths.clone();
    let w = window.clone();
    let sent = app.run_on_main_thread(move || {
        let _ = tx.send(native::start(&w, &paths));
    });
    let started = match sent {
        Ok(()) => rx
            .await
            .unwrap_or_else(|_| Err("the drag was dropped".into())),
        Err(e) => Err(e.to_string()),
    };
    if let Err(why) = started {
        tracing::warn!(%why, "the drag could not start");
        // The drop can never come: stop the downloads and remove the drag folder.
        for id in &staged.enqueued.ids {
            let _ = engine.cancel(id).await;
        }
        let _ = std::fs::remove_dir_all(&staged.folder);
        return Err(ferry::Error::internal(format!(
            "The drag could not start ({why}). Use Download instead."
        )));
    }
    tracing::info!(
        count = staged.paths.len(),
        folder = %staged.folder.display(),
        "dragging objects out"
    );
    Ok(staged.enqueued)
}

#[cfg(target_os = "linux")]
mod native {
    use std::cell::RefCell;
    use std::path::PathBuf;
    use std::rc::Rc;

    use gtk::gdk;
    use gtk::glib;
    use gtk::prelude::*;

    /// Starts a GTK drag of `paths` from the window (on the main thread).
    pub fn start(window: &tauri::WebviewWindow, paths: &[PathBuf]) -> Result<(), String> {
        let w = window.gtk_window().map_err(|e| e.to_string())?;
        let uris: Vec<String> = paths
            .iter()
            .map(|p| glib::filename_to_uri(p, None).map(|u| u.to_string()))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let targets = gtk::TargetList::new(&[]);
        targets.add_uri_targets(0);
        let data = w.connect_drag_data_get(move |_, _, selection, _, _| {
            let uris: Vec<&str> = uris.iter().map(String::as_str).collect();
            selection.set_uris(&uris);
        });
        // Both handlers go when the drag ends (dropped, refused or cancelled).
        let handlers = Rc::new(RefCell::new(Some(data)));
        let ended = Rc::new(RefCell::new(None));
        let (h, e) = (handlers.clone(), ended.clone());
        let end = w.connect_drag_end(move |w, _| {
            if let Some(id) = h.borrow_mut().take() {
                w.disconnect(id);
            }
            if let Some(id) = e.borrow_mut().take() {
                w.disconnect(id);
            }
        });
        *ended.borrow_mut() = Some(end);
        match w.drag_begin_with_coordinates(&targets, gdk::DragAction::COPY, 1, None, -1, -1) {
            Some(_) => Ok(()),
            None => {
                for id in [handlers.borrow_mut().take(), ended.borrow_mut().take()]
                    .into_iter()
                    .flatten()
                {
                    w.disconnect(id);
                }
                Err("GTK refused to start a drag".into())
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod native {
    pub fn start(_: &tauri::WebviewWindow, _: &[std::path::PathBuf]) -> Result<(), String> {
        Err("not available on this platform".into())
    }
}

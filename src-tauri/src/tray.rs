//! The tray icon, and the window's close button that leaves Ferry running in it.
//!
//! - The icon's tooltip and the first line of its menu show the overall progress of the transfers
//!   running now (how many, speed, time left), from the engine's progress snapshots, at most once a
//!   second. The menu: Pause all, Resume all, Show Ferry, Quit.
//! - Closing the window while transfers are queued or running, or folders are watched, hides it
//!   instead (the `keepInTray` setting, on by default); the first time, a notification says so.
//!   Otherwise closing quits, as it did before.
//! - Quit goes through the app's ordinary exit: running transfers stop, keep the parts the server
//!   holds, and stay queued for the next start.

use std::collections::HashMap;
use std::time::Duration;

use ferry::progress::Snapshot;
use ferry::{Engine, State as TransferState, WatchState};
use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Window, WindowEvent};

use crate::AppState;

/// The store's key that remembers the notification about the tray was shown once.
const NOTICE_SHOWN: &str = "tray_notice_shown";

/// What a menu item does; its id is what the menu event carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    PauseAll,
    ResumeAll,
    Show,
    Quit,
}

impl Action {
    const ALL: [Action; 4] = [
        Action::PauseAll,
        Action::ResumeAll,
        Action::Show,
        Action::Quit,
    ];

    fn id(self) -> &'static str {
        match self {
            Action::PauseAll => "pause-all",
            Action::ResumeAll => "resume-all",
            Action::Show => "show",
            Action::Quit => "quit",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Action::PauseAll => "Pause all",
            Action::ResumeAll => "Resume all",
            Action::Show => "Show Ferry",
            Action::Quit => "Quit",
        }
    }

    fn from_id(id: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.id() == id)
    }
}

/// The transfers running now, by id, from the engine's snapshots (a run's last one says `ended`).
#[derive(Default)]
struct Running(HashMap<String, Snapshot>);

impl Running {
    fn apply(&mut self, batch: &[Snapshot]) {
        for s in batch {
            if s.ended {
                self.0.remove(&s.id);
            } else {
                self.0.insert(s.id.clone(), s.clone());
            }
        }
    }

    /// One line for the tooltip and the menu: `2 running · 3.1 MiB/s · 1m20s left`.
    fn summary(&self) -> String {
        let n = self.0.len();
        if n == 0 {
            return "Nothing running".into();
        }
        let speed: f64 = self.0.values().map(|s| s.speed).sum();
        let left: u64 = self
            .0
            .values()
            .map(|s| s.bytes_total.saturating_sub(s.bytes_done))
            .sum();
        let mut text = format!("{n} running");
        if speed >= 1.0 {
            text.push_str(&format!(
                " · {}/s · {} left",
                ferry::format::human_bytes(speed as u64),
                ferry::format::human_duration(Duration::from_secs_f64(left as f64 / speed))
            ));
        }
        text
    }
}

/// Adds the tray icon and keeps its progress line current.
pub fn install(app: &tauri::App, engine: &Engine) -> tauri::Result<()> {
    let status = MenuItem::with_id(app, "status", "Nothing running", false, None::<&str>)?;
    let item = |a: Action| MenuItem::with_id(app, a.id(), a.label(), true, None::<&str>);
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &item(Action::PauseAll)?,
            &item(Action::ResumeAll)?,
            &PredefinedMenuItem::separator(app)?,
            &item(Action::Show)?,
            &item(Action::Quit)?,
        ],
    )?;
    let mut tray = TrayIconBuilder::with_id("main")
        .tooltip("Ferry — Nothing running")
        .menu(&menu)
        .on_menu_event(|app, event| {
            if let Some(action) = Action::from_id(event.id().as_ref()) {
                run(app, action);
            }
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    let tray = tray.build(app)?;

    let mut rx = engine.subscribe_progress();
    tauri::async_runtime::spawn(async move {
        let mut running = Running::default();
        let mut shown = String::from("Nothing running");
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                got = rx.recv() => match got {
                    Ok(batch) => running.apply(&batch),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                },
                _ = tick.tick() => {
                    let text = running.summary();
                    if text != shown {
                        let _ = status.set_text(&text);
                        let _ = tray.set_tooltip(Some(format!("Ferry — {text}")));
                        shown = text;
                    }
                }
            }
        }
    });
    Ok(())
}

/// What a tray menu item does (the same engine calls as the window's buttons).
fn run(app: &AppHandle, action: Action) {
    let Some(state) = app.try_state::<AppState>() else {
        return;
    };
    let done = match action {
        Action::PauseAll => crate::commands::transfers::pause_all_now(&state.engine),
        Action::ResumeAll => crate::commands::transfers::resume_all_now(&state.engine),
        Action::Show => {
            show(app);
            Ok(())
        }
        Action::Quit => {
            app.exit(0);
            Ok(())
        }
    };
    if let Err(e) = done {
        tracing::warn!(error = %e, action = action.id(), "tray action failed");
    }
}

/// Brings the main window back and forward (from the tray, or from a second launch).
pub fn show(app: &AppHandle) {
    if let Some(w) = app.get_webview_window("main") {
        let _ = w.show();
        let _ = w.unminimize();
        let _ = w.set_focus();
    }
}

/// The window's close button: hides the window instead while Ferry has work and the setting says
/// so; the first time, says where Ferry went.
pub fn on_window_event(window: &Window, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    let app = window.app_handle();
    let Some(state) = app.try_state::<AppState>() else {
        return;
    };
    let keep = state
        .engine
        .settings()
        .map(|s| s.keep_in_tray)
        .unwrap_or(true);
    if !keep || !has_work(&state) {
        return;
    }
    api.prevent_close();
    let _ = window.hide();
    let store = state.engine.store();
    if matches!(store.setting(NOTICE_SHOWN), Ok(None)) {
        let _ = store.set_setting(NOTICE_SHOWN, "1");
        crate::notify(
            app,
            "Ferry is still running",
            "Transfers and watched folders go on in the background. Quit from Ferry's icon in the tray; Settings can make closing the window quit.",
        );
    }
}

/// Transfers queued, running or waiting to retry, or a folder being watched.
fn has_work(state: &AppState) -> bool {
    let transfers = state
        .engine
        .resumable()
        .unwrap_or_default()
        .iter()
        .any(|r| {
            matches!(
                r.state,
                TransferState::Queued | TransferState::Running | TransferState::WaitingRetry
            )
        });
    transfers
        || state
            .watches
            .list()
            .unwrap_or_default()
            .iter()
            .any(|f| f.state != WatchState::Paused)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(id: &str, done: u64, total: u64, speed: f64, ended: bool) -> Snapshot {
        Snapshot {
            id: id.into(),
            bytes_done: done,
            bytes_total: total,
            bytes_sending: 0,
            speed,
            eta_secs: None,
            ended,
        }
    }

    #[test]
    fn every_menu_item_maps_back_to_its_action() {
        for a in Action::ALL {
            assert_eq!(Action::from_id(a.id()), Some(a));
        }
        assert_eq!(Action::from_id("status"), None);
        assert_eq!(Action::from_id("pause-all"), Some(Action::PauseAll));
        assert_eq!(Action::from_id("quit"), Some(Action::Quit));
    }

    #[test]
    fn the_summary_adds_up_the_running_transfers_and_forgets_ended_ones() {
        let mut r = Running::default();
        assert_eq!(r.summary(), "Nothing running");
        const MIB: u64 = 1024 * 1024;
        r.apply(&[
            snap("a", 10 * MIB, 70 * MIB, 2.0 * MIB as f64, false),
            snap("b", 0, 20 * MIB, MIB as f64, false),
        ]);
        // 80 MiB left at 3 MiB/s.
        assert_eq!(r.summary(), "2 running · 3.0 MiB/s · 26s left");
        r.apply(&[snap("b", 20 * MIB, 20 * MIB, 0.0, true)]);
        assert!(
            r.summary().starts_with("1 running · 2.0 MiB/s"),
            "{}",
            r.summary()
        );
        r.apply(&[snap("a", 70 * MIB, 70 * MIB, 0.0, true)]);
        assert_eq!(r.summary(), "Nothing running");
    }

    #[test]
    fn a_transfer_not_moving_yet_is_counted_without_a_speed() {
        let mut r = Running::default();
        r.apply(&[snap("a", 0, 100, 0.0, false)]);
        assert_eq!(r.summary(), "1 running");
    }
}

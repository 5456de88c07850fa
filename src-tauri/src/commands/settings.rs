//! The app's settings. `startAtLogin` is the OS's login entry (see `login`): read from it, and
//! created or removed before the other settings are saved.

use ferry::Settings;
use tauri::{AppHandle, State};

use super::Result;
use crate::{login, AppState};

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn get_settings(app: AppHandle, state: State<'_, AppState>) -> Result<Settings> {
    let mut settings = state.engine.settings()?;
    if let Some(on) = login::is_on(&app) {
        settings.start_at_login = on;
    }
    Ok(settings)
}

/// Saves the settings. A login entry that cannot be changed refuses the whole save (nothing
/// changes); a save that fails after the entry changed puts the entry back.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn set_settings(
    app: AppHandle,
    state: State<'_, AppState>,
    settings: Settings,
) -> Result<Settings> {
    settings.validate()?;
    let change = login::is_on(&app) != Some(settings.start_at_login);
    if change {
        login::set(&app, settings.start_at_login)?;
    }
    state.engine.set_settings(&settings).inspect_err(|_| {
        if change {
            let _ = login::set(&app, !settings.start_at_login);
        }
    })
}

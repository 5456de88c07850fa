//! The app's settings.

use ferry::Settings;
use tauri::State;

use super::Result;
use crate::AppState;

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn get_settings(state: State<'_, AppState>) -> Result<Settings> {
    state.engine.settings()
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn set_settings(state: State<'_, AppState>, settings: Settings) -> Result<Settings> {
    state.engine.set_settings(&settings)
}

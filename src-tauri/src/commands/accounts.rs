//! Accounts: list, add (secret to the keychain), remove, test a connection, upload defaults.

use ferry::accounts::{Account, NewAccount};
use ferry::AccountDefaults;
use tauri::State;

use super::Result;
use crate::AppState;

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn list_accounts(state: State<'_, AppState>) -> Result<Vec<Account>> {
    state.engine.accounts()
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn add_account(state: State<'_, AppState>, account: NewAccount) -> Result<Account> {
    state.engine.add_account(&account).await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn remove_account(state: State<'_, AppState>, name: String) -> Result<()> {
    state.engine.remove_account(&name).await
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn test_connection(state: State<'_, AppState>, account: NewAccount) -> Result<usize> {
    state.engine.test_connection(&account).await
}

/// What every upload of `account` is stored with unless it chooses otherwise.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn account_defaults(
    state: State<'_, AppState>,
    account: String,
) -> Result<AccountDefaults> {
    state.engine.account_defaults(&account)
}

/// Keeps an account's upload defaults (blank fields unset); returns them as kept.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn set_account_defaults(
    state: State<'_, AppState>,
    account: String,
    defaults: AccountDefaults,
) -> Result<AccountDefaults> {
    state.engine.set_account_defaults(&account, &defaults)
}

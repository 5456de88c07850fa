//! Start at login: the OS's own entry that starts Ferry when the user logs in, hidden in the tray
//! (`--hidden`), so the queue and the watched folders go on after a reboot. The entry is written by
//! tauri-plugin-autostart: `~/.config/autostart/Ferry.desktop` on Linux (XDG autostart), a
//! LaunchAgent on macOS, the `Run` registry key on Windows.
//!
//! The entry is the truth: the settings screen shows whether it exists, and turning the setting on
//! or off creates or removes it before the setting is saved, so the two never disagree for long.

use tauri::AppHandle;
use tauri_plugin_autostart::ManagerExt;

/// The argument the login entry starts Ferry with: no window, only the tray.
pub const HIDDEN: &str = "--hidden";

/// Where the entry lives, as the user would look for it.
const WHERE: &str = if cfg!(target_os = "macos") {
    "~/Library/LaunchAgents"
} else if cfg!(windows) {
    "the registry's Run key (HKEY_CURRENT_USER)"
} else {
    "~/.config/autostart"
};

pub fn plugin() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    tauri_plugin_autostart::Builder::new()
        .args([HIDDEN])
        .build()
}

/// Whether a launch asked to start hidden in the tray (the login entry does).
pub fn starts_hidden<S: AsRef<str>>(argv: &[S]) -> bool {
    argv.iter().skip(1).any(|a| a.as_ref() == HIDDEN)
}

/// Whether the OS starts Ferry at login; `None` when the entry cannot be read.
pub fn is_on(app: &AppHandle) -> Option<bool> {
    match app.autolaunch().is_enabled() {
        Ok(on) => Some(on),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the start-at-login entry");
            None
        }
    }
}

/// Creates or removes the login entry; an entry that cannot be written is said in words.
pub fn set(app: &AppHandle, on: bool) -> Result<(), ferry::Error> {
    let login = app.autolaunch();
    let done = if on { login.enable() } else { login.disable() };
    done.map_err(|e| {
        let message = if on {
            format!(
                "Ferry could not add itself to the programs started at login ({e}). Check that {WHERE} can be written to, then try again."
            )
        } else {
            format!(
                "Ferry could not remove itself from the programs started at login ({e}). Remove Ferry's entry in {WHERE} by hand, or try again."
            )
        };
        tracing::warn!(on, error = %e, "start at login could not be changed");
        ferry::Error::new(ferry::ErrorKind::Storage, message)
    })?;
    tracing::info!(on, "start at login changed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_hidden_flag_after_the_program_starts_hidden() {
        assert!(starts_hidden(&["/usr/bin/ferry-app", "--hidden"]));
        assert!(starts_hidden(&["ferry-app", "a.txt", "--hidden"]));
        assert!(!starts_hidden(&["ferry-app"]));
        assert!(!starts_hidden(&["--hidden"]));
        assert!(!starts_hidden(&["ferry-app", "--hidden-file.txt"]));
    }
}

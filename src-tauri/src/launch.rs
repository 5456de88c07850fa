//! One instance per user session: a second launch hands its file arguments to the running Ferry and
//! exits before it opens anything (the engine, the embedded endpoint, the queue), so it can never
//! touch the first one's transfers. The running Ferry brings its window forward and sends the files
//! to the UI (`app://open-files`), which uploads them to the folder on screen, as a drop would.
//!
//! On Linux the plugin takes a name on the session bus (`dev.ferry.Ferry.SingleInstance`); without a
//! session bus every launch runs on its own.

use std::path::{Path, PathBuf};

use tauri::{AppHandle, Emitter};

pub fn plugin() -> tauri::plugin::TauriPlugin<tauri::Wry> {
    tauri_plugin_single_instance::init(|app: &AppHandle, argv, cwd| {
        // The login entry starting a Ferry that already runs changes nothing on screen.
        if !crate::login::starts_hidden(&argv) {
            crate::tray::show(app);
        }
        let files = opened_files(&argv, Path::new(&cwd));
        if !files.is_empty() {
            tracing::info!(count = files.len(), "files opened by a second launch");
            if let Err(e) = app.emit("app://open-files", files) {
                tracing::warn!(error = %e, "could not hand the opened files to the window");
            }
        }
    })
}

/// The files a launch names (`ferry-app FILE…`, the desktop entry's `%F`), as absolute paths: the
/// program itself and options are left out; a relative path is taken from the launch's folder.
fn opened_files(argv: &[String], cwd: &Path) -> Vec<PathBuf> {
    argv.iter()
        .skip(1)
        .filter(|a| !a.is_empty() && !a.starts_with('-'))
        .map(|a| cwd.join(a))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_launchs_files_are_its_arguments_made_absolute() {
        let argv = [
            "/usr/bin/ferry-app",
            "notes.txt",
            "/tmp/a b.iso",
            "--flag",
            "",
        ]
        .map(String::from);
        assert_eq!(
            opened_files(&argv, Path::new("/home/you")),
            vec![
                PathBuf::from("/home/you/notes.txt"),
                PathBuf::from("/tmp/a b.iso")
            ]
        );
        assert!(opened_files(&argv[..1], Path::new("/")).is_empty());
    }
}

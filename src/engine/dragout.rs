//! Objects dragged out of the app's window: staged as downloads in a folder of Ferry's own, whose
//! paths the desktop shell hands to the platform's drag-and-drop as files.
//!
//! Each drag gets a fresh folder `drag-out/<id>/` in the state folder, so a staged file never
//! replaces anything. The downloads are ordinary queued transfers (resumable, verified, shown in the
//! list); a file appears at its staged path only when complete (downloads are written beside it as
//! `.NAME.ferry-ID.part` and renamed at the end), so whatever copies it from there never reads half
//! a file. Folders older than [`DRAG_OUT_AGE`] are removed at the app's start.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::enqueue::Enqueued;
use super::Engine;
use crate::error::{Error, Result};
use crate::s3::Connection;

/// How long a drag's staged files are kept (the drop has copied them long before).
pub const DRAG_OUT_AGE: Duration = Duration::from_secs(24 * 3600);

/// A drag's staged downloads.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Staged {
    /// The drag's folder.
    pub folder: PathBuf,
    /// What the drag carries: a file per key, a folder per prefix, where each will be.
    pub paths: Vec<PathBuf>,
    pub enqueued: Enqueued,
}

impl Engine {
    /// The folder that holds every drag's staged files.
    pub fn drag_out_root(&self) -> PathBuf {
        self.state_dir().join("drag-out")
    }

    /// Queues downloads of `keys` and `prefixes` of `bucket` into a new folder of their own. The
    /// caller starts them (`Engine::start`). A refused request leaves no folder behind.
    pub async fn stage_drag_out(
        &self,
        conn: &Connection,
        bucket: &str,
        keys: &[String],
        prefixes: &[String],
    ) -> Result<Staged> {
        if keys.is_empty() && prefixes.is_empty() {
            return Err(Error::invalid(
                "choose the objects or folders to drag out first",
            ));
        }
        let folder = self.drag_out_root().join(uuid::Uuid::now_v7().to_string());
        std::fs::create_dir_all(&folder)
            .map_err(|e| Error::io("cannot create the drag-out folder", &folder, e))?;
        let enqueued = match self
            .enqueue_download_selection(conn, bucket, keys, prefixes, &folder)
            .await
        {
            Ok(e) => e,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&folder);
                return Err(e);
            }
        };
        let paths = keys
            .iter()
            .chain(prefixes)
            .map(|k| folder.join(last_segment(k)))
            .collect();
        Ok(Staged {
            folder,
            paths,
            enqueued,
        })
    }

    /// Removes drag folders older than `age` whose downloads have all ended; returns how many.
    pub fn clean_drag_out(&self, age: Duration) -> Result<usize> {
        let root = self.drag_out_root();
        let Ok(entries) = std::fs::read_dir(&root) else {
            return Ok(0);
        };
        let busy: Vec<PathBuf> = self
            .resumable()?
            .into_iter()
            .map(|r| r.local_path)
            .collect();
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in entries.flatten() {
            let path = entry.path();
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|d| d >= age);
            if old && path.is_dir() && !busy.iter().any(|p| p.starts_with(&path)) {
                std::fs::remove_dir_all(&path)
                    .map_err(|e| Error::io("cannot remove the drag-out folder", &path, e))?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Whether `path` is one of the drags' staged files (dropping it back on Ferry uploads nothing).
    pub fn is_drag_out(&self, path: &Path) -> bool {
        path.starts_with(self.drag_out_root())
    }
}

/// The name a key or prefix takes in the drag's folder: its last segment.
fn last_segment(key: &str) -> &str {
    key.trim_end_matches('/').rsplit('/').next().unwrap_or(key)
}

#[cfg(test)]
mod tests {
    use super::last_segment;

    #[test]
    fn a_key_or_prefix_is_staged_under_its_last_segment() {
        assert_eq!(last_segment("a/b/c.bin"), "c.bin");
        assert_eq!(last_segment("c.bin"), "c.bin");
        assert_eq!(last_segment("photos/2024/"), "2024");
    }
}

//! Deleting objects and folders: DeleteObjects in batches of 1,000 keys (S3's limit per request),
//! progress after each batch, and a key the server refuses reported by name while the rest are
//! still deleted. A request that fails whole (after the retry policy gave up) stops the delete and
//! says how much was already gone.

use super::*;

/// Keys per DeleteObjects request (S3's limit).
pub const DELETE_BATCH: usize = 1000;

/// What a delete did: how many objects are gone, and each key the server refused, by name.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deleted {
    pub deleted: usize,
    pub failed: Vec<DeleteFailure>,
}

/// A key the server refused to delete, and its reason.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteFailure {
    pub key: String,
    pub message: String,
}

/// How far a delete is: keys handled (deleted or refused) of all it was asked to delete.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteProgress {
    pub handled: usize,
    pub total: usize,
}

/// How many objects, and how many bytes, lie under some folders: what a delete would remove.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tally {
    pub objects: usize,
    pub bytes: u64,
}

impl Engine {
    /// Deletes `keys`, 1,000 per request; `progress` is told after each request.
    pub async fn delete_keys(
        &self,
        conn: &Connection,
        bucket: &str,
        keys: &[String],
        mut progress: impl FnMut(DeleteProgress),
    ) -> Result<Deleted> {
        let s3 = self.requests(conn).await?;
        let mut out = Deleted::default();
        let mut handled = 0;
        for batch in keys.chunks(DELETE_BATCH) {
            let refused = s3.delete_batch(bucket, batch).await.map_err(|e| {
                Error::new(
                    e.kind,
                    format!(
                        "{}; {} of {} objects were deleted before this",
                        e.message,
                        out.deleted,
                        keys.len()
                    ),
                )
            })?;
            out.deleted += batch.len() - refused.len();
            out.failed
                .extend(refused.into_iter().map(|(key, e)| DeleteFailure {
                    key,
                    message: e.message,
                }));
            handled += batch.len();
            progress(DeleteProgress {
                handled,
                total: keys.len(),
            });
        }
        Ok(out)
    }

    /// Deletes objects, and every object under the given folders (each ending in `/`); `progress`
    /// is told after each request.
    pub async fn delete_objects(
        &self,
        conn: &Connection,
        bucket: &str,
        keys: &[String],
        prefixes: &[String],
        progress: impl FnMut(DeleteProgress),
    ) -> Result<Deleted> {
        let mut all: Vec<String> = keys.to_vec();
        for p in prefixes {
            all.extend(
                self.folder_objects(conn, bucket, p)
                    .await?
                    .into_iter()
                    .map(|o| o.key),
            );
        }
        self.delete_keys(conn, bucket, &all, progress).await
    }

    /// How many objects and bytes lie under `prefixes` (each taken as a folder), for confirming
    /// their delete.
    pub async fn tally(
        &self,
        conn: &Connection,
        bucket: &str,
        prefixes: &[String],
    ) -> Result<Tally> {
        let mut t = Tally::default();
        for p in prefixes {
            for o in self.folder_objects(conn, bucket, p).await? {
                t.objects += 1;
                t.bytes += o.size;
            }
        }
        Ok(t)
    }

    /// Every object under the folder `prefix`; the whole bucket is never taken for a folder.
    async fn folder_objects(
        &self,
        conn: &Connection,
        bucket: &str,
        prefix: &str,
    ) -> Result<Vec<ObjectInfo>> {
        if prefix.is_empty() || prefix == "/" {
            return Err(Error::invalid(format!(
                "name a folder of s3://{bucket}, not the whole bucket"
            )));
        }
        self.list_recursive(conn, bucket, &s3::as_folder(prefix))
            .await
    }
}

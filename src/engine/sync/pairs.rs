//! Saved sync pairs (a folder and a prefix of an account, one way), so the app's "Sync again" is one
//! click, and a sync carried out to its end: transfers run, then the guarded deletes, and what it did
//! recorded with its pair.

use super::*;

/// Which way a saved pair syncs.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncDirection {
    /// The folder onto the prefix.
    Upload,
    /// The prefix onto the folder.
    Download,
}

/// A folder and a prefix kept in sync on request, with the options of the sync.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPair {
    /// Empty for a pair not saved yet.
    #[serde(default)]
    pub id: String,
    pub account: String,
    pub direction: SyncDirection,
    pub local_path: String,
    pub bucket: String,
    pub prefix: String,
    pub compare: Compare,
    pub delete: bool,
    #[serde(default)]
    pub exclude: Vec<String>,
    #[serde(default)]
    pub last_run: Option<SyncRun>,
}

/// What one run of a sync did.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncRun {
    /// When it ended (Unix ms).
    #[cfg_attr(test, ts(type = "number"))]
    pub finished_at: i64,
    /// Files or objects sent, fetched or copied.
    pub transferred: usize,
    #[cfg_attr(test, ts(type = "number"))]
    pub bytes: u64,
    pub deleted: usize,
    pub failed: usize,
    /// Why deletes did not run, or what failed; `None` when the run did all it planned.
    pub problem: Option<String>,
}

const PAIRS: &str = "sync_pairs";

impl SyncPair {
    /// The two sides and the options of this pair's sync.
    pub fn request(&self) -> Result<(SyncSide, SyncSide, SyncOptions)> {
        crate::s3::check_bucket(&self.bucket)?;
        let path = PathBuf::from(&self.local_path);
        if !path.is_absolute() {
            return Err(Error::invalid(format!(
                "{} is not a full path; choose the folder again",
                self.local_path
            )));
        }
        let folder = SyncSide::Local(path);
        let prefix = SyncSide::Remote(S3Url {
            bucket: self.bucket.clone(),
            key: self.prefix.clone(),
        });
        let opts = SyncOptions {
            compare: self.compare,
            delete: self.delete,
            exclude: self.exclude.clone(),
            ..SyncOptions::default()
        };
        Ok(match self.direction {
            SyncDirection::Upload => (folder, prefix, opts),
            SyncDirection::Download => (prefix, folder, opts),
        })
    }

    fn same_place(&self, o: &SyncPair) -> bool {
        (
            &self.account,
            self.direction,
            &self.local_path,
            &self.bucket,
            &self.prefix,
        ) == (&o.account, o.direction, &o.local_path, &o.bucket, &o.prefix)
    }
}

impl Engine {
    /// The saved sync pairs, in the order they were saved.
    pub fn sync_pairs(&self) -> Result<Vec<SyncPair>> {
        Ok(match self.inner.store.setting(PAIRS)? {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| Error::storage(format!("the saved sync pairs are unreadable: {e}")))?,
            None => Vec::new(),
        })
    }

    fn write_pairs(&self, pairs: &[SyncPair]) -> Result<()> {
        let text = serde_json::to_string(pairs).expect("pairs serialise");
        self.inner.store.set_setting(PAIRS, &text)
    }

    /// Saves a pair (the same folder, prefix and direction replace the saved options) and returns it
    /// with its id.
    pub fn save_sync_pair(&self, pair: &SyncPair) -> Result<SyncPair> {
        pair.request()?;
        let mut pairs = self.sync_pairs()?;
        let mut saved = pair.clone();
        match pairs
            .iter_mut()
            .find(|p| p.id == pair.id || p.same_place(pair))
        {
            Some(p) => {
                saved.id = p.id.clone();
                saved.last_run = p.last_run.clone();
                *p = saved.clone();
            }
            None => {
                saved.id = uuid::Uuid::now_v7().to_string();
                saved.last_run = None;
                pairs.push(saved.clone());
            }
        }
        self.write_pairs(&pairs)?;
        Ok(saved)
    }

    pub fn remove_sync_pair(&self, id: &str) -> Result<()> {
        let mut pairs = self.sync_pairs()?;
        pairs.retain(|p| p.id != id);
        self.write_pairs(&pairs)
    }

    /// Carries out a plan to its end: its transfers (one batch) run here, then the guarded
    /// deletes; what it did is recorded with the saved pair `pair_id`, if given. `on_start` is told
    /// what was queued (and copied) before the transfers run, so a shell can show the run's
    /// overall progress from the transfers' own.
    pub async fn run_sync(
        &self,
        conn: &Connection,
        plan: &SyncPlan,
        pair_id: Option<&str>,
        on_start: impl FnOnce(&SyncStarted),
    ) -> Result<SyncRun> {
        let started = self.start_sync(conn, plan).await?;
        on_start(&started);
        let outcomes = self.run(&started.enqueued.ids).await;
        let deleted = self.finish_sync(conn, plan, &started.enqueued.ids).await?;
        let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
        let run = SyncRun {
            finished_at: store::now_ms(),
            transferred: outcomes.len() - failed,
            bytes: outcomes
                .iter()
                .filter_map(|o| o.result.as_ref().ok())
                .map(|s| s.bytes_total)
                .sum::<u64>(),
            deleted: deleted.deleted,
            failed,
            problem: deleted.withheld.or_else(|| {
                (!plan.problems.is_empty())
                    .then(|| format!("{} entries could not be synced", plan.problems.len()))
            }),
        };
        if let Some(id) = pair_id {
            let mut pairs = self.sync_pairs()?;
            if let Some(p) = pairs.iter_mut().find(|p| p.id == id) {
                p.last_run = Some(run.clone());
                self.write_pairs(&pairs)?;
            }
        }
        Ok(run)
    }
}

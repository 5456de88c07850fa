//! Sync pairs: a preview first (the plan is kept here by its id, and nothing moves), then running
//! exactly that plan in the background on a person's word; saved pairs listed and removed.
//!
//! A run's transfers go to the queue as one batch, so they show in the transfers panel like any
//! other; `sync://started` names them, so the panel can show the run's overall progress; when the
//! run has ended (transfers, then the guarded deletes), `sync://finished` carries
//! what it did, recorded with its saved pair.

use std::collections::VecDeque;
use std::sync::Mutex;

use ferry::{Error, SyncPair, SyncPlan, SyncPreview, SyncRun};
use serde::Serialize;
use tauri::{AppHandle, Emitter, State};

use super::Result;
use crate::AppState;

/// The most changes a preview lists; the rest are counted.
const PREVIEW_ITEMS: usize = 2_000;
/// Plans kept for a run at most: a preview nobody ran is dropped once this many newer ones exist.
const KEPT_PLANS: usize = 8;

/// The event sent when a run has ended.
pub const FINISHED_EVENT: &str = "sync://finished";
/// The event sent when a run's transfers are queued: the panel shows its overall progress from them.
pub const STARTED_EVENT: &str = "sync://started";

/// Previewed plans waiting for "Sync", newest last.
#[derive(Default)]
pub struct SyncPlans(Mutex<VecDeque<Kept>>);

struct Kept {
    id: String,
    pair: SyncPair,
    plan: SyncPlan,
}

impl SyncPlans {
    fn keep(&self, pair: SyncPair, plan: SyncPlan) -> String {
        let id = uuid::Uuid::now_v7().to_string();
        let mut plans = self.0.lock().expect("the sync plans lock");
        plans.push_back(Kept {
            id: id.clone(),
            pair,
            plan,
        });
        while plans.len() > KEPT_PLANS {
            plans.pop_front();
        }
        id
    }

    fn take(&self, id: &str) -> Result<Kept> {
        let mut plans = self.0.lock().expect("the sync plans lock");
        let at = plans.iter().position(|k| k.id == id).ok_or_else(|| {
            Error::not_found("this preview is no longer kept; preview the sync again")
        })?;
        Ok(plans.remove(at).expect("a kept plan"))
    }
}

/// A preview with the id to run it by.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Previewed {
    plan_id: String,
    #[serde(flatten)]
    preview: SyncPreview,
}

/// What `run_sync` started: the pair as saved (when asked to save it).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    plan_id: String,
    pair: Option<SyncPair>,
}

/// The `sync://started` event: the run's transfers (one batch in the queue: uploads, downloads, or
/// server-side copies bucket to bucket).
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunStarted {
    plan_id: String,
    transfer_ids: Vec<String>,
    /// Their batch when they all belong to one: the panel sums the run's progress by it
    /// (`transfer_summary {batch}`) instead of sending every id back.
    batch_id: Option<String>,
}

/// The `sync://finished` event: what the run did, or why it stopped.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finished {
    plan_id: String,
    pair_id: Option<String>,
    run: Option<SyncRun>,
    error: Option<Error>,
}

/// Plans a sync of `pair` (saved or not) and keeps the plan for `run_sync`; changes nothing.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn preview_sync(
    state: State<'_, AppState>,
    plans: State<'_, SyncPlans>,
    pair: SyncPair,
) -> Result<Previewed> {
    let conn = state.engine.connection(&pair.account)?;
    let (src, dst, opts) = pair.request()?;
    let plan = state
        .engine
        .plan_sync(&conn, &src, &dst, &opts, &mut |_| {})
        .await?;
    let preview = plan.preview(PREVIEW_ITEMS);
    Ok(Previewed {
        plan_id: plans.keep(pair, plan),
        preview,
    })
}

/// Runs a previewed plan in the background, after saving its pair when `save`; the run is
/// recorded with the pair (saved now or before) and announced with `sync://finished`.
#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn run_sync(
    app: AppHandle,
    state: State<'_, AppState>,
    plans: State<'_, SyncPlans>,
    plan_id: String,
    save: bool,
) -> Result<Started> {
    let kept = plans.take(&plan_id)?;
    let conn = state.engine.connection(&kept.pair.account)?;
    let saved = if save {
        Some(state.engine.save_sync_pair(&kept.pair)?)
    } else {
        None
    };
    let pair_id = saved
        .as_ref()
        .map(|p| p.id.clone())
        .or_else(|| (!kept.pair.id.is_empty()).then(|| kept.pair.id.clone()));
    let engine = state.engine.clone();
    let (id, pair) = (plan_id.clone(), pair_id.clone());
    tauri::async_runtime::spawn(async move {
        let batch_of = engine.clone();
        let started = |s: &ferry::SyncStarted| {
            let batch_id = batch_of.batch_of(&s.enqueued.ids).ok().flatten();
            let _ = app.emit(
                STARTED_EVENT,
                RunStarted {
                    plan_id: id.clone(),
                    transfer_ids: s.enqueued.ids.clone(),
                    batch_id,
                },
            );
        };
        let result = engine
            .run_sync(&conn, &kept.plan, pair.as_deref(), started)
            .await;
        if let Err(e) = &result {
            tracing::warn!(error = %e, "a sync stopped");
        }
        let (run, error) = match result {
            Ok(run) => (Some(run), None),
            Err(e) => (None, Some(e)),
        };
        let _ = app.emit(
            FINISHED_EVENT,
            Finished {
                plan_id: id,
                pair_id: pair,
                run,
                error,
            },
        );
    });
    Ok(Started {
        plan_id,
        pair: saved,
    })
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn list_sync_pairs(state: State<'_, AppState>) -> Result<Vec<SyncPair>> {
    state.engine.sync_pairs()
}

#[tauri::command]
#[tracing::instrument(skip_all)]
pub async fn remove_sync_pair(state: State<'_, AppState>, id: String) -> Result<()> {
    state.engine.remove_sync_pair(&id)
}

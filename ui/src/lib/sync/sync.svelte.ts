// Syncs as the UI sees them: the saved pairs (listed once, then refreshed when a run ends), the runs
// under way, and the Sync dialog's request (opened from the sidebar's panel, the object browser's
// toolbar, or "Sync again" when the plan deletes). A run's end arrives as a "sync://finished" event,
// which carries what it did: the pair's last run is taken from it, as the backend recorded it.
import { messageOf } from '../backend/errors';
import type {
  Backend, SyncFinished, SyncPair, SyncPreviewed, SyncRunStarted, SyncStarted, Unsubscribe,
} from '../backend/types';
import { nothingToDo, routeLabel } from './labels';

/** What the Sync dialog opens on: a pair to start from (saved or not), and a preview already made. */
export interface SyncRequest {
  pair: SyncPair | null;
  at?: { account: string; bucket: string; prefix: string } | null;
  preview?: SyncPreviewed | null;
}

/** A run under way as the transfers panel shows it: its route, then its transfers once queued. */
export interface SyncRunView {
  planId: string;
  label: string;
  /** Null until "sync://started" names them. */
  transferIds: readonly string[] | null;
  /** Their batch, when the backend names it. */
  batchId?: string | null;
}

/** What "Sync again" did. */
export type AgainOutcome = 'started' | 'review' | 'nothing';

export class SyncState {
  readonly #backend: Backend;
  /** Saved pairs, in the order they were saved. Replaced on every change. */
  pairs = $state.raw<SyncPair[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  /** Set when the runs' ends could not be subscribed to. */
  streamError = $state<string | null>(null);
  /** Plan ids of the runs under way → their pair's id ('' for an unsaved pair). */
  running = $state.raw<ReadonlyMap<string, string>>(new Map());
  /** The runs under way, by plan id, for their overall progress. */
  runs = $state.raw<ReadonlyMap<string, SyncRunView>>(new Map());
  /** The Sync dialog's request while it is open. */
  request = $state.raw<SyncRequest | null>(null);
  readonly #finishedHandlers = new Set<(e: SyncFinished) => void>();
  /** Runs whose end arrived before their start was answered, by plan id. */
  readonly #endedEarly = new Map<string, SyncFinished>();
  /** Runs whose transfers were named before their start was answered, by plan id. */
  readonly #startedEarly = new Map<string, SyncRunStarted>();

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /** Subscribes to the runs' ends, then lists the pairs. */
  async start(): Promise<Unsubscribe> {
    let stop: Unsubscribe | null = null;
    try {
      const stopFinished = await this.#backend.onSyncFinished((e) => this.#finished(e));
      const stopStarted = await this.#backend.onSyncStarted((e) => this.#started(e));
      stop = () => {
        stopFinished();
        stopStarted();
      };
    } catch (e) {
      this.streamError = messageOf(e);
    }
    await this.load();
    return () => stop?.();
  }

  async load(): Promise<void> {
    try {
      this.pairs = await this.#backend.listSyncPairs();
      this.error = null;
    } catch (e) {
      this.error = messageOf(e);
    }
    this.loaded = true;
  }

  /** Called with every run's end (after the pairs were listed again). */
  onFinished(handler: (e: SyncFinished) => void): Unsubscribe {
    this.#finishedHandlers.add(handler);
    return () => this.#finishedHandlers.delete(handler);
  }

  /** Opens the Sync dialog. */
  open(request: SyncRequest): void {
    this.request = request;
  }
  close(): void {
    this.request = null;
  }

  isRunning(pairId: string): boolean {
    return [...this.running.values()].includes(pairId);
  }

  /** Plans the sync of `pair`; nothing moves. Rejects with the backend's {kind, message}. */
  preview(pair: SyncPair): Promise<SyncPreviewed> {
    return this.#backend.previewSync(pair);
  }

  /** Runs a previewed plan, saving its pair first when `save`. */
  async run(previewed: SyncPreviewed, pair: SyncPair, save: boolean): Promise<SyncStarted> {
    const started = await this.#backend.runSync(previewed.planId, save);
    // A run with nothing to do can end before its start is answered.
    const ended = this.#endedEarly.get(started.planId);
    this.#endedEarly.delete(started.planId);
    if (!ended) {
      this.running = new Map([...this.running, [started.planId, started.pair?.id ?? pair.id]]);
      const named = this.#startedEarly.get(started.planId);
      this.#startedEarly.delete(started.planId);
      const view: SyncRunView = {
        planId: started.planId, label: routeLabel(pair), transferIds: named?.transferIds ?? null, batchId: named?.batchId ?? null,
      };
      this.runs = new Map([...this.runs, [started.planId, view]]);
    }
    if (started.pair) {
      const saved = ended?.run ? { ...started.pair, lastRun: ended.run } : started.pair;
      const known = this.pairs.some((p) => p.id === saved.id);
      this.pairs = known ? this.pairs.map((p) => (p.id === saved.id ? saved : p)) : [...this.pairs, saved];
    }
    return started;
  }

  /**
   * "Sync again": plans the saved pair; a plan that deletes opens the dialog on its preview for a
   * person to confirm, a plan with nothing to do says so, any other runs at once.
   */
  async again(pair: SyncPair): Promise<AgainOutcome> {
    const previewed = await this.preview(pair);
    if (previewed.totals.deletes > 0) {
      this.open({ pair, preview: previewed });
      return 'review';
    }
    await this.run(previewed, pair, false);
    return nothingToDo(previewed) ? 'nothing' : 'started';
  }

  async remove(id: string): Promise<void> {
    await this.#backend.removeSyncPair(id);
    this.pairs = this.pairs.filter((p) => p.id !== id);
  }

  #started(e: SyncRunStarted): void {
    const view = this.runs.get(e.planId);
    if (!view) {
      this.#startedEarly.set(e.planId, e);
      return;
    }
    const named = { ...view, transferIds: e.transferIds, batchId: e.batchId ?? null };
    this.runs = new Map([...this.runs, [e.planId, named]]);
  }

  #finished(e: SyncFinished): void {
    this.#startedEarly.delete(e.planId);
    if (this.running.has(e.planId)) {
      const running = new Map(this.running);
      running.delete(e.planId);
      this.running = running;
      const runs = new Map(this.runs);
      runs.delete(e.planId);
      this.runs = runs;
    } else this.#endedEarly.set(e.planId, e);
    if (e.pairId && e.run) {
      const run = e.run;
      // A pair saved by another window or process is listed again, with its run.
      if (!this.pairs.some((p) => p.id === e.pairId)) void this.load();
      else this.pairs = this.pairs.map((p) => (p.id === e.pairId ? { ...p, lastRun: run } : p));
    }
    for (const h of this.#finishedHandlers) h(e);
  }
}

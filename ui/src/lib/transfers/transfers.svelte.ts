// The transfer queue as the UI sees it. Loaded once with listTransfers(), then kept current by progress
// batches and lifecycle events, each applied to the one item it names (a Map by id), so a batch costs
// O(changed) however long the queue is. The ordered list is rebuilt only by a refresh: at start, when an
// event or batch names an id we do not know, and after clearing finished transfers.
import { messageOf } from '../backend/errors';
import { fraction } from '../format';
import type {
  Backend, BackendError, ProgressSnapshot, Transfer, TransferEvent, TransferState, Unsubscribe,
} from '../backend/types';

export const ACTIVE_STATES: readonly TransferState[] = ['queued', 'running', 'waiting_retry'];

/** One transfer, with fine-grained reactive fields so a progress tick re-renders only its own row. */
export class TransferItem {
  readonly id: string;
  readonly direction: Transfer['direction'];
  readonly account: string;
  readonly bucket: string;
  readonly key: string;
  readonly localPath: string;
  readonly name: string;
  readonly createdAt: number;
  /** A download of one version of the object; null for the current object. */
  readonly versionId: string | null;

  state = $state<TransferState>('queued');
  /** Bytes kept (committed parts): what a pause or quit keeps, so it never falls when one lands. */
  bytesDone = $state(0);
  /** Bytes of the parts on their way while it runs: moving, not yet kept. */
  bytesSending = $state(0);
  bytesTotal = $state(0);
  speed = $state(0);
  etaSecs = $state<number | null>(null);
  error = $state<BackendError | null>(null);
  finishedAt = $state<number | null>(null);
  /** Completed downloads: the server checksum the file was verified against; null when none. */
  verified = $state<string | null>(null);
  /** 0…1, never more. */
  readonly progress = $derived(fraction(this.bytesDone, this.bytesTotal));
  /** 0…1: what is kept and what is on its way, together. */
  readonly moving = $derived(fraction(this.bytesDone + this.bytesSending, this.bytesTotal));

  /** The store's sequence number of the last change applied to this item (not reactive). */
  seq = 0;

  constructor(t: Transfer) {
    this.id = t.id;
    this.direction = t.direction;
    this.account = t.account;
    this.bucket = t.bucket;
    this.key = t.key;
    this.localPath = t.localPath;
    this.name = t.name;
    this.createdAt = t.createdAt;
    this.versionId = t.versionId ?? null;
    this.update(t);
  }

  /** Takes the listed values of a refresh. */
  update(t: Transfer): void {
    this.state = t.state;
    this.bytesTotal = Math.max(0, t.bytesTotal);
    this.bytesDone = clampDone(t.bytesDone, this.bytesTotal);
    this.error = t.error;
    this.finishedAt = t.finishedAt;
    this.verified = t.verified;
    if (t.state === 'completed') this.bytesDone = this.bytesTotal;
    if (t.state !== 'running') {
      this.speed = 0;
      this.etaSecs = null;
      this.bytesSending = 0;
    }
  }

  applySnapshot(s: ProgressSnapshot): void {
    this.bytesTotal = Math.max(0, s.bytesTotal);
    this.bytesDone = clampDone(s.bytesDone, this.bytesTotal);
    // A last snapshot can trail the event that stopped the transfer; a stopped transfer has no speed.
    const moving = this.state === 'running';
    this.speed = moving ? Math.max(0, s.speed) : 0;
    this.etaSecs = moving ? s.etaSecs : null;
    this.bytesSending = moving ? Math.max(0, Math.min(s.bytesSending, this.bytesTotal - this.bytesDone)) : 0;
  }

  applyEvent(e: TransferEvent): void {
    this.state = e.state;
    this.error = e.error;
    if (e.verified !== undefined) this.verified = e.verified;
    if (e.state !== 'running') {
      this.speed = 0;
      this.etaSecs = null;
      this.bytesSending = 0;
    }
    if (e.state === 'completed') {
      this.bytesDone = this.bytesTotal;
      this.finishedAt ??= Date.now();
    } else if (e.state === 'cancelled') {
      this.finishedAt ??= Date.now();
    } else {
      this.finishedAt = null;
    }
  }
}

function clampDone(done: number, total: number): number {
  const d = Math.max(0, done);
  return total > 0 ? Math.min(d, total) : d;
}

function emptyCounts(): Record<TransferState, number> {
  return { queued: 0, running: 0, paused: 0, waiting_retry: 0, completed: 0, failed: 0, cancelled: 0 };
}

/** What a set of transfers (a sync's run) adds up to. */
export interface Tally {
  files: number;
  completed: number;
  failed: number;
  bytesDone: number;
  bytesTotal: number;
  speed: number;
}

export class TransfersState {
  readonly #backend: Backend;
  readonly #byId = new Map<string, TransferItem>();
  #seq = 0;
  #refreshing: Promise<void> | null = null;
  #refreshAgain = false;
  #listeners = new Set<(item: TransferItem, event: TransferEvent) => void>();

  /** Newest first. Replaced (never mutated) by a refresh, so reading it is cheap and stable. */
  items = $state.raw<TransferItem[]>([]);
  /** How many transfers are in each state, kept up to date as events arrive. */
  readonly counts = $state(emptyCounts());
  /** The sum of the running transfers' speeds, bytes per second. */
  totalSpeed = $state(0);
  loaded = $state(false);
  error = $state<string | null>(null);
  /** Set when the live updates could not be subscribed to. */
  streamError = $state<string | null>(null);

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /**
   * Subscribes to the progress and lifecycle streams, then loads the list. The list is loaded even if a
   * subscription fails; `streamError` then says why the queue may not update by itself.
   */
  async start(): Promise<Unsubscribe> {
    const stops: Unsubscribe[] = [];
    const subscriptions = [
      () => this.#backend.onProgress((batch) => this.applyProgress(batch)),
      () => this.#backend.onTransferEvent((event) => this.applyEvent(event)),
    ];
    for (const subscribe of subscriptions) {
      try {
        stops.push(await subscribe());
      } catch (e) {
        this.streamError ??= messageOf(e);
      }
    }
    await this.refresh();
    return () => {
      for (const stop of stops) stop();
    };
  }

  get(id: string): TransferItem | undefined {
    return this.#byId.get(id);
  }

  get size(): number {
    return this.#byId.size;
  }

  /** Called after each lifecycle event that changed a known transfer (e.g. to refresh a listing). */
  onEvent(listener: (item: TransferItem, event: TransferEvent) => void): Unsubscribe {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The transfers `ids` added up. Read inside a $derived it follows their progress (and the list, for
   * transfers not listed yet: they count as files, with no bytes, until they are).
   */
  tally(ids: readonly string[]): Tally {
    void this.items;
    const t: Tally = { files: ids.length, completed: 0, failed: 0, bytesDone: 0, bytesTotal: 0, speed: 0 };
    for (const id of ids) {
      const item = this.#byId.get(id);
      if (!item) continue;
      t.bytesDone += item.bytesDone;
      t.bytesTotal += item.bytesTotal;
      t.speed += item.speed;
      if (item.state === 'completed') t.completed++;
      else if (item.state === 'failed' || item.state === 'cancelled') t.failed++;
    }
    return t;
  }

  /** Applies a batch to the transfers it names, and nothing else. */
  applyProgress(batch: ProgressSnapshot[]): void {
    let unknown = false;
    let speedDelta = 0;
    for (const s of batch) {
      const item = this.#byId.get(s.id);
      if (!item) {
        unknown = true;
        continue;
      }
      const before = item.speed;
      item.applySnapshot(s);
      item.seq = ++this.#seq;
      speedDelta += item.speed - before;
    }
    if (speedDelta !== 0) this.totalSpeed = Math.max(0, this.totalSpeed + speedDelta);
    if (unknown) void this.refresh();
  }

  applyEvent(event: TransferEvent): void {
    const item = this.#byId.get(event.id);
    if (!item) {
      // A transfer this list has not loaded yet (one that started and ended between two loads): the
      // listeners hear of its event once the refresh has brought it in, so no completion is missed.
      void this.refresh().then(() => {
        const known = this.#byId.get(event.id);
        if (known) for (const l of this.#listeners) l(known, event);
      });
      return;
    }
    const before = item.state;
    const speedBefore = item.speed;
    item.applyEvent(event);
    item.seq = ++this.#seq;
    if (before !== item.state) {
      this.counts[before]--;
      this.counts[item.state]++;
    }
    if (item.speed !== speedBefore) this.totalSpeed = Math.max(0, this.totalSpeed + item.speed - speedBefore);
    for (const l of this.#listeners) l(item, event);
  }

  /**
   * Reloads the whole list. Calls that arrive while one is running are folded into one more run.
   * Items changed by a batch or event after the request went out keep their newer values.
   */
  refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#refreshAgain = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      try {
        do {
          this.#refreshAgain = false;
          await this.#load();
        } while (this.#refreshAgain);
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  async #load(): Promise<void> {
    const asked = this.#seq;
    let list: Transfer[];
    try {
      list = await this.#backend.listTransfers();
    } catch (e) {
      this.error = messageOf(e);
      return;
    }
    this.error = null;
    const seen = new Set<string>();
    const next: TransferItem[] = [];
    for (const t of list) {
      seen.add(t.id);
      let item = this.#byId.get(t.id);
      if (!item) {
        item = new TransferItem(t);
        this.#byId.set(t.id, item);
      } else if (item.seq <= asked) {
        item.update(t);
      }
      next.push(item);
    }
    for (const [id, item] of this.#byId) {
      // Gone from the engine's list, unless it changed after we asked (then it is newer than the list).
      if (!seen.has(id) && item.seq <= asked) this.#byId.delete(id);
      else if (!seen.has(id)) next.push(item);
    }
    // Newest first; the engine lists oldest first, so equal timestamps keep the reverse listed order.
    const index = new Map(next.map((item, i) => [item, i]));
    next.sort((a, b) => b.createdAt - a.createdAt || index.get(b)! - index.get(a)!);
    this.items = next;
    this.#recount();
    this.loaded = true;
  }

  #recount(): void {
    const counts = emptyCounts();
    let speed = 0;
    for (const item of this.#byId.values()) {
      counts[item.state]++;
      if (item.state === 'running') speed += item.speed;
    }
    Object.assign(this.counts, counts);
    this.totalSpeed = speed;
  }

  get activeCount(): number {
    return this.counts.queued + this.counts.running + this.counts.waiting_retry;
  }

  get finishedCount(): number {
    return this.counts.completed + this.counts.cancelled;
  }

  // Actions: the backend answers with lifecycle events, which update the items.
  pause(id: string): Promise<void> {
    return this.#backend.pause(id);
  }
  resume(id: string): Promise<void> {
    return this.#backend.resume(id);
  }
  cancel(id: string): Promise<void> {
    return this.#backend.cancel(id);
  }
  retry(id: string): Promise<void> {
    return this.#backend.retry(id);
  }
  pauseAll(): Promise<void> {
    return this.#backend.pauseAll();
  }
  resumeAll(): Promise<void> {
    return this.#backend.resumeAll();
  }
  async clearFinished(): Promise<number> {
    const n = await this.#backend.clearFinished();
    await this.refresh();
    return n;
  }
}

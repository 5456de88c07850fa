// The transfer queue as the UI sees it, never loaded whole: a window of loaded transfers (pages of
// PAGE, at most KEEP of them, around what is on screen) at a position in the queue (newest first), and the
// queue's sums (transfers per state, the total speed, the totals of a sync's transfers) from
// transferSummary. Progress batches and lifecycle events are applied to the one item they name (a Map by
// id), so a batch costs O(changed) however long the queue is. A batch or event for a transfer that is not
// loaded asks for the sums again (coalesced, at most one request per SUMMARY_GAP_MS); an event also asks
// (as rarely) for what is newer than the window: a new transfer is the newest, so it appears at the top,
// and the listeners hear of its event then. The window moves as the list scrolls (show): the next page
// below or above, a jump to either end, or a walk in long pages toward a row far from both.
import { messageOf } from '../backend/errors';
import { fraction } from '../format';
import type {
  Backend, BackendError, ProgressSnapshot, SelectionTotals, Transfer, TransferEvent, TransferPage, TransferState, TransferSummary,
  Unsubscribe,
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
  /** `verified` in the engine's words ("the server's CRC32C"). */
  verifiedWords = $state<string | null>(null);
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
    this.verifiedWords = t.verifiedWords ?? null;
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
    if (e.verifiedWords !== undefined) this.verifiedWords = e.verifiedWords;
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

/** Transfers read per page. */
export const PAGE = 200;
/** The most transfers kept loaded in the window. */
export const KEEP = 1000;
/** A walk toward a row far from what is loaded reads pages this long (the most a page may hold). */
const WALK = 1000;
/** The least time between two requests for the sums, ms. */
export const SUMMARY_GAP_MS = 1000;

/** What a set of transfers (a sync's run) adds up to. */
export interface Tally {
  files: number;
  completed: number;
  failed: number;
  bytesDone: number;
  bytesTotal: number;
  speed: number;
}

/** A page as read, with the store's sequence number when it was asked for. */
type Paged = TransferPage & { asked: number };

/** A row of the list not loaded yet (shown as a placeholder until its page arrives). */
export interface PendingRow {
  readonly id: string;
  readonly pending: true;
}

/** The sums of the transfers of a selection that were not loaded when they were asked for. */
interface SelectionSums {
  covered: Set<string>;
  totals: SelectionTotals;
}

export class TransfersState {
  readonly #backend: Backend;
  readonly #gapMs: number;
  /** The loaded transfers: the window's, and the newest page's while the window is elsewhere. */
  #byId = new Map<string, TransferItem>();
  /** The cursor of each item of the window. */
  #cursors: number[] = [];
  /** The newest page, kept while the window is away from the top (events of new transfers reach it). */
  #head: TransferItem[] = [];
  #seq = 0;
  /** Positions the list shows: [from, to). */
  #wanted = { from: 0, to: PAGE };
  #filling: Promise<void> | null = null;
  #fillAgain = false;
  #summing: Promise<void> | null = null;
  #sumAgain = false;
  #lastSum = -Infinity;
  /** Events counted, and the count changes of known items since (replayed over a summary asked before them). */
  #events = 0;
  #moves: { at: number; from: TransferState; to: TransferState }[] = [];
  #pending = new Map<string, TransferEvent>();
  #catchingUp = false;
  #lastCatchUp = -Infinity;
  #stopped = false;
  #selections = new Map<readonly string[], { sums: SelectionSums | null; asked: boolean; batch: string | null }>();
  #listeners = new Set<(item: TransferItem, event: TransferEvent) => void>();

  /** The loaded window, newest first: items[i] is at position `first` + i of the queue. Replaced, never mutated. */
  items = $state.raw<TransferItem[]>([]);
  first = $state(0);
  /** How many transfers the queue holds (from the sums). */
  total = $state(0);
  /** How many transfers are in each state (from the sums, kept up to date as events arrive). */
  readonly counts = $state(emptyCounts());
  /** The sum of the running transfers' speeds, bytes per second. */
  totalSpeed = $state(0);
  loaded = $state(false);
  error = $state<string | null>(null);
  /** Set when the live updates could not be subscribed to. */
  streamError = $state<string | null>(null);
  #tallies = $state(0);

  constructor(backend: Backend, opts: { summaryGapMs?: number } = {}) {
    this.#backend = backend;
    this.#gapMs = opts.summaryGapMs ?? SUMMARY_GAP_MS;
  }

  /**
   * Subscribes to the progress and lifecycle streams, then loads the first page and the sums. They are
   * loaded even if a subscription fails; `streamError` then says why the queue may not update by itself.
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
    this.#stopped = false;
    await this.refresh();
    return () => {
      this.#stopped = true;
      for (const stop of stops) stop();
    };
  }

  get(id: string): TransferItem | undefined {
    return this.#byId.get(id);
  }

  /** How many transfers are loaded in the window. */
  get size(): number {
    return this.items.length;
  }

  /** How many rows the list has: the whole queue, loaded or not. */
  get count(): number {
    return Math.max(this.total, this.first + this.items.length);
  }

  /** The transfer at `position` of the queue if it is loaded. */
  at(position: number): TransferItem | undefined {
    return this.items[position - this.first];
  }

  /** The row at `position`: its transfer, or a placeholder while its page is on its way. */
  row(position: number): TransferItem | PendingRow {
    return this.at(position) ?? { id: `pending-${position}`, pending: true };
  }

  /** The list shows positions [from, to): the window moves there, page by page. */
  show(from: number, to: number): void {
    if (from === this.#wanted.from && to === this.#wanted.to) return;
    this.#wanted = { from, to: Math.max(from, to) };
    void this.#fill();
  }

  /** Called after each lifecycle event that changed a loaded transfer (e.g. to refresh a listing). */
  onEvent(listener: (item: TransferItem, event: TransferEvent) => void): Unsubscribe {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * The transfers `ids` added up. Read inside a $derived it follows their progress: loaded transfers
   * from their items, the others from the sums (asked for as soon as some are not loaded; until they
   * arrive those count as files with no bytes). When they are one batch (`batch`), the sums are asked
   * for the batch, and cover them all.
   */
  tally(ids: readonly string[], batch?: string | null): Tally {
    void this.items;
    void this.#tallies;
    const t: Tally = { files: ids.length, completed: 0, failed: 0, bytesDone: 0, bytesTotal: 0, speed: 0 };
    let sel = this.#selections.get(ids);
    if (!sel && ids.some((id) => !this.#byId.has(id))) {
      sel = { sums: null, asked: true, batch: batch ?? null };
      this.#selections.set(ids, sel);
      queueMicrotask(() => void this.#sum());
    }
    if (sel) sel.asked = true;
    const sums = sel?.sums;
    if (sums) {
      const c = sums.totals.counts;
      t.completed += c.completed;
      t.failed += c.failed + c.cancelled;
      t.bytesDone += sums.totals.bytesDone;
      t.bytesTotal += sums.totals.bytesTotal;
    }
    for (const id of ids) {
      if (sums?.covered.has(id)) continue;
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

  /** Applies a batch to the transfers it names, and nothing else; others only ask for the sums again. */
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
    if (unknown) void this.#sum();
  }

  applyEvent(event: TransferEvent): void {
    this.#events++;
    const item = this.#byId.get(event.id);
    if (!item) {
      // A transfer not loaded: a new one (the newest, so it belongs at the top), or one further down.
      // The listeners hear of its event once the newest page has brought it in.
      this.#pending.set(event.id, event);
      this.#catchUp();
      return;
    }
    const before = item.state;
    const speedBefore = item.speed;
    item.applyEvent(event);
    item.seq = ++this.#seq;
    if (before !== item.state) {
      this.counts[before] = Math.max(0, this.counts[before] - 1);
      this.counts[item.state]++;
      this.#moves.push({ at: this.#events, from: before, to: item.state });
    }
    if (item.speed !== speedBefore) this.totalSpeed = Math.max(0, this.totalSpeed + item.speed - speedBefore);
    for (const l of this.#listeners) l(item, event);
    void this.#sum();
  }

  /**
   * Reads the sums and the window again (after an action that queued or removed transfers). Calls that
   * arrive while one runs are folded into one more run. Items changed by a batch or event after the
   * request went out keep their newer values.
   */
  async refresh(): Promise<void> {
    await Promise.all([this.#sum(), this.#reload()]);
  }

  get activeCount(): number {
    return this.counts.queued + this.counts.running + this.counts.waiting_retry;
  }

  get finishedCount(): number {
    return this.counts.completed + this.counts.cancelled;
  }

  // ————— the window —————

  /** Reads the window's rows again where they are (from the top when it is at the top). */
  #reload(): Promise<void> {
    if (this.items.length === 0) return this.#fill();
    return this.#fill(async () => {
      const limit = Math.min(WALK, Math.max(PAGE, this.items.length));
      const top = this.first === 0;
      const page = await this.#page({ before: top ? null : this.#cursors[0] + 1, limit });
      if (page) this.#setWindow(page, top ? 0 : this.first);
    });
  }

  /**
   * Moves the window toward the positions shown, one page at a time, until they are loaded (after
   * `first`, a read of its own). Calls during a run fold into it.
   */
  #fill(first?: () => Promise<void>): Promise<void> {
    if (this.#filling) {
      this.#fillAgain = true;
      const running = this.#filling;
      return first ? running.then(() => this.#fill(first)) : running;
    }
    this.#filling = (async () => {
      try {
        if (first) await first();
        do {
          this.#fillAgain = false;
          for (let steps = 0; steps < 200 && !this.#stopped; steps++) {
            if (!(await this.#step())) break;
          }
        } while (this.#fillAgain && !this.#stopped);
      } finally {
        this.#filling = null;
      }
    })();
    return this.#filling;
  }

  /** One page toward the positions shown; false once they are loaded (or nothing more can be). */
  async #step(): Promise<boolean> {
    const { from, to } = this.#wanted;
    const len = this.items.length;
    const s = this.first;
    const e = s + len;
    const total = this.total;
    if (len === 0) {
      if (this.loaded && total === 0) return false;
      const fromEnd = this.loaded && total > 0 && total - from < from;
      const page = await this.#page(fromEnd ? { after: 0, limit: PAGE } : { before: null, limit: PAGE });
      if (!page) return false;
      this.#setWindow(page, fromEnd ? Math.max(0, total - page.items.length) : 0);
      return page.items.length > 0;
    }
    if (to > e && e < total) {
      if (total - from < from - e) {
        // Nearer the end than what is loaded: the oldest page, then up from there.
        const page = await this.#page({ after: 0, limit: PAGE });
        if (!page) return false;
        this.#setWindow(page, Math.max(0, total - page.items.length));
        return page.items.length > 0;
      }
      const limit = from - e > PAGE ? WALK : PAGE;
      const page = await this.#page({ before: this.#cursors[len - 1], limit });
      if (!page) return false;
      if (page.items.length < limit) this.total = e + page.items.length - (this.first - s);
      this.#extend(page, 'below');
      return page.items.length > 0;
    }
    if (from < s) {
      if (to * 2 <= s) {
        const page = await this.#page({ before: null, limit: PAGE });
        if (!page) return false;
        this.#setWindow(page, 0);
        return page.items.length > 0;
      }
      const limit = s - to > PAGE ? WALK : PAGE;
      const page = await this.#page({ after: this.#cursors[0], limit });
      if (!page) return false;
      this.#extend(page, 'above');
      // Nothing more above: this is the top, whatever the positions said.
      if (page.items.length < limit && this.first !== 0) this.first = 0;
      return page.items.length > 0;
    }
    return false;
  }

  /** A page, with the store's sequence number when it was asked for (changes after it are newer). */
  async #page(request: { before?: number | null; after?: number | null; limit: number }): Promise<Paged | null> {
    const asked = this.#seq;
    try {
      const page = await this.#backend.listTransfersPage(request);
      this.error = null;
      return { ...page, asked };
    } catch (e) {
      this.error = messageOf(e);
      return null;
    }
  }

  /** The item for a listed transfer: the loaded one brought up to date (unless changed since `asked`), or a new one. */
  #item(t: Transfer, asked: number): TransferItem {
    const known = this.#byId.get(t.id);
    if (!known) return new TransferItem(t);
    if (known.seq <= asked) known.update(t);
    return known;
  }

  #setWindow({ items: list, cursors, asked }: Paged, start: number): void {
    this.items = list.map((t) => this.#item(t, asked));
    this.#cursors = cursors;
    this.first = start;
    if (start === 0) this.#head = [];
    this.loaded = true;
    this.#index();
  }

  #extend({ items: list, cursors, asked }: Paged, where: 'above' | 'below'): void {
    const added = list.map((t) => this.#item(t, asked));
    let items = where === 'below' ? [...this.items, ...added] : [...added, ...this.items];
    let marks = where === 'below' ? [...this.#cursors, ...cursors] : [...cursors, ...this.#cursors];
    let start = where === 'below' ? this.first : Math.max(0, this.first - added.length);
    const over = items.length - KEEP;
    if (over > 0 && where === 'below') {
      items = items.slice(over);
      marks = marks.slice(over);
      start += over;
    } else if (over > 0) {
      items = items.slice(0, KEEP);
      marks = marks.slice(0, KEEP);
    }
    this.items = items;
    this.#cursors = marks;
    this.first = start;
    this.#index();
  }

  /** The Map holds the window and the newest page, nothing else. */
  #index(): void {
    const byId = new Map<string, TransferItem>();
    for (const item of this.#head) byId.set(item.id, item);
    for (const item of this.items) byId.set(item.id, item);
    this.#byId = byId;
  }

  /**
   * Events named transfers not loaded: reads what is newer than the window's top (the window at the
   * top takes it in; elsewhere the newest page is kept aside, and the sums move the window's positions
   * down by the transfers added), then tells the listeners of the events whose transfers it brought.
   */
  #catchUp(): void {
    if (this.#catchingUp) return;
    this.#catchingUp = true;
    queueMicrotask(() => {
      void (async () => {
        try {
          // At most one catch-up per gap: a long job's events (mostly for transfers further down) come
          // in bursts many times a second.
          const wait = this.#lastCatchUp + this.#gapMs - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          this.#lastCatchUp = Date.now();
          void this.#sum();
          await this.#fill(async () => {
            const top = this.first === 0 || this.items.length === 0;
            if (top && this.items.length > 0) {
              const page = await this.#page({ after: this.#cursors[0], limit: PAGE });
              if (page && page.items.length === PAGE) {
                const head = await this.#page({ before: null, limit: PAGE });
                if (head) this.#setWindow(head, 0);
              } else if (page) this.#extend(page, 'above');
            } else if (!top) {
              const head = await this.#page({ before: null, limit: PAGE });
              if (head) {
                this.#head = head.items.map((t) => this.#item(t, head.asked));
                this.#index();
              }
            } else {
              const head = await this.#page({ before: null, limit: PAGE });
              if (head) this.#setWindow(head, 0);
            }
          });
        } finally {
          this.#catchingUp = false;
        }
        const pending = [...this.#pending];
        this.#pending.clear();
        for (const [id, event] of pending) {
          const item = this.#byId.get(id);
          if (item) for (const l of this.#listeners) l(item, event);
        }
      })();
    });
  }

  // ————— the sums —————

  /** Asks for the sums (and those of the selections shown), at most one request per gap; calls meanwhile fold into one more. */
  #sum(): Promise<void> {
    if (this.#summing) {
      this.#sumAgain = true;
      return this.#summing;
    }
    this.#summing = (async () => {
      try {
        do {
          this.#sumAgain = false;
          const wait = this.#lastSum + this.#gapMs - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          if (this.#stopped) break;
          this.#lastSum = Date.now();
          await this.#loadSums();
        } while (this.#sumAgain && !this.#stopped);
      } finally {
        this.#summing = null;
      }
    })();
    return this.#summing;
  }

  async #loadSums(): Promise<void> {
    const asked = this.#events;
    let summary: TransferSummary;
    try {
      summary = await this.#backend.transferSummary();
    } catch (e) {
      this.error = messageOf(e);
      return;
    }
    // The sums as of the request, with the changes seen since replayed over them.
    const counts: Record<TransferState, number> = { ...summary.counts };
    this.#moves = this.#moves.filter((m) => m.at > asked);
    for (const m of this.#moves) {
      counts[m.from] = Math.max(0, counts[m.from] - 1);
      counts[m.to]++;
    }
    Object.assign(this.counts, counts);
    // Transfers are added only at the top: a window below it moves down by as many (and up when
    // another process cleared some, as near as can be told).
    if (this.first > 0) this.first = Math.max(0, this.first + summary.total - this.total);
    this.total = summary.total;
    this.totalSpeed = summary.speed;
    this.loaded = true;

    for (const [ids, sel] of [...this.#selections]) {
      if (!sel.asked) {
        this.#selections.delete(ids);
        continue;
      }
      sel.asked = false;
      const missing = sel.batch ? ids : ids.filter((id) => !this.#byId.has(id));
      try {
        const s = missing.length === 0 ? null : await this.#backend.transferSummary(sel.batch ? { batch: sel.batch } : { ids: [...missing] });
        sel.sums = s?.selection ? { covered: new Set(missing), totals: s.selection } : null;
      } catch (e) {
        this.error = messageOf(e);
      }
    }
    if (this.#selections.size > 0) this.#tallies++;
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
  /** Removes finished transfers; the window is read again from where the list is. */
  async clearFinished(): Promise<number> {
    const n = await this.#backend.clearFinished();
    await this.#sum();
    await this.#fill(async () => {
      this.items = [];
      this.#cursors = [];
      this.#head = [];
      this.first = 0;
      this.#index();
    });
    return n;
  }
}

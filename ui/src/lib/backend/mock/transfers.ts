// Transfers in the mock, with the engine's rules as the Tauri shell exposes them: uploads and downloads
// queue, then run oldest first under the concurrency limit and the bandwidth limit, one virtual-clock
// tick at a time; pause keeps the bytes done; resume and retry (one command in the shell) queue a
// paused, failed or waiting transfer again and leave a queued or running one alone; cancel and
// completion are final. An upload that completes lands in its bucket. Pages read the queue newest first
// by cursor (an id's number), like list_transfers_page; a long history (addHistory) is made row by row
// as pages read it, so 100,000 finished transfers cost no memory until they are touched.
import { baseName } from '../../browse/paths';
import { backendError } from '../errors';
import type {
  BackendError, Enqueued, PageRequest, ProgressSnapshot, SelectionTotals, StateCounts, SummarySelection, Transfer, TransferPage,
  TransferState, TransferSummary,
} from '../types';
import { idOf, isTerminal, MIB, seqOf, short, sizeFromName, verifiedWords, type MockTransfer, type World } from './world';

/** The most rows a page may ask for, as in the engine. */
const MAX_PAGE = 1000;

/** Rows of one state made on demand: ids numbered first…first+count-1, named file-…-NNNNN.bin. */
interface History {
  first: number;
  count: number;
  state: TransferState;
  bucket: string;
  createdAt: number;
  /** The rows touched: they live in the Map from then on (or are gone, once cleared). */
  taken: Set<number>;
}

export function emptyCounts(): StateCounts {
  return { queued: 0, running: 0, paused: 0, waiting_retry: 0, completed: 0, failed: 0, cancelled: 0 };
}

export class MockTransfers {
  /** Bytes per second of each running transfer. */
  speed = 6 * MIB;
  readonly #w: World;
  #queue: string[] = [];
  #running = new Set<string>();
  #failNext: BackendError | null = null;
  #history: History[] = [];

  constructor(w: World) {
    this.#w = w;
  }

  /** The next transfer to start fails halfway with this error. */
  failNext(error: BackendError): void {
    this.#failNext = error;
  }

  upload(account: string, bucket: string, prefix: string, paths: string[]): Enqueued {
    this.#w.bucket(account, bucket);
    const result: Enqueued = { ids: [], resumed: 0, skipped: [] };
    const created: MockTransfer[] = [];
    for (const path of paths) {
      const name = baseName(path);
      if (name === '') {
        result.skipped.push({ what: path, reason: 'not a file' });
        continue;
      }
      const key = prefix + name;
      const unfinished = [...this.#w.transfers.values()].find(
        (t) => t.direction === 'upload' && t.localPath === path && t.bucket === bucket && t.key === key &&
          t.account === account && !isTerminal(t.state),
      );
      if (unfinished) {
        result.ids.push(unfinished.id);
        result.resumed++;
        if (unfinished.state === 'paused' || unfinished.state === 'failed') this.#requeue(unfinished);
        continue;
      }
      const t = this.#create('upload', account, bucket, key, path, this.#w.fileSize(path));
      this.#queue.push(t.id);
      created.push(t);
      result.ids.push(t.id);
    }
    for (const t of created) this.#w.emitEvent(t);
    return result;
  }

  /** Queues one upload of `path` to `key` and announces it (the watched folders' way in). */
  uploadOne(account: string, bucket: string, key: string, path: string): MockTransfer {
    const t = this.#create('upload', account, bucket, key, path, this.#w.fileSize(path));
    this.#queue.push(t.id);
    this.#w.emitEvent(t);
    return t;
  }

  download(account: string, bucket: string, keys: string[], prefixes: string[], destDir: string): Enqueued {
    const objects = this.#w.bucket(account, bucket);
    const result: Enqueued = { ids: [], resumed: 0, skipped: [] };
    const wanted: [string, string][] = [];
    for (const key of keys) {
      if (!objects.has(key)) result.skipped.push({ what: key, reason: 'no such object' });
      else wanted.push([key, baseName(key)]);
    }
    for (const p of prefixes) {
      const parent = p.slice(0, p.slice(0, -1).lastIndexOf('/') + 1);
      for (const key of objects.keys()) if (key.startsWith(p) && !key.endsWith('/')) wanted.push([key, key.slice(parent.length)]);
    }
    const dir = destDir.replace(/[/\\]+$/, '');
    const created = wanted.map(([key, rel]) => {
      const t = this.#create('download', account, bucket, key, `${dir}/${rel}`, objects.get(key)!.size);
      this.#queue.push(t.id);
      result.ids.push(t.id);
      return t;
    });
    for (const t of created) this.#w.emitEvent(t);
    return result;
  }

  /** One version of `key` (of `size` bytes) into `destDir` under its name, as download_version queues it. */
  downloadVersion(account: string, bucket: string, key: string, versionId: string, size: number, destDir: string): Enqueued {
    const t = this.#create('download', account, bucket, key, `${destDir.replace(/[/\\]+$/, '')}/${baseName(key)}`, size);
    t.versionId = versionId;
    this.#queue.push(t.id);
    this.#w.emitEvent(t);
    return { ids: [t.id], resumed: 0, skipped: [] };
  }

  /**
   * Adds `count` transfers at once (as if a big folder had been dropped), named file-00001.bin…, in the
   * given state, and announces each with a lifecycle event. Returns their ids.
   */
  addMany(count: number, state: TransferState, bucket: string): string[] {
    const created: MockTransfer[] = [];
    const width = Math.max(5, String(count).length);
    for (let i = 1; i <= count; i++) {
      const name = `file-${String(i).padStart(width, '0')}.bin`;
      const size = sizeFromName(name);
      const t = this.#create('upload', 'local', bucket, `bulk/${name}`, `/home/you/bulk/${name}`, size);
      t.state = state;
      if (state === 'completed') {
        t.bytesDone = size;
        t.finishedAt = this.#w.now();
      }
      if (state === 'queued') this.#queue.push(t.id);
      created.push(t);
    }
    for (const t of created) this.#w.emitEvent(t);
    return created.map((t) => t.id);
  }

  /**
   * Adds `count` finished (or paused) transfers at once, as a long history, made only when read:
   * named history-00001.bin…, oldest first. Transfers that would run belong in addMany.
   */
  addHistory(count: number, state: TransferState, bucket: string): void {
    if (state === 'queued' || state === 'running' || state === 'waiting_retry') {
      throw new Error('a history holds transfers that do not run; use addTransfers for those that do');
    }
    const first = this.#w.reserveIds(count);
    this.#history.push({ first, count, state, bucket, createdAt: this.#w.now(), taken: new Set() });
  }

  /** Every transfer, oldest first (a test helper: the UI reads pages). */
  list(): Transfer[] {
    const all: MockTransfer[] = [...this.#w.transfers.values()];
    for (const h of this.#history) {
      for (let n = h.first; n < h.first + h.count; n++) if (!h.taken.has(n)) all.push(this.#made(h, n));
    }
    return all.sort((a, b) => seqOf(a.id) - seqOf(b.id)).map(publicTransfer);
  }

  /** One page newest first, as list_transfers_page reads it (the same refusals). */
  page(r: PageRequest): TransferPage {
    if (!(r.limit >= 1 && r.limit <= MAX_PAGE)) {
      throw backendError('invalid_input', `a page holds 1 to ${MAX_PAGE} transfers, not ${r.limit}; ask for fewer`);
    }
    if (r.before != null && r.after != null) {
      throw backendError('invalid_input', 'a page is read either before a transfer or after one, not both; give one cursor');
    }
    const up = r.after != null;
    const bound = r.after ?? r.before ?? Infinity;
    const beyond = (n: number) => (up ? n > bound : n < bound);
    const wanted = (t: { state: TransferState }) => r.state == null || t.state === r.state;
    const rows: MockTransfer[] = [...this.#w.transfers.values()].filter((t) => beyond(seqOf(t.id)) && wanted(t));
    for (const h of this.#history) {
      if (!wanted(h)) continue;
      const last = h.first + h.count - 1;
      let taken = 0;
      for (let n = up ? Math.max(h.first, bound + 1) : Math.min(last, bound - 1); n >= h.first && n <= last && taken < r.limit; n += up ? 1 : -1) {
        if (h.taken.has(n)) continue;
        rows.push(this.#made(h, n));
        taken++;
      }
    }
    rows.sort((a, b) => (up ? seqOf(a.id) - seqOf(b.id) : seqOf(b.id) - seqOf(a.id)));
    const page = rows.slice(0, r.limit);
    if (up) page.reverse();
    return { items: page.map(publicTransfer), cursors: page.map((t) => seqOf(t.id)) };
  }

  /** The queue summed up, as transfer_summary does (a batch is the engine's alone: refused here). */
  summary(selection?: SummarySelection): TransferSummary {
    const counts = emptyCounts();
    let activeBytesDone = 0;
    let activeBytesTotal = 0;
    let speed = 0;
    for (const t of this.#w.transfers.values()) {
      counts[t.state]++;
      if (t.state === 'queued' || t.state === 'running' || t.state === 'waiting_retry') {
        activeBytesDone += t.bytesDone;
        activeBytesTotal += t.bytesTotal;
      }
      if (t.state === 'running') speed += t.speed;
    }
    for (const h of this.#history) counts[h.state] += h.count - h.taken.size;
    let chosen: SelectionTotals | null = null;
    if (selection && 'batch' in selection) throw backendError('invalid_input', 'the mock keeps no batches; give ids');
    if (selection) {
      chosen = { counts: emptyCounts(), bytesDone: 0, bytesTotal: 0 };
      for (const id of selection.ids) {
        const t = this.#w.transfers.get(id) ?? this.#historyRow(id);
        if (!t) continue;
        chosen.counts[t.state]++;
        chosen.bytesDone += Math.min(t.bytesDone, t.bytesTotal);
        chosen.bytesTotal += t.bytesTotal;
      }
    }
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    return { counts, total, activeBytesDone, activeBytesTotal, speed, selection: chosen };
  }

  pause(id: string): void {
    this.#pause(this.#find(id));
  }

  /** The shell's resume, and its retry too (the same command there). */
  resume(id: string): void {
    const t = this.#find(id);
    if (isTerminal(t.state)) throw backendError('invalid_input', `transfer ${short(id)} is ${t.state}; there is nothing to resume`);
    if (t.state === 'paused' || t.state === 'failed' || t.state === 'waiting_retry') this.#requeue(t);
  }

  cancel(id: string): void {
    const t = this.#find(id);
    if (t.state === 'completed') {
      throw backendError('invalid_input', `transfer ${short(id)} already completed; delete the object or file instead`);
    }
    if (t.state === 'cancelled') return;
    this.#running.delete(t.id);
    t.state = 'cancelled';
    t.speed = 0;
    t.finishedAt = this.#w.now();
    this.#w.emitEvent(t);
  }

  pauseAll(): void {
    for (const t of this.#w.transfers.values()) {
      if (t.state === 'queued' || t.state === 'running' || t.state === 'waiting_retry') this.#pause(t);
    }
  }

  resumeAll(): void {
    for (const h of this.#history) {
      if (h.state !== 'paused' && h.state !== 'failed') continue;
      for (let n = h.first; n < h.first + h.count; n++) if (!h.taken.has(n)) this.#find(idOf(n, 'mock'));
    }
    for (const t of this.#w.transfers.values()) if (t.state === 'paused' || t.state === 'failed') this.#requeue(t);
  }

  clearFinished(): number {
    let n = 0;
    for (const h of this.#history.filter((h) => isTerminal(h.state))) n += h.count - h.taken.size;
    this.#history = this.#history.filter((h) => !isTerminal(h.state));
    for (const t of [...this.#w.transfers.values()]) {
      if (isTerminal(t.state)) {
        this.#w.transfers.delete(t.id);
        n++;
      }
    }
    return n;
  }

  /** One step of the clock: admit queued transfers, move the running ones on, finish those at the end. */
  tick(ms: number): void {
    const w = this.#w;
    while (this.#running.size < w.settings.concurrentTransfers && this.#queue.length > 0) {
      const t = w.transfers.get(this.#queue.shift()!);
      if (!t || t.state !== 'queued') continue;
      t.state = 'running';
      if (this.#failNext) {
        t.failAt = Math.floor(t.bytesTotal / 2);
        t.failWith = this.#failNext;
        this.#failNext = null;
      }
      this.#running.add(t.id);
      w.emitEvent(t);
    }
    if (this.#running.size === 0) return;

    const limit = w.settings.bandwidthLimitMibps;
    const perTransfer = limit ? Math.min(this.speed, (limit * MIB) / this.#running.size) : this.speed;
    const step = Math.max(1, Math.round((perTransfer * ms) / 1000));
    const batch: ProgressSnapshot[] = [];
    const finished: MockTransfer[] = [];
    for (const id of this.#running) {
      const t = w.transfers.get(id)!;
      t.bytesDone = Math.min(t.bytesTotal, t.bytesDone + step);
      t.speed = perTransfer;
      if (t.failAt !== null && t.bytesDone >= t.failAt) t.bytesDone = t.failAt;
      const ended = t.bytesDone === t.failAt || t.bytesDone >= t.bytesTotal;
      if (ended) finished.push(t);
      batch.push({
        id: t.id,
        bytesDone: t.bytesDone,
        bytesTotal: t.bytesTotal,
        // The mock keeps every byte as it goes: nothing is on its way unkept.
        bytesSending: 0,
        speed: t.speed,
        etaSecs: Math.ceil((t.bytesTotal - t.bytesDone) / t.speed),
        ended,
      });
    }
    for (const h of w.progressHandlers) h(batch);

    for (const t of finished) {
      this.#running.delete(t.id);
      t.speed = 0;
      t.finishedAt = w.now();
      if (t.failAt !== null && t.failWith) {
        t.state = 'failed';
        t.error = t.failWith;
        t.failAt = null;
        t.failWith = null;
      } else {
        t.state = 'completed';
        if (t.direction === 'upload') {
          w.store.get(t.account)?.get(t.bucket)?.set(t.key, {
            key: t.key,
            size: t.bytesTotal,
            lastModified: Math.floor(w.now() / 1000),
            etag: `"${t.id}"`,
          });
        } else {
          // Like the engine: a finished download says what it was checked against.
          t.verified = 'CRC32C';
        }
      }
      w.emitEvent(t);
      for (const hook of w.finishedHooks) hook(t);
    }
  }

  #pause(t: MockTransfer): void {
    if (isTerminal(t.state)) {
      throw backendError('invalid_input', `transfer ${short(t.id)} is already ${t.state}`);
    }
    if (t.state === 'paused') return;
    this.#running.delete(t.id);
    t.state = 'paused';
    t.speed = 0;
    this.#w.emitEvent(t);
  }

  #requeue(t: MockTransfer): void {
    this.#running.delete(t.id);
    t.state = 'queued';
    t.error = null;
    t.finishedAt = null;
    t.speed = 0;
    this.#queue.push(t.id);
    this.#w.emitEvent(t);
  }

  /** A new transfer in the list, neither in the queue nor announced yet. */
  #create(direction: Transfer['direction'], account: string, bucket: string, key: string, localPath: string, size: number): MockTransfer {
    const t: MockTransfer = {
      id: this.#w.newId('mock'), direction, state: 'queued', account, bucket, key, localPath,
      name: baseName(direction === 'upload' ? localPath : key),
      bytesDone: 0, bytesTotal: size, error: null, createdAt: this.#w.now(), finishedAt: null,
      verified: null, speed: 0, failAt: null, failWith: null,
    };
    this.#w.transfers.set(t.id, t);
    return t;
  }

  #find(id: string): MockTransfer {
    let t = this.#w.transfers.get(id);
    if (!t) {
      // A history row touched for the first time lives in the Map from now on.
      t = this.#historyRow(id);
      if (t) {
        this.#w.transfers.set(id, t);
        this.#history.find((h) => this.#holds(h, seqOf(id)))!.taken.add(seqOf(id));
      }
    }
    if (!t) throw backendError('not_found', `there is no transfer ${short(id)}`);
    return t;
  }

  #holds(h: History, n: number): boolean {
    return n >= h.first && n < h.first + h.count;
  }

  /** The history row with this id, made afresh (not one in the Map). */
  #historyRow(id: string): MockTransfer | undefined {
    if (!id.endsWith('-mock')) return undefined;
    const n = seqOf(id);
    const h = this.#history.find((h) => this.#holds(h, n));
    return h && !h.taken.has(n) ? this.#made(h, n) : undefined;
  }

  #made(h: History, n: number): MockTransfer {
    const name = `history-${String(n - h.first + 1).padStart(5, '0')}.bin`;
    const size = sizeFromName(name);
    const done = h.state === 'completed' ? size : 0;
    const ended = h.state === 'completed' || h.state === 'cancelled' ? h.createdAt : null;
    return {
      id: idOf(n, 'mock'), direction: 'upload', state: h.state, account: 'local', bucket: h.bucket, key: `history/${name}`,
      localPath: `/home/you/history/${name}`, name, bytesDone: done, bytesTotal: size, error: null, createdAt: h.createdAt,
      finishedAt: ended, verified: null, speed: 0, failAt: null, failWith: null,
    };
  }
}

/** A transfer as the engine lists it (without the mock's own fields). */
export function publicTransfer(t: MockTransfer): Transfer {
  return {
    id: t.id, direction: t.direction, state: t.state, account: t.account, bucket: t.bucket, key: t.key,
    localPath: t.localPath, name: t.name, bytesDone: t.bytesDone, bytesTotal: t.bytesTotal,
    error: t.error ? { ...t.error } : null, createdAt: t.createdAt, finishedAt: t.finishedAt,
    verified: t.verified,
    ...(t.verified ? { verifiedWords: verifiedWords(t.verified) } : {}),
    ...(t.versionId ? { versionId: t.versionId } : {}),
  };
}

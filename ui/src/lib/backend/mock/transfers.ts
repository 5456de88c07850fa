// Transfers in the mock, with the engine's rules as the Tauri shell exposes them: uploads and downloads
// queue, then run oldest first under the concurrency limit and the bandwidth limit, one virtual-clock
// tick at a time; pause keeps the bytes done; resume and retry (one command in the shell) queue a
// paused, failed or waiting transfer again and leave a queued or running one alone; cancel and
// completion are final. An upload that completes lands in its bucket.
import { baseName } from '../../browse/paths';
import { backendError } from '../errors';
import type { BackendError, Enqueued, ProgressSnapshot, Transfer, TransferState } from '../types';
import { isTerminal, MIB, short, sizeFromName, type MockTransfer, type World } from './world';

export class MockTransfers {
  /** Bytes per second of each running transfer. */
  speed = 6 * MIB;
  readonly #w: World;
  #queue: string[] = [];
  #running = new Set<string>();
  #failNext: BackendError | null = null;

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

  list(): Transfer[] {
    return [...this.#w.transfers.values()].map(publicTransfer);
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
    for (const t of this.#w.transfers.values()) if (t.state === 'paused' || t.state === 'failed') this.#requeue(t);
  }

  clearFinished(): number {
    let n = 0;
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
    const t = this.#w.transfers.get(id);
    if (!t) throw backendError('not_found', `there is no transfer ${short(id)}`);
    return t;
  }
}

/** A transfer as the engine lists it (without the mock's own fields). */
export function publicTransfer(t: MockTransfer): Transfer {
  return {
    id: t.id, direction: t.direction, state: t.state, account: t.account, bucket: t.bucket, key: t.key,
    localPath: t.localPath, name: t.name, bytesDone: t.bytesDone, bytesTotal: t.bytesTotal,
    error: t.error ? { ...t.error } : null, createdAt: t.createdAt, finishedAt: t.finishedAt,
    verified: t.verified,
    ...(t.versionId ? { versionId: t.versionId } : {}),
  };
}

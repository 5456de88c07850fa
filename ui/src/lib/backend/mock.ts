// An in-memory Backend that behaves like the engine behind the Tauri shell, for the browser tests and
// for working on the UI without Rust. Transfers move queued → running → completed on a virtual clock
// (one tick per 100 ms of real time unless held), with the engine's pause/resume/cancel/retry rules.
// Watched folders catch up for a few ticks after being added or resumed, then watch; a file that
// appears in one (watchedFileAppears) is uploaded through the same queue and then listed as recent.
// Tests drive it through `window.__ferryMock` (see index.ts); its public fields and methods below that
// are not part of Backend are the test helpers.
import { baseName, bucketNameProblem } from '../browse/paths';
import { DEFAULT_SETTINGS } from '../settings/form';
import { isAbsolutePath, normalizePrefix } from '../watch/form';
import { isIgnored } from '../watch/patterns';
import { backendError } from './errors';
import type {
  Account, Backend, BackendError, DragDropEvent, Enqueued, Link, Listing, NewAccount, NewWatchedFolder,
  ObjectInfo, ProgressSnapshot, Settings, Transfer, TransferEvent, TransferState, Unsubscribe, WatchedFolder,
} from './types';

const MIB = 1024 * 1024;
const TICK_MS = 100;
/** Ticks a watched folder spends catching up after it is added or resumed. */
const CATCH_UP_TICKS = 3;
/** How many recent uploads a watched folder keeps, as the engine does. */
const RECENT_UPLOADS = 20;

interface MockTransfer extends Transfer {
  speed: number;
  /** Bytes at which this transfer fails (set by failNext). */
  failAt: number | null;
  failWith: BackendError | null;
}

interface MockWatched extends WatchedFolder {
  /** Ticks left until a catching-up folder is watching. */
  catchUpLeft: number;
  /** Files that appeared while paused or stopped, uploaded when it resumes. */
  waiting: string[];
}

export interface MockOptions {
  /** Advance the clock by itself every 100 ms (the app); tests of the mock call advance() instead. */
  autoTick?: boolean;
  /** Wall-clock time in unix ms, for deterministic dates in tests. */
  now?: () => number;
}

/** A deterministic size for a file the mock has not been told about: 4–132 MiB, from its name. */
export function sizeFromName(path: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) {
    h ^= path.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return 4 * MIB + (h % 128) * MIB + (h % 4096);
}

type Method = {
  [K in keyof Backend]: Backend[K] extends (...args: never[]) => unknown ? K : never;
}[keyof Backend];

export class MockBackend implements Backend {
  /** The last text given to copyText. */
  clipboard: string | null = null;
  /** When false, saving a secret in the keychain fails like on a Linux box without a secret service. */
  keychainAvailable = true;
  /** Bytes per second of each running transfer. */
  speed = 6 * MIB;
  /** What the next pickFiles / pickFolder return (null = the person cancelled). */
  nextPickedFiles: string[] | null = ['/home/you/Pictures/harbour.jpg', '/home/you/Documents/notes.md'];
  nextPickedFolder: string | null = '/home/you/Downloads';
  /** Folders that addWatched reports as not existing. */
  readonly missingFolders = new Set<string>();

  readonly #now: () => number;
  #accounts: Account[] = [];
  /** account → bucket → key → object */
  #store = new Map<string, Map<string, Map<string, ObjectInfo>>>();
  #transfers = new Map<string, MockTransfer>();
  #queue: string[] = [];
  #running = new Set<string>();
  #settings: Settings = { ...DEFAULT_SETTINGS };
  #localFiles = new Map<string, number>();
  #progressHandlers = new Set<(batch: ProgressSnapshot[]) => void>();
  #eventHandlers = new Set<(event: TransferEvent) => void>();
  #dragHandlers = new Set<(event: DragDropEvent) => void>();
  #watched = new Map<string, MockWatched>();
  /** Upload transfer id → the watched folder it came from. */
  #watchedUploads = new Map<string, string>();
  #watchHandlers = new Set<(folder: WatchedFolder) => void>();
  #failCalls = new Map<string, BackendError>();
  #failNextTransfer: BackendError | null = null;
  #heldDrop: string[] | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #clockHeld = false;
  #nextId = 1;

  constructor(opts: MockOptions = {}) {
    this.#now = opts.now ?? (() => Date.now());
    this.#seed();
    if (opts.autoTick) this.#timer = setInterval(() => this.#clockHeld || this.advance(TICK_MS), TICK_MS);
  }

  // ————— test helpers —————

  /** Moves the virtual clock on, one 100 ms tick at a time, emitting a progress batch per tick. */
  advance(ms: number): void {
    for (let t = 0; t < ms; t += TICK_MS) this.#tick(Math.min(TICK_MS, ms - t));
  }
  /** Stops the automatic clock (screenshots, exact assertions); releaseClock() starts it again. */
  holdClock(): void {
    this.#clockHeld = true;
  }
  releaseClock(): void {
    this.#clockHeld = false;
  }
  setSpeed(bytesPerSec: number): void {
    this.speed = Math.max(1, bytesPerSec);
  }
  /** Gives a local file a size; other paths get one derived from their name. */
  addLocalFile(path: string, size: number): void {
    this.#localFiles.set(path, size);
  }
  /** The next transfer to start fails halfway with this error. */
  failNext(kind: BackendError['kind'], message: string): void {
    this.#failNextTransfer = backendError(kind, message);
  }
  /** The next call of this Backend method rejects with {kind, message}. */
  failCall(method: Method, kind: BackendError['kind'], message: string): void {
    this.#failCalls.set(method, backendError(kind, message));
  }
  /** A whole drag over the window: enter, over, then drop (after holdMs, or when finishDrop() is called). */
  async dropFiles(paths: string[], opts: { hold?: boolean; holdMs?: number } = {}): Promise<void> {
    this.dragEnter(paths);
    this.#emitDrag({ type: 'over' });
    if (opts.hold) {
      this.#heldDrop = paths;
      return;
    }
    await new Promise((r) => setTimeout(r, opts.holdMs ?? 250));
    this.#emitDrag({ type: 'drop', paths });
  }
  /** Releases a drop started with dropFiles(paths, {hold: true}). */
  finishDrop(): void {
    const paths = this.#heldDrop;
    this.#heldDrop = null;
    if (paths) this.#emitDrag({ type: 'drop', paths });
  }
  dragEnter(paths: string[]): void {
    this.#emitDrag({ type: 'enter', paths });
  }
  dragLeave(): void {
    this.#heldDrop = null;
    this.#emitDrag({ type: 'leave' });
  }
  /**
   * Adds `count` transfers at once (as if a big folder had been dropped), named file-00001.bin…, in the
   * given state, and announces each with a lifecycle event. Returns their ids.
   */
  addTransfers(count: number, state: TransferState = 'queued', opts: { bucket?: string } = {}): string[] {
    const ids: string[] = [];
    const width = Math.max(5, String(count).length);
    for (let i = 1; i <= count; i++) {
      const name = `file-${String(i).padStart(width, '0')}.bin`;
      const size = sizeFromName(name);
      const t = this.#newTransfer('upload', 'local', opts.bucket ?? 'ferry', `bulk/${name}`, `/home/you/bulk/${name}`, size);
      t.state = state;
      if (state === 'completed') {
        t.bytesDone = size;
        t.finishedAt = this.#now();
      }
      if (state === 'queued') this.#queue.push(t.id);
      ids.push(t.id);
    }
    for (const id of ids) this.#emitEvent(this.#transfers.get(id)!);
    return ids;
  }
  /** A copy of every transfer as the engine would list it, with its current speed. */
  transferList(): (Transfer & { speed: number })[] {
    return [...this.#transfers.values()].map((t) => ({ ...this.#public(t), speed: t.speed }));
  }
  /**
   * A file appears (or changes) at `path`. Every watched folder that contains it and does not ignore it
   * uploads it through the queue (a paused or stopped folder when it resumes). Returns how many will.
   */
  watchedFileAppears(path: string, size?: number): number {
    if (size !== undefined) this.addLocalFile(path, size);
    let n = 0;
    for (const f of this.#watched.values()) {
      const rel = relativeTo(f.path, path);
      if (rel === null || isIgnored(rel, f.ignore)) continue;
      n++;
      if (f.state === 'paused' || f.state === 'error') f.waiting.push(path);
      else this.#uploadWatched(f, path);
    }
    return n;
  }
  /** A file in watched folders is deleted: those that mirror deletions (and are not paused) delete its object. Returns how many did. */
  watchedFileDeleted(path: string): number {
    let n = 0;
    for (const f of this.#watched.values()) {
      const rel = relativeTo(f.path, path);
      if (rel === null || !f.mirrorDeletes || f.state === 'paused' || f.state === 'error' || isIgnored(rel, f.ignore)) continue;
      if (this.#store.get(f.account)?.get(f.bucket)?.delete(f.prefix + rel)) n++;
    }
    return n;
  }
  /** The watched folder stops with this reason, as when its folder vanishes or the bucket refuses writes. */
  failWatched(id: string, reason: string): void {
    const f = this.#findWatched(id);
    f.state = 'error';
    f.error = reason;
    this.#emitWatched(f);
  }

  /** Stops the automatic clock for good. */
  dispose(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  // ————— accounts —————

  async listAccounts(): Promise<Account[]> {
    await this.#gate('listAccounts');
    return this.#accounts.map((a) => ({ ...a }));
  }

  async addAccount(account: NewAccount): Promise<Account> {
    await this.#gate('addAccount');
    this.#checkNewAccount(account);
    if (this.#accounts.some((a) => a.name === account.name)) {
      throw backendError('already_exists', `an account named "${account.name}" already exists`);
    }
    if (!account.sessionOnly && !this.keychainAvailable) {
      throw backendError(
        'keychain_unavailable',
        'no system keychain is available (the Secret Service did not answer on D-Bus), so the secret cannot be stored',
      );
    }
    const created: Account = {
      name: account.name,
      kind: 's3',
      endpoint: account.endpoint,
      region: account.region,
      pathStyle: account.pathStyle,
      accessKeyId: account.accessKeyId,
      profile: null,
      secret: account.sessionOnly ? 'session' : 'keychain',
    };
    this.#accounts.push(created);
    this.#store.set(account.name, new Map([['backups', new Map()], ['media', new Map()]]));
    return { ...created };
  }

  async removeAccount(name: string): Promise<void> {
    await this.#gate('removeAccount');
    const a = this.#accounts.find((x) => x.name === name);
    if (!a) throw backendError('not_found', `there is no account named "${name}"`);
    if (a.kind !== 's3') throw backendError('invalid_input', `the account "${name}" cannot be removed from Ferry`);
    this.#accounts = this.#accounts.filter((x) => x.name !== name);
    this.#store.delete(name);
  }

  async testConnection(account: NewAccount): Promise<number> {
    await this.#gate('testConnection');
    this.#checkNewAccount(account);
    if (account.endpoint?.includes('unreachable')) {
      throw backendError('network', `could not connect to ${account.endpoint}: connection refused`);
    }
    if (account.secretAccessKey === 'wrong') {
      throw backendError('access_denied', 'the server refused the access key or secret (SignatureDoesNotMatch)');
    }
    return 2;
  }

  // ————— browsing —————

  async listBuckets(account: string): Promise<string[]> {
    await this.#gate('listBuckets');
    return [...this.#account(account).keys()].sort();
  }

  async createBucket(account: string, bucket: string): Promise<void> {
    await this.#gate('createBucket');
    const problem = bucketNameProblem(bucket);
    if (problem) throw backendError('invalid_input', problem);
    const buckets = this.#account(account);
    if (buckets.has(bucket)) throw backendError('already_exists', `the bucket "${bucket}" already exists`);
    buckets.set(bucket, new Map());
  }

  async listObjects(account: string, bucket: string, prefix: string): Promise<Listing> {
    await this.#gate('listObjects');
    const objects: ObjectInfo[] = [];
    const prefixes = new Set<string>();
    for (const [key, info] of this.#bucket(account, bucket)) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash >= 0) prefixes.add(prefix + rest.slice(0, slash + 1));
      else objects.push({ ...info });
    }
    objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { prefixes: [...prefixes].sort(), objects };
  }

  async deleteObjects(account: string, bucket: string, keys: string[], prefixes: string[]): Promise<number> {
    await this.#gate('deleteObjects');
    const objects = this.#bucket(account, bucket);
    let n = 0;
    for (const key of keys) if (objects.delete(key)) n++;
    for (const p of prefixes) {
      for (const key of [...objects.keys()]) if (key.startsWith(p) && objects.delete(key)) n++;
    }
    return n;
  }

  // ————— transfers —————

  async uploadPaths(account: string, bucket: string, prefix: string, paths: string[]): Promise<Enqueued> {
    await this.#gate('uploadPaths');
    this.#bucket(account, bucket);
    const result: Enqueued = { ids: [], resumed: 0, skipped: [] };
    const created: MockTransfer[] = [];
    for (const path of paths) {
      const name = baseName(path);
      if (name === '') {
        result.skipped.push({ what: path, reason: 'not a file' });
        continue;
      }
      const key = prefix + name;
      const unfinished = [...this.#transfers.values()].find(
        (t) => t.direction === 'upload' && t.localPath === path && t.bucket === bucket && t.key === key &&
          t.account === account && !isTerminal(t.state),
      );
      if (unfinished) {
        result.ids.push(unfinished.id);
        result.resumed++;
        if (unfinished.state === 'paused' || unfinished.state === 'failed') this.#requeue(unfinished);
        continue;
      }
      const t = this.#newTransfer('upload', account, bucket, key, path, this.#localFiles.get(path) ?? sizeFromName(path));
      this.#queue.push(t.id);
      created.push(t);
      result.ids.push(t.id);
    }
    for (const t of created) this.#emitEvent(t);
    return result;
  }

  async download(account: string, bucket: string, keys: string[], prefixes: string[], destDir: string): Promise<Enqueued> {
    await this.#gate('download');
    const objects = this.#bucket(account, bucket);
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
      const t = this.#newTransfer('download', account, bucket, key, `${dir}/${rel}`, objects.get(key)!.size);
      this.#queue.push(t.id);
      result.ids.push(t.id);
      return t;
    });
    for (const t of created) this.#emitEvent(t);
    return result;
  }

  async listTransfers(): Promise<Transfer[]> {
    await this.#gate('listTransfers');
    return [...this.#transfers.values()].map((t) => this.#public(t));
  }

  async pause(id: string): Promise<void> {
    await this.#gate('pause');
    this.#pause(this.#find(id));
  }

  async resume(id: string): Promise<void> {
    await this.#gate('resume');
    const t = this.#find(id);
    if (isTerminal(t.state)) throw backendError('invalid_input', `transfer ${short(id)} is ${t.state}; there is nothing to resume`);
    if (t.state === 'paused' || t.state === 'failed') this.#requeue(t);
  }

  async cancel(id: string): Promise<void> {
    await this.#gate('cancel');
    const t = this.#find(id);
    if (t.state === 'completed') {
      throw backendError('invalid_input', `transfer ${short(id)} already completed; delete the object or file instead`);
    }
    if (t.state === 'cancelled') return;
    this.#running.delete(t.id);
    t.state = 'cancelled';
    t.speed = 0;
    t.finishedAt = this.#now();
    this.#emitEvent(t);
  }

  async retry(id: string): Promise<void> {
    await this.#gate('retry');
    const t = this.#find(id);
    if (t.state !== 'failed' && t.state !== 'paused' && t.state !== 'waiting_retry') {
      throw backendError('invalid_input', `transfer ${short(id)} is ${t.state}; only a failed transfer can be retried`);
    }
    this.#requeue(t);
  }

  async pauseAll(): Promise<void> {
    await this.#gate('pauseAll');
    for (const t of this.#transfers.values()) {
      if (t.state === 'queued' || t.state === 'running' || t.state === 'waiting_retry') this.#pause(t);
    }
  }

  async resumeAll(): Promise<void> {
    await this.#gate('resumeAll');
    for (const t of this.#transfers.values()) if (t.state === 'paused' || t.state === 'failed') this.#requeue(t);
  }

  async clearFinished(): Promise<number> {
    await this.#gate('clearFinished');
    let n = 0;
    for (const t of [...this.#transfers.values()]) {
      if (isTerminal(t.state)) {
        this.#transfers.delete(t.id);
        n++;
      }
    }
    return n;
  }

  // ————— links, clipboard, settings —————

  async presign(account: string, bucket: string, key: string, expiresSecs: number): Promise<Link> {
    await this.#gate('presign');
    if (!this.#bucket(account, bucket).has(key)) throw backendError('not_found', `there is no object ${bucket}/${key}`);
    if (!(expiresSecs >= 1 && expiresSecs <= 604800)) {
      throw backendError('invalid_input', 'a link can last from 1 second to 7 days');
    }
    const now = Math.floor(this.#now() / 1000);
    const path = key.split('/').map(encodeURIComponent).join('/');
    return {
      url: `http://127.0.0.1:9000/${bucket}/${path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=${expiresSecs}&X-Amz-Signature=mock${now.toString(16)}`,
      expiresAt: now + expiresSecs,
      expiresInSecs: expiresSecs,
    };
  }

  async copyText(text: string): Promise<void> {
    await this.#gate('copyText');
    this.clipboard = text;
  }

  async getSettings(): Promise<Settings> {
    await this.#gate('getSettings');
    return { ...this.#settings };
  }

  async setSettings(settings: Settings): Promise<Settings> {
    await this.#gate('setSettings');
    if (!(settings.concurrentTransfers >= 1) || !(settings.partsInFlight >= 1)) {
      throw backendError('invalid_input', 'concurrent transfers and parts in flight must be at least 1');
    }
    this.#settings = { ...settings };
    return { ...this.#settings };
  }

  // ————— watched folders —————

  async listWatched(): Promise<WatchedFolder[]> {
    await this.#gate('listWatched');
    return [...this.#watched.values()].map(publicWatched);
  }

  async addWatched(folder: NewWatchedFolder): Promise<WatchedFolder> {
    await this.#gate('addWatched');
    const trimmed = folder.path.trim();
    const path = trimmed.replace(/(.)[/\\]+$/, '$1');
    if (path === '') throw backendError('invalid_input', 'choose a folder to watch');
    if (!isAbsolutePath(path)) throw backendError('invalid_input', `"${path}" is not an absolute path`);
    if (this.missingFolders.has(path)) throw backendError('invalid_input', `no such folder: ${path}; create it first or choose another`);
    this.#bucket(folder.account, folder.bucket);
    const prefix = normalizePrefix(folder.prefix);
    const same = [...this.#watched.values()].find((f) => f.path === path && f.bucket === folder.bucket && f.prefix === prefix);
    if (same) {
      throw backendError('already_exists', `${path} is already watched into s3://${folder.bucket}/${prefix}`);
    }
    const f: MockWatched = {
      id: `0190${String(this.#nextId++).padStart(8, '0')}-watch`,
      path, account: folder.account, bucket: folder.bucket, prefix, ignore: [...folder.ignore],
      mirrorDeletes: folder.mirrorDeletes, state: 'catching_up', error: null, createdAt: this.#now(), recent: [],
      catchUpLeft: CATCH_UP_TICKS, waiting: [],
    };
    this.#watched.set(f.id, f);
    this.#emitWatched(f);
    return publicWatched(f);
  }

  async pauseWatched(id: string): Promise<WatchedFolder> {
    await this.#gate('pauseWatched');
    const f = this.#findWatched(id);
    if (f.state !== 'paused') {
      f.state = 'paused';
      f.error = null;
      this.#emitWatched(f);
    }
    return publicWatched(f);
  }

  async resumeWatched(id: string): Promise<WatchedFolder> {
    await this.#gate('resumeWatched');
    const f = this.#findWatched(id);
    if (f.state === 'paused' || f.state === 'error') {
      f.state = 'catching_up';
      f.error = null;
      f.catchUpLeft = CATCH_UP_TICKS;
      this.#emitWatched(f);
      for (const path of f.waiting.splice(0)) this.#uploadWatched(f, path);
    }
    return publicWatched(f);
  }

  async removeWatched(id: string): Promise<void> {
    await this.#gate('removeWatched');
    this.#findWatched(id);
    this.#watched.delete(id);
  }

  async onWatchedChanged(handler: (folder: WatchedFolder) => void): Promise<Unsubscribe> {
    this.#watchHandlers.add(handler);
    return () => this.#watchHandlers.delete(handler);
  }

  // ————— streams and dialogs —————

  async onProgress(handler: (batch: ProgressSnapshot[]) => void): Promise<Unsubscribe> {
    this.#progressHandlers.add(handler);
    return () => this.#progressHandlers.delete(handler);
  }

  async onTransferEvent(handler: (event: TransferEvent) => void): Promise<Unsubscribe> {
    this.#eventHandlers.add(handler);
    return () => this.#eventHandlers.delete(handler);
  }

  async onDragDrop(handler: (event: DragDropEvent) => void): Promise<Unsubscribe> {
    this.#dragHandlers.add(handler);
    return () => this.#dragHandlers.delete(handler);
  }

  async pickFiles(): Promise<string[] | null> {
    await this.#gate('pickFiles');
    return this.nextPickedFiles ? [...this.nextPickedFiles] : null;
  }

  async pickFolder(_title: string): Promise<string | null> {
    await this.#gate('pickFolder');
    return this.nextPickedFolder;
  }

  // ————— the simulated engine —————

  #tick(ms: number): void {
    for (const f of this.#watched.values()) {
      if (f.state === 'catching_up' && --f.catchUpLeft <= 0) {
        f.state = 'watching';
        this.#emitWatched(f);
      }
    }

    // Admit queued transfers, oldest first, while under the concurrency limit.
    while (this.#running.size < this.#settings.concurrentTransfers && this.#queue.length > 0) {
      const t = this.#transfers.get(this.#queue.shift()!);
      if (!t || t.state !== 'queued') continue;
      t.state = 'running';
      if (this.#failNextTransfer) {
        t.failAt = Math.floor(t.bytesTotal / 2);
        t.failWith = this.#failNextTransfer;
        this.#failNextTransfer = null;
      }
      this.#running.add(t.id);
      this.#emitEvent(t);
    }
    if (this.#running.size === 0) return;

    const limit = this.#settings.bandwidthLimitMibps;
    const perTransfer = limit ? Math.min(this.speed, (limit * MIB) / this.#running.size) : this.speed;
    const step = Math.max(1, Math.round((perTransfer * ms) / 1000));
    const batch: ProgressSnapshot[] = [];
    const finished: MockTransfer[] = [];
    for (const id of this.#running) {
      const t = this.#transfers.get(id)!;
      t.bytesDone = Math.min(t.bytesTotal, t.bytesDone + step);
      t.speed = perTransfer;
      if (t.failAt !== null && t.bytesDone >= t.failAt) {
        t.bytesDone = t.failAt;
        finished.push(t);
      } else if (t.bytesDone >= t.bytesTotal) {
        finished.push(t);
      }
      batch.push({
        id: t.id,
        bytesDone: t.bytesDone,
        bytesTotal: t.bytesTotal,
        speed: t.speed,
        etaSecs: Math.ceil((t.bytesTotal - t.bytesDone) / t.speed),
      });
    }
    for (const h of this.#progressHandlers) h(batch);

    for (const t of finished) {
      this.#running.delete(t.id);
      t.speed = 0;
      t.finishedAt = this.#now();
      if (t.failAt !== null && t.failWith) {
        t.state = 'failed';
        t.error = t.failWith;
        t.failAt = null;
        t.failWith = null;
      } else {
        t.state = 'completed';
        if (t.direction === 'upload') {
          this.#store.get(t.account)?.get(t.bucket)?.set(t.key, {
            key: t.key,
            size: t.bytesTotal,
            lastModified: Math.floor(this.#now() / 1000),
            etag: `"${t.id}"`,
          });
        }
      }
      this.#emitEvent(t);
      this.#watchedUploadDone(t);
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
    this.#emitEvent(t);
  }

  #requeue(t: MockTransfer): void {
    this.#running.delete(t.id);
    t.state = 'queued';
    t.error = null;
    t.finishedAt = null;
    t.speed = 0;
    this.#queue.push(t.id);
    this.#emitEvent(t);
  }

  #newTransfer(direction: Transfer['direction'], account: string, bucket: string, key: string, localPath: string, size: number): MockTransfer {
    const id = `0190${String(this.#nextId++).padStart(8, '0')}-mock`;
    const t: MockTransfer = {
      id, direction, state: 'queued', account, bucket, key, localPath,
      name: baseName(direction === 'upload' ? localPath : key),
      bytesDone: 0, bytesTotal: size, error: null, createdAt: this.#now(), finishedAt: null,
      speed: 0, failAt: null, failWith: null,
    };
    this.#transfers.set(id, t);
    return t;
  }

  #public(t: MockTransfer): Transfer {
    return {
      id: t.id, direction: t.direction, state: t.state, account: t.account, bucket: t.bucket, key: t.key,
      localPath: t.localPath, name: t.name, bytesDone: t.bytesDone, bytesTotal: t.bytesTotal,
      error: t.error ? { ...t.error } : null, createdAt: t.createdAt, finishedAt: t.finishedAt,
    };
  }

  #emitEvent(t: MockTransfer): void {
    const event: TransferEvent = { id: t.id, state: t.state, error: t.error ? { ...t.error } : null };
    for (const h of this.#eventHandlers) h(event);
  }

  #uploadWatched(f: MockWatched, path: string): void {
    const rel = relativeTo(f.path, path)!;
    const t = this.#newTransfer('upload', f.account, f.bucket, f.prefix + rel, path, this.#localFiles.get(path) ?? sizeFromName(path));
    this.#queue.push(t.id);
    this.#watchedUploads.set(t.id, f.id);
    this.#emitEvent(t);
  }

  #watchedUploadDone(t: MockTransfer): void {
    const folderId = this.#watchedUploads.get(t.id);
    if (folderId === undefined || t.state !== 'completed') return;
    this.#watchedUploads.delete(t.id);
    // A folder removed while its upload ran: the object stays, there is no folder to tell.
    const f = this.#watched.get(folderId);
    if (!f) return;
    f.recent = [{ key: t.key, size: t.bytesTotal, uploadedAt: this.#now() }, ...f.recent.filter((u) => u.key !== t.key)].slice(0, RECENT_UPLOADS);
    this.#emitWatched(f);
  }

  #emitWatched(f: MockWatched): void {
    for (const h of this.#watchHandlers) h(publicWatched(f));
  }

  #findWatched(id: string): MockWatched {
    const f = this.#watched.get(id);
    if (!f) throw backendError('not_found', `there is no watched folder ${short(id)}`);
    return f;
  }

  #emitDrag(event: DragDropEvent): void {
    for (const h of this.#dragHandlers) h(event);
  }

  async #gate(method: Method): Promise<void> {
    await Promise.resolve();
    const failure = this.#failCalls.get(method);
    if (failure) {
      this.#failCalls.delete(method);
      throw { ...failure };
    }
  }

  #find(id: string): MockTransfer {
    const t = this.#transfers.get(id);
    if (!t) throw backendError('not_found', `there is no transfer ${short(id)}`);
    return t;
  }

  #account(name: string): Map<string, Map<string, ObjectInfo>> {
    const a = this.#store.get(name);
    if (!a) throw backendError('not_found', `there is no account named "${name}"`);
    return a;
  }

  #bucket(account: string, bucket: string): Map<string, ObjectInfo> {
    const b = this.#account(account).get(bucket);
    if (!b) throw backendError('not_found', `the bucket "${bucket}" does not exist`);
    return b;
  }

  #checkNewAccount(a: NewAccount): void {
    if (a.name.trim() === '') throw backendError('invalid_input', 'an account needs a name');
    if (a.accessKeyId.trim() === '' || a.secretAccessKey === '') {
      throw backendError('invalid_input', 'an access key id and a secret access key are needed');
    }
  }

  #seed(): void {
    this.#accounts = [
      { name: 'local', kind: 'local', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', pathStyle: true, accessKeyId: 'ferry-local', profile: null, secret: 'none' },
      { name: 'work', kind: 'aws_profile', endpoint: null, region: 'eu-west-1', pathStyle: false, accessKeyId: null, profile: 'work', secret: 'none' },
    ];
    const now = Math.floor(this.#now() / 1000);
    const day = 86400;
    const objects: [string, number, number][] = [
      ['README.txt', 2_184, now - 40 * day],
      ['quarterly-report.pdf', 1_873_420, now - 12 * day],
      ['launch-video.mkv', 734 * MIB, now - 3 * day],
      ['photos/harbour-at-dawn.jpg', 4_812_003, now - 6 * day],
      ['photos/lighthouse.jpg', 3_301_554, now - 6 * day],
      ['photos/2025/ferry-deck.jpg', 5_120_777, now - 200 * day],
      ['backups/site-2026-03-01.tar.gz', 1_288 * MIB, now - 20 * day],
    ];
    const ferry = new Map<string, ObjectInfo>();
    for (const [key, size, lastModified] of objects) ferry.set(key, { key, size, lastModified, etag: `"${key.length}"` });
    this.#store.set('local', new Map([['ferry', ferry]]));
    this.#store.set('work', new Map([['work-reports', new Map()]]));
  }
}

function isTerminal(state: TransferState): boolean {
  return state === 'completed' || state === 'cancelled';
}

function short(id: string): string {
  return id.slice(0, 12);
}

function publicWatched(f: MockWatched): WatchedFolder {
  return {
    id: f.id, path: f.path, account: f.account, bucket: f.bucket, prefix: f.prefix, ignore: [...f.ignore],
    mirrorDeletes: f.mirrorDeletes, state: f.state, error: f.error, createdAt: f.createdAt,
    recent: f.recent.map((u) => ({ ...u })),
  };
}

/** `path` inside `folder` as a '/'-separated relative path, or null when it is not inside. */
function relativeTo(folder: string, path: string): string | null {
  const base = folder.replace(/[/\\]+$/, '');
  if (!path.startsWith(`${base}/`) && !path.startsWith(`${base}\\`)) return null;
  const rel = path.slice(base.length + 1).replace(/\\/g, '/');
  return rel === '' ? null : rel;
}

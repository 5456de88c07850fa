// An in-memory Backend that behaves like the engine behind the Tauri shell, for the tests and the
// browser harness; the app never loads it (backend/index.ts imports it dynamically, outside production
// builds). Each domain lives in its own file: accounts.ts, objects.ts, versions.ts, transfers.ts, watch.ts, sync.ts, over the
// shared state in world.ts. Time is a virtual clock (one tick per 100 ms of real time unless held).
// Tests drive it through `window.__ferryMock`; its public fields and methods below that are not part of
// Backend are the test helpers.
import { backendError } from '../errors';
import type {
  Account, AccountDefaults, Backend, BackendError, DeleteProgress, Deleted, DragDropEvent, Enqueued, Found, Link, Listed, Listing, ListingStream, NewAccount,
  NewWatchedFolder, ObjectEdit, ObjectProperties, ObjectVersion, Place, Preview, ProgressSnapshot, Restored, VersionListing, SearchQuery, SearchStream, Settings, SyncFinished, SyncPair, SyncPreviewed, SyncRunStarted,
  SyncStarted, Tally, Transfer, TransferEvent, TransferState, PageRequest, SummarySelection, TransferPage, TransferSummary,
  Unsubscribe, WatchedFolder,
} from '../types';
import { MockAccounts } from './accounts';
import { MockObjects } from './objects';
import { MockTransfers, publicTransfer } from './transfers';
import { MockSync, type LocalFile } from './sync';
import { MockVersions, type VersionSeed } from './versions';
import { MockWatch } from './watch';
import { TICK_MS, World, type Method } from './world';

export { sizeFromName } from './world';

export interface MockOptions {
  /** Advance the clock by itself every 100 ms (the app); tests of the mock call advance() instead. */
  autoTick?: boolean;
  /** Wall-clock time in unix ms, for deterministic dates in tests. */
  now?: () => number;
}

export class MockBackend implements Backend {
  /** The last text given to copyText. */
  clipboard: string | null = null;
  /** What the next pickFiles / pickFolder return (null = the person cancelled). */
  nextPickedFiles: string[] | null = ['/home/you/Pictures/harbour.jpg', '/home/you/Documents/notes.md'];
  nextPickedFolder: string | null = '/home/you/Downloads';

  readonly #w: World;
  readonly #accounts: MockAccounts;
  readonly #objects: MockObjects;
  readonly #transfers: MockTransfers;
  readonly #watch: MockWatch;
  readonly #sync: MockSync;
  readonly #versions: MockVersions;
  #dragHandlers = new Set<(event: DragDropEvent) => void>();
  #openHandlers = new Set<(paths: string[]) => void>();
  #heldDrop: string[] | null = null;
  #timer: ReturnType<typeof setInterval> | null = null;
  #clockHeld = false;

  constructor(opts: MockOptions = {}) {
    this.#w = new World(opts.now ?? (() => Date.now()));
    this.#accounts = new MockAccounts(this.#w);
    this.#objects = new MockObjects(this.#w);
    this.#transfers = new MockTransfers(this.#w);
    this.#watch = new MockWatch(this.#w, this.#transfers);
    this.#sync = new MockSync(this.#w, this.#transfers);
    this.#versions = new MockVersions(this.#w);
    if (opts.autoTick) this.#timer = setInterval(() => this.#clockHeld || this.advance(TICK_MS), TICK_MS);
  }

  // ————— test helpers —————

  /** Every dragOut call, in order: what was dragged out of the window. */
  readonly dragOuts: { account: string; bucket: string; keys: string[]; prefixes: string[] }[] = [];

  /** When false, saving a secret in the keychain fails like on a Linux box without a secret service. */
  get keychainAvailable(): boolean {
    return this.#accounts.keychainAvailable;
  }
  set keychainAvailable(available: boolean) {
    this.#accounts.keychainAvailable = available;
  }
  /** Bytes per second of each running transfer. */
  get speed(): number {
    return this.#transfers.speed;
  }
  /** Gives `account` temporary credentials (SSO, STS) that expire `secs` from now: links end with them. */
  expireCredentialsIn(account: string, secs: number): void {
    this.#w.credentialsExpiry.set(account, Math.floor(this.#w.now() / 1000) + secs);
  }
  /** Keys deleteObjects refuses (access denied), deleting the others. */
  get refusedDeletes(): Set<string> {
    return this.#objects.refusedDeletes;
  }
  /** Folders that addWatched reports as not existing. */
  get missingFolders(): Set<string> {
    return this.#watch.missingFolders;
  }

  /** Moves the virtual clock on, one 100 ms tick at a time, emitting a progress batch per tick. */
  advance(ms: number): void {
    for (let t = 0; t < ms; t += TICK_MS) {
      this.#watch.tick();
      this.#transfers.tick(Math.min(TICK_MS, ms - t));
    }
  }
  /** Stops the automatic clock (screenshots, exact assertions); releaseClock() starts it again. */
  holdClock(): void {
    this.#clockHeld = true;
  }
  releaseClock(): void {
    this.#clockHeld = false;
  }
  setSpeed(bytesPerSec: number): void {
    this.#transfers.speed = Math.max(1, bytesPerSec);
  }
  /** Gives a local file a size; other paths get one derived from their name. */
  addLocalFile(path: string, size: number): void {
    this.#w.localFiles.set(path, size);
  }
  /** The next transfer to start fails halfway with this error. */
  failNext(kind: BackendError['kind'], message: string): void {
    this.#transfers.failNext(backendError(kind, message));
  }
  /** The next call of this Backend method rejects with {kind, message}. */
  failCall(method: Method, kind: BackendError['kind'], message: string): void {
    this.#w.failCalls.set(method, backendError(kind, message));
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
  /** What a second launch with file arguments does: hands the files to the running window. */
  openFiles(paths: string[]): void {
    for (const h of this.#openHandlers) h(paths);
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
    return this.#transfers.addMany(count, state, opts.bucket ?? 'ferry');
  }
  /**
   * Adds `count` transfers that do not run (completed unless said otherwise) as a long history, made
   * only as pages read them: named history-00001.bin…, oldest first.
   */
  addHistory(count: number, state: TransferState = 'completed', opts: { bucket?: string } = {}): void {
    this.#transfers.addHistory(count, state, opts.bucket ?? 'ferry');
  }
  /** Every transfer, oldest first, as the shell's list_transfers gives it (the UI reads pages). */
  async listTransfers(): Promise<Transfer[]> {
    await Promise.resolve();
    return this.#transfers.list();
  }
  /** A copy of every transfer as the engine would list it, with its current speed. */
  transferList(): (Transfer & { speed: number })[] {
    return [...this.#w.transfers.values()].map((t) => ({ ...publicTransfer(t), speed: t.speed }));
  }
  /**
   * A file appears (or changes) at `path`. Every watched folder that contains it and does not ignore it
   * uploads it through the queue (a paused or stopped folder when it resumes). Returns how many will.
   */
  watchedFileAppears(path: string, size?: number): number {
    if (size !== undefined) this.addLocalFile(path, size);
    return this.#watch.fileAppears(path);
  }
  /** A file in watched folders is deleted: those that mirror deletions (and are not paused) delete its object. Returns how many did. */
  watchedFileDeleted(path: string): number {
    return this.#watch.fileDeleted(path);
  }
  /** The watched folder stops with this reason, as when its folder vanishes or the bucket refuses writes. */
  failWatched(id: string, reason: string): void {
    this.#watch.fail(id, reason);
  }
  /** A folder of `count` objects (object-0000000.bin…) listed in pages of 1,000 as they are asked for. */
  addGeneratedFolder(account: string, bucket: string, prefix: string, count: number): void {
    this.#objects.addGeneratedFolder(account, bucket, prefix, count);
  }
  /** Listings' pages numbered `page` and later (1 is a listing's first) wait until releasePages(). */
  holdPagesFrom(page: number): void {
    this.#objects.holdPagesFrom(page);
  }
  releasePages(): void {
    this.#objects.releasePages();
  }
  /** Pages delivered by every listing so far, and listings stopped by their cancel. */
  get listingStats(): { pagesDelivered: number; listingsCancelled: number } {
    return { pagesDelivered: this.#objects.pagesDelivered, listingsCancelled: this.#objects.listingsCancelled };
  }
  /**
   * A local folder as a sync sees it: its files by '/'-separated relative path, with their size and
   * optionally a modification time (unix ms; default: a day ago) and a content token (default: the
   * path). Replaces what the mock knew of that folder.
   */
  setLocalFolder(path: string, files: Record<string, { size: number; mtime?: number; content?: string }>): void {
    const day = 86_400_000;
    const folder = new Map<string, LocalFile>();
    for (const [rel, f] of Object.entries(files)) {
      folder.set(rel, { size: f.size, mtime: f.mtime ?? this.#w.now() - day, content: f.content ?? rel });
    }
    this.#sync.folders.set(path, folder);
  }
  /** The files of a local folder as syncs left them (relative path → size), or null when unknown. */
  localFolder(path: string): Record<string, number> | null {
    const folder = this.#sync.folders.get(path);
    return folder ? Object.fromEntries([...folder].map(([rel, f]) => [rel, f.size])) : null;
  }
  /** Every object key of a bucket, sorted (to check what a sync changed). */
  /** Gives `key` a history of versions, newest first (the object becomes its newest). */
  setVersions(account: string, bucket: string, key: string, versions: VersionSeed[]): void {
    this.#versions.setHistory(account, bucket, key, versions);
  }
  /** The versions of `key` as the mock holds them, newest first. */
  versionsOf(account: string, bucket: string, key: string): ObjectVersion[] {
    return this.#versions.of(account, bucket, key);
  }
  objectKeys(account: string, bucket: string): string[] {
    return [...this.#w.bucket(account, bucket).keys()].sort();
  }
  /** Stops the automatic clock for good. */
  dispose(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  // ————— Backend: each call passes the gate (asynchronous, fails once on failCall), then its domain —————

  listAccounts(): Promise<Account[]> {
    return this.#call('listAccounts', () => this.#accounts.list());
  }
  addAccount(account: NewAccount): Promise<Account> {
    return this.#call('addAccount', () => this.#accounts.add(account));
  }
  removeAccount(name: string): Promise<void> {
    return this.#call('removeAccount', () => this.#accounts.remove(name));
  }
  testConnection(account: NewAccount): Promise<number> {
    return this.#call('testConnection', () => this.#accounts.testConnection(account));
  }
  accountDefaults(account: string): Promise<AccountDefaults> {
    return this.#call('accountDefaults', () => this.#accounts.defaults(account));
  }
  setAccountDefaults(account: string, defaults: AccountDefaults): Promise<AccountDefaults> {
    return this.#call('setAccountDefaults', () => this.#accounts.setDefaults(account, defaults));
  }

  listBuckets(account: string): Promise<string[]> {
    return this.#call('listBuckets', () => this.#objects.listBuckets(account));
  }
  createBucket(account: string, bucket: string): Promise<void> {
    return this.#call('createBucket', () => this.#objects.createBucket(account, bucket));
  }
  listObjects(account: string, bucket: string, prefix: string, onPage: (page: Listing) => void): ListingStream {
    let cancelled = false;
    const done = this.#call('listObjects', () => this.#objects.list(account, bucket, prefix)).then(() =>
      this.#objects.stream(account, bucket, prefix, onPage, () => cancelled),
    );
    return { done, cancel: () => (cancelled = true) };
  }
  searchObjects(account: string, bucket: string, prefix: string, query: SearchQuery, onFound: (found: Found) => void): SearchStream {
    let cancelled = false;
    const done = this.#call('searchObjects', () => this.#objects.list(account, bucket, prefix)).then(() =>
      this.#objects.search(account, bucket, prefix, query, onFound, () => cancelled),
    );
    return { done, cancel: () => (cancelled = true) };
  }
  deleteObjects(
    account: string,
    bucket: string,
    keys: string[],
    prefixes: string[],
    onProgress?: (p: DeleteProgress) => void,
  ): Promise<Deleted> {
    return this.#call('deleteObjects', () => this.#objects.delete(account, bucket, keys, prefixes, onProgress));
  }
  tallyFolders(account: string, bucket: string, prefixes: string[]): Promise<Tally> {
    return this.#call('tallyFolders', () => this.#objects.tally(account, bucket, prefixes));
  }
  objectProperties(account: string, bucket: string, key: string): Promise<ObjectProperties> {
    return this.#call('objectProperties', () => this.#objects.properties(account, bucket, key));
  }
  previewObject(account: string, bucket: string, key: string): Promise<Preview> {
    return this.#call('previewObject', () => this.#objects.preview(account, bucket, key));
  }
  editObject(account: string, bucket: string, key: string, edit: ObjectEdit): Promise<ObjectProperties> {
    return this.#call('editObject', () => this.#objects.edit(account, bucket, key, edit));
  }
  copyObjects(account: string, bucket: string, from: string, to: string, moveSource: boolean, replace: boolean, into?: Place): Promise<Enqueued> {
    return this.#call('copyObjects', () => this.#objects.copy(account, bucket, from, to, moveSource, replace, into));
  }
  folderSize(account: string, bucket: string, prefix: string, onProgress: (soFar: Listed) => void): ListingStream {
    let cancelled = false;
    const done = this.#call('folderSize', () => this.#w.bucket(account, bucket)).then(() =>
      this.#objects.size(account, bucket, prefix, onProgress, () => cancelled),
    );
    return { done, cancel: () => (cancelled = true) };
  }
  listVersions(account: string, bucket: string, prefix: string, onPage: (page: VersionListing) => void): ListingStream {
    let cancelled = false;
    const done = this.#call('listVersions', () => this.#w.bucket(account, bucket)).then(() =>
      this.#versions.stream(account, bucket, prefix, onPage, () => cancelled),
    );
    return { done, cancel: () => (cancelled = true) };
  }
  objectVersions(account: string, bucket: string, key: string): Promise<ObjectVersion[]> {
    return this.#call('objectVersions', () => this.#versions.of(account, bucket, key));
  }
  downloadVersion(account: string, bucket: string, key: string, versionId: string, destDir: string): Promise<Enqueued> {
    return this.#call('downloadVersion', () => {
      const v = this.#versions.find(account, bucket, key, versionId);
      if (v.isDeleteMarker) throw backendError('invalid_input', `version \`${versionId}\` of s3://${bucket}/${key} is a delete marker, which has no bytes to download`);
      return this.#transfers.downloadVersion(account, bucket, key, versionId, v.size, destDir);
    });
  }
  restoreVersion(account: string, bucket: string, key: string, versionId: string): Promise<Restored> {
    return this.#call('restoreVersion', () => this.#versions.restore(account, bucket, key, versionId));
  }
  deleteVersion(account: string, bucket: string, key: string, versionId: string): Promise<ObjectVersion> {
    return this.#call('deleteVersion', () => this.#versions.delete(account, bucket, key, versionId));
  }
  presign(account: string, bucket: string, key: string, expiresSecs: number, download = false): Promise<Link> {
    return this.#call('presign', () => this.#objects.presign(account, bucket, key, expiresSecs, download));
  }

  uploadPaths(account: string, bucket: string, prefix: string, paths: string[]): Promise<Enqueued> {
    return this.#call('uploadPaths', () => this.#transfers.upload(account, bucket, prefix, paths));
  }
  download(account: string, bucket: string, keys: string[], prefixes: string[], destDir: string): Promise<Enqueued> {
    return this.#call('download', () => this.#transfers.download(account, bucket, keys, prefixes, destDir));
  }
  dragOut(account: string, bucket: string, keys: string[], prefixes: string[]): Promise<Enqueued> {
    return this.#call('dragOut', () => {
      this.dragOuts.push({ account, bucket, keys: [...keys], prefixes: [...prefixes] });
      return this.#transfers.download(account, bucket, keys, prefixes, `/state/drag-out/${this.dragOuts.length}`);
    });
  }
  listTransfersPage(request: PageRequest): Promise<TransferPage> {
    return this.#call('listTransfersPage', () => this.#transfers.page(request));
  }
  transferSummary(selection?: SummarySelection): Promise<TransferSummary> {
    return this.#call('transferSummary', () => this.#transfers.summary(selection));
  }
  pause(id: string): Promise<void> {
    return this.#call('pause', () => this.#transfers.pause(id));
  }
  resume(id: string): Promise<void> {
    return this.#call('resume', () => this.#transfers.resume(id));
  }
  cancel(id: string): Promise<void> {
    return this.#call('cancel', () => this.#transfers.cancel(id));
  }
  /** The shell's retry is its resume (src-tauri/src/commands.rs). */
  retry(id: string): Promise<void> {
    return this.#call('retry', () => this.#transfers.resume(id));
  }
  pauseAll(): Promise<void> {
    return this.#call('pauseAll', () => this.#transfers.pauseAll());
  }
  resumeAll(): Promise<void> {
    return this.#call('resumeAll', () => this.#transfers.resumeAll());
  }
  clearFinished(): Promise<number> {
    return this.#call('clearFinished', () => this.#transfers.clearFinished());
  }

  copyText(text: string): Promise<void> {
    return this.#call('copyText', () => {
      this.clipboard = text;
    });
  }

  getSettings(): Promise<Settings> {
    return this.#call('getSettings', () => ({ ...this.#w.settings }));
  }
  setSettings(settings: Settings): Promise<Settings> {
    return this.#call('setSettings', () => {
      if (!(settings.concurrentTransfers >= 1) || !(settings.partsInFlight >= 1)) {
        throw backendError('invalid_input', 'concurrent transfers and parts in flight must be at least 1');
      }
      this.#w.settings = { ...settings };
      return { ...this.#w.settings };
    });
  }

  listWatched(): Promise<WatchedFolder[]> {
    return this.#call('listWatched', () => this.#watch.list());
  }
  addWatched(folder: NewWatchedFolder): Promise<WatchedFolder> {
    return this.#call('addWatched', () => this.#watch.add(folder));
  }
  pauseWatched(id: string): Promise<WatchedFolder> {
    return this.#call('pauseWatched', () => this.#watch.pause(id));
  }
  resumeWatched(id: string): Promise<WatchedFolder> {
    return this.#call('resumeWatched', () => this.#watch.resume(id));
  }
  removeWatched(id: string): Promise<void> {
    return this.#call('removeWatched', () => this.#watch.remove(id));
  }

  previewSync(pair: SyncPair): Promise<SyncPreviewed> {
    return this.#call('previewSync', () => this.#sync.preview(pair));
  }
  runSync(planId: string, save: boolean): Promise<SyncStarted> {
    return this.#call('runSync', () => this.#sync.run(planId, save));
  }
  listSyncPairs(): Promise<SyncPair[]> {
    return this.#call('listSyncPairs', () => this.#sync.listPairs());
  }
  removeSyncPair(id: string): Promise<void> {
    return this.#call('removeSyncPair', () => this.#sync.removePair(id));
  }
  async onSyncFinished(handler: (event: SyncFinished) => void): Promise<Unsubscribe> {
    return subscribe(this.#sync.handlers, handler);
  }
  async onSyncStarted(handler: (event: SyncRunStarted) => void): Promise<Unsubscribe> {
    return subscribe(this.#sync.startedHandlers, handler);
  }

  async onWatchedChanged(handler: (folder: WatchedFolder) => void): Promise<Unsubscribe> {
    return subscribe(this.#watch.handlers, handler);
  }
  async onProgress(handler: (batch: ProgressSnapshot[]) => void): Promise<Unsubscribe> {
    return subscribe(this.#w.progressHandlers, handler);
  }
  async onTransferEvent(handler: (event: TransferEvent) => void): Promise<Unsubscribe> {
    return subscribe(this.#w.eventHandlers, handler);
  }
  async onDragDrop(handler: (event: DragDropEvent) => void): Promise<Unsubscribe> {
    return subscribe(this.#dragHandlers, handler);
  }
  async onOpenFiles(handler: (paths: string[]) => void): Promise<Unsubscribe> {
    return subscribe(this.#openHandlers, handler);
  }

  pickFiles(): Promise<string[] | null> {
    return this.#call('pickFiles', () => (this.nextPickedFiles ? [...this.nextPickedFiles] : null));
  }
  pickFolder(_title: string): Promise<string | null> {
    return this.#call('pickFolder', () => this.nextPickedFolder);
  }

  async #call<T>(method: Method, run: () => T): Promise<T> {
    await this.#w.gate(method);
    return run();
  }

  #emitDrag(event: DragDropEvent): void {
    for (const h of this.#dragHandlers) h(event);
  }
}

function subscribe<T>(handlers: Set<T>, handler: T): Unsubscribe {
  handlers.add(handler);
  return () => handlers.delete(handler);
}

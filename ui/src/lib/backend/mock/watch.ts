// Watched folders in the mock. A folder catches up for a few ticks after it is added or resumed, then
// watches; a file that appears in it (fileAppears) is uploaded through the transfers' queue and, once
// completed, listed as recent, newest first. A paused or stopped folder keeps the files that appeared
// and uploads them when it resumes.
import { isAbsolutePath, normalizePrefix } from '../../watch/form';
import { isIgnored } from '../../watch/patterns';
import { backendError } from '../errors';
import type { NewWatchedFolder, WatchedFolder } from '../types';
import type { MockTransfers } from './transfers';
import { short, type MockTransfer, type World } from './world';

/** Ticks a watched folder spends catching up after it is added or resumed. */
const CATCH_UP_TICKS = 3;
/** How many recent uploads a watched folder keeps, as the engine does. */
const RECENT_UPLOADS = 20;

interface MockWatched extends WatchedFolder {
  /** Ticks left until a catching-up folder is watching. */
  catchUpLeft: number;
  /** Files that appeared while paused or stopped, uploaded when it resumes. */
  waiting: string[];
}

export class MockWatch {
  /** Folders that add reports as not existing. */
  readonly missingFolders = new Set<string>();
  readonly handlers = new Set<(folder: WatchedFolder) => void>();
  readonly #w: World;
  readonly #transfers: MockTransfers;
  #folders = new Map<string, MockWatched>();
  /** Upload transfer id → the watched folder it came from. */
  #uploads = new Map<string, string>();

  constructor(w: World, transfers: MockTransfers) {
    this.#w = w;
    this.#transfers = transfers;
    w.finishedHooks.push((t) => this.#uploadDone(t));
  }

  list(): WatchedFolder[] {
    return [...this.#folders.values()].map(publicWatched);
  }

  add(folder: NewWatchedFolder): WatchedFolder {
    const trimmed = folder.path.trim();
    const path = trimmed.replace(/(.)[/\\]+$/, '$1');
    if (path === '') throw backendError('invalid_input', 'choose a folder to watch');
    if (!isAbsolutePath(path)) throw backendError('invalid_input', `"${path}" is not an absolute path`);
    if (this.missingFolders.has(path)) throw backendError('invalid_input', `no such folder: ${path}; create it first or choose another`);
    this.#w.bucket(folder.account, folder.bucket);
    const prefix = normalizePrefix(folder.prefix);
    const same = [...this.#folders.values()].find((f) => f.path === path && f.bucket === folder.bucket && f.prefix === prefix);
    if (same) {
      throw backendError('already_exists', `${path} is already watched into s3://${folder.bucket}/${prefix}`);
    }
    const f: MockWatched = {
      id: this.#w.newId('watch'),
      path, account: folder.account, bucket: folder.bucket, prefix, ignore: [...folder.ignore],
      mirrorDeletes: folder.mirrorDeletes, state: 'catching_up', error: null, createdAt: this.#w.now(), recent: [],
      catchUpLeft: CATCH_UP_TICKS, waiting: [],
    };
    this.#folders.set(f.id, f);
    this.#emit(f);
    return publicWatched(f);
  }

  pause(id: string): WatchedFolder {
    const f = this.#find(id);
    if (f.state !== 'paused') {
      f.state = 'paused';
      f.error = null;
      this.#emit(f);
    }
    return publicWatched(f);
  }

  resume(id: string): WatchedFolder {
    const f = this.#find(id);
    if (f.state === 'paused' || f.state === 'error') {
      f.state = 'catching_up';
      f.error = null;
      f.catchUpLeft = CATCH_UP_TICKS;
      this.#emit(f);
      for (const path of f.waiting.splice(0)) this.#upload(f, path);
    }
    return publicWatched(f);
  }

  /** Stops watching; what the folder uploaded stays. */
  remove(id: string): void {
    this.#find(id);
    this.#folders.delete(id);
  }

  /** One step of the clock: folders that have caught up are watching. */
  tick(): void {
    for (const f of this.#folders.values()) {
      if (f.state === 'catching_up' && --f.catchUpLeft <= 0) {
        f.state = 'watching';
        this.#emit(f);
      }
    }
  }

  /** See MockBackend.watchedFileAppears. */
  fileAppears(path: string): number {
    let n = 0;
    for (const f of this.#folders.values()) {
      const rel = relativeTo(f.path, path);
      if (rel === null || isIgnored(rel, f.ignore)) continue;
      n++;
      if (f.state === 'paused' || f.state === 'error') f.waiting.push(path);
      else this.#upload(f, path);
    }
    return n;
  }

  /** See MockBackend.watchedFileDeleted. */
  fileDeleted(path: string): number {
    let n = 0;
    for (const f of this.#folders.values()) {
      const rel = relativeTo(f.path, path);
      if (rel === null || !f.mirrorDeletes || f.state === 'paused' || f.state === 'error' || isIgnored(rel, f.ignore)) continue;
      if (this.#w.store.get(f.account)?.get(f.bucket)?.delete(f.prefix + rel)) n++;
    }
    return n;
  }

  /** The folder stops with this reason, as when it vanishes or the bucket refuses writes. */
  fail(id: string, reason: string): void {
    const f = this.#find(id);
    f.state = 'error';
    f.error = reason;
    this.#emit(f);
  }

  #upload(f: MockWatched, path: string): void {
    const rel = relativeTo(f.path, path)!;
    const t = this.#transfers.uploadOne(f.account, f.bucket, f.prefix + rel, path);
    this.#uploads.set(t.id, f.id);
  }

  #uploadDone(t: MockTransfer): void {
    const folderId = this.#uploads.get(t.id);
    if (folderId === undefined || t.state !== 'completed') return;
    this.#uploads.delete(t.id);
    // A folder removed while its upload ran: the object stays, there is no folder to tell.
    const f = this.#folders.get(folderId);
    if (!f) return;
    f.recent = [{ key: t.key, size: t.bytesTotal, uploadedAt: this.#w.now() }, ...f.recent.filter((u) => u.key !== t.key)].slice(0, RECENT_UPLOADS);
    this.#emit(f);
  }

  #emit(f: MockWatched): void {
    for (const h of this.handlers) h(publicWatched(f));
  }

  #find(id: string): MockWatched {
    const f = this.#folders.get(id);
    if (!f) throw backendError('not_found', `there is no watched folder ${short(id)}`);
    return f;
  }
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

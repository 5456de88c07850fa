// Sync in the mock, with the engine's rules as the Tauri shell exposes them: a preview plans from the
// mock's objects and its fake local folders and changes nothing (the plan is kept by its id); running
// a kept plan queues its transfers through the transfers' queue, then, once every one of them has
// completed, runs the deletes (none when one failed), records what it did with its saved pair and
// announces it as a "sync://finished" event (its start, with its transfers, as "sync://started"). Saved pairs replace one with the same folder, prefix and
// direction, as the engine's do.
import { isAbsolutePath, normalizePrefix } from '../../watch/form';
import { isIgnored } from '../../watch/patterns';
import { backendError } from '../errors';
import type {
  Compare, Skipped, SyncFinished, SyncItem, SyncRunStarted, SyncPair, SyncPreviewed, SyncRun, SyncStarted, SyncTotals,
} from '../types';
import type { MockTransfers } from './transfers';
import type { MockTransfer, World } from './world';

/** A file in a fake local folder: its size, modification time (unix ms) and a token of its content. */
export interface LocalFile {
  size: number;
  mtime: number;
  content: string;
}

interface Entry {
  size: number;
  /** Unix ms. */
  time: number;
  content: string;
}

interface KeptPlan {
  id: string;
  pair: SyncPair;
  items: SyncItem[];
  withheld: string | null;
}

interface Running {
  planId: string;
  pairId: string | null;
  pair: SyncPair;
  deletes: SyncItem[];
  /** Why the plan's deletes do not run, as the preview said (the plan then has none). */
  withheld: string | null;
  waiting: Set<string>;
  transferred: number;
  bytes: number;
  failed: number;
}

/** How many kept previews the shell holds, as it does. */
const KEPT_PLANS = 8;

export class MockSync {
  /** folder path → relative path ('/'-separated) → file */
  readonly folders = new Map<string, Map<string, LocalFile>>();
  readonly handlers = new Set<(event: SyncFinished) => void>();
  readonly startedHandlers = new Set<(event: SyncRunStarted) => void>();
  readonly #w: World;
  readonly #transfers: MockTransfers;
  #pairs: SyncPair[] = [];
  #plans: KeptPlan[] = [];
  /** Transfer id → the run it belongs to. */
  #runs = new Map<string, Running>();

  constructor(w: World, transfers: MockTransfers) {
    this.#w = w;
    this.#transfers = transfers;
    w.finishedHooks.push((t) => this.#transferEnded(t));
  }

  listPairs(): SyncPair[] {
    return this.#pairs.map(copyPair);
  }

  removePair(id: string): void {
    this.#pairs = this.#pairs.filter((p) => p.id !== id);
  }

  preview(pair: SyncPair): SyncPreviewed {
    checkPair(pair);
    this.#w.bucket(pair.account, pair.bucket);
    const upload = pair.direction === 'upload';
    if (upload && !this.folders.has(pair.localPath)) {
      throw backendError('invalid_input', `${pair.localPath} is not a folder; a sync makes a prefix match a folder`);
    }
    const local = this.#localEntries(pair);
    const remote = this.#remoteEntries(pair);
    const [src, dst] = upload ? [local, remote] : [remote, local];
    const items: SyncItem[] = [];
    const deletes: SyncItem[] = [];
    const totals: SyncTotals = {
      uploads: 0, downloads: 0, copies: 0, deletes: 0, skips: 0, bytes: 0, deleteBytes: 0, sourceEntries: src.size,
    };
    for (const path of [...src.keys()].sort()) {
      const s = src.get(path)!;
      const why = differs(s, dst.get(path), pair.compare, upload);
      if (why === null) {
        totals.skips++;
        continue;
      }
      items.push({ action: pair.direction, path, size: s.size, reason: why });
      if (upload) totals.uploads++;
      else totals.downloads++;
      totals.bytes += s.size;
    }
    for (const path of [...dst.keys()].sort()) {
      if (pair.delete && !src.has(path)) deletes.push({ action: 'delete', path, size: dst.get(path)!.size, reason: 'not on the source' });
    }
    let withheld: string | null = null;
    if (deletes.length > 0 && src.size === 0) {
      const from = upload ? pair.localPath : `s3://${pair.bucket}/${pair.prefix}`;
      withheld = `${from} lists nothing, so the ${deletes.length} entries only on the destination were not deleted`;
    } else {
      for (const d of deletes) {
        totals.deletes++;
        totals.deleteBytes += d.size;
      }
      items.push(...deletes);
    }
    const kept: KeptPlan = { id: this.#w.newId('plan'), pair: copyPair(pair), items, withheld };
    this.#plans = [...this.#plans, kept].slice(-KEPT_PLANS);
    const shown = [...items.filter((i) => i.action === 'delete'), ...items.filter((i) => i.action !== 'delete')];
    const problems: Skipped[] = [];
    return {
      planId: kept.id, totals, items: shown.map((i) => ({ ...i })), more: 0, moreDeletes: 0, deletesWithheld: withheld, problems,
    };
  }

  run(planId: string, save: boolean): SyncStarted {
    const at = this.#plans.findIndex((p) => p.id === planId);
    if (at < 0) throw backendError('not_found', 'this preview is no longer kept; preview the sync again');
    const [kept] = this.#plans.splice(at, 1);
    const saved = save ? this.#save(kept.pair) : null;
    const pairId = saved?.id ?? (kept.pair.id !== '' ? kept.pair.id : null);
    const { pair } = kept;
    const run: Running = {
      planId, pairId, pair, deletes: kept.items.filter((i) => i.action === 'delete'), withheld: kept.withheld,
      waiting: new Set(), transferred: 0, bytes: 0, failed: 0,
    };
    for (const item of kept.items) {
      if (item.action === 'upload') {
        const path = joinPath(pair.localPath, item.path);
        this.#w.localFiles.set(path, item.size);
        const t = this.#transfers.uploadOne(pair.account, pair.bucket, pair.prefix + item.path, path);
        run.waiting.add(t.id);
      } else if (item.action === 'download') {
        const target = joinPath(pair.localPath, item.path);
        const dir = target.slice(0, target.lastIndexOf('/'));
        for (const id of this.#transfers.download(pair.account, pair.bucket, [pair.prefix + item.path], [], dir).ids) run.waiting.add(id);
      }
    }
    for (const id of run.waiting) this.#runs.set(id, run);
    const started: SyncRunStarted = { planId, transferIds: [...run.waiting] };
    void Promise.resolve().then(() => {
      for (const h of this.startedHandlers) h(started);
    });
    if (run.waiting.size === 0) void Promise.resolve().then(() => this.#finish(run));
    return { planId, pair: saved ? copyPair(saved) : null };
  }

  #save(pair: SyncPair): SyncPair {
    checkPair(pair);
    const same = this.#pairs.find(
      (p) => p.id === pair.id ||
        (p.account === pair.account && p.direction === pair.direction && p.localPath === pair.localPath &&
          p.bucket === pair.bucket && p.prefix === pair.prefix),
    );
    const saved: SyncPair = { ...copyPair(pair), id: same?.id ?? this.#w.newId('pair'), lastRun: same?.lastRun ?? null };
    this.#pairs = same ? this.#pairs.map((p) => (p === same ? saved : p)) : [...this.#pairs, saved];
    return saved;
  }

  #transferEnded(t: MockTransfer): void {
    const run = this.#runs.get(t.id);
    if (!run) return;
    this.#runs.delete(t.id);
    run.waiting.delete(t.id);
    if (t.state === 'completed') {
      run.transferred++;
      run.bytes += t.bytesTotal;
      if (t.direction === 'download') {
        const rel = t.localPath.slice(run.pair.localPath.replace(/\/+$/, '').length + 1);
        const object = this.#w.store.get(t.account)?.get(t.bucket)?.get(t.key);
        this.#folder(run.pair.localPath).set(rel, {
          size: t.bytesTotal, mtime: (object?.lastModified ?? 0) * 1000, content: object?.etag ?? t.id,
        });
      }
    } else run.failed++;
    if (run.waiting.size === 0) this.#finish(run);
  }

  #finish(run: Running): void {
    let problem = run.withheld;
    let deleted = 0;
    if (run.failed > 0 && run.deletes.length > 0) {
      problem = `${run.failed} transfer(s) of this sync did not complete, so nothing was deleted; run the sync again`;
    } else {
      const { pair } = run;
      for (const d of run.deletes) {
        if (pair.direction === 'upload') this.#w.store.get(pair.account)?.get(pair.bucket)?.delete(pair.prefix + d.path);
        else this.#folder(pair.localPath).delete(d.path);
        deleted++;
      }
    }
    const result: SyncRun = {
      finishedAt: this.#w.now(), transferred: run.transferred, bytes: run.bytes, deleted, failed: run.failed, problem,
    };
    const saved = this.#pairs.find((p) => p.id === run.pairId);
    if (saved) this.#pairs = this.#pairs.map((p) => (p === saved ? { ...p, lastRun: { ...result } } : p));
    const event: SyncFinished = { planId: run.planId, pairId: run.pairId, run: result, error: null };
    for (const h of this.handlers) h({ ...event, run: { ...result } });
  }

  #folder(path: string): Map<string, LocalFile> {
    let f = this.folders.get(path);
    if (!f) {
      f = new Map();
      this.folders.set(path, f);
    }
    return f;
  }

  #localEntries(pair: SyncPair): Map<string, Entry> {
    const out = new Map<string, Entry>();
    for (const [rel, f] of this.folders.get(pair.localPath) ?? []) {
      if (!isIgnored(rel, pair.exclude)) out.set(rel, { size: f.size, time: f.mtime, content: f.content });
    }
    return out;
  }

  #remoteEntries(pair: SyncPair): Map<string, Entry> {
    const out = new Map<string, Entry>();
    for (const [key, o] of this.#w.bucket(pair.account, pair.bucket)) {
      if (!key.startsWith(pair.prefix) || key.endsWith('/')) continue;
      const rel = key.slice(pair.prefix.length);
      if (!isIgnored(rel, pair.exclude)) out.set(rel, { size: o.size, time: (o.lastModified ?? 0) * 1000, content: o.etag ?? '' });
    }
    return out;
  }
}

/** Why the destination entry is not the source's, or null when it is the same. */
function differs(s: Entry, d: Entry | undefined, compare: Compare, upload: boolean): string | null {
  if (!d) return 'new';
  if (s.size !== d.size) return 'size differs';
  if (compare === 'sizeOnly') return null;
  if (compare === 'checksum') return s.content === d.content ? null : 'content differs';
  if (upload) return s.time > d.time ? 'the file is newer' : null;
  return Math.abs(s.time - d.time) > 1000 ? 'the modification times differ' : null;
}

function checkPair(pair: SyncPair): void {
  if (!isAbsolutePath(pair.localPath)) {
    throw backendError('invalid_input', `${pair.localPath} is not a full path; choose the folder again`);
  }
  if (pair.prefix !== normalizePrefix(pair.prefix)) throw backendError('invalid_input', `"${pair.prefix}" is not a prefix`);
}

function joinPath(folder: string, rel: string): string {
  return `${folder.replace(/\/+$/, '')}/${rel}`;
}

function copyPair(p: SyncPair): SyncPair {
  return { ...p, exclude: [...p.exclude], lastRun: p.lastRun ? { ...p.lastRun } : null };
}

// What the simulated engine holds, shared by the mock's domains: every account's buckets and objects,
// the transfers, the settings, the local files it has been told about, and the UI's listeners for
// lifecycle changes and progress. The domains (accounts, objects, transfers, watch) read and change
// it; index.ts composes them into MockBackend.
import { DEFAULT_SETTINGS } from '../../settings/form';
import { backendError } from '../errors';
import type { Backend, BackendError, ObjectInfo, ProgressSnapshot, Settings, Transfer, TransferEvent, TransferState } from '../types';

export const MIB = 1024 * 1024;
/** One step of the virtual clock. */
export const TICK_MS = 100;

/** The names of Backend's methods (what failCall can make fail). */
export type Method = {
  [K in keyof Backend]: Backend[K] extends (...args: never[]) => unknown ? K : never;
}[keyof Backend];

export interface MockTransfer extends Transfer {
  speed: number;
  /** Bytes at which this transfer fails (set by failNext). */
  failAt: number | null;
  failWith: BackendError | null;
}

/** key → object */
export type Bucket = Map<string, ObjectInfo>;

export class World {
  readonly now: () => number;
  /** account → bucket → key → object */
  readonly store = new Map<string, Map<string, Bucket>>();
  readonly transfers = new Map<string, MockTransfer>();
  settings: Settings = { ...DEFAULT_SETTINGS };
  readonly localFiles = new Map<string, number>();
  /** When an account's temporary credentials expire (unix seconds); accounts not here have long-term keys. */
  readonly credentialsExpiry = new Map<string, number>();
  readonly progressHandlers = new Set<(batch: ProgressSnapshot[]) => void>();
  readonly eventHandlers = new Set<(event: TransferEvent) => void>();
  /** Called after a transfer completed or failed and its event went out. */
  readonly finishedHooks: ((t: MockTransfer) => void)[] = [];
  readonly failCalls = new Map<Method, BackendError>();
  #nextId = 1;

  constructor(now: () => number) {
    this.now = now;
  }

  /** A fresh id, ordered like the engine's UUIDv7s. */
  newId(suffix: string): string {
    return idOf(this.#nextId++, suffix);
  }

  /** Keeps the next `count` id numbers for rows made later (see MockTransfers.addHistory); the first. */
  reserveIds(count: number): number {
    const first = this.#nextId;
    this.#nextId += count;
    return first;
  }

  /** Every Backend call passes here first: it is asynchronous, and fails once when failCall asked. */
  async gate(method: Method): Promise<void> {
    await Promise.resolve();
    const failure = this.failCalls.get(method);
    if (failure) {
      this.failCalls.delete(method);
      throw { ...failure };
    }
  }

  account(name: string): Map<string, Bucket> {
    const a = this.store.get(name);
    if (!a) throw backendError('not_found', `there is no account named "${name}"`);
    return a;
  }

  bucket(account: string, bucket: string): Bucket {
    const b = this.account(account).get(bucket);
    if (!b) throw backendError('not_found', `the bucket "${bucket}" does not exist`);
    return b;
  }

  /** The size of a local file: the one given by addLocalFile, or one derived from its name. */
  fileSize(path: string): number {
    return this.localFiles.get(path) ?? sizeFromName(path);
  }

  emitEvent(t: MockTransfer): void {
    const event: TransferEvent = { id: t.id, state: t.state, error: t.error ? { ...t.error } : null };
    if (t.state === 'completed' && t.verified) {
      event.verified = t.verified;
      event.verifiedWords = verifiedWords(t.verified);
    }
    for (const h of this.eventHandlers) h(event);
  }
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

export function isTerminal(state: TransferState): boolean {
  return state === 'completed' || state === 'cancelled';
}

/** The id numbered `n` (the order of creation), as newId makes it. */
export function idOf(n: number, suffix: string): string {
  return `0190${String(n).padStart(8, '0')}-${suffix}`;
}

/** The number of an id made by newId: its place in the queue, the mock's page cursor. */
export function seqOf(id: string): number {
  return Number(id.slice(4, 12));
}

/** An id as the engine's messages show it. */
export function short(id: string): string {
  return id.slice(0, 12);
}

/** What the engine says a download was verified against, for the mock's checksums ("the server's CRC32C"). */
export function verifiedWords(verified: string): string {
  return `the server's ${verified}`;
}

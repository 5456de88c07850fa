// The watched folders as the UI sees them: listed once, then kept current by "watch://state" events, each
// carrying a whole folder. The backend announces every change with an event, including those an action
// caused, so an action's own answer is taken only when no event for that folder arrived while it ran
// (the event is newer). Events for a removed folder, arriving late, do not bring it back.
import { messageOf } from '../backend/errors';
import type { Backend, NewWatchedFolder, Unsubscribe, WatchedFolder } from '../backend/types';

function inOrder(folders: WatchedFolder[]): WatchedFolder[] {
  return folders.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export class WatchedFoldersState {
  readonly #backend: Backend;
  /** Oldest first. Replaced (never mutated) on every change. */
  folders = $state.raw<WatchedFolder[]>([]);
  loaded = $state(false);
  error = $state<string | null>(null);
  /** Set when the live updates could not be subscribed to. */
  streamError = $state<string | null>(null);

  #seq = 0;
  /** Folder id → the sequence number of the last change applied to it. */
  readonly #changed = new Map<string, number>();
  readonly #removed = new Set<string>();

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  /** Subscribes to the changes, then lists the folders (listed even if the subscription fails). */
  async start(): Promise<Unsubscribe> {
    let stop: Unsubscribe | null = null;
    try {
      stop = await this.#backend.onWatchedChanged((f) => this.apply(f));
    } catch (e) {
      this.streamError = messageOf(e);
    }
    await this.load();
    return () => stop?.();
  }

  async load(): Promise<void> {
    const asked = this.#seq;
    let list: WatchedFolder[];
    try {
      list = await this.#backend.listWatched();
    } catch (e) {
      this.error = messageOf(e);
      this.loaded = true;
      return;
    }
    this.error = null;
    const newer = new Map(this.folders.filter((f) => this.#changedSince(f.id, asked)).map((f) => [f.id, f]));
    const next = list.filter((f) => !this.#removed.has(f.id)).map((f) => newer.get(f.id) ?? f);
    const listed = new Set(list.map((f) => f.id));
    for (const f of newer.values()) if (!listed.has(f.id)) next.push(f);
    this.folders = inOrder(next);
    this.loaded = true;
  }

  /** Takes a folder as the backend now has it. */
  apply(folder: WatchedFolder): void {
    if (this.#removed.has(folder.id)) return;
    this.#changed.set(folder.id, ++this.#seq);
    const known = this.folders.some((f) => f.id === folder.id);
    this.folders = known ? this.folders.map((f) => (f.id === folder.id ? folder : f)) : inOrder([...this.folders, folder]);
  }

  get(id: string): WatchedFolder | undefined {
    return this.folders.find((f) => f.id === id);
  }

  /** Folders that stopped with an error. */
  get failedCount(): number {
    return this.folders.filter((f) => f.state === 'error').length;
  }

  /** Starts watching; rejects with the backend's {kind, message} (e.g. already_exists). */
  add(folder: NewWatchedFolder): Promise<WatchedFolder> {
    return this.#act(() => this.#backend.addWatched(folder));
  }
  pause(id: string): Promise<WatchedFolder> {
    return this.#act(() => this.#backend.pauseWatched(id));
  }
  resume(id: string): Promise<WatchedFolder> {
    return this.#act(() => this.#backend.resumeWatched(id));
  }

  /** Stops watching; what was uploaded stays in the bucket. */
  async remove(id: string): Promise<void> {
    await this.#backend.removeWatched(id);
    this.#removed.add(id);
    this.#changed.delete(id);
    this.folders = this.folders.filter((f) => f.id !== id);
  }

  async #act(call: () => Promise<WatchedFolder>): Promise<WatchedFolder> {
    const asked = this.#seq;
    const folder = await call();
    if (!this.#changedSince(folder.id, asked)) this.apply(folder);
    return this.get(folder.id) ?? folder;
  }

  #changedSince(id: string, seq: number): boolean {
    return (this.#changed.get(id) ?? 0) > seq;
  }
}

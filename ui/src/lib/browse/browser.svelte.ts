// What the main pane shows: one account's bucket at one prefix, its listing and the selection. The
// listing streams: the first page shows at once, later ones are added as they arrive, and moving to
// another folder cancels it. Rows are kept compactly (rows.ts), sorted and filtered here.
import { SvelteSet } from 'svelte/reactivity';
import { messageOf } from '../backend/errors';
import type { Backend, DeleteProgress, Deleted, Enqueued, ObjectEdit, ObjectInfo, ObjectProperties, Place, Preview, Tally } from '../backend/types';
import { destinationLabel } from './paths';
import type { Step } from './pasting';
import { boundsLabel, NO_BOUNDS, searchQuery, type SearchBounds } from './search';
import { BY_NAME, matching, ObjectTable, objectRows, prefixRows, RowList, type Sort, type SortKey } from './rows';

export interface Location {
  account: string;
  bucket: string;
  prefix: string;
}

/** A snapshot of the rows on screen: folders first, then objects, filtered and sorted. */
export class Rows {
  constructor(
    readonly folders: readonly number[],
    readonly objects: Int32Array,
  ) {}

  get length(): number {
    return this.folders.length + this.objects.length;
  }

  /** The row at position `i`: an object index (>= 0) or -1 - a prefix index. */
  at(i: number): number {
    return i < this.folders.length ? this.folders[i] : this.objects[i - this.folders.length];
  }
}

export class BrowserState {
  readonly #backend: Backend;
  #request = 0;
  #listing: { cancel(): void } | null = null;
  /** The objects of the folder on screen, compactly (see rows.ts). */
  #table = new ObjectTable();
  #objectRows = new RowList();
  #rearrange: ReturnType<typeof setTimeout> | null = null;
  /** Changes when the table is replaced, so rows drawn from it are drawn again. */
  #generation = $state(0);
  location = $state.raw<Location | null>(null);
  /** Sub-prefixes of the folder on screen, as they arrived. */
  prefixes = $state.raw<string[]>([]);
  /** What the list shows, rebuilt as pages arrive and when the sort or filter changes. */
  rows = $state.raw(new Rows([], new Int32Array()));
  /** Whether the first page has arrived (before, the list shows "Loading…"). */
  loaded = $state(false);
  /** Whether pages are still arriving. */
  loading = $state(false);
  /** Objects received so far. */
  count = $state(0);
  sort = $state.raw<Sort>(BY_NAME);
  /** The search whose matches are on screen instead of the folder's listing, with its running totals. */
  search = $state.raw<{ query: string; looked: number; matched: number; done: boolean } | null>(null);
  filter = $state('');
  /** The search's optional size and date bounds, as the form holds them. */
  searchBounds = $state<SearchBounds>({ ...NO_BOUNDS });
  error = $state<string | null>(null);
  /** Selected object keys and prefixes (prefixes end with '/'). */
  readonly selected = new SvelteSet<string>();

  constructor(backend: Backend) {
    this.#backend = backend;
  }

  get destination(): string | null {
    return this.location ? destinationLabel(this.location.bucket, this.location.prefix) : null;
  }

  async open(account: string, bucket: string, prefix = ''): Promise<void> {
    const moved = !this.location || this.location.account !== account || this.location.bucket !== bucket || this.location.prefix !== prefix;
    this.location = { account, bucket, prefix };
    this.selected.clear();
    this.search = null;
    if (moved) this.filter = '';
    this.#reset();
    await this.refresh();
  }

  /** Shows nothing (the account or bucket went away). */
  close(): void {
    this.#stop();
    this.search = null;
    this.location = null;
    this.error = null;
    this.#reset();
    this.selected.clear();
  }

  /** The key or prefix a row stands for. */
  keyOf(row: number): string {
    void this.#generation;
    return row < 0 ? this.prefixes[-1 - row] : this.#table.keys[row];
  }

  /** The object a row (>= 0) stands for. */
  object(row: number): ObjectInfo {
    void this.#generation;
    return this.#table.object(row);
  }

  /** The listed objects among `keys` (their sizes, for the delete confirmation). */
  listedObjects(keys: string[]): ObjectInfo[] {
    void this.#generation;
    const wanted = new Set(keys);
    const out: ObjectInfo[] = [];
    const t = this.#table;
    for (let i = 0; i < t.keys.length && out.length < wanted.size; i++) {
      if (wanted.has(t.keys[i])) out.push(t.object(i));
    }
    return out;
  }

  /** Lists the folder again from its first page; the listing or search under way (if any) stops. */
  async refresh(): Promise<void> {
    const at = this.location;
    if (!at) return;
    this.search = null;
    await this.#stream((onPage) => this.#backend.listObjects(at.account, at.bucket, at.prefix, (page) => onPage(page.objects, page.prefixes)));
  }

  /**
   * Searches every level below the folder on screen for names matching the filter box (a glob or a
   * substring); the matches replace the rows as they stream in, with a running count.
   */
  async searchBelow(): Promise<void> {
    const at = this.location;
    const name = this.filter.trim();
    if (!at || !name) return;
    const query = searchQuery(name, this.searchBounds);
    if ('problem' in query) throw { kind: 'invalid_input', message: `Search: ${query.problem}.` };
    const label = [`“${name}”`, boundsLabel(this.searchBounds)].filter(Boolean).join(', ');
    this.filter = '';
    this.search = { query: label, looked: 0, matched: 0, done: false };
    await this.#stream((onPage) =>
      this.#backend.searchObjects(at.account, at.bucket, at.prefix, query, (found) => {
        this.search = { query: label, looked: found.soFar.listed.objects, matched: found.soFar.matched, done: false };
        onPage(found.objects, []);
      }),
    );
    if (this.search?.query === label) this.search = { ...this.search, done: true };
  }

  /** Back from search results to the folder's listing. */
  async endSearch(): Promise<void> {
    this.filter = '';
    await this.refresh();
  }

  /** Runs a listing or search; its pages replace the rows from the first on. */
  async #stream(start: (onPage: (objects: ObjectInfo[], prefixes: string[]) => void) => { done: Promise<unknown>; cancel(): void }): Promise<void> {
    this.#stop();
    const request = ++this.#request;
    const current = () => request === this.#request;
    const table = new ObjectTable();
    let prefixes: string[] = [];
    let first = true;
    this.loading = true;
    const listing = start((objects, newPrefixes) => {
      if (!current()) return;
      if (first) {
        // The old rows stay on screen until the new listing's first page replaces them.
        first = false;
        this.#table = table;
        this.#generation++;
        this.#objectRows = new RowList();
        this.error = null;
        this.loaded = true;
      }
      const from = table.length;
      table.add(objects);
      this.count = table.length;
      if (newPrefixes.length) prefixes = [...prefixes, ...newPrefixes];
      this.prefixes = prefixes;
      this.#arrived(from, from === 0 || newPrefixes.length > 0);
    });
    this.#listing = listing;
    try {
      await listing.done;
      if (!current()) return;
      if (first) {
        this.#reset();
        this.loaded = true;
      }
      this.#forgetGone();
    } catch (e) {
      if (!current()) return;
      this.#reset();
      this.error = messageOf(e);
    } finally {
      if (current()) {
        this.loading = false;
        this.#listing = null;
        if (this.#rearrange !== null) this.#arrange();
      }
    }
  }

  /** Sorts by `key`; the same key again reverses the order. */
  sortBy(key: SortKey): void {
    this.sort = { key, descending: this.sort.key === key ? !this.sort.descending : key !== 'name' };
    this.#arrange();
  }

  setFilter(text: string): void {
    this.filter = text;
    this.#arrange();
  }

  /** New objects from `from` on arrived: in key order they are appended; any other order waits a moment and sorts again. */
  #arrived(from: number, newPrefixes: boolean): void {
    if (this.sort.key === 'name' && !this.sort.descending) {
      matching(this.#table, this.location?.prefix ?? '', this.filter, from, this.#objectRows);
      const folders = newPrefixes ? this.#folderRows() : this.rows.folders;
      this.rows = new Rows(folders, this.#objectRows.rows);
    } else {
      this.#rearrange ??= setTimeout(() => this.#arrange(), 300);
    }
  }

  #folderRows(): number[] {
    return prefixRows(this.prefixes, this.location?.prefix ?? '', this.filter, this.sort);
  }

  #arrange(): void {
    if (this.#rearrange !== null) clearTimeout(this.#rearrange);
    this.#rearrange = null;
    const prefix = this.location?.prefix ?? '';
    this.#objectRows = objectRows(this.#table, prefix, this.filter, this.sort);
    this.rows = new Rows(this.#folderRows(), this.#objectRows.rows);
  }

  #stop(): void {
    this.#request++;
    this.#listing?.cancel();
    this.#listing = null;
    if (this.#rearrange !== null) clearTimeout(this.#rearrange);
    this.#rearrange = null;
    this.loading = false;
  }

  #reset(): void {
    this.#table = new ObjectTable();
    this.#generation++;
    this.#objectRows = new RowList();
    this.prefixes = [];
    this.rows = new Rows([], new Int32Array());
    this.count = 0;
    this.loaded = false;
  }

  /** Forgets selected entries that are gone. */
  #forgetGone(): void {
    if (this.selected.size === 0) return;
    const present = new Set([...this.prefixes, ...this.#table.keys]);
    for (const k of [...this.selected]) if (!present.has(k)) this.selected.delete(k);
  }

  toggle(keyOrPrefix: string, on = !this.selected.has(keyOrPrefix)): void {
    if (on) this.selected.add(keyOrPrefix);
    else this.selected.delete(keyOrPrefix);
  }

  /** The keys and prefixes of every row shown (what "select all" selects). */
  get allKeys(): string[] {
    const rows = this.rows;
    const keys: string[] = [];
    for (let i = 0; i < rows.length; i++) keys.push(this.keyOf(rows.at(i)));
    return keys;
  }

  selectAll(on: boolean): void {
    this.selected.clear();
    if (on) for (const k of this.allKeys) this.selected.add(k);
  }

  /** The selection split into object keys and prefixes. */
  get selection(): { keys: string[]; prefixes: string[] } {
    const keys: string[] = [];
    const prefixes: string[] = [];
    for (const k of this.selected) (k.endsWith('/') ? prefixes : keys).push(k);
    return { keys, prefixes };
  }

  async upload(paths: string[]): Promise<Enqueued> {
    const at = this.location;
    if (!at) throw { kind: 'invalid_input', message: 'Choose a bucket first, then drop the files again.' };
    return this.#backend.uploadPaths(at.account, at.bucket, at.prefix, paths);
  }

  async delete(keys: string[], prefixes: string[], onProgress?: (p: DeleteProgress) => void): Promise<Deleted> {
    const at = this.location;
    if (!at) return { deleted: 0, failed: [] };
    const done = await this.#backend.deleteObjects(at.account, at.bucket, keys, prefixes, onProgress);
    await this.refresh();
    return done;
  }

  /** One object's properties, in the open bucket. */
  async properties(key: string): Promise<ObjectProperties> {
    const at = this.location;
    if (!at) throw { kind: 'invalid_input', message: 'Choose a bucket first.' };
    return this.#backend.objectProperties(at.account, at.bucket, key);
  }

  /** A preview of an object of the open bucket (nothing is saved). */
  async preview(key: string): Promise<Preview> {
    const at = this.location;
    if (!at) throw { kind: 'invalid_input', message: 'Choose a bucket first.' };
    return this.#backend.previewObject(at.account, at.bucket, key);
  }

  /** Rewrites an object's properties on the server; returns them as they are now. */
  async editProperties(key: string, edit: ObjectEdit): Promise<ObjectProperties> {
    const at = this.location;
    if (!at) throw { kind: 'invalid_input', message: 'Choose a bucket first.' };
    const after = await this.#backend.editObject(at.account, at.bucket, key, edit);
    await this.refresh();
    return after;
  }

  /**
   * Copies or moves (renames) an object or a folder within the open bucket, server-side: queued as
   * copy transfers (the listing is refreshed as they complete), then lists again.
   */
  async relocate(from: string, to: string, moveSource: boolean, replace: boolean): Promise<Enqueued> {
    const at = this.location;
    if (!at) throw { kind: 'invalid_input', message: 'Choose a bucket first.' };
    const done = await this.#backend.copyObjects(at.account, at.bucket, from, to, moveSource, replace);
    await this.refresh();
    return done;
  }

  /** Whether the folder on screen lists this key (or prefix). */
  holds(keyOrPrefix: string): boolean {
    void this.#generation;
    return keyOrPrefix.endsWith('/') ? this.prefixes.includes(keyOrPrefix) : this.#table.keys.includes(keyOrPrefix);
  }

  /**
   * Copies or moves each step in turn into the open bucket, from it (server-side, as `relocate`) or
   * from `source`, another bucket (server-side within one account, streamed through Ferry from
   * another); a name that exists at the destination is replaced only when `replace(step)` says so,
   * else that step is skipped. Lists again once at the end, also when a step fails (the error is
   * thrown after).
   */
  async relocateAll(
    steps: Step[],
    move: boolean,
    replace: (step: Step) => Promise<boolean>,
    source?: Place,
  ): Promise<{ done: Step[]; skipped: Step[]; objects: number }> {
    const at = this.location;
    if (!at) throw { kind: 'invalid_input', message: 'Choose a bucket first.' };
    const from = source ?? at;
    const into: Place | undefined = source ? { account: at.account, bucket: at.bucket } : undefined;
    const done: Step[] = [];
    const skipped: Step[] = [];
    let objects = 0;
    try {
      for (const step of steps) {
        let copied: Enqueued;
        try {
          copied = await this.#backend.copyObjects(from.account, from.bucket, step.from, step.to, move, false, into);
        } catch (e) {
          if ((e as { kind?: string })?.kind !== 'already_exists') throw e;
          if (!(await replace(step))) {
            skipped.push(step);
            continue;
          }
          copied = await this.#backend.copyObjects(from.account, from.bucket, step.from, step.to, move, true, into);
        }
        objects += copied.ids.length;
        done.push(step);
      }
    } finally {
      await this.refresh();
    }
    return { done, skipped, objects };
  }

  /** How many objects and bytes lie under the prefixes of the open bucket. */
  async tally(prefixes: string[]): Promise<Tally> {
    const at = this.location;
    if (!at || prefixes.length === 0) return { objects: 0, bytes: 0 };
    return this.#backend.tallyFolders(at.account, at.bucket, prefixes);
  }

  /** Asks where to, then downloads; null when the person cancelled the folder picker. */
  async download(keys: string[], prefixes: string[]): Promise<{ enqueued: Enqueued; dir: string } | null> {
    const at = this.location;
    if (!at) return null;
    const dir = await this.#backend.pickFolder('Download to…');
    if (!dir) return null;
    const enqueued = await this.#backend.download(at.account, at.bucket, keys, prefixes, dir);
    return { enqueued, dir };
  }
}

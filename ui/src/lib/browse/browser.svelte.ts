// What the main pane shows: one account's bucket at one prefix, its listing and the selection.
import { SvelteSet } from 'svelte/reactivity';
import { messageOf } from '../backend/errors';
import type { Backend, Copied, DeleteProgress, Deleted, Enqueued, Listing, ObjectProperties, Tally } from '../backend/types';
import { destinationLabel } from './paths';

export interface Location {
  account: string;
  bucket: string;
  prefix: string;
}

export class BrowserState {
  readonly #backend: Backend;
  #request = 0;
  location = $state.raw<Location | null>(null);
  listing = $state.raw<Listing | null>(null);
  loading = $state(false);
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
    this.location = { account, bucket, prefix };
    this.selected.clear();
    this.listing = null;
    await this.refresh();
  }

  /** Shows nothing (the account or bucket went away). */
  close(): void {
    this.#request++;
    this.location = null;
    this.listing = null;
    this.error = null;
    this.loading = false;
    this.selected.clear();
  }

  async refresh(): Promise<void> {
    const at = this.location;
    if (!at) return;
    const request = ++this.#request;
    this.loading = true;
    try {
      const listing = await this.#backend.listObjects(at.account, at.bucket, at.prefix);
      if (request !== this.#request) return;
      this.listing = listing;
      this.error = null;
      // Forget selected entries that are gone.
      const present = new Set([...listing.prefixes, ...listing.objects.map((o) => o.key)]);
      for (const k of [...this.selected]) if (!present.has(k)) this.selected.delete(k);
    } catch (e) {
      if (request !== this.#request) return;
      this.listing = null;
      this.error = messageOf(e);
    } finally {
      if (request === this.#request) this.loading = false;
    }
  }

  toggle(keyOrPrefix: string, on = !this.selected.has(keyOrPrefix)): void {
    if (on) this.selected.add(keyOrPrefix);
    else this.selected.delete(keyOrPrefix);
  }

  get allKeys(): string[] {
    return this.listing ? [...this.listing.prefixes, ...this.listing.objects.map((o) => o.key)] : [];
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

  /** Copies or moves (renames) an object or a folder within the open bucket, then lists again. */
  async relocate(from: string, to: string, moveSource: boolean, replace: boolean): Promise<Copied> {
    const at = this.location;
    if (!at) throw { kind: 'invalid_input', message: 'Choose a bucket first.' };
    const done = await this.#backend.copyObjects(at.account, at.bucket, from, to, moveSource, replace);
    await this.refresh();
    return done;
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

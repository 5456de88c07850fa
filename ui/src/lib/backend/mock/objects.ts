// Buckets and objects in the mock: listing one level at a time (folders as prefixes ending in '/') in
// pages of 1,000 delivered one after another like the engine's, creating buckets, deleting objects and
// whole prefixes, and presigned links. The local account's "ferry" bucket starts with a few objects.
// A generated folder (addGeneratedFolder) holds any number of objects made up as they are listed, so
// a million of them cost no memory until the UI keeps them; a gate holds pages from a number on.
import { bucketNameProblem } from '../../browse/paths';
import { backendError } from '../errors';
import type { Found, Link, Listed, Listing, ObjectInfo, SearchQuery, Searched } from '../types';
import { MIB, type World } from './world';

/** The longest a presigned link can last (S3's limit): 7 days. */
const MAX_LINK_SECS = 604800;
/** Objects and prefixes per page, as S3 answers by default. */
export const PAGE = 1000;

/** A folder of `count` made-up objects, `object-0000000.bin`…, listed as they are asked for. */
interface Generated {
  count: number;
  /** Unix seconds the newest of them was modified. */
  newest: number;
}

const where = (account: string, bucket: string, prefix: string) => `${account}\u0000${bucket}\u0000${prefix}`;

/** The `i`th object of a generated folder: sizes and times spread deterministically. */
export function generatedObject(prefix: string, g: Generated, i: number): ObjectInfo {
  const h = Math.imul(i + 1, 0x9e3779b1) >>> 0;
  return {
    key: `${prefix}object-${String(i).padStart(7, '0')}.bin`,
    size: h % (64 * MIB),
    lastModified: g.newest - (h % (400 * 86400)),
    etag: null,
  };
}

/** The engine's name match: a glob (`*`, `?`, `[…]`) or else a substring, any case, on the key's last segment. */
export function nameMatcher(pattern: string): (key: string) => boolean {
  const last = (key: string) => key.slice(key.lastIndexOf('/') + 1).toLowerCase();
  if (!/[*?[{]/.test(pattern)) {
    const needle = pattern.toLowerCase();
    return (key) => last(key).includes(needle);
  }
  const source = pattern
    .toLowerCase()
    .replace(/[.+^$()|\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  const re = new RegExp(`^${source}$`);
  return (key) => re.test(last(key));
}

export class MockObjects {
  readonly #w: World;
  readonly #generated = new Map<string, Generated>();
  /** Pages numbered this or higher (1 is a listing's first) wait until releasePages(). */
  #holdFrom = Infinity;
  #released: Promise<void> = Promise.resolve();
  #release: () => void = () => {};
  /** Pages every listing has delivered so far, and listings cancelled (test helpers). */
  pagesDelivered = 0;
  listingsCancelled = 0;

  constructor(w: World) {
    this.#w = w;
    const now = Math.floor(w.now() / 1000);
    const day = 86400;
    const seed: [string, number, number][] = [
      ['README.txt', 2_184, now - 40 * day],
      ['quarterly-report.pdf', 1_873_420, now - 12 * day],
      ['launch-video.mkv', 734 * MIB, now - 3 * day],
      ['photos/harbour-at-dawn.jpg', 4_812_003, now - 6 * day],
      ['photos/lighthouse.jpg', 3_301_554, now - 6 * day],
      ['photos/2025/ferry-deck.jpg', 5_120_777, now - 200 * day],
      ['backups/site-2026-03-01.tar.gz', 1_288 * MIB, now - 20 * day],
    ];
    const ferry = w.bucket('local', 'ferry');
    for (const [key, size, lastModified] of seed) ferry.set(key, { key, size, lastModified, etag: `"${key.length}"` });
  }

  listBuckets(account: string): string[] {
    return [...this.#w.account(account).keys()].sort();
  }

  createBucket(account: string, bucket: string): void {
    const problem = bucketNameProblem(bucket);
    if (problem) throw backendError('invalid_input', problem);
    const buckets = this.#w.account(account);
    if (buckets.has(bucket)) throw backendError('already_exists', `the bucket "${bucket}" already exists`);
    buckets.set(bucket, new Map());
  }

  addGeneratedFolder(account: string, bucket: string, prefix: string, count: number): void {
    this.#w.bucket(account, bucket);
    this.#generated.set(where(account, bucket, prefix), { count, newest: Math.floor(this.#w.now() / 1000) });
  }

  holdPagesFrom(page: number): void {
    this.#holdFrom = page;
    this.#released = new Promise((resolve) => (this.#release = resolve));
  }

  releasePages(): void {
    this.#holdFrom = Infinity;
    this.#release();
  }

  /** The pages of one level of `prefix`, made as they are asked for. */
  *pages(account: string, bucket: string, prefix: string): Generator<Listing> {
    const g = this.#generated.get(where(account, bucket, prefix));
    if (g) {
      for (let start = 0; start < g.count; start += PAGE) {
        const objects: ObjectInfo[] = [];
        for (let i = start; i < Math.min(g.count, start + PAGE); i++) objects.push(generatedObject(prefix, g, i));
        yield { prefixes: [], objects };
      }
      return;
    }
    const all = this.list(account, bucket, prefix);
    yield { prefixes: all.prefixes, objects: all.objects.slice(0, PAGE) };
    for (let start = PAGE; start < all.objects.length; start += PAGE) yield { prefixes: [], objects: all.objects.slice(start, start + PAGE) };
  }

  /** Delivers the pages of `prefix` one task after another, until the last or until `cancelled()`. */
  async stream(account: string, bucket: string, prefix: string, onPage: (page: Listing) => void, cancelled: () => boolean): Promise<Listed> {
    const listed: Listed = { pages: 0, objects: 0, prefixes: 0, bytes: 0, complete: false };
    for (const page of this.pages(account, bucket, prefix)) {
      if (listed.pages + 1 >= this.#holdFrom) await this.#released;
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (cancelled()) {
        this.listingsCancelled++;
        return listed;
      }
      listed.pages++;
      listed.objects += page.objects.length;
      listed.prefixes += page.prefixes.length;
      for (const o of page.objects) listed.bytes += o.size;
      this.pagesDelivered++;
      // A copy, as a page crossing from the engine would be (and with flat strings, as JSON gives).
      onPage(structuredClone(page));
    }
    return { ...listed, complete: true };
  }

  /** Every object under `prefix` at all levels, a page at a time: the stored ones, then generated folders'. */
  *allPages(account: string, bucket: string, prefix: string): Generator<ObjectInfo[]> {
    const stored = [...this.#w.bucket(account, bucket).values()].filter((o) => o.key.startsWith(prefix));
    stored.sort((a, b) => (a.key < b.key ? -1 : 1));
    for (let start = 0; start < stored.length; start += PAGE) yield stored.slice(start, start + PAGE).map((o) => ({ ...o }));
    for (const [at, g] of this.#generated) {
      const [a, b, folder] = at.split('\u0000');
      if (a !== account || b !== bucket || !folder.startsWith(prefix)) continue;
      for (let start = 0; start < g.count; start += PAGE) {
        const objects: ObjectInfo[] = [];
        for (let i = start; i < Math.min(g.count, start + PAGE); i++) objects.push(generatedObject(folder, g, i));
        yield objects;
      }
    }
  }

  /** Like the engine's search: every level under `prefix`, matches and running totals page by page. */
  async search(account: string, bucket: string, prefix: string, query: SearchQuery, onFound: (found: Found) => void, cancelled: () => boolean): Promise<Searched> {
    const matches = nameMatcher(query.name);
    const soFar: Searched = { listed: { pages: 0, objects: 0, prefixes: 0, bytes: 0, complete: false }, matched: 0, matchedBytes: 0 };
    for (const page of this.allPages(account, bucket, prefix)) {
      if (soFar.listed.pages + 1 >= this.#holdFrom) await this.#released;
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (cancelled()) {
        this.listingsCancelled++;
        return soFar;
      }
      const hits = page.filter((o) => matches(o.key) && o.size >= (query.minSize ?? 0) && o.size <= (query.maxSize ?? Infinity));
      soFar.listed.pages++;
      soFar.listed.objects += page.length;
      for (const o of page) soFar.listed.bytes += o.size;
      soFar.matched += hits.length;
      for (const o of hits) soFar.matchedBytes += o.size;
      this.pagesDelivered++;
      onFound(structuredClone({ objects: hits, soFar }));
    }
    return { ...soFar, listed: { ...soFar.listed, complete: true } };
  }

  list(account: string, bucket: string, prefix: string): Listing {
    const objects: ObjectInfo[] = [];
    const prefixes = new Set<string>();
    for (const at of this.#generated.keys()) {
      const [a, b, p] = at.split('\u0000');
      if (a !== account || b !== bucket || !p.startsWith(prefix) || p === prefix) continue;
      const rest = p.slice(prefix.length);
      prefixes.add(prefix + rest.slice(0, rest.indexOf('/') + 1));
    }
    for (const [key, info] of this.#w.bucket(account, bucket)) {
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash >= 0) prefixes.add(prefix + rest.slice(0, slash + 1));
      else objects.push({ ...info });
    }
    objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { prefixes: [...prefixes].sort(), objects };
  }

  /** Deletes the objects and everything under the prefixes; returns how many objects went. */
  delete(account: string, bucket: string, keys: string[], prefixes: string[]): number {
    const objects = this.#w.bucket(account, bucket);
    let n = 0;
    for (const key of keys) if (objects.delete(key)) n++;
    for (const p of prefixes) {
      for (const key of [...objects.keys()]) if (key.startsWith(p) && objects.delete(key)) n++;
      for (const [at, g] of [...this.#generated]) {
        const [a, b, folder] = at.split('\u0000');
        if (a === account && b === bucket && folder.startsWith(p) && this.#generated.delete(at)) n += g.count;
      }
    }
    return n;
  }

  presign(account: string, bucket: string, key: string, expiresSecs: number, download = false): Link {
    if (!this.#w.bucket(account, bucket).has(key)) throw backendError('not_found', `there is no object ${bucket}/${key}`);
    if (!(expiresSecs >= 1 && expiresSecs <= MAX_LINK_SECS)) {
      throw backendError('invalid_input', 'a link can last from 1 second to 7 days');
    }
    const now = Math.floor(this.#w.now() / 1000);
    const path = key.split('/').map(encodeURIComponent).join('/');
    const name = key.split('/').pop() ?? key;
    const asFile = download
      ? `&response-content-disposition=${encodeURIComponent(`attachment; filename="${name}"`)}`
      : '';
    return {
      url: `http://127.0.0.1:9000/${bucket}/${path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=${expiresSecs}${asFile}&X-Amz-Signature=mock${now.toString(16)}`,
      expiresAt: now + expiresSecs,
      expiresInSecs: expiresSecs,
    };
  }
}

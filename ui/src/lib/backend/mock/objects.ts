// Buckets and objects in the mock: listing one level at a time (folders as prefixes ending in '/') in
// pages of 1,000 delivered one after another like the engine's, creating buckets, deleting objects and
// whole prefixes, and presigned links. The local account's "ferry" bucket starts with a few objects.
// A generated folder (addGeneratedFolder) holds any number of objects made up as they are listed, so
// a million of them cost no memory until the UI keeps them; a gate holds pages from a number on.
import { baseName, bucketNameProblem } from '../../browse/paths';
import { backendError } from '../errors';
import type { DeleteProgress, Deleted, Enqueued, Found, Link, Listed, Listing, ObjectEdit, ObjectInfo, ObjectProperties, Place, Preview, SearchQuery, Searched, Tally } from '../types';
import { MIB, type MockTransfer, type World } from './world';

/** Content types the mock's properties know, by extension. */
const TYPES: Record<string, string> = {
  txt: 'text/plain',
  json: 'application/json',
  csv: 'text/csv',
  pdf: 'application/pdf',
  jpg: 'image/jpeg',
  png: 'image/png',
  mkv: 'video/x-matroska',
  gz: 'application/gzip',
};

/** Keys per DeleteObjects request (S3's limit, as the engine sends them). */
const DELETE_BATCH = 1000;

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
  /** Properties changed by `edit`, by object. */
  readonly #edited = new Map<string, ObjectProperties>();
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
      const within = (t: number | null) =>
        (query.modifiedAfter == null || (t !== null && t >= query.modifiedAfter)) &&
        (query.modifiedBefore == null || (t !== null && t <= query.modifiedBefore));
      const hits = page.filter((o) => matches(o.key) && o.size >= (query.minSize ?? 0) && o.size <= (query.maxSize ?? Infinity) && within(o.lastModified));
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

  /** Like the engine's size_of: every level under `prefix` (a search keeping everything), the running totals after each page. */
  async size(account: string, bucket: string, prefix: string, onProgress: (soFar: Listed) => void, cancelled: () => boolean): Promise<Listed> {
    const all = await this.search(account, bucket, prefix, { name: '*' }, (found) => onProgress({ ...found.soFar.listed }), cancelled);
    return all.listed;
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

  /** Keys the mock refuses to delete, like a bucket policy denying them. */
  readonly refusedDeletes = new Set<string>();

  /**
   * Deletes the objects and everything under the prefixes, 1,000 keys a "request" like the engine,
   * telling `onProgress` after each; reports how many went and each key refused.
   */
  delete(account: string, bucket: string, keys: string[], prefixes: string[], onProgress?: (p: DeleteProgress) => void): Deleted {
    const objects = this.#w.bucket(account, bucket);
    const doomed = [...new Set([...keys, ...[...objects.keys()].filter((k) => prefixes.some((p) => k.startsWith(p)))])];
    const done: Deleted = { deleted: 0, failed: [] };
    for (let i = 0; i < doomed.length; i += DELETE_BATCH) {
      for (const key of doomed.slice(i, i + DELETE_BATCH)) {
        if (this.refusedDeletes.has(key)) done.failed.push({ key, message: `delete ${bucket}/${key}: access denied` });
        else if (objects.delete(key)) done.deleted++;
      }
      onProgress?.({ handled: Math.min(i + DELETE_BATCH, doomed.length), total: doomed.length });
    }
    // Generated folders (a million objects for the listing tests) go whole.
    for (const p of prefixes) {
      for (const [at, g] of [...this.#generated]) {
        const [a, b, folder] = at.split('\u0000');
        if (a === account && b === bucket && folder.startsWith(p) && this.#generated.delete(at)) done.deleted += g.count;
      }
    }
    return done;
  }

  /** How many objects and bytes lie under the prefixes. */
  tally(account: string, bucket: string, prefixes: string[]): Tally {
    const t: Tally = { objects: 0, bytes: 0 };
    for (const [key, info] of this.#w.bucket(account, bucket)) {
      if (!prefixes.some((p) => key.startsWith(p))) continue;
      t.objects++;
      t.bytes += info.size;
    }
    return t;
  }

  /** One object's properties, as a HEAD gives them (with the edits made to it). */
  properties(account: string, bucket: string, key: string): ObjectProperties {
    const o = this.#w.bucket(account, bucket).get(key);
    if (!o) throw backendError('not_found', `no such object: s3://${bucket}/${key}`);
    return this.#edited.get(where(account, bucket, key)) ?? {
      key,
      size: o.size,
      lastModified: o.lastModified,
      etag: o.etag,
      contentType: TYPES[key.split('.').pop()?.toLowerCase() ?? ''] ?? 'application/octet-stream',
      cacheControl: null,
      contentDisposition: null,
      contentEncoding: null,
      storageClass: 'STANDARD',
      serverSideEncryption: null,
      versionId: null,
      checksums: { CRC32C: 'yZRlqg==' },
      checksumType: 'FULL_OBJECT',
      metadata: {},
    };
  }

  /**
   * A preview like the engine's: a text's first bytes (the mock's objects have no content, so a
   * deterministic sample stands in), a link for media (an SVG data URL for images), none otherwise.
   */
  preview(account: string, bucket: string, key: string): Preview {
    const p = this.properties(account, bucket, key);
    const type = p.contentType ?? 'application/octet-stream';
    const base = { contentType: type, size: p.size, text: null, truncated: false, url: null, reason: null };
    if (type.startsWith('text/') || type === 'application/json') {
      return { ...base, kind: 'text', text: `${key}\n${'·'.repeat(40)}\nline 1 of ${key}\nline 2 of ${key}\n`, truncated: p.size > 256 * 1024 };
    }
    if (type.startsWith('image/')) {
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="160" height="90"><rect width="160" height="90" fill="#2b6cb0"/><text x="10" y="50" fill="#fff">${key.replace(/[<&]/g, '')}</text></svg>`;
      return { ...base, kind: 'image', url: `data:image/svg+xml,${encodeURIComponent(svg)}` };
    }
    const media = type === 'application/pdf' ? 'pdf' : type.startsWith('audio/') ? 'audio' : type.startsWith('video/') ? 'video' : null;
    if (media) return { ...base, kind: media, url: `data:${type},` };
    return { ...base, kind: 'none', reason: `${type} has no preview; download it to open it` };
  }

  /** Rewrites an object's properties like the engine: what `edit` names changes, the rest stays. */
  edit(account: string, bucket: string, key: string, edit: ObjectEdit): ObjectProperties {
    const before = this.properties(account, bucket, key);
    const nothing = edit.contentType === undefined && edit.cacheControl === undefined && edit.contentDisposition === undefined
      && edit.storageClass === undefined && Object.keys(edit.metadata).length === 0 && edit.removeMetadata.length === 0;
    if (nothing) throw backendError('invalid_input', 'nothing to change: give a content type, cache control, content disposition, metadata or storage class');
    if (edit.contentType !== undefined && !/^[\w.+-]+\/[\w.+-]+/.test(edit.contentType)) {
      throw backendError('invalid_input', `\`${edit.contentType}\` is not a content type; write it like text/plain or image/png`);
    }
    const set = (v: string | undefined, old: string | null) => (v === undefined ? old : v === '' ? null : v);
    const metadata = { ...before.metadata };
    for (const name of edit.removeMetadata) delete metadata[name];
    Object.assign(metadata, edit.metadata);
    const after: ObjectProperties = {
      ...before,
      contentType: set(edit.contentType, before.contentType),
      cacheControl: set(edit.cacheControl, before.cacheControl),
      contentDisposition: set(edit.contentDisposition, before.contentDisposition),
      storageClass: set(edit.storageClass, before.storageClass),
      lastModified: Math.floor(this.#w.now() / 1000),
      metadata,
    };
    this.#edited.set(where(account, bucket, key), after);
    return after;
  }

  /**
   * Copies or moves an object, or a folder (`from` ending in '/'), to `to` in the same bucket or in
   * `into` (another bucket, of any account), like the engine: checked whole
   * first (the source exists, no destination inside the source, an existing destination refused
   * unless `replace`), then every object copied (each a `copy` transfer in the list), and for a move
   * each source deleted.
   */
  copy(account: string, bucket: string, from: string, to: string, moveSource: boolean, replace: boolean, into?: Place): Enqueued {
    const objects = this.#w.bucket(account, bucket);
    const target = into ? this.#w.bucket(into.account, into.bucket) : objects;
    const folder = from.endsWith('/');
    const elsewhere = target !== objects;
    if (!elsewhere && folder && to.startsWith(from)) throw backendError('invalid_input', `${to} is inside ${from}; choose a destination outside it`);
    if (!elsewhere && to === from) throw backendError('invalid_input', `${from} is its own destination; choose another name`);
    const pairs = folder
      ? [...objects.keys()].filter((k) => k.startsWith(from)).map((k) => [k, to + k.slice(from.length)] as const)
      : objects.has(from)
        ? [[from, to] as const]
        : [];
    if (pairs.length === 0) throw backendError('not_found', `nothing found at s3://${bucket}/${from}`);
    const taken = pairs.filter(([, t]) => target.has(t)).map(([, t]) => t);
    if (taken.length && !replace) {
      throw backendError('already_exists', `${taken.slice(0, 5).join(', ')} already exist${taken.length === 1 ? 's' : ''}; nothing was copied`);
    }
    const queued: Enqueued = { ids: [], resumed: 0, skipped: [] };
    for (const [f, t] of pairs) {
      const o = objects.get(f)!;
      target.set(t, { ...o, key: t });
      if (moveSource) objects.delete(f);
      queued.ids.push(this.#copied(into?.account ?? account, bucket, into?.bucket ?? bucket, f, t, o.size));
    }
    return queued;
  }

  /**
   * A copy as the engine queues it: a `copy` transfer on the destination's account (finished at once
   * here), its source `s3://fromBucket/from`, announced; its id.
   */
  #copied(account: string, fromBucket: string, bucket: string, from: string, to: string, size: number): string {
    const now = this.#w.now();
    const t: MockTransfer = {
      id: this.#w.newId('copy'), direction: 'copy', state: 'completed', account, bucket, key: to, localPath: `s3://${fromBucket}/${from}`,
      name: baseName(to), bytesDone: size, bytesTotal: size, error: null, createdAt: now, finishedAt: now,
      verified: null, speed: 0, failAt: null, failWith: null,
    };
    this.#w.transfers.set(t.id, t);
    this.#w.emitEvent(t);
    return t.id;
  }

  presign(account: string, bucket: string, key: string, expiresSecs: number, download = false): Link {
    if (!this.#w.bucket(account, bucket).has(key)) throw backendError('not_found', `there is no object ${bucket}/${key}`);
    if (!(expiresSecs >= 1 && expiresSecs <= MAX_LINK_SECS)) {
      throw backendError('invalid_input', 'a link can last from 1 second to 7 days');
    }
    const now = Math.floor(this.#w.now() / 1000);
    // Like the engine: a link signed with temporary credentials ends with them, and says why.
    const until = this.#w.credentialsExpiry.get(account);
    let limitedBy: string | null = null;
    if (until !== undefined && until < now + expiresSecs) {
      if (until <= now) throw backendError('access_denied', "the account's temporary credentials expired; sign in again, then make the link");
      const when = new Date(until * 1000).toISOString().slice(0, 19).replace('T', ' ');
      limitedBy = `the account's temporary credentials expire at ${when} UTC; sign in again or use long-term keys for longer links`;
      expiresSecs = until - now;
    }
    const path = key.split('/').map(encodeURIComponent).join('/');
    const name = key.split('/').pop() ?? key;
    const asFile = download
      ? `&response-content-disposition=${encodeURIComponent(`attachment; filename="${name}"`)}`
      : '';
    return {
      url: `http://127.0.0.1:9000/${bucket}/${path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=${expiresSecs}${asFile}&X-Amz-Signature=mock${now.toString(16)}`,
      expiresAt: now + expiresSecs,
      expiresInSecs: expiresSecs,
      limitedBy,
    };
  }
}

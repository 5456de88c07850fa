// Buckets and objects in the mock: listing one level at a time (folders as prefixes ending in '/'),
// creating buckets, deleting objects and whole prefixes, and presigned links. The local account's
// "ferry" bucket starts with a few objects.
import { bucketNameProblem } from '../../browse/paths';
import { backendError } from '../errors';
import type { Copied, DeleteProgress, Deleted, Link, Listing, ObjectInfo, ObjectProperties, Tally } from '../types';
import { MIB, type World } from './world';

/** Content types the mock's properties know, by extension. */
const TYPES: Record<string, string> = {
  txt: 'text/plain',
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

export class MockObjects {
  readonly #w: World;

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

  list(account: string, bucket: string, prefix: string): Listing {
    const objects: ObjectInfo[] = [];
    const prefixes = new Set<string>();
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

  /** One object's properties, as a HEAD gives them. */
  properties(account: string, bucket: string, key: string): ObjectProperties {
    const o = this.#w.bucket(account, bucket).get(key);
    if (!o) throw backendError('not_found', `no such object: s3://${bucket}/${key}`);
    return {
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
   * Copies or moves an object, or a folder (`from` ending in '/'), like the engine: checked whole
   * first (the source exists, no destination inside the source, an existing destination refused
   * unless `replace`), then every object copied, and for a move each source deleted.
   */
  copy(account: string, bucket: string, from: string, to: string, moveSource: boolean, replace: boolean): Copied {
    const objects = this.#w.bucket(account, bucket);
    const folder = from.endsWith('/');
    if (folder && to.startsWith(from)) throw backendError('invalid_input', `${to} is inside ${from}; choose a destination outside it`);
    if (to === from) throw backendError('invalid_input', `${from} is its own destination; choose another name`);
    const pairs = folder
      ? [...objects.keys()].filter((k) => k.startsWith(from)).map((k) => [k, to + k.slice(from.length)] as const)
      : objects.has(from)
        ? [[from, to] as const]
        : [];
    if (pairs.length === 0) throw backendError('not_found', `nothing found at s3://${bucket}/${from}`);
    const taken = pairs.filter(([, t]) => objects.has(t)).map(([, t]) => t);
    if (taken.length && !replace) {
      throw backendError('already_exists', `${taken.slice(0, 5).join(', ')} already exist${taken.length === 1 ? 's' : ''}; nothing was copied`);
    }
    const done: Copied = { copied: 0, bytes: 0, moved: 0, skipped: [] };
    for (const [f, t] of pairs) {
      const o = objects.get(f)!;
      objects.set(t, { ...o, key: t });
      done.copied++;
      done.bytes += o.size;
      if (moveSource) {
        objects.delete(f);
        done.moved++;
      }
    }
    return done;
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

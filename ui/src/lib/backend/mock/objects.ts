// Buckets and objects in the mock: listing one level at a time (folders as prefixes ending in '/'),
// creating buckets, deleting objects and whole prefixes, and presigned links. The local account's
// "ferry" bucket starts with a few objects.
import { bucketNameProblem } from '../../browse/paths';
import { backendError } from '../errors';
import type { Link, Listing, ObjectInfo } from '../types';
import { MIB, type World } from './world';

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

  /** Deletes the objects and everything under the prefixes; returns how many objects went. */
  delete(account: string, bucket: string, keys: string[], prefixes: string[]): number {
    const objects = this.#w.bucket(account, bucket);
    let n = 0;
    for (const key of keys) if (objects.delete(key)) n++;
    for (const p of prefixes) {
      for (const key of [...objects.keys()]) if (key.startsWith(p) && objects.delete(key)) n++;
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

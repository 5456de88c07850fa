// Object versions in the mock, like a bucket with versioning on: each object's history (newest first),
// delete markers included. An object with no history given has one version, its current one ("null",
// as S3 names the version of an object written before versioning). Restoring copies a version over the
// object as a new version; deleting a version removes exactly it, and the one below becomes current
// (the object is gone while a delete marker is on top). The local account's "ferry" bucket starts with a
// history for quarterly-report.pdf and an object deleted since (old-notes.txt).
import { backendError } from '../errors';
import type { Listed, ObjectVersion, Restored, VersionListing } from '../types';
import { PAGE } from './objects';
import type { World } from './world';

const where = (account: string, bucket: string, key: string) => `${account}\u0000${bucket}\u0000${key}`;

/** A version as a test gives it (newest first): its size and age, or a delete marker. */
export interface VersionSeed {
  size?: number;
  /** Unix seconds. */
  lastModified: number;
  deleteMarker?: boolean;
}

export class MockVersions {
  readonly #w: World;
  /** account/bucket/key → versions, newest first; the first is the current one. */
  readonly #history = new Map<string, ObjectVersion[]>();
  #next = 1;

  constructor(w: World) {
    this.#w = w;
    const now = Math.floor(w.now() / 1000);
    const day = 86400;
    const report = w.bucket('local', 'ferry').get('quarterly-report.pdf');
    if (report) {
      this.setHistory('local', 'ferry', 'quarterly-report.pdf', [
        { size: report.size, lastModified: report.lastModified ?? now },
        { lastModified: now - 20 * day, deleteMarker: true },
        { size: 1_650_112, lastModified: now - 45 * day },
        { size: 1_204_877, lastModified: now - 90 * day },
      ]);
    }
    this.setHistory('local', 'ferry', 'old-notes.txt', [
      { lastModified: now - 2 * day, deleteMarker: true },
      { size: 912, lastModified: now - 30 * day },
    ]);
  }

  /** Gives `key` this history (newest first) and makes the object what its newest entry says. */
  setHistory(account: string, bucket: string, key: string, seeds: VersionSeed[]): void {
    const versions = seeds.map((s, i) => ({
      key,
      versionId: this.#newId(),
      size: s.deleteMarker ? 0 : (s.size ?? 0),
      lastModified: s.lastModified,
      etag: s.deleteMarker ? null : `"v${s.size ?? 0}"`,
      isLatest: i === 0,
      isDeleteMarker: !!s.deleteMarker,
    }));
    this.#history.set(where(account, bucket, key), versions);
    this.#settle(account, bucket, key, versions);
  }

  /** Every version of `key`, newest first (a copy). */
  of(account: string, bucket: string, key: string): ObjectVersion[] {
    const objects = this.#w.bucket(account, bucket);
    const kept = this.#history.get(where(account, bucket, key));
    if (kept) return kept.map((v) => ({ ...v }));
    const o = objects.get(key);
    if (!o) return [];
    return [{ key, versionId: 'null', size: o.size, lastModified: o.lastModified, etag: o.etag, isLatest: true, isDeleteMarker: false }];
  }

  /** One level of `prefix` as ListObjectVersions gives it: sub-prefixes, and each key's versions. */
  list(account: string, bucket: string, prefix: string): VersionListing {
    const keys = new Set<string>();
    const prefixes = new Set<string>();
    const consider = (key: string) => {
      if (!key.startsWith(prefix)) return;
      const rest = key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash >= 0) prefixes.add(prefix + rest.slice(0, slash + 1));
      else keys.add(key);
    };
    for (const key of this.#w.bucket(account, bucket).keys()) consider(key);
    for (const at of this.#history.keys()) {
      const [a, b, key] = at.split('\u0000');
      if (a === account && b === bucket) consider(key);
    }
    const versions = [...keys].sort().flatMap((k) => this.of(account, bucket, k));
    return { prefixes: [...prefixes].sort(), versions };
  }

  /** Delivers `list` in pages of 1,000 versions, one task after another, until `cancelled()`. */
  async stream(account: string, bucket: string, prefix: string, onPage: (page: VersionListing) => void, cancelled: () => boolean): Promise<Listed> {
    const all = this.list(account, bucket, prefix);
    const listed: Listed = { pages: 0, objects: 0, prefixes: 0, bytes: 0, complete: false };
    for (let start = 0; start === 0 || start < all.versions.length; start += PAGE) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (cancelled()) return listed;
      const page = { prefixes: start === 0 ? all.prefixes : [], versions: all.versions.slice(start, start + PAGE) };
      listed.pages++;
      listed.objects += page.versions.length;
      listed.prefixes += page.prefixes.length;
      for (const v of page.versions) listed.bytes += v.size;
      onPage(structuredClone(page));
    }
    return { ...listed, complete: true };
  }

  /** The version `versionId` of `key`; one it does not have fails as the engine does. */
  find(account: string, bucket: string, key: string, versionId: string): ObjectVersion {
    const v = this.of(account, bucket, key).find((x) => x.versionId === versionId);
    if (!v) throw backendError('not_found', `s3://${bucket}/${key} has no version \`${versionId}\`; \`ferry ls --versions s3://${bucket}/${key}\` lists its versions`);
    return v;
  }

  restore(account: string, bucket: string, key: string, versionId: string): Restored {
    const v = this.find(account, bucket, key, versionId);
    const what = `restore version \`${versionId}\` of s3://${bucket}/${key}`;
    if (v.isDeleteMarker) throw backendError('invalid_input', `${what}: it is a delete marker, which has no bytes; delete the marker instead to make the version before it current`);
    if (v.isLatest) throw backendError('invalid_input', `${what}: it is already the current version; nothing was changed`);
    const versions = this.#kept(account, bucket, key);
    const copy: ObjectVersion = { ...v, versionId: this.#newId(), lastModified: Math.floor(this.#w.now() / 1000), isLatest: true };
    for (const x of versions) x.isLatest = false;
    versions.unshift(copy);
    this.#settle(account, bucket, key, versions);
    return { key, fromVersionId: versionId, newVersionId: copy.versionId, size: v.size };
  }

  delete(account: string, bucket: string, key: string, versionId: string): ObjectVersion {
    const v = this.find(account, bucket, key, versionId);
    const versions = this.#kept(account, bucket, key).filter((x) => x.versionId !== versionId);
    if (versions.length) versions[0].isLatest = true;
    this.#history.set(where(account, bucket, key), versions);
    this.#settle(account, bucket, key, versions);
    return v;
  }

  /** The history kept for `key`, made explicit from the object's one version when there was none. */
  #kept(account: string, bucket: string, key: string): ObjectVersion[] {
    const at = where(account, bucket, key);
    let versions = this.#history.get(at);
    if (!versions) {
      versions = this.of(account, bucket, key).map((v) => ({ ...v }));
      this.#history.set(at, versions);
    }
    return versions;
  }

  /** The object is its newest version, or gone under a delete marker (or with no version left). */
  #settle(account: string, bucket: string, key: string, versions: ObjectVersion[]): void {
    const objects = this.#w.bucket(account, bucket);
    const top = versions[0];
    if (!top || top.isDeleteMarker) objects.delete(key);
    else objects.set(key, { key, size: top.size, lastModified: top.lastModified, etag: top.etag });
  }

  #newId(): string {
    return `mockv${String(this.#next++).padStart(6, '0')}`;
  }
}

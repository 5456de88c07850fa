// The rows of the folder on screen, kept compact so a folder of a million objects costs about a
// hundred bytes each in the webview: keys in one array, sizes and times in typed arrays, and the rows
// shown (filtered and sorted) as an array of indices. A row index r >= 0 is object r; r < 0 is
// prefix -1 - r. Folders come first, in any order.
import type { ObjectInfo } from '../backend/types';

export type SortKey = 'name' | 'size' | 'modified';

export interface Sort {
  key: SortKey;
  descending: boolean;
}

/** Key order, as S3 lists: also the order in which rows arrive. */
export const BY_NAME: Sort = { key: 'name', descending: false };

/** The objects of one folder, in the order they arrived (key order). */
export class ObjectTable {
  readonly keys: string[] = [];
  sizes = new Float64Array(1024);
  /** Unix seconds; NaN when the server gave none. */
  times = new Float64Array(1024);

  get length(): number {
    return this.keys.length;
  }

  add(objects: readonly ObjectInfo[]): void {
    const need = this.keys.length + objects.length;
    if (need > this.sizes.length) {
      const cap = Math.max(need, this.sizes.length * 2);
      this.sizes = grown(this.sizes, cap);
      this.times = grown(this.times, cap);
    }
    for (const o of objects) {
      const i = this.keys.length;
      this.keys.push(o.key);
      this.sizes[i] = o.size;
      this.times[i] = o.lastModified ?? NaN;
    }
  }

  object(i: number): ObjectInfo {
    const t = this.times[i];
    return { key: this.keys[i], size: this.sizes[i], lastModified: Number.isNaN(t) ? null : t, etag: null };
  }
}

function grown(a: Float64Array<ArrayBuffer>, cap: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(cap);
  b.set(a);
  return b;
}

/** The last segment of a key or prefix below `prefix`, as the filter matches it. */
function nameOf(keyOrPrefix: string, prefix: string): string {
  return keyOrPrefix.slice(prefix.length).toLowerCase();
}

/** A growable list of row indices; `rows` is a view of the filled part. */
export class RowList {
  #buf = new Int32Array(1024);
  #len = 0;

  get rows(): Int32Array<ArrayBuffer> {
    return this.#buf.subarray(0, this.#len);
  }

  push(r: number): void {
    if (this.#len === this.#buf.length) {
      const b = new Int32Array(this.#buf.length * 2);
      b.set(this.#buf);
      this.#buf = b;
    }
    this.#buf[this.#len++] = r;
  }

  static of(rows: Int32Array<ArrayBuffer>): RowList {
    const l = new RowList();
    l.#buf = rows.length ? rows : l.#buf;
    l.#len = rows.length;
    return l;
  }
}

/** The object rows from `from` on whose name contains `filter` (any case; '' for all), in arrival order. */
export function matching(table: ObjectTable, prefix: string, filter: string, from: number, into: RowList): void {
  const f = filter.toLowerCase();
  for (let i = from; i < table.length; i++) {
    if (!f || nameOf(table.keys[i], prefix).includes(f)) into.push(i);
  }
}

/** The prefix rows that match `filter`, in name order (reversed when sorting by name, descending). */
export function prefixRows(prefixes: readonly string[], prefix: string, filter: string, sort: Sort): number[] {
  const f = filter.toLowerCase();
  const rows: number[] = [];
  prefixes.forEach((p, i) => {
    if (!f || nameOf(p, prefix).includes(f)) rows.push(-1 - i);
  });
  rows.sort((a, b) => (prefixes[-1 - a] < prefixes[-1 - b] ? -1 : 1));
  if (sort.key === 'name' && sort.descending) rows.reverse();
  return rows;
}

/** The object rows that match `filter`, sorted; ties keep key order. */
export function objectRows(table: ObjectTable, prefix: string, filter: string, sort: Sort): RowList {
  const list = new RowList();
  matching(table, prefix, filter, 0, list);
  const rows = list.rows;
  const { sizes, times } = table;
  const dir = sort.descending ? -1 : 1;
  if (sort.key === 'size') rows.sort((a, b) => dir * (sizes[a] - sizes[b]) || a - b);
  else if (sort.key === 'modified') rows.sort((a, b) => dir * ((times[a] || 0) - (times[b] || 0)) || a - b);
  else if (sort.descending) rows.reverse();
  return RowList.of(rows);
}

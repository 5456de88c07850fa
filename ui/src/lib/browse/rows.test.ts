import { describe, expect, it } from 'vitest';
import { BY_NAME, ObjectTable, objectRows, prefixRows, RowList, matching } from './rows';

function table(): ObjectTable {
  const t = new ObjectTable();
  t.add([
    { key: 'p/alpha.txt', size: 30, lastModified: 300, etag: null },
    { key: 'p/beta.jpg', size: 10, lastModified: null, etag: '"x"' },
    { key: 'p/gamma.txt', size: 20, lastModified: 100, etag: null },
  ]);
  return t;
}

describe('the compact rows of a folder', () => {
  it('keeps objects as they arrived and gives them back', () => {
    const t = table();
    expect(t.length).toBe(3);
    expect(t.object(1)).toEqual({ key: 'p/beta.jpg', size: 10, lastModified: null, etag: null });
  });
  it('grows past its first capacity', () => {
    const t = new ObjectTable();
    for (let i = 0; i < 5; i++) t.add(Array.from({ length: 1000 }, (_, j) => ({ key: `k${i}-${j}`, size: j, lastModified: j, etag: null })));
    expect(t.length).toBe(5000);
    expect(t.object(4999)).toEqual({ key: 'k4-999', size: 999, lastModified: 999, etag: null });
  });
  it('sorts by size and time either way, ties and unknown times in key order', () => {
    const t = table();
    expect([...objectRows(t, 'p/', '', { key: 'size', descending: false }).rows]).toEqual([1, 2, 0]);
    expect([...objectRows(t, 'p/', '', { key: 'size', descending: true }).rows]).toEqual([0, 2, 1]);
    expect([...objectRows(t, 'p/', '', { key: 'modified', descending: true }).rows]).toEqual([0, 2, 1]);
    expect([...objectRows(t, 'p/', '', { key: 'name', descending: true }).rows]).toEqual([2, 1, 0]);
    expect([...objectRows(t, 'p/', '', BY_NAME).rows]).toEqual([0, 1, 2]);
  });
  it('filters by name below the folder, ignoring case', () => {
    const t = table();
    expect([...objectRows(t, 'p/', 'TXT', BY_NAME).rows]).toEqual([0, 2]);
    expect([...objectRows(t, 'p/', 'p/', BY_NAME).rows]).toEqual([]);
    const more = new RowList();
    matching(t, 'p/', 'a', 1, more);
    expect([...more.rows]).toEqual([1, 2]);
  });
  it('puts folders first in name order, filtered like objects', () => {
    const prefixes = ['p/zeta/', 'p/alpha/', 'p/mid/'];
    expect(prefixRows(prefixes, 'p/', '', BY_NAME)).toEqual([-2, -3, -1]);
    expect(prefixRows(prefixes, 'p/', '', { key: 'name', descending: true })).toEqual([-1, -3, -2]);
    expect(prefixRows(prefixes, 'p/', 'ALP', BY_NAME)).toEqual([-2]);
  });
});

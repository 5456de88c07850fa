import { describe, expect, it } from 'vitest';
import { boundsLabel, dayBound, NO_BOUNDS, parseSize, searchQuery } from './search';

describe('the search bounds', () => {
  it('reads sizes with binary units, and refuses what is not one', () => {
    expect(parseSize('')).toBeNull();
    expect(parseSize('512')).toBe(512);
    expect(parseSize('10 MiB')).toBe(10 * 2 ** 20);
    expect(parseSize('500k')).toBe(500 * 1024);
    expect(parseSize('1.5 GB')).toBe(1.5 * 2 ** 30);
    expect(parseSize('ten')).toBeUndefined();
  });

  it('takes a day from its first second to its last, in local time', () => {
    const from = dayBound('2026-11-01', false)!;
    const to = dayBound('2026-11-01', true)!;
    expect(to - from).toBe(86_399);
    expect(new Date(from * 1000).getDate()).toBe(1);
    expect(dayBound('', true)).toBeNull();
  });

  it('builds the query, or says what to fix', () => {
    expect(searchQuery('*.jpg', NO_BOUNDS)).toEqual({ name: '*.jpg', minSize: null, maxSize: null, modifiedAfter: null, modifiedBefore: null });
    expect(searchQuery('x', { ...NO_BOUNDS, minSize: '2 MiB', maxSize: '1 MiB' })).toEqual({ problem: 'the smallest size is larger than the largest; swap them' });
    expect(searchQuery('x', { ...NO_BOUNDS, minSize: 'big' })).toHaveProperty('problem');
    expect(searchQuery('x', { ...NO_BOUNDS, after: '2026-12-02', before: '2026-12-01' })).toHaveProperty('problem');
    expect(boundsLabel({ ...NO_BOUNDS, minSize: '1 MiB', after: '2026-11-01' })).toBe('at least 1 MiB, modified from 2026-11-01');
  });
});

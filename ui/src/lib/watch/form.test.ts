import { describe, expect, it } from 'vitest';
import { emptyWatchForm, isAbsolutePath, normalizePrefix, toNewWatchedFolder, watchProblems } from './form';

const filled = { ...emptyWatchForm({ account: 'local', bucket: 'ferry' }), path: ' /home/you/Camera ', prefix: '/camera//2026', ignoreText: '*.raw\n\n# rebuilt\nexports/\n' };

describe('normalizePrefix', () => {
  it('drops leading and doubled slashes and ends with one', () => {
    expect(normalizePrefix('/camera//2026')).toBe('camera/2026/');
    expect(normalizePrefix('camera/')).toBe('camera/');
    expect(normalizePrefix(' / ')).toBe('');
    expect(normalizePrefix('')).toBe('');
  });
});

describe('isAbsolutePath', () => {
  it('knows Unix and Windows absolute paths', () => {
    for (const p of ['/home/you', 'C:\\Users\\you', 'd:/photos', '\\\\nas\\share']) expect(isAbsolutePath(p)).toBe(true);
    for (const p of ['photos', './photos', '~/photos', 'C:photos']) expect(isAbsolutePath(p)).toBe(false);
  });
});

describe('watchProblems', () => {
  it('accepts a complete form', () => {
    expect(watchProblems(filled)).toEqual({});
  });
  it('names each missing or wrong field', () => {
    const e = watchProblems({ ...emptyWatchForm(), ignoreText: '[oops' });
    expect(e).toEqual({
      path: 'Choose the folder to watch.',
      account: 'Choose an account.',
      bucket: 'Choose a bucket.',
      ignoreText: 'Line 1: “[oops” opens a “[” that is never closed.',
    });
  });
  it('wants a full path', () => {
    expect(watchProblems({ ...filled, path: 'Camera' }).path).toMatch(/full path/);
  });
  it('refuses a prefix too long for S3 keys, or with control characters', () => {
    expect(watchProblems({ ...filled, prefix: 'é'.repeat(500) }).prefix).toMatch(/at most 900 bytes/);
    expect(watchProblems({ ...filled, prefix: 'a\tb' }).prefix).toMatch(/control characters/);
  });
});

describe('toNewWatchedFolder', () => {
  it('trims the path, normalises the prefix and parses the patterns', () => {
    expect(toNewWatchedFolder({ ...filled, mirrorDeletes: true })).toEqual({
      path: '/home/you/Camera', account: 'local', bucket: 'ferry', prefix: 'camera/2026/', ignore: ['*.raw', 'exports/'], mirrorDeletes: true,
    });
  });
});

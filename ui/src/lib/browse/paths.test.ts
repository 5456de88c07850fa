import { describe, expect, it } from 'vitest';
import { baseName, breadcrumbs, bucketNameProblem, childName, destinationLabel, parentPrefix } from './paths';

describe('breadcrumbs', () => {
  it('starts at the bucket', () => {
    expect(breadcrumbs('ferry', '')).toEqual([{ label: 'ferry', prefix: '' }]);
  });
  it('has one crumb per folder, each with its full prefix', () => {
    expect(breadcrumbs('ferry', 'photos/2026/')).toEqual([
      { label: 'ferry', prefix: '' },
      { label: 'photos', prefix: 'photos/' },
      { label: '2026', prefix: 'photos/2026/' },
    ]);
  });
});

describe('prefix helpers', () => {
  it('goes one level up', () => {
    expect(parentPrefix('a/b/')).toBe('a/');
    expect(parentPrefix('a/')).toBe('');
    expect(parentPrefix('')).toBe('');
  });
  it('names children relative to their parent', () => {
    expect(childName('photos/2026/', 'photos/')).toBe('2026');
    expect(childName('photos/a.jpg', 'photos/')).toBe('a.jpg');
    expect(childName('top.txt', '')).toBe('top.txt');
  });
  it('takes base names of local paths with either separator', () => {
    expect(baseName('/home/you/a.txt')).toBe('a.txt');
    expect(baseName('C:\\Users\\you\\b.txt')).toBe('b.txt');
    expect(baseName('/home/you/folder/')).toBe('folder');
    expect(baseName('plain')).toBe('plain');
  });
  it('labels the drop destination', () => {
    expect(destinationLabel('ferry', 'photos/')).toBe('ferry/photos/');
    expect(destinationLabel('ferry', '')).toBe('ferry/');
  });
});

describe('bucketNameProblem', () => {
  it('accepts good names', () => {
    for (const ok of ['abc', 'my-bucket', 'logs.2026', 'a'.repeat(63)]) expect(bucketNameProblem(ok)).toBeNull();
  });
  it('explains what is wrong', () => {
    expect(bucketNameProblem('')).toMatch(/Enter a name/);
    expect(bucketNameProblem('ab')).toMatch(/at least 3/);
    expect(bucketNameProblem('a'.repeat(64))).toMatch(/at most 63/);
    expect(bucketNameProblem('MyBucket')).toMatch(/lowercase/);
    expect(bucketNameProblem('my_bucket')).toMatch(/only lowercase letters, digits/);
    expect(bucketNameProblem('-abc')).toMatch(/Start and end/);
    expect(bucketNameProblem('abc.')).toMatch(/Start and end/);
    expect(bucketNameProblem('a..b')).toMatch(/Two dots/);
    expect(bucketNameProblem('192.168.1.1')).toMatch(/IP address/);
    expect(bucketNameProblem('xn--abc')).toMatch(/reserved/);
    expect(bucketNameProblem('abc-s3alias')).toMatch(/reserved/);
  });
});

import { describe, expect, it } from 'vitest';
import { sizeText, sizeTitle } from './size';

const listed = (objects: number, bytes: number) => ({ pages: 1, objects, prefixes: 0, bytes, complete: false });

describe('size', () => {
  it('says "so far" until the count is done', () => {
    expect(sizeText(listed(1000, 2048), false)).toBe('Counting… 1,000 objects, 2.0 KiB so far');
    expect(sizeText(listed(1, 0), true)).toBe('1 object, 0 B');
  });

  it('names the folder, or the bucket at its root', () => {
    expect(sizeTitle('ferry', 'photos/2025/')).toBe('Size of 2025/');
    expect(sizeTitle('ferry', '')).toBe('Size of the bucket ferry');
  });
});

import { describe, expect, it } from 'vitest';
import { announcement } from './announcer.svelte';

const up = (name: string, failed = false) => ({ name, direction: 'upload' as const, failed });
const down = (name: string, failed = false) => ({ name, direction: 'download' as const, failed });

describe('announcement', () => {
  it('names one finished transfer', () => {
    expect(announcement([up('a.txt')])).toBe('a.txt uploaded.');
    expect(announcement([down('b.bin')])).toBe('b.bin downloaded.');
  });
  it('counts several instead of naming each', () => {
    expect(announcement([up('a'), up('b'), up('c')])).toBe('3 uploads completed.');
    expect(announcement([up('a'), down('b')])).toBe('2 transfers completed.');
  });
  it('says failures after completions, naming the first few', () => {
    expect(announcement([up('a'), up('x', true)])).toBe('a uploaded. x failed.');
    expect(announcement([up('w', true), up('x', true), up('y', true), up('z', true)])).toBe('4 transfers failed: w, x, y…');
  });
});

import { describe, expect, it } from 'vitest';
import { virtualWindow } from './window';

describe('virtualWindow', () => {
  it('renders the visible rows plus overscan at the top', () => {
    expect(virtualWindow(0, 400, 50, 10_000, 3)).toEqual({ start: 0, end: 11, offset: 0, total: 500_000 });
  });
  it('follows the scroll position', () => {
    const w = virtualWindow(10_000, 400, 50, 10_000, 3);
    expect(w.start).toBe(197);
    expect(w.end).toBe(211);
    expect(w.offset).toBe(197 * 50);
  });
  it('handles a row cut at the bottom of the viewport', () => {
    const w = virtualWindow(25, 100, 50, 100, 0);
    expect([w.start, w.end]).toEqual([0, 3]);
  });
  it('clamps a scroll position past the end (e.g. after the list shrank)', () => {
    const w = virtualWindow(1_000_000, 400, 50, 100, 2);
    expect(w.end).toBe(100);
    expect(w.start).toBe(100 - 8 - 2);
    expect(w.total).toBe(5000);
  });
  it('renders nothing for an empty list', () => {
    expect(virtualWindow(0, 400, 50, 0)).toEqual({ start: 0, end: 0, offset: 0, total: 0 });
  });
  it('keeps the window small whatever the length', () => {
    const w = virtualWindow(123_456, 600, 56, 1_000_000, 5);
    expect(w.end - w.start).toBeLessThanOrEqual(Math.ceil(600 / 56) + 1 + 10);
  });
  it('renders at least one row before the viewport is measured', () => {
    const w = virtualWindow(0, 0, 50, 10, 0);
    expect(w.end).toBe(1);
  });
});

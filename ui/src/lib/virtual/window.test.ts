import { describe, expect, it } from 'vitest';
import { MAX_HEIGHT, scrollToShow, virtualWindow } from './window';

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

describe('virtualWindow over more rows than a browser can make tall', () => {
  const rows = 1_000_000;
  const rowHeight = 40;
  it('caps the spacer and still starts at the first row', () => {
    expect(virtualWindow(0, 400, rowHeight, rows, 2)).toEqual({ start: 0, end: 12, offset: 0, total: MAX_HEIGHT });
  });
  it('shows the last row at the bottom when scrolled to the end', () => {
    const w = virtualWindow(MAX_HEIGHT - 400, 400, rowHeight, rows, 2);
    expect(w.end).toBe(rows);
    // The last row's bottom edge is the viewport's bottom edge.
    expect(w.offset + (rows - w.start) * rowHeight).toBe(MAX_HEIGHT);
  });
  it('maps a scroll position proportionally, with the rows under the viewport', () => {
    const top = (MAX_HEIGHT - 400) / 2;
    const w = virtualWindow(top, 400, rowHeight, rows, 0);
    const middle = (rows * rowHeight - 400) / 2 / rowHeight;
    expect(w.start).toBe(Math.floor(middle));
    expect(w.offset).toBeLessThanOrEqual(top);
    expect(w.offset + (w.end - w.start) * rowHeight).toBeGreaterThanOrEqual(top + 400);
  });
});

describe('scrollToShow', () => {
  it('leaves the position alone when the row is in view', () => {
    expect(scrollToShow(3, 0, 400, 50, 100)).toBe(0);
    expect(scrollToShow(10, 200, 400, 50, 100)).toBe(200);
  });
  it('scrolls up to a row above the view and down to one below it, just enough', () => {
    expect(scrollToShow(2, 500, 400, 50, 100)).toBe(100);
    expect(scrollToShow(20, 0, 400, 50, 100)).toBe(21 * 50 - 400);
  });
  it('is 0 for a list that fits', () => {
    expect(scrollToShow(5, 0, 400, 50, 6)).toBe(0);
  });
  it('reaches the last row of a list taller than the capped spacer, and shows it in the window', () => {
    const count = 1_000_000;
    const top = scrollToShow(count - 1, 0, 600, 40, count);
    expect(top).toBe(MAX_HEIGHT - 600);
    const w = virtualWindow(top, 600, 40, count, 0);
    expect(w.end).toBe(count);
  });
  it('puts a middle row of a capped list inside the rendered window', () => {
    const count = 1_000_000;
    const index = 654_321;
    const top = scrollToShow(index, 0, 600, 40, count);
    const w = virtualWindow(top, 600, 40, count, 0);
    expect(index).toBeGreaterThanOrEqual(w.start);
    expect(index).toBeLessThan(w.end);
    expect(scrollToShow(index, top, 600, 40, count)).toBe(top);
  });
});

// The search form's optional bounds, read as the engine takes them: sizes in bytes from "10 MiB",
// "500k" or "2 GB" (binary multiples, as the rest of the app shows sizes), dates in Unix seconds from
// the date inputs' YYYY-MM-DD (local time: "after" from the start of that day, "before" to its end).
import type { SearchQuery } from '../backend/types';

/** What the search form holds besides the name. */
export interface SearchBounds {
  minSize: string;
  maxSize: string;
  after: string;
  before: string;
}

export const NO_BOUNDS: SearchBounds = { minSize: '', maxSize: '', after: '', before: '' };

const UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** "10 MiB" → 10485760; null for an empty field; undefined when it is not a size. */
export function parseSize(text: string): number | null | undefined {
  const t = text.trim().toLowerCase();
  if (!t) return null;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/.exec(t) ?? /^(\d+(?:\.\d+)?)\s*(b)$/.exec(t);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]]);
}

/** A YYYY-MM-DD day's first (or, with `end`, last) second, local time; null for an empty field. */
export function dayBound(text: string, end: boolean): number | null | undefined {
  if (!text) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return undefined;
  const day = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  if (Number.isNaN(day.getTime())) return undefined;
  if (end) day.setHours(23, 59, 59);
  return Math.floor(day.getTime() / 1000);
}

/** The query for `name` within `bounds`, or what is wrong with them, said so a person can fix it. */
export function searchQuery(name: string, bounds: SearchBounds): SearchQuery | { problem: string } {
  const minSize = parseSize(bounds.minSize);
  const maxSize = parseSize(bounds.maxSize);
  if (minSize === undefined) return { problem: `“${bounds.minSize}” is not a size; write it like 10 MiB or 500k` };
  if (maxSize === undefined) return { problem: `“${bounds.maxSize}” is not a size; write it like 10 MiB or 500k` };
  if (minSize !== null && maxSize !== null && minSize > maxSize) {
    return { problem: 'the smallest size is larger than the largest; swap them' };
  }
  const modifiedAfter = dayBound(bounds.after, false);
  const modifiedBefore = dayBound(bounds.before, true);
  if (modifiedAfter === undefined || modifiedBefore === undefined) return { problem: 'choose the dates with the date fields' };
  if (modifiedAfter !== null && modifiedBefore !== null && modifiedAfter > modifiedBefore) {
    return { problem: 'the “modified after” day comes after the “modified before” one; swap them' };
  }
  return { name, minSize, maxSize, modifiedAfter, modifiedBefore };
}

/** The bounds in words for the results chip ("over 1.0 MiB, since 2026-11-01"); '' when none. */
export function boundsLabel(bounds: SearchBounds): string {
  const said: string[] = [];
  if (bounds.minSize.trim()) said.push(`at least ${bounds.minSize.trim()}`);
  if (bounds.maxSize.trim()) said.push(`at most ${bounds.maxSize.trim()}`);
  if (bounds.after) said.push(`modified from ${bounds.after}`);
  if (bounds.before) said.push(`modified until ${bounds.before}`);
  return said.join(', ');
}

import { describe, expect, it } from 'vitest';
import { formatBytes, formatDateTime, formatEta, formatSpeed, fraction, plural } from './format';

describe('formatBytes', () => {
  it('uses bytes below one KiB', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1)).toBe('1 B');
    expect(formatBytes(1023)).toBe('1023 B');
  });
  it('uses binary units with one decimal below 100', () => {
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(formatBytes(1.25 * 1024 ** 3)).toBe('1.3 GiB');
  });
  it('drops the decimal from 100 up', () => {
    expect(formatBytes(734 * 1024 * 1024)).toBe('734 MiB');
  });
  it('moves to the next unit instead of showing 1024', () => {
    expect(formatBytes(1024 * 1024 - 1)).toBe('1.0 MiB');
    expect(formatBytes(1024 ** 5 * 3)).toBe('3.0 PiB');
  });
  it('says nothing sensible about nonsense', () => {
    expect(formatBytes(-1)).toBe('—');
    expect(formatBytes(Number.NaN)).toBe('—');
  });
});

describe('formatSpeed', () => {
  it('adds per second', () => {
    expect(formatSpeed(12.5 * 1024 * 1024)).toBe('12.5 MiB/s');
  });
  it('shows a dash when nothing moves', () => {
    expect(formatSpeed(0)).toBe('—');
    expect(formatSpeed(null)).toBe('—');
  });
});

describe('formatEta', () => {
  it('counts seconds, minutes, hours and days', () => {
    expect(formatEta(0)).toBe('0 s');
    expect(formatEta(8.2)).toBe('9 s');
    expect(formatEta(59)).toBe('59 s');
    expect(formatEta(60)).toBe('1 min 00 s');
    expect(formatEta(245)).toBe('4 min 05 s');
    expect(formatEta(2 * 3600 + 13 * 60 + 5)).toBe('2 h 13 min');
    expect(formatEta(3 * 86400 + 4 * 3600)).toBe('3 d 4 h');
  });
  it('shows a dash when unknown', () => {
    expect(formatEta(null)).toBe('—');
    expect(formatEta(undefined)).toBe('—');
    expect(formatEta(Number.POSITIVE_INFINITY)).toBe('—');
  });
});

describe('formatDateTime', () => {
  it('formats unix seconds in the given locale and zone', () => {
    // 2026-03-12T14:05:00Z
    expect(formatDateTime(1773324300, { locale: 'en-GB', timeZone: 'UTC' })).toBe('12 Mar 2026, 14:05');
    expect(formatDateTime(1773324300, { locale: 'en-US', timeZone: 'UTC' })).toBe('Mar 12, 2026, 2:05 PM');
  });
  it('shows a dash for a missing date', () => {
    expect(formatDateTime(null)).toBe('—');
  });
});

describe('fraction', () => {
  it('never leaves 0…1', () => {
    expect(fraction(50, 100)).toBe(0.5);
    expect(fraction(150, 100)).toBe(1);
    expect(fraction(-5, 100)).toBe(0);
    expect(fraction(0, 0)).toBe(0);
    expect(fraction(10, 0)).toBe(1);
  });
});

describe('plural', () => {
  it('picks the form and groups digits', () => {
    expect(plural(1, 'file')).toBe('1 file');
    expect(plural(10000, 'file')).toBe('10,000 files');
  });
});

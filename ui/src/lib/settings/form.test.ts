import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, toForm, validateSettings } from './form';
import { resolveTheme } from './theme';

describe('validateSettings', () => {
  it('round-trips the defaults', () => {
    expect(validateSettings(toForm(DEFAULT_SETTINGS))).toEqual({ ok: true, settings: DEFAULT_SETTINGS });
  });

  it('turns Auto and Unlimited into null, and numbers into numbers', () => {
    const form = { ...toForm(DEFAULT_SETTINGS), partSizeAuto: false, partSizeMib: 64, bandwidthUnlimited: false, bandwidthLimitMibps: 2.5 };
    expect(validateSettings(form)).toEqual({ ok: true, settings: { ...DEFAULT_SETTINGS, partSizeMib: 64, bandwidthLimitMibps: 2.5 } });
  });

  it('ignores the hidden number when Auto or Unlimited is chosen', () => {
    const form = { ...toForm(DEFAULT_SETTINGS), partSizeMib: 1, bandwidthLimitMibps: -3 };
    expect(validateSettings(form).ok).toBe(true);
  });

  it('explains each field that is out of range', () => {
    const form = {
      ...toForm(DEFAULT_SETTINGS),
      concurrentTransfers: 0, partsInFlight: 2.5, partSizeAuto: false, partSizeMib: 4,
      bandwidthUnlimited: false, bandwidthLimitMibps: null, defaultLinkExpirySecs: 1234,
    };
    const r = validateSettings(form);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.concurrentTransfers).toBe('Use a number from 1 to 64.');
    expect(r.errors.partsInFlight).toBe('Use a whole number.');
    expect(r.errors.partSizeMib).toMatch(/5 MiB to 5120 MiB/);
    expect(r.errors.bandwidthLimitMibps).toBe('Enter a limit in MiB/s.');
    expect(r.errors.defaultLinkExpirySecs).toMatch(/Choose/);
    expect(r.errors.theme).toBeUndefined();
  });

  it('keeps Ferry in the tray by default, and saves the choice not to', () => {
    expect(DEFAULT_SETTINGS.keepInTray).toBe(true);
    expect(validateSettings({ ...toForm(DEFAULT_SETTINGS), keepInTray: false })).toEqual({ ok: true, settings: { ...DEFAULT_SETTINGS, keepInTray: false } });
  });

  it('does not start Ferry at login unless asked, and saves the choice to', () => {
    expect(DEFAULT_SETTINGS.startAtLogin).toBe(false);
    expect(toForm(DEFAULT_SETTINGS).startAtLogin).toBe(false);
    expect(validateSettings({ ...toForm(DEFAULT_SETTINGS), startAtLogin: true })).toEqual({ ok: true, settings: { ...DEFAULT_SETTINGS, startAtLogin: true } });
  });

  it('asks for an empty number', () => {
    const r = validateSettings({ ...toForm(DEFAULT_SETTINGS), concurrentTransfers: null });
    expect(r.ok ? null : r.errors.concurrentTransfers).toMatch(/^Enter/);
  });
});

describe('resolveTheme', () => {
  it('follows the system only for "system"', () => {
    expect(resolveTheme('system', true)).toBe('dark');
    expect(resolveTheme('system', false)).toBe('light');
    expect(resolveTheme('light', true)).toBe('light');
    expect(resolveTheme('dark', false)).toBe('dark');
  });
});

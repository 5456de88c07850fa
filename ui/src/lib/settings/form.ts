// The settings dialog's form and its validation: what a person typed, checked against the limits the
// engine enforces (S3 allows parts of 5 MiB to 5 GiB), turned into Settings or into messages per field.
import { EXPIRY_CHOICES } from '../format';
import type { Settings, Theme } from '../backend/types';

export const LIMITS = {
  concurrentTransfers: { min: 1, max: 64 },
  partsInFlight: { min: 1, max: 64 },
  partSizeMib: { min: 5, max: 5120 },
  bandwidthLimitMibps: { min: 0.1, max: 100_000 },
} as const;

/** What the engine starts with; the mock starts with the same. */
export const DEFAULT_SETTINGS: Settings = {
  concurrentTransfers: 16,
  partsInFlight: 8,
  partSizeMib: null,
  bandwidthLimitMibps: null,
  defaultLinkExpirySecs: 3600,
  theme: 'system',
  keepInTray: true,
  startAtLogin: false,
};

export const THEMES: readonly { value: Theme; label: string }[] = [
  { value: 'system', label: 'System' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

export interface SettingsForm {
  concurrentTransfers: number | null;
  partsInFlight: number | null;
  partSizeAuto: boolean;
  partSizeMib: number | null;
  bandwidthUnlimited: boolean;
  bandwidthLimitMibps: number | null;
  defaultLinkExpirySecs: number;
  theme: Theme;
  keepInTray: boolean;
  startAtLogin: boolean;
}

export type SettingsErrors = Partial<Record<keyof Settings, string>>;

export type Validated = { ok: true; settings: Settings } | { ok: false; errors: SettingsErrors };

export function toForm(s: Settings): SettingsForm {
  return {
    concurrentTransfers: s.concurrentTransfers,
    partsInFlight: s.partsInFlight,
    partSizeAuto: s.partSizeMib === null,
    partSizeMib: s.partSizeMib ?? 16,
    bandwidthUnlimited: s.bandwidthLimitMibps === null,
    bandwidthLimitMibps: s.bandwidthLimitMibps ?? 10,
    defaultLinkExpirySecs: s.defaultLinkExpirySecs,
    theme: s.theme,
    keepInTray: s.keepInTray,
    startAtLogin: s.startAtLogin,
  };
}

function wholeNumber(v: number | null, { min, max }: { min: number; max: number }, what: string): string | null {
  if (v === null || !Number.isFinite(v)) return `Enter ${what}.`;
  if (!Number.isInteger(v)) return 'Use a whole number.';
  if (v < min || v > max) return `Use a number from ${min} to ${max.toLocaleString('en-US')}.`;
  return null;
}

export function validateSettings(f: SettingsForm): Validated {
  const errors: SettingsErrors = {};
  const concurrent = wholeNumber(f.concurrentTransfers, LIMITS.concurrentTransfers, 'how many transfers run at once');
  if (concurrent) errors.concurrentTransfers = concurrent;
  const parts = wholeNumber(f.partsInFlight, LIMITS.partsInFlight, 'how many parts of a file move at once');
  if (parts) errors.partsInFlight = parts;
  if (!f.partSizeAuto) {
    const p = wholeNumber(f.partSizeMib, LIMITS.partSizeMib, 'a part size in MiB');
    if (p) errors.partSizeMib = p.startsWith('Use a number') ? 'S3 accepts parts from 5 MiB to 5120 MiB (5 GiB).' : p;
  }
  if (!f.bandwidthUnlimited) {
    const v = f.bandwidthLimitMibps;
    const { min, max } = LIMITS.bandwidthLimitMibps;
    if (v === null || !Number.isFinite(v)) errors.bandwidthLimitMibps = 'Enter a limit in MiB/s.';
    else if (v < min || v > max) errors.bandwidthLimitMibps = `Use a limit from ${min} to ${max.toLocaleString('en-US')} MiB/s.`;
  }
  if (!EXPIRY_CHOICES.some((c) => c.secs === f.defaultLinkExpirySecs)) {
    errors.defaultLinkExpirySecs = 'Choose one of the offered lifetimes.';
  }
  if (!THEMES.some((t) => t.value === f.theme)) errors.theme = 'Choose System, Light or Dark.';
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    settings: {
      concurrentTransfers: f.concurrentTransfers!,
      partsInFlight: f.partsInFlight!,
      partSizeMib: f.partSizeAuto ? null : f.partSizeMib!,
      bandwidthLimitMibps: f.bandwidthUnlimited ? null : f.bandwidthLimitMibps!,
      defaultLinkExpirySecs: f.defaultLinkExpirySecs,
      theme: f.theme,
      keepInTray: f.keepInTray,
      startAtLogin: f.startAtLogin,
    },
  };
}

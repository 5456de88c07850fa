// Human-readable numbers for the UI. Sizes use binary units (KiB, MiB…) like the engine and the CLI, so
// a "5 MiB" part size in the settings means the same everywhere.

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 0 → "0 B", 1536 → "1.5 KiB", 734003200 → "700 MiB". One decimal below 100, none above. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  if (n < 1024) return `${Math.round(n)} B`;
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  let text = v < 100 ? v.toFixed(1) : v.toFixed(0);
  // 1023.97 KiB rounds to "1024"; show it as the next unit instead.
  if (Number(text) >= 1024 && u < UNITS.length - 1) {
    u++;
    text = (v / 1024).toFixed(1);
  }
  return `${text} ${UNITS[u]}`;
}

/** Bytes per second → "12.4 MiB/s"; nothing sensible to say for 0 or unknown speeds. */
export function formatSpeed(bytesPerSec: number | null | undefined): string {
  if (bytesPerSec == null || !Number.isFinite(bytesPerSec) || bytesPerSec <= 0) return '—';
  return `${formatBytes(bytesPerSec)}/s`;
}

/** Seconds left → "8 s", "4 min 05 s", "2 h 13 min", "3 d 4 h"; null → "—". */
export function formatEta(secs: number | null | undefined): string {
  if (secs == null || !Number.isFinite(secs) || secs < 0) return '—';
  const s = Math.ceil(secs);
  if (s < 60) return `${s} s`;
  if (s < 3600) {
    const m = Math.floor(s / 60);
    return `${m} min ${String(s % 60).padStart(2, '0')} s`;
  }
  if (s < 86400) {
    const h = Math.floor(s / 3600);
    return `${h} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  }
  const d = Math.floor(s / 86400);
  return `${d} d ${Math.floor((s % 86400) / 3600)} h`;
}

export interface DateOptions {
  locale?: string;
  timeZone?: string;
}

/** Unix seconds → a short local date and time ("12 Mar 2026, 14:05" in en-GB). */
export function formatDateTime(unixSecs: number | null | undefined, opts: DateOptions = {}): string {
  if (unixSecs == null || !Number.isFinite(unixSecs)) return '—';
  return new Intl.DateTimeFormat(opts.locale, {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone: opts.timeZone,
  }).format(new Date(unixSecs * 1000));
}

/** A progress fraction in [0, 1], whatever the inputs (unknown totals, counters past the total). */
export function fraction(done: number, total: number): number {
  if (!(total > 0)) return done > 0 ? 1 : 0;
  return Math.min(1, Math.max(0, done / total));
}

/** "1 file", "2 files". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

/** Link lifetimes offered in the UI, in seconds, with their labels. */
export const EXPIRY_CHOICES: readonly { secs: number; label: string }[] = [
  { secs: 900, label: '15 minutes' },
  { secs: 3600, label: '1 hour' },
  { secs: 86400, label: '1 day' },
  { secs: 604800, label: '7 days' },
];

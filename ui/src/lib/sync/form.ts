// The Sync dialog's form: which way, the local folder, the account, bucket and prefix, and the options,
// checked before anything is sent and turned into the SyncPair the backend plans from. Whether the
// folder exists and the bucket answers is the backend's to say, in the preview.
import type { Compare, SyncDirection, SyncPair } from '../backend/types';
import { normalizePrefix, placeProblems } from '../watch/form';
import { ignoreText, parseIgnoreText } from '../watch/patterns';

export interface SyncForm {
  /** The id of the saved pair this form started from ('' for a new one). */
  id: string;
  direction: SyncDirection;
  localPath: string;
  account: string;
  bucket: string;
  prefix: string;
  compare: Compare;
  delete: boolean;
  /** Exclude patterns, one per line. */
  excludeText: string;
}

export type SyncErrors = Partial<Record<keyof SyncForm, string>>;

export const COMPARE_CHOICES: readonly { value: Compare; label: string; help: string }[] = [
  { value: 'sizeAndTime', label: 'Size and time', help: 'Same size and modification time: fast, and right for most folders.' },
  { value: 'sizeOnly', label: 'Size only', help: 'Same size: for files whose times are not kept.' },
  { value: 'checksum', label: 'Content', help: 'Same bytes: reads the files to compare them, so it takes longer.' },
];

export function emptySyncForm(at: { account?: string; bucket?: string; prefix?: string } = {}): SyncForm {
  return {
    id: '',
    direction: 'upload',
    localPath: '',
    account: at.account ?? '',
    bucket: at.bucket ?? '',
    prefix: at.prefix ?? '',
    compare: 'sizeAndTime',
    delete: false,
    excludeText: '',
  };
}

/** A saved pair back in the form, to change and run again. */
export function formFromPair(p: SyncPair): SyncForm {
  return {
    id: p.id,
    direction: p.direction,
    localPath: p.localPath,
    account: p.account,
    bucket: p.bucket,
    prefix: p.prefix,
    compare: p.compare,
    delete: p.delete,
    excludeText: ignoreText(p.exclude),
  };
}

export function syncProblems(f: SyncForm): SyncErrors {
  const { path, patterns, ...rest } = placeProblems(
    { path: f.localPath, account: f.account, bucket: f.bucket, prefix: f.prefix, patternsText: f.excludeText },
    'Choose the local folder.',
  );
  const errors: SyncErrors = rest;
  if (path !== undefined) errors.localPath = path;
  if (patterns !== undefined) errors.excludeText = patterns;
  return errors;
}

export function toSyncPair(f: SyncForm): SyncPair {
  return {
    id: f.id,
    account: f.account,
    direction: f.direction,
    localPath: f.localPath.trim().replace(/(.)[/\\]+$/, '$1'),
    bucket: f.bucket,
    prefix: normalizePrefix(f.prefix),
    compare: f.compare,
    delete: f.delete,
    exclude: parseIgnoreText(f.excludeText),
    lastRun: null,
  };
}

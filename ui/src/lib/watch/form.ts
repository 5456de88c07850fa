// The "Add watched folder" form: what a person chose and typed, checked before anything is sent, and
// turned into the NewWatchedFolder the backend takes. Whether the folder is already watched into the same
// bucket and prefix is the backend's to say (already_exists): it knows the folders as they really are.
import type { NewWatchedFolder } from '../backend/types';
import { ignoreProblems, parseIgnoreText } from './patterns';

export interface WatchForm {
  path: string;
  account: string;
  bucket: string;
  prefix: string;
  /** The ignore patterns, one per line. */
  ignoreText: string;
  mirrorDeletes: boolean;
}

export type WatchErrors = Partial<Record<keyof WatchForm, string>>;

/** S3 keys are at most 1024 bytes; leave room for the file names under the prefix. */
export const MAX_PREFIX_BYTES = 900;

export function emptyWatchForm(at: { account?: string; bucket?: string; prefix?: string } = {}): WatchForm {
  return {
    path: '',
    account: at.account ?? '',
    bucket: at.bucket ?? '',
    prefix: at.prefix ?? '',
    ignoreText: '',
    mirrorDeletes: false,
  };
}

/** "/photos//2026" → "photos/2026/": no leading or doubled slashes, a trailing one unless empty. */
export function normalizePrefix(prefix: string): string {
  const parts = prefix.trim().split('/').filter((s) => s !== '');
  return parts.length === 0 ? '' : `${parts.join('/')}/`;
}

/** An absolute path on Linux or macOS (/…), or on Windows (C:\… or \\server\share). */
export function isAbsolutePath(path: string): boolean {
  return path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path) || path.startsWith('\\\\');
}

/** What is wrong with a local folder and a place in a bucket (a watched folder's, a sync's), by field. */
export interface PlaceProblems {
  path?: string;
  account?: string;
  bucket?: string;
  prefix?: string;
  patterns?: string;
}

/** Checks a folder path, account, bucket, prefix and a pattern list; `noPath` is said when the path is empty. */
export function placeProblems(
  f: { path: string; account: string; bucket: string; prefix: string; patternsText: string },
  noPath: string,
): PlaceProblems {
  const errors: PlaceProblems = {};
  const path = f.path.trim();
  if (path === '') errors.path = noPath;
  else if (!isAbsolutePath(path)) errors.path = 'Use the folder’s full path, such as /home/you/Pictures.';
  if (f.account === '') errors.account = 'Choose an account.';
  if (f.bucket === '') errors.bucket = 'Choose a bucket.';
  const prefix = normalizePrefix(f.prefix);
  if (/[\u0000-\u001f\u007f]/.test(prefix)) errors.prefix = 'A prefix cannot contain control characters.';
  else if (new TextEncoder().encode(prefix).length > MAX_PREFIX_BYTES) {
    errors.prefix = `Use a prefix of at most ${MAX_PREFIX_BYTES} bytes.`;
  }
  const problems = ignoreProblems(f.patternsText);
  if (problems.length > 0) errors.patterns = problems.join(' ');
  return errors;
}

export function watchProblems(f: WatchForm): WatchErrors {
  const { patterns, ...rest } = placeProblems({ ...f, patternsText: f.ignoreText }, 'Choose the folder to watch.');
  return patterns === undefined ? rest : { ...rest, ignoreText: patterns };
}

export function toNewWatchedFolder(f: WatchForm): NewWatchedFolder {
  return {
    path: f.path.trim(),
    account: f.account,
    bucket: f.bucket,
    prefix: normalizePrefix(f.prefix),
    ignore: parseIgnoreText(f.ignoreText),
    mirrorDeletes: f.mirrorDeletes,
  };
}

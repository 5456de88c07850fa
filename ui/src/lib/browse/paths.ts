// Pure helpers for S3 keys and prefixes. A prefix is '' (the bucket's root) or ends with '/'.

export interface Crumb {
  label: string;
  prefix: string;
}

/** The trail from the bucket down to `prefix`: bucket, then one crumb per folder. */
export function breadcrumbs(bucket: string, prefix: string): Crumb[] {
  const crumbs: Crumb[] = [{ label: bucket, prefix: '' }];
  let acc = '';
  for (const part of prefix.split('/')) {
    if (part === '') continue;
    acc += `${part}/`;
    crumbs.push({ label: part, prefix: acc });
  }
  return crumbs;
}

/** The prefix one level up: 'a/b/' → 'a/', 'a/' → ''. */
export function parentPrefix(prefix: string): string {
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const i = trimmed.lastIndexOf('/');
  return i < 0 ? '' : trimmed.slice(0, i + 1);
}

/** What to show for a key or child prefix listed under `parent`: 'a/b/c.txt' under 'a/b/' → 'c.txt'. */
export function childName(keyOrPrefix: string, parent: string): string {
  const rest = keyOrPrefix.startsWith(parent) ? keyOrPrefix.slice(parent.length) : keyOrPrefix;
  return rest.endsWith('/') ? rest.slice(0, -1) : rest;
}

/** The last component of a local path, with either separator: '/home/a/b.txt' → 'b.txt'. */
export function baseName(path: string): string {
  const trimmed = path.replace(/[/\\]+$/, '');
  const i = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return i < 0 ? trimmed : trimmed.slice(i + 1);
}

/** Where an upload lands, for the drop overlay: "ferry/photos/". */
export function destinationLabel(bucket: string, prefix: string): string {
  return `${bucket}/${prefix}`;
}

/**
 * Checks an S3 bucket name against the general-purpose bucket rules; returns what is wrong in words,
 * or null when the name is fine.
 */
export function bucketNameProblem(name: string): string | null {
  if (name.length === 0) return 'Enter a name.';
  if (name.length < 3) return 'A bucket name needs at least 3 characters.';
  if (name.length > 63) return 'A bucket name can have at most 63 characters.';
  if (/[A-Z]/.test(name)) return 'Use lowercase letters only.';
  if (!/^[a-z0-9.-]+$/.test(name)) return 'Use only lowercase letters, digits, hyphens (-) and dots (.).';
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return 'Start and end with a letter or a digit.';
  if (name.includes('..')) return 'Two dots in a row are not allowed.';
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'A bucket name cannot look like an IP address.';
  if (name.startsWith('xn--') || name.startsWith('sthree-')) return 'This prefix is reserved by S3.';
  if (name.endsWith('-s3alias') || name.endsWith('--ol-s3')) return 'This suffix is reserved by S3.';
  return null;
}

// "Calculate size": what the dialog says of a folder or bucket while it is counted and once it is.
import type { Listed } from '../backend/types';
import { formatBytes, plural } from '../format';

/** "1,234 objects, 5.6 GiB", with "so far" while pages are still arriving. */
export function sizeText(soFar: Listed, done: boolean): string {
  const text = `${plural(soFar.objects, 'object')}, ${formatBytes(soFar.bytes)}`;
  return done ? text : `Counting… ${text} so far`;
}

/** The dialog's title: the folder's name, or the bucket's for its whole content. */
export function sizeTitle(bucket: string, prefix: string): string {
  const name = prefix.replace(/\/$/, '').split('/').pop();
  return prefix ? `Size of ${name}/` : `Size of the bucket ${bucket}`;
}

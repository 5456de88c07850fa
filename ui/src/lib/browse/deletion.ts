// What the delete confirmation says, and what is said after: pure, so the wording is tested apart.
import { formatBytes, plural } from '../format';
import type { Deleted, ObjectInfo, Tally } from '../backend/types';

export interface Doomed {
  keys: string[];
  prefixes: string[];
}

/** "Delete 1 object and 2 folders?" */
export function deleteTitle(d: Doomed): string {
  const parts: string[] = [];
  if (d.keys.length) parts.push(plural(d.keys.length, 'object'));
  if (d.prefixes.length) parts.push(plural(d.prefixes.length, 'folder'));
  return `Delete ${parts.join(' and ')}?`;
}

/** The whole count: the selected objects (their sizes from the listing) plus what the folders hold. */
export function doomedTotal(d: Doomed, listed: ObjectInfo[], inFolders: Tally): Tally {
  const sizes = new Map(listed.map((o) => [o.key, o.size]));
  const bytes = d.keys.reduce((sum, k) => sum + (sizes.get(k) ?? 0), 0);
  return { objects: d.keys.length + inFolders.objects, bytes: bytes + inFolders.bytes };
}

/** "4 objects, 1.2 GB in total, will be deleted." */
export function tallyText(t: Tally): string {
  return `${plural(t.objects, 'object')}, ${formatBytes(t.bytes)} in total, will be deleted.`;
}

/** What to tell after a delete: how many went, and which keys the server refused (a few by name). */
export function deletedNotice(done: Deleted): { tone: 'success' | 'error'; text: string } {
  const gone = `Deleted ${plural(done.deleted, 'object')}.`;
  if (done.failed.length === 0) return { tone: 'success', text: gone };
  const named = done.failed.slice(0, 3).map((f) => f.key).join(', ');
  const more = done.failed.length > 3 ? ` and ${done.failed.length - 3} more` : '';
  return {
    tone: 'error',
    text: `${gone} ${plural(done.failed.length, 'object')} could not be deleted: ${named}${more} (${done.failed[0].message}).`,
  };
}

// A sync in words: where it goes, what a preview will do, the Sync button's label (which says when it
// deletes), and what the last run of a saved pair did.
import type { SyncPair, SyncPreview, SyncRun, SyncTotals } from '../backend/types';
import { formatBytes, formatDateTime, plural } from '../format';

/** "ferry/site/" (bucket and prefix). */
export function remoteLabel(p: Pick<SyncPair, 'bucket' | 'prefix'>): string {
  return `${p.bucket}/${p.prefix}`;
}

/** "/home/you/site → ferry/site/" in the direction the bytes go. */
export function routeLabel(p: Pick<SyncPair, 'direction' | 'localPath' | 'bucket' | 'prefix'>): string {
  const remote = remoteLabel(p);
  return p.direction === 'upload' ? `${p.localPath} → ${remote}` : `${remote} → ${p.localPath}`;
}

/** Files the plan sends, fetches or copies. */
export function transferCount(t: SyncTotals): number {
  return t.uploads + t.downloads + t.copies;
}

/** Whether running the plan would change nothing at all. */
export function nothingToDo(p: Pick<SyncPreview, 'totals'>): boolean {
  return transferCount(p.totals) === 0 && p.totals.deletes === 0;
}

/** The preview's counts, one phrase each: "upload 3 files (2.0 MiB)", "delete 1 file (10 B)", "4 unchanged". */
export function previewCounts(p: Pick<SyncPreview, 'totals'>, direction: SyncPair['direction']): string[] {
  const t = p.totals;
  const parts: string[] = [];
  const n = transferCount(t);
  if (n > 0) parts.push(`${direction === 'upload' ? 'upload' : 'download'} ${plural(n, 'file')} (${formatBytes(t.bytes)})`);
  if (t.deletes > 0) parts.push(`delete ${plural(t.deletes, 'file')} (${formatBytes(t.deleteBytes)})`);
  parts.push(`${t.skips.toLocaleString('en-US')} unchanged`);
  return parts;
}

/** The Sync button: "Sync", or "Sync and delete 3" when the plan deletes. */
export function syncButtonLabel(p: Pick<SyncPreview, 'totals'> | null): string {
  const deletes = p?.totals.deletes ?? 0;
  return deletes > 0 ? `Sync and delete ${deletes.toLocaleString('en-US')}` : 'Sync';
}

/** What a run did: "3 files (2.0 MiB) transferred, 1 deleted", or "Nothing to change". */
export function runSummary(r: SyncRun): string {
  const parts: string[] = [];
  if (r.transferred > 0) parts.push(`${plural(r.transferred, 'file')} (${formatBytes(r.bytes)}) transferred`);
  if (r.deleted > 0) parts.push(`${r.deleted.toLocaleString('en-US')} deleted`);
  if (r.failed > 0) parts.push(`${r.failed.toLocaleString('en-US')} failed`);
  return parts.length > 0 ? parts.join(', ') : 'Nothing to change';
}

/** "Last run 12 Mar 2026, 14:05: 3 files (2.0 MiB) transferred", or "Never run". */
export function lastRunLabel(r: SyncRun | null): string {
  if (!r) return 'Never run';
  return `Last run ${formatDateTime(r.finishedAt / 1000)}: ${runSummary(r)}`;
}

/** Whether a run left something undone (failed transfers, withheld deletes). */
export function runHasProblem(r: SyncRun): boolean {
  return r.failed > 0 || r.problem !== null;
}

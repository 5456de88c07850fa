import { describe, expect, it } from 'vitest';
import type { SyncRun, SyncTotals } from '../backend/types';
import { lastRunLabel, nothingToDo, previewCounts, routeLabel, runHasProblem, runSummary, syncButtonLabel } from './labels';

const zero: SyncTotals = { uploads: 0, downloads: 0, copies: 0, deletes: 0, skips: 0, bytes: 0, deleteBytes: 0, sourceEntries: 0 };
const run: SyncRun = { finishedAt: 1_773_324_300_000, transferred: 3, bytes: 3 * 1024 * 1024, deleted: 1, failed: 0, problem: null };

describe('a preview in words', () => {
  it('counts what moves, what is deleted and what is left alone', () => {
    const totals = { ...zero, uploads: 3, bytes: 2048, deletes: 2, deleteBytes: 10, skips: 1200 };
    expect(previewCounts({ totals }, 'upload')).toEqual(['upload 3 files (2.0 KiB)', 'delete 2 files (10 B)', '1,200 unchanged']);
    expect(previewCounts({ totals: { ...zero, downloads: 1, bytes: 5, skips: 0 } }, 'download')).toEqual(['download 1 file (5 B)', '0 unchanged']);
  });

  it('has nothing to do only when nothing moves and nothing is deleted', () => {
    expect(nothingToDo({ totals: { ...zero, skips: 4 } })).toBe(true);
    expect(nothingToDo({ totals: { ...zero, deletes: 1 } })).toBe(false);
    expect(nothingToDo({ totals: { ...zero, downloads: 1 } })).toBe(false);
  });

  it('names the deletes on the Sync button', () => {
    expect(syncButtonLabel(null)).toBe('Sync');
    expect(syncButtonLabel({ totals: { ...zero, uploads: 2 } })).toBe('Sync');
    expect(syncButtonLabel({ totals: { ...zero, uploads: 2, deletes: 1500 } })).toBe('Sync and delete 1,500');
  });
});

describe('a saved sync in words', () => {
  it('shows the way the bytes go', () => {
    const p = { localPath: '/home/you/site', bucket: 'ferry', prefix: 'site/' };
    expect(routeLabel({ ...p, direction: 'upload' })).toBe('/home/you/site → ferry/site/');
    expect(routeLabel({ ...p, direction: 'download' })).toBe('ferry/site/ → /home/you/site');
  });

  it('says what the last run did, or that there was none', () => {
    expect(runSummary(run)).toBe('3 files (3.0 MiB) transferred, 1 deleted');
    expect(runSummary({ ...run, transferred: 0, deleted: 0 })).toBe('Nothing to change');
    expect(runSummary({ ...run, transferred: 1, deleted: 0, failed: 2 })).toBe('1 file (3.0 MiB) transferred, 2 failed');
    expect(lastRunLabel(null)).toBe('Never run');
    expect(lastRunLabel(run)).toMatch(/^Last run .+: 3 files \(3\.0 MiB\) transferred, 1 deleted$/);
  });

  it('flags a run that failed something or withheld its deletes', () => {
    expect(runHasProblem(run)).toBe(false);
    expect(runHasProblem({ ...run, failed: 1 })).toBe(true);
    expect(runHasProblem({ ...run, problem: 'nothing was deleted' })).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { emptySyncForm, formFromPair, syncProblems, toSyncPair } from './form';

const filled = {
  ...emptySyncForm({ account: 'local', bucket: 'ferry', prefix: '/site//2026' }),
  localPath: ' /home/you/site/ ',
  excludeText: '*.log\n\n# built\nbuild/\n',
  delete: true,
};

describe('the Sync form', () => {
  it('accepts a complete form and gives the pair the backend takes', () => {
    expect(syncProblems(filled)).toEqual({});
    expect(toSyncPair(filled)).toEqual({
      id: '', account: 'local', direction: 'upload', localPath: '/home/you/site', bucket: 'ferry', prefix: 'site/2026/',
      compare: 'sizeAndTime', delete: true, exclude: ['*.log', 'build/'], lastRun: null,
    });
  });

  it('names each missing or wrong field by the form’s names', () => {
    expect(syncProblems({ ...emptySyncForm(), excludeText: '[oops' })).toEqual({
      localPath: 'Choose the local folder.',
      account: 'Choose an account.',
      bucket: 'Choose a bucket.',
      excludeText: 'Line 1: “[oops” opens a “[” that is never closed.',
    });
    expect(syncProblems({ ...filled, localPath: 'site' }).localPath).toMatch(/full path/);
    expect(syncProblems({ ...filled, prefix: 'a\tb' }).prefix).toMatch(/control characters/);
  });

  it('gives a saved pair back as the form it came from', () => {
    const pair = { ...toSyncPair(filled), id: 'p1', direction: 'download' as const, compare: 'checksum' as const };
    const again = toSyncPair(formFromPair({ ...pair, lastRun: { finishedAt: 1, transferred: 0, bytes: 0, deleted: 0, failed: 0, problem: null } }));
    expect(again).toEqual(pair);
  });
});

import { describe, expect, it } from 'vitest';
import type { ObjectVersion } from '../backend/types';
import { deleteQuestion, shortVersion, summaryOf, versionBadge, versionSize, versionsSummary } from './versions';

const v = (over: Partial<ObjectVersion>): ObjectVersion => ({
  key: 'docs/report.pdf',
  versionId: 'abc',
  size: 2048,
  lastModified: 1_700_000_000,
  etag: null,
  isLatest: false,
  isDeleteMarker: false,
  ...over,
});

describe('versions', () => {
  it('badges the current version and delete markers', () => {
    expect(versionBadge(v({ isLatest: true }))).toBe('Current');
    expect(versionBadge(v({}))).toBe('');
    expect(versionBadge(v({ isDeleteMarker: true }))).toBe('Delete marker');
    expect(versionBadge(v({ isDeleteMarker: true, isLatest: true }))).toBe('Deleted (current)');
  });

  it('shows no size for a delete marker', () => {
    expect(versionSize(v({ isDeleteMarker: true, size: 0 }))).toBe('—');
    expect(versionSize(v({}))).toBe('2.0 KiB');
  });

  it('counts versions and delete markers apart', () => {
    expect(summaryOf([v({}), v({ isDeleteMarker: true }), v({})])).toBe('2 versions, 1 delete marker');
    expect(summaryOf([v({})])).toBe('1 version');
    expect(versionsSummary(1_000, 0)).toBe('1,000 versions');
  });

  it('shortens long version ids', () => {
    expect(shortVersion('3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY')).toBe('3HL4kqtJlcpX…');
    expect(shortVersion('null')).toBe('null');
  });

  it('says what deleting loses, and what becomes current', () => {
    expect(deleteQuestion(v({}))).toBe('Delete this version of report.pdf (2.0 KiB) for good? It cannot be undone.');
    expect(deleteQuestion(v({ isLatest: true }))).toContain('the version below it becomes current');
    expect(deleteQuestion(v({ isDeleteMarker: true, isLatest: true }))).toContain('becomes current again');
  });
});

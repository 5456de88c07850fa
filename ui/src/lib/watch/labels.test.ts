import { describe, expect, it } from 'vitest';
import type { WatchedState } from '../backend/types';
import { canPauseWatch, canResumeWatch, ignoreSummary, resumeLabel, watchDestination, watchErrorText, watchStateDetail, watchStateLabel } from './labels';

const STATES: WatchedState[] = ['watching', 'paused', 'catching_up', 'error'];

describe('watched folder labels', () => {
  it('puts each state in words', () => {
    expect(STATES.map(watchStateLabel)).toEqual(['Watching', 'Paused', 'Catching up', 'Error']);
  });
  it('explains an error with the engine’s reason, or says it gave none', () => {
    const reason = 'The folder /home/you/Camera no longer exists. Reconnect the drive, then try again.';
    expect(watchStateDetail({ state: 'error', error: reason })).toBe(reason);
    expect(watchErrorText({ error: null })).toMatch(/did not say why/);
    expect(watchErrorText({ error: '  ' })).toMatch(/did not say why/);
    expect(watchStateDetail({ state: 'paused', error: null })).toMatch(/when you resume/);
  });
  it('offers pause while watching or catching up, resume when paused, try again after an error', () => {
    expect(STATES.filter(canPauseWatch)).toEqual(['watching', 'catching_up']);
    expect(STATES.filter(canResumeWatch)).toEqual(['paused', 'error']);
    expect(resumeLabel('paused')).toBe('Resume');
    expect(resumeLabel('error')).toBe('Try again');
  });
  it('says where files go and what is ignored', () => {
    expect(watchDestination({ bucket: 'ferry', prefix: 'camera/' })).toBe('ferry/camera/');
    expect(watchDestination({ bucket: 'ferry', prefix: '' })).toBe('ferry/');
    expect(ignoreSummary([])).toBe('Ignores hidden and temporary files');
    expect(ignoreSummary(['*.raw', 'exports/'])).toBe('Ignores *.raw, exports/, plus hidden and temporary files');
    expect(ignoreSummary(['a', 'b', 'c', 'd', 'e'])).toBe('Ignores a, b, c, 2 more patterns, plus hidden and temporary files');
  });
});

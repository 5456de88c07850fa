// SyncState over the mock backend: a preview changes nothing, a run moves the plan's files and deletes
// only after they all completed, the pair is saved with what its run did, and "Sync again" runs at
// once unless the plan deletes.
import { afterEach, describe, expect, it } from 'vitest';
import { MockBackend } from '../backend/mock';
import type { SyncFinished, SyncPair } from '../backend/types';
import { SyncState } from './sync.svelte';

const NOW = 1_773_324_300_000;
let mock: MockBackend;

afterEach(() => mock?.dispose());

const site: SyncPair = {
  id: '', account: 'local', direction: 'upload', localPath: '/home/you/site', bucket: 'ferry', prefix: 'site/',
  compare: 'sizeAndTime', delete: true, exclude: ['*.log'], lastRun: null,
};

async function started() {
  mock = new MockBackend({ now: () => NOW });
  mock.setLocalFolder('/home/you/site', { 'index.html': { size: 2048 }, 'css/main.css': { size: 512 }, 'debug.log': { size: 9 } });
  const state = new SyncState(mock);
  const finished: SyncFinished[] = [];
  await state.start();
  state.onFinished((e) => finished.push(e));
  return { state, finished };
}

/** Runs the clock until every run under way has ended. */
function runToEnd(state: SyncState) {
  for (let i = 0; i < 100 && state.running.size > 0; i++) mock.advance(1000);
  expect(state.running.size).toBe(0);
}

describe('SyncState with the mock backend', () => {
  it('previews without changing anything, then syncs, deletes the extra and saves the pair with its run', async () => {
    const { state, finished } = await started();
    mock.setLocalFolder('/home/you/other', {});
    const before = mock.objectKeys('local', 'ferry');
    await mock.uploadPaths('local', 'ferry', 'site/', ['/home/you/old.html']);
    for (let i = 0; i < 100 && !mock.objectKeys('local', 'ferry').includes('site/old.html'); i++) mock.advance(1000);
    const world = mock.objectKeys('local', 'ferry');
    expect(world).toEqual([...before, 'site/old.html'].sort());

    const preview = await state.preview(site);
    expect(preview.totals).toMatchObject({ uploads: 2, deletes: 1, skips: 0, sourceEntries: 2 });
    expect(preview.items.map((i) => [i.action, i.path])).toEqual([
      ['delete', 'old.html'], ['upload', 'css/main.css'], ['upload', 'index.html'],
    ]);
    expect(mock.objectKeys('local', 'ferry')).toEqual(world);
    expect(state.pairs).toEqual([]);

    const begun = await state.run(preview, site, true);
    expect(begun.pair?.id).toBeTruthy();
    expect(state.pairs.map((p) => p.id)).toEqual([begun.pair!.id]);
    expect(mock.objectKeys('local', 'ferry')).toContain('site/old.html');
    runToEnd(state);

    const keys = mock.objectKeys('local', 'ferry');
    expect(keys).toEqual(expect.arrayContaining(['site/index.html', 'site/css/main.css']));
    expect(keys).not.toContain('site/old.html');
    expect(keys).not.toContain('site/debug.log');
    expect(finished).toHaveLength(1);
    expect(finished[0].run).toMatchObject({ transferred: 2, bytes: 2560, deleted: 1, failed: 0, problem: null });
    expect(state.pairs[0].lastRun).toEqual(finished[0].run);
    expect((await mock.listSyncPairs())[0].lastRun).toEqual(finished[0].run);
  });

  it('deletes nothing when a transfer of the run fails, and says why', async () => {
    const { state, finished } = await started();
    const pair = { ...site, direction: 'download' as const, localPath: '/home/you/photos', prefix: 'photos/' };
    mock.setLocalFolder('/home/you/photos', { 'stray.jpg': { size: 10 } });
    const preview = await state.preview(pair);
    expect(preview.totals).toMatchObject({ downloads: 3, deletes: 1 });
    mock.failNext('network', 'the connection was reset');
    await state.run(preview, pair, true);
    runToEnd(state);
    expect(finished[0].run).toMatchObject({ transferred: 2, failed: 1, deleted: 0 });
    expect(finished[0].run?.problem).toMatch(/nothing was deleted/);
    expect(mock.localFolder('/home/you/photos')).toMatchObject({ 'stray.jpg': 10, 'lighthouse.jpg': 3_301_554 });
  });

  it('withholds the deletes of an empty source', async () => {
    const { state } = await started();
    mock.setLocalFolder('/home/you/empty', {});
    const preview = await state.preview({ ...site, localPath: '/home/you/empty', prefix: 'photos/' });
    expect(preview.totals.deletes).toBe(0);
    expect(preview.deletesWithheld).toMatch(/lists nothing/);
    expect(preview.items).toEqual([]);
  });

  it('syncs again at once when nothing is deleted, and asks first when something is', async () => {
    const { state, finished } = await started();
    const first = await state.preview(site);
    const saved = (await state.run(first, site, true)).pair!;
    runToEnd(state);

    expect(await state.again(saved)).toBe('nothing');
    runToEnd(state);
    expect(finished.at(-1)?.run).toMatchObject({ transferred: 0, deleted: 0 });
    expect(state.request).toBeNull();

    mock.setLocalFolder('/home/you/site', { 'index.html': { size: 4096, mtime: NOW + 60_000 } });
    const keys = mock.objectKeys('local', 'ferry');
    expect(await state.again(saved)).toBe('review');
    expect(state.request?.preview?.totals).toMatchObject({ uploads: 1, deletes: 1 });
    expect(state.request?.pair?.id).toBe(saved.id);
    expect(mock.objectKeys('local', 'ferry')).toEqual(keys);
    expect(state.running.size).toBe(0);
  });

  it('removes a saved pair; the files stay', async () => {
    const { state } = await started();
    const saved = (await state.run(await state.preview(site), site, true)).pair!;
    runToEnd(state);
    const keys = mock.objectKeys('local', 'ferry');
    await state.remove(saved.id);
    expect(state.pairs).toEqual([]);
    expect(await mock.listSyncPairs()).toEqual([]);
    expect(mock.objectKeys('local', 'ferry')).toEqual(keys);
  });

  it('refuses a plan it no longer keeps', async () => {
    const { state } = await started();
    const preview = await state.preview(site);
    await state.run(preview, site, false);
    await expect(state.run(preview, site, false)).rejects.toMatchObject({ kind: 'not_found' });
  });
});

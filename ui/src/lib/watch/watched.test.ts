import { afterEach, describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../backend/mock';
import type { NewWatchedFolder } from '../backend/types';
import { WatchedFoldersState } from './watched.svelte';

let mock: MockBackend;

afterEach(() => {
  mock?.dispose();
  vi.restoreAllMocks();
});

const camera: NewWatchedFolder = { path: '/home/you/Camera', account: 'local', bucket: 'ferry', prefix: 'camera/', ignore: ['*.raw'], mirrorDeletes: false };

async function started() {
  mock = new MockBackend({ now: () => 1_773_324_300_000 });
  const store = new WatchedFoldersState(mock);
  await store.start();
  return store;
}

describe('WatchedFoldersState', () => {
  it('lists the folders, then follows their changes through events', async () => {
    const store = await started();
    expect(store.loaded).toBe(true);
    expect(store.folders).toEqual([]);
    const added = await store.add(camera);
    expect(store.folders.map((f) => [f.id, f.state])).toEqual([[added.id, 'catching_up']]);
    mock.advance(300);
    expect(store.get(added.id)?.state).toBe('watching');
    mock.addLocalFile('/home/you/Camera/beach.jpg', 1000);
    expect(mock.watchedFileAppears('/home/you/Camera/beach.jpg')).toBe(1);
    mock.advance(200);
    expect(store.get(added.id)?.recent).toEqual([{ key: 'camera/beach.jpg', size: 1000, uploadedAt: 1_773_324_300_000 }]);
  });

  it('loads what is already watched, oldest first', async () => {
    mock = new MockBackend();
    await mock.addWatched({ ...camera, path: '/b' });
    await mock.addWatched({ ...camera, path: '/a' });
    const store = new WatchedFoldersState(mock);
    await store.start();
    expect(store.folders.map((f) => f.path)).toEqual(['/b', '/a']);
  });

  it('keeps an event that arrived while an action ran over the action’s older answer', async () => {
    const store = await started();
    const f = await store.add(camera);
    vi.spyOn(mock, 'pauseWatched').mockImplementation(async () => {
      store.apply({ ...f, state: 'error', error: 'The folder is gone.' });
      return { ...f, state: 'paused' };
    });
    const answer = await store.pause(f.id);
    expect(store.get(f.id)?.state).toBe('error');
    expect(answer.state).toBe('error');
  });

  it('takes the action’s answer when no event came', async () => {
    const store = await started();
    const f = await store.add(camera);
    vi.spyOn(mock, 'pauseWatched').mockResolvedValue({ ...f, state: 'paused' });
    await store.pause(f.id);
    expect(store.get(f.id)?.state).toBe('paused');
  });

  it('keeps a change that arrived after the list was asked for', async () => {
    const store = await started();
    const f = await store.add(camera);
    const stale = await mock.listWatched();
    vi.spyOn(mock, 'listWatched').mockImplementation(async () => {
      store.apply({ ...f, state: 'paused' });
      return stale;
    });
    await store.load();
    expect(store.get(f.id)?.state).toBe('paused');
  });

  it('removes a folder for good: a late event does not bring it back', async () => {
    const store = await started();
    const f = await store.add(camera);
    await store.remove(f.id);
    expect(store.folders).toEqual([]);
    store.apply({ ...f, state: 'watching' });
    expect(store.folders).toEqual([]);
    expect(await mock.listWatched()).toEqual([]);
  });

  it('passes the backend’s refusal on and adds nothing', async () => {
    const store = await started();
    await store.add(camera);
    await expect(store.add({ ...camera, ignore: [] })).rejects.toMatchObject({ kind: 'already_exists' });
    expect(store.folders).toHaveLength(1);
  });

  it('still lists the folders when live updates cannot be subscribed to', async () => {
    mock = new MockBackend();
    await mock.addWatched(camera);
    vi.spyOn(mock, 'onWatchedChanged').mockRejectedValue({ kind: 'internal', message: 'no event bus' });
    const store = new WatchedFoldersState(mock);
    await store.start();
    expect(store.streamError).toBe('no event bus');
    expect(store.folders).toHaveLength(1);
  });

  it('counts the folders that stopped with an error', async () => {
    const store = await started();
    const f = await store.add(camera);
    await store.add({ ...camera, path: '/home/you/Scans' });
    mock.failWatched(f.id, 'The bucket refused the upload: access denied.');
    expect(store.failedCount).toBe(1);
    expect(store.get(f.id)?.error).toBe('The bucket refused the upload: access denied.');
  });
});

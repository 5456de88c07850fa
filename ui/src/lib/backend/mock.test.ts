import { afterEach, describe, expect, it } from 'vitest';
import { MockBackend, sizeFromName } from './mock';
import { listAll } from './listing';
import type { NewWatchedFolder, ProgressSnapshot, TransferEvent, WatchedFolder } from './types';

const MIB = 1024 * 1024;
let mock: MockBackend;

function setup() {
  mock = new MockBackend({ now: () => 1_773_324_300_000 });
  const events: TransferEvent[] = [];
  const batches: ProgressSnapshot[][] = [];
  void mock.onTransferEvent((e) => events.push(e));
  void mock.onProgress((b) => batches.push(b));
  return { events, batches };
}

async function state(id: string) {
  return (await mock.listTransfers()).find((t) => t.id === id)!;
}

afterEach(() => mock?.dispose());

describe('MockBackend transfers', () => {
  it('runs an upload queued → running → completed and lists the new object', async () => {
    const { events, batches } = setup();
    mock.addLocalFile('/tmp/a.bin', 10 * MIB);
    mock.setSpeed(4 * MIB);
    const { ids } = await mock.uploadPaths('local', 'ferry', 'photos/', ['/tmp/a.bin']);
    expect(events.map((e) => e.state)).toEqual(['queued']);
    mock.advance(100);
    expect(events.map((e) => e.state)).toEqual(['queued', 'running']);
    expect(batches).toHaveLength(1);
    expect(batches[0][0]).toMatchObject({ id: ids[0], bytesTotal: 10 * MIB, speed: 4 * MIB, ended: false });
    mock.advance(3000);
    const t = await state(ids[0]);
    expect(t.state).toBe('completed');
    expect(t.bytesDone).toBe(10 * MIB);
    expect(events.at(-1)).toEqual({ id: ids[0], state: 'completed', error: null });
    expect(batches.at(-1)).toEqual([expect.objectContaining({ id: ids[0], bytesDone: 10 * MIB, ended: true })]);
    const listing = await listAll(mock, 'local', 'ferry', 'photos/');
    expect(listing.objects.map((o) => o.key)).toContain('photos/a.bin');
  });

  it('never reports more bytes than the total', async () => {
    const { batches } = setup();
    mock.addLocalFile('/tmp/small', 1000);
    await mock.uploadPaths('local', 'ferry', '', ['/tmp/small']);
    mock.advance(500);
    for (const b of batches) for (const s of b) expect(s.bytesDone).toBeLessThanOrEqual(s.bytesTotal);
  });

  it('keeps bytes on pause, continues from them on resume', async () => {
    const { events } = setup();
    mock.addLocalFile('/tmp/big', 100 * MIB);
    mock.setSpeed(10 * MIB);
    const [id] = (await mock.uploadPaths('local', 'ferry', '', ['/tmp/big'])).ids;
    mock.advance(1000);
    await mock.pause(id);
    const paused = await state(id);
    expect(paused.state).toBe('paused');
    expect(paused.bytesDone).toBe(10 * MIB);
    mock.advance(1000);
    expect((await state(id)).bytesDone).toBe(10 * MIB);
    await mock.resume(id);
    expect(events.at(-1)?.state).toBe('queued');
    mock.advance(1000);
    expect((await state(id)).bytesDone).toBe(20 * MIB);
  });

  it('cancels for good and refuses to resume a cancelled transfer', async () => {
    setup();
    const [id] = (await mock.uploadPaths('local', 'ferry', '', ['/tmp/x'])).ids;
    mock.advance(200);
    await mock.cancel(id);
    expect((await state(id)).state).toBe('cancelled');
    await expect(mock.resume(id)).rejects.toMatchObject({ kind: 'invalid_input' });
    expect(await mock.clearFinished()).toBe(1);
    expect(await mock.listTransfers()).toEqual([]);
  });

  it('fails the next transfer with the given error, and retries it to the end', async () => {
    const { events } = setup();
    mock.failNext('network', 'the connection was reset');
    mock.addLocalFile('/tmp/f', 2 * MIB);
    const [id] = (await mock.uploadPaths('local', 'ferry', '', ['/tmp/f'])).ids;
    mock.advance(2000);
    const failed = await state(id);
    expect(failed.state).toBe('failed');
    expect(failed.error).toEqual({ kind: 'network', message: 'the connection was reset' });
    expect(events.at(-1)).toEqual({ id, state: 'failed', error: { kind: 'network', message: 'the connection was reset' } });
    await mock.retry(id);
    mock.advance(2000);
    expect((await state(id)).state).toBe('completed');
  });

  it('retries like the shell resumes: a queued or running transfer is left alone, a finished one refused', async () => {
    const { events } = setup();
    mock.addLocalFile('/tmp/r', 100 * MIB);
    const [id] = (await mock.uploadPaths('local', 'ferry', '', ['/tmp/r'])).ids;
    await mock.retry(id);
    expect((await state(id)).state).toBe('queued');
    mock.advance(1000);
    const before = events.length;
    await mock.retry(id);
    const running = await state(id);
    expect(running.state).toBe('running');
    expect(events).toHaveLength(before);
    mock.advance(1000);
    expect((await state(id)).bytesDone).toBeGreaterThan(running.bytesDone);
    const [waiting] = mock.addTransfers(1, 'waiting_retry');
    await mock.retry(waiting);
    expect((await state(waiting)).state).toBe('queued');
    await mock.cancel(id);
    await expect(mock.retry(id)).rejects.toMatchObject({ kind: 'invalid_input' });
  });

  it('runs at most the configured number of transfers at once', async () => {
    setup();
    await mock.setSettings({ ...(await mock.getSettings()), concurrentTransfers: 2 });
    await mock.uploadPaths('local', 'ferry', '', ['/a', '/b', '/c']);
    mock.advance(100);
    const states = (await mock.listTransfers()).map((t) => t.state);
    expect(states).toEqual(['running', 'running', 'queued']);
  });

  it('pauses and resumes everything unfinished', async () => {
    setup();
    await mock.uploadPaths('local', 'ferry', '', ['/a', '/b']);
    mock.advance(100);
    await mock.pauseAll();
    expect((await mock.listTransfers()).map((t) => t.state)).toEqual(['paused', 'paused']);
    await mock.resumeAll();
    expect((await mock.listTransfers()).map((t) => t.state)).toEqual(['queued', 'queued']);
  });

  it('downloads a prefix as one transfer per object, keeping the folder name', async () => {
    setup();
    const { ids } = await mock.download('local', 'ferry', [], ['photos/'], '/home/you/Downloads');
    const paths = (await mock.listTransfers()).filter((t) => ids.includes(t.id)).map((t) => t.localPath).sort();
    expect(paths).toEqual([
      '/home/you/Downloads/photos/2025/ferry-deck.jpg',
      '/home/you/Downloads/photos/harbour-at-dawn.jpg',
      '/home/you/Downloads/photos/lighthouse.jpg',
    ]);
  });

  it('derives sizes from names deterministically', () => {
    expect(sizeFromName('/a/b.jpg')).toBe(sizeFromName('/a/b.jpg'));
    expect(sizeFromName('/a/b.jpg')).toBeGreaterThanOrEqual(4 * MIB);
  });

  it('reads the queue in pages newest first by cursor, like list_transfers_page, with its refusals', async () => {
    setup();
    const ids = mock.addTransfers(25, 'queued');
    const seen: string[] = [];
    let before: number | null = null;
    for (;;) {
      const page = await mock.listTransfersPage({ before, limit: 10 });
      if (page.items.length === 0) break;
      expect(page.cursors).toHaveLength(page.items.length);
      seen.push(...page.items.map((t) => t.id));
      before = page.cursors[page.cursors.length - 1];
    }
    expect(seen).toEqual([...ids].reverse());
    const end = await mock.listTransfersPage({ after: 0, limit: 2 });
    expect(end.items.map((t) => t.id)).toEqual([ids[1], ids[0]]);
    await mock.pause(ids[3]);
    const paused = await mock.listTransfersPage({ limit: 10, state: 'paused' });
    expect(paused.items.map((t) => t.id)).toEqual([ids[3]]);
    await expect(mock.listTransfersPage({ limit: 0 })).rejects.toMatchObject({ kind: 'invalid_input' });
    await expect(mock.listTransfersPage({ before: 1, after: 1, limit: 5 })).rejects.toMatchObject({ kind: 'invalid_input' });
  });

  it('makes a long history only as pages read it, and sums it up without making it', async () => {
    setup();
    mock.addHistory(100_000, 'completed');
    mock.addHistory(5, 'paused');
    const sum = await mock.transferSummary();
    expect(sum.total).toBe(100_005);
    expect(sum.counts).toMatchObject({ completed: 100_000, paused: 5 });
    const top = await mock.listTransfersPage({ limit: 7 });
    expect(top.items.map((t) => t.name)).toEqual([
      'history-00005.bin', 'history-00004.bin', 'history-00003.bin', 'history-00002.bin', 'history-00001.bin',
      'history-100000.bin', 'history-99999.bin',
    ]);
    // Nothing was made to be kept: the mock's own list of transfers is still empty.
    expect(mock.transferList()).toEqual([]);

    // A row touched (resumed) is kept from then on, and counted in its new state.
    await mock.resume(top.items[0].id);
    expect(mock.transferList().map((t) => t.state)).toEqual(['queued']);
    expect((await mock.transferSummary()).counts).toMatchObject({ queued: 1, paused: 4, completed: 100_000 });
    const again = await mock.listTransfersPage({ limit: 2 });
    expect(again.items.map((t) => [t.name, t.state])).toEqual([['history-00005.bin', 'queued'], ['history-00004.bin', 'paused']]);

    // The sums of some transfers, and clearing the finished ones.
    const some = await mock.transferSummary({ ids: [top.items[5].id, top.items[6].id, 'gone'] });
    expect(some.selection?.counts.completed).toBe(2);
    expect(some.selection?.bytesTotal).toBe(sizeFromName('history-100000.bin') + sizeFromName('history-99999.bin'));
    expect(await mock.clearFinished()).toBe(100_000);
    expect((await mock.transferSummary()).total).toBe(5);
  });

});

describe('MockBackend browsing, accounts and links', () => {
  it('lists folders before objects at a prefix', async () => {
    setup();
    const root = await listAll(mock, 'local', 'ferry', '');
    expect(root.prefixes).toEqual(['backups/', 'photos/']);
    expect(root.objects.map((o) => o.key)).toContain('README.txt');
    const photos = await listAll(mock, 'local', 'ferry', 'photos/');
    expect(photos.prefixes).toEqual(['photos/2025/']);
  });

  it('deletes objects and whole prefixes', async () => {
    setup();
    const heard: [number, number][] = [];
    const done = await mock.deleteObjects('local', 'ferry', ['README.txt'], ['photos/'], (p) => heard.push([p.handled, p.total]));
    expect(done).toEqual({ deleted: 4, failed: [] });
    expect(heard).toEqual([[4, 4]]);
    const root = await listAll(mock, 'local', 'ferry', '');
    expect(root.prefixes).toEqual(['backups/']);
  });

  it('counts a folder before its delete, and names a key it refuses while deleting the rest', async () => {
    setup();
    expect(await mock.tallyFolders('local', 'ferry', ['photos/'])).toEqual({ objects: 3, bytes: 13_234_334 });
    mock.refusedDeletes.add('photos/lighthouse.jpg');
    const done = await mock.deleteObjects('local', 'ferry', [], ['photos/']);
    expect(done.deleted).toBe(2);
    expect(done.failed.map((f) => f.key)).toEqual(['photos/lighthouse.jpg']);
  });

  it('renames, refusing an existing name unless asked to replace it', async () => {
    setup();
    await expect(mock.copyObjects('local', 'ferry', 'README.txt', 'quarterly-report.pdf', true, false)).rejects.toMatchObject({
      kind: 'already_exists',
    });
    expect((await mock.objectProperties('local', 'ferry', 'README.txt')).contentType).toBe('text/plain');
    const queued = await mock.copyObjects('local', 'ferry', 'photos/', 'old/photos/', true, false);
    expect(queued.ids).toHaveLength(3);
    const copies = (await mock.listTransfers()).filter((t) => queued.ids.includes(t.id));
    expect(copies.map((t) => [t.direction, t.state])).toEqual([['copy', 'completed'], ['copy', 'completed'], ['copy', 'completed']]);
    expect((await listAll(mock, 'local', 'ferry', 'old/photos/')).objects.map((o) => o.key)).toContain('old/photos/lighthouse.jpg');
  });

  it('refuses the keychain when none is available, and accepts a session-only secret', async () => {
    setup();
    mock.keychainAvailable = false;
    const acc = { name: 'r2', endpoint: 'https://example.invalid', region: 'auto', pathStyle: true, accessKeyId: 'AK', secretAccessKey: 'SK', sessionOnly: false };
    await expect(mock.addAccount(acc)).rejects.toMatchObject({ kind: 'keychain_unavailable' });
    const saved = await mock.addAccount({ ...acc, sessionOnly: true });
    expect(saved.secret).toBe('session');
    expect((await mock.listAccounts()).map((a) => a.name)).toEqual(['local', 'work', 'r2']);
  });

  it('presigns with the requested expiry', async () => {
    setup();
    const link = await mock.presign('local', 'ferry', 'photos/lighthouse.jpg', 900);
    expect(link.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/ferry\/photos\/lighthouse\.jpg\?/);
    expect(link.expiresInSecs).toBe(900);
    expect(link.expiresAt).toBe(1_773_324_300 + 900);
  });

  it('fails a chosen call once', async () => {
    setup();
    mock.failCall('listBuckets', 'network', 'offline');
    await expect(mock.listBuckets('local')).rejects.toEqual({ kind: 'network', message: 'offline' });
    expect(await mock.listBuckets('local')).toEqual(['ferry']);
  });
});

describe('MockBackend watched folders', () => {
  const camera: NewWatchedFolder = { path: '/home/you/Camera/', account: 'local', bucket: 'ferry', prefix: 'camera', ignore: ['*.raw'], mirrorDeletes: false };

  function watching() {
    setup();
    const changes: WatchedFolder[] = [];
    void mock.onWatchedChanged((f) => changes.push(f));
    return changes;
  }

  it('adds a folder catching up, then watching, announcing each change', async () => {
    const changes = watching();
    const f = await mock.addWatched(camera);
    expect(f).toMatchObject({ path: '/home/you/Camera', prefix: 'camera/', state: 'catching_up', error: null, recent: [], createdAt: 1_773_324_300_000 });
    mock.advance(300);
    expect(changes.map((c) => c.state)).toEqual(['catching_up', 'watching']);
    expect(await mock.listWatched()).toEqual([{ ...f, state: 'watching' }]);
  });

  it('refuses what the engine refuses, with its kinds', async () => {
    watching();
    await mock.addWatched(camera);
    await expect(mock.addWatched({ ...camera, path: '  ' })).rejects.toMatchObject({ kind: 'invalid_input' });
    await expect(mock.addWatched({ ...camera, path: 'Camera' })).rejects.toMatchObject({ kind: 'invalid_input' });
    mock.missingFolders.add('/media/usb');
    await expect(mock.addWatched({ ...camera, path: '/media/usb' })).rejects.toMatchObject({ kind: 'invalid_input', message: 'no such folder: /media/usb; create it first or choose another' });
    await expect(mock.addWatched({ ...camera, bucket: 'nope' })).rejects.toMatchObject({ kind: 'not_found' });
    await expect(mock.addWatched({ ...camera, account: 'nobody' })).rejects.toMatchObject({ kind: 'not_found' });
    await expect(mock.addWatched({ ...camera, path: '/home/you/Camera', prefix: 'camera/' })).rejects.toEqual({
      kind: 'already_exists', message: '/home/you/Camera is already watched into s3://ferry/camera/',
    });
    // Another prefix or bucket is another watched folder.
    await mock.addWatched({ ...camera, prefix: 'camera-copy/' });
    expect(await mock.listWatched()).toHaveLength(2);
  });

  it('uploads a file that appears through the queue, then lists it as recent, newest first', async () => {
    const changes = watching();
    const f = await mock.addWatched(camera);
    mock.advance(300);
    mock.addLocalFile('/home/you/Camera/2026/beach.jpg', 3 * MIB);
    expect(mock.watchedFileAppears('/home/you/Camera/2026/beach.jpg')).toBe(1);
    expect(mock.watchedFileAppears('/home/you/Camera/dune.jpg', MIB)).toBe(1);
    expect((await mock.listTransfers()).map((t) => t.key)).toEqual(['camera/2026/beach.jpg', 'camera/dune.jpg']);
    mock.advance(1000);
    const [now] = await mock.listWatched();
    expect(now.recent.map((u) => [u.key, u.size])).toEqual([['camera/2026/beach.jpg', 3 * MIB], ['camera/dune.jpg', MIB]]);
    expect(changes.at(-1)?.recent).toEqual(now.recent);
    expect((await listAll(mock, 'local', 'ferry', 'camera/2026/')).objects.map((o) => o.key)).toEqual(['camera/2026/beach.jpg']);
    expect(now.id).toBe(f.id);
  });

  it('skips ignored files: its own patterns and the defaults', async () => {
    watching();
    await mock.addWatched(camera);
    expect(mock.watchedFileAppears('/home/you/Camera/IMG_0001.raw')).toBe(0);
    expect(mock.watchedFileAppears('/home/you/Camera/.thumbnails/a.png')).toBe(0);
    expect(mock.watchedFileAppears('/home/you/Camera/upload.part')).toBe(0);
    expect(mock.watchedFileAppears('/home/you/Elsewhere/a.jpg')).toBe(0);
    expect(await mock.listTransfers()).toEqual([]);
  });

  it('holds files that appear while paused, and uploads them on resume', async () => {
    watching();
    const f = await mock.addWatched(camera);
    mock.advance(300);
    expect((await mock.pauseWatched(f.id)).state).toBe('paused');
    expect(mock.watchedFileAppears('/home/you/Camera/late.jpg', MIB)).toBe(1);
    mock.advance(1000);
    expect(await mock.listTransfers()).toEqual([]);
    expect((await mock.resumeWatched(f.id)).state).toBe('catching_up');
    mock.advance(1000);
    const [now] = await mock.listWatched();
    expect(now.state).toBe('watching');
    expect(now.recent.map((u) => u.key)).toEqual(['camera/late.jpg']);
  });

  it('stops with a reason, and tries again on resume', async () => {
    const changes = watching();
    const f = await mock.addWatched(camera);
    mock.failWatched(f.id, 'The folder /home/you/Camera no longer exists.');
    expect(changes.at(-1)).toMatchObject({ state: 'error', error: 'The folder /home/you/Camera no longer exists.' });
    expect(await mock.resumeWatched(f.id)).toMatchObject({ state: 'catching_up', error: null });
  });

  it('deletes objects for local deletions only when mirroring', async () => {
    watching();
    const plain = await mock.addWatched(camera);
    const mirrored = await mock.addWatched({ ...camera, prefix: 'mirror/', mirrorDeletes: true });
    mock.advance(300);
    mock.watchedFileAppears('/home/you/Camera/a.jpg', MIB);
    mock.advance(1000);
    expect(mock.watchedFileDeleted('/home/you/Camera/a.jpg')).toBe(1);
    const keys = (await listAll(mock, 'local', 'ferry', '')).prefixes;
    expect(keys).toContain('camera/');
    expect(keys).not.toContain('mirror/');
    expect([plain.mirrorDeletes, mirrored.mirrorDeletes]).toEqual([false, true]);
  });

  it('removes a folder; what it uploaded stays', async () => {
    watching();
    const f = await mock.addWatched(camera);
    mock.advance(300);
    mock.watchedFileAppears('/home/you/Camera/a.jpg', MIB);
    mock.advance(1000);
    await mock.removeWatched(f.id);
    expect(await mock.listWatched()).toEqual([]);
    expect(mock.watchedFileAppears('/home/you/Camera/b.jpg')).toBe(0);
    expect((await listAll(mock, 'local', 'ferry', 'camera/')).objects.map((o) => o.key)).toEqual(['camera/a.jpg']);
    await expect(mock.removeWatched(f.id)).rejects.toMatchObject({ kind: 'not_found' });
    await expect(mock.pauseWatched(f.id)).rejects.toMatchObject({ kind: 'not_found' });
  });
});

describe('MockBackend listings and searches', () => {
  it('lists a generated folder in pages of 1,000 and searches every level by glob or substring', async () => {
    setup();
    mock.addGeneratedFolder('local', 'ferry', 'deep/a/', 1500);
    const pages: number[] = [];
    const listed = await mock.listObjects('local', 'ferry', 'deep/a/', (p) => pages.push(p.objects.length)).done;
    expect(pages).toEqual([1000, 500]);
    expect(listed).toMatchObject({ pages: 2, objects: 1500, complete: true });
    expect((await listAll(mock, 'local', 'ferry', 'deep/')).prefixes).toEqual(['deep/a/']);

    const found: string[] = [];
    const looked: number[] = [];
    const searched = await mock.searchObjects('local', 'ferry', '', { name: '*-000100?.BIN' }, (f) => {
      found.push(...f.objects.map((o) => o.key));
      looked.push(f.soFar.listed.objects);
    }).done;
    expect(found).toEqual(Array.from({ length: 10 }, (_, i) => `deep/a/object-000100${i}.bin`));
    expect(looked).toEqual([7, 1007, 1507]);
    expect(searched).toMatchObject({ matched: 10, listed: { objects: 1507, complete: true } });
    const readme = await mock.searchObjects('local', 'ferry', '', { name: 'readme' }, () => {}).done;
    expect(readme.matched).toBe(1);
  });
});

import { afterEach, describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../backend/mock';
import type { Transfer } from '../backend/types';
import { directionLabel, stateLabel } from './labels';
import { TransferItem, TransfersState } from './transfers.svelte';

const MIB = 1024 * 1024;
let mock: MockBackend;

afterEach(() => {
  mock?.dispose();
  vi.restoreAllMocks();
});

async function started() {
  mock = new MockBackend();
  const store = new TransfersState(mock);
  await store.start();
  return store;
}

/** Lets the store's refreshes (promise chains) settle. */
async function settle() {
  for (let i = 0; i < 10; i++) await Promise.resolve();
  await new Promise((r) => setTimeout(r, 0));
}

function transfer(over: Partial<Transfer> = {}): Transfer {
  return {
    id: 'a', direction: 'upload', state: 'running', account: 'local', bucket: 'ferry', key: 'k', localPath: '/k',
    name: 'k', bytesDone: 0, bytesTotal: 100, error: null, createdAt: 1, finishedAt: null, verified: null, ...over,
  };
}

describe('TransfersState', () => {
  it('loads the list once, newest first', async () => {
    const store = await started();
    mock.addTransfers(3);
    await settle();
    expect(store.items.map((i) => i.name)).toEqual(['file-00003.bin', 'file-00002.bin', 'file-00001.bin']);
    expect(store.counts.queued).toBe(3);
  });

  it('refreshes when an event names an unknown transfer, once for a burst', async () => {
    const store = await started();
    const list = vi.spyOn(mock, 'listTransfers');
    mock.addTransfers(500);
    await settle();
    expect(store.size).toBe(500);
    expect(list.mock.calls.length).toBeLessThanOrEqual(2);
  });

  it('tells its listeners of an event for a transfer it had not loaded, once the refresh brings it in', async () => {
    const store = await started();
    const heard: string[] = [];
    store.onEvent((item, e) => heard.push(`${item.id}:${e.state}`));
    vi.spyOn(mock, 'listTransfers').mockResolvedValue([transfer({ id: 'late', state: 'completed', direction: 'copy' })]);
    store.applyEvent({ id: 'late', state: 'completed', error: null });
    expect(heard).toEqual([]);
    await settle();
    expect(heard).toEqual(['late:completed']);
  });

  it('applies a progress batch only to the transfers it names (O(changed))', async () => {
    const store = await started();
    mock.addTransfers(10_000);
    await settle();
    const itemsBefore = store.items;
    const applied = vi.spyOn(TransferItem.prototype, 'applySnapshot');
    const list = vi.spyOn(mock, 'listTransfers');
    const ids = [store.items[0].id, store.items[5000].id, store.items[9999].id];
    store.applyProgress(ids.map((id) => ({ id, bytesDone: 10, bytesTotal: store.get(id)!.bytesTotal, bytesSending: 0, speed: 0, etaSecs: null, ended: false })));
    expect(applied).toHaveBeenCalledTimes(3);
    expect(store.items).toBe(itemsBefore);
    expect(list).not.toHaveBeenCalled();
    expect(ids.map((id) => store.get(id)!.bytesDone)).toEqual([10, 10, 10]);
    expect(store.items[1].bytesDone).toBe(0);
  });

  it('follows the mock through a whole transfer, keeping counts and speed', async () => {
    const store = await started();
    mock.addLocalFile('/tmp/a', 3_000_000);
    mock.setSpeed(1_000_000);
    await mock.uploadPaths('local', 'ferry', '', ['/tmp/a']);
    await settle();
    mock.advance(1000);
    const item = store.items[0];
    expect(item.state).toBe('running');
    expect(item.bytesDone).toBe(1_000_000);
    expect(store.counts.running).toBe(1);
    expect(store.totalSpeed).toBe(1_000_000);
    expect(item.etaSecs).toBe(2);
    mock.advance(3000);
    expect(item.state).toBe('completed');
    expect(item.progress).toBe(1);
    expect(store.counts).toMatchObject({ running: 0, completed: 1 });
    expect(store.totalSpeed).toBe(0);
  });

  it('never shows more than 100%', () => {
    const item = new TransferItem(transfer());
    item.applySnapshot({ id: 'a', bytesDone: 250, bytesTotal: 100, bytesSending: 0, speed: 5, etaSecs: 0, ended: false });
    expect(item.bytesDone).toBe(100);
    expect(item.progress).toBe(1);
    const listed = new TransferItem(transfer({ bytesDone: 999 }));
    expect(listed.progress).toBe(1);
  });

  it('shows the bytes on their way apart from those kept, so a pause never takes the number back', () => {
    const item = new TransferItem(transfer({ state: 'running' }));
    item.applySnapshot({ id: 'a', bytesDone: 30, bytesTotal: 100, bytesSending: 45, speed: 10, etaSecs: 3, ended: false });
    expect([item.bytesDone, item.bytesSending]).toEqual([30, 45]);
    expect(item.progress).toBeCloseTo(0.3);
    expect(item.moving).toBeCloseTo(0.75);
    // The pause lands: what was on its way is no longer shown as moving; what was kept stays.
    item.applyEvent({ id: 'a', state: 'paused', error: null });
    item.applySnapshot({ id: 'a', bytesDone: 36, bytesTotal: 100, bytesSending: 0, speed: 0, etaSecs: null, ended: true });
    expect([item.bytesDone, item.bytesSending]).toEqual([36, 0]);
    item.update(transfer({ state: 'paused', bytesDone: 36 }));
    expect(item.bytesDone).toBe(36);
  });

  it('keeps what a finished download was verified against, from its event or the list', () => {
    const item = new TransferItem(transfer({ direction: 'download' }));
    expect(item.verified).toBeNull();
    item.applyEvent({ id: 'a', state: 'completed', error: null, verified: 'composite CRC32C' });
    expect(item.verified).toBe('composite CRC32C');
    item.applyEvent({ id: 'a', state: 'completed', error: null });
    expect(item.verified).toBe('composite CRC32C');
    const listed = new TransferItem(transfer({ direction: 'download', state: 'completed', verified: 'MD5 ETag' }));
    expect(listed.verified).toBe('MD5 ETag');
  });

  it('drops the speed of a transfer that stopped, even if a late snapshot says otherwise', () => {
    const item = new TransferItem(transfer());
    item.applyEvent({ id: 'a', state: 'paused', error: null });
    item.applySnapshot({ id: 'a', bytesDone: 40, bytesTotal: 100, bytesSending: 0, speed: 1000, etaSecs: 3, ended: false });
    expect(item.bytesDone).toBe(40);
    expect(item.speed).toBe(0);
    expect(item.etaSecs).toBeNull();
  });

  it('shows the error of a failed transfer and clears it on retry', async () => {
    const store = await started();
    mock.failNext('access_denied', 'the bucket policy refuses uploads');
    await mock.uploadPaths('local', 'ferry', '', ['/x']);
    await settle();
    mock.advance(60_000);
    const item = store.items[0];
    expect(item.state).toBe('failed');
    expect(item.error?.message).toBe('the bucket policy refuses uploads');
    expect(store.counts.failed).toBe(1);
    await store.retry(item.id);
    expect(item.state).toBe('queued');
    expect(item.error).toBeNull();
  });

  it('pauses keeping bytes, and resumes', async () => {
    const store = await started();
    mock.addLocalFile('/big', 100 * MIB);
    await mock.uploadPaths('local', 'ferry', '', ['/big']);
    await settle();
    mock.advance(500);
    const item = store.items[0];
    await store.pause(item.id);
    const kept = item.bytesDone;
    expect(kept).toBeGreaterThan(0);
    expect(item.state).toBe('paused');
    mock.advance(1000);
    expect(item.bytesDone).toBe(kept);
    await store.resume(item.id);
    mock.advance(500);
    expect(item.bytesDone).toBeGreaterThan(kept);
  });

  it('clears finished transfers from the list', async () => {
    const store = await started();
    mock.addTransfers(3, 'completed');
    mock.addTransfers(2, 'paused');
    await settle();
    expect(store.size).toBe(5);
    expect(await store.clearFinished()).toBe(3);
    expect(store.size).toBe(2);
    expect(store.counts).toMatchObject({ completed: 0, paused: 2 });
  });

  it('keeps changes that arrive while a refresh is in flight', async () => {
    mock = new MockBackend();
    const store = new TransfersState(mock);
    await store.start();
    mock.addLocalFile('/a', 100 * MIB);
    await mock.uploadPaths('local', 'ferry', '', ['/a']);
    await settle();
    const item = store.items[0];
    // The list is read, then an event arrives before the answer is applied.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const real = mock.listTransfers.bind(mock);
    vi.spyOn(mock, 'listTransfers').mockImplementation(async () => {
      const list = await real();
      await gate;
      return list;
    });
    const refreshing = store.refresh();
    await settle();
    store.applyEvent({ id: item.id, state: 'paused', error: null });
    release();
    await refreshing;
    expect(item.state).toBe('paused');
  });
});

describe('directionLabel', () => {
  it('names a server-side copy by its source and destination', () => {
    const copy = { direction: 'copy' as const, bucket: 'b', key: 'to/x.mp4', localPath: 's3://a/from/x.mp4' };
    expect(directionLabel(copy)).toEqual({ icon: 'move', title: 'Server-side copy', where: 'from a/from/x.mp4 to b/to/x.mp4' });
    expect(directionLabel({ ...copy, direction: 'upload', localPath: '/home/x.mp4' }).where).toBe('to b/to/x.mp4');
    expect(directionLabel({ ...copy, direction: 'download', localPath: '/home/x.mp4' }).where).toBe('into /home/x.mp4');
    expect(stateLabel('running', 'copy')).toBe('Copying');
  });
});

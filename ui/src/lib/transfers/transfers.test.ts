import { afterEach, describe, expect, it, vi } from 'vitest';
import { MockBackend } from '../backend/mock';
import type { Transfer } from '../backend/types';
import { directionLabel, stateLabel } from './labels';
import { KEEP, PAGE, TransferItem, TransfersState } from './transfers.svelte';

const MIB = 1024 * 1024;
let mock: MockBackend;

afterEach(() => {
  mock?.dispose();
  vi.restoreAllMocks();
});

async function started() {
  mock = new MockBackend();
  const store = new TransfersState(mock, { summaryGapMs: 0 });
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

  it('takes a burst of new transfers in with one page and one summary, not a request per event', async () => {
    const store = await started();
    const pages = vi.spyOn(mock, 'listTransfersPage');
    const sums = vi.spyOn(mock, 'transferSummary');
    mock.addTransfers(500);
    await settle();
    // The newest page is loaded; the rest is counted, not loaded.
    expect(store.size).toBe(PAGE);
    expect(store.items[0].name).toBe('file-00500.bin');
    expect(store.total).toBe(500);
    expect(store.counts.queued).toBe(500);
    expect(pages.mock.calls.length).toBeLessThanOrEqual(2);
    expect(sums.mock.calls.length).toBeLessThanOrEqual(2);
  });

  it('tells its listeners of an event for a transfer it had not loaded, once the newest page brings it in', async () => {
    const store = await started();
    const heard: string[] = [];
    store.onEvent((item, e) => heard.push(`${item.id}:${e.state}`));
    vi.spyOn(mock, 'listTransfersPage').mockResolvedValue({ items: [transfer({ id: 'late', state: 'completed', direction: 'copy' })], cursors: [7] });
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
    const pages = vi.spyOn(mock, 'listTransfersPage');
    const ids = [store.items[0].id, store.items[100].id, store.items[199].id];
    store.applyProgress(ids.map((id) => ({ id, bytesDone: 10, bytesTotal: store.get(id)!.bytesTotal, bytesSending: 0, speed: 0, etaSecs: null, ended: false })));
    expect(applied).toHaveBeenCalledTimes(3);
    expect(store.items).toBe(itemsBefore);
    expect(pages).not.toHaveBeenCalled();
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
    item.applyEvent({ id: 'a', state: 'completed', error: null, verified: 'composite CRC32C', verifiedWords: "the server's composite CRC32C" });
    expect([item.verified, item.verifiedWords]).toEqual(['composite CRC32C', "the server's composite CRC32C"]);
    item.applyEvent({ id: 'a', state: 'completed', error: null });
    expect(item.verified).toBe('composite CRC32C');
    const listed = new TransferItem(transfer({ direction: 'download', state: 'completed', verified: 'MD5 ETag', verifiedWords: "the server's MD5 ETag" }));
    expect([listed.verified, listed.verifiedWords]).toEqual(['MD5 ETag', "the server's MD5 ETag"]);
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
    const store = new TransfersState(mock, { summaryGapMs: 0 });
    await store.start();
    mock.addLocalFile('/a', 100 * MIB);
    await mock.uploadPaths('local', 'ferry', '', ['/a']);
    await settle();
    const item = store.items[0];
    // The list is read, then an event arrives before the answer is applied.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const real = mock.listTransfersPage.bind(mock);
    vi.spyOn(mock, 'listTransfersPage').mockImplementation(async (r) => {
      const list = await real(r);
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


describe('TransfersState over a long queue', () => {
  /** 100,000 finished transfers (made by the mock only as pages read them), then `running` that run. */
  async function long(running = 0) {
    mock = new MockBackend();
    mock.addHistory(99_990, 'completed');
    mock.addHistory(10 - running, 'failed');
    if (running) mock.addTransfers(running, 'queued');
    const store = new TransfersState(mock, { summaryGapMs: 0 });
    await store.start();
    await settle();
    return store;
  }

  /** The list scrolled to show rows [from, to), once the window has moved there. */
  async function scrollTo(store: TransfersState, from: number, to: number) {
    store.show(from, to);
    for (let i = 0; i < 20; i++) await settle();
  }

  it('loads the first page, counts all 100,000, and keeps at most a few pages as the list scrolls', async () => {
    const pages = vi.spyOn(MockBackend.prototype, 'listTransfersPage');
    const store = await long();
    expect(store.total).toBe(100_000);
    expect(store.count).toBe(100_000);
    expect(store.counts).toMatchObject({ completed: 99_990, failed: 10 });
    expect(store.size).toBe(PAGE);
    expect(store.at(0)!.name).toBe('history-00010.bin');
    expect(store.row(PAGE + 5)).toEqual({ id: `pending-${PAGE + 5}`, pending: true });
    const first = pages.mock.calls.length;

    // Scrolling just past the loaded rows reads the next page, and only that.
    await scrollTo(store, PAGE - 5, PAGE + 15);
    expect(pages.mock.calls.length).toBe(first + 1);
    expect(store.size).toBe(2 * PAGE);
    expect(store.at(PAGE)!.name).toBe('history-99800.bin');

    // On through 3,000 rows: the window follows, never more than KEEP items.
    for (let at = PAGE; at < 3_000; at += 100) {
      await scrollTo(store, at, at + 20);
      expect(store.size).toBeLessThanOrEqual(KEEP);
    }
    expect(store.at(2_990)!.name).toBe(`history-${String(99_990 - 2_980).padStart(5, '0')}.bin`);
    expect(store.first).toBeGreaterThan(0);
  });

  it('jumps to the end for the oldest and back to the top for the newest, and walks to the middle', async () => {
    const store = await long();
    await scrollTo(store, 99_980, 100_000);
    expect(store.at(99_999)!.name).toBe('history-00001.bin');
    expect(store.size).toBeLessThanOrEqual(KEEP);
    await scrollTo(store, 50_000, 50_020);
    expect(store.at(50_000)!.name).toBe('history-50000.bin');
    expect(store.size).toBeLessThanOrEqual(KEEP);
    await scrollTo(store, 0, 20);
    expect(store.first).toBe(0);
    expect(store.at(0)!.name).toBe('history-00010.bin');
  });

  it('counts the events of transfers it has not loaded, and a new transfer appears at the top', async () => {
    const store = await long(3);
    expect(store.counts).toMatchObject({ queued: 3, completed: 99_990, failed: 7 });
    // Scrolled far down: the running transfers at the top are not loaded.
    await scrollTo(store, 60_000, 60_020);
    expect(store.get(store.at(60_000)!.id)).toBeDefined();
    mock.setSpeed(1_000_000);
    mock.advance(200);
    await settle();
    expect(store.counts).toMatchObject({ queued: 0, running: 3 });
    expect(store.totalSpeed).toBe(3_000_000);
    expect(store.size).toBeLessThanOrEqual(KEEP + PAGE);

    // Back at the top, a new upload is the first row once it is queued.
    await scrollTo(store, 0, 20);
    mock.addLocalFile('/home/you/new.bin', 10);
    await mock.uploadPaths('local', 'ferry', '', ['/home/you/new.bin']);
    await settle();
    expect(store.at(0)!.name).toBe('new.bin');
    expect(store.total).toBe(100_001);
    expect(store.counts.completed + store.counts.running + store.counts.queued).toBe(99_994);
  });

  it('adds up a sync run from its loaded transfers and the sums of the others', async () => {
    mock = new MockBackend();
    mock.addHistory(5_000, 'completed');
    const ids = (await mock.listTransfers()).map((t) => t.id);
    const store = new TransfersState(mock, { summaryGapMs: 0 });
    await store.start();
    await settle();
    const before = store.tally(ids);
    expect(before.files).toBe(5_000);
    await settle();
    const t = store.tally(ids);
    expect(t.completed).toBe(5_000);
    const all = (await mock.listTransfers()).reduce((n, x) => n + x.bytesTotal, 0);
    expect([t.bytesDone, t.bytesTotal]).toEqual([all, all]);
  });

  it('adds up a sync run by its batch when the backend names it, sending no ids', async () => {
    mock = new MockBackend();
    mock.addHistory(5_000, 'completed');
    const ids = (await mock.listTransfers()).map((t) => t.id);
    const real = mock.transferSummary.bind(mock);
    const asked: unknown[] = [];
    vi.spyOn(mock, 'transferSummary').mockImplementation(async (selection) => {
      asked.push(selection);
      if (!selection || !('batch' in selection)) return real(selection);
      const counts = { ...(await real()).counts, completed: 4_000, running: 1_000 };
      return { ...(await real()), selection: { counts, bytesDone: 7, bytesTotal: 9 } };
    });
    const store = new TransfersState(mock, { summaryGapMs: 0 });
    await store.start();
    store.tally(ids, 'batch-1');
    await settle();
    const t = store.tally(ids, 'batch-1');
    expect(t).toMatchObject({ files: 5_000, completed: 4_000, bytesDone: 7, bytesTotal: 9 });
    expect(asked).toContainEqual({ batch: 'batch-1' });
    expect(asked.some((s) => typeof s === 'object' && s !== null && 'ids' in s)).toBe(false);
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

// The Tauri backend speaks the contract in types.ts: these tests replace the Tauri modules and check
// the command names and argument names it sends, and that progress uses one channel subscribed once.
import { beforeEach, describe, expect, it, vi } from 'vitest';

const calls: { cmd: string; args: unknown }[] = [];
const channels: { onmessage: (batch: unknown) => void }[] = [];

vi.mock('@tauri-apps/api/core', () => ({
  invoke: vi.fn(async (cmd: string, args?: unknown) => {
    calls.push({ cmd, args });
    return cmd === 'list_objects' ? { pages: 0, objects: 0, prefixes: 0, bytes: 0, complete: true } : null;
  }),
  Channel: class {
    onmessage: (batch: unknown) => void = () => {};
    constructor() {
      channels.push(this);
    }
  },
}));
const watchedPayload = {
  id: 'w', path: '/home/you/Camera', account: 'local', bucket: 'ferry', prefix: 'camera/', ignore: ['*.raw'],
  mirrorDeletes: false, state: 'watching', error: null, createdAt: 1, recent: [{ key: 'camera/a.jpg', size: 3, uploadedAt: 2 }],
};
vi.mock('@tauri-apps/api/event', () => ({
  listen: vi.fn(async (name: string, cb: (e: { payload: unknown }) => void) => {
    calls.push({ cmd: `listen:${name}`, args: null });
    cb({ payload: name === 'watch://state' ? watchedPayload : { id: 'x', state: 'running', error: null } });
    return () => {};
  }),
}));
vi.mock('@tauri-apps/api/webview', () => ({
  getCurrentWebview: () => ({
    onDragDropEvent: async (cb: (e: { payload: unknown }) => void) => {
      cb({ payload: { type: 'enter', paths: ['/a'], position: { x: 1, y: 2 } } });
      cb({ payload: { type: 'over', position: { x: 1, y: 2 } } });
      cb({ payload: { type: 'drop', paths: ['/a'], position: { x: 1, y: 2 } } });
      cb({ payload: { type: 'leave' } });
      return () => {};
    },
  }),
}));
vi.mock('@tauri-apps/plugin-dialog', () => ({
  open: vi.fn(async (opts: { directory?: boolean }) => (opts.directory ? '/dest' : ['/one', '/two'])),
}));
vi.mock('@tauri-apps/plugin-clipboard-manager', () => ({
  writeText: vi.fn(async (text: string) => {
    calls.push({ cmd: 'clipboard', args: text });
  }),
}));

const { TauriBackend } = await import('./tauri');
const { invoke } = await import('@tauri-apps/api/core');

beforeEach(() => {
  calls.length = 0;
  channels.length = 0;
});

describe('TauriBackend', () => {
  it('sends the contract’s command and argument names', async () => {
    const b = new TauriBackend();
    const acc = { name: 'n', endpoint: null, region: null, pathStyle: false, accessKeyId: 'a', secretAccessKey: 's', sessionOnly: true };
    const settings = { concurrentTransfers: 1, partsInFlight: 1, partSizeMib: null, bandwidthLimitMibps: null, defaultLinkExpirySecs: 900, theme: 'dark' as const, keepInTray: true, startAtLogin: false };
    await b.listAccounts();
    await b.addAccount(acc);
    await b.removeAccount('n');
    await b.testConnection(acc);
    await b.accountDefaults('local');
    await b.setAccountDefaults('local', { storageClass: 'STANDARD_IA', sse: null, sseKmsKeyId: null, cacheControl: null });
    await b.listBuckets('local');
    await b.createBucket('local', 'b');
    const listing = b.listObjects('local', 'b', 'p/', () => {});
    listing.cancel();
    await listing.done;
    await b.deleteObjects('local', 'b', ['k'], ['p/']);
    await b.tallyFolders('local', 'b', ['p/']);
    await b.objectProperties('local', 'b', 'k');
    await b.editObject('local', 'b', 'k', { contentType: 'text/plain', metadata: {}, removeMetadata: [] });
    await b.copyObjects('local', 'b', 'k', 'k2', true, false);
    await b.copyObjects('local', 'b', 'k', 'k2', false, false, { account: 'r2', bucket: 'c' });
    await b.uploadPaths('local', 'b', 'p/', ['/x']);
    await b.download('local', 'b', ['k'], ['p/'], '/d');
    await b.listTransfersPage({ before: 7, limit: 200 });
    await b.listTransfersPage({ after: 0, limit: 10, state: 'failed' });
    await b.transferSummary();
    await b.transferSummary({ ids: ['a'] });
    await b.pause('1');
    await b.resume('1');
    await b.cancel('1');
    await b.retry('1');
    await b.pauseAll();
    await b.resumeAll();
    await b.clearFinished();
    await b.presign('local', 'b', 'k', 900);
    await b.getSettings();
    await b.setSettings(settings);
    expect(calls).toEqual([
      { cmd: 'list_accounts', args: undefined },
      { cmd: 'add_account', args: { account: acc } },
      { cmd: 'remove_account', args: { name: 'n' } },
      { cmd: 'test_connection', args: { account: acc } },
      { cmd: 'account_defaults', args: { account: 'local' } },
      { cmd: 'set_account_defaults', args: { account: 'local', defaults: { storageClass: 'STANDARD_IA', sse: null, sseKmsKeyId: null, cacheControl: null } } },
      { cmd: 'list_buckets', args: { account: 'local' } },
      { cmd: 'create_bucket', args: { account: 'local', bucket: 'b' } },
      { cmd: 'list_objects', args: { account: 'local', bucket: 'b', prefix: 'p/', listing: 1, pages: channels[0] } },
      { cmd: 'cancel_listing', args: { listing: 1 } },
      { cmd: 'delete_objects', args: { account: 'local', bucket: 'b', keys: ['k'], prefixes: ['p/'], progress: expect.any(Object) } },
      { cmd: 'tally_folders', args: { account: 'local', bucket: 'b', prefixes: ['p/'] } },
      { cmd: 'object_properties', args: { account: 'local', bucket: 'b', key: 'k' } },
      { cmd: 'edit_object', args: { account: 'local', bucket: 'b', key: 'k', edit: { contentType: 'text/plain', metadata: {}, removeMetadata: [] } } },
      { cmd: 'copy_objects', args: { account: 'local', bucket: 'b', from: 'k', to: 'k2', moveSource: true, replace: false, toAccount: null, toBucket: null } },
      { cmd: 'copy_objects', args: { account: 'local', bucket: 'b', from: 'k', to: 'k2', moveSource: false, replace: false, toAccount: 'r2', toBucket: 'c' } },
      { cmd: 'upload_paths', args: { account: 'local', bucket: 'b', prefix: 'p/', paths: ['/x'] } },
      { cmd: 'download', args: { account: 'local', bucket: 'b', keys: ['k'], prefixes: ['p/'], destDir: '/d' } },
      { cmd: 'list_transfers_page', args: { before: 7, after: null, limit: 200, state: null } },
      { cmd: 'list_transfers_page', args: { before: null, after: 0, limit: 10, state: 'failed' } },
      { cmd: 'transfer_summary', args: { ids: null, batch: null } },
      { cmd: 'transfer_summary', args: { ids: ['a'], batch: null } },
      { cmd: 'pause', args: { id: '1' } },
      { cmd: 'resume', args: { id: '1' } },
      { cmd: 'cancel', args: { id: '1' } },
      { cmd: 'retry', args: { id: '1' } },
      { cmd: 'pause_all', args: undefined },
      { cmd: 'resume_all', args: undefined },
      { cmd: 'clear_finished', args: undefined },
      { cmd: 'presign', args: { account: 'local', bucket: 'b', key: 'k', expiresSecs: 900, download: false } },
      { cmd: 'get_settings', args: undefined },
      { cmd: 'set_settings', args: { settings } },
    ]);
  });

  it('sends the watched-folder commands with the contract’s argument names', async () => {
    const b = new TauriBackend();
    const folder = { path: '/home/you/Camera', account: 'local', bucket: 'ferry', prefix: 'camera/', ignore: ['*.raw'], mirrorDeletes: true };
    await b.listWatched();
    await b.addWatched(folder);
    await b.pauseWatched('w');
    await b.resumeWatched('w');
    await b.removeWatched('w');
    expect(calls).toEqual([
      { cmd: 'list_watched', args: undefined },
      { cmd: 'add_watched', args: { folder } },
      { cmd: 'pause_watched', args: { id: 'w' } },
      { cmd: 'resume_watched', args: { id: 'w' } },
      { cmd: 'remove_watched', args: { id: 'w' } },
    ]);
  });

  it('sends the sync commands with the contract’s argument names, and listens on sync://finished', async () => {
    const b = new TauriBackend();
    const pair = {
      id: '', account: 'local', direction: 'upload' as const, localPath: '/home/you/site', bucket: 'ferry', prefix: 'site/',
      compare: 'sizeAndTime' as const, delete: true, exclude: [], lastRun: null,
    };
    await b.previewSync(pair);
    await b.runSync('plan-1', true);
    await b.listSyncPairs();
    await b.removeSyncPair('p');
    await b.onSyncFinished(() => {});
    expect(calls).toEqual([
      { cmd: 'preview_sync', args: { pair } },
      { cmd: 'run_sync', args: { planId: 'plan-1', save: true } },
      { cmd: 'list_sync_pairs', args: undefined },
      { cmd: 'remove_sync_pair', args: { id: 'p' } },
      { cmd: 'listen:sync://finished', args: null },
    ]);
  });

  it('listens for watched-folder changes on watch://state and passes the folder on', async () => {
    const folders: unknown[] = [];
    await new TauriBackend().onWatchedChanged((f) => folders.push(f));
    expect(calls).toEqual([{ cmd: 'listen:watch://state', args: null }]);
    expect(folders).toEqual([watchedPayload]);
  });

  it('streams a listing’s pages from its channel and resolves once every page it counts is in', async () => {
    const listed = { pages: 2, objects: 2, prefixes: 0, bytes: 3, complete: true };
    vi.mocked(invoke).mockResolvedValueOnce(listed);
    const keys: string[] = [];
    const stream = new TauriBackend().listObjects('local', 'b', '', (page) => keys.push(...page.objects.map((o) => o.key)));
    const page = (key: string) => ({ prefixes: [], objects: [{ key, size: 1, lastModified: null, etag: null }] });
    channels[0].onmessage(page('a'));
    let settled = false;
    void stream.done.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 0));
    expect(settled).toBe(false);
    channels[0].onmessage(page('b'));
    expect(await stream.done).toEqual(listed);
    expect(keys).toEqual(['a', 'b']);
  });

  it('rethrows the {kind, message} error as it came', async () => {
    vi.mocked(invoke).mockRejectedValueOnce({ kind: 'keychain_unavailable', message: 'no keychain' });
    await expect(new TauriBackend().listAccounts()).rejects.toEqual({ kind: 'keychain_unavailable', message: 'no keychain' });
  });

  it('subscribes to progress once and fans batches out to every handler', async () => {
    const b = new TauriBackend();
    const seen: string[] = [];
    const off1 = await b.onProgress((batch) => seen.push(`1:${batch.length}`));
    await b.onProgress((batch) => seen.push(`2:${batch.length}`));
    expect(calls.filter((c) => c.cmd === 'subscribe_progress')).toHaveLength(1);
    expect(channels).toHaveLength(1);
    expect(calls[0].args).toEqual({ channel: channels[0] });
    channels[0].onmessage([{ id: 'a', bytesDone: 1, bytesTotal: 2, bytesSending: 0, speed: 1, etaSecs: 1 }]);
    off1();
    channels[0].onmessage([]);
    expect(seen).toEqual(['1:1', '2:1', '2:0']);
  });

  it('listens for lifecycle events on transfer://state', async () => {
    const events: unknown[] = [];
    await new TauriBackend().onTransferEvent((e) => events.push(e));
    expect(calls).toEqual([{ cmd: 'listen:transfer://state', args: null }]);
    expect(events).toEqual([{ id: 'x', state: 'running', error: null }]);
  });

  it('maps the webview’s drag and drop events without positions', async () => {
    const events: unknown[] = [];
    await new TauriBackend().onDragDrop((e) => events.push(e));
    expect(events).toEqual([{ type: 'enter', paths: ['/a'] }, { type: 'over' }, { type: 'drop', paths: ['/a'] }, { type: 'leave' }]);
  });

  it('uses the dialog and clipboard plugins', async () => {
    const b = new TauriBackend();
    expect(await b.pickFiles()).toEqual(['/one', '/two']);
    expect(await b.pickFolder('Download to…')).toBe('/dest');
    await b.copyText('http://127.0.0.1/x');
    expect(calls).toEqual([{ cmd: 'clipboard', args: 'http://127.0.0.1/x' }]);
  });
});

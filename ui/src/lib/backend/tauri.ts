// The Backend as the Tauri shell provides it: commands through invoke (argument names exactly as in
// types.ts), progress through one Channel subscribed once, lifecycle changes as "transfer://state" events,
// watched folders' changes as "watch://state" events.
import { Channel, invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { getCurrentWebview } from '@tauri-apps/api/webview';
import { writeText } from '@tauri-apps/plugin-clipboard-manager';
import { open } from '@tauri-apps/plugin-dialog';
import type {
  Account, AccountDefaults, Backend, DeleteProgress, Deleted, DragDropEvent, Enqueued, Found, Link, Listed, Listing, ListingStream, NewAccount,
  NewWatchedFolder, ObjectEdit, ObjectProperties, ObjectVersion, Place, Preview, ProgressSnapshot, Restored, VersionListing, SearchQuery, Searched, SearchStream, Settings, SyncFinished, SyncRunStarted, SyncPair, SyncPreviewed,
  SyncStarted, Tally, TransferEvent, Unsubscribe, WatchedFolder, PageRequest, SummarySelection, TransferPage, TransferSummary,
} from './types';

export class TauriBackend implements Backend {
  /** Names each listing for cancel_listing. */
  #nextListing = 1;
  readonly #progressHandlers = new Set<(batch: ProgressSnapshot[]) => void>();
  #subscription: Promise<void> | null = null;

  listAccounts(): Promise<Account[]> {
    return invoke('list_accounts');
  }
  addAccount(account: NewAccount): Promise<Account> {
    return invoke('add_account', { account });
  }
  removeAccount(name: string): Promise<void> {
    return invoke('remove_account', { name });
  }
  testConnection(account: NewAccount): Promise<number> {
    return invoke('test_connection', { account });
  }
  accountDefaults(account: string): Promise<AccountDefaults> {
    return invoke('account_defaults', { account });
  }
  setAccountDefaults(account: string, defaults: AccountDefaults): Promise<AccountDefaults> {
    return invoke('set_account_defaults', { account, defaults });
  }

  listBuckets(account: string): Promise<string[]> {
    return invoke('list_buckets', { account });
  }
  createBucket(account: string, bucket: string): Promise<void> {
    return invoke('create_bucket', { account, bucket });
  }
  listObjects(account: string, bucket: string, prefix: string, onPage: (page: Listing) => void): ListingStream {
    return this.#streamed<Listing, Listed>('list_objects', { account, bucket, prefix }, 'pages', onPage, (l) => l.pages, (l) => ({ ...l, complete: false }));
  }
  searchObjects(account: string, bucket: string, prefix: string, query: SearchQuery, onFound: (found: Found) => void): SearchStream {
    const args = {
      account, bucket, prefix, name: query.name, minSize: query.minSize ?? null, maxSize: query.maxSize ?? null,
      modifiedAfter: query.modifiedAfter ?? null, modifiedBefore: query.modifiedBefore ?? null,
    };
    return this.#streamed<Found, Searched>('search_objects', args, 'found', onFound, (s) => s.listed.pages, (s) => ({ ...s, listed: { ...s.listed, complete: false } }));
  }
  folderSize(account: string, bucket: string, prefix: string, onProgress: (soFar: Listed) => void): ListingStream {
    return this.#streamed<Listed, Listed>('folder_size', { account, bucket, prefix }, 'progress', onProgress, (l) => l.pages, (l) => ({ ...l, complete: false }));
  }
  listVersions(account: string, bucket: string, prefix: string, onPage: (page: VersionListing) => void): ListingStream {
    return this.#streamed<VersionListing, Listed>('list_versions', { account, bucket, prefix }, 'pages', onPage, (l) => l.pages, (l) => ({ ...l, complete: false }));
  }
  objectVersions(account: string, bucket: string, key: string): Promise<ObjectVersion[]> {
    return invoke('object_versions', { account, bucket, key });
  }
  downloadVersion(account: string, bucket: string, key: string, versionId: string, destDir: string): Promise<Enqueued> {
    return invoke('download_version', { account, bucket, key, versionId, destDir });
  }
  restoreVersion(account: string, bucket: string, key: string, versionId: string): Promise<Restored> {
    return invoke('restore_version', { account, bucket, key, versionId });
  }
  deleteVersion(account: string, bucket: string, key: string, versionId: string): Promise<ObjectVersion> {
    return invoke('delete_version', { account, bucket, key, versionId });
  }

  /**
   * Runs a command that streams one message per page over a channel and answers with totals that
   * count the pages. The answer can overtake the channel's last messages: done waits for every page
   * it counts. cancel_listing stops it; nothing is delivered after cancel().
   */
  #streamed<M, R>(
    cmd: string,
    args: Record<string, unknown>,
    channelArg: string,
    onMessage: (m: M) => void,
    pagesOf: (r: R) => number,
    asCancelled: (r: R) => R,
  ): { done: Promise<R>; cancel(): void } {
    const listing = this.#nextListing++;
    const channel = new Channel<M>();
    let cancelled = false;
    let received = 0;
    let allIn: (() => void) | null = null;
    let expected = Infinity;
    channel.onmessage = (m) => {
      if (cancelled) return;
      received++;
      onMessage(m);
      if (received >= expected) allIn?.();
    };
    const done = invoke<R>(cmd, { ...args, listing, [channelArg]: channel }).then(async (r) => {
      expected = pagesOf(r);
      if (!cancelled && received < expected) await new Promise<void>((resolve) => (allIn = resolve));
      return cancelled ? asCancelled(r) : r;
    });
    return {
      done,
      cancel: () => {
        cancelled = true;
        allIn?.();
        void invoke('cancel_listing', { listing });
      },
    };
  }
  deleteObjects(
    account: string,
    bucket: string,
    keys: string[],
    prefixes: string[],
    onProgress?: (p: DeleteProgress) => void,
  ): Promise<Deleted> {
    const progress = new Channel<DeleteProgress>();
    if (onProgress) progress.onmessage = onProgress;
    return invoke('delete_objects', { account, bucket, keys, prefixes, progress });
  }
  tallyFolders(account: string, bucket: string, prefixes: string[]): Promise<Tally> {
    return invoke('tally_folders', { account, bucket, prefixes });
  }
  objectProperties(account: string, bucket: string, key: string): Promise<ObjectProperties> {
    return invoke('object_properties', { account, bucket, key });
  }
  previewObject(account: string, bucket: string, key: string): Promise<Preview> {
    return invoke('preview_object', { account, bucket, key });
  }
  editObject(account: string, bucket: string, key: string, edit: ObjectEdit): Promise<ObjectProperties> {
    return invoke('edit_object', { account, bucket, key, edit });
  }
  copyObjects(account: string, bucket: string, from: string, to: string, moveSource: boolean, replace: boolean, into?: Place): Promise<Enqueued> {
    return invoke('copy_objects', { account, bucket, from, to, moveSource, replace, toAccount: into?.account ?? null, toBucket: into?.bucket ?? null });
  }

  uploadPaths(account: string, bucket: string, prefix: string, paths: string[]): Promise<Enqueued> {
    return invoke('upload_paths', { account, bucket, prefix, paths });
  }
  download(account: string, bucket: string, keys: string[], prefixes: string[], destDir: string): Promise<Enqueued> {
    return invoke('download', { account, bucket, keys, prefixes, destDir });
  }
  dragOut(account: string, bucket: string, keys: string[], prefixes: string[]): Promise<Enqueued> {
    return invoke('drag_out', { account, bucket, keys, prefixes });
  }
  listTransfersPage(r: PageRequest): Promise<TransferPage> {
    return invoke('list_transfers_page', { before: r.before ?? null, after: r.after ?? null, limit: r.limit, state: r.state ?? null });
  }
  transferSummary(selection?: SummarySelection): Promise<TransferSummary> {
    const ids = selection && 'ids' in selection ? selection.ids : null;
    const batch = selection && 'batch' in selection ? selection.batch : null;
    return invoke('transfer_summary', { ids, batch });
  }
  pause(id: string): Promise<void> {
    return invoke('pause', { id });
  }
  resume(id: string): Promise<void> {
    return invoke('resume', { id });
  }
  cancel(id: string): Promise<void> {
    return invoke('cancel', { id });
  }
  retry(id: string): Promise<void> {
    return invoke('retry', { id });
  }
  pauseAll(): Promise<void> {
    return invoke('pause_all');
  }
  resumeAll(): Promise<void> {
    return invoke('resume_all');
  }
  clearFinished(): Promise<number> {
    return invoke('clear_finished');
  }

  presign(account: string, bucket: string, key: string, expiresSecs: number, download = false): Promise<Link> {
    return invoke('presign', { account, bucket, key, expiresSecs, download });
  }
  copyText(text: string): Promise<void> {
    return writeText(text);
  }

  getSettings(): Promise<Settings> {
    return invoke('get_settings');
  }
  setSettings(settings: Settings): Promise<Settings> {
    return invoke('set_settings', { settings });
  }

  listWatched(): Promise<WatchedFolder[]> {
    return invoke('list_watched');
  }
  addWatched(folder: NewWatchedFolder): Promise<WatchedFolder> {
    return invoke('add_watched', { folder });
  }
  pauseWatched(id: string): Promise<WatchedFolder> {
    return invoke('pause_watched', { id });
  }
  resumeWatched(id: string): Promise<WatchedFolder> {
    return invoke('resume_watched', { id });
  }
  removeWatched(id: string): Promise<void> {
    return invoke('remove_watched', { id });
  }
  onWatchedChanged(handler: (folder: WatchedFolder) => void): Promise<Unsubscribe> {
    return listen<WatchedFolder>('watch://state', (e) => handler(e.payload));
  }

  previewSync(pair: SyncPair): Promise<SyncPreviewed> {
    return invoke('preview_sync', { pair });
  }
  runSync(planId: string, save: boolean): Promise<SyncStarted> {
    return invoke('run_sync', { planId, save });
  }
  listSyncPairs(): Promise<SyncPair[]> {
    return invoke('list_sync_pairs');
  }
  removeSyncPair(id: string): Promise<void> {
    return invoke('remove_sync_pair', { id });
  }
  onSyncFinished(handler: (event: SyncFinished) => void): Promise<Unsubscribe> {
    return listen<SyncFinished>('sync://finished', (e) => handler(e.payload));
  }
  onSyncStarted(handler: (event: SyncRunStarted) => void): Promise<Unsubscribe> {
    return listen<SyncRunStarted>('sync://started', (e) => handler(e.payload));
  }

  async onProgress(handler: (batch: ProgressSnapshot[]) => void): Promise<Unsubscribe> {
    this.#progressHandlers.add(handler);
    // One channel for the whole app: the shell keeps a single subscriber, and handlers fan out here.
    this.#subscription ??= this.#subscribe();
    try {
      await this.#subscription;
    } catch (e) {
      this.#subscription = null;
      this.#progressHandlers.delete(handler);
      throw e;
    }
    return () => {
      this.#progressHandlers.delete(handler);
    };
  }

  async #subscribe(): Promise<void> {
    const channel = new Channel<ProgressSnapshot[]>();
    channel.onmessage = (batch) => {
      for (const h of this.#progressHandlers) h(batch);
    };
    await invoke('subscribe_progress', { channel });
  }

  onTransferEvent(handler: (event: TransferEvent) => void): Promise<Unsubscribe> {
    return listen<TransferEvent>('transfer://state', (e) => handler(e.payload));
  }

  onOpenFiles(handler: (paths: string[]) => void): Promise<Unsubscribe> {
    return listen<string[]>('app://open-files', (e) => handler(e.payload));
  }

  onDragDrop(handler: (event: DragDropEvent) => void): Promise<Unsubscribe> {
    return getCurrentWebview().onDragDropEvent((e) => {
      const p = e.payload;
      switch (p.type) {
        case 'enter':
          handler({ type: 'enter', paths: p.paths });
          break;
        case 'over':
          handler({ type: 'over' });
          break;
        case 'drop':
          handler({ type: 'drop', paths: p.paths });
          break;
        case 'leave':
          handler({ type: 'leave' });
          break;
      }
    });
  }

  async pickFiles(): Promise<string[] | null> {
    const picked = await open({ multiple: true, directory: false, title: 'Upload files' });
    if (picked === null) return null;
    return Array.isArray(picked) ? picked : [picked];
  }

  async pickFolder(title: string): Promise<string | null> {
    const picked = await open({ directory: true, multiple: false, title });
    return typeof picked === 'string' ? picked : null;
  }
}

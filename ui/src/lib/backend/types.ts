// The contract between the UI and whatever runs it: the Tauri shell (src-tauri) or the mock backend
// used in browser tests. Every Tauri command below is implemented in src-tauri/src/commands.rs with
// exactly these argument names (camelCase in JS, snake_case in Rust; Tauri converts) and shapes.

// The shapes that cross the boundary are generated from the Rust types by ts-rs into ./generated
// (`cargo test -p ferry --lib export_bindings_`; `make lint` checks they are current). This file gives
// them the names the UI uses and adds what only the front end has: drag-and-drop events and the
// Backend interface itself.
import type { Account } from './generated/Account';
import type { AccountDefaults } from './generated/AccountDefaults';
import type { AccountKind } from './generated/AccountKind';
import type { BackendError } from './generated/BackendError';
import type { Copied } from './generated/Copied';
import type { DeleteFailure } from './generated/DeleteFailure';
import type { Deleted } from './generated/Deleted';
import type { DeleteProgress } from './generated/DeleteProgress';
import type { Enqueued } from './generated/Enqueued';
import type { ErrorKind } from './generated/ErrorKind';
import type { Event } from './generated/Event';
import type { Link } from './generated/Link';
import type { Found } from './generated/Found';
import type { Listed } from './generated/Listed';
import type { Listing } from './generated/Listing';
import type { NewAccount } from './generated/NewAccount';
import type { NewWatchedFolder } from './generated/NewWatchedFolder';
import type { ObjectEdit } from './generated/ObjectEdit';
import type { ObjectInfo } from './generated/ObjectInfo';
import type { ObjectProperties } from './generated/ObjectProperties';
import type { ObjectVersion } from './generated/ObjectVersion';
import type { Preview } from './generated/Preview';
import type { PreviewKind } from './generated/PreviewKind';
import type { Restored } from './generated/Restored';
import type { VersionListing } from './generated/VersionListing';
import type { Searched } from './generated/Searched';
import type { Settings } from './generated/Settings';
import type { Skipped } from './generated/Skipped';
import type { Snapshot } from './generated/Snapshot';
import type { Tally } from './generated/Tally';
import type { State } from './generated/State';
import type { SyncAction } from './generated/SyncAction';
import type { SyncDirection } from './generated/SyncDirection';
import type { SyncItem } from './generated/SyncItem';
import type { SyncPair } from './generated/SyncPair';
import type { SyncPreview } from './generated/SyncPreview';
import type { SyncRun } from './generated/SyncRun';
import type { SyncTotals } from './generated/SyncTotals';
import type { Compare } from './generated/Compare';
import type { TransferView } from './generated/TransferView';
import type { SelectionTotals } from './generated/SelectionTotals';
import type { StateCounts } from './generated/StateCounts';
import type { TransferPage } from './generated/TransferPage';
import type { TransferSummary } from './generated/TransferSummary';
import type { WatchedFolder } from './generated/WatchedFolder';
import type { WatchedUpload } from './generated/WatchedUpload';
import type { WatchState } from './generated/WatchState';

/** Errors cross the boundary as BackendError {kind, message}: branch on kind, show message. */
export type {
  Account, AccountDefaults, AccountKind, BackendError, Copied, DeleteFailure, DeleteProgress, Deleted, Enqueued, ErrorKind, Found, Link, Listed,
  Listing, NewAccount, NewWatchedFolder, ObjectEdit, ObjectInfo, ObjectProperties, Searched, Settings, Skipped, Tally, WatchedFolder, WatchedUpload,
};
export type { ObjectVersion, Restored, VersionListing };
export type { SelectionTotals, StateCounts, TransferPage, TransferSummary };
export type { Preview, PreviewKind };
export type { Compare, SyncAction, SyncDirection, SyncItem, SyncPair, SyncPreview, SyncRun, SyncTotals };

/** A sync's preview with the id its kept plan runs by (Rust: commands::sync::Previewed). */
export type SyncPreviewed = SyncPreview & { planId: string };
/** What run_sync started: the pair as saved, when it was asked to save it. */
export interface SyncStarted {
  planId: string;
  pair: SyncPair | null;
}
/**
 * The "sync://started" event: a run's transfers are queued (one batch). The panel shows the run's
 * overall progress from them.
 */
export interface SyncRunStarted {
  planId: string;
  transferIds: string[];
  /** Their batch in the queue (the engine's; the mock names none): the run's sums are asked by it. */
  batchId?: string | null;
}
/** The "sync://finished" event: what a run did (recorded with its pair, if any), or why it stopped. */
export interface SyncFinished {
  planId: string;
  pairId: string | null;
  run: SyncRun | null;
  error: BackendError | null;
}

export type TransferState = State;
/** A transfer as the engine lists it (Rust: `TransferView`). */
export type Transfer = TransferView;
/**
 * Which page of the queue to read (newest first). A cursor is an item's entry in `TransferPage.cursors`:
 * `before` it reads older transfers (none: the newest), `after` it the page just above (0: the oldest, the
 * end of the queue). `limit`: 1 to 1,000. `state`: only transfers in that state.
 */
export interface PageRequest {
  before?: number | null;
  after?: number | null;
  limit: number;
  state?: TransferState | null;
}
/** What a summary adds up besides the whole queue: some transfers, or one batch. */
export type SummarySelection = { ids: string[] } | { batch: string };
/** Coalesced progress, at most ~10 batches per second, only transfers that changed. */
export type ProgressSnapshot = Snapshot;
/** A lifecycle change of one transfer (Rust: `engine::views::Event`, the "transfer://state" event). */
export type TransferEvent = Event;
export type Theme = Settings['theme'];
/** What a watched folder is doing (snake_case, like TransferState). */
export type WatchedState = WatchState;

export type DragDropEvent =
  | { type: 'enter'; paths: string[] }
  | { type: 'over' }
  | { type: 'drop'; paths: string[] }
  | { type: 'leave' };

export type Unsubscribe = () => void;

/** A listing under way: its pages reach the `onPage` it was started with, in key order, as they arrive. */
export interface ListingStream {
  /** What was listed, once the last page has been delivered (`complete: false` when it was cancelled). */
  done: Promise<Listed>;
  /** Stops the listing: no further page is asked for or delivered. */
  cancel(): void;
}

/** What a search across a prefix looks for: a name (glob or substring, any case), optionally a size range. */
export interface SearchQuery {
  name: string;
  minSize?: number | null;
  maxSize?: number | null;
  /** Inclusive bounds of the modification time, Unix seconds. */
  modifiedAfter?: number | null;
  modifiedBefore?: number | null;
}

/** A search under way: like a listing, its matches arrive page by page, with the running totals. */
export interface SearchStream {
  done: Promise<Searched>;
  cancel(): void;
}

/** A bucket of an account: where a paste from elsewhere goes. */
export interface Place {
  account: string;
  bucket: string;
}

/**
 * Everything the UI needs from the outside world. TauriBackend implements it with invoke/Channel/
 * listen and the dialog and clipboard plugins; MockBackend simulates it in memory for browser tests.
 */
export interface Backend {
  // accounts — Tauri commands: list_accounts, add_account {account}, remove_account {name},
  // test_connection {account: NewAccount} -> number of buckets, account_defaults {account},
  // set_account_defaults {account, defaults}
  listAccounts(): Promise<Account[]>;
  addAccount(account: NewAccount): Promise<Account>;
  removeAccount(name: string): Promise<void>;
  testConnection(account: NewAccount): Promise<number>;
  /** What every upload of the account is stored with unless it chooses otherwise. */
  accountDefaults(account: string): Promise<AccountDefaults>;
  /** Keeps an account's upload defaults (blank fields unset); resolves to them as kept. */
  setAccountDefaults(account: string, defaults: AccountDefaults): Promise<AccountDefaults>;

  // browsing — list_buckets {account}, create_bucket {account, bucket},
  // list_objects {account, bucket, prefix, listing, pages: Channel<Listing>} -> Listed, cancel_listing
  // {listing}, delete_objects {account, bucket, keys, prefixes, progress}, tally_folders {account, bucket,
  // prefixes}, object_properties {account, bucket, key}, edit_object {account, bucket, key, edit},
  // copy_objects {account, bucket, from, to, moveSource, replace, toAccount, toBucket}
  listBuckets(account: string): Promise<string[]>;
  createBucket(account: string, bucket: string): Promise<void>;
  /** Lists one level of `prefix`, streaming its pages to `onPage`. */
  listObjects(account: string, bucket: string, prefix: string, onPage: (page: Listing) => void): ListingStream;
  /**
   * Searches every level under `prefix` (search_objects {account, bucket, prefix, name, minSize, maxSize,
   * listing, found: Channel<Found>} -> Searched; cancel_listing {listing} stops it).
   */
  searchObjects(account: string, bucket: string, prefix: string, query: SearchQuery, onFound: (found: Found) => void): SearchStream;
  /**
   * Deletes the given objects, and everything under the given prefixes: how many went, and each key
   * refused. `onProgress` hears after each request of 1,000 keys (through a Channel).
   */
  deleteObjects(
    account: string,
    bucket: string,
    keys: string[],
    prefixes: string[],
    onProgress?: (p: DeleteProgress) => void,
  ): Promise<Deleted>;
  /**
   * "Calculate size": counts the objects and bytes under `prefix` (every level; the bucket when empty),
   * `onProgress` hearing the running totals after each page (folder_size {account, bucket, prefix,
   * listing, progress: Channel<Listed>} -> Listed; cancel_listing {listing} stops it).
   */
  folderSize(account: string, bucket: string, prefix: string, onProgress: (soFar: Listed) => void): ListingStream;
  /** How many objects and bytes lie under the prefixes (what deleting them removes). */
  tallyFolders(account: string, bucket: string, prefixes: string[]): Promise<Tally>;
  /** One object's properties (a HEAD): size, times, ETag, checksums, content type, metadata… */
  objectProperties(account: string, bucket: string, key: string): Promise<ObjectProperties>;
  /** preview_object {account, bucket, key}: a text's first bytes, or a short-lived link for media. */
  previewObject(account: string, bucket: string, key: string): Promise<Preview>;
  /**
   * Rewrites an object's content type, cache control, disposition, metadata or storage class on the
   * server (a copy onto itself; what `edit` leaves out is kept) and returns its properties now.
   */
  editObject(account: string, bucket: string, key: string, edit: ObjectEdit): Promise<ObjectProperties>;
  /**
   * Copies or moves (renames) an object, or a folder (`from` ending in '/'), to `to` in the same bucket,
   * or in `into` (another bucket, of this account or another): queues and starts one batch of copy
   * transfers (resolves once they are queued; they show in the transfers list). Within one account the
   * server copies; into another account the bytes stream through Ferry. An existing destination fails
   * with kind 'already_exists', nothing queued, unless `replace`.
   */
  copyObjects(account: string, bucket: string, from: string, to: string, moveSource: boolean, replace: boolean, into?: Place): Promise<Enqueued>;

  // versions (listed only when asked) — list_versions {account, bucket, prefix, listing, pages:
  // Channel<VersionListing>} -> Listed (cancel_listing stops it), object_versions {account, bucket, key},
  // download_version {account, bucket, key, versionId, destDir}, restore_version {account, bucket, key,
  // versionId}, delete_version {account, bucket, key, versionId}
  /** Streams the versions and delete markers of one level of `prefix`, with its sub-prefixes. */
  listVersions(account: string, bucket: string, prefix: string, onPage: (page: VersionListing) => void): ListingStream;
  /** Every version and delete marker of one object, newest first. */
  objectVersions(account: string, bucket: string, key: string): Promise<ObjectVersion[]>;
  /** Queues the download of one version into `destDir` under the object's name (a taken name gets " (1)"). */
  downloadVersion(account: string, bucket: string, key: string, versionId: string, destDir: string): Promise<Enqueued>;
  /** Makes a version current again: the server copies it over the object, which gains a new version. */
  restoreVersion(account: string, bucket: string, key: string, versionId: string): Promise<Restored>;
  /** Deletes one version (or delete marker) for good; returns what was deleted. */
  deleteVersion(account: string, bucket: string, key: string, versionId: string): Promise<ObjectVersion>;

  // transfers — upload_paths {account, bucket, prefix, paths}, download {account, bucket, keys,
  // prefixes, destDir}, list_transfers_page {before, after, limit, state}, transfer_summary {ids, batch},
  // pause {id}, resume {id}, cancel {id}, retry {id}, pause_all, resume_all, clear_finished. (The shell's
  // list_transfers, the whole queue at once, is for tests and scripts: the UI reads pages.)
  uploadPaths(account: string, bucket: string, prefix: string, paths: string[]): Promise<Enqueued>;
  download(account: string, bucket: string, keys: string[], prefixes: string[], destDir: string): Promise<Enqueued>;
  /**
   * drag_out {account, bucket, keys, prefixes}: rows dragged out of the window. The app queues their
   * downloads into a drag folder of its own and hands those files to the platform's drag, so the
   * drop (desktop, file manager) copies them; refused where the platform has no such drag.
   */
  dragOut(account: string, bucket: string, keys: string[], prefixes: string[]): Promise<Enqueued>;
  /** One page of the queue, newest first, with each item's cursor. */
  listTransfersPage(request: PageRequest): Promise<TransferPage>;
  /** The queue summed up (per state, the active bytes, the speed), and the selection's totals if given. */
  transferSummary(selection?: SummarySelection): Promise<TransferSummary>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  cancel(id: string): Promise<void>;
  retry(id: string): Promise<void>;
  pauseAll(): Promise<void>;
  resumeAll(): Promise<void>;
  clearFinished(): Promise<number>;

  // share links — presign {account, bucket, key, expiresSecs, download}; then the clipboard.
  // `download`: the link saves the object under its name instead of opening it in the browser.
  presign(account: string, bucket: string, key: string, expiresSecs: number, download?: boolean): Promise<Link>;
  copyText(text: string): Promise<void>;

  // settings — get_settings, set_settings {settings}
  getSettings(): Promise<Settings>;
  setSettings(settings: Settings): Promise<Settings>;

  // watched folders — list_watched, add_watched {folder}, pause_watched {id}, resume_watched {id},
  // remove_watched {id} (uploaded objects stay); event "watch://state" carries the whole folder
  listWatched(): Promise<WatchedFolder[]>;
  addWatched(folder: NewWatchedFolder): Promise<WatchedFolder>;
  pauseWatched(id: string): Promise<WatchedFolder>;
  resumeWatched(id: string): Promise<WatchedFolder>;
  removeWatched(id: string): Promise<void>;
  onWatchedChanged(handler: (folder: WatchedFolder) => void): Promise<Unsubscribe>;

  // sync — preview_sync {pair} (plans, changes nothing, keeps the plan), run_sync {planId, save}
  // (runs that very plan in the background, saving the pair first when asked), list_sync_pairs,
  // remove_sync_pair {id}; event "sync://started" when a run's transfers are queued, "sync://finished"
  // when it has ended
  previewSync(pair: SyncPair): Promise<SyncPreviewed>;
  runSync(planId: string, save: boolean): Promise<SyncStarted>;
  listSyncPairs(): Promise<SyncPair[]>;
  removeSyncPair(id: string): Promise<void>;
  onSyncFinished(handler: (event: SyncFinished) => void): Promise<Unsubscribe>;
  onSyncStarted(handler: (event: SyncRunStarted) => void): Promise<Unsubscribe>;

  // streams — subscribe_progress {channel} (one Channel, subscribed once), event "transfer://state"
  onProgress(handler: (batch: ProgressSnapshot[]) => void): Promise<Unsubscribe>;
  onTransferEvent(handler: (event: TransferEvent) => void): Promise<Unsubscribe>;
  onDragDrop(handler: (event: DragDropEvent) => void): Promise<Unsubscribe>;
  /** Event "app://open-files": files named on a second launch (`ferry-app FILE…`, "Open with Ferry"). */
  onOpenFiles(handler: (paths: string[]) => void): Promise<Unsubscribe>;

  // dialogs — the dialog plugin's open()
  pickFiles(): Promise<string[] | null>;
  pickFolder(title: string): Promise<string | null>;
}

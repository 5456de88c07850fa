// The contract between the UI and whatever runs it: the Tauri shell (src-tauri) or the mock backend
// used in browser tests. Every Tauri command below is implemented in src-tauri/src/commands.rs with
// exactly these argument names (camelCase in JS, snake_case in Rust; Tauri converts) and shapes.

/** Errors cross the boundary as {kind, message}: branch on kind, show message. */
export interface BackendError {
  kind:
    | 'invalid_input' | 'not_found' | 'already_exists' | 'access_denied' | 'network' | 'server'
    | 'changed' | 'corrupt' | 'upload_gone' | 'busy' | 'storage' | 'interrupted' | 'internal'
    | 'keychain_unavailable';
  message: string;
}

export type AccountKind = 'local' | 's3' | 'aws_profile';

export interface Account {
  name: string;              // unique; "local" is the built-in embedded endpoint
  kind: AccountKind;
  endpoint: string | null;   // null for AWS
  region: string | null;
  pathStyle: boolean;
  accessKeyId: string | null;       // shown, never the secret
  profile: string | null;           // for aws_profile accounts
  secret: 'keychain' | 'session' | 'none';  // where the secret lives ("session" = forgotten on quit)
}

export interface NewAccount {
  name: string;
  endpoint: string | null;
  region: string | null;
  pathStyle: boolean;
  accessKeyId: string;
  secretAccessKey: string;
  /** Keep the secret only for this session (when no keychain is available, or by choice). */
  sessionOnly: boolean;
}

export interface ObjectInfo {
  key: string;
  size: number;
  lastModified: number | null; // unix seconds
  etag: string | null;
}

export interface Listing {
  prefixes: string[];  // each ends with '/'
  objects: ObjectInfo[];
}

export type TransferState =
  | 'queued' | 'running' | 'paused' | 'waiting_retry' | 'completed' | 'failed' | 'cancelled';

export interface Transfer {
  id: string;
  direction: 'upload' | 'download';
  state: TransferState;
  account: string;
  bucket: string;
  key: string;
  localPath: string;
  name: string;          // what to show: the file name
  bytesDone: number;
  bytesTotal: number;
  error: BackendError | null;
  createdAt: number;     // unix ms
  finishedAt: number | null;
  nextAttemptAt?: number; // unix ms; only while waiting_retry
}

/** Coalesced progress, at most ~10 batches per second, only transfers that changed. */
export interface ProgressSnapshot {
  id: string;
  bytesDone: number;
  bytesTotal: number;
  speed: number;          // bytes per second (moving average)
  etaSecs: number | null;
  ended?: boolean;        // the run ended: the last snapshot until it runs again
}

/** A lifecycle change of one transfer (queued, running, completed, failed, paused, cancelled). */
export interface TransferEvent {
  id: string;
  state: TransferState;
  error: BackendError | null;
}

export interface Enqueued {
  ids: string[];
  resumed: number;
  skipped: { what: string; reason: string }[];
}

export interface Link {
  url: string;
  expiresAt: number;      // unix seconds: when the link really stops working
  expiresInSecs: number;
}

export type Theme = 'system' | 'light' | 'dark';

export interface Settings {
  concurrentTransfers: number;      // default 16
  partsInFlight: number;            // default 8
  partSizeMib: number | null;       // null = automatic
  bandwidthLimitMibps: number | null; // null = unlimited (MiB per second)
  defaultLinkExpirySecs: number;    // one of 900, 3600, 86400, 604800; default 3600
  theme: Theme;
}

/** What a watched folder is doing (snake_case, like TransferState). */
export type WatchedState = 'watching' | 'paused' | 'catching_up' | 'error';

/** A file a watched folder uploaded. */
export interface WatchedUpload {
  key: string;
  size: number;
  uploadedAt: number;    // unix ms
}

/** A local folder whose new and changed files Ferry uploads by itself. */
export interface WatchedFolder {
  id: string;
  path: string;          // absolute local folder
  account: string;
  bucket: string;
  prefix: string;        // '' or ends with '/'
  /** The person's patterns (gitignore syntax); hidden and temporary files are ignored regardless. */
  ignore: string[];
  /** Files deleted locally are deleted from the bucket too (off unless chosen). */
  mirrorDeletes: boolean;
  state: WatchedState;
  error: string | null;  // set when state is 'error': a sentence a person can act on
  createdAt: number;     // unix ms
  recent: WatchedUpload[]; // newest first, at most 20
}

export interface NewWatchedFolder {
  path: string;
  account: string;
  bucket: string;
  prefix: string;
  ignore: string[];
  mirrorDeletes: boolean;
}

export type DragDropEvent =
  | { type: 'enter'; paths: string[] }
  | { type: 'over' }
  | { type: 'drop'; paths: string[] }
  | { type: 'leave' };

export type Unsubscribe = () => void;

/**
 * Everything the UI needs from the outside world. TauriBackend implements it with invoke/Channel/
 * listen and the dialog and clipboard plugins; MockBackend simulates it in memory for browser tests.
 */
export interface Backend {
  // accounts — Tauri commands: list_accounts, add_account {account}, remove_account {name},
  // test_connection {account: NewAccount} -> number of buckets
  listAccounts(): Promise<Account[]>;
  addAccount(account: NewAccount): Promise<Account>;
  removeAccount(name: string): Promise<void>;
  testConnection(account: NewAccount): Promise<number>;

  // browsing — list_buckets {account}, create_bucket {account, bucket},
  // list_objects {account, bucket, prefix}, delete_objects {account, bucket, keys, prefixes}
  listBuckets(account: string): Promise<string[]>;
  createBucket(account: string, bucket: string): Promise<void>;
  listObjects(account: string, bucket: string, prefix: string): Promise<Listing>;
  /** Deletes the given objects, and everything under the given prefixes. Returns objects deleted. */
  deleteObjects(account: string, bucket: string, keys: string[], prefixes: string[]): Promise<number>;

  // transfers — upload_paths {account, bucket, prefix, paths}, download {account, bucket, keys,
  // prefixes, destDir}, list_transfers, pause {id}, resume {id}, cancel {id}, retry {id},
  // pause_all, resume_all, clear_finished
  uploadPaths(account: string, bucket: string, prefix: string, paths: string[]): Promise<Enqueued>;
  download(account: string, bucket: string, keys: string[], prefixes: string[], destDir: string): Promise<Enqueued>;
  listTransfers(): Promise<Transfer[]>;
  pause(id: string): Promise<void>;
  resume(id: string): Promise<void>;
  cancel(id: string): Promise<void>;
  retry(id: string): Promise<void>;
  pauseAll(): Promise<void>;
  resumeAll(): Promise<void>;
  clearFinished(): Promise<number>;

  // share links — presign {account, bucket, key, expiresSecs}; then the clipboard
  presign(account: string, bucket: string, key: string, expiresSecs: number): Promise<Link>;
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

  // streams — subscribe_progress {channel} (one Channel, subscribed once), event "transfer://state"
  onProgress(handler: (batch: ProgressSnapshot[]) => void): Promise<Unsubscribe>;
  onTransferEvent(handler: (event: TransferEvent) => void): Promise<Unsubscribe>;
  onDragDrop(handler: (event: DragDropEvent) => void): Promise<Unsubscribe>;

  // dialogs — the dialog plugin's open()
  pickFiles(): Promise<string[] | null>;
  pickFolder(title: string): Promise<string | null>;
}

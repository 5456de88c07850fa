import type { Transfer, TransferState } from '../backend/types';

/** The state of a transfer in words, as its row shows it. */
export function stateLabel(state: TransferState, direction: Transfer['direction']): string {
  switch (state) {
    case 'queued':
      return 'Queued';
    case 'running':
      return { upload: 'Uploading', download: 'Downloading', copy: 'Copying' }[direction];
    case 'paused':
      return 'Paused';
    case 'waiting_retry':
      return 'Retrying soon';
    case 'completed':
      return 'Done';
    case 'failed':
      return 'Failed';
    case 'cancelled':
      return 'Cancelled';
  }
}

export function canPause(state: TransferState): boolean {
  return state === 'queued' || state === 'running' || state === 'waiting_retry';
}

export function canResume(state: TransferState): boolean {
  return state === 'paused';
}

export function canRetry(state: TransferState): boolean {
  return state === 'failed';
}

export function canCancel(state: TransferState): boolean {
  return state !== 'completed' && state !== 'cancelled';
}

/** What a row says of a transfer's kind: its icon, its name, and where it goes (a server-side copy
 * names its source object, kept in `localPath`, and its destination). */
export function directionLabel(t: Pick<Transfer, 'direction' | 'bucket' | 'key' | 'localPath'>): {
  icon: 'up' | 'down' | 'move';
  title: string;
  where: string;
} {
  switch (t.direction) {
    case 'upload':
      return { icon: 'up', title: 'Upload', where: `to ${t.bucket}/${t.key}` };
    case 'download':
      return { icon: 'down', title: 'Download', where: `into ${t.localPath}` };
    case 'copy':
      return { icon: 'move', title: 'Server-side copy', where: `from ${t.localPath.replace(/^s3:\/\//, '')} to ${t.bucket}/${t.key}` };
  }
}

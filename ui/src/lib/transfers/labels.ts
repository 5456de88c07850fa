import type { TransferState } from '../backend/types';

/** The state of a transfer in words, as its row shows it. */
export function stateLabel(state: TransferState, direction: 'upload' | 'download'): string {
  switch (state) {
    case 'queued':
      return 'Queued';
    case 'running':
      return direction === 'upload' ? 'Uploading' : 'Downloading';
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

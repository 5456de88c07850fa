// Chooses the Backend: the Tauri shell's when running inside it, otherwise the in-memory mock (the
// browser tests and `npm run dev` in a plain browser). The mock is exposed as window.__ferryMock so tests
// can drive it: see MockBackend's test helpers.
import { MockBackend } from './mock';
import { TauriBackend } from './tauri';
import type { Backend } from './types';

declare global {
  interface Window {
    __ferryMock?: MockBackend;
  }
}

export function createBackend(): Backend {
  if ('__TAURI_INTERNALS__' in window) return new TauriBackend();
  const mock = new MockBackend({ autoTick: true });
  window.__ferryMock = mock;
  return mock;
}

export type { Backend } from './types';

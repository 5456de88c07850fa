// Chooses the Backend: the Tauri shell's when running inside it, otherwise the in-memory mock (the
// browser tests and `npm run dev` in a plain browser). The mock is loaded through a dynamic import that
// only development and the browser harness's build (`vite build --mode mock`) keep: a production build
// drops the branch, so the app's bundle carries no mock. The mock is exposed as window.__ferryMock so
// tests can drive it: see MockBackend's test helpers.
import { TauriBackend } from './tauri';
import type { Backend } from './types';
import type { MockBackend } from './mock';

declare global {
  interface Window {
    __ferryMock?: MockBackend;
  }
}

export async function createBackend(): Promise<Backend> {
  if ('__TAURI_INTERNALS__' in window) return new TauriBackend();
  if (import.meta.env.DEV || import.meta.env.MODE === 'mock') {
    const { MockBackend } = await import('./mock');
    const mock = new MockBackend({ autoTick: true });
    window.__ferryMock = mock;
    return mock;
  }
  throw new Error('Ferry runs inside its desktop app: this build has no backend for a plain browser.');
}

export type { Backend } from './types';

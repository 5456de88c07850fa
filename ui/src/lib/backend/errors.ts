import type { BackendError, ErrorKind } from './types';

/**
 * True for the {kind, message} objects that backend calls reject with. Their kinds come from the
 * engine's ErrorKind (generated/ErrorKind.ts), so any string kind beside a message counts.
 */
export function isBackendError(e: unknown): e is BackendError {
  return (
    typeof e === 'object' && e !== null &&
    typeof (e as BackendError).message === 'string' &&
    typeof (e as BackendError).kind === 'string'
  );
}

/** The words to show a person for anything a backend call threw. */
export function messageOf(e: unknown): string {
  if (isBackendError(e)) return e.message;
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  return 'Something went wrong.';
}

export function backendError(kind: ErrorKind, message: string): BackendError {
  return { kind, message };
}

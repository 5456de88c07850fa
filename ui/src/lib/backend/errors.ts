import type { BackendError } from './types';

const KINDS = new Set<BackendError['kind']>([
  'invalid_input', 'not_found', 'already_exists', 'access_denied', 'network', 'server', 'changed',
  'corrupt', 'upload_gone', 'busy', 'storage', 'interrupted', 'internal', 'keychain_unavailable',
]);

/** True for the {kind, message} objects that backend calls reject with. */
export function isBackendError(e: unknown): e is BackendError {
  return (
    typeof e === 'object' && e !== null &&
    typeof (e as BackendError).message === 'string' &&
    KINDS.has((e as BackendError).kind)
  );
}

/** The words to show a person for anything a backend call threw. */
export function messageOf(e: unknown): string {
  if (isBackendError(e)) return e.message;
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  return 'Something went wrong.';
}

export function backendError(kind: BackendError['kind'], message: string): BackendError {
  return { kind, message };
}

// A watched folder in words: its state as the badge shows it, what the state means, and where its
// files go.
import type { WatchedFolder, WatchedState } from '../backend/types';

/** The badge: "Watching", "Paused", "Catching up" or "Error". */
export function watchStateLabel(state: WatchedState): string {
  switch (state) {
    case 'watching':
      return 'Watching';
    case 'paused':
      return 'Paused';
    case 'catching_up':
      return 'Catching up';
    case 'error':
      return 'Error';
  }
}

/** One sentence on what the folder is doing, for the badge's tooltip and screen readers. */
export function watchStateDetail(f: Pick<WatchedFolder, 'state' | 'error'>): string {
  switch (f.state) {
    case 'watching':
      return 'New and changed files are uploaded as they appear.';
    case 'paused':
      return 'Paused: files that change now are uploaded when you resume.';
    case 'catching_up':
      return 'Catching up: uploading what changed while Ferry was not watching.';
    case 'error':
      return watchErrorText(f);
  }
}

/** Why the folder stopped, as the engine said it; something sensible when it said nothing. */
export function watchErrorText(f: Pick<WatchedFolder, 'error'>): string {
  const reason = f.error?.trim();
  return reason ? reason : 'Ferry stopped watching this folder and did not say why. Try again, or remove it and add it again.';
}

/** Where the files go: "ferry/camera/" (bucket and prefix). */
export function watchDestination(f: Pick<WatchedFolder, 'bucket' | 'prefix'>): string {
  return `${f.bucket}/${f.prefix}`;
}

export function canPauseWatch(state: WatchedState): boolean {
  return state === 'watching' || state === 'catching_up';
}

/** A paused folder resumes; one that stopped with an error is tried again (the same call). */
export function canResumeWatch(state: WatchedState): boolean {
  return state === 'paused' || state === 'error';
}

export function resumeLabel(state: WatchedState): string {
  return state === 'error' ? 'Try again' : 'Resume';
}

/** "Ignores hidden and temporary files", or with the folder's own patterns first. */
export function ignoreSummary(patterns: readonly string[]): string {
  if (patterns.length === 0) return 'Ignores hidden and temporary files';
  const shown = patterns.length > 4 ? [...patterns.slice(0, 3), `${patterns.length - 3} more patterns`] : patterns;
  return `Ignores ${shown.join(', ')}, plus hidden and temporary files`;
}

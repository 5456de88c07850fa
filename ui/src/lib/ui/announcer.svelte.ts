// What a screen reader hears about transfers: completions and failures, gathered for a moment and said
// in one sentence ("3 uploads completed."), never each progress tick. App.svelte renders `text` in a
// polite live region.

export interface Ended {
  name: string;
  direction: 'upload' | 'download' | 'copy';
  failed: boolean;
}

/** The sentence for transfers that ended together. */
export function announcement(ended: Ended[]): string {
  const done = ended.filter((e) => !e.failed);
  const failed = ended.filter((e) => e.failed);
  const parts: string[] = [];
  const verb = { upload: 'uploaded', download: 'downloaded', copy: 'copied' } as const;
  if (done.length === 1) parts.push(`${done[0].name} ${verb[done[0].direction]}.`);
  else if (done.length > 1) {
    const kinds = new Set(done.map((e) => e.direction));
    const what = kinds.size > 1 ? 'transfers' : { upload: 'uploads', download: 'downloads', copy: 'copies' }[done[0].direction];
    parts.push(`${done.length.toLocaleString('en-US')} ${what} completed.`);
  }
  if (failed.length === 1) parts.push(`${failed[0].name} failed.`);
  else if (failed.length > 1) parts.push(`${failed.length.toLocaleString('en-US')} transfers failed: ${failed.slice(0, 3).map((e) => e.name).join(', ')}${failed.length > 3 ? '…' : '.'}`);
  return parts.join(' ');
}

export class Announcer {
  /** The last sentence said; the live region reads it out when it changes. */
  text = $state('');
  #pending: Ended[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #first = 0;

  /** A transfer ended; it is said with the others that end within the next second (at most 4 s later). */
  ended(e: Ended): void {
    this.#pending.push(e);
    const now = Date.now();
    if (this.#timer === null) this.#first = now;
    else clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(1000, this.#first + 4000 - now));
    this.#timer = setTimeout(() => this.#say(), wait);
  }

  #say(): void {
    this.#timer = null;
    const text = announcement(this.#pending);
    this.#pending = [];
    // The same words again are still news: a trailing no-break space makes the text differ.
    this.text = text === this.text ? `${text}\u00a0` : text;
  }

  dispose(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }
}

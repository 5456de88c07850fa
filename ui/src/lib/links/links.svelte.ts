// The share-link popover: which object, which lifetime, and the link once copied.
import { messageOf } from '../backend/errors';
import type { Backend, Link } from '../backend/types';
import type { SettingsState } from '../settings/settings.svelte';

export interface LinkTarget {
  account: string;
  bucket: string;
  key: string;
  name: string;
}

export class LinkState {
  readonly #backend: Backend;
  readonly #settings: SettingsState;
  target = $state.raw<LinkTarget | null>(null);
  /** The element that opened the popover: it is placed beside it and focus returns to it. */
  anchor = $state.raw<HTMLElement | null>(null);
  expirySecs = $state(3600);
  /** The link saves the object under its name instead of opening it in the browser. */
  download = $state(false);
  busy = $state(false);
  link = $state.raw<Link | null>(null);
  error = $state<string | null>(null);

  constructor(backend: Backend, settings: SettingsState) {
    this.#backend = backend;
    this.#settings = settings;
  }

  open(target: LinkTarget, anchor: HTMLElement | null): void {
    this.target = target;
    this.anchor = anchor;
    this.expirySecs = this.#settings.current.defaultLinkExpirySecs;
    this.download = false;
    this.link = null;
    this.error = null;
    this.busy = false;
  }

  close(): void {
    const anchor = this.anchor;
    this.target = null;
    this.anchor = null;
    if (anchor?.isConnected) anchor.focus();
  }

  setExpiry(secs: number): void {
    this.expirySecs = secs;
    this.link = null;
  }

  setDownload(download: boolean): void {
    this.download = download;
    this.link = null;
  }

  /** Presigns with the chosen lifetime and puts the URL on the clipboard. */
  async copy(): Promise<void> {
    const t = this.target;
    if (!t || this.busy) return;
    this.busy = true;
    this.error = null;
    try {
      const link = await this.#backend.presign(t.account, t.bucket, t.key, this.expirySecs, this.download);
      await this.#backend.copyText(link.url);
      if (this.target === t) this.link = link;
    } catch (e) {
      if (this.target === t) this.error = messageOf(e);
    } finally {
      this.busy = false;
    }
  }
}

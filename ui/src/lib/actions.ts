// Actions started from more than one place (toolbar, row buttons, drag and drop), with their messages.
import { messageOf } from './backend/errors';
import type { Enqueued } from './backend/types';
import { baseName } from './browse/paths';
import type { App } from './context';
import { EXPIRY_CHOICES, formatDateTime, plural } from './format';

function skippedText(e: Enqueued): string {
  if (e.skipped.length === 0) return '';
  const first = e.skipped[0];
  const more = e.skipped.length > 1 ? ` and ${e.skipped.length - 1} more` : '';
  return ` — skipped ${baseName(first.what) || first.what} (${first.reason})${more}`;
}

/** Queues uploads of local paths into the open bucket and prefix. */
export async function uploadPaths(app: App, paths: string[]): Promise<void> {
  if (paths.length === 0) return;
  const to = app.browser.destination;
  try {
    const e = await app.browser.upload(paths);
    const resumed = e.resumed === 0 ? '' : e.resumed === 1 ? ' (1 continues where it stopped)' : ` (${e.resumed} continue where they stopped)`;
    if (e.ids.length > 0) {
      app.notices.push('info', `Uploading ${plural(e.ids.length, 'file')} to ${to}${resumed}${skippedText(e)}`);
    } else {
      app.notices.push('error', `Nothing to upload${skippedText(e)}`);
    }
    void app.transfers.refresh();
  } catch (err) {
    app.notices.push('error', messageOf(err));
  }
}

/** Asks for files, then uploads them. */
export async function pickAndUpload(app: App): Promise<void> {
  try {
    const paths = await app.backend.pickFiles();
    if (paths && paths.length > 0) await uploadPaths(app, paths);
  } catch (err) {
    app.notices.push('error', messageOf(err));
  }
}

/** Asks for a folder, then downloads the objects and everything under the prefixes into it. */
export async function downloadItems(app: App, keys: string[], prefixes: string[]): Promise<void> {
  try {
    const r = await app.browser.download(keys, prefixes);
    if (!r) return;
    const { enqueued: e, dir } = r;
    if (e.ids.length > 0) app.notices.push('info', `Downloading ${plural(e.ids.length, 'file')} into ${dir}${skippedText(e)}`);
    else app.notices.push('error', `Nothing to download${skippedText(e)}`);
    void app.transfers.refresh();
  } catch (err) {
    app.notices.push('error', messageOf(err));
  }
}

/**
 * Rows dragged out of the window: the app downloads them into a drag folder of its own and the drag
 * carries those files to where they are dropped; the transfers list shows the downloads.
 */
export async function dragOutItems(app: App, keys: string[], prefixes: string[]): Promise<void> {
  const at = app.browser.location;
  if (!at || keys.length + prefixes.length === 0) return;
  try {
    const e = await app.backend.dragOut(at.account, at.bucket, keys, prefixes);
    if (e.ids.length > 0) app.notices.push('info', `Dragging ${plural(e.ids.length, 'file')} out: each is copied where you drop it once downloaded${skippedText(e)}`);
    else app.notices.push('error', `Nothing to drag out${skippedText(e)}`);
    void app.transfers.refresh();
  } catch (err) {
    app.notices.push('error', messageOf(err));
  }
}

/** Puts a share link to an object of the open bucket on the clipboard, with the default lifetime; `then` ends the notice. */
export async function copyLink(app: App, key: string, then = ''): Promise<void> {
  const at = app.browser.location;
  if (!at) return;
  const secs = app.settings.current.defaultLinkExpirySecs;
  try {
    const link = await app.backend.presign(at.account, at.bucket, key, secs);
    await app.backend.copyText(link.url);
    const lifetime = EXPIRY_CHOICES.find((c) => c.secs === secs)?.label ?? plural(Math.round(secs / 60), 'minute');
    const valid = link.limitedBy ? `valid until ${formatDateTime(link.expiresAt)} (sooner than asked: ${link.limitedBy})` : `valid for ${lifetime}`;
    app.notices.push('success', `Copied a link to ${baseName(key)}, ${valid}.${then}`);
  } catch (err) {
    app.notices.push('error', `Could not copy a link to ${baseName(key)}: ${messageOf(err)}`);
  }
}

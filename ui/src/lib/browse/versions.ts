// Object versions as the versions list shows them: what each row says of its version, the counts
// above the list, and the actions on a version (download, restore, delete for good), each reporting
// to the person through a notice. Deleting is only reached through the confirmation in VersionList.
import { messageOf } from '../backend/errors';
import type { ObjectVersion } from '../backend/types';
import type { App } from '../context';
import { formatBytes, plural } from '../format';

/** The badge of a version: the current one, a delete marker (or the marker that hides the object). */
export function versionBadge(v: ObjectVersion): string {
  if (v.isDeleteMarker) return v.isLatest ? 'Deleted (current)' : 'Delete marker';
  return v.isLatest ? 'Current' : '';
}

/** What a row shows as the version's size: a delete marker has none. */
export function versionSize(v: ObjectVersion): string {
  return v.isDeleteMarker ? '—' : formatBytes(v.size);
}

/** "4 versions, 1 delete marker": of `listed` entries, `markers` are delete markers. */
export function versionsSummary(listed: number, markers: number): string {
  const kept = plural(listed - markers, 'version');
  return markers ? `${kept}, ${plural(markers, 'delete marker')}` : kept;
}

/** The summary of a list of versions. */
export function summaryOf(versions: readonly ObjectVersion[]): string {
  return versionsSummary(versions.length, versions.filter((v) => v.isDeleteMarker).length);
}

/** A version id short enough for a row (S3's are 32 characters). */
export function shortVersion(id: string): string {
  return id.length > 12 ? `${id.slice(0, 12)}…` : id;
}

/** What the delete confirmation says will be lost. */
export function deleteQuestion(v: ObjectVersion): string {
  const name = v.key.slice(v.key.lastIndexOf('/') + 1);
  if (v.isDeleteMarker) {
    return v.isLatest
      ? `Delete this delete marker of ${name}? The version below it becomes current again.`
      : `Delete this delete marker of ${name}?`;
  }
  const current = v.isLatest ? ' It is the current version: the version below it becomes current.' : '';
  return `Delete this version of ${name} (${formatBytes(v.size)}) for good? It cannot be undone.${current}`;
}

/** Asks where to, then downloads the version; false when nothing was queued. */
export async function downloadVersion(app: App, v: ObjectVersion): Promise<boolean> {
  const at = app.browser.location;
  if (!at) return false;
  try {
    const dir = await app.backend.pickFolder('Download this version to…');
    if (!dir) return false;
    await app.backend.downloadVersion(at.account, at.bucket, v.key, v.versionId, dir);
    app.notices.push('info', `Downloading version ${shortVersion(v.versionId)} of ${v.key} into ${dir}`);
    void app.transfers.refresh();
    return true;
  } catch (e) {
    app.notices.push('error', messageOf(e));
    return false;
  }
}

/** Makes the version current again (the server copies it over the object as a new version). */
export async function restoreVersion(app: App, v: ObjectVersion): Promise<boolean> {
  const at = app.browser.location;
  if (!at) return false;
  try {
    await app.backend.restoreVersion(at.account, at.bucket, v.key, v.versionId);
    app.notices.push('info', `Restored ${v.key}: version ${shortVersion(v.versionId)} is current again, as a new version`);
    void app.browser.refresh();
    return true;
  } catch (e) {
    app.notices.push('error', messageOf(e));
    return false;
  }
}

/** Deletes the version for good (the person has confirmed); a failure is thrown for the dialog to show. */
export async function deleteVersion(app: App, v: ObjectVersion): Promise<void> {
  const at = app.browser.location;
  if (!at) return;
  await app.backend.deleteVersion(at.account, at.bucket, v.key, v.versionId);
  app.notices.push('info', `Deleted ${v.isDeleteMarker ? 'a delete marker' : `version ${shortVersion(v.versionId)}`} of ${v.key}`);
  void app.browser.refresh();
}

// The properties panel's edit form: what it starts from (the object's properties now) and the edit
// it sends (only what changed: the engine keeps the rest; an emptied cache control or disposition is
// removed; metadata names set or removed).
import type { ObjectEdit, ObjectProperties } from '../backend/types';

/** Storage classes offered by the form (S3's; other servers may refuse some). */
export const STORAGE_CLASSES = ['STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE', 'REDUCED_REDUNDANCY'];

export interface PropertiesForm {
  contentType: string;
  cacheControl: string;
  contentDisposition: string;
  /** Empty when the server does not say (S3 leaves out STANDARD). */
  storageClass: string;
  /** User metadata, one row each, in the order shown. */
  metadata: { name: string; value: string }[];
}

export function formOf(p: ObjectProperties): PropertiesForm {
  return {
    contentType: p.contentType ?? '',
    cacheControl: p.cacheControl ?? '',
    contentDisposition: p.contentDisposition ?? '',
    storageClass: p.storageClass ?? '',
    metadata: Object.entries(p.metadata)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, value]) => ({ name, value })),
  };
}

/** The edit that turns `before` into what the form holds, or the problem to fix first. */
export function editOf(before: ObjectProperties, form: PropertiesForm): { edit: ObjectEdit } | { problem: string } {
  const edit: ObjectEdit = { metadata: {}, removeMetadata: [] };
  const contentType = form.contentType.trim();
  if (!/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/.test(contentType)) {
    return { problem: 'Write the content type like text/plain or image/png.' };
  }
  if (contentType !== (before.contentType ?? '')) edit.contentType = contentType;
  const cacheControl = form.cacheControl.trim();
  if (cacheControl !== (before.cacheControl ?? '')) edit.cacheControl = cacheControl;
  const disposition = form.contentDisposition.trim();
  if (disposition !== (before.contentDisposition ?? '')) edit.contentDisposition = disposition;
  if (form.storageClass && form.storageClass !== (before.storageClass ?? 'STANDARD')) edit.storageClass = form.storageClass;
  const seen = new Set<string>();
  for (const { name: raw, value } of form.metadata) {
    const name = raw.trim().toLowerCase();
    if (!name && !value) continue;
    if (!/^[a-z0-9_-]+$/.test(name)) return { problem: `The metadata name "${raw}" can hold letters, digits, "-" and "_" only.` };
    if (seen.has(name)) return { problem: `The metadata name "${name}" is given twice.` };
    seen.add(name);
    if (before.metadata[name] !== value) edit.metadata[name] = value;
  }
  edit.removeMetadata = Object.keys(before.metadata).filter((name) => !seen.has(name));
  const changed = Object.keys(edit).some((k) => k !== 'metadata' && k !== 'removeMetadata')
    || Object.keys(edit.metadata).length > 0 || edit.removeMetadata.length > 0;
  return changed ? { edit } : { problem: 'Nothing has changed.' };
}

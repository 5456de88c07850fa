// Rename, move and copy of an object or a folder: where it goes, worked out from what the person typed.
// Pure, so the rules are tested apart from the dialog. A folder is a prefix ending in '/'.
import { childName, parentPrefix } from './paths';

export type Relocation = 'rename' | 'move' | 'copy';

/** What is wrong with one name (of an object or a folder, without its folder), in words; null when fine. */
export function nameProblem(name: string): string | null {
  if (name === '') return 'Enter a name.';
  if (name.includes('/')) return 'A name cannot contain "/"; use Move to put it in another folder.';
  if (name === '.' || name === '..') return `"${name}" is not a name S3 tools can show.`;
  return null;
}

/** The destination key (a prefix for a folder), or what is wrong with the input in words. */
export function destination(mode: Relocation, source: string, input: string): { to: string } | { problem: string } {
  const folder = source.endsWith('/');
  const slash = folder ? '/' : '';
  const name = childName(source, parentPrefix(source));
  let to: string;
  if (mode === 'rename') {
    const n = input.trim();
    const problem = nameProblem(n);
    if (problem) return { problem };
    to = parentPrefix(source) + n + slash;
  } else {
    // A folder path from the bucket's root: '' (the root), 'archive', 'archive/2026/'.
    const trimmed = input.trim().replace(/^\/+/, '');
    if (trimmed.split('/').some((p, i, all) => p === '' && i < all.length - 1)) {
      return { problem: 'A folder path cannot have empty parts ("//").' };
    }
    const into = trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
    to = into + name + slash;
  }
  if (to === source) return { problem: mode === 'rename' ? 'That is its current name.' : 'It is already there.' };
  if (folder && to.startsWith(source)) return { problem: 'A folder cannot go inside itself.' };
  return { to };
}

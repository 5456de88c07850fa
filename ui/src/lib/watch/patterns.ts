// Ignore patterns of a watched folder, in gitignore syntax: what a person typed (one per line), what is
// wrong with it, and whether a path inside the folder is ignored. As in the engine, the defaults come
// first and the person's patterns after them in one list, so a "!" pattern can take a default back.

/** Hidden files, Office lock files and partial downloads: not uploaded from a watched folder by default. */
export const DEFAULT_IGNORES: readonly string[] = ['.*', '~$*', '*.tmp', '*.part', '.DS_Store'];

/** The patterns typed one per line: trimmed, without blank lines, comments (#…) or repeats. */
export function parseIgnoreText(text: string): string[] {
  const seen = new Set<string>();
  for (const line of text.split(/\r?\n/)) {
    const p = line.trim();
    if (p === '' || p.startsWith('#')) continue;
    seen.add(p);
  }
  return [...seen];
}

/** The lines of a pattern list, for the form's textarea. */
export function ignoreText(patterns: readonly string[]): string {
  return patterns.join('\n');
}

/** What is wrong with the typed patterns, one sentence per bad line ("Line 2: …"); empty when all is well. */
export function ignoreProblems(text: string): string[] {
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const p = line.trim();
    if (p === '' || p.startsWith('#')) return;
    const problem = patternProblem(p);
    if (problem) problems.push(`Line ${i + 1}: ${problem}`);
  });
  return problems;
}

function patternProblem(p: string): string | null {
  const body = p.startsWith('!') ? p.slice(1) : p;
  if (body === '' || body === '/') return `“${p}” needs a file or folder name.`;
  if (unclosedClass(body)) return `“${p}” opens a “[” that is never closed.`;
  if (!p.startsWith('!') && ignoredBy('any-file', [p]) && ignoredBy('any/deeper/file.txt', [p])) {
    return `“${p}” would ignore every file, so nothing would be uploaded.`;
  }
  return null;
}

function unclosedClass(p: string): boolean {
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '\\') i++;
    else if (p[i] === '[' && classEnd(p, i) < 0) return true;
  }
  return false;
}

/** The index of the ']' closing the class that opens at `start`, or -1. A ']' first in the class is literal. */
function classEnd(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === '!' || p[i] === '^') i++;
  if (p[i] === ']') i++;
  for (; i < p.length; i++) if (p[i] === ']') return i;
  return -1;
}

interface Compiled {
  negate: boolean;
  dirOnly: boolean;
  regex: RegExp;
}

function escapeRegex(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
}

function compile(pattern: string): Compiled | null {
  let p = pattern;
  const negate = p.startsWith('!');
  if (negate) p = p.slice(1);
  else if (p.startsWith('\\!') || p.startsWith('\\#')) p = p.slice(1);
  const dirOnly = p.endsWith('/');
  if (dirOnly) p = p.replace(/\/+$/, '');
  // A slash anywhere but at the end anchors the pattern to the folder; otherwise it matches at any depth.
  const anchored = p.includes('/');
  if (p.startsWith('/')) p = p.slice(1);
  if (p === '' || unclosedClass(p)) return null;

  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*' && p[i + 1] === '*' && (i === 0 || p[i - 1] === '/')) {
      if (p[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
        continue;
      }
      if (i + 2 === p.length) {
        re += '.*';
        i += 1;
        continue;
      }
    }
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < p.length) re += escapeRegex(p[++i]);
    else if (c === '[') {
      const end = classEnd(p, i);
      let inner = p.slice(i + 1, end);
      const negated = inner.startsWith('!') || inner.startsWith('^');
      if (negated) inner = inner.slice(1);
      re += `[${negated ? '^' : ''}${inner.replace(/[\\\]^]/g, (m) => `\\${m}`)}]`;
      i = end;
    } else re += escapeRegex(c);
  }
  return { negate, dirOnly, regex: new RegExp(anchored ? `^${re}$` : `^(?:.*/)?${re}$`) };
}

/** Last match wins, as in git: a later "!pattern" takes back an earlier one. */
function matches(compiled: readonly Compiled[], path: string, isDir: boolean): boolean {
  let ignored = false;
  for (const c of compiled) {
    if (c.dirOnly && !isDir) continue;
    if (c.regex.test(path)) ignored = !c.negate;
  }
  return ignored;
}

/**
 * Whether `relPath` (a file's path inside the watched folder, '/'-separated) is ignored by `patterns`.
 * A file inside an ignored folder is ignored too, and cannot be taken back by a "!" pattern.
 */
export function ignoredBy(relPath: string, patterns: readonly string[]): boolean {
  const compiled = patterns.map(compile).filter((c): c is Compiled => c !== null);
  const parts = relPath.split(/[/\\]+/).filter((s) => s !== '');
  for (let i = 1; i <= parts.length; i++) {
    if (matches(compiled, parts.slice(0, i).join('/'), i < parts.length)) return true;
  }
  return false;
}

/** Whether the engine would skip this file, by the defaults and then the folder's own patterns. */
export function isIgnored(relPath: string, patterns: readonly string[]): boolean {
  return ignoredBy(relPath, [...DEFAULT_IGNORES, ...patterns]);
}

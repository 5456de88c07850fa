import { describe, expect, it } from 'vitest';
import { DEFAULT_IGNORES, ignoredBy, ignoreProblems, isIgnored, parseIgnoreText } from './patterns';

describe('parseIgnoreText', () => {
  it('takes one pattern per line, trimmed, without blanks, comments or repeats', () => {
    expect(parseIgnoreText('  *.raw \r\n\n# exports are rebuilt\nexports/\n*.raw\n\\#literal\n')).toEqual(['*.raw', 'exports/', '\\#literal']);
    expect(parseIgnoreText('')).toEqual([]);
  });
});

describe('ignoreProblems', () => {
  it('accepts ordinary patterns', () => {
    expect(ignoreProblems('*.raw\nexports/\n!keep.raw\n/build\nphotos/**/thumbs\n[Tt]humbs.db\n# note')).toEqual([]);
  });
  it('names the line of each bad pattern', () => {
    expect(ignoreProblems('*.raw\n[abc\n!\n*')).toEqual([
      'Line 2: “[abc” opens a “[” that is never closed.',
      'Line 3: “!” needs a file or folder name.',
      'Line 4: “*” would ignore every file, so nothing would be uploaded.',
    ]);
  });
  it('refuses the other ways of ignoring everything', () => {
    for (const p of ['**', '/**', '**/*']) expect(ignoreProblems(p)).toHaveLength(1);
    expect(ignoreProblems('*.*')).toEqual([]);
  });
});

describe('ignoredBy (gitignore rules)', () => {
  it('matches a name without a slash at any depth', () => {
    expect(ignoredBy('a.raw', ['*.raw'])).toBe(true);
    expect(ignoredBy('2026/june/a.raw', ['*.raw'])).toBe(true);
    expect(ignoredBy('a.raw.jpg', ['*.raw'])).toBe(false);
  });
  it('anchors a pattern with a slash to the folder', () => {
    expect(ignoredBy('build/out.bin', ['/build'])).toBe(true);
    expect(ignoredBy('src/build/out.bin', ['/build'])).toBe(false);
    expect(ignoredBy('docs/draft.md', ['docs/*.md'])).toBe(true);
    expect(ignoredBy('x/docs/draft.md', ['docs/*.md'])).toBe(false);
  });
  it('ignores everything in an ignored folder; a trailing slash matches folders only', () => {
    expect(ignoredBy('exports/2026/a.jpg', ['exports/'])).toBe(true);
    expect(ignoredBy('exports', ['exports/'])).toBe(false);
    expect(ignoredBy('exports/keep.jpg', ['exports/', '!exports/keep.jpg'])).toBe(true);
  });
  it('lets a later "!" take a file back, the last match winning', () => {
    expect(ignoredBy('keep.raw', ['*.raw', '!keep.raw'])).toBe(false);
    expect(ignoredBy('keep.raw', ['!keep.raw', '*.raw'])).toBe(true);
  });
  it('understands **, ? and character classes', () => {
    expect(ignoredBy('photos/a/b/thumbs/1.jpg', ['photos/**/thumbs'])).toBe(true);
    expect(ignoredBy('photos/thumbs/1.jpg', ['photos/**/thumbs'])).toBe(true);
    expect(ignoredBy('cache/x/y.bin', ['cache/**'])).toBe(true);
    expect(ignoredBy('img1.jpg', ['img?.jpg'])).toBe(true);
    expect(ignoredBy('img10.jpg', ['img?.jpg'])).toBe(false);
    expect(ignoredBy('Thumbs.db', ['[Tt]humbs.db'])).toBe(true);
    expect(ignoredBy('xhumbs.db', ['[!Tt]humbs.db'])).toBe(true);
    expect(ignoredBy('Thumbs.db', ['[!Tt]humbs.db'])).toBe(false);
  });
  it('takes a backslash-escaped character literally', () => {
    expect(ignoredBy('#notes', ['\\#notes'])).toBe(true);
    expect(ignoredBy('a*b', ['a\\*b'])).toBe(true);
    expect(ignoredBy('axb', ['a\\*b'])).toBe(false);
  });
});

describe('isIgnored', () => {
  it('applies the defaults: hidden, lock, temporary and partial files', () => {
    expect(DEFAULT_IGNORES).toEqual(['.*', '~$*', '*.tmp', '*.part', '.DS_Store']);
    for (const p of ['.hidden', '.git/config', 'a/.DS_Store', '~$report.docx', 'x.tmp', 'big.iso.part']) {
      expect(isIgnored(p, [])).toBe(true);
    }
    expect(isIgnored('photo.jpg', [])).toBe(false);
    expect(isIgnored('photo.jpg', ['*.jpg'])).toBe(true);
  });
  it('lets a "!" pattern take a default back, as the engine’s single gitignore list does', () => {
    expect(isIgnored('.well-known/keys.txt', ['!.well-known/'])).toBe(false);
    expect(isIgnored('.env', ['!.env'])).toBe(false);
    expect(isIgnored('.envrc', ['!.env'])).toBe(true);
  });
});

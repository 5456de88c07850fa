import { describe, expect, it } from 'vitest';
import { freeKey, pasteSteps } from './pasting';

const holding = (...keys: string[]) => (k: string) => keys.includes(k);

describe('freeKey', () => {
  it('puts "copy" before the extension, then numbers', () => {
    expect(freeKey('docs/report.pdf', holding())).toBe('docs/report copy.pdf');
    expect(freeKey('docs/report.pdf', holding('docs/report copy.pdf'))).toBe('docs/report copy 2.pdf');
    expect(freeKey('docs/report.pdf', holding('docs/report copy.pdf', 'docs/report copy 2.pdf'))).toBe('docs/report copy 3.pdf');
  });
  it('keeps a folder a folder and a dot-file whole', () => {
    expect(freeKey('photos/', holding())).toBe('photos copy/');
    expect(freeKey('a/b.c/', holding())).toBe('a/b.c copy/');
    expect(freeKey('.env', holding())).toBe('.env copy');
    expect(freeKey('archive.tar.gz', holding())).toBe('archive.tar copy.gz');
  });
});

describe('pasteSteps', () => {
  it('copies or moves into another folder under the same names', () => {
    expect(pasteSteps(['a/x.txt', 'a/sub/'], 'b/', true, holding())).toEqual({
      steps: [
        { from: 'a/x.txt', to: 'b/x.txt' },
        { from: 'a/sub/', to: 'b/sub/' },
      ],
    });
  });
  it('gives a copy into its own folder a free name, and leaves out a move there', () => {
    expect(pasteSteps(['a/x.txt'], 'a/', false, holding('a/x.txt'))).toEqual({ steps: [{ from: 'a/x.txt', to: 'a/x copy.txt' }] });
    expect(pasteSteps(['a/x.txt'], 'a/', true, holding('a/x.txt'))).toEqual({ steps: [] });
  });
  it('never names two copies alike', () => {
    expect(pasteSteps(['x.txt', 'x.txt'], '', false, holding('x.txt'))).toEqual({
      steps: [
        { from: 'x.txt', to: 'x copy.txt' },
        { from: 'x.txt', to: 'x copy 2.txt' },
      ],
    });
  });
  it('refuses a folder into itself or below it', () => {
    expect(pasteSteps(['a/'], 'a/', true, holding())).toEqual({ problem: 'The folder a cannot go inside itself.' });
    expect(pasteSteps(['a/'], 'a/b/', false, holding())).toEqual({ problem: 'The folder a cannot go inside itself.' });
  });
  it('pastes from another bucket under the same names, the same folder there being another place', () => {
    expect(pasteSteps(['a/x.txt', 'a/'], 'a/', true, holding('a/x.txt'), true)).toEqual({
      steps: [
        { from: 'a/x.txt', to: 'a/x.txt' },
        { from: 'a/', to: 'a/a/' },
      ],
    });
  });
});

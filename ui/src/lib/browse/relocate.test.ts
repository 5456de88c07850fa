import { describe, expect, it } from 'vitest';
import { destination, nameProblem } from './relocate';

describe('where a rename, move or copy goes', () => {
  it('renames within the same folder, folders keeping their slash', () => {
    expect(destination('rename', 'photos/a.jpg', ' b.jpg ')).toEqual({ to: 'photos/b.jpg' });
    expect(destination('rename', 'photos/2025/', '2024')).toEqual({ to: 'photos/2024/' });
    expect(destination('rename', 'top.txt', 'new.txt')).toEqual({ to: 'new.txt' });
  });

  it('moves or copies into a folder path from the root', () => {
    expect(destination('move', 'photos/a.jpg', 'archive/2026')).toEqual({ to: 'archive/2026/a.jpg' });
    expect(destination('copy', 'photos/a.jpg', '')).toEqual({ to: 'a.jpg' });
    expect(destination('move', 'photos/2025/', '/old/')).toEqual({ to: 'old/2025/' });
  });

  it('refuses what cannot be done, in words', () => {
    expect(destination('rename', 'a.txt', '')).toEqual({ problem: 'Enter a name.' });
    expect(destination('rename', 'a.txt', 'x/y')).toHaveProperty('problem');
    expect(destination('rename', 'a.txt', 'a.txt')).toEqual({ problem: 'That is its current name.' });
    expect(destination('move', 'p/a.txt', 'p')).toEqual({ problem: 'It is already there.' });
    expect(destination('move', 'p/', 'p/q')).toEqual({ problem: 'A folder cannot go inside itself.' });
    expect(destination('move', 'a.txt', 'x//y')).toHaveProperty('problem');
  });
});

describe('nameProblem', () => {
  it('takes one name and refuses an empty one, "/" and dot names', () => {
    expect(nameProblem('drafts')).toBeNull();
    expect(nameProblem('')).toBe('Enter a name.');
    expect(nameProblem('a/b')).toMatch(/cannot contain "\/"/);
    expect(nameProblem('..')).toMatch(/not a name/);
  });
});

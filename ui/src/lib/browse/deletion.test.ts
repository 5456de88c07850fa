import { describe, expect, it } from 'vitest';
import { deletedNotice, deleteTitle, doomedTotal, tallyText } from './deletion';

describe('the delete confirmation', () => {
  it('counts the selected objects from the listing and the folders from the engine', () => {
    const listed = [
      { key: 'a.txt', size: 1000, lastModified: null, etag: null },
      { key: 'b.txt', size: 24, lastModified: null, etag: null },
    ];
    const total = doomedTotal({ keys: ['a.txt'], prefixes: ['photos/'] }, listed, { objects: 3, bytes: 2048 });
    expect(total).toEqual({ objects: 4, bytes: 3048 });
    expect(tallyText(total)).toBe('4 objects, 3.0 KiB in total, will be deleted.');
    expect(deleteTitle({ keys: ['a.txt'], prefixes: ['photos/', 'x/'] })).toBe('Delete 1 object and 2 folders?');
  });

  it('names the keys the server refused', () => {
    expect(deletedNotice({ deleted: 2, failed: [] })).toEqual({ tone: 'success', text: 'Deleted 2 objects.' });
    const n = deletedNotice({ deleted: 5, failed: [{ key: 'p/locked.txt', message: 'access denied' }] });
    expect(n.tone).toBe('error');
    expect(n.text).toBe('Deleted 5 objects. 1 object could not be deleted: p/locked.txt (access denied).');
  });
});

import { describe, expect, it } from 'vitest';
import type { ObjectProperties } from '../backend/types';
import { editOf, formOf } from './properties';

const before: ObjectProperties = {
  key: 'photo.png', size: 6, lastModified: 1, etag: '"e"', contentType: 'image/png', cacheControl: 'max-age=60',
  contentDisposition: null, contentEncoding: null, storageClass: null, serverSideEncryption: null, versionId: null,
  checksums: {}, checksumType: null, metadata: { team: 'blue', owner: 'ana' },
};

describe('the properties form', () => {
  it('starts from the object and sends only what changed', () => {
    const form = formOf(before);
    expect(form.metadata).toEqual([{ name: 'owner', value: 'ana' }, { name: 'team', value: 'blue' }]);
    form.contentType = 'image/webp';
    form.cacheControl = '';
    form.metadata = [{ name: 'team', value: 'red' }, { name: 'Rating', value: 'pg' }];
    expect(editOf(before, form)).toEqual({
      edit: { contentType: 'image/webp', cacheControl: '', metadata: { team: 'red', rating: 'pg' }, removeMetadata: ['owner'] },
    });
  });

  it('says what to fix, and when nothing changed', () => {
    expect(editOf(before, formOf(before))).toEqual({ problem: 'Nothing has changed.' });
    expect(editOf(before, { ...formOf(before), contentType: 'png' })).toHaveProperty('problem');
    expect(editOf(before, { ...formOf(before), metadata: [{ name: 'a b', value: '1' }] })).toHaveProperty('problem');
    expect(editOf(before, { ...formOf(before), metadata: [{ name: 'a', value: '1' }, { name: 'A', value: '2' }] })).toEqual({
      problem: 'The metadata name "a" is given twice.',
    });
    // STANDARD is what an object without a storage class has: choosing it changes nothing.
    expect(editOf(before, { ...formOf(before), storageClass: 'STANDARD' })).toEqual({ problem: 'Nothing has changed.' });
    expect(editOf(before, { ...formOf(before), storageClass: 'GLACIER_IR' })).toEqual({
      edit: { storageClass: 'GLACIER_IR', metadata: {}, removeMetadata: [] },
    });
  });
});

import { describe, expect, it } from 'vitest';
import { keyName } from './keys';

const press = (key: string, mods: Partial<Record<'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey', boolean>> = {}) =>
  keyName({ key, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods });

describe('keyName', () => {
  it('names plain keys', () => {
    expect(press('F2')).toBe('F2');
    expect(press('Delete')).toBe('Delete');
    expect(press(' ')).toBe('Space');
  });
  it('upper-cases letters and orders the modifiers', () => {
    expect(press('c', { ctrlKey: true })).toBe('Ctrl+C');
    expect(press('C', { ctrlKey: true, shiftKey: true })).toBe('Ctrl+Shift+C');
    expect(press('ArrowUp', { altKey: true })).toBe('Alt+ArrowUp');
    expect(press('F10', { shiftKey: true })).toBe('Shift+F10');
  });
  it('takes Cmd for Ctrl', () => {
    expect(press('a', { metaKey: true })).toBe('Ctrl+A');
  });
  it('leaves Shift out of a printable symbol', () => {
    expect(press('?', { shiftKey: true })).toBe('?');
  });
});

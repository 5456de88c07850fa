// Ferry's keyboard: a key press as one comparable name ("Ctrl+Shift+C", "Alt+ArrowUp", "?"), and the
// list of shortcuts that the `?` dialog shows. Pure, so the rules are tested apart from the components.

/** The name of a key press: modifiers in the order Ctrl, Alt, Shift, then the key (letters upper case). */
export function keyName(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'altKey' | 'shiftKey'>): string {
  const parts: string[] = [];
  // Cmd on macOS does what Ctrl does elsewhere.
  if (e.ctrlKey || e.metaKey) parts.push('Ctrl');
  if (e.altKey) parts.push('Alt');
  const printable = e.key.length === 1;
  // Shift is part of a printable character already ("?" is Shift+/), but not of a letter shortcut.
  if (e.shiftKey && (!printable || /[a-z]/i.test(e.key))) parts.push('Shift');
  parts.push(e.key === ' ' ? 'Space' : printable ? e.key.toUpperCase() : e.key);
  return parts.join('+');
}

/** Whether a key press happens inside a text field, where keys type rather than command. */
export function typing(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !['checkbox', 'radio', 'button', 'submit', 'reset'].includes(target.type);
}

export interface Shortcut {
  keys: string[];
  does: string;
}

/** Every shortcut, by where it works, as the shortcuts dialog lists them. */
export const SHORTCUTS: { area: string; shortcuts: Shortcut[] }[] = [
  {
    area: 'Anywhere',
    shortcuts: [
      { keys: ['Ctrl+U'], does: 'Upload files to the folder on screen' },
      { keys: ['?'], does: 'Show these shortcuts' },
      { keys: ['Tab', 'Shift+Tab'], does: 'Move between the sidebar, the lists and the buttons' },
      { keys: ['Shift+F10', 'Menu'], does: 'Open the menu of the current row' },
      { keys: ['Escape'], does: 'Close a menu or a dialog' },
    ],
  },
  {
    area: 'Objects',
    shortcuts: [
      { keys: ['↑', '↓', 'Home', 'End'], does: 'Move between folders and objects' },
      { keys: ['Shift+↑', 'Shift+↓'], does: 'Extend the selection' },
      { keys: ['Space'], does: 'Select or unselect the current row' },
      { keys: ['Enter'], does: 'Open a folder, or show an object’s properties' },
      { keys: ['Backspace', 'Alt+↑'], does: 'Go to the enclosing folder' },
      { keys: ['Ctrl+A'], does: 'Select everything here' },
      { keys: ['F2'], does: 'Rename in place' },
      { keys: ['Delete'], does: 'Delete the selection (after asking)' },
      { keys: ['Ctrl+C'], does: 'Copy the selection (and an object’s share link)' },
      { keys: ['Ctrl+X'], does: 'Cut the selection, to move it' },
      { keys: ['Ctrl+V'], does: 'Paste here (copy or move)' },
      { keys: ['Ctrl+D'], does: 'Duplicate' },
      { keys: ['Ctrl+Shift+N'], does: 'New folder' },
      { keys: ['Ctrl+Shift+C'], does: 'Share link with a chosen expiry' },
    ],
  },
  {
    area: 'Transfers',
    shortcuts: [
      { keys: ['↑', '↓', 'Home', 'End'], does: 'Move between transfers' },
      { keys: ['Space'], does: 'Pause or resume the current transfer (retry a failed one)' },
      { keys: ['Enter'], does: 'Show why a failed transfer failed' },
      { keys: ['Delete'], does: 'Cancel the current transfer' },
    ],
  },
];

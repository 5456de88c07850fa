// Ferry's own context menu (the webview's, with Back/Forward/Reload, never shows): one menu at a time,
// opened at the pointer or beside the row the keyboard is on, and focus back where it was when it closes.

export interface MenuItem {
  label: string;
  /** The shortcut that does the same, shown beside the label (e.g. "F2", "Ctrl+C"). */
  shortcut?: string;
  danger?: boolean;
  disabled?: boolean;
  /** For tests: data-action on the item. */
  action: string;
  run: () => void;
}

/** A line between groups of items. */
export const SEPARATOR = null;
export type MenuEntry = MenuItem | typeof SEPARATOR;

export class MenuState {
  entries = $state.raw<MenuEntry[]>([]);
  /** What the menu is about, read out as its name ("Actions for README.txt"). */
  label = $state('');
  x = $state(0);
  y = $state(0);
  open = $state(false);
  #returnTo: HTMLElement | null = null;

  /** Opens the menu; `false` entries (items that do not apply) are left out, and so are stray separators. */
  show(entries: (MenuEntry | false)[], at: { x: number; y: number }, label: string): void {
    const tidy: MenuEntry[] = [];
    for (const e of entries) {
      if (e === false || (e === SEPARATOR && (tidy.length === 0 || tidy.at(-1) === SEPARATOR))) continue;
      tidy.push(e);
    }
    if (tidy.at(-1) === SEPARATOR) tidy.pop();
    if (tidy.length === 0) return;
    const active = document.activeElement;
    this.#returnTo = active instanceof HTMLElement && active !== document.body ? active : null;
    this.entries = tidy;
    this.label = label;
    this.x = at.x;
    this.y = at.y;
    this.open = true;
  }

  /** Closes the menu; focus goes back to what had it (the list) unless `refocus` is false. */
  close(refocus = true): void {
    if (!this.open) return;
    this.open = false;
    const back = this.#returnTo;
    this.#returnTo = null;
    if (refocus && back?.isConnected) back.focus({ preventScroll: true });
  }

  /** Runs an item: the menu closes first, so a dialog the item opens takes the focus from the list. */
  choose(item: MenuItem): void {
    if (item.disabled) return;
    this.close();
    item.run();
  }
}

// The object list's direct manipulation, apart from the list that shows it: what Ctrl+X / Ctrl+C hold
// for Ctrl+V, duplicates, renames in place, rows dragged onto a folder, and the question asked before
// any of them replaces what is at its destination. Everything is a copy or move into the open bucket
// (BrowserState.relocateAll): server-side within an account, streamed through Ferry when pasted from
// another account; where things go is decided by pasting.ts.
import { copyLink, dragOutItems } from '../actions';
import { messageOf } from '../backend/errors';
import type { Place } from '../backend/types';
import type { App } from '../context';
import { plural } from '../format';
import { freeKey, pasteSteps, type Step } from './pasting';
import { childName, destinationLabel, parentPrefix } from './paths';
import { destination } from './relocate';

const isFolder = (k: string) => k.endsWith('/');
/** A pointer position past the window's edge (the webview reports moves there while a button is held). */
const outsideWindow = (x: number, y: number) => x < 0 || y < 0 || x >= window.innerWidth || y >= window.innerHeight;
const nameOf = (k: string) => childName(k, parentPrefix(k));
/** One row by name ("photos/", "a.txt"), or how many. */
const what = (ks: string[]) => (ks.length === 1 ? `${nameOf(ks[0])}${isFolder(ks[0]) ? '/' : ''}` : plural(ks.length, 'item'));

export interface Held {
  mode: 'cut' | 'copy';
  account: string;
  bucket: string;
  keys: string[];
}

export interface Drag {
  keys: string[];
  x0: number;
  y0: number;
  x: number;
  y: number;
  /** Moved far enough to be a drag (not a click). */
  active: boolean;
  /** The folder under the pointer that can take the rows, if any. */
  into: string | null;
}

export class ObjectMoves {
  readonly #app: App;
  /** Called with where a copy or move put its first row, for the list to make it current. */
  readonly #landed: (key: string) => void;
  held = $state.raw<Held | null>(null);
  drag = $state.raw<Drag | null>(null);
  /** The replace question (a ConfirmDialog): open, and its words. */
  ask = $state({ open: false, title: '', text: '' });
  #answer: ((yes: boolean) => void) | null = null;

  constructor(app: App, landed: (key: string) => void) {
    this.#app = app;
    this.#landed = landed;
  }

  /** Whether the row was cut (shown faded until pasted). */
  isCut(k: string): boolean {
    const h = this.held;
    const at = this.#app.browser.location;
    return h?.mode === 'cut' && h.account === at?.account && h.bucket === at?.bucket && h.keys.includes(k);
  }

  /** Ctrl+X / Ctrl+C: remembers the rows; Ctrl+C on one object also puts its share link on the clipboard. */
  hold(mode: 'cut' | 'copy', ks: string[]): void {
    const at = this.#app.browser.location;
    if (!at || ks.length === 0) return;
    this.held = { mode, account: at.account, bucket: at.bucket, keys: ks };
    const then = mode === 'cut' ? 'Ctrl+V in another folder moves' : 'Ctrl+V in a folder pastes a copy of';
    if (mode === 'copy' && ks.length === 1 && !isFolder(ks[0])) void copyLink(this.#app, ks[0], ` ${then} it.`);
    else this.#app.notices.push('info', `${mode === 'cut' ? 'Cut' : 'Copied'} ${what(ks)}: ${then} ${ks.length === 1 ? 'it' : 'them'}.`);
  }

  /** Forgets what was cut (Escape); what was copied stays for another paste. */
  dropCut(): void {
    if (this.held?.mode === 'cut') this.held = null;
  }

  /** Ctrl+V: what was cut moves into `into`, what was copied is copied there. */
  async paste(into: string): Promise<void> {
    const { browser, notices } = this.#app;
    const h = this.held;
    const at = browser.location;
    if (!at || !h) return;
    const elsewhere = h.account !== at.account || h.bucket !== at.bucket;
    const move = h.mode === 'cut';
    const plan = pasteSteps(h.keys, into, move, (k) => browser.holds(k), elsewhere);
    if ('problem' in plan) {
      notices.push('error', plan.problem);
      return;
    }
    if (plan.steps.length === 0) {
      notices.push('info', `${what(h.keys)} ${h.keys.length === 1 ? 'is' : 'are'} already in ${destinationLabel(at.bucket, into)}.`);
      return;
    }
    if (move) this.held = null;
    const said = `${move ? 'Moved' : 'Copied'} ${what(plan.steps.map((s) => s.from))} to ${destinationLabel(at.bucket, into)}`;
    const how = h.account !== at.account ? ` from ${h.account}, streamed through Ferry` : '';
    const source = elsewhere ? { account: h.account, bucket: h.bucket } : undefined;
    await this.#carry(plan.steps, move, said + how, source);
  }

  /** Ctrl+D: a copy of each row beside it, under a free name ("name copy.ext"). */
  async duplicate(ks: string[]): Promise<void> {
    const { browser } = this.#app;
    if (!browser.location || ks.length === 0) return;
    const steps: Step[] = [];
    for (const from of ks) steps.push({ from, to: freeKey(from, (k) => browser.holds(k) || steps.some((s) => s.to === k)) });
    await this.#carry(steps, false, `Duplicated ${what(ks)}${steps.length === 1 ? ` as ${nameOf(steps[0].to)}` : ''}`);
  }

  /** F2's Enter: starts the rename and returns null, or returns what is wrong with the name (nothing happens). */
  rename(source: string, value: string): string | null {
    const target = destination('rename', source, value);
    if ('problem' in target) return target.problem;
    void this.#carry([{ from: source, to: target.to }], true, `Renamed ${nameOf(source)} to ${nameOf(target.to)}`);
    return null;
  }

  /** Runs copies or moves (from `source` when not the open bucket), asking before each replace, and says what happened. */
  async #carry(steps: Step[], move: boolean, said: string, source?: Place): Promise<void> {
    const { browser, notices } = this.#app;
    try {
      const r = await browser.relocateAll(steps, move, (step) => this.#askReplace(step), source);
      if (r.done.length > 0) {
        const objects = steps.some((s) => isFolder(s.from)) ? ` (${plural(r.objects, 'object')})` : '';
        const kept = r.skipped.length ? ` Kept ${what(r.skipped.map((s) => s.to))} as ${r.skipped.length === 1 ? 'it was' : 'they were'}.` : '';
        notices.push('success', `${said}${objects}.${kept}`);
        this.#landed(r.done[0].to);
      } else if (r.skipped.length > 0) notices.push('info', `Nothing replaced: ${what(r.skipped.map((s) => s.to))} kept as before.`);
    } catch (e) {
      notices.push('error', messageOf(e));
    }
  }

  #askReplace(step: Step): Promise<boolean> {
    this.ask = {
      open: true,
      title: `Replace ${what([step.to])}?`,
      text: `${step.to} already exists. Replace it with ${step.from}? What is there now is overwritten.`,
    };
    return new Promise((resolve) => (this.#answer = resolve));
  }

  /** The replace question's answer: yes when confirmed; no when it closed any other way. */
  answer(yes: boolean): void {
    const a = this.#answer;
    this.#answer = null;
    a?.(yes);
  }

  // Dragging rows onto a folder row, a breadcrumb or "Up" (anything with data-drop) moves them there;
  // dragging them out of the window hands them to the platform's drag as files (dragOutItems).

  /** A press on rows `keys`: a drag once the pointer moves a few pixels. */
  press(keys: string[], x: number, y: number): void {
    this.drag = { keys, x0: x, y0: y, x, y, active: false, into: null };
  }

  move(x: number, y: number): void {
    const d = this.drag;
    if (!d || (!d.active && Math.hypot(x - d.x0, y - d.y0) < 6)) return;
    if (outsideWindow(x, y)) {
      this.leave();
      return;
    }
    this.drag = { ...d, active: true, x, y, into: this.#dropTarget(x, y, d.keys) };
  }

  /** The pointer left the window during a drag: the rows go out as files (downloaded for the drop). */
  leave(): void {
    const d = this.drag;
    if (!d?.active) return;
    this.drag = null;
    void dragOutItems(this.#app, d.keys.filter((k) => !isFolder(k)), d.keys.filter(isFolder));
  }

  /** Letting go: over a folder that can take them, the rows move there. */
  release(x: number, y: number): void {
    const d = this.drag;
    this.drag = null;
    const at = this.#app.browser.location;
    if (!d?.active || !at) return;
    const into = this.#dropTarget(x, y, d.keys);
    if (into === null) return;
    const plan = pasteSteps(d.keys, into, true, () => false);
    if ('steps' in plan) void this.#carry(plan.steps, true, `Moved ${what(d.keys)} to ${destinationLabel(at.bucket, into)}`);
  }

  cancelDrag(): boolean {
    const was = this.drag !== null;
    this.drag = null;
    return was;
  }

  /** The label of the dragged rows, for the ghost under the pointer. */
  get dragLabel(): string {
    const d = this.drag;
    const at = this.#app.browser.location;
    if (!d) return '';
    return d.into !== null && at ? `Move ${what(d.keys)} to ${destinationLabel(at.bucket, d.into)}` : `Move ${what(d.keys)}`;
  }

  #dropTarget(x: number, y: number, keys: string[]): string | null {
    const into = document.elementFromPoint(x, y)?.closest<HTMLElement>('[data-drop]')?.dataset.drop;
    if (into === undefined) return null;
    const plan = pasteSteps(keys, into, true, () => false);
    return 'steps' in plan && plan.steps.length > 0 ? into : null;
  }
}

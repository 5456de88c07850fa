// Where cut, copied, duplicated and dragged objects and folders go: pure, so the rules are tested apart
// from the list. A folder is a prefix ending in '/'; a paste goes into the open bucket, from it or from
// another bucket (of this account or another).
import { childName, parentPrefix } from './paths';

/** One copy or move: from a key (or prefix) to another. */
export interface Step {
  from: string;
  to: string;
}

/**
 * A name that `taken` does not hold, for a copy beside the original: "report.pdf" → "report copy.pdf",
 * then "report copy 2.pdf"…; a folder "photos/" → "photos copy/". `taken` holds whole keys or prefixes.
 */
export function freeKey(source: string, taken: (key: string) => boolean): string {
  const folder = source.endsWith('/');
  const parent = parentPrefix(source);
  const name = childName(source, parent);
  const dot = folder ? -1 : name.lastIndexOf('.');
  // A leading dot (".env") is part of the name, not an extension.
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  for (let n = 1; ; n++) {
    const key = `${parent}${stem} copy${n === 1 ? '' : ` ${n}`}${ext}${folder ? '/' : ''}`;
    if (!taken(key)) return key;
  }
}

/**
 * The steps that bring `sources` into the folder `into`, or what stops them in words. A copy into the
 * folder it came from gets a free name beside the original; a move there is nothing to do (left out).
 * `elsewhere`: the sources are in another bucket, so no key is its own destination.
 */
export function pasteSteps(
  sources: string[],
  into: string,
  move: boolean,
  taken: (key: string) => boolean,
  elsewhere = false,
): { steps: Step[] } | { problem: string } {
  const steps: Step[] = [];
  for (const from of sources) {
    const folder = from.endsWith('/');
    if (elsewhere) {
      steps.push({ from, to: into + childName(from, parentPrefix(from)) + (folder ? '/' : '') });
      continue;
    }
    if (folder && into.startsWith(from)) {
      return { problem: `The folder ${childName(from, parentPrefix(from))} cannot go inside itself.` };
    }
    const to = into + childName(from, parentPrefix(from)) + (folder ? '/' : '');
    if (to === from) {
      if (!move) steps.push({ from, to: freeKey(from, (k) => taken(k) || steps.some((s) => s.to === k)) });
      continue;
    }
    steps.push({ from, to });
  }
  return { steps };
}

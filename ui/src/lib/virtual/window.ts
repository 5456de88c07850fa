// The arithmetic of a virtualised list with fixed-height rows: which rows to render for a scroll
// position, and where. Kept apart from the component so it can be tested without a DOM.
//
// Browsers cap an element's height (Chromium near 33.5 million pixels, WebKit lower), so a list taller
// than MAX_HEIGHT gets a spacer of MAX_HEIGHT and the scroll position maps proportionally onto the
// rows: a million rows still scroll from the first to the last.

/** The tallest spacer the list makes, in pixels. */
export const MAX_HEIGHT = 8_000_000;

export interface VirtualWindow {
  /** First row to render (inclusive). */
  start: number;
  /** One past the last row to render. */
  end: number;
  /** Pixels from the top of the list to the first rendered row. */
  offset: number;
  /** Height of the whole list, for the spacer that gives the scrollbar its size. */
  total: number;
}

export function virtualWindow(
  scrollTop: number,
  viewportHeight: number,
  rowHeight: number,
  count: number,
  overscan = 4,
): VirtualWindow {
  const height = Math.max(0, count) * rowHeight;
  const total = Math.min(height, MAX_HEIGHT);
  if (count <= 0 || rowHeight <= 0) return { start: 0, end: 0, offset: 0, total };
  const viewport = Math.max(0, viewportHeight);
  const maxTop = Math.max(0, total - viewport);
  const top = Math.min(Math.max(0, scrollTop), maxTop);
  // Where `top` is in the rows' own coordinates (the same unless the spacer is capped).
  const rowsTop = height === total || maxTop === 0 ? top : (top / maxTop) * (height - viewport);
  const firstVisible = Math.min(count - 1, Math.floor(rowsTop / rowHeight));
  const lastVisible = Math.ceil((rowsTop + viewport) / rowHeight);
  const start = Math.max(0, firstVisible - overscan);
  const end = Math.min(count, Math.max(lastVisible, firstVisible + 1) + overscan);
  return { start, end, offset: top + start * rowHeight - rowsTop, total };
}

/**
 * The scroll position that brings row `index` fully into view with the least movement (the position
 * unchanged when it is already in view), in the same proportional mapping as `virtualWindow`.
 */
export function scrollToShow(index: number, scrollTop: number, viewportHeight: number, rowHeight: number, count: number): number {
  if (count <= 0 || rowHeight <= 0 || index < 0) return scrollTop;
  const height = count * rowHeight;
  const total = Math.min(height, MAX_HEIGHT);
  const viewport = Math.max(0, viewportHeight);
  const maxTop = Math.max(0, total - viewport);
  if (maxTop === 0) return 0;
  const capped = height !== total;
  // Between scroll positions and the rows' own coordinates (the identity unless the spacer is capped).
  const toRows = (top: number) => (capped ? (top / maxTop) * (height - viewport) : top);
  const toTop = (rows: number) => (capped ? (rows / (height - viewport)) * maxTop : rows);
  const top = Math.min(Math.max(0, scrollTop), maxTop);
  const rowsTop = toRows(top);
  const rowTop = Math.min(index, count - 1) * rowHeight;
  if (rowTop < rowsTop) return Math.min(maxTop, Math.max(0, toTop(rowTop)));
  if (rowTop + rowHeight > rowsTop + viewport) return Math.min(maxTop, Math.max(0, toTop(rowTop + rowHeight - viewport)));
  return top;
}

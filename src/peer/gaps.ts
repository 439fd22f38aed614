/**
 * The windows a peer says at hello that it is missing (its own gap ledger), as data and pure
 * functions: the union of windows, the bound of the list, and the checks of both sides (the
 * `gaps` hook of a peer and the `gaps` of a hello reply).
 */

import type { TimeWindow } from '../storage/types.js';

/** Most windows a hello reply may list (a longer list is `PEER_BAD_REPLY`). */
export const MAX_HELLO_GAPS = 1000;

/** Whether `value` is a `{ from, to }` window of safe-integer epoch ms with `from <= to`. */
export function isTimeWindow(value: unknown): value is TimeWindow {
  const w = value as Partial<TimeWindow> | null;
  return (
    typeof w === 'object' &&
    w !== null &&
    Number.isSafeInteger(w.from) &&
    Number.isSafeInteger(w.to) &&
    (w.from as number) <= (w.to as number)
  );
}

/** Whether `value` is a valid `gaps` list of a hello: at most {@link MAX_HELLO_GAPS} windows. */
export function isHelloGaps(value: unknown): value is readonly TimeWindow[] {
  return Array.isArray(value) && value.length <= MAX_HELLO_GAPS && value.every(isTimeWindow);
}

/**
 * The union of `windows`: sorted by start, overlapping and touching windows joined, empty ones
 * left out (fresh objects; the input is not changed).
 *
 * For example (an internal helper, not exported by the package):
 *
 * ```ts
 * unionWindows([{ from: 5, to: 9 }, { from: 0, to: 3 }, { from: 3, to: 6 }]); // [{ from: 0, to: 9 }]
 * ```
 */
export function unionWindows(windows: readonly TimeWindow[]): TimeWindow[] {
  const sorted = windows
    .filter((w) => w.from < w.to)
    .sort((a, b) => a.from - b.from || a.to - b.to);
  const joined: TimeWindow[] = [];
  for (const window of sorted) {
    const last = joined[joined.length - 1];
    if (last !== undefined && window.from <= last.to) {
      joined[joined.length - 1] = { from: last.from, to: Math.max(last.to, window.to) };
    } else {
      joined.push({ from: window.from, to: window.to });
    }
  }
  return joined;
}

/**
 * What a peer lists in its hello from its `gaps` hook: the union of the valid windows the hook
 * returns (a throwing hook, or one that returns no array, counts as no gaps), at most
 * {@link MAX_HELLO_GAPS} windows: beyond that the last ones are joined into one, so the list
 * only ever claims more missing than there is (peers then ask someone else), never less.
 */
export function helloGaps(hook: () => readonly TimeWindow[]): TimeWindow[] {
  let raw: unknown;
  try {
    raw = hook();
  } catch {
    return [];
  }
  if (!Array.isArray(raw)) return [];
  const union = unionWindows(raw.filter(isTimeWindow));
  if (union.length <= MAX_HELLO_GAPS) return union;
  const kept = union.slice(0, MAX_HELLO_GAPS - 1);
  const first = union[MAX_HELLO_GAPS - 1] as TimeWindow;
  const last = union[union.length - 1] as TimeWindow;
  kept.push({ from: first.from, to: last.to });
  return kept;
}

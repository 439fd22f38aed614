/**
 * Several peers per gap, as a pure function: which configured peer serves which part of a gap,
 * given the windows each peer says at hello that it is missing itself.
 *
 * A gap is not split in the ledger: its parts are read one after the other, in time order, with
 * the gap's one per-item progress moving through them, so a part's source can change between
 * connections without losing committed progress.
 */

import { unionWindows } from '../peer/gaps.js';
import type { TimeWindow } from '../storage/types.js';

/** One part of a window and the source that serves it. */
export interface SourcedPart {
  /** Inclusive start, epoch ms. */
  readonly from: number;
  /** Exclusive end, epoch ms. */
  readonly to: number;
  /** Index of the source that serves it (0, the connected peer, for a part nobody has). */
  readonly source: number;
}

/** What {@link routeWindow} decides for one window. */
export interface WindowRoute {
  /** The window cut where the serving source changes, in time order, covering it exactly. */
  readonly parts: readonly SourcedPart[];
  /**
   * The parts every source lacks, in time order: served by source 0 all the same (best effort:
   * what it has is better than nothing), and worth a warning.
   */
  readonly uncovered: readonly TimeWindow[];
}

/**
 * Routes `window` over the sources: `missing[i]` are the windows source `i` says it lacks (in
 * any order, may overlap). Each part is served by the first source, in order, that lacks none
 * of it; a part that every source lacks is served by source 0 and listed in `uncovered`. With
 * no missing windows in it, the whole window is one part of source 0.
 *
 * For example (an internal helper, not exported by the package):
 *
 * ```ts
 * routeWindow({ from: 0, to: 100 }, [[{ from: 40, to: 60 }], []]);
 * // parts: [0, 40) from 0, [40, 60) from 1, [60, 100) from 0; uncovered: []
 * routeWindow({ from: 0, to: 100 }, [[{ from: 40, to: 60 }], [{ from: 50, to: 70 }]]);
 * // parts: [0, 40) from 0, [40, 50) from 1, [50, 100) from 0; uncovered: [50, 60)
 * ```
 */
export function routeWindow(
  window: TimeWindow,
  missing: readonly (readonly TimeWindow[])[],
): WindowRoute {
  if (window.from >= window.to) return { parts: [], uncovered: [] };
  const lists = missing.map((windows) => unionWindows(windows));
  const cuts = new Set<number>([window.from, window.to]);
  for (const list of lists) {
    for (const w of list) {
      if (w.from > window.from && w.from < window.to) cuts.add(w.from);
      if (w.to > window.from && w.to < window.to) cuts.add(w.to);
    }
  }
  const bounds = [...cuts].sort((a, b) => a - b);
  // One cursor per source: the segments come in time order, so each list is walked once.
  const next = lists.map(() => 0);
  const lacks = (i: number, at: number): boolean => {
    const list = lists[i] as TimeWindow[];
    let j = next[i] as number;
    while (j < list.length && (list[j] as TimeWindow).to <= at) j++;
    next[i] = j;
    // No bound of a missing window lies inside a segment: lacking its start is lacking it all.
    return j < list.length && (list[j] as TimeWindow).from <= at;
  };
  const parts: SourcedPart[] = [];
  const uncovered: TimeWindow[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    const from = bounds[k] as number;
    const to = bounds[k + 1] as number;
    let source = -1;
    for (let i = 0; i < lists.length; i++) {
      // Every cursor must advance past `from`, so no early exit from this loop.
      if (!lacks(i, from) && source === -1) source = i;
    }
    if (source === -1) {
      // (Two uncovered segments never touch: a bound between them would end one source's gap.)
      source = 0;
      uncovered.push({ from, to });
    }
    const last = parts[parts.length - 1];
    if (last !== undefined && last.source === source && last.to === from) {
      parts[parts.length - 1] = { ...last, to };
    } else {
      parts.push({ from, to, source });
    }
  }
  return { parts, uncovered };
}

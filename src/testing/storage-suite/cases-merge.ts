/**
 * Conformance cases of `mergePoints`: it writes only the timestamps an item does not have yet and
 * never changes or removes a stored point. Invalid windows, item ids, points and a closed adapter
 * are checked with the other methods in `cases-invalid-input.ts` and `cases-lifecycle.ts`.
 *
 * @internal
 */

import assert from 'node:assert/strict';
import type { Point, StorageAdapter, TimeWindow } from '../../storage/types.js';
import {
  ALL,
  caseList,
  deepEqual,
  point,
  range,
  readAllPoints,
  rejectsWith,
  type SuiteCase,
  showPoints,
  showWindow,
} from './helpers.js';

const { add, cases } = caseList();

/** Calls `mergePoints` and asserts the count it resolves with. */
async function mergeExpecting(
  adapter: StorageAdapter,
  item: string,
  window: TimeWindow,
  points: readonly Point[],
  expected: number,
  why: string,
): Promise<void> {
  const written = await adapter.mergePoints(item, window, points);
  assert.equal(
    written,
    expected,
    `mergePoints(${JSON.stringify(item)}, ${showWindow(window)}, ${showPoints(points)}) must resolve with ${expected} (${why}), got ${String(written)}`,
  );
}

/** Asserts the whole series of `item`. */
async function assertSeries(
  adapter: StorageAdapter,
  item: string,
  expected: readonly Point[],
  after: string,
): Promise<void> {
  const actual = await readAllPoints(adapter, item, ALL, 7);
  deepEqual(
    actual,
    expected,
    `after ${after}, readPoints(${JSON.stringify(item)}) must return ${showPoints(expected)}, got ${showPoints(actual)}`,
  );
}

add(
  'merge',
  'mergePoints writes only absent timestamps and returns that count',
  async ({ adapter }) => {
    const window = { from: 0, to: 10 };
    await adapter.appendPoints('i', [point(2, 'old'), point(4, 'old'), point(6, 'old')]);
    const incoming = [point(1, 'new'), point(2, 'new'), point(3, 'new'), point(6, 'new')];
    await mergeExpecting(adapter, 'i', window, [...incoming, point(9, 'new')], 3, 't=1, 3 and 9');
    const merged = [
      point(1, 'new'),
      point(2, 'old'),
      point(3, 'new'),
      point(4, 'old'),
      point(6, 'old'),
      point(9, 'new'),
    ];
    await assertSeries(adapter, 'i', merged, 'merging t=1, 2, 3, 6, 9 into t=2, 4, 6');
    await mergeExpecting(adapter, 'i', window, incoming, 0, 'every timestamp is stored now');
    await mergeExpecting(adapter, 'i', window, [], 0, 'an empty batch writes nothing');
    await mergeExpecting(adapter, 'i', { from: 5, to: 5 }, [], 0, 'an empty window');
    await assertSeries(adapter, 'i', merged, 'merges that write nothing');
  },
);

add(
  'merge',
  'mergePoints never changes a stored point: same t with another value or quality stays',
  async ({ adapter }) => {
    const stored: Point[] = [{ t: 5, v: 1, q: 192 }, point(6, 'x'), point(7, null), point(8, true)];
    await adapter.appendPoints('i', stored);
    await mergeExpecting(
      adapter,
      'i',
      { from: 0, to: 100 },
      [point(5, 2), { t: 6, v: 'y', q: 1 }, point(7, 0), { t: 8, v: false, q: 0 }],
      0,
      'every timestamp is already stored',
    );
    await assertSeries(adapter, 'i', stored, 'merging other values at stored timestamps');
  },
);

add(
  'merge',
  'mergePoints leaves points outside the window and other items untouched',
  async ({ adapter }) => {
    const evens = range(0, 15).map((i) => point(i * 2, 'old'));
    const other = range(0, 30).map((t) => point(t, 'j'));
    await adapter.appendPoints('i', evens);
    await adapter.appendPoints('j', other);
    // j has a point at every timestamp: only i's own points may block a merge into i.
    const odds = [11, 13, 15, 17, 19].map((t) => point(t, 'new'));
    await mergeExpecting(adapter, 'i', { from: 10, to: 20 }, odds, 5, 'i has no odd timestamps');
    await assertSeries(
      adapter,
      'i',
      [...evens, ...odds].sort((a, b) => a.t - b.t),
      'merging odd t in [10, 20) into i',
    );
    await assertSeries(adapter, 'j', other, "merging into i (j's points must not change)");
  },
);

add(
  'merge',
  'mergePoints accepts points in any order, before, between and after',
  async ({ adapter }) => {
    const stored = range(0, 100).map((i) => point(i * 3, 'old'));
    await adapter.appendPoints('i', stored);
    // Every t in [-50, 350): a third collide, the rest fall before, between and after stored ones.
    const incoming = range(-50, 350)
      .reverse()
      .map((t) => point(t, 'new'));
    const absent = incoming.filter((p) => p.t < 0 || p.t >= 300 || p.t % 3 !== 0);
    await mergeExpecting(adapter, 'i', { from: -50, to: 350 }, incoming, absent.length, 'absent t');
    await assertSeries(
      adapter,
      'i',
      [...stored, ...absent].sort((a, b) => a.t - b.t),
      'merging every t in [-50, 350) in descending order into t = 0, 3, …, 297',
    );
  },
);

add(
  'merge',
  'a rejected merge (point outside the window, repeated t, bad point) stores nothing',
  async ({ adapter }) => {
    const stored = [point(0, 'old'), point(1, 'old'), point(9, 'old')];
    await adapter.appendPoints('i', stored);
    const window = { from: 2, to: 5 };
    const bad: [string, Point[], string][] = [
      ['a point at t === to', [point(3, 'new'), point(5, 'new')], 'STORAGE_POINT_OUTSIDE_WINDOW'],
      ['a point before from', [point(3, 'new'), point(1, 'new')], 'STORAGE_POINT_OUTSIDE_WINDOW'],
      [
        'a repeated timestamp',
        [point(3, 'a'), point(4, 'b'), point(3, 'c')],
        'STORAGE_INVALID_RECORD',
      ],
      ['a NaN value', [point(3, 'new'), point(4, Number.NaN)], 'STORAGE_VALUE_OUT_OF_RANGE'],
    ];
    for (const [label, points, code] of bad) {
      for (const item of ['i', 'fresh']) {
        await rejectsWith(adapter, 'mergePoints', [item, window, points], code, label);
      }
    }
    await assertSeries(adapter, 'i', stored, 'rejected merges (t=3 and 4 must stay absent)');
    await assertSeries(adapter, 'fresh', [], 'rejected merges into a new item');
    deepEqual(
      await adapter.listItems(),
      ['i'],
      'a rejected mergePoints into a new item "fresh" must store nothing, not even the item: listItems() must return ["i"]',
    );
  },
);

add('merge', 'mergePoints registers its item, also with an empty batch', async ({ adapter }) => {
  await adapter.mergePoints('x/empty', { from: 0, to: 10 }, []);
  await adapter.mergePoints('x/merged', { from: 0, to: 10 }, [point(1)]);
  deepEqual(
    await adapter.listItems(),
    ['x/empty', 'x/merged'],
    'after mergePoints("x/empty", [0, 10), []) and mergePoints("x/merged", [0, 10), [1=1]), listItems() must return both',
  );
});

add(
  'merge',
  'merged points are stored by value: mutating the input afterwards changes nothing',
  async ({ adapter }) => {
    const input = [{ t: 1, v: 'a' as Point['v'], q: 1 }];
    await adapter.mergePoints('i', { from: 0, to: 10 }, input);
    (input[0] as { v: Point['v'] }).v = 'mutated';
    input.push({ t: 2, v: 'b', q: 1 });
    await assertSeries(
      adapter,
      'i',
      [{ t: 1, v: 'a', q: 1 }],
      'mergePoints("i", [0, 10), [1="a" q1]) and then mutating the array and its point',
    );
  },
);

/** The cases of the `merge` group. */
export const MERGE_CASES: readonly SuiteCase[] = cases;

/**
 * Conformance cases of writing points (group `points`): `replacePoints` atomically replaces
 * every point of one item in a window with the given ones, and `appendPoints` upserts live
 * points by timestamp (the last of a batch wins). `mergePoints` is in `cases-merge.ts`.
 *
 * @internal
 */

import {
  ALL,
  caseList,
  expectPoints,
  expectTimes,
  point,
  range,
  rejectsWith,
  type SuiteCase,
} from './helpers.js';

const { add, cases } = caseList();

add('points', 'replacePoints removes every old point in the window', async ({ adapter }) => {
  const old = range(0, 30).map((t) => point(t, 'old'));
  await adapter.appendPoints('i', old);
  await adapter.replacePoints('i', { from: 10, to: 20 }, [point(12, 'new'), point(15, 'new')]);
  await expectPoints(
    adapter,
    'i',
    { from: 10, to: 20 },
    [point(12, 'new'), point(15, 'new')],
    'appendPoints("i", t = 0..29 "old") and replacePoints("i", [10, 20), [12="new", 15="new"])',
    4,
  );
});

add(
  'points',
  'replacePoints leaves points outside the window and other items',
  async ({ adapter }) => {
    await adapter.appendPoints(
      'i',
      range(0, 30).map((t) => point(t, 'old')),
    );
    await adapter.appendPoints(
      'j',
      range(0, 30).map((t) => point(t, 'j')),
    );
    await adapter.replacePoints('i', { from: 10, to: 20 }, []);
    const after =
      'appendPoints("i", t = 0..29 "old"), appendPoints("j", t = 0..29 "j") and replacePoints("i", [10, 20), [])';
    // The points at from - 1 and at to (the excluded bound) must survive.
    await expectPoints(
      adapter,
      'i',
      ALL,
      [...range(0, 10), ...range(20, 30)].map((t) => point(t, 'old')),
      after,
      7,
    );
    await expectPoints(
      adapter,
      'j',
      ALL,
      range(0, 30).map((t) => point(t, 'j')),
      after,
    );
  },
);

add('points', 'replacePoints with an empty window changes nothing', async ({ adapter }) => {
  await adapter.appendPoints('i', [point(5), point(6)]);
  await adapter.replacePoints('i', { from: 5, to: 5 }, []);
  await expectTimes(
    adapter,
    'i',
    ALL,
    [5, 6],
    'appendPoints("i", t = 5, 6) and replacePoints("i", [5, 5), [])',
  );
});

add('points', 'replacePoints accepts points in any order', async ({ adapter }) => {
  await adapter.replacePoints('i', { from: 0, to: 10 }, [point(9), point(0), point(4)]);
  await expectTimes(adapter, 'i', ALL, [0, 4, 9], 'replacePoints("i", [0, 10), t = 9, 0, 4)');
});

add(
  'points',
  'a rejected replace (point outside the window) changes nothing',
  async ({ adapter }) => {
    const old = range(0, 10).map((t) => point(t, 'old'));
    await adapter.appendPoints('i', old);
    const window = { from: 2, to: 5 };
    await rejectsWith(
      adapter,
      'replacePoints',
      ['i', window, [point(3, 'new'), point(5, 'new')]],
      'STORAGE_POINT_OUTSIDE_WINDOW',
      'a point at t === to',
    );
    await rejectsWith(
      adapter,
      'replacePoints',
      ['i', window, [point(1, 'new')]],
      'STORAGE_POINT_OUTSIDE_WINDOW',
      'a point before from',
    );
    await rejectsWith(
      adapter,
      'replacePoints',
      ['i', window, [point(3, 'a'), point(3, 'b')]],
      'STORAGE_INVALID_RECORD',
      'a repeated timestamp',
    );
    await expectPoints(adapter, 'i', ALL, old, 'three rejected replacePoints("i", [2, 5), …)');
  },
);

add('points', 'appendPoints replaces the point at an existing timestamp', async ({ adapter }) => {
  await adapter.appendPoints('i', [point(1, 'a'), point(2, 'a'), { t: 3, v: 'a', q: 7 }]);
  await adapter.appendPoints('i', [point(2, 'b'), point(3, 'b')]);
  await expectPoints(
    adapter,
    'i',
    ALL,
    [point(1, 'a'), point(2, 'b'), point(3, 'b')],
    'appendPoints("i", [1="a", 2="a", 3="a" q7]) and appendPoints("i", [2="b", 3="b"])',
  );
});

add(
  'points',
  'appendPoints: the last point of a batch wins at a repeated t',
  async ({ adapter }) => {
    await adapter.appendPoints('i', [point(1, 'first'), point(2, 'x'), point(1, 'last')]);
    await expectPoints(
      adapter,
      'i',
      ALL,
      [point(1, 'last'), point(2, 'x')],
      'appendPoints("i", [1="first", 2="x", 1="last"])',
    );
  },
);

/** The cases of `replacePoints` and `appendPoints` (group `points`). */
export const REPLACE_CASES: readonly SuiteCase[] = cases;

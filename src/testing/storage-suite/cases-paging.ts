/**
 * Conformance cases of reading points (group `points`): `readPoints` returns an item's points in
 * a half-open window `[from, to)`, ascending by `t`, page by page with an opaque cursor that never
 * skips or repeats a point and is at most 4096 characters long. Writes (`replacePoints`,
 * `appendPoints`) are in `cases-replace.ts`, `mergePoints` in `cases-merge.ts`.
 *
 * @internal
 */

import assert from 'node:assert/strict';
import type { Point } from '../../storage/types.js';
import { MAX_CURSOR_LENGTH } from '../../storage/validate.js';
import {
  ALL,
  caseList,
  deepEqual,
  expectEqual,
  expectTimes,
  point,
  pointsRead,
  range,
  readAllPoints,
  type SuiteCase,
  show,
  showCall,
  showError,
  times,
} from './helpers.js';

const { add, cases } = caseList();

add('points', 'a window [from, to) includes from and excludes to', async ({ adapter }) => {
  await adapter.appendPoints('i', [
    point(9),
    point(10),
    point(11),
    point(19),
    point(20),
    point(21),
  ]);
  const after = 'appendPoints("i", t = 9, 10, 11, 19, 20, 21)';
  await expectTimes(adapter, 'i', { from: 10, to: 20 }, [10, 11, 19], after);
  await expectTimes(adapter, 'i', { from: 10, to: 11 }, [10], after);
  await expectTimes(adapter, 'i', { from: 20, to: 21 }, [20], after);
  await expectTimes(adapter, 'i', { from: 12, to: 19 }, [], after);
});

add('points', 'an empty window (from === to) reads nothing', async ({ adapter }) => {
  await adapter.appendPoints('i', [point(5), point(6)]);
  const request = ['i', { from: 5, to: 5 }, { limit: 10 }] as const;
  expectEqual(
    await adapter.readPoints(...request),
    { items: [], next: null },
    `after appendPoints("i", t = 5, 6), ${showCall('readPoints', request)}`,
  );
});

add('points', 'reads are ascending by t whatever the write order', async ({ adapter }) => {
  await adapter.appendPoints('i', [point(30), point(-5), point(7)]);
  await adapter.appendPoints('i', [point(1), point(100), point(-100)]);
  await expectTimes(
    adapter,
    'i',
    ALL,
    [-100, -5, 1, 7, 30, 100],
    'appendPoints("i", t = 30, -5, 7) and appendPoints("i", t = 1, 100, -100)',
    2,
  );
});

add('points', 'values and qualities round-trip exactly', async ({ adapter }) => {
  const points: Point[] = [
    { t: 1, v: 0 },
    { t: 2, v: -1.5 },
    { t: 3, v: 0.1 },
    { t: 4, v: 1e300 },
    { t: 5, v: -Number.MAX_VALUE },
    { t: 6, v: Number.MIN_VALUE },
    { t: 7, v: Number.MAX_SAFE_INTEGER },
    { t: 8, v: 2 ** 60 },
    { t: 9, v: '' },
    { t: 10, v: 'héllo wörld \u{1F600} 日本語 \u0000 tab\t' },
    { t: 11, v: 'x'.repeat(10_000) },
    { t: 12, v: '42' },
    { t: 13, v: 'true' },
    { t: 14, v: true },
    { t: 15, v: false },
    { t: 16, v: null },
    { t: 17, v: 1, q: 0 },
    { t: 18, v: 'q', q: 4_294_967_295 },
    { t: 19, v: null, q: 192 },
    { t: Number.MIN_SAFE_INTEGER, v: 'min' },
    { t: Number.MAX_SAFE_INTEGER - 1, v: 'max' },
  ];
  await adapter.appendPoints('values', points);
  const read = await readAllPoints(adapter, 'values', ALL, 7);
  const byT = new Map(read.map((p) => [p.t, p]));
  // Point by point, so the message names the first value that does not come back.
  for (const expected of points) {
    expectEqual(
      byT.get(expected.t),
      expected,
      `after appendPoints("values", […]), the point at t=${expected.t} of ${pointsRead('values', ALL, 7)} (same t, same type and value of v, q absent when none was given)`,
    );
  }
  expectEqual(
    times(read),
    times(points).sort((a, b) => a - b),
    `the timestamps of ${pointsRead('values', ALL, 7)}`,
  );
});

add('points', 'paging with small limits never skips or repeats a point', async ({ adapter }) => {
  const ts = range(0, 50).map((i) => i * 3);
  await adapter.appendPoints(
    'i',
    ts.map((t) => point(t)),
  );
  const after = 'appendPoints("i", t = 0, 3, …, 147)';
  for (const limit of [1, 2, 3, 7, 49, 50, 51]) {
    await expectTimes(adapter, 'i', { from: 0, to: 150 }, ts, after, limit);
  }
  await expectTimes(
    adapter,
    'i',
    { from: 4, to: 100 },
    ts.filter((t) => t >= 4 && t < 100),
    after,
    4,
  );
});

add('points', 'the last page has next === null; a complete read ends', async ({ adapter }) => {
  await adapter.appendPoints(
    'i',
    range(0, 10).map((t) => point(t)),
  );
  const window = { from: 0, to: 100 };
  const after = 'after appendPoints("i", t = 0..9)';
  const first = ['i', window, { limit: 10 }] as const;
  const whole = await adapter.readPoints(...first);
  expectEqual(
    whole.items.length,
    10,
    `${after}, the number of points of ${showCall('readPoints', first)}`,
  );
  if (whole.next !== null) {
    const second = ['i', window, { limit: 10, cursor: whole.next }] as const;
    expectEqual(
      await adapter.readPoints(...second),
      { items: [], next: null },
      `${after}, ${showCall('readPoints', second)} (nothing follows the last point)`,
    );
  }
  const bigger = ['i', window, { limit: 11 }] as const;
  expectEqual(
    (await adapter.readPoints(...bigger)).next,
    null,
    `${after}, page.next of ${showCall('readPoints', bigger)} (a page holding the whole rest of the read ends it)`,
  );
});

add('points', 'points written between pages: nothing skipped or repeated', async ({ adapter }) => {
  await adapter.appendPoints(
    'i',
    range(0, 20).map((t) => point(t * 10)),
  );
  const window = { from: 0, to: 1000 };
  const read = await readAllPoints(adapter, 'i', window, 5, async (page) => {
    if (page === 0) {
      // Before the cursor (already read part): must not appear; after it: must appear once.
      await adapter.appendPoints('i', [point(5), point(45), point(155), point(999)]);
      await adapter.appendPoints('other', [point(60)]);
    }
  });
  const ts = times(read);
  const what = `${pointsRead('i', window, 5)} of t = 0, 10, …, 190, with appendPoints("i", t = 5, 45, 155, 999) after the first page: the timestamps read`;
  deepEqual(ts, [...new Set(ts)], `${what} must not repeat a point, got ${show(ts, 300)}`);
  for (let t = 0; t < 200; t += 10) {
    assert.ok(ts.includes(t), `${what} must include t=${t} (skipped), got ${show(ts, 300)}`);
  }
  for (const t of [155, 999]) {
    assert.ok(
      ts.includes(t),
      `${what} must include t=${t}, written after the cursor position, got ${show(ts, 300)}`,
    );
  }
  expectEqual(
    ts,
    [...ts].sort((a, b) => a - b),
    `${what} (ascending)`,
  );
});

add('points', 'a large page returns every point in one read', async (h) => {
  const { adapter } = h;
  const largePage = Math.max(2, Math.floor(h.largePage / 2) * 2);
  const points = range(0, largePage).map((i) => ({ t: 1_700_000_000_000 + i * 1000, v: i * 0.5 }));
  const window = { from: 1_700_000_000_000, to: 1_700_000_000_000 + largePage * 1000 };
  const after = `replacePoints("big", ${show(window)}, ${largePage} points)`;
  await adapter.replacePoints('big', window, points);
  const request = ['big', window, { limit: largePage }] as const;
  const page = await adapter.readPoints(...request);
  const what = `after ${after}, ${showCall('readPoints', request)}`;
  expectEqual(
    page.items.length,
    largePage,
    `${what}: the number of points (a page holds up to limit)`,
  );
  expectEqual(page.next, null, `${what}: page.next`);
  expectEqual(page.items, points, `${what}: the points`);
  await expectTimes(adapter, 'big', window, times(points), after, Math.ceil(largePage / 4));
  const half = { from: window.from, to: window.from + (largePage / 2) * 1000 };
  await adapter.replacePoints('big', half, []);
  expectEqual(
    (await readAllPoints(adapter, 'big', window, 100_000)).length,
    largePage - largePage / 2,
    `after replacePoints("big", ${show(half)}, []), the number of points of ${pointsRead('big', window, 100_000)}`,
  );
});

add(
  'points',
  'stored points cannot be altered by callers: mutating inputs or outputs changes nothing',
  async ({ adapter }) => {
    const input = [{ t: 1, v: 'a' as Point['v'], q: 1 }];
    await adapter.appendPoints('i', input);
    (input[0] as { v: Point['v'] }).v = 'mutated';
    input.push({ t: 2, v: 'b', q: 1 });
    const request = ['i', ALL, { limit: 10 }] as const;
    const first = await adapter.readPoints(...request);
    expectEqual(
      first.items,
      [{ t: 1, v: 'a', q: 1 }],
      `after appendPoints("i", input) and mutating input, ${showCall('readPoints', request)}.items`,
    );
    // An adapter may hand out frozen records (then the write throws) or copies (then it is lost).
    try {
      (first.items[0] as { v: Point['v'] }).v = 'mutated';
    } catch (error) {
      assert.ok(
        (error as Error | null)?.name === 'TypeError',
        `mutating a returned record threw ${showError(error)}; only a frozen record may reject the write (with a TypeError)`,
      );
    }
    try {
      (first.items as Point[]).length = 0;
    } catch (error) {
      assert.ok(
        (error as Error | null)?.name === 'TypeError',
        `emptying a returned page.items threw ${showError(error)}; only a frozen array may reject the write (with a TypeError)`,
      );
    }
    expectEqual(
      (await adapter.readPoints(...request)).items,
      [{ t: 1, v: 'a', q: 1 }],
      `after mutating the page a first ${showCall('readPoints', request)} returned, the same read`,
    );
  },
);

add(
  'points',
  `next cursors are at most ${MAX_CURSOR_LENGTH} characters, whatever the item id and window`,
  async ({ adapter }) => {
    // The longest item ids in UTF-8: 1024 code units of a 3-byte character (3072 bytes; base64 of
    // that alone is 4096 characters), and of a character outside the BMP.
    const items = ['\u65e5'.repeat(1024), '\u{1F600}'.repeat(512), 'x'.repeat(1024)];
    const windows = [ALL, { from: -1, to: Number.MAX_SAFE_INTEGER }];
    for (const item of items) {
      await adapter.appendPoints(item, [point(-1), point(0), point(Number.MAX_SAFE_INTEGER - 1)]);
      for (const window of windows) {
        // readAllPoints checks the length of every next cursor and fails naming the read.
        await readAllPoints(adapter, item, window, 1);
      }
    }
  },
);

/** The cases of reading points (group `points`). */
export const PAGING_CASES: readonly SuiteCase[] = cases;

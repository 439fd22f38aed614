/**
 * The example-based cases of the storage conformance suite, one per contract clause: this file
 * holds capabilities, items, points, events, invalid input, close and persistence; merge and sync
 * state have their own files. {@link SUITE_CASES} joins them in a fixed group order.
 *
 * @internal
 */

import assert from 'node:assert/strict';
import type {
  EventRecord,
  JsonObject,
  JsonValue,
  Point,
  SyncWriteOptions,
  TimeWindow,
} from '../../storage/types.js';
import { MERGE_CASES } from './cases-merge.js';
import { SYNC_STATE_CASES } from './cases-sync-state.js';
import {
  ALL,
  byCodePoint,
  caseList,
  ev,
  eventKeys,
  point,
  range,
  readAllEvents,
  readAllPoints,
  rejectsWith,
  type SuiteCase,
  sortEvents,
  times,
} from './helpers.js';

const { add, cases } = caseList();

// ---------------------------------------------------------------------------------------------
// capabilities
add('capabilities', 'declares every flag as a boolean, and what the caller expects', async (h) => {
  const caps = h.adapter.capabilities;
  assert.ok(caps !== null && typeof caps === 'object', 'capabilities must be an object');
  for (const flag of ['persistent', 'atomicReplace', 'atomicInsert', 'multiProcess'] as const) {
    assert.equal(typeof caps[flag], 'boolean', `capabilities.${flag} must be a boolean`);
    const expected = h.expected?.[flag];
    if (expected !== undefined) {
      assert.equal(caps[flag], expected, `capabilities.${flag} must be ${expected}`);
    }
  }
  assert.deepEqual(h.adapter.capabilities, caps, 'capabilities are static');
});

// ---------------------------------------------------------------------------------------------
// items
add('items', 'a fresh store lists no items and reads empty pages', async ({ adapter }) => {
  assert.deepEqual(await adapter.listItems(), []);
  assert.deepEqual(await adapter.readPoints('nope', ALL, { limit: 10 }), { items: [], next: null });
  assert.deepEqual(await adapter.readEvents(ALL, { limit: 10 }), { items: [], next: null });
});

add('items', 'registerItems lists items once each, sorted by code point', async ({ adapter }) => {
  const ids = ['b', 'a', 'B', 'ä', '\u{E000}', '\u{1F600}', 'a/b', 'a b'];
  await adapter.registerItems(ids);
  await adapter.registerItems(['a', 'b']);
  await adapter.registerItems([]);
  assert.deepEqual(await adapter.listItems(), [...new Set(ids)].sort(byCodePoint));
});

add('items', 'appendPoints and replacePoints register their item', async ({ adapter }) => {
  await adapter.appendPoints('x/appended', [point(1)]);
  await adapter.replacePoints('x/replaced', { from: 0, to: 10 }, []);
  await adapter.appendPoints('x/empty-append', []);
  assert.deepEqual(await adapter.listItems(), ['x/appended', 'x/empty-append', 'x/replaced']);
});

add('items', 'a registered item without points reads an empty page', async ({ adapter }) => {
  await adapter.registerItems(['lonely']);
  assert.deepEqual(await adapter.readPoints('lonely', ALL, { limit: 5 }), {
    items: [],
    next: null,
  });
});

// ---------------------------------------------------------------------------------------------
// points
add('points', 'a window [from, to) includes from and excludes to', async ({ adapter }) => {
  await adapter.appendPoints('i', [
    point(9),
    point(10),
    point(11),
    point(19),
    point(20),
    point(21),
  ]);
  assert.deepEqual(times(await readAllPoints(adapter, 'i', { from: 10, to: 20 })), [10, 11, 19]);
  assert.deepEqual(times(await readAllPoints(adapter, 'i', { from: 10, to: 11 })), [10]);
  assert.deepEqual(times(await readAllPoints(adapter, 'i', { from: 20, to: 21 })), [20]);
  assert.deepEqual(times(await readAllPoints(adapter, 'i', { from: 12, to: 19 })), []);
});

add('points', 'an empty window (from === to) reads nothing', async ({ adapter }) => {
  await adapter.appendPoints('i', [point(5), point(6)]);
  assert.deepEqual(await adapter.readPoints('i', { from: 5, to: 5 }, { limit: 10 }), {
    items: [],
    next: null,
  });
});

add('points', 'reads are ascending by t whatever the write order', async ({ adapter }) => {
  await adapter.appendPoints('i', [point(30), point(-5), point(7)]);
  await adapter.appendPoints('i', [point(1), point(100), point(-100)]);
  assert.deepEqual(times(await readAllPoints(adapter, 'i', ALL, 2)), [-100, -5, 1, 7, 30, 100]);
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
  assert.deepEqual(
    read,
    [...points].sort((a, b) => a.t - b.t),
    'points must come back with the same t, v (same type) and q; q absent when none was given',
  );
});

add('points', 'paging with small limits never skips or repeats a point', async ({ adapter }) => {
  const ts = range(0, 50).map((i) => i * 3);
  await adapter.appendPoints(
    'i',
    ts.map((t) => point(t)),
  );
  for (const limit of [1, 2, 3, 7, 49, 50, 51]) {
    assert.deepEqual(
      times(await readAllPoints(adapter, 'i', { from: 0, to: 150 }, limit)),
      ts,
      `limit ${limit}`,
    );
  }
  assert.deepEqual(
    times(await readAllPoints(adapter, 'i', { from: 4, to: 100 }, 4)),
    ts.filter((t) => t >= 4 && t < 100),
  );
});

add('points', 'the last page has next === null; a complete read ends', async ({ adapter }) => {
  await adapter.appendPoints(
    'i',
    range(0, 10).map((t) => point(t)),
  );
  const whole = await adapter.readPoints('i', { from: 0, to: 100 }, { limit: 10 });
  assert.equal(whole.items.length, 10);
  if (whole.next !== null) {
    const rest = await adapter.readPoints(
      'i',
      { from: 0, to: 100 },
      { limit: 10, cursor: whole.next },
    );
    assert.deepEqual(rest.items, [], 'nothing follows the last point');
    assert.equal(rest.next, null);
  }
  const bigger = await adapter.readPoints('i', { from: 0, to: 100 }, { limit: 11 });
  assert.equal(bigger.next, null, 'a page holding the whole rest of the read must end it');
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
  assert.deepEqual(ts, [...new Set(ts)], 'no point is repeated');
  for (let t = 0; t < 200; t += 10) assert.ok(ts.includes(t), `point ${t} was skipped`);
  for (const t of [155, 999])
    assert.ok(ts.includes(t), `point ${t} written after the cursor is missing`);
  assert.deepEqual(
    ts,
    [...ts].sort((a, b) => a - b),
    'ascending',
  );
});

add('points', 'replacePoints removes every old point in the window', async ({ adapter }) => {
  await adapter.appendPoints(
    'i',
    range(0, 30).map((t) => point(t, 'old')),
  );
  await adapter.replacePoints('i', { from: 10, to: 20 }, [point(12, 'new'), point(15, 'new')]);
  const read = await readAllPoints(adapter, 'i', ALL, 4);
  assert.deepEqual(
    read.filter((p) => p.t >= 10 && p.t < 20),
    [point(12, 'new'), point(15, 'new')],
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
    assert.deepEqual(
      await readAllPoints(adapter, 'i', ALL, 7),
      [...range(0, 10), ...range(20, 30)].map((t) => point(t, 'old')),
      'points at from - 1 and at to (excluded bound) must survive',
    );
    assert.deepEqual(
      await readAllPoints(adapter, 'j', ALL),
      range(0, 30).map((t) => point(t, 'j')),
    );
  },
);

add('points', 'replacePoints with an empty window changes nothing', async ({ adapter }) => {
  await adapter.appendPoints('i', [point(5), point(6)]);
  await adapter.replacePoints('i', { from: 5, to: 5 }, []);
  assert.deepEqual(times(await readAllPoints(adapter, 'i', ALL)), [5, 6]);
});

add('points', 'replacePoints accepts points in any order', async ({ adapter }) => {
  await adapter.replacePoints('i', { from: 0, to: 10 }, [point(9), point(0), point(4)]);
  assert.deepEqual(times(await readAllPoints(adapter, 'i', ALL)), [0, 4, 9]);
});

add(
  'points',
  'a rejected replace (point outside the window) changes nothing',
  async ({ adapter }) => {
    await adapter.appendPoints(
      'i',
      range(0, 10).map((t) => point(t, 'old')),
    );
    await rejectsWith(
      () => adapter.replacePoints('i', { from: 2, to: 5 }, [point(3, 'new'), point(5, 'new')]),
      'STORAGE_POINT_OUTSIDE_WINDOW',
      'replacePoints with a point at t === to',
    );
    await rejectsWith(
      () => adapter.replacePoints('i', { from: 2, to: 5 }, [point(1, 'new')]),
      'STORAGE_POINT_OUTSIDE_WINDOW',
      'replacePoints with a point before from',
    );
    await rejectsWith(
      () => adapter.replacePoints('i', { from: 2, to: 5 }, [point(3, 'a'), point(3, 'b')]),
      'STORAGE_INVALID_RECORD',
      'replacePoints with a repeated timestamp',
    );
    assert.deepEqual(
      await readAllPoints(adapter, 'i', ALL),
      range(0, 10).map((t) => point(t, 'old')),
    );
  },
);

add('points', 'appendPoints replaces the point at an existing timestamp', async ({ adapter }) => {
  await adapter.appendPoints('i', [point(1, 'a'), point(2, 'a'), { t: 3, v: 'a', q: 7 }]);
  await adapter.appendPoints('i', [point(2, 'b'), point(3, 'b')]);
  assert.deepEqual(await readAllPoints(adapter, 'i', ALL), [
    point(1, 'a'),
    point(2, 'b'),
    point(3, 'b'),
  ]);
});

add(
  'points',
  'appendPoints: the last point of a batch wins at a repeated t',
  async ({ adapter }) => {
    await adapter.appendPoints('i', [point(1, 'first'), point(2, 'x'), point(1, 'last')]);
    assert.deepEqual(await readAllPoints(adapter, 'i', ALL), [point(1, 'last'), point(2, 'x')]);
  },
);

add('points', 'a large page returns every point in one read', async (h) => {
  const { adapter } = h;
  const largePage = Math.max(2, Math.floor(h.largePage / 2) * 2);
  const points = range(0, largePage).map((i) => ({ t: 1_700_000_000_000 + i * 1000, v: i * 0.5 }));
  const window = { from: 1_700_000_000_000, to: 1_700_000_000_000 + largePage * 1000 };
  await adapter.replacePoints('big', window, points);
  const page = await adapter.readPoints('big', window, { limit: largePage });
  assert.equal(page.items.length, largePage, 'a page holds up to limit points');
  assert.equal(page.next, null);
  assert.deepEqual(page.items, points);
  const pages = await readAllPoints(adapter, 'big', window, Math.ceil(largePage / 4));
  assert.deepEqual(times(pages), times(points));
  await adapter.replacePoints(
    'big',
    { from: window.from, to: window.from + (largePage / 2) * 1000 },
    [],
  );
  assert.equal(
    (await readAllPoints(adapter, 'big', window, 100_000)).length,
    largePage - largePage / 2,
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
    const first = await adapter.readPoints('i', ALL, { limit: 10 });
    assert.deepEqual(first.items, [{ t: 1, v: 'a', q: 1 }]);
    // An adapter may hand out frozen records (then the write throws) or copies (then it is lost).
    try {
      (first.items[0] as { v: Point['v'] }).v = 'mutated';
    } catch (error) {
      assert.ok(error instanceof TypeError, 'only a frozen record may reject the write');
    }
    try {
      (first.items as Point[]).length = 0;
    } catch (error) {
      assert.ok(error instanceof TypeError, 'only a frozen page may reject the write');
    }
    assert.deepEqual((await adapter.readPoints('i', ALL, { limit: 10 })).items, [
      { t: 1, v: 'a', q: 1 },
    ]);
  },
);

// ---------------------------------------------------------------------------------------------
// events
add('events', 'a window [from, to) includes from and excludes to', async ({ adapter }) => {
  await adapter.insertEventsIfAbsent([ev('a', 9), ev('b', 10), ev('c', 19), ev('d', 20)]);
  assert.deepEqual(eventKeys(await readAllEvents(adapter, { from: 10, to: 20 })), ['10:b', '19:c']);
  assert.deepEqual(await adapter.readEvents({ from: 10, to: 10 }, { limit: 5 }), {
    items: [],
    next: null,
  });
});

add('events', 'events read ascending by (t, id), ids by code point', async ({ adapter }) => {
  const events = [
    ev('z', 1),
    ev('b', 2),
    ev('a', 2),
    ev('B', 2),
    ev('\u{1F600}', 2),
    ev('\u{E000}', 2),
    ev('m', 0),
  ];
  await adapter.insertEventsIfAbsent(events);
  assert.deepEqual(eventKeys(await readAllEvents(adapter, ALL, 2)), eventKeys(sortEvents(events)));
});

add('events', 'many events at one timestamp page without skips or repeats', async ({ adapter }) => {
  const events = [
    ...range(0, 23).map((i) => ev(`tie-${String(i).padStart(2, '0')}`, 1000)),
    ev('before', 999),
    ev('after', 1001),
    ...range(0, 5).map((i) => ev(`x${i}`, 1001)),
  ];
  await adapter.insertEventsIfAbsent([...events].reverse());
  const expected = eventKeys(sortEvents(events));
  for (const limit of [1, 2, 3, 4, 5, 7, 22, 23, 24]) {
    assert.deepEqual(
      eventKeys(await readAllEvents(adapter, ALL, limit)),
      expected,
      `limit ${limit}`,
    );
  }
});

add('events', 'events written between pages: nothing skipped or repeated', async ({ adapter }) => {
  await adapter.insertEventsIfAbsent(
    range(0, 20).map((i) => ev(`e${String(i).padStart(2, '0')}`, 100 + (i % 4))),
  );
  const read = await readAllEvents(adapter, { from: 0, to: 1000 }, 3, async (page) => {
    if (page === 0) {
      await adapter.insertEventsIfAbsent([ev('e00-early', 0), ev('zz-late', 103), ev('late', 500)]);
    }
  });
  const keys = eventKeys(read);
  assert.deepEqual(keys, [...new Set(keys)], 'no event is repeated');
  for (const i of range(0, 20)) {
    const key = `${100 + (i % 4)}:e${String(i).padStart(2, '0')}`;
    assert.ok(keys.includes(key), `event ${key} was skipped`);
  }
  for (const key of ['103:zz-late', '500:late']) {
    assert.ok(keys.includes(key), `event ${key} written after the cursor is missing`);
  }
});

add(
  'events',
  'insertEventsIfAbsent returns the count and never overwrites',
  async ({ adapter }) => {
    assert.equal(await adapter.insertEventsIfAbsent([ev('a', 1, 'first'), ev('b', 2, 'first')]), 2);
    assert.equal(
      await adapter.insertEventsIfAbsent([
        ev('a', 1, 'second'),
        ev('b', 5, 'second'),
        ev('c', 3, 'c'),
      ]),
      1,
    );
    assert.equal(await adapter.insertEventsIfAbsent([]), 0);
    assert.deepEqual(await readAllEvents(adapter, ALL), [
      ev('a', 1, 'first'),
      ev('b', 2, 'first'),
      ev('c', 3, 'c'),
    ]);
  },
);

add(
  'events',
  'a batch repeating an id stores the first and counts it once',
  async ({ adapter }) => {
    const count = await adapter.insertEventsIfAbsent([
      ev('a', 5, 'first'),
      ev('b', 1),
      ev('a', 2, 'second'),
    ]);
    assert.equal(count, 2);
    assert.deepEqual(await readAllEvents(adapter, ALL), [ev('b', 1), ev('a', 5, 'first')]);
  },
);

add('events', 'event bodies round-trip as JSON', async ({ adapter }) => {
  const bodies: JsonValue[] = [
    null,
    true,
    0,
    -12.5,
    '',
    'text \u{1F600}',
    [],
    {},
    [1, 'two', null, [false], { three: 3 }],
    { nested: { deep: { deeper: [1, 2, { x: 'y' }] } }, 'key with spaces': 1, '': 'empty key' },
  ];
  const events = bodies.map((body, i) => ev(`body-${i}`, i, body));
  await adapter.insertEventsIfAbsent(events);
  assert.deepEqual(await readAllEvents(adapter, ALL, 3), events);
});

add(
  'events',
  'stored events are copies: mutating inputs or outputs changes nothing',
  async ({ adapter }) => {
    const body = { list: [1, 2] };
    await adapter.insertEventsIfAbsent([{ id: 'a', t: 1, body }]);
    body.list.push(3);
    const read = await adapter.readEvents(ALL, { limit: 5 });
    assert.deepEqual(read.items, [ev('a', 1, { list: [1, 2] })]);
    ((read.items[0] as EventRecord).body as { list: number[] }).list.push(4);
    assert.deepEqual((await adapter.readEvents(ALL, { limit: 5 })).items, [
      ev('a', 1, { list: [1, 2] }),
    ]);
  },
);

// ---------------------------------------------------------------------------------------------
// invalid input
const BAD_WINDOWS: readonly [string, unknown][] = [
  ['from > to', { from: 10, to: 5 }],
  ['a fractional bound', { from: 0.5, to: 5 }],
  ['a NaN bound', { from: 0, to: Number.NaN }],
  ['an infinite bound', { from: 0, to: Number.POSITIVE_INFINITY }],
  ['an unsafe integer bound', { from: 0, to: 2 ** 60 }],
  ['a string bound', { from: '0', to: 5 }],
  ['a missing bound', { from: 0 }],
  ['null', null],
];

add('invalid input', 'invalid windows reject with STORAGE_INVALID_WINDOW', async ({ adapter }) => {
  await adapter.appendPoints('i', [point(1)]);
  for (const [label, window] of BAD_WINDOWS) {
    const w = window as TimeWindow;
    await rejectsWith(
      () => adapter.readPoints('i', w, { limit: 1 }),
      'STORAGE_INVALID_WINDOW',
      `readPoints with ${label}`,
    );
    await rejectsWith(
      () => adapter.replacePoints('i', w, []),
      'STORAGE_INVALID_WINDOW',
      `replacePoints with ${label}`,
    );
    await rejectsWith(
      () => adapter.mergePoints('i', w, []),
      'STORAGE_INVALID_WINDOW',
      `mergePoints with ${label}`,
    );
    await rejectsWith(
      () => adapter.readEvents(w, { limit: 1 }),
      'STORAGE_INVALID_WINDOW',
      `readEvents with ${label}`,
    );
  }
  assert.deepEqual(
    times(await readAllPoints(adapter, 'i', ALL)),
    [1],
    'nothing was replaced or merged',
  );
});

add(
  'invalid input',
  'invalid page limits reject with STORAGE_INVALID_PAGE',
  async ({ adapter }) => {
    const limits: unknown[] = [
      0,
      -1,
      1.5,
      100_001,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      '10',
      undefined,
    ];
    for (const limit of limits) {
      const page = { limit } as { limit: number };
      await rejectsWith(
        () => adapter.readPoints('i', ALL, page),
        'STORAGE_INVALID_PAGE',
        `readPoints with limit ${String(limit)}`,
      );
      await rejectsWith(
        () => adapter.readEvents(ALL, page),
        'STORAGE_INVALID_PAGE',
        `readEvents with limit ${String(limit)}`,
      );
    }
    assert.equal(
      (await adapter.readPoints('i', ALL, { limit: 100_000 })).next,
      null,
      'limit 100000 is allowed',
    );
  },
);

add(
  'invalid input',
  'foreign or corrupt cursors reject with STORAGE_INVALID_CURSOR',
  async ({ adapter }) => {
    await adapter.appendPoints(
      'i',
      range(0, 10).map((t) => point(t)),
    );
    await adapter.appendPoints(
      'j',
      range(0, 10).map((t) => point(t)),
    );
    await adapter.insertEventsIfAbsent(range(0, 10).map((t) => ev(`e${t}`, t)));
    const window = { from: 0, to: 10 };
    const pointCursor = (await adapter.readPoints('i', window, { limit: 2 })).next;
    const eventCursor = (await adapter.readEvents(window, { limit: 2 })).next;
    assert.ok(pointCursor !== null && eventCursor !== null, 'a partial read returns a cursor');
    const cases: [string, () => Promise<unknown>][] = [
      ['a garbage cursor', () => adapter.readPoints('i', window, { limit: 2, cursor: 'garbage!' })],
      ['an empty cursor', () => adapter.readPoints('i', window, { limit: 2, cursor: '' })],
      [
        'a cursor of another item',
        () => adapter.readPoints('j', window, { limit: 2, cursor: pointCursor }),
      ],
      [
        'a cursor of another window',
        () => adapter.readPoints('i', { from: 0, to: 9 }, { limit: 2, cursor: pointCursor }),
      ],
      ['an event cursor', () => adapter.readPoints('i', window, { limit: 2, cursor: eventCursor })],
      ['a point cursor', () => adapter.readEvents(window, { limit: 2, cursor: pointCursor })],
      [
        'an event cursor of another window',
        () => adapter.readEvents({ from: 1, to: 10 }, { limit: 2, cursor: eventCursor }),
      ],
      [
        'a garbage event cursor',
        () => adapter.readEvents(window, { limit: 2, cursor: `${eventCursor}x!` }),
      ],
      [
        'a non-string cursor',
        () => adapter.readPoints('i', window, { limit: 2, cursor: 42 as unknown as string }),
      ],
    ];
    for (const [label, call] of cases)
      await rejectsWith(call, 'STORAGE_INVALID_CURSOR', `a read with ${label}`);
  },
);

add('invalid input', 'invalid item ids reject with STORAGE_INVALID_ITEM', async ({ adapter }) => {
  const ids: unknown[] = ['', 'x'.repeat(1025), 42, null, undefined];
  for (const id of ids) {
    const item = id as string;
    const label = typeof id === 'string' ? `an id of length ${id.length}` : String(id);
    await rejectsWith(
      () => adapter.registerItems([item]),
      'STORAGE_INVALID_ITEM',
      `registerItems with ${label}`,
    );
    await rejectsWith(
      () => adapter.readPoints(item, ALL, { limit: 1 }),
      'STORAGE_INVALID_ITEM',
      `readPoints with ${label}`,
    );
    await rejectsWith(
      () => adapter.appendPoints(item, [point(1)]),
      'STORAGE_INVALID_ITEM',
      `appendPoints with ${label}`,
    );
    await rejectsWith(
      () => adapter.replacePoints(item, ALL, []),
      'STORAGE_INVALID_ITEM',
      `replacePoints with ${label}`,
    );
    await rejectsWith(
      () => adapter.mergePoints(item, ALL, [point(1)]),
      'STORAGE_INVALID_ITEM',
      `mergePoints with ${label}`,
    );
  }
  await adapter.registerItems(['x'.repeat(1024)]);
  assert.deepEqual(
    await adapter.listItems(),
    ['x'.repeat(1024)],
    'a 1024-character id is valid; nothing invalid was stored',
  );
});

add(
  'invalid input',
  'malformed points reject and a bad batch stores nothing',
  async ({ adapter }) => {
    const bad: [string, unknown, string][] = [
      ['a fractional t', { t: 1.5, v: 1 }, 'STORAGE_INVALID_RECORD'],
      ['an unsafe t', { t: 2 ** 60, v: 1 }, 'STORAGE_INVALID_RECORD'],
      ['a string t', { t: '1', v: 1 }, 'STORAGE_INVALID_RECORD'],
      ['a missing v', { t: 1 }, 'STORAGE_INVALID_RECORD'],
      ['an object v', { t: 1, v: { x: 1 } }, 'STORAGE_INVALID_RECORD'],
      ['an undefined v', { t: 1, v: undefined }, 'STORAGE_INVALID_RECORD'],
      ['a NaN v', { t: 1, v: Number.NaN }, 'STORAGE_VALUE_OUT_OF_RANGE'],
      ['an infinite v', { t: 1, v: Number.NEGATIVE_INFINITY }, 'STORAGE_VALUE_OUT_OF_RANGE'],
      ['a negative q', { t: 1, v: 1, q: -1 }, 'STORAGE_INVALID_RECORD'],
      ['a fractional q', { t: 1, v: 1, q: 0.5 }, 'STORAGE_INVALID_RECORD'],
      ['a q above 2^32 - 1', { t: 1, v: 1, q: 4_294_967_296 }, 'STORAGE_INVALID_RECORD'],
      ['a null point', null, 'STORAGE_INVALID_RECORD'],
    ];
    for (const [label, p, code] of bad) {
      const batch = [point(100, 'good'), p, point(101, 'good')] as Point[];
      await rejectsWith(() => adapter.appendPoints('i', batch), code, `appendPoints with ${label}`);
      await rejectsWith(
        () => adapter.replacePoints('i', { from: 0, to: 1000 }, batch),
        code,
        `replacePoints with ${label}`,
      );
      await rejectsWith(
        () => adapter.mergePoints('i', { from: 0, to: 1000 }, batch),
        code,
        `mergePoints with ${label}`,
      );
    }
    for (const method of ['appendPoints', 'replacePoints', 'mergePoints'] as const) {
      await rejectsWith(
        () =>
          method === 'appendPoints'
            ? adapter.appendPoints('i', 'nope' as unknown as Point[])
            : adapter[method]('i', ALL, 'nope' as unknown as Point[]),
        'STORAGE_INVALID_RECORD',
        `${method} with a string instead of an array of points`,
      );
    }
    assert.deepEqual(
      await readAllPoints(adapter, 'i', ALL),
      [],
      'no point of a rejected batch is stored',
    );
  },
);

add(
  'invalid input',
  'malformed events reject and a bad batch stores nothing',
  async ({ adapter }) => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad: [string, unknown][] = [
      ['an empty id', { id: '', t: 1, body: null }],
      ['a 257-character id', { id: 'x'.repeat(257), t: 1, body: null }],
      ['a numeric id', { id: 7, t: 1, body: null }],
      ['a fractional t', { id: 'e', t: 1.5, body: null }],
      ['a missing body', { id: 'e', t: 1 }],
      ['an undefined body', { id: 'e', t: 1, body: undefined }],
      ['a function in the body', { id: 'e', t: 1, body: { f: () => 1 } }],
      ['NaN in the body', { id: 'e', t: 1, body: [Number.NaN] }],
      ['undefined in the body', { id: 'e', t: 1, body: { u: undefined } }],
      ['a cyclic body', { id: 'e', t: 1, body: cyclic }],
      ['a null event', null],
    ];
    for (const [label, e] of bad) {
      await rejectsWith(
        () => adapter.insertEventsIfAbsent([ev('good-1', 1), e as EventRecord, ev('good-2', 2)]),
        'STORAGE_INVALID_RECORD',
        `insertEventsIfAbsent with ${label}`,
      );
    }
    await adapter.insertEventsIfAbsent([ev('x'.repeat(256), 1)]);
    assert.deepEqual(
      eventKeys(await readAllEvents(adapter, ALL)),
      [`1:${'x'.repeat(256)}`],
      'no event of a rejected batch is stored',
    );
  },
);

// ---------------------------------------------------------------------------------------------
// close
add('close', 'after close every method rejects with STORAGE_CLOSED', async ({ adapter }) => {
  await adapter.appendPoints('i', [point(1)]);
  await adapter.close();
  const calls: [string, () => Promise<unknown>][] = [
    ['registerItems', () => adapter.registerItems(['i'])],
    ['listItems', () => adapter.listItems()],
    ['readPoints', () => adapter.readPoints('i', ALL, { limit: 1 })],
    [
      'readPoints (invalid arguments)',
      () => adapter.readPoints('', { from: 2, to: 1 }, { limit: 0 }),
    ],
    ['replacePoints', () => adapter.replacePoints('i', ALL, [])],
    [
      'replacePoints (with a syncState record)',
      () => adapter.replacePoints('i', ALL, [point(2)], { syncState: { key: 'k', value: {} } }),
    ],
    ['mergePoints', () => adapter.mergePoints('i', ALL, [point(2)])],
    [
      'mergePoints (with a syncState record)',
      () => adapter.mergePoints('i', ALL, [point(2)], { syncState: { key: 'k', value: {} } }),
    ],
    ['mergePoints (invalid arguments)', () => adapter.mergePoints('', { from: 2, to: 1 }, [])],
    ['appendPoints', () => adapter.appendPoints('i', [point(2)])],
    ['readEvents', () => adapter.readEvents(ALL, { limit: 1 })],
    ['insertEventsIfAbsent', () => adapter.insertEventsIfAbsent([ev('a', 1)])],
    [
      'insertEventsIfAbsent (with a syncState record)',
      () => adapter.insertEventsIfAbsent([ev('a', 1)], { syncState: { key: 'k', value: {} } }),
    ],
    ['readSyncState', () => adapter.readSyncState('k')],
    ['writeSyncState', () => adapter.writeSyncState('k', { v: 1 })],
    [
      'writeSyncState (invalid arguments)',
      () => adapter.writeSyncState('', [] as unknown as JsonObject),
    ],
  ];
  for (const [name, call] of calls)
    await rejectsWith(call, 'STORAGE_CLOSED', `${name} after close()`);
});

add('close', 'close and Symbol.asyncDispose are idempotent', async ({ adapter }) => {
  await adapter.close();
  await adapter.close();
  await adapter[Symbol.asyncDispose]();
  await rejectsWith(() => adapter.listItems(), 'STORAGE_CLOSED', 'listItems after close()');
});

add('close', 'Symbol.asyncDispose closes the adapter', async ({ adapter }) => {
  await adapter[Symbol.asyncDispose]();
  await rejectsWith(
    () => adapter.listItems(),
    'STORAGE_CLOSED',
    'listItems after [Symbol.asyncDispose]()',
  );
  await adapter.close();
});

// ---------------------------------------------------------------------------------------------
// persistence
add('persistence', 'data survives close and reopen (persistent adapters)', async (h) => {
  const persistent = h.expected?.persistent ?? h.adapter.capabilities.persistent;
  if (!persistent) {
    // Nothing to check for a non-persistent adapter beyond opening a working store again.
    const again = await h.reopen();
    assert.deepEqual(await again.listItems(), []);
    return;
  }
  const { adapter } = h;
  const record: JsonObject = {
    v: 2,
    lastUpToDate: 100,
    run: { window: { from: 100, to: 200 }, items: { i: 150 }, note: 'h\u00e9llo \u{1F600}' },
  };
  const progress = (through: number): SyncWriteOptions => ({
    syncState: { key: `progress:${through}`, value: { v: 1, through } },
  });
  await adapter.registerItems(['registered']);
  await adapter.appendPoints('i', [point(1, 'one'), { t: 2, v: true, q: 3 }, point(3, null)]);
  await adapter.replacePoints('i', { from: 3, to: 4 }, [point(3, 3.25)], progress(4));
  await adapter.mergePoints(
    'i',
    { from: 0, to: 10 },
    [point(3, 'no'), point(5, 'five')],
    progress(10),
  );
  await adapter.insertEventsIfAbsent([ev('a', 1, { n: 1 })], progress(2));
  await adapter.writeSyncState('deputy', record);
  const reopened = await h.reopen();
  const what = 'after a reopen';
  assert.deepEqual(await reopened.listItems(), ['i', 'registered'], `listItems() ${what}`);
  assert.deepEqual(
    await readAllPoints(reopened, 'i', ALL),
    [point(1, 'one'), { t: 2, v: true, q: 3 }, point(3, 3.25), point(5, 'five')],
    `readPoints("i") ${what} must return the appended, replaced and merged points`,
  );
  assert.deepEqual(
    await readAllEvents(reopened, ALL),
    [ev('a', 1, { n: 1 })],
    `readEvents ${what}`,
  );
  assert.deepEqual(
    await reopened.readSyncState('deputy'),
    record,
    `readSyncState("deputy") ${what} must return the record written by writeSyncState`,
  );
  for (const [through, method] of [
    [4, 'replacePoints'],
    [10, 'mergePoints'],
    [2, 'insertEventsIfAbsent'],
  ] as const) {
    assert.deepEqual(
      await reopened.readSyncState(`progress:${through}`),
      { v: 1, through },
      `readSyncState("progress:${through}") ${what} must return the syncState record of ${method}`,
    );
  }
  assert.equal(
    await reopened.insertEventsIfAbsent([ev('a', 1, 'other')]),
    0,
    'ids survive a reopen',
  );
});

/** The order of the groups (describe blocks); cases keep their order within a group. */
const GROUP_ORDER: readonly string[] = [
  'capabilities',
  'items',
  'points',
  'merge',
  'events',
  'sync state',
  'sync writes',
  'invalid input',
  'close',
  'persistence',
];

/** Every example-based case, grouped in {@link GROUP_ORDER} (the sort is stable). */
export const SUITE_CASES: readonly SuiteCase[] = [
  ...cases,
  ...MERGE_CASES,
  ...SYNC_STATE_CASES,
].sort((a, b) => GROUP_ORDER.indexOf(a.group) - GROUP_ORDER.indexOf(b.group));

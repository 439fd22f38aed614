/**
 * Conformance cases of invalid input (group `invalid input`): every method rejects bad windows,
 * page requests, cursors, item ids, points and events with the contract's error code, and a batch
 * with one bad record stores nothing. Sync-state keys and records are checked in
 * `cases-sync-state.ts`.
 *
 * @internal
 */

import type { EventRecord, Page, Point } from '../../storage/types.js';
import { MAX_CURSOR_LENGTH } from '../../storage/validate.js';
import {
  type AdapterMethod,
  ALL,
  caseList,
  ev,
  expectEqual,
  expectEventKeys,
  expectPoints,
  expectTimes,
  point,
  range,
  rejectsWith,
  type SuiteCase,
  show,
} from './helpers.js';

const { add, cases } = caseList();

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
    const code = 'STORAGE_INVALID_WINDOW';
    await rejectsWith(adapter, 'readPoints', ['i', window, { limit: 1 }], code, label);
    await rejectsWith(adapter, 'replacePoints', ['i', window, []], code, label);
    await rejectsWith(adapter, 'mergePoints', ['i', window, []], code, label);
    await rejectsWith(adapter, 'readEvents', [window, { limit: 1 }], code, label);
  }
  await expectTimes(
    adapter,
    'i',
    ALL,
    [1],
    'appendPoints("i", [1=1]) and replacePoints/mergePoints rejected for bad windows (nothing replaced or merged)',
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
      const page = { limit };
      const why = `limit ${show(limit)}; a limit is an integer from 1 to 100000`;
      await rejectsWith(adapter, 'readPoints', ['i', ALL, page], 'STORAGE_INVALID_PAGE', why);
      await rejectsWith(adapter, 'readEvents', [ALL, page], 'STORAGE_INVALID_PAGE', why);
    }
    expectEqual(
      (await adapter.readPoints('i', ALL, { limit: 100_000 })).next,
      null,
      'page.next of readPoints("i", ALL, { limit: 100000 }) (limit 100000 is allowed)',
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
    const firstPoints = (await adapter.readPoints('i', window, { limit: 2 })) as Page<Point>;
    const firstEvents = (await adapter.readEvents(window, { limit: 2 })) as Page<EventRecord>;
    const pointCursor = firstPoints.next;
    const eventCursor = firstEvents.next;
    expectEqual(
      typeof pointCursor === 'string' && typeof eventCursor === 'string',
      true,
      `a partial read returns a cursor: readPoints("i", [0, 10), { limit: 2 }).next is ${show(pointCursor)} and readEvents([0, 10), { limit: 2 }).next is ${show(eventCursor)}; whether both are strings`,
    );
    const p = pointCursor as string;
    const e = eventCursor as string;
    const code = 'STORAGE_INVALID_CURSOR';
    const reads: [string, AdapterMethod, unknown[]][] = [
      ['a garbage cursor', 'readPoints', ['i', window, { limit: 2, cursor: 'garbage!' }]],
      ['an empty cursor', 'readPoints', ['i', window, { limit: 2, cursor: '' }]],
      ['a cursor of another item', 'readPoints', ['j', window, { limit: 2, cursor: p }]],
      [
        'a cursor of another window',
        'readPoints',
        ['i', { from: 0, to: 9 }, { limit: 2, cursor: p }],
      ],
      ['an event cursor', 'readPoints', ['i', window, { limit: 2, cursor: e }]],
      [
        'a point cursor with a character outside its alphabet appended',
        'readPoints',
        ['i', window, { limit: 2, cursor: `${p}!` }],
      ],
      ['a point cursor', 'readEvents', [window, { limit: 2, cursor: p }]],
      [
        'an event cursor of another window',
        'readEvents',
        [
          { from: 1, to: 10 },
          { limit: 2, cursor: e },
        ],
      ],
      [
        'a garbage event cursor (the cursor of the first page with "x!" appended)',
        'readEvents',
        [window, { limit: 2, cursor: `${e}x!` }],
      ],
      [
        'an event cursor with "=" padding appended',
        'readEvents',
        [window, { limit: 2, cursor: `${e}=` }],
      ],
      [
        `a cursor of ${MAX_CURSOR_LENGTH + 1} characters`,
        'readEvents',
        [window, { limit: 2, cursor: `${e}${'A'.repeat(MAX_CURSOR_LENGTH + 1 - e.length)}` }],
      ],
      ['a non-string cursor', 'readPoints', ['i', window, { limit: 2, cursor: 42 }]],
    ];
    for (const [label, method, args] of reads) {
      await rejectsWith(adapter, method, args, code, label);
    }
  },
);

add('invalid input', 'invalid item ids reject with STORAGE_INVALID_ITEM', async ({ adapter }) => {
  const ids: [string, unknown][] = [
    ['an empty id', ''],
    ['an id of 1025 characters', 'x'.repeat(1025)],
    ['an id with a lone surrogate', 'a\uD800b'],
    ['a numeric id', 42],
    ['a null id', null],
    ['an undefined id', undefined],
  ];
  const code = 'STORAGE_INVALID_ITEM';
  for (const [label, item] of ids) {
    await rejectsWith(adapter, 'registerItems', [[item]], code, label);
    await rejectsWith(adapter, 'readPoints', [item, ALL, { limit: 1 }], code, label);
    await rejectsWith(adapter, 'appendPoints', [item, [point(1)]], code, label);
    await rejectsWith(adapter, 'replacePoints', [item, ALL, []], code, label);
    await rejectsWith(adapter, 'mergePoints', [item, ALL, [point(1)]], code, label);
  }
  await adapter.registerItems(['x'.repeat(1024)]);
  expectEqual(
    await adapter.listItems(),
    ['x'.repeat(1024)],
    'after the rejected calls and registerItems(["x" × 1024]) (a 1024-character id is valid), listItems()',
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
      ['a v with a lone surrogate', { t: 1, v: 'x\uDC00' }, 'STORAGE_VALUE_OUT_OF_RANGE'],
      ['a negative q', { t: 1, v: 1, q: -1 }, 'STORAGE_INVALID_RECORD'],
      ['a fractional q', { t: 1, v: 1, q: 0.5 }, 'STORAGE_INVALID_RECORD'],
      ['a q above 2^32 - 1', { t: 1, v: 1, q: 4_294_967_296 }, 'STORAGE_INVALID_RECORD'],
      ['a null point', null, 'STORAGE_INVALID_RECORD'],
    ];
    const window = { from: 0, to: 1000 };
    for (const [label, p, code] of bad) {
      const batch = [point(100, 'good'), p, point(101, 'good')];
      const why = `${label} between two good points`;
      await rejectsWith(adapter, 'appendPoints', ['i', batch], code, why);
      await rejectsWith(adapter, 'replacePoints', ['i', window, batch], code, why);
      await rejectsWith(adapter, 'mergePoints', ['i', window, batch], code, why);
    }
    const why = 'a string instead of an array of points';
    const code = 'STORAGE_INVALID_RECORD';
    await rejectsWith(adapter, 'appendPoints', ['i', 'nope'], code, why);
    await rejectsWith(adapter, 'replacePoints', ['i', ALL, 'nope'], code, why);
    await rejectsWith(adapter, 'mergePoints', ['i', ALL, 'nope'], code, why);
    await expectPoints(adapter, 'i', ALL, [], 'only rejected batches (no point of them is stored)');
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
      ['an id with a lone surrogate', { id: 'e\uD800', t: 1, body: null }],
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
        adapter,
        'insertEventsIfAbsent',
        [[ev('good-1', 1), e, ev('good-2', 2)]],
        'STORAGE_INVALID_RECORD',
        `${label} between two good events`,
      );
    }
    await adapter.insertEventsIfAbsent([ev('x'.repeat(256), 1)]);
    await expectEventKeys(
      adapter,
      ALL,
      [`1:${'x'.repeat(256)}`],
      'rejected batches and insertEventsIfAbsent([an event with a 256-character id]) (no event of a rejected batch is stored)',
    );
  },
);

/** The cases of the `invalid input` group. */
export const INVALID_INPUT_CASES: readonly SuiteCase[] = cases;

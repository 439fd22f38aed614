/**
 * Conformance cases of the optional JSON page reads (group `json pages`): an adapter that has
 * `readPointsJson` / `readEventsJson` must return, for every read, the page `readPoints` /
 * `readEvents` returns with the same arguments — the same records once the text is parsed, the
 * same `count`, the same cursor — and reject what they reject, with the same code. An adapter
 * without them is served through the record reads; the cases then only check that the optional
 * members are either absent or functions.
 *
 * @internal
 */

import assert from 'node:assert/strict';
import type {
  EventRecord,
  JsonPage,
  Page,
  PageRequest,
  Point,
  StorageAdapter,
  TimeWindow,
} from '../../storage/types.js';
import {
  ALL,
  caseList,
  deepEqual,
  ev,
  original,
  type SuiteCase,
  show,
  showCall,
} from './helpers.js';

const { add, cases } = caseList();

type JsonMethod = 'readPointsJson' | 'readEventsJson';

/** The adapter's JSON read `method`, or `undefined` when it has none (a non-function fails). */
function jsonRead(adapter: StorageAdapter, method: JsonMethod): JsonMethod | undefined {
  const value: unknown = Reflect.get(adapter, method);
  if (value === undefined) return undefined;
  assert.equal(
    typeof value,
    'function',
    `${method} is optional, but when present it must be a method; got ${show(value)}`,
  );
  return method;
}

/** The code a call rejects with (`undefined` when it resolves or the error has none). */
function rejection(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => undefined,
    (error: unknown) => (original(error) as { code?: unknown } | null)?.code,
  );
}

/**
 * Asserts that each of `calls` rejects the record read `records` (the inputs are invalid) and
 * that the JSON read `json` rejects it with the same code.
 */
async function sameRejections(
  adapter: StorageAdapter,
  records: 'readPoints' | 'readEvents',
  json: JsonMethod,
  calls: readonly (readonly unknown[])[],
): Promise<void> {
  for (const args of calls) {
    const call = (method: string): Promise<unknown> =>
      rejection(
        Reflect.apply(
          Reflect.get(adapter, method) as (...a: unknown[]) => Promise<unknown>,
          adapter,
          [...args],
        ),
      );
    const expected = await call(records);
    assert.equal(typeof expected, 'string', `${showCall(records, args)} must reject`);
    assert.equal(
      await call(json),
      expected,
      `${showCall(json, args)} must reject as ${showCall(records, args)} does (${String(expected)})`,
    );
  }
}

/** Parses a {@link JsonPage}'s text, failing with the call named when it is not a JSON array. */
function parsed(page: JsonPage, call: string): unknown[] {
  assert.equal(typeof page?.json, 'string', `${call} must resolve with { json: string, … }`);
  let records: unknown;
  try {
    records = JSON.parse(page.json);
  } catch (error) {
    assert.fail(`${call} returned json that does not parse (${(error as Error).message})`);
  }
  assert.ok(Array.isArray(records), `${call} must return the text of a JSON array`);
  return records;
}

/**
 * Reads every page of one read both ways, page by page with `limit`, and asserts each JSON page
 * equals the record page: same records, `count`, `next`. Returns the records read.
 */
async function compareRead<T>(
  records: (page: PageRequest) => Promise<Page<T>>,
  json: (page: PageRequest) => Promise<JsonPage>,
  what: string,
  limit: number,
): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 10_000; pages++) {
    const request: PageRequest = cursor === undefined ? { limit } : { limit, cursor };
    const call = `${what}, ${showCall('page', [request])}`;
    const expected = await records(request);
    const actual = await json(request);
    deepEqual(
      parsed(actual, call),
      expected.items,
      `${call}: the JSON records must equal the page's`,
    );
    assert.equal(actual.count, expected.items.length, `${call}: count must be the records' number`);
    assert.equal(actual.next, expected.next, `${call}: next must be the page's cursor`);
    all.push(...expected.items);
    if (expected.next === null) return all;
    cursor = expected.next;
  }
  assert.fail(`${what} did not end within 10,000 pages`);
}

/** Points of every value kind, exact doubles, qualities present and absent. */
const VARIED_POINTS: readonly Point[] = [
  { t: -5, v: 0 },
  { t: 1, v: -1.5, q: 0 },
  { t: 2, v: 0.1 + 0.2 },
  { t: 3, v: 1 / 3, q: 192 },
  { t: 4, v: 1e300 },
  { t: 5, v: -Number.MAX_VALUE },
  { t: 6, v: Number.MIN_VALUE },
  { t: 7, v: 2 ** 53 + 2 },
  { t: 8, v: 5 },
  { t: 9, v: 'text with "quotes", \\ back\\slash, tab\t, new\nline' },
  { t: 10, v: 'é 漢字 😀 \u2028 \u0001' },
  { t: 11, v: '' },
  { t: 12, v: true, q: 1 },
  { t: 13, v: false },
  { t: 14, v: null, q: 65535 },
  { t: 15, v: 1e21 },
  { t: 16, v: 1e-7 },
];

add('json pages', 'readPointsJson pages equal readPoints pages', async ({ adapter }) => {
  const method = jsonRead(adapter, 'readPointsJson');
  if (method === undefined) return;
  const read = adapter.readPointsJson?.bind(adapter) as NonNullable<
    StorageAdapter['readPointsJson']
  >;
  await adapter.appendPoints('i', VARIED_POINTS);
  await adapter.appendPoints('other', [{ t: 3, v: 99 }]);
  const windows: readonly TimeWindow[] = [ALL, { from: 2, to: 12 }, { from: 20, to: 30 }];
  for (const window of windows) {
    for (const limit of [1, 3, 100]) {
      await compareRead(
        (page) => adapter.readPoints('i', window, page),
        (page) => read('i', window, page),
        `readPoints/readPointsJson("i", [${window.from}, ${window.to}))`,
        limit,
      );
    }
  }
  const unknown = await read('nobody', ALL, { limit: 10 });
  deepEqual(
    {
      records: parsed(unknown, 'readPointsJson("nobody")'),
      count: unknown.count,
      next: unknown.next,
    },
    { records: [], count: 0, next: null },
    'readPointsJson of an unknown item must be an empty page',
  );
});

add('json pages', 'readPointsJson pages larger than one chunk', async ({ adapter, largePage }) => {
  const method = jsonRead(adapter, 'readPointsJson');
  if (method === undefined) return;
  const read = adapter.readPointsJson?.bind(adapter) as NonNullable<
    StorageAdapter['readPointsJson']
  >;
  const count = Math.min(largePage, 5000);
  const points: Point[] = Array.from({ length: count }, (_, i) =>
    i % 7 === 0 ? { t: i * 10, v: i / 7, q: i % 3 } : { t: i * 10, v: i % 11 === 0 ? `s${i}` : i },
  );
  await adapter.appendPoints('big', points);
  const read1 = await compareRead(
    (page) => adapter.readPoints('big', ALL, page),
    (page) => read('big', ALL, page),
    'readPoints/readPointsJson("big")',
    Math.ceil(count / 2) + 1,
  );
  assert.equal(read1.length, count, `every one of the ${count} points must be read`);
});

add('json pages', 'readPointsJson rejects what readPoints rejects', async ({ adapter }) => {
  const method = jsonRead(adapter, 'readPointsJson');
  if (method === undefined) return;
  await adapter.appendPoints('i', [{ t: 1, v: 1 }]);
  const bad: readonly [string, TimeWindow, PageRequest][] = [
    ['i', { from: 5, to: 1 }, { limit: 1 }],
    ['i', ALL, { limit: 0 }],
    ['i', ALL, { limit: 1, cursor: 'not a cursor' }],
  ];
  await sameRejections(adapter, 'readPoints', method, bad);
});

add('json pages', 'readEventsJson pages equal readEvents pages', async ({ adapter }) => {
  const method = jsonRead(adapter, 'readEventsJson');
  if (method === undefined) return;
  const read = adapter.readEventsJson?.bind(adapter) as NonNullable<
    StorageAdapter['readEventsJson']
  >;
  const events: EventRecord[] = [
    ev('a', 1, { level: 'high', value: 0.1 + 0.2, nested: { list: [1, 'two', null, true] } }),
    ev('b', 1, 'a string body with "quotes" and \\ and 😀'),
    ev('c', 1, null),
    ev('é', 1, [1e300, -0.5, 2 ** 53 + 2]),
    ev('d', 2, { '': 'empty key', 'key with "quote"': false, __proto__x: 1 }),
    ev('e', 3, 42),
    ev('f', 3, {}),
    ev('g', 4, []),
    ev('h', 9, { deep: [[[{ x: [[]] }]]] }),
  ];
  await adapter.insertEventsIfAbsent(events);
  const windows: readonly TimeWindow[] = [ALL, { from: 1, to: 4 }, { from: 5, to: 9 }];
  for (const window of windows) {
    for (const limit of [1, 2, 100]) {
      await compareRead(
        (page) => adapter.readEvents(window, page),
        (page) => read(window, page),
        `readEvents/readEventsJson([${window.from}, ${window.to}))`,
        limit,
      );
    }
  }
});

add('json pages', 'readEventsJson pages larger than one chunk', async ({ adapter, largePage }) => {
  const method = jsonRead(adapter, 'readEventsJson');
  if (method === undefined) return;
  const read = adapter.readEventsJson?.bind(adapter) as NonNullable<
    StorageAdapter['readEventsJson']
  >;
  const count = Math.min(largePage, 5000);
  // Ten events per timestamp: pages and chunks end inside ties.
  const events = Array.from({ length: count }, (_, i) =>
    ev(`e${String(i).padStart(5, '0')}`, Math.floor(i / 10), {
      i,
      tag: i % 2 === 0 ? 'even' : 'odd',
    }),
  );
  await adapter.insertEventsIfAbsent(events);
  const all = await compareRead(
    (page) => adapter.readEvents(ALL, page),
    (page) => read(ALL, page),
    'readEvents/readEventsJson',
    Math.ceil(count / 2) + 3,
  );
  assert.equal(all.length, count, `every one of the ${count} events must be read`);
});

add('json pages', 'readEventsJson rejects what readEvents rejects', async ({ adapter }) => {
  const method = jsonRead(adapter, 'readEventsJson');
  if (method === undefined) return;
  const bad: readonly [TimeWindow, PageRequest][] = [
    [{ from: 5, to: 1 }, { limit: 1 }],
    [ALL, { limit: 100_001 }],
    [ALL, { limit: 1, cursor: 'not a cursor' }],
  ];
  await sameRejections(adapter, 'readEvents', method, bad);
});

/** The cases of this file, in order. */
export const JSON_PAGE_CASES: readonly SuiteCase[] = cases;

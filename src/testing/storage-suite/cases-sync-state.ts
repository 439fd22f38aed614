/**
 * Conformance cases of sync state: `readSyncState`/`writeSyncState` store any JSON object by
 * value under a key (group `sync state`), and the sync writes (`replacePoints`, `mergePoints`,
 * `insertEventsIfAbsent`) commit an optional `syncState` record together with their data
 * (group `sync writes`). Persistence of both is checked in `cases-lifecycle.ts`.
 *
 * @internal
 */

import assert from 'node:assert/strict';
import type {
  EventRecord,
  JsonObject,
  JsonValue,
  Point,
  StorageAdapter,
  SyncStateValue,
  SyncWriteOptions,
} from '../../storage/types.js';
import { MAX_BODY_DEPTH } from '../../storage/validate.js';
import {
  ALL,
  caseList,
  deepEqual,
  ev,
  expectEqual,
  point,
  readAllEvents,
  readAllPoints,
  rejectsWith,
  type SuiteCase,
  show,
} from './helpers.js';

const { add, cases } = caseList();

/** Longest valid key and longest valid JSON text of a value (the contract's limits). */
const MAX_KEY = 2048;
const MAX_TEXT = 65_536;

/**
 * `{ s: unit repeated }` whose JSON text is `length` code units long: `{"s":""}` is 8, and each
 * repetition adds the length of `unit` as JSON string content (2 for `"`, which is escaped).
 */
function valueOfLength(length: number, unit = 'x'): JsonObject {
  const value = { s: unit.repeat((length - 8) / (JSON.stringify(unit).length - 2)) };
  assert.equal(JSON.stringify(value).length, length, 'suite bug: valueOfLength');
  return value;
}

async function assertRecord(
  adapter: StorageAdapter,
  key: string,
  expected: SyncStateValue | undefined,
  after: string,
): Promise<void> {
  const actual = await adapter.readSyncState(key);
  deepEqual(
    actual,
    expected,
    `after ${after}, readSyncState(${show(key, 40)}) must return ${show(expected)}, got ${show(actual)}`,
  );
}

// ---------------------------------------------------------------------------------------------
// sync state
add('sync state', 'an unknown key reads undefined', async ({ adapter }) => {
  await assertRecord(adapter, 'deputy-1', undefined, 'nothing was written');
  await adapter.writeSyncState('deputy-1', { v: 1 });
  await assertRecord(adapter, 'deputy-2', undefined, 'writeSyncState("deputy-1", {"v":1})');
});

add(
  'sync state',
  'any JSON object round-trips; a write replaces the whole record',
  async ({ adapter }) => {
    const record: JsonObject = {
      v: 3,
      heartbeat: 1_700_000_050_000,
      ledger: [
        { from: 1_700_000_000_000, to: 1_700_000_010_000, reason: 'downtime' },
        { from: -5, to: 0.5, reason: null },
      ],
      nested: { deep: { deeper: [1, 'two', null, true, false, { x: [] }, {}] } },
      text: 'h\u00e9llo w\u00f6rld \u{1F600} \u65e5\u672c\u8a9e "quoted" back\\slash\nline\ttab',
      numbers: [0, -1.5, 0.1, 1e300, -Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER],
      '': 'empty key',
      'key with spaces and \u{1F600}': 'unicode key',
      empty: {},
      none: [],
    };
    await adapter.writeSyncState('deputy-1', record);
    await assertRecord(adapter, 'deputy-1', record, `writeSyncState("deputy-1", ${show(record)})`);
    await adapter.writeSyncState('deputy-1', { v: 4, only: 'this' });
    await assertRecord(
      adapter,
      'deputy-1',
      { v: 4, only: 'this' },
      'a second writeSyncState("deputy-1", {"v":4,"only":"this"}) (the whole record is replaced, not merged)',
    );
    await adapter.writeSyncState('deputy-1', {});
    await assertRecord(adapter, 'deputy-1', {}, 'writeSyncState("deputy-1", {})');
  },
);

add('sync state', 'writing one key never changes another', async ({ adapter }) => {
  // Keys that are prefixes of each other, differ in case, or only in a non-ASCII character.
  const keys = ['k', 'k:', 'k:item:a', 'k:item:ab', 'K', 'k:item:\u00e9', 'k:item:\u{1F600}'];
  for (const [i, key] of keys.entries()) await adapter.writeSyncState(key, { i });
  await adapter.writeSyncState('k:item:a', { i: 'again' });
  for (const [i, key] of keys.entries()) {
    const expected = key === 'k:item:a' ? { i: 'again' } : { i };
    await assertRecord(
      adapter,
      key,
      expected,
      `writeSyncState of each of ${show(keys)} and then of "k:item:a" again`,
    );
  }
  await assertRecord(adapter, 'k:item:b', undefined, 'writes of other keys');
});

add(
  'sync state',
  'records are stored by value: mutating the argument or the result changes nothing',
  async ({ adapter }) => {
    const value = { v: 1, list: [1, 2], nested: { a: 'x' } as Record<string, string> };
    await adapter.writeSyncState('k', value);
    value.list.push(3);
    value.nested.a = 'mutated';
    value.v = 2;
    const expected = { v: 1, list: [1, 2], nested: { a: 'x' } };
    await assertRecord(adapter, 'k', expected, 'writeSyncState("k", value) and mutating value');
    const read = (await adapter.readSyncState('k')) as typeof value;
    read.list.push(4);
    read.nested.a = 'mutated';
    await assertRecord(adapter, 'k', expected, 'mutating the object readSyncState("k") returned');
  },
);

add(
  'sync state',
  `keys: up to ${MAX_KEY} characters work; empty, longer, non-string and ill-formed keys reject`,
  async ({ adapter }) => {
    // Two keys of the maximum length that differ only in their last character (a store that
    // truncates keys would mix them up), one of them an item key of a 1024-character item id.
    const prefix = `deputy:item:${'x'.repeat(1024)}:`;
    const base = prefix.padEnd(MAX_KEY - 1, 'y');
    const a = `${base}a`;
    const b = `${base}b`;
    await adapter.writeSyncState(a, { key: 'a' });
    await adapter.writeSyncState(b, { key: 'b' });
    await assertRecord(adapter, a, { key: 'a' }, `writeSyncState of two ${MAX_KEY}-character keys`);
    await assertRecord(adapter, b, { key: 'b' }, `writeSyncState of two ${MAX_KEY}-character keys`);
    const bad: [string, unknown][] = [
      [`a ${MAX_KEY + 1}-character key`, `${base}ab`],
      ['an empty key', ''],
      ['a key with a lone surrogate', 'k\uD800'],
      ['a numeric key', 42],
      ['an undefined key', undefined],
    ];
    for (const [label, key] of bad) {
      const code = 'STORAGE_INVALID_SYNC_STATE';
      await rejectsWith(adapter, 'writeSyncState', [key, { v: 1 }], code, label);
      await rejectsWith(adapter, 'readSyncState', [key], code, label);
    }
  },
);

add(
  'sync state',
  `a value of at most ${MAX_TEXT} characters of JSON text is accepted, a longer one rejected`,
  async ({ adapter }) => {
    // The length counts UTF-16 code units of JSON.stringify(value): escapes count, and a
    // character outside the BMP counts 2.
    const units: [string, string][] = [
      ['"x"', 'x'],
      ['"\\"" (escaped as 2 characters)', '"'],
      ['"\u{1F600}" (2 code units)', '\u{1F600}'],
    ];
    for (const [label, unit] of units) {
      const fits = valueOfLength(MAX_TEXT, unit);
      const tooLong = valueOfLength(MAX_TEXT + (unit === 'x' ? 1 : 2), unit);
      await adapter.writeSyncState('k', fits);
      await assertRecord(
        adapter,
        'k',
        fits,
        `writeSyncState("k", { s: ${label} repeated to ${MAX_TEXT} characters of JSON })`,
      );
      await rejectsWith(
        adapter,
        'writeSyncState',
        ['k', tooLong],
        'STORAGE_INVALID_SYNC_STATE',
        `{ s: ${label} repeated to ${JSON.stringify(tooLong).length} characters of JSON }`,
      );
      await assertRecord(adapter, 'k', fits, 'a rejected writeSyncState (the record must stay)');
    }
  },
);

add(
  'sync state',
  'non-object and non-JSON values reject with STORAGE_INVALID_SYNC_STATE and store nothing',
  async ({ adapter }) => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) deep = { deep };
    const bad: [string, unknown][] = [
      ['an array', [{ v: 1 }]],
      ['a string', '{"v":1}'],
      ['null', null],
      ['a number', 42],
      ['a boolean', true],
      ['undefined', undefined],
      ['a Date', new Date(0)],
      ['a Map', new Map([['v', 1]])],
      ['NaN inside', { v: Number.NaN }],
      ['Infinity inside', { v: [Number.POSITIVE_INFINITY] }],
      ['undefined inside', { v: undefined }],
      ['a function inside', { f: () => 1 }],
      ['a bigint inside', { n: 1n }],
      ['a cyclic object', cyclic],
      ['an object nested 100 levels deep', deep],
    ];
    await adapter.writeSyncState('k', { v: 0 });
    for (const [label, value] of bad) {
      const code = 'STORAGE_INVALID_SYNC_STATE';
      await rejectsWith(adapter, 'writeSyncState', ['k', value], code, label);
      await rejectsWith(adapter, 'writeSyncState', ['other', value], code, label);
    }
    await assertRecord(adapter, 'k', { v: 0 }, 'rejected writes (the old record must stay)');
    await assertRecord(adapter, 'other', undefined, 'rejected writes of a new key');
  },
);

add(
  'sync state',
  `a value nested ${MAX_BODY_DEPTH} levels deep round-trips, one level more rejects with STORAGE_INVALID_SYNC_STATE`,
  async ({ adapter }) => {
    // The record is at depth 0; `levels` objects more nest inside it, the innermost at depth
    // `levels`, holding a string.
    const nested = (levels: number): JsonObject => {
      let value: JsonValue = { end: 'x' };
      for (let i = 0; i < levels; i++) value = { n: value };
      return value as JsonObject;
    };
    const deepest = nested(MAX_BODY_DEPTH);
    await adapter.writeSyncState('deep', deepest);
    await assertRecord(
      adapter,
      'deep',
      deepest,
      `writeSyncState("deep", ${MAX_BODY_DEPTH + 1} nested objects, the innermost at depth ${MAX_BODY_DEPTH})`,
    );
    await rejectsWith(
      adapter,
      'writeSyncState',
      ['deep', nested(MAX_BODY_DEPTH + 1)],
      'STORAGE_INVALID_SYNC_STATE',
      `${MAX_BODY_DEPTH + 2} nested objects, the innermost at depth ${MAX_BODY_DEPTH + 1}`,
    );
    await assertRecord(
      adapter,
      'deep',
      deepest,
      'a rejected writeSyncState (the record must stay)',
    );
  },
);

// ---------------------------------------------------------------------------------------------
// sync writes: the optional syncState record of replacePoints, mergePoints, insertEventsIfAbsent

/** What one sync write stored: its data, and its item if `listItems` lists it. */
interface Stored {
  readonly data: readonly (Point | EventRecord)[];
  readonly items: readonly string[];
}

/** One of the three sync writes, with valid data and with rejected data. */
interface SyncWrite {
  readonly method: 'replacePoints' | 'mergePoints' | 'insertEventsIfAbsent';
  /** The valid call, for messages. */
  readonly call: string;
  /** The arguments of the valid call with `options`. */
  readonly args: (options?: unknown) => unknown[];
  /** What the valid call resolves with. */
  readonly returns: number | undefined;
  /** A call whose data is invalid, for messages. */
  readonly badCall: string;
  /** The code that call rejects with. */
  readonly badCode: string;
  /** The arguments of the call with invalid data and `options`. */
  readonly badArgs: (options: SyncWriteOptions) => unknown[];
  /** The item the call writes to (`undefined` for events). */
  readonly item: string | undefined;
  /** What is stored after the valid call. */
  readonly stored: Stored;
}

const W = { from: 0, to: 10 };
const NEW_POINTS = [point(1, 'new'), point(2, 'new')];
const NEW_EVENTS = [ev('sync-e1', 1), ev('sync-e2', 2)];

const SYNC_WRITES: readonly SyncWrite[] = [
  {
    method: 'replacePoints',
    call: 'replacePoints("sync/r", [0, 10), [1="new", 2="new"], options)',
    args: (options) => ['sync/r', W, NEW_POINTS, options],
    returns: undefined,
    badCall: 'replacePoints("sync/r", [0, 10), [1="new", 10="new"], options)',
    badCode: 'STORAGE_POINT_OUTSIDE_WINDOW',
    badArgs: (options) => ['sync/r', W, [point(1, 'new'), point(10, 'new')], options],
    item: 'sync/r',
    stored: { data: NEW_POINTS, items: ['sync/r'] },
  },
  {
    method: 'mergePoints',
    call: 'mergePoints("sync/m", [0, 10), [1="new", 2="new"], options)',
    args: (options) => ['sync/m', W, NEW_POINTS, options],
    returns: 2,
    badCall: 'mergePoints("sync/m", [0, 10), [1="new", 1="again"], options)',
    badCode: 'STORAGE_INVALID_RECORD',
    badArgs: (options) => ['sync/m', W, [point(1, 'new'), point(1, 'again')], options],
    item: 'sync/m',
    stored: { data: NEW_POINTS, items: ['sync/m'] },
  },
  {
    method: 'insertEventsIfAbsent',
    call: 'insertEventsIfAbsent([sync-e1@1, sync-e2@2], options)',
    args: (options) => [NEW_EVENTS, options],
    returns: 2,
    badCall: 'insertEventsIfAbsent([sync-e1@1, an event without body], options)',
    badCode: 'STORAGE_INVALID_RECORD',
    badArgs: (options) => [[ev('sync-e1', 1), { id: 'sync-e2', t: 2 }], options],
    item: undefined,
    stored: { data: NEW_EVENTS, items: [] },
  },
];

const NOTHING: Stored = { data: [], items: [] };

/** Makes the valid call of `sync` with `options`. */
function write(adapter: StorageAdapter, sync: SyncWrite, options?: unknown): Promise<unknown> {
  return Reflect.apply(adapter[sync.method], adapter, sync.args(options));
}

async function assertStored(
  adapter: StorageAdapter,
  sync: SyncWrite,
  expected: Stored,
  after: string,
): Promise<void> {
  const { item } = sync;
  const actual: Stored =
    item === undefined
      ? { data: await readAllEvents(adapter, ALL), items: [] }
      : {
          data: await readAllPoints(adapter, item, ALL),
          items: (await adapter.listItems()).filter((listed) => listed === item),
        };
  deepEqual(
    actual,
    expected,
    `after ${after}, the store must hold ${show(expected, 200)}, got ${show(actual, 200)}`,
  );
}

add(
  'sync writes',
  'the syncState record of replacePoints, mergePoints and insertEventsIfAbsent is stored with the data',
  async ({ adapter }) => {
    await adapter.writeSyncState('other', { untouched: true });
    for (const sync of SYNC_WRITES) {
      const key = `progress:${sync.method}`;
      await adapter.writeSyncState(key, { v: 1, old: true });
      const value = { v: 2, through: 10, items: ['sync/r'], nested: { note: 'caf\u00e9' } };
      const copy = structuredClone(value);
      const call = `${sync.call} with options = { syncState: { key: "${key}", value: ${show(value)} } }`;
      const result = await write(adapter, sync, { syncState: { key, value } });
      expectEqual(result, sync.returns, `what ${call} resolves with`);
      value.items.push('mutated');
      value.nested.note = 'mutated';
      await assertStored(adapter, sync, sync.stored, call);
      await assertRecord(adapter, key, copy, `${call} (and mutating value afterwards)`);
    }
    await assertRecord(adapter, 'other', { untouched: true }, 'sync writes of other keys');
  },
);

add(
  'sync writes',
  'options undefined, {} or { syncState: undefined } are accepted and store the data',
  async ({ adapter }) => {
    for (const sync of SYNC_WRITES) {
      for (const [label, options] of [
        ['no options', undefined],
        ['options {}', {}],
        ['options { syncState: undefined }', { syncState: undefined }],
      ] as const) {
        await write(adapter, sync, options);
        await assertStored(adapter, sync, sync.stored, `${sync.call} with ${label}`);
      }
    }
  },
);

add(
  'sync writes',
  'an invalid syncState record rejects the call with STORAGE_INVALID_SYNC_STATE and stores nothing',
  async ({ adapter }) => {
    for (const sync of SYNC_WRITES) {
      const key = `progress:${sync.method}`;
      await adapter.writeSyncState(key, { v: 0 });
      const bad: [string, unknown][] = [
        ['options null', null],
        ['options.syncState null', { syncState: null }],
        ['options.syncState a string', { syncState: key }],
        ['a missing key', { syncState: { value: { v: 1 } } }],
        ['an empty key', { syncState: { key: '', value: { v: 1 } } }],
        [
          `a ${MAX_KEY + 1}-character key`,
          { syncState: { key: 'k'.repeat(MAX_KEY + 1), value: {} } },
        ],
        ['a key with a lone surrogate', { syncState: { key: 'k\uD800', value: {} } }],
        ['a missing value', { syncState: { key } }],
        ['an array value', { syncState: { key, value: [{ v: 1 }] } }],
        ['a null value', { syncState: { key, value: null } }],
        ['a string value', { syncState: { key, value: '{"v":1}' } }],
        ['a number value', { syncState: { key, value: 1 } }],
        ['NaN inside the value', { syncState: { key, value: { v: Number.NaN } } }],
        [
          `a value of ${MAX_TEXT + 1} characters of JSON`,
          { syncState: { key, value: valueOfLength(MAX_TEXT + 1) } },
        ],
      ];
      for (const [label, options] of bad) {
        await rejectsWith(
          adapter,
          sync.method,
          sync.args(options),
          'STORAGE_INVALID_SYNC_STATE',
          `valid data, ${label}`,
        );
        await assertStored(adapter, sync, NOTHING, `${sync.call} with ${label} (rejected)`);
      }
      await assertRecord(adapter, key, { v: 0 }, `the rejected calls of ${sync.method}`);
    }
  },
);

add(
  'sync writes',
  'a rejected data batch does not write its syncState record',
  async ({ adapter }) => {
    for (const sync of SYNC_WRITES) {
      const key = `progress:${sync.method}`;
      const options = { syncState: { key, value: { v: 1, through: 10 } } };
      await rejectsWith(
        adapter,
        sync.method,
        sync.badArgs(options),
        sync.badCode,
        `invalid data with a valid syncState record under "${key}"`,
      );
      await assertRecord(adapter, key, undefined, `${sync.badCall} (rejected)`);
      await assertStored(adapter, sync, NOTHING, `${sync.badCall} (rejected)`);
    }
  },
);

/** The cases of the `sync state` and `sync writes` groups. */
export const SYNC_STATE_CASES: readonly SuiteCase[] = cases;

/**
 * Conformance cases of events (group `events`): `readEvents` returns events in a window ordered
 * by `(t, id)` (ids by code point), paged without skips or repeats also inside a timestamp tie;
 * `insertEventsIfAbsent` never changes a stored event and counts what it inserted; bodies are JSON
 * values stored by value, nested up to {@link MAX_BODY_DEPTH} levels.
 *
 * @internal
 */

import assert from 'node:assert/strict';
import type { EventRecord, JsonValue } from '../../storage/types.js';
import { MAX_BODY_DEPTH, MAX_CURSOR_LENGTH } from '../../storage/validate.js';
import {
  ALL,
  caseList,
  deepEqual,
  ev,
  eventKeys,
  eventsRead,
  expectEqual,
  expectEventKeys,
  expectEvents,
  range,
  readAllEvents,
  rejectsWith,
  type SuiteCase,
  show,
  showCall,
  showError,
  sortEvents,
} from './helpers.js';

const { add, cases } = caseList();

/** `depth + 1` arrays nested in each other: the innermost array is at depth `depth`. */
export function nestedArrays(depth: number): JsonValue {
  let value: JsonValue = [];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

add('events', 'a window [from, to) includes from and excludes to', async ({ adapter }) => {
  await adapter.insertEventsIfAbsent([ev('a', 9), ev('b', 10), ev('c', 19), ev('d', 20)]);
  const after = 'insertEventsIfAbsent([a@9, b@10, c@19, d@20])';
  await expectEventKeys(adapter, { from: 10, to: 20 }, ['10:b', '19:c'], after);
  const empty = [{ from: 10, to: 10 }, { limit: 5 }] as const;
  expectEqual(
    await adapter.readEvents(...empty),
    { items: [], next: null },
    `after ${after}, ${showCall('readEvents', empty)}`,
  );
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
  await expectEventKeys(
    adapter,
    ALL,
    eventKeys(sortEvents(events)),
    `insertEventsIfAbsent(${show(eventKeys(events))}) (ids compare by code point: U+E000 before U+1F600, unlike JavaScript's <)`,
    2,
  );
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
  const after =
    'insertEventsIfAbsent of 23 events at t=1000 and 7 around it (the cursor must hold (t, id) of the last event, not only t)';
  for (const limit of [1, 2, 3, 4, 5, 7, 22, 23, 24]) {
    await expectEventKeys(adapter, ALL, expected, after, limit);
  }
});

add('events', 'events written between pages: nothing skipped or repeated', async ({ adapter }) => {
  await adapter.insertEventsIfAbsent(
    range(0, 20).map((i) => ev(`e${String(i).padStart(2, '0')}`, 100 + (i % 4))),
  );
  const window = { from: 0, to: 1000 };
  const read = await readAllEvents(adapter, window, 3, async (page) => {
    if (page === 0) {
      await adapter.insertEventsIfAbsent([ev('e00-early', 0), ev('zz-late', 103), ev('late', 500)]);
    }
  });
  const keys = eventKeys(read);
  const what = `${eventsRead(window, 3)} of e00..e19 at t = 100..103, with insertEventsIfAbsent([e00-early@0, zz-late@103, late@500]) after the first page: the events read`;
  deepEqual(keys, [...new Set(keys)], `${what} must not repeat an event, got ${show(keys)}`);
  for (const i of range(0, 20)) {
    const key = `${100 + (i % 4)}:e${String(i).padStart(2, '0')}`;
    assert.ok(keys.includes(key), `${what} must include ${key} (skipped), got ${show(keys, 300)}`);
  }
  for (const key of ['103:zz-late', '500:late']) {
    assert.ok(
      keys.includes(key),
      `${what} must include ${key}, written after the cursor position, got ${show(keys, 300)}`,
    );
  }
});

add(
  'events',
  'insertEventsIfAbsent returns the count and never overwrites',
  async ({ adapter }) => {
    const first = [ev('a', 1, 'first'), ev('b', 2, 'first')];
    expectEqual(
      await adapter.insertEventsIfAbsent(first),
      2,
      'insertEventsIfAbsent([a@1 "first", b@2 "first"]) into an empty store resolves with',
    );
    const second = [ev('a', 1, 'second'), ev('b', 5, 'second'), ev('c', 3, 'c')];
    expectEqual(
      await adapter.insertEventsIfAbsent(second),
      1,
      'then insertEventsIfAbsent([a@1 "second", b@5 "second", c@3]) (only c is new) resolves with',
    );
    expectEqual(
      await adapter.insertEventsIfAbsent([]),
      0,
      'insertEventsIfAbsent([]) resolves with',
    );
    await expectEvents(
      adapter,
      ALL,
      [ev('a', 1, 'first'), ev('b', 2, 'first'), ev('c', 3, 'c')],
      'both inserts (a stored event is never changed, not even its t)',
    );
  },
);

add(
  'events',
  'a batch repeating an id stores the first and counts it once',
  async ({ adapter }) => {
    const batch = [ev('a', 5, 'first'), ev('b', 1), ev('a', 2, 'second')];
    expectEqual(
      await adapter.insertEventsIfAbsent(batch),
      2,
      'insertEventsIfAbsent([a@5 "first", b@1, a@2 "second"]) resolves with',
    );
    await expectEvents(
      adapter,
      ALL,
      [ev('b', 1), ev('a', 5, 'first')],
      'insertEventsIfAbsent([a@5 "first", b@1, a@2 "second"]) (the first event of an id wins)',
    );
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
  const read = await readAllEvents(adapter, ALL, 3);
  for (const [i, expected] of events.entries()) {
    expectEqual(
      read[i],
      expected,
      `after insertEventsIfAbsent of events with the bodies ${show(bodies, 200)}, event ${i} of ${eventsRead(ALL, 3)}`,
    );
  }
  expectEqual(read.length, events.length, `the number of events of ${eventsRead(ALL, 3)}`);
});

add(
  'events',
  'stored events are copies: mutating inputs or outputs changes nothing',
  async ({ adapter }) => {
    const body = { list: [1, 2] };
    await adapter.insertEventsIfAbsent([{ id: 'a', t: 1, body }]);
    body.list.push(3);
    const request = [ALL, { limit: 5 }] as const;
    const read = await adapter.readEvents(...request);
    expectEqual(
      read.items,
      [ev('a', 1, { list: [1, 2] })],
      `after insertEventsIfAbsent([a@1 body]) and then body.list.push(3), ${showCall('readEvents', request)}.items`,
    );
    try {
      ((read.items[0] as EventRecord).body as { list: number[] }).list.push(4);
    } catch (error) {
      assert.ok(
        (error as Error | null)?.name === 'TypeError',
        `mutating a returned record threw ${showError(error)}; only a frozen record may reject the write (with a TypeError)`,
      );
    }
    expectEqual(
      (await adapter.readEvents(...request)).items,
      [ev('a', 1, { list: [1, 2] })],
      `after mutating the body a first ${showCall('readEvents', request)} returned, the same read`,
    );
  },
);

add(
  'events',
  `a body nested ${MAX_BODY_DEPTH} levels deep round-trips, one level more rejects with STORAGE_INVALID_RECORD`,
  async ({ adapter }) => {
    // The body is at depth 0; the innermost of 65 nested arrays is at depth 64.
    const deepest = nestedArrays(MAX_BODY_DEPTH);
    const deepestObject = { a: 'x' } as JsonValue;
    let object: JsonValue = deepestObject;
    for (let i = 0; i < MAX_BODY_DEPTH; i++) object = { a: object };
    await adapter.insertEventsIfAbsent([
      ev('deep-array', 1, deepest),
      ev('deep-object', 2, object),
    ]);
    await expectEvents(
      adapter,
      ALL,
      [ev('deep-array', 1, deepest), ev('deep-object', 2, object)],
      `insertEventsIfAbsent of bodies whose innermost array or object is at depth ${MAX_BODY_DEPTH} (${MAX_BODY_DEPTH + 1} nested arrays; ${MAX_BODY_DEPTH + 1} nested objects around a string)`,
    );
    await rejectsWith(
      adapter,
      'insertEventsIfAbsent',
      [[ev('too-deep', 3, nestedArrays(MAX_BODY_DEPTH + 1))]],
      'STORAGE_INVALID_RECORD',
      `a body of ${MAX_BODY_DEPTH + 2} nested arrays, the innermost at depth ${MAX_BODY_DEPTH + 1}`,
    );
    await expectEventKeys(
      adapter,
      ALL,
      ['1:deep-array', '2:deep-object'],
      'a rejected insert of a body nested too deep',
    );
  },
);

add(
  'events',
  `next cursors are at most ${MAX_CURSOR_LENGTH} characters, whatever the event ids and window`,
  async ({ adapter }) => {
    // The longest event ids in UTF-8 (256 code units of a 3-byte character), in a tie.
    const ids = ['\u65e5', '\u{1F600}', 'x', '\u00e9'].map((c) => c.repeat(256 / c.length));
    await adapter.insertEventsIfAbsent([
      ...ids.map((id) => ev(id, Number.MAX_SAFE_INTEGER - 1, null)),
      ...ids.map((id) => ev(id.slice(0, 200), Number.MIN_SAFE_INTEGER, null)),
    ]);
    // readAllEvents checks the length of every next cursor and fails naming the read.
    for (const window of [ALL, { from: Number.MIN_SAFE_INTEGER, to: 0 }]) {
      await readAllEvents(adapter, window, 1);
    }
  },
);

/** The cases of the `events` group. */
export const EVENT_CASES: readonly SuiteCase[] = cases;

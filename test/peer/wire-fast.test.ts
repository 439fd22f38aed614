import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  eventsReplySchema,
  parseEventsReplyFast,
  parsePointsReplyFast,
  pointsReplySchema,
} from '../../src/peer/wire.js';
import { isSealedEvents, MAX_BODY_DEPTH } from '../../src/storage/validate.js';

const RUNS = Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 300);

/** `value` with every `-0` turned into `0` (as JSON text, and the sealed events path, read it). */
function withoutNegativeZero(value: unknown): unknown {
  if (Object.is(value, -0)) return 0;
  if (Array.isArray(value)) return value.map(withoutNegativeZero);
  if (typeof value !== 'object' || value === null) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    Object.defineProperty(copy, key, {
      value: withoutNegativeZero(child),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return copy;
}

/** Values near the edges of every rule: types, ranges, lengths, surrogates, extra keys. */
const scalar = fc.oneof(
  fc.integer(),
  fc.constantFrom(
    0,
    -1,
    1.5,
    4_294_967_295,
    4_294_967_296,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    Number.POSITIVE_INFINITY,
    Number.NaN,
  ),
  fc.double(),
  fc.string({ maxLength: 4 }),
  fc.constantFrom('', '\ud800', 'a\udc00b', 'x'.repeat(257), 'c'.repeat(4097)),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
);
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    scalar,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 3 }), tie('value'), { maxKeys: 3 }),
  ),
})).value;

function record(keys: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(
    {
      ...Object.fromEntries(keys.map((key) => [key, fc.oneof(scalar, json)])),
      extra: json,
    },
    { requiredKeys: [] },
  );
}

function reply(item: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.record({
      items: fc.array(item, { maxLength: 4 }),
      next: fc.oneof(fc.constant(null), scalar),
    }),
    json,
  );
}

/** Valid-looking points, so that many replies pass and the accepted outputs are compared too. */
const goodPoint = fc.record(
  {
    t: fc.integer(),
    v: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.boolean()),
    q: fc.integer({ min: 0, max: 10 }),
  },
  { requiredKeys: ['t', 'v'] },
);
const goodEvent = fc.record({
  id: fc.string({ minLength: 1, maxLength: 8 }),
  t: fc.integer(),
  body: fc.oneof(fc.constant(null), fc.dictionary(fc.string(), fc.integer(), { maxKeys: 2 })),
});

describe('the hand-written reply checks', () => {
  it('accept exactly what the points schema accepts, with the same result', () => {
    fc.assert(
      fc.property(reply(fc.oneof(record(['t', 'v', 'q']), goodPoint)), (value) => {
        const parsed = pointsReplySchema.safeParse(value);
        const fast = parsePointsReplyFast(value);
        if (parsed.success) expect(fast).toEqual(parsed.data);
        else expect(fast).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('accept exactly what the events schema accepts, with the same result (-0 read as 0)', () => {
    fc.assert(
      fc.property(reply(fc.oneof(record(['id', 't', 'body']), goodEvent)), (value) => {
        const parsed = eventsReplySchema.safeParse(value);
        // Before the fast path: it seals (freezes) what it accepts in place.
        const expected = parsed.success ? withoutNegativeZero(parsed.data) : undefined;
        const fast = parseEventsReplyFast(value);
        if (parsed.success) expect(fast).toEqual(expected);
        else expect(fast).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });

  it('seal an accepted events page: frozen records and bodies, -0 read as 0', () => {
    const json = JSON.parse(
      '{"items":[{"id":"a","t":-0,"body":{"x":[-0,{"y":-0}],"__proto__":{"z":1}}},{"id":"b","t":2,"body":-0}],"next":null}',
    );
    const reply = parseEventsReplyFast(json);
    expect(reply).toBeDefined();
    const [a, b] = reply?.items ?? [];
    expect(Object.is(a?.t, 0)).toBe(true);
    expect(Object.is(b?.body, 0)).toBe(true);
    const body = a?.body as { x: [number, { y: number }] };
    expect(Object.is(body.x[0], 0)).toBe(true);
    expect(Object.is(body.x[1].y, 0)).toBe(true);
    expect(Object.hasOwn(body, '__proto__')).toBe(true);
    for (const frozen of [reply?.items, a, b, body, body.x, body.x[1]]) {
      expect(Object.isFrozen(frozen)).toBe(true);
    }
    expect(isSealedEvents(reply?.items)).toBe(true);
    // A copy of the array is not sealed: whoever receives it checks it again.
    expect(isSealedEvents([...(reply?.items ?? [])])).toBe(false);
  });

  it('decline an events page while Object.prototype has an enumerable key (polluted)', () => {
    const json = JSON.parse('{"items":[{"id":"a","t":1,"body":{"x":1}}],"next":null}');
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = 1;
    try {
      expect(parseEventsReplyFast(json)).toBeUndefined();
      expect(Object.isFrozen(json.items[0].body)).toBe(false);
    } finally {
      delete proto.polluted;
    }
    expect(parseEventsReplyFast(json)?.items).toEqual([{ id: 'a', t: 1, body: { x: 1 } }]);
  });

  it('decline a page with a number JSON cannot hold or a body nested too deep', () => {
    const deep = `${'['.repeat(MAX_BODY_DEPTH + 2)}${']'.repeat(MAX_BODY_DEPTH + 2)}`;
    const ok = `${'['.repeat(MAX_BODY_DEPTH + 1)}${']'.repeat(MAX_BODY_DEPTH + 1)}`;
    const page = (body: string): unknown =>
      JSON.parse(`{"items":[{"id":"a","t":1,"body":${body}}],"next":null}`);
    expect(parseEventsReplyFast(page('{"big":1e400}'))).toBeUndefined();
    expect(parseEventsReplyFast(page(deep))).toBeUndefined();
    expect(parseEventsReplyFast(page(ok))).toBeDefined();
  });

  it('reject an own __proto__ key as the strict schema does', () => {
    const points = JSON.parse('{"items":[{"t":1,"v":1,"__proto__":{"x":1}}],"next":null}');
    const events = JSON.parse('{"items":[{"id":"a","t":1,"body":1,"__proto__":{}}],"next":null}');
    expect(pointsReplySchema.safeParse(points).success).toBe(false);
    expect(parsePointsReplyFast(points)).toBeUndefined();
    expect(eventsReplySchema.safeParse(events).success).toBe(false);
    expect(parseEventsReplyFast(events)).toBeUndefined();
  });
});

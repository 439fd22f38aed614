import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  eventsReplySchema,
  parseEventsReplyFast,
  parsePointsReplyFast,
  pointsReplySchema,
} from '../../src/peer/wire.js';

const RUNS = Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 300);

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

  it('accept exactly what the events schema accepts, with the same result', () => {
    fc.assert(
      fc.property(reply(fc.oneof(record(['id', 't', 'body']), goodEvent)), (value) => {
        const parsed = eventsReplySchema.safeParse(value);
        const fast = parseEventsReplyFast(value);
        if (parsed.success) expect(fast).toEqual(parsed.data);
        else expect(fast).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
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

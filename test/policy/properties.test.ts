import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/errors.js';
import { computePolicyId } from '../../src/policy/id.js';
import { parsePolicies } from '../../src/policy/parse.js';
import { serializePolicies } from '../../src/policy/serialize.js';
import type { Policy, PolicyValue } from '../../src/policy/types.js';
import { validatePolicies } from '../../src/policy/validate.js';

const numRuns = Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 200);
const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'valueOf',
];

const key = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom(...HOSTILE_KEYS, 'id', 'date', 'name', 'company', 'table', 'parent'),
);
const number = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (n === 0 ? 0 : n)),
  fc.constantFrom(0.1, 1e-7, 1e16, 1.5e300, 5, 2 ** 60),
);
const leaf: fc.Arbitrary<PolicyValue> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: 'grapheme-ascii', maxLength: 12 }),
  number,
  fc.boolean(),
  fc.constant(null),
);
const { value } = fc.letrec<{ value: PolicyValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 4, noNullPrototype: true }),
  ),
}));
const body = fc.dictionary(key, value, { maxKeys: 6, noNullPrototype: true });
const policy: fc.Arbitrary<Policy> = fc
  .tuple(fc.oneof(fc.constantFrom('cluster', 'operator', 'table'), key), body)
  .map(([type, b]) => {
    const result: Policy = {};
    Object.defineProperty(result, type, {
      value: b,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    return result;
  });
const policies = fc.array(policy, { maxLength: 5 });

/** A policy value, also written as JSON text and as Python-literal text by this test. */
interface Written {
  readonly json: string;
  readonly python: string;
}

function pyString(text: string): string {
  const inner = JSON.stringify(text).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'");
  return `'${inner}'`;
}

/** Whole floats written `5.0`/`1e+16` (a float in Python and in Python's JSON reader). */
function floatText(n: number): string {
  if (!Number.isInteger(n)) return String(n);
  return Math.abs(n) < 1e16 ? `${n}.0` : n.toExponential();
}

const { w: written } = fc.letrec<{ w: Written }>((tie) => ({
  w: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc
      .string({ unit: 'binary', maxLength: 10 })
      .map((s) => ({ json: JSON.stringify(s), python: pyString(s) })),
    fc.integer().map((n) => ({ json: String(n), python: String(n) })),
    fc
      .oneof(
        fc.integer({ min: -1e6, max: 1e6 }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
      )
      .map((n) => ({ json: floatText(n), python: floatText(n) })),
    fc.boolean().map((b) => ({ json: String(b), python: b ? 'True' : 'False' })),
    fc.constant({ json: 'null', python: 'None' }),
    fc.tuple(fc.array(tie('w'), { maxLength: 3 }), fc.boolean()).map(([items, trailing]) => ({
      json: `[${items.map((i) => i.json).join(', ')}]`,
      python: `[${items.map((i) => i.python).join(', ')}${trailing && items.length > 0 ? ',' : ''}]`,
    })),
    fc
      .tuple(
        fc.uniqueArray(fc.string({ maxLength: 5 }), { maxLength: 3 }),
        fc.array(tie('w'), { minLength: 3, maxLength: 3 }),
      )
      .map(([keys, items]) => ({
        json: `{${keys.map((k, i) => `${JSON.stringify(k)}: ${items[i]?.json}`).join(', ')}}`,
        python: `{${keys.map((k, i) => `${pyString(k)}: ${items[i]?.python}`).join(', ')}}`,
      })),
  ),
}));
const writtenPolicy = fc
  .tuple(
    fc.constantFrom('cluster', 'operator', 'table', 'sensor'),
    fc.uniqueArray(
      fc.constantFrom('company', 'name', 'parent', 'table', 'dbms', 'port', 'x', 'date'),
      { maxLength: 5 },
    ),
    fc.array(written, { minLength: 5, maxLength: 5 }),
  )
  .map(([type, keys, items]) => ({
    json: `{"${type}": {${keys.map((k, i) => `"${k}": ${items[i]?.json}`).join(', ')}}}`,
    python: `{'${type}' : {${keys.map((k, i) => `'${k}' : ${items[i]?.python}`).join(',\n ')}}},`,
  }));

function expectPolicyErrorOrNothing(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
  }
}

function prototypeIsClean(): boolean {
  return (
    Object.getOwnPropertyNames(Object.prototype).every((name) =>
      [
        'constructor',
        '__defineGetter__',
        '__defineSetter__',
        'hasOwnProperty',
        '__lookupGetter__',
        '__lookupSetter__',
        'isPrototypeOf',
        'propertyIsEnumerable',
        'toString',
        'valueOf',
        '__proto__',
        'toLocaleString',
      ].includes(name),
    ) && typeof Object.prototype.toString === 'function'
  );
}

describe('policy properties', () => {
  it('parse ∘ serialize round-trips in every format, keys in order', () => {
    fc.assert(
      fc.property(
        policies,
        fc.constantFrom('json', 'ndjson', 'python') as fc.Arbitrary<'json' | 'ndjson' | 'python'>,
        (list, format) => {
          const text = serializePolicies(list, format);
          // Lossless: by default a JSON integer beyond 64 bits reads back as a float (AnyLog's
          // orjson does the same), so the exact round trip keeps the digits.
          const parsed = parsePolicies(text, { jsonBigIntegers: 'exact' });
          expect(parsed).toEqual(list);
          // The default read is stable after one round: its text reads back the same Python.
          const read = parsePolicies(text);
          const again = parsePolicies(serializePolicies(read, format));
          expect(serializePolicies(again, 'python')).toBe(serializePolicies(read, 'python'));
          expect(serializePolicies(parsed, format)).toBe(text);
          expect(serializePolicies(parsed, 'json')).toBe(serializePolicies(list, 'json'));
        },
      ),
      { numRuns },
    );
  });

  it('the Python-literal and JSON forms of a policy parse equal and give the same id', () => {
    fc.assert(
      fc.property(writtenPolicy, (w) => {
        const [fromPython] = parsePolicies(w.python);
        const [fromJson] = parsePolicies(w.json);
        expect(fromPython).toEqual(fromJson);
        const id = computePolicyId(fromJson as Policy);
        expect(computePolicyId(fromPython as Policy)).toBe(id);
        // Whole floats survive every serialization: the id does not move.
        for (const format of ['json', 'ndjson', 'python'] as const) {
          const [again] = parsePolicies(serializePolicies([fromPython as Policy], format));
          expect(computePolicyId(again as Policy)).toBe(id);
        }
      }),
      { numRuns },
    );
  });

  it('arbitrary and mutated JSON-ish text never pollutes Object.prototype and throws only PolicyError', () => {
    const hostileJson = fc
      .tuple(fc.jsonValue(), fc.constantFrom(...HOSTILE_KEYS))
      .map(([v, k]) => JSON.stringify({ [k]: v }).replace('{', `{"${k}": {"polluted": true}, `))
      .chain((text) =>
        fc
          .tuple(
            fc.nat(text.length),
            fc.nat(3),
            fc.constantFrom('', '"', "'", '{', ']', ',', '\\', 'True', '5.0'),
          )
          .map(([at, drop, insert]) => text.slice(0, at) + insert + text.slice(at + drop)),
      );
    fc.assert(
      fc.property(fc.oneof(hostileJson, fc.string({ unit: 'binary' })), (text) => {
        expectPolicyErrorOrNothing(() => {
          const parsed = parsePolicies(text);
          validatePolicies(parsed);
          for (const p of parsed) expectPolicyErrorOrNothing(() => computePolicyId(p));
          serializePolicies(parsed, 'python');
        });
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(prototypeIsClean()).toBe(true);
      }),
      { numRuns },
    );
  });

  it('arbitrary JS values never pollute Object.prototype and throw only PolicyError', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withNullPrototype: true,
          withBoxedValues: true,
          withMap: true,
          withSet: true,
        }),
        (input) => {
          expectPolicyErrorOrNothing(() => parsePolicies(input));
          expectPolicyErrorOrNothing(() => parsePolicies([input]));
          expectPolicyErrorOrNothing(() => parsePolicies({ sensor: { value: input } }));
          validatePolicies([input, { x: input }]);
          expect(prototypeIsClean()).toBe(true);
        },
      ),
      { numRuns },
    );
  });
});

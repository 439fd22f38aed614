import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { PolicyError } from '../../src/errors.js';
import { computePolicyId } from '../../src/policy/id.js';
import { parsePolicies } from '../../src/policy/parse.js';
import { pythonRepr } from '../../src/policy/repr.js';
import { serializePolicies } from '../../src/policy/serialize.js';

// Ground truth from `make-big-int-fixture.py`: EdgeLake `generic/utils_json.py`, `str_to_json`,
// reads JSON with orjson (integers outside -2^63..2^64-1 become floats) and Python-literal text
// with Python's own parsers (exact integers).
interface BigIntCase {
  name: string;
  syntax: 'json' | 'python';
  source: string;
  md5: string;
  hashed: string;
  md5_exact: string;
  hashed_exact: string;
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/policy/python-big-int.json', import.meta.url), 'utf8'),
) as { cases: BigIntCase[] };

const only = (text: string, options?: Parameters<typeof parsePolicies>[1]) => {
  const [policy] = parsePolicies(text, options);
  if (policy === undefined) throw new Error('no policy');
  return policy;
};

describe('integers beyond 64 bits, against Python-generated ids (fixture)', () => {
  it('has JSON and Python-literal cases, some of them read as floats by orjson', () => {
    expect(fixture.cases.length).toBeGreaterThan(20);
    expect(fixture.cases.some((c) => c.md5 !== c.md5_exact)).toBe(true);
  });

  it.each(fixture.cases.map((c) => [c.name, c] as const))(
    '%s: the AnyLog id by default',
    (_name, c) => {
      const policy = only(c.source);
      expect(computePolicyId(policy)).toBe(c.md5);
      if (c.hashed.startsWith('{')) expect(pythonRepr(policy)).toBe(c.hashed);
    },
  );

  it.each(fixture.cases.map((c) => [c.name, c] as const))(
    "%s: exact digits with jsonBigIntegers: 'exact'",
    (_name, c) => {
      const policy = only(c.source, { jsonBigIntegers: 'exact' });
      expect(computePolicyId(policy)).toBe(c.md5_exact);
      if (c.hashed_exact.startsWith('{')) expect(pythonRepr(policy)).toBe(c.hashed_exact);
    },
  );
});

describe('jsonBigIntegers', () => {
  const json = '{"operator": {"name": "x", "serial": 18446744073709551616}}';

  it('decides per top-level value: a Python-literal policy keeps its digits beside a JSON one', () => {
    const [a, b] = parsePolicies(
      `${json}\n{"operator": {"name": "x", "serial": 18446744073709551616, "main": True}}`,
    );
    expect(pythonRepr(a as never)).toContain("'serial': 1.8446744073709552e+19");
    expect(pythonRepr(b as never)).toContain("'serial': 18446744073709551616,");
  });

  it.each([
    ['single quotes', `{"operator": {"name": 'x', "serial": 18446744073709551616}}`],
    ['a trailing comma', '{"operator": {"name": "x", "serial": 18446744073709551616,}}'],
    ['a Python escape', '{"operator": {"name": "\\x41", "serial": 18446744073709551616}}'],
    ['a raw tab in a string', '{"operator": {"name": "a\tb", "serial": 18446744073709551616}}'],
  ])('treats text with %s as Python (exact digits), as orjson refuses it', (_name, text) => {
    expect(pythonRepr(only(text))).toContain("'serial': 18446744073709551616}");
  });

  it('keeps the float through serializePolicies and a second parse', () => {
    const policy = only(json);
    const text = serializePolicies([policy], 'json');
    expect(text).toContain('1.8446744073709552e+19');
    expect(computePolicyId(only(text))).toBe(computePolicyId(policy));
    expect(computePolicyId(parsePolicies([policy])[0] as never)).toBe(computePolicyId(policy));
  });

  it('rejects an unknown value with POLICY_INVALID_OPTION', () => {
    expect(() => parsePolicies(json, { jsonBigIntegers: 'bigint' as never })).toThrowError(
      expect.objectContaining({ code: 'POLICY_INVALID_OPTION' }) as PolicyError,
    );
  });
});

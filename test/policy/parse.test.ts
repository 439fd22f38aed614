import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isEdgeHaError, PolicyError } from '../../src/errors.js';
import { computePolicyId } from '../../src/policy/id.js';
import { parsePolicies } from '../../src/policy/parse.js';
import { pythonRepr } from '../../src/policy/repr.js';
import { serializePolicies } from '../../src/policy/serialize.js';

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/policy/${name}`, import.meta.url), 'utf8');

function policyError(fn: () => unknown): PolicyError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return error as PolicyError;
  }
  throw new Error('expected a PolicyError');
}

describe('parsePolicies: the seed examples (Python-literal text from the AnyLog docs)', () => {
  it('parses the cluster example, keeping key order, nested tables and its id', () => {
    const policies = parsePolicies(fixture('seed-cluster.py.txt'));
    expect(policies).toHaveLength(1);
    const cluster = policies[0]?.cluster;
    expect(Object.keys(cluster ?? {})).toEqual([
      'company',
      'name',
      'master',
      'table',
      'id',
      'date',
      'status',
    ]);
    expect(cluster?.table).toEqual([
      { name: 'ping_sensor', dbms: 'litsanleandro', status: 'active' },
      { name: 'perecentagecpu_sensor', dbms: 'litsanleandro', status: 'active' },
    ]);
    expect(computePolicyId(policies[0] as never)).toBe('11612ba3c05e123e2a3fef9fcd4d53fe');
  });

  it('rejects the operator example stray "]" with a positioned POLICY_SYNTAX error', () => {
    const error = policyError(() => parsePolicies(fixture('seed-operator.py.txt')));
    expect(error.code).toBe('POLICY_SYNTAX');
    expect(error.line).toBe(7);
    expect(error.column).toBe(33);
    expect(error.message).toContain("Unexpected ']'");
    expect(error.message).toContain('line 7, column 33');
  });

  it('parses the operator example once the stray "]" is removed', () => {
    const text = fixture('seed-operator.py.txt').replace('145}}]', '145}}');
    const [operator] = parsePolicies(text);
    expect(operator).toEqual({
      operator: {
        cluster: '11612ba3c05e123e2a3fef9fcd4d53fe',
        ip: '24.23.250.144',
        local_ip: '10.0.0.78',
        port: 7848,
        id: '52612f21b18cf29f7d2e511e3ca56ca6',
        date: '2021-04-02T21:43:20.129597Z',
        member: 145,
      },
    });
  });
});

describe('parsePolicies: accepted forms', () => {
  const cluster = { cluster: { company: 'Smart City', name: 'power-plant' } };
  const operator = { operator: { name: 'op', port: 1, main: true, loc: null } };

  it('reads one JSON object, a JSON array and NDJSON to the same policies', () => {
    expect(parsePolicies('{"cluster": {"company": "Smart City", "name": "power-plant"}}')).toEqual([
      cluster,
    ]);
    const both = [cluster, operator];
    expect(
      parsePolicies(
        '[{"cluster": {"company": "Smart City", "name": "power-plant"}}, {"operator": {"name": "op", "port": 1, "main": true, "loc": null}}]',
      ),
    ).toEqual(both);
    expect(
      parsePolicies(
        '{"cluster": {"company": "Smart City", "name": "power-plant"}}\r\n{"operator": {"name": "op", "port": 1, "main": true, "loc": null}}\n\n',
      ),
    ).toEqual(both);
  });

  it('reads the Python-literal form: quotes, True/False/None, trailing commas, comma sequences', () => {
    const text = `{'cluster': {'company': 'Smart City', 'name': "power-plant",},},
{'operator': {'name': 'op', 'port': 1, 'main': True, 'loc': None,}},`;
    expect(parsePolicies(text)).toEqual([cluster, operator]);
    expect(parsePolicies("{'x': {'a': False, 'b': [1, 2,]}}")).toEqual([
      { x: { a: false, b: [1, 2] } },
    ]);
  });

  it('decodes JSON and Python string escapes', () => {
    const [policy] = parsePolicies(
      `{'x': {'a': 'it\\'s \\x41\\u00e9\\U0001F600\\0\\n', 'b': "caf\\u00e9 \\/ \\"q\\" \\t", 'c': '\\ud83d\\ude00'}}`,
    );
    expect(policy?.x).toEqual({
      a: "it's Aé😀\0\n",
      b: 'café / "q" \t',
      c: '😀',
    });
  });

  it('accepts a UTF-8 Uint8Array, a BOM, and empty input', () => {
    const bytes = new TextEncoder().encode('\ufeff{"t": {"é": 1}}');
    expect(parsePolicies(bytes)).toEqual([{ t: { é: 1 } }]);
    expect(parsePolicies('  \n ')).toEqual([]);
    expect(parsePolicies('[]')).toEqual([]);
    expect(policyError(() => parsePolicies(new Uint8Array([0x7b, 0xff, 0x7d]))).code).toBe(
      'POLICY_SYNTAX',
    );
  });

  it('keeps unknown attributes and key order, last duplicate key wins in first position', () => {
    const [policy] = parsePolicies(
      '{"operator": {"z": 1, "a": 2, "z": 3, "m": {"y": [], "b": {}}}}',
    );
    expect(Object.keys(policy?.operator ?? {})).toEqual(['z', 'a', 'm']);
    expect(policy?.operator?.z).toBe(3);
  });

  it('deep-copies already-parsed JS values, a single object or an array', () => {
    const input = { operator: { name: 'op', tags: ['a', { deep: true }] } };
    const [copy] = parsePolicies(input);
    expect(copy).toEqual(input);
    expect(copy).not.toBe(input);
    expect(copy?.operator?.tags).not.toBe(input.operator.tags);
    expect(parsePolicies([input, input])).toHaveLength(2);
  });
});

describe('parsePolicies: whole-number floats', () => {
  it('keeps 5.0 a float for hashing in the Python and JSON forms, not in plain JS values', () => {
    const python = parsePolicies("{'operator': {'name': 'x', 'weight': 5.0, 'n': 5}}");
    const json = parsePolicies('{"operator": {"name": "x", "weight": 5.0, "n": 5}}');
    const plain = parsePolicies({ operator: { name: 'x', weight: 5.0, n: 5 } });
    expect(python[0]?.operator?.weight).toBe(5);
    expect(pythonRepr(python[0] as never)).toBe(
      "{'operator': {'name': 'x', 'weight': 5.0, 'n': 5}}",
    );
    expect(computePolicyId(python[0] as never)).toBe(computePolicyId(json[0] as never));
    expect(pythonRepr(plain[0] as never)).toBe("{'operator': {'name': 'x', 'weight': 5, 'n': 5}}");
    expect(computePolicyId(plain[0] as never)).not.toBe(computePolicyId(python[0] as never));
  });

  it('keeps the mark through parsePolicies of its own output, loses it on spread', () => {
    const [parsed] = parsePolicies("{'operator': {'w': 1e16, 'l': [2.0]}}");
    const [again] = parsePolicies([parsed]);
    expect(pythonRepr(again as never)).toBe("{'operator': {'w': 1e+16, 'l': [2.0]}}");
    const spread = { operator: { ...parsed?.operator } };
    expect(pythonRepr(spread as never)).toBe("{'operator': {'w': 10000000000000000, 'l': [2.0]}}");
  });

  it('forgets the mark when the number is replaced', () => {
    const [parsed] = parsePolicies("{'operator': {'w': 5.0}}");
    (parsed?.operator as { w: number }).w = 6;
    expect(pythonRepr(parsed as never)).toBe("{'operator': {'w': 6}}");
  });

  it('keeps huge integers exact in Python-literal text and with jsonBigIntegers: exact', () => {
    for (const [text, options] of [
      ["{'operator': {'big': 12345678901234567890123}}", undefined],
      ['{"operator": {"big": 12345678901234567890123}}', { jsonBigIntegers: 'exact' as const }],
    ] as const) {
      const [parsed] = parsePolicies(text, options);
      expect(pythonRepr(parsed as never)).toBe("{'operator': {'big': 12345678901234567890123}}");
      expect(serializePolicies([parsed as never], 'ndjson')).toBe(
        '{"operator":{"big":12345678901234567890123}}\n',
      );
    }
  });

  it('reads JSON integers beyond 64 bits as the floats AnyLog (orjson) makes of them', () => {
    const [parsed] = parsePolicies('{"operator": {"big": 12345678901234567890123}}');
    expect(pythonRepr(parsed as never)).toBe("{'operator': {'big': 1.2345678901234568e+22}}");
    expect(serializePolicies([parsed as never], 'ndjson')).toBe(
      '{"operator":{"big":1.2345678901234568e+22}}\n',
    );
  });
});

describe('parsePolicies: errors', () => {
  const cases: [string, string, number, number][] = [
    ['{"a": {"b": 1,, }}', "Expected a quoted key, found ','", 1, 15],
    ['{"a": {"b": tru}}', "Unknown word 'tru'", 1, 13],
    ["{'a': {'b': 'open}}", 'Unterminated string', 1, 13],
    ['{"a": {"b": 1}', 'Unterminated object', 1, 1],
    ['\n\r\n  {"a":\r  [1,\n 2', 'Unterminated list', 4, 3],
    ['{"a":\n  {"b": 01}}', 'Invalid number', 2, 9],
    ['{"a": {"b": NaN}}', 'NaN is not allowed', 1, 13],
    ['{"a": {"b": 1e999}}', 'too large', 1, 13],
    ['{"a": {"b": "x\\q"}}', "Unknown escape '\\q'", 1, 15],
    ['{"a": {b: 1}}', 'Expected a quoted key', 1, 8],
    ['{"a" {"b": 1}}', "Expected ':'", 1, 6],
    ['{"a": {"b": "line\nbreak"}}', 'line break inside a string', 1, 13],
    ['{"a": {}} {"b": {}}', "Unexpected '{' after the end of a policy", 1, 11],
    ['{"a": {"b": "\\x4"}}', 'needs 2 hexadecimal digits', 1, 14],
  ];
  it.each(cases)('%j → POLICY_SYNTAX %s at %i:%i', (text, message, line, column) => {
    const error = policyError(() => parsePolicies(text));
    expect(error.code).toBe('POLICY_SYNTAX');
    expect(error.message).toContain(message);
    expect([error.line, error.column]).toEqual([line, column]);
  });

  it('rejects elements that are not policies with POLICY_SHAPE and their index', () => {
    const text = '{"a": {}}\n{"b": {}, "c": {}}';
    const error = policyError(() => parsePolicies(text));
    expect(error.code).toBe('POLICY_SHAPE');
    expect(error.index).toBe(1);
    expect([error.line, error.column]).toEqual([2, 1]);
    expect(policyError(() => parsePolicies('[{"a": {}}, {"a": [1]}]')).index).toBe(1);
    expect(policyError(() => parsePolicies('[{"a": {}}, 5]')).code).toBe('POLICY_SHAPE');
    expect(policyError(() => parsePolicies([{ a: {} }, { a: 'x' }])).index).toBe(1);
    expect(policyError(() => parsePolicies(42)).code).toBe('POLICY_SHAPE');
    expect(policyError(() => parsePolicies(null)).code).toBe('POLICY_SHAPE');
  });

  it('enforces maxBytes before parsing and maxDepth before recursing', () => {
    expect(policyError(() => parsePolicies('{"a": {"b": "xxxx"}}', { maxBytes: 10 })).code).toBe(
      'POLICY_TOO_LARGE',
    );
    // 'é' is 2 bytes in UTF-8: 18 characters, 19 bytes.
    expect(policyError(() => parsePolicies('{"a": {"b": "é"}} ', { maxBytes: 18 })).code).toBe(
      'POLICY_TOO_LARGE',
    );
    expect(parsePolicies('{"a": {"b": "é"}}', { maxBytes: 18 })).toHaveLength(1);
    expect(
      policyError(() => parsePolicies({ a: { b: 'x'.repeat(100) } }, { maxBytes: 50 })).code,
    ).toBe('POLICY_TOO_LARGE');
    const deep = `{"a": ${'['.repeat(200_000)}`;
    const error = policyError(() => parsePolicies(deep));
    expect(error.code).toBe('POLICY_TOO_DEEP');
    expect(error.line).toBe(1);
    expect(parsePolicies('{"a": {"b": [[1]]}}', { maxDepth: 4 })).toHaveLength(1);
    expect(policyError(() => parsePolicies('{"a": {"b": [[1]]}}', { maxDepth: 3 })).code).toBe(
      'POLICY_TOO_DEEP',
    );
    let value: unknown = 1;
    for (let i = 0; i < 100_000; i++) value = [value];
    expect(policyError(() => parsePolicies({ a: { b: value } })).code).toBe('POLICY_TOO_DEEP');
  });

  it('rejects invalid options', () => {
    for (const options of [{ maxBytes: 0 }, { maxDepth: 1001 }, { maxDepth: 1.5 }]) {
      expect(policyError(() => parsePolicies('[]', options)).code).toBe('POLICY_INVALID_OPTION');
    }
  });

  it('rejects JS values that are not JSON-like with POLICY_VALUE and the path', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const bad: [unknown, string][] = [
      [{ a: { b: undefined } }, 'a.b'],
      [{ a: { b: Number.NaN } }, 'a.b'],
      [{ a: { b: () => 1 } }, 'a.b'],
      [{ a: { b: new Date(0) } }, 'a.b'],
      [{ a: { b: 1n } }, 'a.b'],
      [{ a: cyclic }, 'a.self'],
      // biome-ignore lint/suspicious/noSparseArray: a sparse list is the case under test
      [{ a: { b: [1, , 3] } }, 'a.b'],
      [
        {
          a: {
            get b() {
              return 1;
            },
          },
        },
        'a.b',
      ],
    ];
    for (const [value, path] of bad) {
      const error = policyError(() => parsePolicies(value));
      expect(error.code).toBe('POLICY_VALUE');
      expect(error.path?.join('.')).toBe(path);
    }
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap');
        },
      },
    );
    expect(policyError(() => parsePolicies({ a: hostile })).code).toBe('POLICY_VALUE');
  });
});

describe('parsePolicies: hostile keys', () => {
  it('keeps __proto__, constructor and prototype as own data properties, in order', () => {
    const text =
      '{"operator": {"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": 1}}, "prototype": 2}}';
    const [policy] = parsePolicies(text);
    const body = policy?.operator as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['__proto__', 'constructor', 'prototype']);
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(body, '__proto__')?.value).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(pythonRepr(policy as never)).toBe(
      "{'operator': {'__proto__': {'polluted': True}, 'constructor': {'prototype': {'polluted': 1}}, 'prototype': 2}}",
    );
    const [copy] = parsePolicies([policy]);
    expect(Object.keys(copy?.operator ?? {})).toEqual(['__proto__', 'constructor', 'prototype']);
    expect(
      isEdgeHaError(
        policyError(() => parsePolicies('{"__proto__": 1}')),
        'POLICY_SHAPE',
      ),
    ).toBe(true);
  });
});

/**
 * Policy input fuzz: generated policy texts (JSON and AnyLog's Python-literal form) and random
 * mutations of them go into parsePolicies. A well-formed text parses to exactly its value; any
 * other input fails with a coded PolicyError only; nothing ever reaches Object.prototype; deeply
 * nested input is bounded (a per-case guard fails a parse that takes absurdly long — it is a hang
 * detector, not a timing assertion).
 */

import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isEdgeHaError, PolicyError } from '../../src/errors.js';
import { computePolicyId } from '../../src/policy/id.js';
import { parsePolicies } from '../../src/policy/parse.js';
import { serializePolicies } from '../../src/policy/serialize.js';
import type { Policy } from '../../src/policy/types.js';
import { fcParams } from './helpers.js';

/** A generated value as a tree, so both renderers can write any key (also `__proto__`). */
type Tree =
  | { readonly k: 'str'; readonly v: string }
  | { readonly k: 'int'; readonly v: number }
  | { readonly k: 'float'; readonly v: number }
  | { readonly k: 'bool'; readonly v: boolean }
  | { readonly k: 'null' }
  | { readonly k: 'list'; readonly v: readonly Tree[] }
  | { readonly k: 'obj'; readonly v: readonly (readonly [string, Tree])[] };

const keyArb = fc.oneof(
  {
    arbitrary: fc.constantFrom('name', 'company', 'ip', 'port', 'table', 'dbms', 'status'),
    weight: 3,
  },
  {
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
    ),
    weight: 1,
  },
  // Integer-like keys are left out here: JS orders them first (see the known-bug test below).
  {
    arbitrary: fc.string({ maxLength: 8 }).filter((key) => !/^(0|[1-9][0-9]*)$/.test(key)),
    weight: 2,
  },
);

const { tree: treeArb } = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 12, unit: 'grapheme' }).map((v): Tree => ({ k: 'str', v })),
    fc.integer({ min: -1_000_000, max: 1_000_000 }).map((v): Tree => ({ k: 'int', v })),
    fc
      .double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true })
      .filter((v) => !Number.isInteger(v))
      .map((v): Tree => ({ k: 'float', v })),
    fc.boolean().map((v): Tree => ({ k: 'bool', v })),
    fc.constant<Tree>({ k: 'null' }),
    fc.array(tie('tree'), { maxLength: 4 }).map((v): Tree => ({ k: 'list', v })),
    fc
      .uniqueArray(fc.tuple(keyArb, tie('tree')), { maxLength: 4, selector: ([key]) => key })
      .map((v): Tree => ({ k: 'obj', v })),
  ),
}));

/** A policy: one root key (its type) whose body is an object. */
const policyArb: fc.Arbitrary<Tree> = fc
  .tuple(
    fc.constantFrom('cluster', 'operator', 'table', 'master', 'config'),
    fc.uniqueArray(fc.tuple(keyArb, treeArb), { maxLength: 6, selector: ([key]) => key }),
  )
  .map(([type, body]): Tree => ({ k: 'obj', v: [[type, { k: 'obj', v: body }]] }));

function json(tree: Tree): string {
  switch (tree.k) {
    case 'str':
      return JSON.stringify(tree.v);
    case 'int':
    case 'float':
      return JSON.stringify(tree.v);
    case 'bool':
      return String(tree.v);
    case 'null':
      return 'null';
    case 'list':
      return `[${tree.v.map(json).join(', ')}]`;
    case 'obj':
      return `{${tree.v.map(([key, value]) => `${JSON.stringify(key)}: ${json(value)}`).join(', ')}}`;
  }
}

function pyString(text: string): string {
  let out = "'";
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === "'" || ch === '\\') out += `\\${ch}`;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code >= 0xd800 && code <= 0xdfff) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}'`;
}

function python(tree: Tree, trailing: boolean): string {
  const comma = trailing ? ',' : '';
  switch (tree.k) {
    case 'str':
      return pyString(tree.v);
    case 'int':
      return String(tree.v);
    case 'float':
      return String(tree.v);
    case 'bool':
      return tree.v ? 'True' : 'False';
    case 'null':
      return 'None';
    case 'list':
      return `[${tree.v.map((t) => python(t, trailing)).join(', ')}${tree.v.length > 0 ? comma : ''}]`;
    case 'obj':
      return `{${tree.v
        .map(([key, value]) => `${pyString(key)} : ${python(value, trailing)}`)
        .join(', ')}${tree.v.length > 0 ? comma : ''}}`;
  }
}

/** The text the parser's result must serialise back to (JSON.stringify keeps own `__proto__`). */
function canonical(tree: Tree): string {
  switch (tree.k) {
    case 'list':
      return `[${tree.v.map(canonical).join(',')}]`;
    case 'obj':
      return `{${tree.v.map(([key, value]) => `${JSON.stringify(key)}:${canonical(value)}`).join(',')}}`;
    case 'str':
      return JSON.stringify(tree.v);
    default:
      return json(tree);
  }
}

const SYNTAX = [
  '{',
  '}',
  '[',
  ']',
  ':',
  ',',
  "'",
  '"',
  '\\',
  'True',
  'None',
  '1e999',
  '-',
  '.',
  '\n',
  '\u0000',
  '\ud800',
  'é',
  '__proto__',
];

type Mutation =
  | { op: 'delete'; at: number; length: number }
  | { op: 'insert'; at: number; text: string }
  | { op: 'duplicate'; at: number; length: number }
  | { op: 'truncate'; at: number }
  | { op: 'nest'; at: number; depth: number; open: string };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    op: fc.constant('delete' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 8 }),
  }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    text: fc.oneof(fc.constantFrom(...SYNTAX), fc.string({ maxLength: 4 })),
  }),
  fc.record({
    op: fc.constant('duplicate' as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 40 }),
  }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('nest' as const),
    at: fc.nat(),
    depth: fc.integer({ min: 50, max: 20_000 }),
    open: fc.constantFrom('[', "{'a': ", '{"a": [', '('),
  }),
);

function mutate(text: string, mutations: readonly Mutation[]): string {
  let out = text;
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1);
    switch (m.op) {
      case 'delete':
        out = out.slice(0, at) + out.slice(at + m.length);
        break;
      case 'insert':
        out = out.slice(0, at) + m.text + out.slice(at);
        break;
      case 'duplicate':
        out = out.slice(0, at + m.length) + out.slice(at, at + m.length) + out.slice(at + m.length);
        break;
      case 'truncate':
        out = out.slice(0, at);
        break;
      case 'nest':
        out = out.slice(0, at) + m.open.repeat(m.depth) + out.slice(at);
        break;
    }
  }
  return out;
}

const POLICY_CODES: ReadonlySet<string> = new Set([
  'POLICY_SYNTAX',
  'POLICY_TOO_LARGE',
  'POLICY_TOO_DEEP',
  'POLICY_SHAPE',
  'POLICY_UNHASHABLE',
  'POLICY_INVALID',
  'POLICY_VALUE',
]);

/** A parse slower than this is a hang (deep input must be bounded), not a slow machine. */
const ABSURD_MS = 5_000;
const prototypeKeys = Object.getOwnPropertyNames(Object.prototype).sort();

/** Parses; returns the policies or the PolicyError. Fails on anything else. */
function parseGuarded(text: string): unknown[] | PolicyError {
  const start = performance.now();
  let result: unknown[] | PolicyError;
  try {
    result = parsePolicies(text);
  } catch (error) {
    if (!(error instanceof PolicyError) || !isEdgeHaError(error)) {
      throw new Error(
        `parsePolicies threw a non-PolicyError for ${JSON.stringify(text.slice(0, 200))}`,
        {
          cause: error,
        },
      );
    }
    expect(POLICY_CODES.has(error.code), error.code).toBe(true);
    expect(error.message.length).toBeGreaterThan(10);
    if (error.code === 'POLICY_SYNTAX') {
      expect(error.line).toBeGreaterThanOrEqual(1);
      expect(error.column).toBeGreaterThanOrEqual(1);
    }
    result = error;
  }
  const elapsed = performance.now() - start;
  expect(elapsed, `hang guard: parse took ${Math.round(elapsed)} ms`).toBeLessThan(ABSURD_MS);
  // Nothing reached a prototype.
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeKeys);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(({} as Record<string, unknown>).name).toBeUndefined();
  expect(typeof ({} as { toString: unknown }).toString).toBe('function');
  if (!(result instanceof PolicyError)) {
    expect(Array.isArray(result)).toBe(true);
    for (const policy of result) {
      expect(Object.getPrototypeOf(policy)).toBe(Object.prototype);
      expect(Object.keys(policy as object)).toHaveLength(1);
    }
  }
  return result;
}

const textCaseArb = fc.record({
  policies: fc.array(policyArb, { minLength: 1, maxLength: 3 }),
  form: fc.constantFrom('json', 'json-array', 'ndjson', 'python', 'python-trailing'),
  mutations: fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
});

function render(policies: readonly Tree[], form: string): string {
  switch (form) {
    case 'json':
      return policies.length === 1
        ? json(policies[0] as Tree)
        : `[${policies.map(json).join(',\n')}]`;
    case 'json-array':
      return `[${policies.map(json).join(', ')}]`;
    case 'ndjson':
      return policies.map(json).join('\n');
    case 'python':
      return policies.map((p) => python(p, false)).join(',\n');
    default:
      return `${policies.map((p) => `${python(p, true)},`).join('\n')}`;
  }
}

describe('policy input fuzz (parsePolicies)', () => {
  it('generated texts parse to their value; mutated texts parse or fail with a coded PolicyError', () => {
    let failures = 0;
    fc.assert(
      fc.property(textCaseArb, ({ policies, form, mutations }) => {
        const text = render(policies, form);
        const parsed = parseGuarded(text);
        expect(parsed, `${form}: ${text.slice(0, 300)}`).not.toBeInstanceOf(PolicyError);
        expect(JSON.stringify(parsed)).toBe(`[${policies.map(canonical).join(',')}]`);
        const mutant = parseGuarded(mutate(text, mutations));
        if (mutant instanceof PolicyError) failures++;
      }),
      fcParams(1000),
    );
    // The mutations really produce bad input (and sometimes still-valid input).
    expect(failures).toBeGreaterThan(100);
  });

  it('pathological nesting and sizes are rejected quickly with POLICY_TOO_DEEP / POLICY_SYNTAX', () => {
    const deep = [
      '['.repeat(100_000),
      `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      `${"{'a': ".repeat(50_000)}1${'}'.repeat(50_000)}`,
      `{"cluster": ${'{"x": '.repeat(30_000)}1${'}'.repeat(30_001)}`,
    ];
    for (const text of deep) {
      const result = parseGuarded(text);
      expect(result).toBeInstanceOf(PolicyError);
      expect(['POLICY_TOO_DEEP', 'POLICY_SYNTAX']).toContain((result as PolicyError).code);
    }
    const huge = parseGuarded(`{"cluster": {"name": "${'x'.repeat(17 * 1024 * 1024)}"}}`);
    expect((huge as PolicyError).code).toBe('POLICY_TOO_LARGE');
  });

  it('__proto__, constructor and prototype keys become own data, never prototypes', () => {
    for (const text of [
      '{"cluster": {"__proto__": {"polluted": true}, "name": "a", "company": "b"}}',
      "{'operator': {'constructor': {'prototype': {'polluted': True}}, 'name': 'x'}}",
      '{"__proto__": {"polluted": true}}',
      '[{"table": {"prototype": {"polluted": 1}}}]',
    ]) {
      const result = parseGuarded(text);
      expect(result).not.toBeInstanceOf(PolicyError);
      const [policy] = result as Record<string, unknown>[];
      const body = Object.values(policy ?? {})[0];
      expect(body === undefined || Object.getPrototypeOf(body) === Object.prototype).toBe(true);
    }
  });

  // KNOWN BUG (reported to the architect): a JS object lists integer-like keys ('0', '42') before
  // the others, so parsePolicies loses their input order. SPEC §1.1 wants unknown attributes to
  // round-trip in their original key order, and §1.3 hashes repr() in input key order, so the id
  // differs from AnyLog's. This test fails until the parser keeps the key order (e.g. a key-order
  // mark beside the float marks, honoured by repr/serialize).
  it('integer-like attribute names keep their input order (round trip and AnyLog id)', () => {
    const text = '{"operator": {"name": "x", "0": "y", "port": 1}}';
    const [policy] = parsePolicies(text) as Policy[];
    const anylogId = createHash('md5')
      .update("{'operator': {'name': 'x', '0': 'y', 'port': 1}}", 'utf8')
      .digest('hex');
    expect(computePolicyId(policy as Policy)).toBe(anylogId);
    expect(serializePolicies([policy as Policy], 'json').replace(/\s+/g, '')).toBe(
      '[{"operator":{"name":"x","0":"y","port":1}}]',
    );
  });
});

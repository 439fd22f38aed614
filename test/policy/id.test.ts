import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/errors.js';
import { computePolicyId } from '../../src/policy/id.js';
import { parsePolicies } from '../../src/policy/parse.js';
import { pythonRepr } from '../../src/policy/repr.js';
import type { Policy } from '../../src/policy/types.js';

interface ReprCase {
  syntax: 'python' | 'json';
  source: string;
  policy_source: string;
  repr: string;
  whole_float: boolean;
  policy_repr: string;
  md5: string;
}

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/policy/python-repr.json', import.meta.url), 'utf8'),
) as { cases: ReprCase[] };

const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

describe('Python repr and operator ids against real Python output (fixture)', () => {
  it('has the generated cases', () => {
    expect(fixture.cases.length).toBeGreaterThan(40);
  });

  it.each(fixture.cases.map((c) => [`${c.syntax} ${c.source}`, c] as const))('%s', (_name, c) => {
    const [policy] = parsePolicies(c.policy_source);
    expect(pythonRepr(policy as Policy)).toBe(c.policy_repr);
    expect(computePolicyId(policy as Policy)).toBe(c.md5);
    const hugeInt = /^-?\d+$/.test(c.repr) && !Number.isSafeInteger(Number(c.repr));
    if (!c.whole_float && !hugeInt) {
      // A bare value: only whole floats and huge ints need the parser's memory of their text.
      expect(pythonRepr(policy?.operator?.value as never)).toBe(c.repr);
    }
  });
});

describe('computePolicyId', () => {
  it('gives the AnyLog test vector for a cluster', () => {
    const id = computePolicyId({ cluster: { company: 'Smart City', name: 'power-plant' } });
    expect(id).toBe('2a5f83e1f2e63c16bbf5339988bf7489');
  });

  it('hashes cluster fields in the fixed order company, name, parent, table, whatever the key order', () => {
    const table = [{ name: 't1', dbms: 'd', status: 'active' }];
    const a = computePolicyId({
      cluster: { table, parent: 'p1', name: 'n', company: 'c', master: '1.2.3.4:2048' },
    });
    expect(a).toBe(
      md5(
        "cluster:company:c:name:n:parent:p1:table:[{'name': 't1', 'dbms': 'd', 'status': 'active'}]:",
      ),
    );
    // status, master, source, date, ledger are not part of a cluster id
    expect(
      computePolicyId({
        cluster: {
          company: 'c',
          name: 'n',
          parent: 'p1',
          table,
          status: 'down',
          date: 'x',
          ledger: 'local',
        },
      }),
    ).toBe(a);
  });

  it('hashes table policies from company, name, dbms', () => {
    expect(computePolicyId({ table: { dbms: 'd', name: 'n', company: 'c', extra: 1 } })).toBe(
      md5('table:company:c:name:n:dbms:d:'),
    );
  });

  it('hashes other types from the repr of the whole policy without date and ledger', () => {
    const policy = {
      operator: {
        name: 'x',
        date: '2021-04-02T21:43:20.129597Z',
        port: 32148,
        main: true,
        ledger: 'global',
      },
    };
    expect(computePolicyId(policy)).toBe(
      md5("{'operator': {'name': 'x', 'port': 32148, 'main': True}}"),
    );
    expect(computePolicyId({ operator: { port: 32148, name: 'x', main: true } })).not.toBe(
      computePolicyId(policy),
    );
  });

  it('returns an existing id unchanged', () => {
    expect(computePolicyId({ operator: { name: 'x', id: 'my-own-id' } })).toBe('my-own-id');
  });

  it('rejects non-policies, non-string ids and unhashable values with coded errors', () => {
    const code = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (error) {
        return error instanceof PolicyError ? error.code : 'NOT_A_POLICY_ERROR';
      }
      return undefined;
    };
    expect(code(() => computePolicyId({ a: {}, b: {} }))).toBe('POLICY_SHAPE');
    expect(code(() => computePolicyId({ a: [] } as never))).toBe('POLICY_SHAPE');
    expect(code(() => computePolicyId({ a: { id: 5 } }))).toBe('POLICY_SHAPE');
    expect(code(() => computePolicyId({ a: { x: Number.NaN } }))).toBe('POLICY_UNHASHABLE');
    expect(code(() => computePolicyId({ a: { x: Number.POSITIVE_INFINITY } }))).toBe(
      'POLICY_UNHASHABLE',
    );
    expect(code(() => computePolicyId({ cluster: { company: 'a\ud800', name: 'n' } }))).toBe(
      'POLICY_UNHASHABLE',
    );
  });
});

describe('pythonRepr', () => {
  it('quotes like Python', () => {
    expect(pythonRepr("it's")).toBe(`"it's"`);
    expect(pythonRepr(`"it's"`)).toBe(`'"it\\'s"'`);
    expect(pythonRepr('a\\b')).toBe("'a\\\\b'");
  });

  it('formats floats like Python at the notation boundaries', () => {
    const cases: [number, string][] = [
      [0.0001, '0.0001'],
      [0.00001, '1e-05'],
      [1e15 + 0.5, '1000000000000000.5'],
      [1.5e-5, '1.5e-05'],
      [-1e-7, '-1e-07'],
      [1.2345e-300, '1.2345e-300'],
    ];
    for (const [value, expected] of cases) expect(pythonRepr(value)).toBe(expected);
  });

  it('prints whole JS numbers as Python ints, with exact digits beyond 2^53', () => {
    expect(pythonRepr(5)).toBe('5');
    expect(pythonRepr(-0)).toBe('0');
    expect(pythonRepr(2 ** 70)).toBe('1180591620717411303424');
  });

  it('throws POLICY_UNHASHABLE for non-finite numbers and POLICY_TOO_DEEP for cycles', () => {
    expect(() => pythonRepr(Number.NaN)).toThrowError(
      expect.objectContaining({ code: 'POLICY_UNHASHABLE' }),
    );
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(() => pythonRepr(cyclic as never)).toThrowError(
      expect.objectContaining({ code: 'POLICY_TOO_DEEP' }),
    );
  });
});

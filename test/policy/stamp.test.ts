import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/errors.js';
import { computePolicyId } from '../../src/policy/id.js';
import { parsePolicies } from '../../src/policy/parse.js';
import { pythonRepr } from '../../src/policy/repr.js';
import { stampPolicy } from '../../src/policy/stamp.js';
import type { Policy } from '../../src/policy/types.js';

const SEED_DATE_MS = Date.parse('2021-04-02T18:31:46.802Z') + 0.694;
const now = (): number => SEED_DATE_MS;
const CLUSTER_ID = computePolicyId({ cluster: { company: 'acme', name: 'c1' } });
const operator = (body: Record<string, unknown> = {}): Policy =>
  ({
    operator: {
      company: 'acme',
      name: 'op',
      ip: '10.0.0.1',
      port: 7848,
      cluster: CLUSTER_ID,
      ...body,
    },
  }) as Policy;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof PolicyError ? error.code : 'NOT_A_POLICY_ERROR';
  }
  return undefined;
}

describe('stampPolicy', () => {
  it('stamps a cluster: id of the policy as given, microsecond date, status defaults, in that order', () => {
    const input = {
      cluster: { company: 'Smart City', name: 'power-plant', table: [{ name: 't', dbms: 'd' }] },
    };
    const before = JSON.stringify(input);
    const stamped = stampPolicy(input, { now });
    expect(JSON.stringify(input)).toBe(before);
    expect(stamped).toEqual({
      cluster: {
        company: 'Smart City',
        name: 'power-plant',
        table: [{ name: 't', dbms: 'd', status: 'active' }],
        id: computePolicyId(input),
        date: '2021-04-02T18:31:46.802694Z',
        status: 'active',
      },
    });
    expect(Object.keys(stamped.cluster ?? {})).toEqual([
      'company',
      'name',
      'table',
      'id',
      'date',
      'status',
    ]);
    // The id does not change when computed again from the stamped policy's own attributes.
    expect(computePolicyId(stamped)).toBe(computePolicyId(input));
  });

  it('never changes attributes that are already there', () => {
    const input = {
      cluster: {
        company: 'c',
        name: 'n',
        id: 'given',
        date: '2020-01-01T00:00:00.000000Z',
        status: 'down',
      },
    };
    expect(stampPolicy(input, { now, ledger: 'local' })).toEqual({
      cluster: { ...input.cluster, ledger: 'local' },
    });
    const op = operator({ member: 9, ledger: 'global' });
    expect(stampPolicy(op, { now, ledger: 'local' }).operator).toMatchObject({
      member: 9,
      ledger: 'global',
    });
  });

  it('gives an operator a member not used by other operators of its cluster', () => {
    const existing = [
      operator({ name: 'a', member: 1 }),
      operator({ name: 'b', member: 2 }),
      operator({ name: 'x', member: 3, cluster: 'another-cluster' }),
      { cluster: { company: 'acme', name: 'c1' } },
    ];
    expect(stampPolicy(operator(), { now, existing, random: () => 0 }).operator?.member).toBe(3);
    expect(
      stampPolicy(operator(), { now, existing, random: () => 0.999999 }).operator?.member,
    ).toBe(255);
    const members = new Set<unknown>();
    for (let i = 0; i < 50; i++)
      members.add(stampPolicy(operator(), { now, existing }).operator?.member);
    for (const member of members) {
      expect(member).toBeGreaterThanOrEqual(3);
      expect(member).toBeLessThanOrEqual(255);
    }
    // The member is added after the id: it is not part of the hash.
    const stamped = stampPolicy(operator(), { now, random: () => 0.5 });
    expect(stamped.operator?.id).toBe(computePolicyId(operator()));
    expect(Object.keys(stamped.operator ?? {}).slice(-3)).toEqual(['id', 'date', 'member']);
  });

  it('fails with POLICY_MEMBERS_EXHAUSTED when all 255 members are taken', () => {
    const existing = Array.from({ length: 255 }, (_, i) =>
      operator({ name: `o${i}`, member: i + 1 }),
    );
    expect(codeOf(() => stampPolicy(operator(), { now, existing }))).toBe(
      'POLICY_MEMBERS_EXHAUSTED',
    );
    expect(
      stampPolicy(operator(), { now, existing: existing.slice(1), random: () => 0.7 }).operator
        ?.member,
    ).toBe(1);
  });

  it('leaves an operator without cluster without member', () => {
    const stamped = stampPolicy({ operator: { name: 'solo' } }, { now });
    expect(stamped.operator?.member).toBeUndefined();
  });

  it('keeps whole-number floats of parsed policies', () => {
    const [parsed] = parsePolicies("{'sensor': {'name': 's', 'scale': 5.0}}");
    const stamped = stampPolicy(parsed as Policy, { now });
    expect(stamped.sensor?.id).toBe(computePolicyId(parsed as Policy));
    expect(pythonRepr(stamped)).toContain("'scale': 5.0");
  });

  it('rejects bad options and non-policies with coded errors', () => {
    expect(codeOf(() => stampPolicy(operator(), { random: () => 1 }))).toBe(
      'POLICY_INVALID_OPTION',
    );
    expect(codeOf(() => stampPolicy(operator(), { now: () => Number.NaN }))).toBe(
      'POLICY_INVALID_OPTION',
    );
    expect(codeOf(() => stampPolicy(operator(), { ledger: 'global' as 'local' }))).toBe(
      'POLICY_INVALID_OPTION',
    );
    expect(codeOf(() => stampPolicy({ a: {}, b: {} }))).toBe('POLICY_SHAPE');
    expect(codeOf(() => stampPolicy({ a: { x: Number.NaN } }))).toBe('POLICY_VALUE');
  });
});

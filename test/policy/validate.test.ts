import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { computePolicyId } from '../../src/policy/id.js';
import { parsePolicies } from '../../src/policy/parse.js';
import type { Policy } from '../../src/policy/types.js';
import {
  isClusterPolicy,
  isOperatorPolicy,
  isTablePolicy,
  POLICY_ISSUE_CODES,
  validatePolicies,
} from '../../src/policy/validate.js';

type Body = Record<string, unknown>;
const cluster = (body: Body = {}): Policy =>
  ({ cluster: { company: 'acme', name: 'c1', ...body } }) as Policy;
const CLUSTER = cluster();
const CID = computePolicyId(CLUSTER);
const operator = (body: Body = {}): Policy =>
  ({
    operator: { company: 'acme', name: 'op1', ip: '10.0.0.1', port: 32148, cluster: CID, ...body },
  }) as Policy;
const OP2 = { name: 'op2', port: 32149 };
const t1 = { dbms: 'lsl', name: 'ping_sensor' };
const t2 = { dbms: 'lsl', name: 'cpu_sensor' };

interface RuleCase {
  /** A set with the problem, and the index/path where it must be reported. */
  bad: unknown[];
  at: [number, (string | number)[]];
  /** The same set, fixed. */
  good: unknown[];
}

const RULES: Record<string, RuleCase> = {
  POLICY_NOT_OBJECT: { bad: [CLUSTER, 'cluster'], at: [1, []], good: [CLUSTER] },
  POLICY_ROOT_KEYS: {
    bad: [{ ...CLUSTER, ...operator() }],
    at: [0, []],
    good: [CLUSTER, operator()],
  },
  POLICY_BODY_NOT_OBJECT: { bad: [{ cluster: [] }], at: [0, ['cluster']], good: [CLUSTER] },
  VALUE_INVALID: {
    bad: [{ sensor: { a: [1, undefined] } }],
    at: [0, ['sensor', 'a', 1]],
    good: [{ sensor: { a: [1, null] } }],
  },
  ID_UNCOMPUTABLE: {
    bad: [{ cluster: { company: 'a\ud800', name: 'n' } }],
    at: [0, ['cluster']],
    good: [{ cluster: { company: 'a\ud800', name: 'n', id: 'given' } }],
  },
  ATTRIBUTE_MISSING: {
    bad: [cluster({ table: [{ dbms: 'lsl' }] })],
    at: [0, ['cluster', 'table', 0, 'name']],
    good: [cluster({ table: [t1] })],
  },
  ATTRIBUTE_TYPE: {
    bad: [CLUSTER, operator({ main: 'yes' })],
    at: [1, ['operator', 'main']],
    good: [CLUSTER, operator({ main: true })],
  },
  STATUS_INVALID: {
    bad: [cluster({ table: [{ ...t1, status: 'paused' }] })],
    at: [0, ['cluster', 'table', 0, 'status']],
    good: [cluster({ table: [{ ...t1, status: 'static' }] })],
  },
  PORT_RANGE: {
    bad: [CLUSTER, operator({ rest_port: 70000 })],
    at: [1, ['operator', 'rest_port']],
    good: [CLUSTER, operator({ rest_port: 65535 })],
  },
  MEMBER_RANGE: {
    bad: [CLUSTER, operator({ member: 0 })],
    at: [1, ['operator', 'member']],
    good: [CLUSTER, operator({ member: 255 })],
  },
  IP_INVALID: {
    bad: [CLUSTER, operator({ ip: 'not an ip!' })],
    at: [1, ['operator', 'ip']],
    good: [CLUSTER, operator({ ip: 'node-1.example.com', local_ip: 'fe80::1' })],
  },
  ID_DUPLICATE: {
    bad: [CLUSTER, { sensor: { id: CID } }],
    at: [1, ['sensor', 'id']],
    good: [CLUSTER, { sensor: { id: 'other' } }],
  },
  CLUSTER_DUPLICATE_NAME: {
    bad: [cluster({ id: 'a' }), cluster({ id: 'b' })],
    at: [1, ['cluster', 'name']],
    good: [cluster({ id: 'a' }), cluster({ id: 'b', name: 'c2' })],
  },
  CLUSTER_PARENT_UNKNOWN: {
    bad: [CLUSTER, cluster({ parent: 'no-such-cluster', id: 'child' })],
    at: [1, ['cluster', 'parent']],
    good: [CLUSTER, cluster({ parent: CID, id: 'child' })],
  },
  CLUSTER_PARENT_NOT_ROOT: {
    bad: [
      CLUSTER,
      cluster({ parent: CID, id: 'child1' }),
      cluster({ parent: 'child1', id: 'child2' }),
    ],
    at: [2, ['cluster', 'parent']],
    good: [CLUSTER, cluster({ parent: CID, id: 'child1' }), cluster({ parent: CID, id: 'child2' })],
  },
  CLUSTER_PARENT_MISMATCH: {
    bad: [CLUSTER, cluster({ parent: CID, name: 'other', id: 'child' })],
    at: [1, ['cluster', 'parent']],
    good: [CLUSTER, cluster({ parent: CID, id: 'child' })],
  },
  TABLE_DUPLICATE_IN_CLUSTER: {
    bad: [
      cluster({ table: [t1] }),
      cluster({ parent: computePolicyId(cluster({ table: [t1] })), id: 'ch', table: [t2, t1] }),
    ],
    at: [1, ['cluster', 'table', 1]],
    good: [
      cluster({ table: [t1] }),
      cluster({ parent: computePolicyId(cluster({ table: [t1] })), id: 'ch', table: [t2] }),
    ],
  },
  OPERATOR_CLUSTER_UNKNOWN: {
    bad: [CLUSTER, operator({ cluster: 'no-such-cluster' })],
    at: [1, ['operator', 'cluster']],
    good: [CLUSTER, operator()],
  },
  OPERATOR_CLUSTER_AMBIGUOUS: {
    bad: [cluster({ id: 'dup' }), cluster({ id: 'dup', name: 'c2' }), operator({ cluster: 'dup' })],
    at: [2, ['operator', 'cluster']],
    good: [
      cluster({ id: 'dup' }),
      cluster({ id: 'other', name: 'c2' }),
      operator({ cluster: 'dup' }),
    ],
  },
  OPERATOR_DUPLICATE_ADDRESS: {
    bad: [CLUSTER, operator(), operator({ name: 'op2' })],
    at: [2, ['operator', 'ip']],
    good: [CLUSTER, operator(), operator(OP2)],
  },
  OPERATOR_DUPLICATE_COMPANY_NAME: {
    bad: [CLUSTER, operator(), operator({ port: 1 })],
    at: [2, ['operator', 'name']],
    good: [CLUSTER, operator(), operator(OP2)],
  },
  OPERATOR_DUPLICATE_NAME: {
    bad: [CLUSTER, operator(), operator({ port: 1, company: 'other' })],
    at: [2, ['operator', 'name']],
    good: [CLUSTER, operator(), operator({ ...OP2, company: 'other' })],
  },
  OPERATOR_DUPLICATE_MEMBER: {
    bad: [CLUSTER, operator({ member: 7 }), operator({ ...OP2, member: 7 })],
    at: [2, ['operator', 'member']],
    good: [
      CLUSTER,
      cluster({ name: 'c2' }),
      operator({ member: 7 }),
      operator({ ...OP2, member: 8 }),
      operator({
        name: 'op3',
        port: 3,
        member: 7,
        cluster: computePolicyId(cluster({ name: 'c2' })),
      }),
    ],
  },
  // EdgeLake edge_lake/members/policies.py, new_cluster_policy: a new root cluster needs a name
  // no cluster has ("blockchain get cluster where name = …", whatever the company).
  CLUSTER_DUPLICATE_NAME_ACROSS_COMPANIES: {
    bad: [cluster({ id: 'a' }), cluster({ id: 'b', company: 'globex' })],
    at: [1, ['cluster', 'name']],
    good: [cluster({ id: 'a' }), cluster({ id: 'b', company: 'globex', name: 'c2' })],
  },
  // EdgeLake edge_lake/members/policies.py, unique_keys: "table" : [("dbms", "name")].
  TABLE_POLICY_DUPLICATE: {
    bad: [
      { table: { company: 'acme', dbms: 'lsl', name: 'ping_sensor' } },
      { table: { company: 'globex', dbms: 'lsl', name: 'ping_sensor' } },
    ],
    at: [1, ['table', 'name']],
    good: [
      { table: { company: 'acme', dbms: 'lsl', name: 'ping_sensor' } },
      { table: { company: 'globex', dbms: 'lsl', name: 'cpu_sensor' } },
    ],
  },
  // EdgeLake edge_lake/blockchain/metadata.py, update_operators: `if "cluster" in operator_info
  // and "member" in operator_info` — any other operator is passed over.
  OPERATOR_NO_MEMBER: {
    bad: [CLUSTER, operator()],
    at: [1, ['operator', 'member']],
    good: [CLUSTER, operator({ member: 1 })],
  },
  // EdgeLake edge_lake/blockchain/metadata.py, load keys cluster_to_servers_ by the parent id
  // of a child, and update_operators loads an operator only when its cluster is a key there.
  OPERATOR_CLUSTER_CHILD: {
    bad: [
      CLUSTER,
      cluster({ parent: CID, id: 'child' }),
      operator({ cluster: 'child', member: 1 }),
    ],
    at: [2, ['operator', 'cluster']],
    good: [CLUSTER, cluster({ parent: CID, id: 'child' }), operator({ member: 1 })],
  },
  OPERATOR_MULTIPLE_MAINS: {
    bad: [
      CLUSTER,
      operator({ main: true, member: 1 }),
      operator({ ...OP2, main: true, member: 2 }),
    ],
    at: [2, ['operator', 'main']],
    good: [CLUSTER, operator({ main: true }), operator({ ...OP2, main: false })],
  },
};

describe('validatePolicies: one failing and one passing case per rule', () => {
  it('covers every documented code, and the codes are unique', () => {
    const codes = POLICY_ISSUE_CODES.map((info) => info.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(Object.keys(RULES).sort()).toEqual([...codes].sort());
  });

  for (const info of POLICY_ISSUE_CODES) {
    const rule = RULES[info.code];
    it(`${info.code}: reported where the problem is, gone once fixed`, () => {
      expect(rule).toBeDefined();
      if (rule === undefined) return;
      const bad = validatePolicies(rule.bad);
      const found = bad.issues.filter((issue) => issue.code === info.code);
      expect(found.length).toBeGreaterThan(0);
      const [index, path] = rule.at;
      expect(found.map((issue) => [issue.index, issue.path])).toContainEqual([index, path]);
      for (const issue of found) {
        expect(issue.severity).toBe(info.severity);
        expect(issue.message.length).toBeGreaterThan(10);
      }
      expect(bad.valid).toBe(info.severity === 'warning');
      const good = validatePolicies(rule.good);
      expect(good.issues.filter((issue) => issue.code === info.code)).toEqual([]);
      expect(good.valid).toBe(true);
    });
  }
});

describe('validatePolicies', () => {
  it('reports every issue, not just the first, ordered by policy, with the policy id', () => {
    const text = readFileSync(
      new URL('../fixtures/policy/seed-cluster.py.txt', import.meta.url),
      'utf8',
    );
    const seedCluster = parsePolicies(text);
    const result = validatePolicies([
      ...seedCluster,
      {
        operator: { cluster: '11612ba3c05e123e2a3fef9fcd4d53fe', ip: '24.23.250.144', port: 99999 },
      },
      { operator: { ip: '', port: 'x' } },
    ]);
    expect(result.valid).toBe(false);
    expect(result.errors.map((issue) => [issue.index, issue.code, issue.path.join('.')])).toEqual([
      [1, 'ATTRIBUTE_MISSING', 'operator.company'],
      [1, 'ATTRIBUTE_MISSING', 'operator.name'],
      [1, 'PORT_RANGE', 'operator.port'],
      [2, 'ATTRIBUTE_MISSING', 'operator.company'],
      [2, 'ATTRIBUTE_MISSING', 'operator.name'],
      [2, 'ATTRIBUTE_MISSING', 'operator.cluster'],
      [2, 'IP_INVALID', 'operator.ip'],
      [2, 'ATTRIBUTE_TYPE', 'operator.port'],
    ]);
    const seedOperator = {
      operator: { cluster: '11612ba3c05e123e2a3fef9fcd4d53fe', ip: '24.23.250.144', port: 99999 },
    };
    expect(result.errors[0]?.policyId).toBe(computePolicyId(seedOperator));
    // the seed operator has no member: it would not be routed
    expect(result.warnings.map((issue) => [issue.index, issue.code])).toEqual([
      [1, 'OPERATOR_NO_MEMBER'],
    ]);
    expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual(result.errors);
  });

  it('accepts the seed cluster and a consistent HA set, and other policy types', () => {
    const result = validatePolicies([
      CLUSTER,
      operator({ main: true, member: 1, local_ip: '192.168.1.5', local_port: 7848 }),
      operator({ ...OP2, member: 2 }),
      { table: { company: 'acme', name: 'ping_sensor', dbms: 'lsl' } },
      { master: { anything: ['goes'] } },
    ]);
    expect(result).toEqual({ valid: true, errors: [], warnings: [], issues: [] });
  });

  it('keeps warnings apart from errors', () => {
    const result = validatePolicies(RULES.OPERATOR_MULTIPLE_MAINS?.bad ?? []);
    expect(result.valid).toBe(true);
    expect(result.errors).toEqual([]);
    expect(result.warnings.map((issue) => issue.code)).toEqual(['OPERATOR_MULTIPLE_MAINS']);
  });

  it('never throws on hostile input', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap');
        },
      },
    );
    const result = validatePolicies([hostile, null, undefined, 1n, { cluster: hostile }]);
    expect(result.errors.map((issue) => issue.index)).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('type guards', () => {
  it('check the single root key and the object body', () => {
    expect(isClusterPolicy(CLUSTER)).toBe(true);
    expect(isClusterPolicy(operator())).toBe(false);
    expect(isClusterPolicy({ cluster: [] })).toBe(false);
    expect(isClusterPolicy({ cluster: {}, extra: {} })).toBe(false);
    expect(isOperatorPolicy(operator())).toBe(true);
    expect(isOperatorPolicy(null)).toBe(false);
    expect(isTablePolicy({ table: { name: 't' } })).toBe(true);
    expect(isTablePolicy({ table: 'x' })).toBe(false);
  });
});

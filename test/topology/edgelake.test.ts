/**
 * Differential fixtures against AnyLog's open-source core, EdgeLake (github EdgeLake/EdgeLake,
 * read for behaviour only). Each case names the EdgeLake file and function whose behaviour it
 * encodes; docs/routing.md ("What AnyLog's own code does") describes the same rules.
 */

import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/policy/types.js';
import { Topology } from '../../src/topology/index.js';
import { cluster, operator, thrown } from './fixtures.js';

const T = { dbms: 'd', table: 't' } as const;

function names(topology: Topology, request: Parameters<Topology['routeQuery']>[0]): string[] {
  return topology.routeQuery(request).targets.map((target) => target.operatorName);
}

function codes(topology: Topology): [string, number][] {
  return topology.issues.map((issue) => [issue.code, issue.index]);
}

describe('EdgeLake: an operator with type "data source" is never sent a query', () => {
  // edge_lake/blockchain/metadata.py, update_operators sets foreign_net when
  // operator_info["type"].lower() == "data source"; get_any_operator never returns a
  // foreign_net operator (neither as the main nor in the round-robin).
  const policies = (): Policy[] => [
    cluster({ id: 'c', name: 'c', tables: [['d', 't']] }),
    operator({ id: 's', name: 'src', cluster: 'c', ip: '10.0.0.1', port: 1, type: 'Data Source' }),
    operator({ id: 'o', name: 'op', cluster: 'c', ip: '10.0.0.2', port: 1 }),
  ];

  it('is skipped by the round-robin, with nodes main and all', () => {
    const topology = Topology.fromPolicies(policies());
    for (const nodes of ['main', 'all'] as const) {
      expect([0, 1, 2].map(() => names(topology, { ...T, nodes })[0])).toEqual(['op', 'op', 'op']);
    }
  });

  it('is not used as the main either', () => {
    const list = policies();
    list[1] = operator({
      id: 's',
      name: 'src',
      cluster: 'c',
      ip: '10.0.0.1',
      port: 1,
      main: true,
      type: 'data source',
    });
    expect(names(Topology.fromPolicies(list), T)).toEqual(['op']);
  });

  it('leaves a cluster whose only live operator is a data source without a query target', () => {
    const topology = Topology.fromPolicies(policies());
    topology.reportFailure('10.0.0.2:1');
    const error = thrown(() => topology.routeQuery(T));
    expect(error.code).toBe('TOPOLOGY_NO_LIVE_OPERATOR');
    expect(error.message).toContain('data source');
  });

  it('still holds a copy: writes and reports include it', () => {
    const topology = Topology.fromPolicies(policies());
    const write = topology.routeWrite(T);
    expect(write.targets.map((target) => target.operatorName)).toEqual(['src', 'op']);
    expect(topology.dataNodes().map((row) => row.nodeName)).toEqual(['src', 'op']);
  });
});

describe('EdgeLake: an operator without member is not an HA operator', () => {
  // edge_lake/blockchain/metadata.py, update_operators: only an operator with both "cluster"
  // and "member" is added to cluster_to_servers_ (so get_any_operator and the data nodes
  // report, add_cluster_info, never see the others).
  const policies = (): Policy[] => [
    cluster({ id: 'c', name: 'c', tables: [['d', 't']] }),
    operator({ id: 'n', name: 'no-member', cluster: 'c', ip: '10.0.0.1', port: 1, member: null }),
    operator({ id: 'o', name: 'op', cluster: 'c', ip: '10.0.0.2', port: 1 }),
  ];

  it('is not routed, not in the data nodes rows, and is reported as a warning', () => {
    const topology = Topology.fromPolicies(policies());
    expect([0, 1, 2].map(() => names(topology, { ...T, nodes: 'all' })[0])).toEqual([
      'op',
      'op',
      'op',
    ]);
    expect(topology.routeWrite(T).copies).toBe(1);
    expect(topology.dataNodes().map((row) => row.nodeName)).toEqual(['op']);
    expect(topology.liveness().map((entry) => entry.operatorName)).toEqual(['op']);
    expect(topology.reportFailure('10.0.0.1:1')).toBeUndefined();
    expect(codes(topology)).toEqual([['OPERATOR_NO_MEMBER', 1]]);
  });
});

describe("EdgeLake: an operator naming a child cluster's id is not loaded", () => {
  // edge_lake/blockchain/metadata.py, load registers a child ("parent" in the policy) under
  // its parent's id in cluster_to_servers_; update_operators only loads an operator whose
  // "cluster" is a key of cluster_to_servers_, so the child's own id matches nothing.
  const policies = (): Policy[] => [
    cluster({ id: 'root', name: 'r', tables: [['d', 't']] }),
    cluster({ id: 'child', name: 'r', parent: 'root', tables: [['d', 'u']] }),
    operator({ id: 'o1', name: 'op1', cluster: 'root', ip: '10.0.0.1', port: 1 }),
    operator({ id: 'o2', name: 'op2', cluster: 'child', ip: '10.0.0.2', port: 1 }),
  ];

  it('is neither routed nor reported as a node, and the load warns', () => {
    const topology = Topology.fromPolicies(policies());
    for (const table of ['t', 'u']) {
      expect([0, 1].map(() => names(topology, { dbms: 'd', table, nodes: 'all' })[0])).toEqual([
        'op1',
        'op1',
      ]);
    }
    expect(topology.dataNodes().map((row) => [row.table, row.nodeName])).toEqual([
      ['t', 'op1'],
      ['u', 'op1'],
    ]);
    expect(codes(topology)).toEqual([['OPERATOR_CLUSTER_CHILD', 3]]);
  });
});

describe('EdgeLake: with several main operators, the last one declared is the main', () => {
  // edge_lake/blockchain/metadata.py, update_operators: each new main: true operator replaces
  // cluster_to_servers_[cluster_id]["main"] (after printing "Multiple nodes are designated as
  // main nodes"); get_any_operator uses that one main, else the round-robin over all.
  const policies = (): Policy[] => [
    cluster({ id: 'c', name: 'c', tables: [['d', 't']] }),
    operator({ id: 'm1', name: 'main1', cluster: 'c', ip: '10.0.0.1', port: 1, main: true }),
    operator({ id: 'm2', name: 'main2', cluster: 'c', ip: '10.0.0.2', port: 1, main: true }),
    operator({ id: 'o3', name: 'other', cluster: 'c', ip: '10.0.0.3', port: 1 }),
  ];

  it('routes every query to the last main while it is live (the warning stays)', () => {
    const topology = Topology.fromPolicies(policies());
    expect([0, 1, 2].map(() => names(topology, T)[0])).toEqual(['main2', 'main2', 'main2']);
    expect(codes(topology)).toEqual([['OPERATOR_MULTIPLE_MAINS', 2]]);
    expect(topology.issues[0]?.message).toContain('the last one declared is the main');
  });

  it('falls back to the round-robin over every live operator when that main is down', () => {
    const topology = Topology.fromPolicies(policies());
    topology.reportFailure('10.0.0.2:1');
    expect([0, 1, 2, 3].map(() => names(topology, T)[0])).toEqual([
      'main1',
      'other',
      'main1',
      'other',
    ]);
  });
});

describe('EdgeLake: a route that fails for one cluster stops there', () => {
  // edge_lake/blockchain/metadata.py, get_operators_by_keys: the loop over the table's clusters
  // breaks at the first cluster for which get_any_operator finds no operator (without subset),
  // so the clusters after it are not asked and their round-robin positions do not move; the
  // clusters before it were asked and have moved.
  const policies = (): Policy[] => [
    cluster({ id: 'ca', name: 'a', tables: [['d', 't']] }),
    cluster({ id: 'cb', name: 'b', tables: [['d', 't']] }),
    cluster({ id: 'cc', name: 'c', tables: [['d', 't']] }),
    cluster({ id: 'cd', name: 'dd', tables: [['d', 't']] }),
    operator({ id: 'a1', name: 'a1', cluster: 'ca', ip: '10.1.0.1', port: 1 }),
    operator({ id: 'a2', name: 'a2', cluster: 'ca', ip: '10.1.0.2', port: 1 }),
    operator({ id: 'b1', name: 'b1', cluster: 'cb', ip: '10.2.0.1', port: 1 }),
    operator({ id: 'c1', name: 'c1', cluster: 'cc', ip: '10.3.0.1', port: 1 }),
    operator({ id: 'c2', name: 'c2', cluster: 'cc', ip: '10.3.0.2', port: 1 }),
    operator({ id: 'd1', name: 'd1', cluster: 'cd', ip: '10.4.0.1', port: 1 }),
  ];

  it("leaves the later clusters' positions where they were", () => {
    const topology = Topology.fromPolicies(policies());
    topology.reportFailure('10.2.0.1:1');
    expect(thrown(() => topology.routeQuery(T)).clusters).toEqual(['cb']);
    topology.reportSuccess('10.2.0.1:1');
    // a moved (it was asked before b failed), c did not
    expect(names(topology, T)).toEqual(['a2', 'b1', 'c1', 'd1']);
    expect(names(topology, T)).toEqual(['a1', 'b1', 'c2', 'd1']);
  });

  it('still names every cluster without a live operator, without moving the later ones', () => {
    const topology = Topology.fromPolicies(policies());
    topology.reportFailure('10.2.0.1:1');
    topology.reportFailure('10.4.0.1:1');
    const error = thrown(() => topology.routeQuery(T));
    expect(error.clusters).toEqual(['cb', 'cd']);
    expect(error.message).toContain('"b"');
    expect(error.message).toContain('"dd"');
    // a moved during the failed route; c was never asked
    const route = topology.routeQuery({ ...T, subset: true });
    expect(route.targets.map((target) => target.operatorName)).toEqual(['a2', 'c1']);
  });
});

describe('EdgeLake: a ledger with invalid policies loads the rest (invalid: skip)', () => {
  // edge_lake/blockchain/metadata.py, load: a cluster policy that fails test_cluster is passed
  // over (status.add_error, continue) and the others load; likewise the CLI reports of
  // edge_lake/cmd/member_cmd.py (get data nodes) work on what loaded.
  const ledger = (): Policy[] => [
    cluster({ id: 'good', name: 'good', tables: [['d', 't']] }), // 0
    { cluster: { company: 'x', name: 'bad', status: 'paused', id: 'bad' } } as Policy, // 1
    operator({ id: 'g1', name: 'g1', cluster: 'good', ip: '10.0.0.1', port: 1 }), // 2
    operator({ id: 'p0', name: 'p0', cluster: 'good', ip: '10.0.0.2', port: 0 }), // 3
    operator({ id: 'm3', name: 'm3', cluster: 'good', ip: '10.0.0.3', port: 1, member: 300 }), // 4
    operator({ id: 'ip', name: 'ip', cluster: 'good', ip: 'not an ip!', port: 1, member: 5 }), // 5
    operator({ id: 'of', name: 'of', cluster: 'bad', ip: '10.0.0.6', port: 1 }), // 6
    // the same address as the broken m3: kept once m3 is dropped
    operator({ id: 'g7', name: 'g7', cluster: 'good', ip: '10.0.0.3', port: 1, member: 7 }), // 7
  ];

  it('rejects the whole set by default', () => {
    const error = thrown(() => Topology.fromPolicies(ledger()));
    expect(error.code).toBe('TOPOLOGY_INVALID_POLICIES');
    expect(thrown(() => Topology.fromPolicies(ledger(), { invalid: 'reject' })).code).toBe(
      'TOPOLOGY_INVALID_POLICIES',
    );
  });

  it('drops each invalid policy and what depends on it, and reports every issue', () => {
    const topology = Topology.fromPolicies(ledger(), { invalid: 'skip' });
    expect(topology.skipped).toEqual([1, 3, 4, 5, 6]);
    expect(codes(topology)).toEqual([
      ['STATUS_INVALID', 1],
      ['PORT_RANGE', 3],
      ['MEMBER_RANGE', 4],
      ['IP_INVALID', 5],
      ['OPERATOR_CLUSTER_UNKNOWN', 6],
    ]);
    expect(topology.issues.every((issue) => issue.severity === 'error')).toBe(true);
    expect(topology.dataNodes().map((row) => row.nodeName)).toEqual(['g1', 'g7']);
    expect(names(topology, { ...T, nodes: 'all' })).toEqual(['g1']);
  });

  it('keeps the mode on reload, and reports warnings of a valid set', () => {
    const topology = Topology.fromPolicies(ledger(), { invalid: 'skip' });
    topology.reload(ledger().slice(0, 3));
    expect(topology.skipped).toEqual([1]);
    const strict = Topology.fromPolicies(ledger().slice(0, 1));
    expect(strict.issues).toEqual([]);
    expect(strict.skipped).toEqual([]);
    expect(() => strict.reload(ledger())).toThrow(
      expect.objectContaining({ code: 'TOPOLOGY_INVALID_POLICIES' }),
    );
  });

  it('rejects an unknown mode', () => {
    expect(thrown(() => Topology.fromPolicies([], { invalid: 'drop' as never })).code).toBe(
      'TOPOLOGY_INVALID_ARGUMENT',
    );
  });
});

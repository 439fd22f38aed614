import { describe, expect, it } from 'vitest';
import { isEdgeHaError } from '../../src/errors.js';
import { computePolicyId } from '../../src/policy/id.js';
import type { Policy } from '../../src/policy/types.js';
import { Topology } from '../../src/topology/index.js';
import { cluster, operator, splitNetwork, thrown } from './fixtures.js';

const PING = { dbms: 'litsanleandro', table: 'ping_sensor' } as const;
const CPU = { dbms: 'litsanleandro', table: 'cpu_sensor' } as const;

function names(topology: Topology, request: Parameters<Topology['routeQuery']>[0]): string[] {
  return topology.routeQuery(request).targets.map((target) => target.operatorName);
}

describe('Topology.fromPolicies', () => {
  it('rejects an invalid policy set with every validation issue attached', () => {
    const policies = [
      cluster({ id: 'ca', name: 'a', tables: [['d', 't']] }),
      operator({ id: 'o1', name: 'op1', cluster: 'nope', ip: '10.0.0.1', port: 7848 }),
      operator({ id: 'o2', name: 'op2', cluster: 'ca', ip: '10.0.0.1', port: 7848 }),
    ];
    const error = thrown(() => Topology.fromPolicies(policies));
    expect(error.code).toBe('TOPOLOGY_INVALID_POLICIES');
    const codes = error.issues.map((issue) => issue.code);
    expect(codes).toContain('OPERATOR_CLUSTER_UNKNOWN');
    expect(codes).toContain('OPERATOR_DUPLICATE_ADDRESS');
    expect(error.message).toMatch(/invalid \(\d+ errors\)/);
  });

  it('accepts warnings (two mains in one cluster) and ignores policies of other types', () => {
    const policies: Policy[] = [
      cluster({ id: 'ca', name: 'a', tables: [['d', 't']] }),
      operator({ id: 'o1', name: 'op1', cluster: 'ca', ip: '10.0.0.1', port: 1, main: true }),
      operator({ id: 'o2', name: 'op2', cluster: 'ca', ip: '10.0.0.2', port: 1, main: true }),
      { table: { company: 'Lit San Leandro', name: 't', dbms: 'd' } },
    ];
    const topology = Topology.fromPolicies(policies);
    expect(topology.stats()).toEqual({ clusters: 1, routableClusters: 1, operators: 2, tables: 1 });
    expect(topology.issues.map((issue) => [issue.code, issue.index])).toEqual([
      ['OPERATOR_MULTIPLE_MAINS', 2],
    ]);
    // the last main declared is the main (test/topology/edgelake.test.ts has the details)
    expect([0, 1, 2].map(() => names(topology, { dbms: 'd', table: 't' })[0])).toEqual([
      'op2',
      'op2',
      'op2',
    ]);
  });

  it('rejects bad arguments with TOPOLOGY_INVALID_ARGUMENT', () => {
    expect(thrown(() => Topology.fromPolicies('x' as never)).code).toBe(
      'TOPOLOGY_INVALID_ARGUMENT',
    );
    expect(thrown(() => Topology.fromPolicies([], { clock: {} as never })).code).toBe(
      'TOPOLOGY_INVALID_ARGUMENT',
    );
    expect(thrown(() => Topology.fromPolicies([], { localExternalIp: '' })).code).toBe(
      'TOPOLOGY_INVALID_ARGUMENT',
    );
  });

  it('uses computed policy ids when the policies have none (the seed cluster shape)', () => {
    const clusterPolicy: Policy = {
      cluster: {
        company: 'Lit San Leandro',
        name: 'lsl-cluster2',
        master: '45.33.41.185:2048',
        table: [{ name: 'ping_sensor', dbms: 'litsanleandro', status: 'active' }],
      },
    };
    const id = computePolicyId(clusterPolicy);
    const op = operator({
      id: 'op',
      name: 'lsl-op1',
      cluster: id,
      ip: '24.23.250.144',
      port: 7848,
    });
    const topology = Topology.fromPolicies([clusterPolicy, op]);
    const [target] = topology.routeQuery(PING).targets;
    expect(target?.clusterId).toBe(id);
    expect(target?.clusterName).toBe('lsl-cluster2');
  });
});

describe('routeQuery', () => {
  it('returns one operator from each cluster of a split table, in ledger order', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    const route = topology.routeQuery(PING);
    expect(route.targets.map((target) => target.clusterId)).toEqual(['ca', 'cb']);
    expect(route.complete).toBe(true);
    expect(route.skipped).toEqual([]);
    expect(topology.routeQuery(CPU).targets.map((target) => target.clusterId)).toEqual(['ca']);
  });

  it('keeps ledger order (input order) of the clusters of a table', () => {
    const [a, b, ...operators] = splitNetwork() as [Policy, Policy, ...Policy[]];
    const topology = Topology.fromPolicies([b, a, ...operators]);
    expect(topology.routeQuery(PING).targets.map((target) => target.clusterId)).toEqual([
      'cb',
      'ca',
    ]);
  });

  it('prefers the live main operator with nodes: main (the default)', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    for (let i = 0; i < 5; i++) expect(names(topology, CPU)).toEqual(['op-a1']);
    expect(names(topology, { ...CPU, nodes: 'main' })).toEqual(['op-a1']);
  });

  it('round-robins over the live operators of a cluster without main', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    const b = [0, 1, 2, 3].map(() => names(topology, PING)[1]);
    expect(b).toEqual(['op-b1', 'op-b2', 'op-b1', 'op-b2']);
  });

  it('round-robins over all live operators with nodes: all', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    const a = [0, 1, 2, 3, 4, 5].map(() => names(topology, { ...CPU, nodes: 'all' })[0]);
    expect(a).toEqual(['op-a1', 'op-a2', 'op-a3', 'op-a1', 'op-a2', 'op-a3']);
  });

  it('fails over when the main is down, and comes back to it after reportSuccess', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    topology.reportFailure('10.1.0.1:7848');
    const during = [0, 1, 2, 3].map(() => names(topology, CPU)[0]);
    expect(during).not.toContain('op-a1');
    expect(new Set(during)).toEqual(new Set(['op-a2', 'op-a3']));
    topology.reportSuccess('10.1.0.1:7848');
    expect(names(topology, CPU)).toEqual(['op-a1']);
  });

  it('never picks a not_responding operator in nodes: all while another is live', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    topology.reportFailure('10.1.0.2:7848');
    topology.reportFailure('10.1.0.3:7848');
    for (let i = 0; i < 4; i++)
      expect(names(topology, { ...CPU, nodes: 'all' })).toEqual(['op-a1']);
  });

  it('fails with TOPOLOGY_NO_LIVE_OPERATOR naming the cluster and its operators when all are down', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    topology.reportFailure('10.2.0.1:7848');
    topology.reportFailure('10.2.0.2:7848');
    const error = thrown(() => topology.routeQuery(PING));
    expect(error.code).toBe('TOPOLOGY_NO_LIVE_OPERATOR');
    expect(error.clusters).toEqual(['cb']);
    expect(error.message).toContain('cluster-b');
    expect(error.message).toContain('cb');
    expect(error.message).toContain('op-b1 at 10.2.0.1:7848 not_responding');
    expect(error.message).toContain('op-b2 at 10.2.0.2:7848 not_responding');
    expect(isEdgeHaError(error, 'TOPOLOGY_NO_LIVE_OPERATOR')).toBe(true);
    // the cluster with live operators is unaffected
    expect(names(topology, CPU)).toEqual(['op-a1']);
  });

  it('returns the partial route and the clusters left out with subset: true', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    topology.reportFailure('10.2.0.1:7848');
    topology.reportFailure('10.2.0.2:7848');
    const route = topology.routeQuery({ ...PING, subset: true });
    expect(route.complete).toBe(false);
    expect(route.targets.map((target) => target.clusterId)).toEqual(['ca']);
    expect(route.skipped).toHaveLength(1);
    expect(route.skipped[0]?.clusterId).toBe('cb');
    expect(route.skipped[0]?.clusterName).toBe('cluster-b');
    expect(route.skipped[0]?.operators.map((op) => [op.operatorName, op.status])).toEqual([
      ['op-b1', 'not_responding'],
      ['op-b2', 'not_responding'],
    ]);
  });

  it('treats a cluster without any operator as having no live operator', () => {
    const topology = Topology.fromPolicies([
      cluster({ id: 'ca', name: 'empty', tables: [['d', 't']] }),
    ]);
    const error = thrown(() => topology.routeQuery({ dbms: 'd', table: 't' }));
    expect(error.code).toBe('TOPOLOGY_NO_LIVE_OPERATOR');
    expect(error.message).toContain('no operator assigned');
    expect(topology.routeQuery({ dbms: 'd', table: 't', subset: true }).targets).toEqual([]);
  });

  it('fails with TOPOLOGY_UNKNOWN_TABLE for a table no cluster holds', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    expect(thrown(() => topology.routeQuery({ dbms: 'litsanleandro', table: 'nope' })).code).toBe(
      'TOPOLOGY_UNKNOWN_TABLE',
    );
    expect(thrown(() => topology.routeQuery({ ...PING, company: 'Other' })).code).toBe(
      'TOPOLOGY_UNKNOWN_TABLE',
    );
  });

  it('rejects malformed requests with TOPOLOGY_INVALID_ARGUMENT', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    for (const request of [
      null,
      { dbms: '', table: 't' },
      { dbms: 'd' },
      { ...PING, nodes: 'some' },
      { ...PING, subset: 'yes' },
      { ...PING, company: 5 },
    ]) {
      expect(thrown(() => topology.routeQuery(request as never)).code).toBe(
        'TOPOLOGY_INVALID_ARGUMENT',
      );
    }
  });

  it('without company, routes the clusters of every company holding dbms.table', () => {
    const topology = Topology.fromPolicies([
      cluster({ id: 'c1', name: 'x1', company: 'Acme', tables: [['d', 't']] }),
      cluster({ id: 'c2', name: 'x2', company: 'Globex', tables: [['d', 't']] }),
      operator({ id: 'o1', name: 'o1', company: 'Acme', cluster: 'c1', ip: '10.0.0.1', port: 1 }),
      operator({ id: 'o2', name: 'o2', company: 'Globex', cluster: 'c2', ip: '10.0.0.2', port: 1 }),
    ]);
    expect(topology.routeQuery({ dbms: 'd', table: 't' }).targets.map((t) => t.company)).toEqual([
      'Acme',
      'Globex',
    ]);
    expect(
      topology
        .routeQuery({ dbms: 'd', table: 't', company: 'Globex' })
        .targets.map((t) => t.operatorId),
    ).toEqual(['o2']);
  });
});

describe('cluster status', () => {
  const policies = (): Policy[] => [
    cluster({ id: 'live', name: 'live', tables: [['d', 't']] }),
    cluster({
      id: 'st',
      name: 'st',
      status: 'static',
      tables: [
        ['d', 't'],
        ['d', 'archive'],
      ],
    }),
    cluster({
      id: 'dn',
      name: 'dn',
      status: 'down',
      tables: [
        ['d', 't'],
        ['d', 'gone'],
      ],
    }),
    operator({ id: 'o1', name: 'o1', cluster: 'live', ip: '10.0.0.1', port: 1 }),
    operator({ id: 'o2', name: 'o2', cluster: 'st', ip: '10.0.0.2', port: 1 }),
    operator({ id: 'o3', name: 'o3', cluster: 'dn', ip: '10.0.0.3', port: 1 }),
  ];

  it('routes neither queries nor writes to static or down clusters', () => {
    const topology = Topology.fromPolicies(policies());
    expect(topology.routeQuery({ dbms: 'd', table: 't' }).targets.map((t) => t.clusterId)).toEqual([
      'live',
    ]);
    for (let i = 0; i < 4; i++) {
      expect(topology.routeWrite({ dbms: 'd', table: 't' }).clusterId).toBe('live');
    }
  });

  it('says a table held only by static or down clusters is not routable', () => {
    const topology = Topology.fromPolicies(policies());
    const error = thrown(() => topology.routeQuery({ dbms: 'd', table: 'archive' }));
    expect(error.code).toBe('TOPOLOGY_UNKNOWN_TABLE');
    expect(error.message).toMatch(/static or down/);
    expect(error.clusters).toEqual(['st']);
  });

  it('keeps static clusters (and down ones) known in the reports with their status', () => {
    const topology = Topology.fromPolicies(policies());
    const statuses = topology
      .virtualTables()
      .filter((row) => row.table === 't')
      .map((row) => [row.clusterId, row.clusterStatus]);
    expect(statuses).toEqual([
      ['live', 'active'],
      ['st', 'static'],
      ['dn', 'down'],
    ]);
    expect(topology.stats()).toMatchObject({ clusters: 3, routableClusters: 1 });
  });

  it('does not route a table entry whose own status is static or down', () => {
    const topology = Topology.fromPolicies([
      cluster({
        id: 'c1',
        name: 'a',
        tables: [
          ['d', 't'],
          ['d', 'old', 'static'],
        ],
      }),
      cluster({
        id: 'c2',
        name: 'b',
        tables: [
          ['d', 't', 'down'],
          ['d', 'old'],
        ],
      }),
      operator({ id: 'o1', name: 'o1', cluster: 'c1', ip: '10.0.0.1', port: 1 }),
      operator({ id: 'o2', name: 'o2', cluster: 'c2', ip: '10.0.0.2', port: 1 }),
    ]);
    expect(names(topology, { dbms: 'd', table: 't' })).toEqual(['o1']);
    expect(names(topology, { dbms: 'd', table: 'old' })).toEqual(['o2']);
  });
});

describe('child clusters', () => {
  const policies = (): Policy[] => [
    cluster({ id: 'root', name: 'lsl-cluster2', tables: [['d', 't1']] }),
    cluster({ id: 'other', name: 'other', tables: [['d', 't2']] }),
    cluster({
      id: 'child',
      name: 'lsl-cluster2',
      parent: 'root',
      tables: [
        ['d', 't2'],
        ['d', 't3'],
      ],
    }),
    operator({ id: 'o1', name: 'o1', cluster: 'root', ip: '10.0.0.1', port: 1 }),
    operator({ id: 'o2', name: 'o2', cluster: 'child', ip: '10.0.0.2', port: 1 }),
    operator({ id: 'o3', name: 'o3', cluster: 'other', ip: '10.0.0.3', port: 1 }),
  ];

  it("merges a child's tables into its root parent; an operator naming the child is not loaded", () => {
    const topology = Topology.fromPolicies(policies());
    // o2 names the child's id: AnyLog does not load it (a warning, see edgelake.test.ts)
    expect(topology.stats()).toMatchObject({ clusters: 2, operators: 2 });
    expect(topology.issues.map((issue) => [issue.code, issue.index])).toEqual([
      ['OPERATOR_CLUSTER_CHILD', 4],
    ]);
    // t3 (listed only by the child) routes to the root's entry, served by o1
    const served = new Set(
      [0, 1, 2, 3].map(() => topology.routeQuery({ dbms: 'd', table: 't3' }).targets[0]),
    );
    expect([...served].map((t) => [t?.clusterId, t?.operatorId])).toEqual([['root', 'o1']]);
    // t2 is split between "other" (earlier in the ledger) and the root (through its child)
    expect(topology.routeQuery({ dbms: 'd', table: 't2' }).targets.map((t) => t.clusterId)).toEqual(
      ['other', 'root'],
    );
  });

  it('reports the merged cluster, its children and every participating operator', () => {
    const topology = Topology.fromPolicies(policies());
    const info = topology.clusterInfo('o1');
    expect(info.clusterId).toBe('root');
    expect(info.childClusterIds).toEqual(['child']);
    expect(info.operators.map((op) => op.operatorId)).toEqual(['o1']);
    expect(thrown(() => topology.clusterInfo('o2')).code).toBe('TOPOLOGY_UNKNOWN_OPERATOR');
    expect(info.tables.map((t) => t.table)).toEqual(['t1', 't2', 't3']);
  });

  it("applies a down child's status to the tables it lists only", () => {
    const list = policies();
    list[2] = cluster({
      id: 'child',
      name: 'lsl-cluster2',
      parent: 'root',
      status: 'down',
      tables: [
        ['d', 't2'],
        ['d', 't3'],
      ],
    });
    const topology = Topology.fromPolicies(list);
    expect(names(topology, { dbms: 'd', table: 't1' })).toHaveLength(1);
    expect(thrown(() => topology.routeQuery({ dbms: 'd', table: 't3' })).code).toBe(
      'TOPOLOGY_UNKNOWN_TABLE',
    );
    expect(topology.routeQuery({ dbms: 'd', table: 't2' }).targets.map((t) => t.clusterId)).toEqual(
      ['other'],
    );
  });
});

describe('address selection', () => {
  const policies = (): Policy[] => [
    cluster({ id: 'c', name: 'c', tables: [['d', 't']] }),
    operator({
      id: 'o1',
      name: 'o1',
      cluster: 'c',
      ip: '24.23.250.144',
      localIp: '10.0.0.78',
      localPort: 7850,
      port: 7848,
      member: 1,
      main: true,
    }),
    operator({
      id: 'o2',
      name: 'o2',
      cluster: 'c',
      ip: '24.23.250.144',
      localIp: '10.0.0.79',
      port: 7849,
      member: 2,
    }),
    operator({
      id: 'o3',
      name: 'o3',
      cluster: 'c',
      ip: '45.33.41.185',
      localIp: '10.0.0.5',
      port: 7848,
    }),
  ];

  it('uses local_ip/local_port when the caller shares the operator external IP', () => {
    const topology = Topology.fromPolicies(policies(), { localExternalIp: '24.23.250.144' });
    const targets = topology.probeTargets({ all: true });
    expect(targets.map((t) => [t.operatorId, t.host, t.port])).toEqual([
      ['o1', '10.0.0.78', 7850],
      ['o2', '10.0.0.79', 7849], // no local_port: the port stays
      ['o3', '45.33.41.185', 7848], // another site: external address
    ]);
    const [target] = topology.routeQuery({ dbms: 'd', table: 't' }).targets;
    expect(target).toMatchObject({
      host: '10.0.0.78',
      port: 7850,
      local: true,
      address: '24.23.250.144:7848',
    });
  });

  it('uses the external address without localExternalIp', () => {
    const [target] = Topology.fromPolicies(policies()).routeQuery({
      dbms: 'd',
      table: 't',
    }).targets;
    expect(target).toMatchObject({ host: '24.23.250.144', port: 7848, local: false });
  });

  it('accepts the local connect address in reportFailure', () => {
    const topology = Topology.fromPolicies(policies(), { localExternalIp: '24.23.250.144' });
    expect(topology.reportFailure('10.0.0.78:7850')?.address).toBe('24.23.250.144:7848');
    expect(topology.routeQuery({ dbms: 'd', table: 't' }).targets[0]?.operatorId).not.toBe('o1');
  });
});

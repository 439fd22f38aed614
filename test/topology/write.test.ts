import { describe, expect, it } from 'vitest';
import type { Policy } from '../../src/policy/types.js';
import { Topology } from '../../src/topology/index.js';
import { cluster, operator, splitNetwork, thrown } from './fixtures.js';

const PING = { dbms: 'litsanleandro', table: 'ping_sensor' } as const;

describe('routeWrite', () => {
  it('round-robins over the clusters of a split table and copies to every operator', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    const writes = [0, 1, 2, 3].map(() => topology.routeWrite(PING));
    expect(writes.map((write) => write.clusterId)).toEqual(['ca', 'cb', 'ca', 'cb']);
    const first = writes[0];
    expect(first?.targets.map((target) => target.operatorId)).toEqual(['a1', 'a2', 'a3']);
    expect(first).toMatchObject({
      copies: 3,
      complete: true,
      missing: [],
      clusterName: 'cluster-a',
    });
  });

  it('lists the copies missing because their operator is not responding', () => {
    const clock = { now: () => 1_000 };
    const topology = Topology.fromPolicies(splitNetwork(), { clock });
    clock.now = () => 5_000;
    topology.reportFailure('10.1.0.2:7848');
    const chosen = topology.routeWrite({ dbms: 'litsanleandro', table: 'cpu_sensor' });
    expect(chosen.targets.map((target) => target.operatorId)).toEqual(['a1', 'a3']);
    expect(chosen.missing.map((copy) => [copy.operator.operatorId, copy.since])).toEqual([
      ['a2', 5_000],
    ]);
    expect(chosen.complete).toBe(false);
    expect(chosen.copies).toBe(3);
  });

  it('skips a cluster with no live operator when writing round-robin', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    topology.reportFailure('10.2.0.1:7848');
    topology.reportFailure('10.2.0.2:7848');
    for (let i = 0; i < 4; i++) expect(topology.routeWrite(PING).clusterId).toBe('ca');
  });

  it('throws TOPOLOGY_NO_LIVE_OPERATOR when no copy can be written', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    for (const ip of ['10.1.0.1', '10.1.0.2', '10.1.0.3', '10.2.0.1', '10.2.0.2']) {
      topology.reportFailure(`${ip}:7848`);
    }
    const error = thrown(() => topology.routeWrite(PING));
    expect(error.code).toBe('TOPOLOGY_NO_LIVE_OPERATOR');
    expect(error.clusters).toEqual(['ca', 'cb']);
    expect(error.message).toContain('op-b2 at 10.2.0.2:7848');
  });

  it('sends a key always to the same cluster, and never elsewhere when it is dead', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    const keys = Array.from({ length: 200 }, (_, i) => `sensor-${i}`);
    const home = new Map(keys.map((key) => [key, topology.routeWrite({ ...PING, key }).clusterId]));
    for (const key of keys)
      expect(topology.routeWrite({ ...PING, key }).clusterId).toBe(home.get(key));
    // both clusters receive a fair share of the keys
    const onA = [...home.values()].filter((id) => id === 'ca').length;
    expect(onA).toBeGreaterThan(60);
    expect(onA).toBeLessThan(140);
    // the mapping depends on cluster ids, not on ledger order
    const [a, b, ...ops] = splitNetwork() as [Policy, Policy, ...Policy[]];
    const reordered = Topology.fromPolicies([b, a, ...ops]);
    for (const key of keys)
      expect(reordered.routeWrite({ ...PING, key }).clusterId).toBe(home.get(key));
    // a dead home cluster makes a keyed write fail rather than move
    topology.reportFailure('10.2.0.1:7848');
    topology.reportFailure('10.2.0.2:7848');
    const onB = keys.find((key) => home.get(key) === 'cb') as string;
    const error = thrown(() => topology.routeWrite({ ...PING, key: onB }));
    expect(error.code).toBe('TOPOLOGY_NO_LIVE_OPERATOR');
    expect(error.clusters).toEqual(['cb']);
    expect(topology.routeWrite({ ...PING, key: 42 }).clusterId).toBe(
      topology.routeWrite({ ...PING, key: '42' }).clusterId,
    );
  });

  it('needs company when several companies hold the table', () => {
    const topology = Topology.fromPolicies([
      cluster({ id: 'c1', name: 'x1', company: 'Acme', tables: [['d', 't']] }),
      cluster({ id: 'c2', name: 'x2', company: 'Globex', tables: [['d', 't']] }),
      operator({ id: 'o1', name: 'o1', company: 'Acme', cluster: 'c1', ip: '10.0.0.1', port: 1 }),
      operator({ id: 'o2', name: 'o2', company: 'Globex', cluster: 'c2', ip: '10.0.0.2', port: 1 }),
    ]);
    const error = thrown(() => topology.routeWrite({ dbms: 'd', table: 't' }));
    expect(error.code).toBe('TOPOLOGY_INVALID_ARGUMENT');
    expect(error.message).toContain('"Acme"');
    for (let i = 0; i < 3; i++) {
      expect(topology.routeWrite({ dbms: 'd', table: 't', company: 'Globex' }).clusterId).toBe(
        'c2',
      );
    }
  });

  it('rejects unknown tables and malformed keys', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    expect(thrown(() => topology.routeWrite({ dbms: 'x', table: 'y' })).code).toBe(
      'TOPOLOGY_UNKNOWN_TABLE',
    );
    for (const key of [Number.NaN, {}, true]) {
      expect(thrown(() => topology.routeWrite({ ...PING, key: key as never })).code).toBe(
        'TOPOLOGY_INVALID_ARGUMENT',
      );
    }
  });
});

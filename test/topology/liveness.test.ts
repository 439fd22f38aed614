import { describe, expect, it } from 'vitest';
import { TopologyError } from '../../src/errors.js';
import type { Policy } from '../../src/policy/types.js';
import { Topology } from '../../src/topology/index.js';
import { cluster, ManualNow, operator, splitNetwork } from './fixtures.js';

const CPU = { dbms: 'litsanleandro', table: 'cpu_sensor' } as const;
const PING = { dbms: 'litsanleandro', table: 'ping_sensor' } as const;

describe('liveness', () => {
  it('starts every address active, since the build time', () => {
    const clock = new ManualNow();
    const topology = Topology.fromPolicies(splitNetwork(), { clock });
    const entries = topology.liveness();
    expect(entries).toHaveLength(5);
    expect(entries.every((entry) => entry.status === 'active' && entry.since === clock.now())).toBe(
      true,
    );
    expect(entries[0]).toEqual({
      address: '10.1.0.1:7848',
      status: 'active',
      since: clock.now(),
      operatorId: 'a1',
      operatorName: 'op-a1',
      clusterId: 'ca',
    });
    expect(topology.probeTargets()).toEqual([]);
  });

  it('records the time of the last change only', () => {
    const clock = new ManualNow();
    const topology = Topology.fromPolicies(splitNetwork(), { clock });
    const start = clock.now();
    clock.advance(1_000);
    expect(topology.reportFailure('10.1.0.1:7848')).toMatchObject({
      status: 'not_responding',
      since: start + 1_000,
    });
    clock.advance(1_000);
    // a second failure does not move `since`; a success on an active address neither
    expect(topology.reportFailure('10.1.0.1:7848')?.since).toBe(start + 1_000);
    expect(topology.reportSuccess('10.1.0.2:7848')?.since).toBe(start);
    clock.advance(1_000);
    expect(topology.reportSuccess('10.1.0.1:7848')).toMatchObject({
      status: 'active',
      since: start + 3_000,
    });
  });

  it('ignores unknown addresses and rejects non-strings', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    expect(topology.reportFailure('10.9.9.9:1')).toBeUndefined();
    expect(topology.liveness().every((entry) => entry.status === 'active')).toBe(true);
    expect(() => topology.reportFailure(7 as never)).toThrow(TopologyError);
    expect(() => topology.reportSuccess('' as never)).toThrow(/address/);
  });

  it('lists the not_responding addresses to probe, or all of them', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    topology.reportFailure('10.2.0.2:7848');
    expect(
      topology.probeTargets().map((target) => [target.address, target.host, target.port]),
    ).toEqual([['10.2.0.2:7848', '10.2.0.2', 7848]]);
    expect(topology.probeTargets({ all: true })).toHaveLength(5);
  });
});

describe('reload', () => {
  it('keeps the liveness of addresses still present and forgets removed ones', () => {
    const clock = new ManualNow();
    const topology = Topology.fromPolicies(splitNetwork(), { clock });
    clock.advance(10);
    topology.reportFailure('10.1.0.1:7848');
    topology.reportFailure('10.2.0.1:7848');
    const failedAt = clock.now();
    clock.advance(10);
    // b1 leaves, a new operator joins cluster A
    const next = splitNetwork().filter((policy) => policy.operator?.id !== 'b1');
    next.push(
      operator({ id: 'a4', name: 'op-a4', cluster: 'ca', ip: '10.1.0.4', port: 7848, member: 4 }),
    );
    topology.reload(next);
    const byAddress = new Map(topology.liveness().map((entry) => [entry.address, entry]));
    expect(byAddress.get('10.1.0.1:7848')).toMatchObject({
      status: 'not_responding',
      since: failedAt,
    });
    expect(byAddress.get('10.1.0.4:7848')).toMatchObject({ status: 'active', since: clock.now() });
    expect(byAddress.has('10.2.0.1:7848')).toBe(false);
    // routing after the reload still avoids the failed main
    expect(topology.routeQuery(CPU).targets[0]?.operatorId).not.toBe('a1');
    // b1 coming back starts active
    topology.reload(splitNetwork());
    expect(topology.liveness().find((entry) => entry.address === '10.2.0.1:7848')?.status).toBe(
      'active',
    );
  });

  it('keeps round-robin positions of clusters that still exist', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    const b = () => topology.routeQuery(PING).targets[1]?.operatorId;
    expect(b()).toBe('b1');
    topology.reload(splitNetwork());
    expect(b()).toBe('b2');
  });

  it('keeps the previous set when the new one is invalid', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    topology.reportFailure('10.1.0.1:7848');
    const invalid: Policy[] = [
      ...splitNetwork(),
      operator({ id: 'dup', name: 'dup', cluster: 'ca', ip: '10.1.0.2', port: 7848 }),
    ];
    expect(() => topology.reload(invalid)).toThrow(
      expect.objectContaining({ code: 'TOPOLOGY_INVALID_POLICIES' }),
    );
    expect(topology.stats().operators).toBe(5);
    expect(topology.liveness()[0]?.status).toBe('not_responding');
  });

  it('routes new tables and clusters added by a reload', () => {
    const topology = Topology.fromPolicies(splitNetwork());
    topology.reload([
      ...splitNetwork(),
      cluster({
        id: 'cc',
        name: 'cluster-c',
        tables: [
          ['litsanleandro', 'ping_sensor'],
          ['litsanleandro', 'new'],
        ],
      }),
      operator({ id: 'c1', name: 'op-c1', cluster: 'cc', ip: '10.3.0.1', port: 7848 }),
    ]);
    expect(topology.routeQuery(PING).targets.map((target) => target.clusterId)).toEqual([
      'ca',
      'cb',
      'cc',
    ]);
    expect(
      topology.routeQuery({ dbms: 'litsanleandro', table: 'new' }).targets[0]?.operatorId,
    ).toBe('c1');
  });
});

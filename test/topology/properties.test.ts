import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isEdgeHaError } from '../../src/errors.js';
import type { Policy } from '../../src/policy/types.js';
import { Topology } from '../../src/topology/index.js';
import { cluster, operator, type TableSpec } from './fixtures.js';

const RUNS = Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 100);
const TABLES = ['t0', 't1', 't2', 't3'] as const;

interface ClusterModel {
  id: string;
  status: 'active' | 'static' | 'down';
  tables: { name: string; status: 'active' | 'static' | 'down' }[];
  operators: { address: string; main: boolean }[];
}

const statusArb = fc.constantFrom<'active' | 'static' | 'down'>(
  'active',
  'active',
  'active',
  'static',
  'down',
);

const clusterArb = fc.record({
  status: statusArb,
  tables: fc.uniqueArray(fc.record({ name: fc.constantFrom(...TABLES), status: statusArb }), {
    minLength: 1,
    maxLength: 4,
    selector: (entry) => entry.name,
  }),
  mains: fc.array(fc.boolean(), { minLength: 0, maxLength: 4 }),
});

const topologyArb = fc.array(clusterArb, { minLength: 1, maxLength: 6 }).map((raw) =>
  raw.map(
    (c, i): ClusterModel => ({
      id: `cluster-${i}`,
      status: c.status,
      tables: c.tables,
      operators: c.mains.map((main, j) => ({ address: `10.${i}.0.${j + 1}:7848`, main })),
    }),
  ),
);

function policiesOf(model: readonly ClusterModel[]): Policy[] {
  const policies: Policy[] = [];
  model.forEach((c, i) => {
    policies.push(
      cluster({
        id: c.id,
        name: `c${i}`,
        status: c.status,
        tables: c.tables.map((t): TableSpec => ['db', t.name, t.status]),
      }),
    );
  });
  model.forEach((c, i) => {
    c.operators.forEach((op, j) => {
      const [ip, port] = op.address.split(':') as [string, string];
      policies.push(
        operator({
          id: `op-${i}-${j}`,
          name: `op-${i}-${j}`,
          cluster: c.id,
          ip,
          port: Number(port),
          member: j + 1,
          main: op.main,
        }),
      );
    });
  });
  return policies;
}

/** Clusters that must be routed for `table`: active cluster and active entry, in ledger order. */
function routable(model: readonly ClusterModel[], table: string): ClusterModel[] {
  return model.filter(
    (c) => c.status === 'active' && c.tables.some((t) => t.name === table && t.status === 'active'),
  );
}

type Step =
  | { kind: 'fail' | 'succeed'; cluster: number; operator: number }
  | { kind: 'query'; table: string; nodes: 'main' | 'all' };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constantFrom<'fail' | 'succeed'>('fail', 'fail', 'succeed'),
    cluster: fc.nat(5),
    operator: fc.nat(3),
  }),
  fc.record({
    kind: fc.constant<'query'>('query'),
    table: fc.constantFrom(...TABLES),
    nodes: fc.constantFrom<'main' | 'all'>('main', 'all'),
  }),
);

describe('topology properties', () => {
  it('I8: one live operator per routable cluster, never a not_responding one while a live one exists', () => {
    fc.assert(
      fc.property(topologyArb, fc.array(stepArb, { maxLength: 60 }), (model, steps) => {
        const topology = Topology.fromPolicies(policiesOf(model));
        const down = new Set<string>();
        for (const step of steps) {
          if (step.kind !== 'query') {
            const op = model[step.cluster]?.operators[step.operator];
            if (op === undefined) continue;
            if (step.kind === 'fail') {
              topology.reportFailure(op.address);
              down.add(op.address);
            } else {
              topology.reportSuccess(op.address);
              down.delete(op.address);
            }
            continue;
          }
          const expected = routable(model, step.table);
          const hasLive = (c: ClusterModel) => c.operators.some((op) => !down.has(op.address));
          if (expected.length === 0) {
            expect(() => topology.routeQuery({ dbms: 'db', table: step.table })).toThrow(
              expect.objectContaining({ code: 'TOPOLOGY_UNKNOWN_TABLE' }),
            );
            continue;
          }
          const route = topology.routeQuery({
            dbms: 'db',
            table: step.table,
            nodes: step.nodes,
            subset: true,
          });
          expect(route.targets.map((t) => t.clusterId)).toEqual(
            expected.filter(hasLive).map((c) => c.id),
          );
          expect(route.skipped.map((s) => s.clusterId)).toEqual(
            expected.filter((c) => !hasLive(c)).map((c) => c.id),
          );
          for (const target of route.targets) expect(down.has(target.address)).toBe(false);
          // main preference: the main (the last `main: true` declared, as in EdgeLake) is chosen
          // while it is live
          if (step.nodes === 'main') {
            for (const target of route.targets) {
              const c = model.find((m) => m.id === target.clusterId) as ClusterModel;
              const main = c.operators.filter((op) => op.main).at(-1);
              if (main !== undefined && !down.has(main.address)) {
                expect(target.address).toBe(main.address);
              }
            }
          }
          // without subset the route fails exactly when a cluster has no live operator
          let failed = false;
          try {
            topology.routeQuery({ dbms: 'db', table: step.table, nodes: step.nodes });
          } catch (error) {
            if (!isEdgeHaError(error, 'TOPOLOGY_NO_LIVE_OPERATOR')) throw error;
            failed = true;
          }
          expect(failed).toBe(!expected.every(hasLive));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('round-robin is fair: each live operator is chosen within ±1 over a cycle', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ main: fc.boolean(), live: fc.boolean() }), {
          minLength: 1,
          maxLength: 7,
        }),
        fc.constantFrom<'main' | 'all'>('main', 'all'),
        fc.nat(10),
        fc.integer({ min: 1, max: 4 }),
        (ops, nodes, warmUp, cycles) => {
          // in 'main' mode, fairness applies over the live operators when no main is live
          const shaped =
            nodes === 'main' ? ops.map((op) => ({ ...op, main: op.main && !op.live })) : ops;
          const live = shaped.filter((op) => op.live).length;
          fc.pre(live > 0);
          const model: ClusterModel[] = [
            {
              id: 'c',
              status: 'active',
              tables: [{ name: 't0', status: 'active' }],
              operators: shaped.map((op, j) => ({
                address: `10.0.0.${j + 1}:7848`,
                main: op.main,
              })),
            },
          ];
          const topology = Topology.fromPolicies(policiesOf(model));
          shaped.forEach((op, j) => {
            if (!op.live) topology.reportFailure(`10.0.0.${j + 1}:7848`);
          });
          const route = () =>
            topology.routeQuery({ dbms: 'db', table: 't0', nodes }).targets[0]?.address;
          for (let i = 0; i < warmUp; i++) route();
          const counts = new Map<string, number>();
          for (let i = 0; i < live * cycles; i++) {
            const address = route() as string;
            counts.set(address, (counts.get(address) ?? 0) + 1);
          }
          shaped.forEach((op, j) => {
            const count = counts.get(`10.0.0.${j + 1}:7848`) ?? 0;
            if (!op.live) expect(count).toBe(0);
            else expect(Math.abs(count - cycles)).toBeLessThanOrEqual(1);
          });
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('rendezvous: adding a cluster only moves keys onto the new cluster', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 2, maxLength: 8 }),
        fc.uniqueArray(fc.oneof(fc.string({ maxLength: 16 }), fc.integer()), {
          minLength: 1,
          maxLength: 60,
        }),
        (ids, keys) => {
          const model = (count: number): ClusterModel[] =>
            ids.slice(0, count).map((id, i) => ({
              id: `id-${id}`,
              status: 'active',
              tables: [{ name: 't0', status: 'active' }],
              operators: [{ address: `10.${i}.0.1:7848`, main: false }],
            }));
          const before = Topology.fromPolicies(policiesOf(model(ids.length - 1)));
          const after = Topology.fromPolicies(policiesOf(model(ids.length)));
          const added = `id-${ids[ids.length - 1]}`;
          for (const key of keys) {
            const was = before.routeWrite({ dbms: 'db', table: 't0', key }).clusterId;
            const now = after.routeWrite({ dbms: 'db', table: 't0', key }).clusterId;
            if (now !== was) expect(now).toBe(added);
            // deterministic
            expect(after.routeWrite({ dbms: 'db', table: 't0', key }).clusterId).toBe(now);
          }
          // and reload moves exactly the same way (the mapping only depends on the cluster set)
          before.reload(policiesOf(model(ids.length)));
          for (const key of keys) {
            expect(before.routeWrite({ dbms: 'db', table: 't0', key }).clusterId).toBe(
              after.routeWrite({ dbms: 'db', table: 't0', key }).clusterId,
            );
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

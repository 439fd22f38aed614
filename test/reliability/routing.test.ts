/**
 * Routing under random topologies and liveness histories (SPEC §6 I8): a query returns exactly one
 * operator per routable cluster, never a not_responding one while the cluster has a live one;
 * writes target exactly the live operators of one cluster. Histories mix failures, recoveries,
 * queries, writes and policy reloads (liveness survives a reload). Two companies, child clusters
 * merged into their parents, static and down clusters. As in EdgeLake
 * (`blockchain/metadata.py`, `update_operators` and `get_any_operator`), an operator that names a
 * child cluster's id is not loaded, and the last `main: true` operator of a cluster is its main.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isEdgeHaError, type TopologyError } from '../../src/errors.js';
import type { Policy } from '../../src/policy/types.js';
import { Topology } from '../../src/topology/index.js';
import { fcParams } from './helpers.js';

const TABLES = ['t0', 't1', 't2'] as const;
const COMPANIES = ['acme', 'globex'] as const;

interface OperatorModel {
  readonly id: string;
  readonly address: string;
  readonly main: boolean;
  /** Index of the routing (root) cluster. */
  readonly root: number;
  /** Id of the cluster policy it names (the root or its child). */
  readonly cluster: string;
}

interface RootModel {
  readonly id: string;
  readonly company: string;
  readonly status: 'active' | 'static' | 'down';
  readonly tables: readonly string[];
  readonly childTables: readonly string[] | null;
}

interface World {
  readonly roots: readonly RootModel[];
  readonly operators: readonly OperatorModel[];
}

const rootArb = fc.record({
  company: fc.constantFrom(...COMPANIES),
  status: fc.constantFrom<'active' | 'static' | 'down'>(
    'active',
    'active',
    'active',
    'static',
    'down',
  ),
  tables: fc.subarray([...TABLES], { minLength: 1 }),
  child: fc.boolean(),
  operators: fc.array(fc.record({ main: fc.boolean(), inChild: fc.boolean() }), { maxLength: 4 }),
});

const worldArb: fc.Arbitrary<World> = fc
  .array(rootArb, { minLength: 1, maxLength: 6 })
  .map((raw) => {
    const roots: RootModel[] = [];
    const operators: OperatorModel[] = [];
    raw.forEach((r, i) => {
      // A child cluster holds the tables its parent does not (a table appears once per family).
      const childTables = r.child ? TABLES.filter((t) => !r.tables.includes(t)) : null;
      const hasChild = childTables !== null && childTables.length > 0;
      roots.push({
        id: `c${i}`,
        company: r.company,
        status: r.status,
        tables: r.tables,
        childTables: hasChild ? childTables : null,
      });
      r.operators.forEach((op, j) => {
        operators.push({
          id: `op-${i}-${j}`,
          address: `10.${i}.0.${j + 1}:7848`,
          main: op.main,
          root: i,
          cluster: op.inChild && hasChild ? `c${i}-child` : `c${i}`,
        });
      });
    });
    return { roots, operators };
  });

function policiesOf(world: World, present: ReadonlySet<string>): Policy[] {
  const policies: Policy[] = [];
  world.roots.forEach((root, i) => {
    policies.push({
      cluster: {
        company: root.company,
        name: `cluster-${i}`,
        table: root.tables.map((name) => ({ dbms: 'db', name })),
        id: root.id,
        status: root.status,
      },
    } as Policy);
    if (root.childTables !== null) {
      policies.push({
        cluster: {
          company: root.company,
          name: `cluster-${i}`,
          parent: root.id,
          table: root.childTables.map((name) => ({ dbms: 'db', name })),
          id: `${root.id}-child`,
        },
      } as Policy);
    }
  });
  world.operators.forEach((op, n) => {
    if (!present.has(op.id)) return;
    const [ip, port] = op.address.split(':') as [string, string];
    policies.push({
      operator: {
        company: world.roots[op.root]?.company ?? 'acme',
        name: op.id,
        ip,
        port: Number(port),
        cluster: op.cluster,
        member: n + 1,
        main: op.main,
        id: op.id,
      },
    } as Policy);
  });
  return policies;
}

type Step =
  | { kind: 'fail' | 'succeed'; operator: number }
  | {
      kind: 'query';
      table: string;
      company: string | undefined;
      nodes: 'main' | 'all';
      subset: boolean;
    }
  | { kind: 'write'; table: string; company: string | undefined; key: string | undefined }
  | { kind: 'reload'; remove: number | null };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constantFrom<'fail' | 'succeed'>('fail', 'fail', 'succeed'),
      operator: fc.nat(23),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant<'query'>('query'),
      table: fc.constantFrom(...TABLES),
      company: fc.option(fc.constantFrom(...COMPANIES), { nil: undefined }),
      nodes: fc.constantFrom<'main' | 'all'>('main', 'all'),
      subset: fc.boolean(),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant<'write'>('write'),
      table: fc.constantFrom(...TABLES),
      company: fc.option(fc.constantFrom(...COMPANIES), { nil: undefined }),
      key: fc.option(fc.constantFrom('k1', 'k2', 'sensor-7'), { nil: undefined }),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant<'reload'>('reload'),
      remove: fc.option(fc.nat(23), { nil: null }),
    }),
    weight: 1,
  },
);

/** What the histories exercised, so the suite cannot pass vacuously. */
const seen = { routed: 0, skipped: 0, noLive: 0, writes: 0, missingCopies: 0, reloads: 0 };

function check(world: World, steps: readonly Step[]): void {
  const present = new Set(world.operators.map((op) => op.id));
  const down = new Set<string>();
  const topology = Topology.fromPolicies(policiesOf(world, present));
  // Loaded: present, and naming its root cluster (one naming a child is not loaded).
  const loaded = (op: OperatorModel): boolean =>
    present.has(op.id) && op.cluster === world.roots[op.root]?.id;
  const live = (op: OperatorModel): boolean => loaded(op) && !down.has(op.address);
  const opsOf = (root: number): OperatorModel[] =>
    world.operators.filter((op) => op.root === root && loaded(op));
  const routable = (table: string, company: string | undefined): number[] =>
    world.roots.flatMap((root, i) =>
      root.status === 'active' &&
      (company === undefined || root.company === company) &&
      (root.tables.includes(table) || (root.childTables ?? []).includes(table))
        ? [i]
        : [],
    );
  const byAddress = new Map(world.operators.map((op) => [op.address, op]));

  steps.forEach((step, n) => {
    const at = `step ${n} ${JSON.stringify(step)}`;
    if (step.kind === 'fail' || step.kind === 'succeed') {
      const op = world.operators[step.operator % Math.max(1, world.operators.length)];
      if (op === undefined) return;
      const entry =
        step.kind === 'fail'
          ? topology.reportFailure(op.address)
          : topology.reportSuccess(op.address);
      if (!loaded(op)) {
        expect(entry, at).toBeUndefined();
        return;
      }
      if (step.kind === 'fail') down.add(op.address);
      else down.delete(op.address);
      expect(entry?.status, at).toBe(step.kind === 'fail' ? 'not_responding' : 'active');
      return;
    }
    if (step.kind === 'reload') {
      const removed = step.remove === null ? undefined : world.operators[step.remove];
      present.clear();
      for (const op of world.operators) if (op !== removed) present.add(op.id);
      // A removed address is forgotten: it comes back active.
      if (removed !== undefined) down.delete(removed.address);
      topology.reload(policiesOf(world, present));
      seen.reloads++;
      for (const entry of topology.liveness()) {
        expect(entry.status, at).toBe(down.has(entry.address) ? 'not_responding' : 'active');
      }
      return;
    }
    const s = step as Extract<Step, { table: string }>;
    const expected = routable(s.table, s.company);
    if (s.kind === 'query') {
      const request = {
        dbms: 'db',
        table: s.table,
        nodes: s.nodes,
        subset: s.subset,
        ...(s.company === undefined ? {} : { company: s.company }),
      };
      if (expected.length === 0) {
        expect(() => topology.routeQuery(request), at).toThrow(
          expect.objectContaining({ code: 'TOPOLOGY_UNKNOWN_TABLE' }),
        );
        return;
      }
      const withLive = expected.filter((i) => opsOf(i).some(live));
      const dead = expected.filter((i) => !opsOf(i).some(live));
      if (!s.subset && dead.length > 0) {
        let error: unknown;
        try {
          topology.routeQuery(request);
        } catch (caught) {
          error = caught;
        }
        expect(isEdgeHaError(error, 'TOPOLOGY_NO_LIVE_OPERATOR'), at).toBe(true);
        seen.noLive++;
        expect([...(error as TopologyError).clusters].sort(), at).toEqual(
          dead.map((i) => `c${i}`).sort(),
        );
        return;
      }
      const route = topology.routeQuery(request);
      // Exactly one target per routable cluster that has a live operator.
      expect(route.targets.map((t) => t.clusterId).sort(), at).toEqual(
        withLive.map((i) => `c${i}`).sort(),
      );
      expect(route.skipped.map((s) => s.clusterId).sort(), at).toEqual(
        dead.map((i) => `c${i}`).sort(),
      );
      expect(route.complete, at).toBe(dead.length === 0);
      if (route.targets.length > 0) seen.routed++;
      if (route.skipped.length > 0) seen.skipped++;
      for (const target of route.targets) {
        const op = byAddress.get(target.address);
        expect(op !== undefined && live(op), `I8 not_responding target: ${at}`).toBe(true);
        expect(`c${op?.root}`, at).toBe(target.clusterId);
        const root = Number(target.clusterId.slice(1));
        const main = opsOf(root)
          .filter((o) => o.main)
          .at(-1);
        if (s.nodes === 'main' && main !== undefined && live(main)) {
          expect(target.address, `the live main (the last one declared) is used: ${at}`).toBe(
            main.address,
          );
        }
      }
      return;
    }
    // write
    const request = {
      dbms: 'db',
      table: s.table,
      ...(s.company === undefined ? {} : { company: s.company }),
      ...(s.key === undefined ? {} : { key: s.key }),
    };
    if (expected.length === 0) {
      expect(() => topology.routeWrite(request), at).toThrow(
        expect.objectContaining({ code: 'TOPOLOGY_UNKNOWN_TABLE' }),
      );
      return;
    }
    const companies = new Set(expected.map((i) => world.roots[i]?.company));
    let write: ReturnType<Topology['routeWrite']>;
    try {
      write = topology.routeWrite(request);
    } catch (error) {
      if (s.company === undefined && companies.size > 1) {
        expect(isEdgeHaError(error, 'TOPOLOGY_INVALID_ARGUMENT'), at).toBe(true);
        return;
      }
      expect(isEdgeHaError(error, 'TOPOLOGY_NO_LIVE_OPERATOR'), at).toBe(true);
      const named = (error as TopologyError).clusters;
      if (s.key === undefined) {
        // Round-robin writes fail only when no cluster has a live operator.
        expect(
          expected.every((i) => !opsOf(i).some(live)),
          at,
        ).toBe(true);
      } else {
        expect(named, at).toHaveLength(1);
        expect(opsOf(Number(named[0]?.slice(1))).some(live), at).toBe(false);
      }
      return;
    }
    expect(s.company !== undefined || companies.size === 1, at).toBe(true);
    const root = Number(write.clusterId.slice(1));
    expect(expected, at).toContain(root);
    const ops = opsOf(root);
    expect(write.targets.map((t) => t.address).sort(), at).toEqual(
      ops
        .filter(live)
        .map((o) => o.address)
        .sort(),
    );
    expect(write.missing.map((m) => m.operator.address).sort(), at).toEqual(
      ops
        .filter((o) => !live(o))
        .map((o) => o.address)
        .sort(),
    );
    expect(write.targets.length, at).toBeGreaterThan(0);
    seen.writes++;
    if (write.missing.length > 0) seen.missingCopies++;
    expect(write.copies, at).toBe(ops.length);
  });
}

describe('routing under liveness histories (SPEC §6 I8)', () => {
  it('one live operator per routable cluster; writes reach exactly the live copies', () => {
    fc.assert(
      fc.property(worldArb, fc.array(stepArb, { minLength: 1, maxLength: 60 }), (world, steps) => {
        check(world, steps);
      }),
      fcParams(500),
    );
    for (const [what, count] of Object.entries(seen)) {
      expect(count, `histories exercised ${what}`).toBeGreaterThan(10);
    }
  });
});

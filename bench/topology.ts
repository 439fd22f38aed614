/**
 * Topology benchmark: routes/s on a large and a small topology (routing cost must not depend on
 * the size: target ratio ≤ 2×) and the time to build a topology from 40,000 policies (target
 * < 1 s).
 *
 * Run: `npx tsx bench/topology.ts [--quick]`.
 */

import { pathToFileURL } from 'node:url';
import type { Policy } from '../src/policy/types.js';
import { Topology } from '../src/topology/topology.js';
import type { QueryRequest, WriteRequest } from '../src/topology/types.js';

/** Figures of one topology size. */
export interface TopologySizeResult {
  /** Routing clusters. */
  clusters: number;
  /** Operators. */
  operators: number;
  /** Distinct tables. */
  tables: number;
  /** Policies the topology was built from. */
  policies: number;
  /** Build time (validation included) with the policies' `id`s present, in ms (median). */
  buildMs: number;
  /** Build time when every id must be computed (MD5), in ms (median). */
  buildComputedIdsMs: number;
  /** `routeQuery` calls per second, best measuring window (10% of the operators not responding). */
  queryRoutesPerSec: number;
  /** Keyed `routeWrite` calls per second, best measuring window. */
  writeRoutesPerSec: number;
}

/** Everything {@link runTopologyBench} measured. */
export interface TopologyBenchResult {
  /** Whether the reduced sizes were used. */
  quick: boolean;
  /** The large topology (10,000 clusters × 3 operators × 50,000 tables at full size). */
  large: TopologySizeResult;
  /** The small topology (10 clusters × 3 operators × 50 tables). */
  small: TopologySizeResult;
  /**
   * `routeQuery` calls per second on the large topology when the requests only use 50 of its
   * tables: same topology size, working set as small as the small topology's. Separates the cost
   * of the topology's size (none expected) from CPU cache misses over a large working set.
   */
  largeHotQueryRoutesPerSec: number;
  /** small routes/s ÷ large routes/s for queries (target ≤ 2). */
  queryRatio: number;
  /** small routes/s ÷ large routes/s for keyed writes (target ≤ 2). */
  writeRatio: number;
}

interface Shape {
  clusters: number;
  tables: number;
}

/** Deterministic PRNG (mulberry32) so runs are comparable. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `tables` tables spread over `clusters` clusters of 3 operators; every 10th table is split over
 * two clusters. Policies look like stamped AnyLog ones (ids and dates) unless `withIds` is false.
 */
function makePolicies({ clusters, tables }: Shape, withIds: boolean): Policy[] {
  const lists: { name: string; dbms: string; status: string }[][] = Array.from(
    { length: clusters },
    () => [],
  );
  for (let t = 0; t < tables; t++) {
    const entry = { name: `table_${t}`, dbms: `dbms_${t % 20}`, status: 'active' };
    lists[t % clusters]?.push(entry);
    if (t % 10 === 0 && clusters > 1) lists[(t + 1) % clusters]?.push({ ...entry });
  }
  const policies: Policy[] = [];
  const clusterIds: string[] = [];
  for (let c = 0; c < clusters; c++) {
    const id = `c${c.toString(16).padStart(31, '0')}`;
    clusterIds.push(id);
    const body: Policy['cluster'] = {
      company: 'Bench Co',
      name: `cluster-${c}`,
      table: lists[c] ?? [],
    };
    if (withIds) {
      body.id = id;
      body.date = '2021-04-02T18:31:46.802694Z';
    }
    policies.push({ cluster: body });
  }
  // Without ids, operators must reference the computed cluster ids: build once to learn them.
  const resolvedIds = withIds ? clusterIds : undefined;
  for (let c = 0; c < clusters; c++) {
    for (let m = 1; m <= 3; m++) {
      const n = c * 3 + m;
      const body: Policy['operator'] = {
        company: 'Bench Co',
        name: `operator-${n}`,
        ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
        port: 7848,
        cluster: resolvedIds?.[c] ?? `pending-${c}`,
        member: m,
        main: m === 1,
      };
      if (withIds) body.id = `o${n.toString(16).padStart(31, '0')}`;
      policies.push({ operator: body });
    }
  }
  return policies;
}

async function computedIdPolicies(shape: Shape): Promise<Policy[]> {
  const { computePolicyId } = await import('../src/policy/id.js');
  const policies = makePolicies(shape, false);
  const ids = policies.slice(0, shape.clusters).map((policy) => computePolicyId(policy));
  for (const policy of policies.slice(shape.clusters)) {
    const body = policy.operator as Policy['operator'];
    body.cluster = ids[Number(String(body.cluster).slice('pending-'.length))] as string;
  }
  return policies;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

function timeBuild(policies: Policy[], repeats: number): { ms: number; topology: Topology } {
  const times: number[] = [];
  let topology: Topology | undefined;
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    topology = Topology.fromPolicies(policies);
    times.push(performance.now() - start);
  }
  return { ms: median(times), topology: topology as Topology };
}

/** Calls `fn(i)` for about `ms` milliseconds; returns calls per second. */
function window(fn: (i: number) => void, ms: number): number {
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let i = 0; i < 2_000; i++) fn(calls + i);
    calls += 2_000;
    elapsed = performance.now() - start;
  }
  return calls / (elapsed / 1000);
}

interface Prepared {
  result: Omit<TopologySizeResult, 'queryRoutesPerSec' | 'writeRoutesPerSec'>;
  query: (i: number) => void;
  write: (i: number) => void;
  hotQuery: (i: number) => void;
}

let sink = 0;

async function prepare(shape: Shape, quick: boolean): Promise<Prepared> {
  const repeats = quick ? 3 : 5;
  const withIds = makePolicies(shape, true);
  const built = timeBuild(withIds, repeats);
  const computed = timeBuild(await computedIdPolicies(shape), repeats);
  const topology = built.topology;
  const next = random(42);
  for (const entry of topology.liveness()) {
    if (next() < 0.1) topology.reportFailure(entry.address);
  }
  const count = 8192;
  const mask = count - 1;
  const queries: QueryRequest[] = [];
  const writes: WriteRequest[] = [];
  const hot: QueryRequest[] = [];
  for (let i = 0; i < count; i++) {
    // 50 tables spread over the topology, with the same split ratio and node mix as `queries`
    const k = Math.floor(next() * Math.min(50, shape.tables));
    const h = k * Math.floor(shape.tables / 50) + (k % 10);
    hot.push({
      dbms: `dbms_${h % 20}`,
      table: `table_${h}`,
      subset: true,
      nodes: next() < 0.5 ? 'main' : 'all',
    });
    // Requests are object literals, as callers write them. They used to be built with spread
    // (`{ ...request, subset, nodes }`): V8 then gives each such object its own hidden class, so
    // every property read in the router went through the megamorphic (slow, runtime) path on
    // both topologies. That cost (≈ 0.6 µs per route) dwarfed routing itself and hid how the
    // routing cost depends on the topology's size.
    const t = Math.floor(next() * shape.tables);
    const dbms = `dbms_${t % 20}`;
    const table = `table_${t}`;
    queries.push({ dbms, table, subset: true, nodes: next() < 0.5 ? 'main' : 'all' });
    writes.push({ dbms, table, key: `sensor-${i}` });
  }
  const stats = topology.stats();
  return {
    result: {
      clusters: stats.clusters,
      operators: stats.operators,
      tables: stats.tables,
      policies: withIds.length,
      buildMs: built.ms,
      buildComputedIdsMs: computed.ms,
    },
    query: (i) => {
      sink += topology.routeQuery(queries[i & mask] as QueryRequest).targets.length;
    },
    hotQuery: (i) => {
      sink += topology.routeQuery(hot[i & mask] as QueryRequest).targets.length;
    },
    write: (i) => {
      try {
        sink += topology.routeWrite(writes[i & mask] as WriteRequest).targets.length;
      } catch {
        sink -= 1; // a key whose cluster has no live copy (rare with 10% down)
      }
    },
  };
}

/**
 * Runs the topology benchmark. Route rates are measured in windows that alternate between the
 * two topologies (so both see the same machine load) and the best window of each is kept.
 *
 * @param options - `quick` shrinks the large topology (1,000 clusters × 5,000 tables) and the
 * measuring time so the run takes a few seconds.
 * @returns The figures.
 */
export async function runTopologyBench(options: { quick: boolean }): Promise<TopologyBenchResult> {
  const { quick } = options;
  const sizes = [
    await prepare(
      quick ? { clusters: 1_000, tables: 5_000 } : { clusters: 10_000, tables: 50_000 },
      quick,
    ),
    await prepare({ clusters: 10, tables: 50 }, quick),
  ];
  const ms = quick ? 100 : 400;
  const windows = quick ? 3 : 6;
  const best = sizes.map(() => ({ query: 0, write: 0, hot: 0 }));
  for (const size of sizes) {
    for (let i = 0; i < 20_000; i++) {
      size.query(i);
      size.write(i);
    }
  }
  for (let w = 0; w < windows; w++) {
    sizes.forEach((size, i) => {
      const figures = best[i] as { query: number; write: number; hot: number };
      figures.query = Math.max(figures.query, window(size.query, ms));
      if (i === 0) figures.hot = Math.max(figures.hot, window(size.hotQuery, ms));
      figures.write = Math.max(figures.write, window(size.write, ms));
    });
  }
  if (sink === Number.MIN_SAFE_INTEGER) console.log(sink);
  const [large, small] = sizes.map((size, i) => ({
    ...size.result,
    queryRoutesPerSec: best[i]?.query ?? 0,
    writeRoutesPerSec: best[i]?.write ?? 0,
  })) as [TopologySizeResult, TopologySizeResult];
  return {
    quick,
    large,
    small,
    largeHotQueryRoutesPerSec: best[0]?.hot ?? 0,
    queryRatio: small.queryRoutesPerSec / large.queryRoutesPerSec,
    writeRatio: small.writeRoutesPerSec / large.writeRoutesPerSec,
  };
}

function fmt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function print(result: TopologyBenchResult): void {
  const rows: [string, string, string][] = [
    ['', 'large', 'small'],
    [
      'clusters × operators',
      `${fmt(result.large.clusters)} × 3`,
      `${fmt(result.small.clusters)} × 3`,
    ],
    ['tables', fmt(result.large.tables), fmt(result.small.tables)],
    ['policies', fmt(result.large.policies), fmt(result.small.policies)],
    ['build, ids present (ms)', result.large.buildMs.toFixed(1), result.small.buildMs.toFixed(2)],
    [
      'build, ids computed (ms)',
      result.large.buildComputedIdsMs.toFixed(1),
      result.small.buildComputedIdsMs.toFixed(2),
    ],
    ['routeQuery / s', fmt(result.large.queryRoutesPerSec), fmt(result.small.queryRoutesPerSec)],
    ['routeQuery / s, 50 hot tables', fmt(result.largeHotQueryRoutesPerSec), ''],
    [
      'routeWrite (keyed) / s',
      fmt(result.large.writeRoutesPerSec),
      fmt(result.small.writeRoutesPerSec),
    ],
  ];
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]?.length ?? 0)));
  for (const row of rows) {
    console.log(
      row
        .map((cell, i) => (i === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[i] ?? 0)))
        .join('  '),
    );
  }
  console.log(
    `query ratio small/large: ${result.queryRatio.toFixed(2)}× (target ≤ 2×); write ratio: ${result.writeRatio.toFixed(2)}×`,
  );
  console.log(
    `large topology with requests on 50 hot tables: ${(result.largeHotQueryRoutesPerSec / result.small.queryRoutesPerSec).toFixed(2)}× the small topology's rate (uniform requests over all tables are slower from CPU cache misses, not from the topology's size)`,
  );
  console.log(
    `build from ${fmt(result.large.policies)} policies: ${result.large.buildMs.toFixed(0)} ms (target < 1000 ms)${result.quick ? ' [quick sizes]' : ''}`,
  );
}

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(entry).href) {
  runTopologyBench({ quick: process.argv.includes('--quick') }).then(print, (error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

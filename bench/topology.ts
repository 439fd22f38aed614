/**
 * Topology benchmark (issue 13): routes/s on a large and a small topology, measured in paired
 * windows (large, small, large, small, …) so that both sides see the same machine; the figures
 * are the medians (and ranges) of the per-round ratios small ÷ large for queries and keyed writes
 * (target ≤ 2, stretch ≤ 1.3: routing cost must not depend on the topology's size), and the
 * median time to build a topology from 40,000 policies (target < 0.5 s).
 *
 * Run: `npx tsx bench/topology.ts [--quick]`.
 */

import type { Policy } from '../src/policy/types.js';
import { Topology } from '../src/topology/topology.js';
import type { QueryRequest, WriteRequest } from '../src/topology/types.js';
import {
  type BenchOptions,
  type BenchResult,
  fmt,
  isMain,
  median,
  medianRange,
  printResult,
  range,
  ratio,
  target,
} from './lib.js';

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
  /** Every build time with ids present, in ms, in run order. */
  buildMsRounds: number[];
  /** Build time when every id must be computed (MD5), in ms (median). */
  buildComputedIdsMs: number;
  /** Every build time with ids computed, in ms, in run order. */
  buildComputedIdsMsRounds: number[];
  /** `routeQuery` calls per second, median window (10% of the operators not responding). */
  queryRoutesPerSec: number;
  /** `routeQuery` calls per second of every window, in run order. */
  queryRounds: number[];
  /** Keyed `routeWrite` calls per second, median window. */
  writeRoutesPerSec: number;
  /** Keyed `routeWrite` calls per second of every window, in run order. */
  writeRounds: number[];
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
  /** Median over the paired rounds of small routes/s ÷ large routes/s for queries (target ≤ 2). */
  queryRatio: number;
  /** The per-round query ratios. */
  queryRatios: number[];
  /** Median over the paired rounds of small ÷ large for keyed writes (target ≤ 2). */
  writeRatio: number;
  /** The per-round keyed-write ratios. */
  writeRatios: number[];
  /** Paired rounds of routing windows. */
  rounds: number;
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

function timeBuilds(
  withIds: Policy[],
  computed: Policy[],
  repeats: number,
): { present: number[]; computed: number[]; topology: Topology } {
  const present: number[] = [];
  const computedMs: number[] = [];
  let topology: Topology | undefined;
  Topology.fromPolicies(withIds); // warm-up, not measured
  // Paired: ids present, ids computed, ids present, …
  for (let i = 0; i < repeats; i++) {
    let start = performance.now();
    topology = Topology.fromPolicies(withIds);
    present.push(performance.now() - start);
    start = performance.now();
    Topology.fromPolicies(computed);
    computedMs.push(performance.now() - start);
  }
  return { present, computed: computedMs, topology: topology as Topology };
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
  result: Pick<
    TopologySizeResult,
    | 'clusters'
    | 'operators'
    | 'tables'
    | 'policies'
    | 'buildMs'
    | 'buildMsRounds'
    | 'buildComputedIdsMs'
    | 'buildComputedIdsMsRounds'
  >;
  query: (i: number) => void;
  write: (i: number) => void;
  hotQuery: (i: number) => void;
}

let sink = 0;

async function prepare(shape: Shape, quick: boolean): Promise<Prepared> {
  const repeats = quick ? 3 : 7;
  const withIds = makePolicies(shape, true);
  const builds = timeBuilds(withIds, await computedIdPolicies(shape), repeats);
  const topology = builds.topology;
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
      buildMs: median(builds.present),
      buildMsRounds: builds.present,
      buildComputedIdsMs: median(builds.computed),
      buildComputedIdsMsRounds: builds.computed,
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
 * Runs the topology benchmark. Route rates are measured in paired rounds: each round measures a
 * query window on the large topology, then on the small one, then a keyed-write window on each
 * (A B A B …), and the ratio small ÷ large is taken per round, so a machine that drifts moves
 * both sides of a ratio alike. The figures are medians over the rounds.
 *
 * @param options - `quick` shrinks the large topology (1,000 clusters × 5,000 tables) and the
 * measuring time so the run takes a few seconds.
 * @returns The figures.
 */
export async function runTopologyBench(options: { quick: boolean }): Promise<TopologyBenchResult> {
  const { quick } = options;
  const large = await prepare(
    quick ? { clusters: 1_000, tables: 5_000 } : { clusters: 10_000, tables: 50_000 },
    quick,
  );
  const small = await prepare({ clusters: 10, tables: 50 }, quick);
  const ms = quick ? 100 : 300;
  const rounds = quick ? 5 : 11;
  for (const size of [large, small]) {
    for (let i = 0; i < 20_000; i++) {
      size.query(i);
      size.write(i);
      if (size === large) size.hotQuery(i);
    }
  }
  const q = { large: [] as number[], small: [] as number[], hot: [] as number[] };
  const w = { large: [] as number[], small: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    q.large.push(window(large.query, ms));
    q.small.push(window(small.query, ms));
    w.large.push(window(large.write, ms));
    w.small.push(window(small.write, ms));
    q.hot.push(window(large.hotQuery, ms));
  }
  if (sink === Number.MIN_SAFE_INTEGER) console.log(sink);
  const queryRatios = q.small.map((v, i) => v / (q.large[i] as number));
  const writeRatios = w.small.map((v, i) => v / (w.large[i] as number));
  return {
    quick,
    large: {
      ...large.result,
      queryRoutesPerSec: median(q.large),
      queryRounds: q.large,
      writeRoutesPerSec: median(w.large),
      writeRounds: w.large,
    },
    small: {
      ...small.result,
      queryRoutesPerSec: median(q.small),
      queryRounds: q.small,
      writeRoutesPerSec: median(w.small),
      writeRounds: w.small,
    },
    largeHotQueryRoutesPerSec: median(q.hot),
    queryRatio: median(queryRatios),
    queryRatios,
    writeRatio: median(writeRatios),
    writeRatios,
    rounds,
  };
}

/** The 40,000 policies of the build target (10,000 clusters of 3 operators). */
const BUILD_TARGET_POLICIES = 40_000;

/** Runs {@link runTopologyBench} and reports it in the common benchmark shape. */
export async function runTopologyReport(options: BenchOptions): Promise<BenchResult> {
  const r = await runTopologyBench({ quick: options.quick });
  const size = (s: TopologySizeResult): string => `${fmt(s.clusters)}×3×${fmt(s.tables)}`;
  const perSec = (v: number): string => fmt(v);
  const msText = (v: number): string => v.toFixed(1);
  const q = range(r.queryRatios);
  const w = range(r.writeRatios);
  const build = range(r.large.buildMsRounds);
  const notes = [
    `${r.rounds} paired rounds (large, small, large, small, …; ${r.quick ? 100 : 300} ms windows), 10% of the operators not responding; cells are median (min–max), ratios are per round`,
    `the large topology on 50 hot tables routes ${ratio(r.largeHotQueryRoutesPerSec / r.small.queryRoutesPerSec)} the small topology's queries/s: what remains of the query gap over uniform requests is CPU cache misses over ${fmt(r.large.tables)} tables, not the topology's size`,
  ];
  if (r.large.policies !== BUILD_TARGET_POLICIES) {
    notes.push(
      `quick: the build target is for ${fmt(BUILD_TARGET_POLICIES)} policies; this run builds ${fmt(r.large.policies)}`,
    );
  }
  return {
    name: 'topology',
    title: 'Topology: routing on a large vs a small topology, building from policies',
    quick: r.quick,
    table: [
      ['', `large ${size(r.large)}`, `small ${size(r.small)}`, 'small ÷ large'],
      ['policies', fmt(r.large.policies), fmt(r.small.policies), ''],
      [
        'build, ids present (ms)',
        medianRange(r.large.buildMsRounds, msText),
        medianRange(r.small.buildMsRounds, (v) => v.toFixed(2)),
        '',
      ],
      [
        'build, ids computed (ms)',
        medianRange(r.large.buildComputedIdsMsRounds, msText),
        medianRange(r.small.buildComputedIdsMsRounds, (v) => v.toFixed(2)),
        '',
      ],
      [
        'routeQuery / s',
        medianRange(r.large.queryRounds, perSec),
        medianRange(r.small.queryRounds, perSec),
        medianRange(r.queryRatios, ratio),
      ],
      [
        'routeWrite (keyed) / s',
        medianRange(r.large.writeRounds, perSec),
        medianRange(r.small.writeRounds, perSec),
        medianRange(r.writeRatios, ratio),
      ],
    ],
    figures: {
      rounds: r.rounds,
      largeClusters: r.large.clusters,
      largeTables: r.large.tables,
      largePolicies: r.large.policies,
      largeBuildMs: r.large.buildMs,
      largeBuildMsMin: build.min,
      largeBuildMsMax: build.max,
      largeBuildComputedIdsMs: r.large.buildComputedIdsMs,
      largeQueryRoutesPerSec: r.large.queryRoutesPerSec,
      largeWriteRoutesPerSec: r.large.writeRoutesPerSec,
      largeHotQueryRoutesPerSec: r.largeHotQueryRoutesPerSec,
      smallQueryRoutesPerSec: r.small.queryRoutesPerSec,
      smallWriteRoutesPerSec: r.small.writeRoutesPerSec,
      queryRatio: r.queryRatio,
      queryRatioMin: q.min,
      queryRatioMax: q.max,
      writeRatio: r.writeRatio,
      writeRatioMin: w.min,
      writeRatioMax: w.max,
    },
    targets: [
      target(
        'query-ratio',
        `routeQuery/s small ÷ large (median of ${r.rounds} paired rounds)`,
        r.queryRatio,
        '<=',
        2,
        '×',
        1.3,
      ),
      target(
        'write-ratio',
        `keyed routeWrite/s small ÷ large (median of ${r.rounds} paired rounds)`,
        r.writeRatio,
        '<=',
        2,
        '×',
        1.3,
      ),
      target(
        'build-time',
        `build from ${fmt(r.large.policies)} policies, ids present (median)`,
        r.large.buildMs,
        '<',
        500,
        'ms',
      ),
    ],
    notes,
  };
}

if (isMain(import.meta.url)) {
  runTopologyReport({ quick: process.argv.includes('--quick') }).then(printResult, (error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

/**
 * Runs the benchmarks, prints one table per benchmark and writes `bench/results.json`.
 *
 * `npm run bench` (full sizes, several minutes), `npm run bench -- --quick` (CI sizes, well under
 * a minute), `npm run bench -- --only <name>` (one benchmark; repeatable). Every figure is a
 * ratio against a baseline measured in the same run, so it holds on a noisy machine.
 */

import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runBackfillHttpBench } from './backfill-http.js';
import { runBackfillItemsBench } from './backfill-items.js';
import { runBackfillMemoryBench } from './backfill-memory.js';
import {
  type BenchOptions,
  type BenchResult,
  type BenchTarget,
  fmt,
  printResult,
  ratio,
  target,
} from './lib.js';
import { runMemoryBoundBench } from './memory-bound.js';
import { runPolicyIdsBench } from './policy-ids.js';
import { runTopologyBench } from './topology.js';

/** Adapts the topology engineer's result to the common shape. */
async function runRouting(options: BenchOptions): Promise<BenchResult> {
  const r = await runTopologyBench({ quick: options.quick });
  const size = (s: typeof r.large): string => `${fmt(s.clusters)}×3×${fmt(s.tables)}`;
  return {
    name: 'routing',
    title: 'Routing: large vs small topology',
    quick: options.quick,
    table: [
      ['', `large ${size(r.large)}`, `small ${size(r.small)}`, 'small ÷ large'],
      ['policies', fmt(r.large.policies), fmt(r.small.policies), ''],
      ['build, ids present (ms)', r.large.buildMs.toFixed(1), r.small.buildMs.toFixed(2), ''],
      [
        'build, ids computed (ms)',
        r.large.buildComputedIdsMs.toFixed(1),
        r.small.buildComputedIdsMs.toFixed(2),
        '',
      ],
      [
        'routeQuery / s',
        fmt(r.large.queryRoutesPerSec),
        fmt(r.small.queryRoutesPerSec),
        ratio(r.queryRatio),
      ],
      [
        'routeWrite (keyed) / s',
        fmt(r.large.writeRoutesPerSec),
        fmt(r.small.writeRoutesPerSec),
        ratio(r.writeRatio),
      ],
    ],
    figures: {
      largeClusters: r.large.clusters,
      largeOperators: r.large.operators,
      largeTables: r.large.tables,
      largePolicies: r.large.policies,
      largeBuildMs: r.large.buildMs,
      largeBuildComputedIdsMs: r.large.buildComputedIdsMs,
      largeQueryRoutesPerSec: r.large.queryRoutesPerSec,
      largeWriteRoutesPerSec: r.large.writeRoutesPerSec,
      smallClusters: r.small.clusters,
      smallTables: r.small.tables,
      smallQueryRoutesPerSec: r.small.queryRoutesPerSec,
      smallWriteRoutesPerSec: r.small.writeRoutesPerSec,
      queryRatio: r.queryRatio,
      writeRatio: r.writeRatio,
    },
    targets: [
      target('query-ratio', 'routeQuery/s small ÷ large', r.queryRatio, '<=', 2, '×'),
      target('write-ratio', 'routeWrite/s small ÷ large', r.writeRatio, '<=', 2, '×'),
      target(
        'build-time',
        `build from ${fmt(r.large.policies)} policies (ids present)`,
        r.large.buildMs,
        '<',
        1000,
        'ms',
      ),
    ],
    notes: r.quick ? ['quick: the large topology is 1,000 × 3 × 5,000'] : [],
  };
}

/** The benchmarks, in run order. */
const BENCHMARKS: Readonly<Record<string, (options: BenchOptions) => Promise<BenchResult>>> = {
  'backfill-http': runBackfillHttpBench,
  'backfill-memory': runBackfillMemoryBench,
  'backfill-items': runBackfillItemsBench,
  'memory-bound': runMemoryBoundBench,
  routing: runRouting,
  'policy-ids': runPolicyIdsBench,
};

function parseArgs(argv: readonly string[]): { quick: boolean; only: string[] } {
  const only: string[] = [];
  let quick = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') quick = true;
    else if (arg === '--only') {
      const name = argv[++i];
      if (name === undefined || !Object.hasOwn(BENCHMARKS, name)) {
        throw new Error(`--only needs one of: ${Object.keys(BENCHMARKS).join(', ')}`);
      }
      only.push(name);
    } else if (arg?.startsWith('--only=')) {
      only.push(...parseArgs(['--only', arg.slice('--only='.length)]).only);
    } else {
      throw new Error(`unknown argument ${String(arg)}; use --quick and/or --only <name>`);
    }
  }
  return { quick, only };
}

function cpuModel(): string {
  return cpus()[0]?.model.trim() ?? 'unknown';
}

async function main(): Promise<void> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  const names = only.length > 0 ? only : Object.keys(BENCHMARKS);
  const machine = {
    cpu: cpuModel(),
    cores: cpus().length,
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: loadavg().map((v) => Number(v.toFixed(2))),
  };
  console.log(
    `edge-ha benchmarks (${quick ? 'quick' : 'full'} sizes) on ${machine.cpu}, ${machine.cores} cores, ${fmt(machine.memoryMiB)} MiB, Node ${process.version}`,
  );
  const started = Date.now();
  const results: Record<string, BenchResult> = {};
  const failures: Record<string, string> = {};
  for (const name of names) {
    const bench = BENCHMARKS[name] as (options: BenchOptions) => Promise<BenchResult>;
    try {
      const result = await bench({ quick });
      results[name] = result;
      printResult(result);
    } catch (error) {
      failures[name] = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`\n== ${name} FAILED\n${failures[name]}`);
    }
  }
  const targets: (BenchTarget & { benchmark: string })[] = Object.values(results).flatMap((r) =>
    r.targets.map((t) => ({ benchmark: r.name, ...t })),
  );
  const missed = targets.filter((t) => !t.pass);
  const out = {
    date: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    mode: quick ? 'quick' : 'full',
    node: process.version,
    machine,
    benchmarks: Object.fromEntries(
      Object.values(results).map((r) => [
        r.name,
        { title: r.title, quick: r.quick, figures: r.figures, targets: r.targets, notes: r.notes },
      ]),
    ),
    failures,
    summary: {
      targets: targets.length,
      passed: targets.length - missed.length,
      missed: missed.length,
    },
  };
  const file = fileURLToPath(new URL('./results.json', import.meta.url));
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(
    `\n${targets.length - missed.length}/${targets.length} targets met${missed.length > 0 ? `; missed: ${missed.map((t) => `${t.benchmark}/${t.id}`).join(', ')}` : ''}. Wrote ${file} (${((Date.now() - started) / 1000).toFixed(1)} s).`,
  );
  // Benchmarks report misses; only a crash fails the command.
  if (Object.keys(failures).length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

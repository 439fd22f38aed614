/**
 * Runs the benchmarks, prints one table per benchmark and writes the record of the run: a
 * complete full-size run (`npm run bench`) replaces `bench/results.json`, the committed record
 * that docs/performance.md shows (`npm run bench:report` renders it there); any other run
 * (`--quick`, `--only`, or one with a crashed benchmark) writes `bench/results.last.json`.
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
import { runBackfillPostgresBench } from './backfill-postgres.js';
import { runEventsHttpBench } from './events-http.js';
import {
  type BenchOptions,
  type BenchRecord,
  type BenchResult,
  type BenchTarget,
  fmt,
  isMain,
  printResult,
} from './lib.js';
import { runMemoryBoundBench } from './memory-bound.js';
import { runPolicyIdsBench } from './policy-ids.js';
import { runResponsivenessBench } from './responsiveness.js';
import { runTopologyReport } from './topology.js';

/** The benchmarks, in run order. */
export const BENCHMARKS: Readonly<Record<string, (options: BenchOptions) => Promise<BenchResult>>> =
  {
    'backfill-http': runBackfillHttpBench,
    'backfill-memory': runBackfillMemoryBench,
    'backfill-items': runBackfillItemsBench,
    'backfill-postgres': runBackfillPostgresBench,
    'events-http': runEventsHttpBench,
    'memory-bound': runMemoryBoundBench,
    topology: runTopologyReport,
    'policy-ids': runPolicyIdsBench,
    responsiveness: runResponsivenessBench,
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
  /** The 1-minute load average before each benchmark, and its duration. */
  const conditions: Record<string, { loadAverage: number; durationMs: number }> = {};
  for (const name of names) {
    const bench = BENCHMARKS[name] as (options: BenchOptions) => Promise<BenchResult>;
    const load = loadavg()[0] ?? Number.NaN;
    const benchStarted = Date.now();
    try {
      const result = await bench({ quick });
      results[name] = result;
      conditions[name] = {
        loadAverage: Number(load.toFixed(2)),
        durationMs: Date.now() - benchStarted,
      };
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
  const complete = !quick && only.length === 0 && Object.keys(failures).length === 0;
  const out: BenchRecord = {
    date: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    mode: quick ? 'quick' : 'full',
    complete,
    command: `npm run bench${quick || only.length > 0 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    node: process.version,
    machine,
    benchmarks: Object.fromEntries(
      Object.values(results).map((r) => [
        r.name,
        {
          title: r.title,
          quick: r.quick,
          loadAverage: conditions[r.name]?.loadAverage ?? Number.NaN,
          durationMs: conditions[r.name]?.durationMs ?? Number.NaN,
          table: r.table,
          figures: r.figures,
          targets: r.targets,
          notes: r.notes,
        },
      ]),
    ),
    failures,
    summary: {
      targets: targets.length,
      passed: targets.length - missed.length,
      missed: missed.length,
    },
  };
  // Only a complete full-size run replaces the record that docs/performance.md shows.
  const file = fileURLToPath(
    new URL(complete ? './results.json' : './results.last.json', import.meta.url),
  );
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(
    `\n${targets.length - missed.length}/${targets.length} targets met${missed.length > 0 ? `; missed: ${missed.map((t) => `${t.benchmark}/${t.id}`).join(', ')}` : ''}. Wrote ${file} (${((Date.now() - started) / 1000).toFixed(1)} s).`,
  );
  // Benchmarks report misses; only a crash fails the command.
  if (Object.keys(failures).length > 0) process.exitCode = 1;
}

if (isMain(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

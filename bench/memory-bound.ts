/**
 * Memory bound (SPEC I7: memory follows the page size, not the window size). Back-fills two
 * sizes, each in a fresh child process ({@link MemoryWorkerResult}), from a peer that generates
 * its points on the fly into a SQLite file, and compares the peak RSS growth above the process
 * baseline. Target: growth ≤ 64 MiB at the large size, and the peak RSS of the two sizes within
 * 20% of each other.
 */

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  type BenchOptions,
  type BenchResult,
  fmt,
  isMain,
  mib,
  printResult,
  ratio,
  target,
  tempDir,
} from './lib.js';
import type { MemoryWorkerResult } from './memory-worker.js';

const WORKER = fileURLToPath(new URL('./memory-worker.ts', import.meta.url));
const MiB = 1024 * 1024;
/** The repository root, so `--import tsx` resolves from its node_modules. */
const REPO = fileURLToPath(new URL('..', import.meta.url));

function runWorker(points: number, dir: string): Promise<MemoryWorkerResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', WORKER, String(points), dir],
      { stdio: ['ignore', 'pipe', 'inherit'], cwd: REPO },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || line === '') {
        reject(new Error(`memory worker (${points} points) exited with ${code}: ${out}`));
        return;
      }
      resolve(JSON.parse(line) as MemoryWorkerResult);
    });
  });
}

/**
 * Runs the memory-bound benchmark: 1,000,000 and 5,000,000 points (quick: 500,000 and 1,500,000).
 */
export async function runMemoryBoundBench(options: BenchOptions): Promise<BenchResult> {
  const { quick } = options;
  const [small, large] = quick ? [500_000, 1_500_000] : [1_000_000, 5_000_000];
  const temp = tempDir('memory');
  try {
    const a = await runWorker(small, temp.dir);
    const b = await runWorker(large, temp.dir);
    for (const [r, points] of [
      [a, small],
      [b, large],
    ] as const) {
      if (r.state !== 'finished_ok') throw new Error(`memory worker run ended ${r.state}`);
      // A run that synced nothing would "pass" with a flat, tiny RSS: insist on every point.
      if (r.points !== points)
        throw new Error(`memory worker synced ${r.points} of ${points} points`);
    }
    const peakRatio = b.peakRss / a.peakRss;
    return {
      name: 'memory-bound',
      title: 'Memory bound: synthetic peer → SQLite, one fresh process per size',
      quick,
      table: [
        ['', `${fmt(small)} points`, `${fmt(large)} points`],
        ['baseline RSS', mib(a.baselineRss), mib(b.baselineRss)],
        ['peak RSS', mib(a.peakRss), mib(b.peakRss)],
        ['peak RSS growth', mib(a.growth), mib(b.growth)],
        ['peak V8 heap used', mib(a.peakHeapUsed), mib(b.peakHeapUsed)],
        ['back-fill time', `${fmt(a.ms)} ms`, `${fmt(b.ms)} ms`],
        ['points/s', fmt(a.points / (a.ms / 1000)), fmt(b.points / (b.ms / 1000))],
        ['RSS samples', fmt(a.samples), fmt(b.samples)],
        ['peak RSS large / small', '', ratio(peakRatio)],
      ],
      figures: {
        smallPoints: small,
        largePoints: large,
        smallBaselineRssBytes: a.baselineRss,
        largeBaselineRssBytes: b.baselineRss,
        smallPeakRssBytes: a.peakRss,
        largePeakRssBytes: b.peakRss,
        smallGrowthBytes: a.growth,
        largeGrowthBytes: b.growth,
        smallPeakHeapUsedBytes: a.peakHeapUsed,
        largePeakHeapUsedBytes: b.peakHeapUsed,
        smallMs: a.ms,
        largeMs: b.ms,
        peakRssRatio: peakRatio,
      },
      targets: [
        target(
          'rss-growth',
          `peak RSS growth during the ${fmt(large)}-point back-fill`,
          b.growth / MiB,
          '<=',
          64,
          'MiB',
        ),
        target(
          'rss-flat',
          `peak RSS at ${fmt(large)} ÷ at ${fmt(small)} points (within 20%)`,
          peakRatio,
          '<=',
          1.2,
          '×',
        ),
      ],
      notes: [
        'The remote generates its points on the fly and the local store is a SQLite file, so the growth is the sync machinery (deputy, pages, SQLite page cache).',
        'Peak RSS is the higher of 5 ms samples and process.resourceUsage().maxRSS.',
      ],
    };
  } finally {
    temp.cleanup();
  }
}

if (isMain(import.meta.url)) {
  runMemoryBoundBench({ quick: process.argv.includes('--quick') }).then(printResult, (error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

/**
 * Child process of the memory-bound benchmark: back-fills `<points>` generated points (100
 * items) from a {@link syntheticPeer} into a SQLite file, sampling the RSS, and prints one JSON
 * line with the figures. Run by `bench/memory-bound.ts` as
 * `node --expose-gc --import tsx bench/memory-worker.ts <points> <dir>`.
 */

import { join } from 'node:path';
import { TimeSeriesDeputy } from '../src/deputy/deputy.js';
import { openSqliteStorage } from '../src/sqlite/adapter.js';
import { collectGarbage } from './lib.js';
import { syntheticPeer } from './synthetic-peer.js';

/** What the worker prints. */
export interface MemoryWorkerResult {
  /** Points synced. */
  readonly points: number;
  /** RSS before the back-fill (after setup and a GC), bytes. */
  readonly baselineRss: number;
  /** Highest RSS seen during the back-fill (samples and `maxRSS`), bytes. */
  readonly peakRss: number;
  /** `peakRss - baselineRss`. */
  readonly growth: number;
  /** Highest V8 heap used seen, bytes. */
  readonly peakHeapUsed: number;
  /** RSS samples taken. */
  readonly samples: number;
  /** Duration of the back-fill, ms. */
  readonly ms: number;
  /** Final state of the run. */
  readonly state: string;
}

async function main(): Promise<void> {
  const total = Number(process.argv[2]);
  const dir = process.argv[3];
  if (!Number.isSafeInteger(total) || total < 100 || dir === undefined) {
    throw new Error('usage: memory-worker.ts <points (>= 100)> <directory>');
  }
  const items = 100;
  const source = syntheticPeer({ items, pointsPerItem: Math.floor(total / items) });
  const storage = openSqliteStorage(join(dir, `local-${total}.db`));
  await storage.registerItems(source.items);
  const deputy = new TimeSeriesDeputy({ storage, peer: source.peer });
  collectGarbage();
  await new Promise((resolve) => setTimeout(resolve, 50));
  collectGarbage();
  const baselineRss = process.memoryUsage.rss();
  let peakRss = baselineRss;
  let peakHeapUsed = process.memoryUsage().heapUsed;
  let samples = 0;
  const sample = (): void => {
    const rss = process.memoryUsage.rss();
    if (rss > peakRss) peakRss = rss;
    samples++;
    if (samples % 10 === 0) {
      const heap = process.memoryUsage().heapUsed;
      if (heap > peakHeapUsed) peakHeapUsed = heap;
    }
  };
  // The deputy yields between pages (every storage call is a promise), so the timer fires.
  const timer = setInterval(sample, 5);
  deputy.on('progress', sample);
  const start = performance.now();
  // A back-fill of a node that was down for the whole window: the remote wins.
  const summary = await deputy.run(source.window, { mode: 'overwrite' });
  const ms = performance.now() - start;
  clearInterval(timer);
  sample();
  // maxRSS (KiB) covers the whole process life, so it also catches a peak between samples.
  peakRss = Math.max(peakRss, process.resourceUsage().maxRSS * 1024);
  await storage.close();
  const result: MemoryWorkerResult = {
    points: summary.points,
    baselineRss,
    peakRss,
    growth: peakRss - baselineRss,
    peakHeapUsed,
    samples,
    ms,
    state: summary.state,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

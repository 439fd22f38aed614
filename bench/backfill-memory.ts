/**
 * In-process back-fill: a {@link TimeSeriesDeputy} pulls every point of 100 items from a
 * {@link MemoryStorageAdapter} through {@link localPeer} into another memory adapter. Baseline:
 * a plain copy of the same points, object by object, between JS arrays. Targets: ≥ 2,000,000
 * points/s and ≥ 25% of the baseline.
 */

import { TimeSeriesDeputy } from '../src/deputy/deputy.js';
import { localPeer } from '../src/peer/local.js';
import { MemoryStorageAdapter } from '../src/storage/memory.js';
import type { Point, TimeWindow } from '../src/storage/types.js';
import {
  type BenchOptions,
  type BenchResult,
  collectGarbage,
  fmt,
  isMain,
  median,
  medianRange,
  printResult,
  RECENT_START,
  ratio,
  target,
  timed,
} from './lib.js';

const START = RECENT_START;

const ITEMS = 100;

function makeSeries(pointsPerItem: number): Map<string, Point[]> {
  const series = new Map<string, Point[]>();
  for (let i = 0; i < ITEMS; i++) {
    const points: Point[] = new Array(pointsPerItem);
    for (let k = 0; k < pointsPerItem; k++) {
      points[k] = { t: START + k * 1000, v: ((i * 7919 + k * 31) % 10_000) / 10 };
    }
    series.set(`item-${String(i).padStart(3, '0')}`, points);
  }
  return series;
}

/** The baseline: copies every point into fresh arrays (one new object per point). */
function arrayCopy(series: Map<string, Point[]>): number {
  const copies = new Map<string, Point[]>();
  let copied = 0;
  for (const [item, points] of series) {
    const copy: Point[] = new Array(points.length);
    for (let k = 0; k < points.length; k++) {
      const p = points[k] as Point;
      copy[k] = { t: p.t, v: p.v };
    }
    copies.set(item, copy);
    copied += copy.length;
  }
  return copied;
}

async function deputyCopy(
  source: MemoryStorageAdapter,
  items: readonly string[],
  window: TimeWindow,
  pageSize: number | undefined,
): Promise<{ ms: number; points: number }> {
  const local = new MemoryStorageAdapter();
  await local.registerItems(items);
  const deputy = new TimeSeriesDeputy({
    storage: local,
    peer: localPeer(source),
    ...(pageSize === undefined ? {} : { pageSize }),
  });
  collectGarbage();
  // The node was down for the whole window: the remote wins (as the 0.1.0 figures measured).
  const { ms, value: summary } = await timed(() => deputy.run(window, { mode: 'overwrite' }));
  if (summary.state !== 'finished_ok') {
    throw new Error(
      `in-process back-fill ended ${summary.state}: ${JSON.stringify(summary.errors)}`,
    );
  }
  await local.close();
  return { ms, points: summary.points };
}

/** Runs the in-process back-fill benchmark: 5,000,000 points (quick: 500,000). */
export async function runBackfillMemoryBench(options: BenchOptions): Promise<BenchResult> {
  const { quick } = options;
  const total = quick ? 500_000 : 5_000_000;
  const perItem = total / ITEMS;
  const series = makeSeries(perItem);
  const source = new MemoryStorageAdapter();
  for (const [item, points] of series) await source.appendPoints(item, points);
  const items = [...series.keys()];
  const window: TimeWindow = { from: START, to: START + perItem * 1000 };

  const rounds = quick ? 3 : 5;
  const perSec = (ms: number): number => total / (ms / 1000);
  // Per round (baseline, default page, big page, paired): throughputs.
  const baseline: number[] = [];
  const edge: number[] = [];
  const edgeBig: number[] = [];
  for (let round = 0; round < rounds; round++) {
    collectGarbage();
    const base = await timed(async () => arrayCopy(series));
    if (base.value !== total) throw new Error('baseline copied the wrong number of points');
    baseline.push(perSec(base.ms));
    const d = await deputyCopy(source, items, window, undefined);
    if (d.points !== total) throw new Error(`deputy copied ${d.points} of ${total} points`);
    edge.push(perSec(d.ms));
    const big = await deputyCopy(source, items, window, 10_000);
    if (big.points !== total) throw new Error(`deputy copied ${big.points} of ${total} points`);
    edgeBig.push(perSec(big.ms));
  }
  await source.close();
  const per = (a: readonly number[]): number[] => a.map((v, i) => v / (baseline[i] as number));
  return {
    name: 'backfill-memory',
    title: `In-process back-fill: memory → memory via localPeer, ${fmt(total)} points / ${ITEMS} items`,
    quick,
    table: [
      ['', 'points/s', 'vs baseline'],
      ['baseline: array copy', medianRange(baseline, fmt), ratio(1)],
      ['edge-ha, pageSize 5000 (default)', medianRange(edge, fmt), medianRange(per(edge), ratio)],
      ['edge-ha, pageSize 10000', medianRange(edgeBig, fmt), medianRange(per(edgeBig), ratio)],
    ],
    figures: {
      points: total,
      items: ITEMS,
      rounds,
      baselinePointsPerSec: median(baseline),
      defaultPagePointsPerSec: median(edge),
      defaultPageRatio: median(per(edge)),
      bigPagePointsPerSec: median(edgeBig),
      bigPageRatio: median(per(edgeBig)),
    },
    targets: [
      target(
        'points-per-sec',
        'edge-ha points/s (default pageSize, median of paired rounds)',
        median(edge),
        '>=',
        2_000_000,
        'points/s',
      ),
      target(
        'ratio',
        'edge-ha ÷ array copy (default pageSize, median of paired rounds)',
        median(per(edge)),
        '>=',
        0.25,
        '×',
      ),
    ],
    notes: [
      `${rounds} paired rounds (array copy, edge-ha with pageSize 5000, with 10000); cells are median (range) over the rounds, ratios per round`,
    ],
  };
}

if (isMain(import.meta.url)) {
  runBackfillMemoryBench({ quick: process.argv.includes('--quick') }).then(printResult, (error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

/**
 * Back-fill cost per point against the number of items (SPEC §4.3: progress is committed per
 * item with each page, "so a crash resumes, and the cost per point does not grow with the number
 * of items"). The same total of points is spread over few items (10) and over many (10,000;
 * quick: 1,000, so every item still has 100 points); the remote is a
 * {@link MemoryStorageAdapter} served in process by {@link localPeer}, the local store being
 * caught up is a SQLite file (WAL) wrapped by {@link countingStorage}.
 *
 * Variants, each measured on both layouts in paired rounds (few, many, few, many, …):
 * - `overwrite`: one downtime gap, `deputy.run(window, { mode: 'overwrite' })`, local empty;
 * - `merge`: `deputy.run(window)` (merge) with every other point already stored locally;
 * - `governor`: a {@link HAGovernor} start-up after a clean stop at the window's start: the
 *   downtime gap plus its two merge margins (three gaps per item).
 *
 * Figures: µs per point (median and range over the rounds), the ratio many ÷ few items per round
 * (target ≤ 1.5 for `overwrite`), and the durable commits per page: storage write calls during the
 * run ÷ the run summary's pages (target at most 1: a page with data is one commit, an empty merge page none; the few ledger/heartbeat writes of a run are
 * counted apart).
 */

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TimeSeriesDeputy } from '../src/deputy/deputy.js';
import type { DeputyRunSummary } from '../src/deputy/types.js';
import { writeHeartbeatRecord } from '../src/governor/downtime.js';
import { HAGovernor } from '../src/governor/governor.js';
import { localPeer } from '../src/peer/local.js';
import { openSqliteStorage } from '../src/sqlite/adapter.js';
import { MemoryStorageAdapter } from '../src/storage/memory.js';
import type { Point, TimeWindow } from '../src/storage/types.js';
import { countingStorage, type WriteCounts } from './counting-storage.js';
import {
  type BenchOptions,
  type BenchResult,
  collectGarbage,
  type Figure,
  fmt,
  isMain,
  median,
  medianRange,
  printResult,
  RECENT_START,
  range,
  ratio,
  target,
  tempDir,
  timed,
} from './lib.js';

/** Every layout spans the same window: 100,000 s (about 28 hours) from {@link RECENT_START}. */
const SPAN_MS = 100_000_000;
const WINDOW: TimeWindow = { from: RECENT_START, to: RECENT_START + SPAN_MS };
/** Value offset of the points the local store already has in the merge variant. */
const LOCAL_OFFSET = 10_000;

type Variant = 'overwrite' | 'merge' | 'governor';
const VARIANTS: readonly Variant[] = ['overwrite', 'merge', 'governor'];
const LABELS: Readonly<Record<Variant, string>> = {
  overwrite: 'deputy run(window, overwrite)',
  merge: 'deputy run(window), merge, half local',
  governor: 'governor start-up (downtime + margins)',
};

/** `count` items holding `total` points between them, evenly spaced over the window. */
interface Layout {
  readonly items: readonly string[];
  readonly perItem: number;
  readonly stepMs: number;
  readonly remote: MemoryStorageAdapter;
}

function value(i: number, k: number): number {
  return ((i * 7919 + k * 31) % 10_000) / 10;
}

async function makeLayout(count: number, total: number): Promise<Layout> {
  const perItem = total / count;
  const stepMs = SPAN_MS / perItem;
  if (!Number.isInteger(perItem) || !Number.isInteger(stepMs)) {
    throw new Error(`layout ${count} items × ${perItem} points does not fit the window evenly`);
  }
  const width = String(count - 1).length;
  const items = Array.from(
    { length: count },
    (_, i) => `plant/line-${String(i).padStart(width, '0')}/temperature`,
  );
  const remote = new MemoryStorageAdapter();
  for (const [i, item] of items.entries()) {
    const points: Point[] = new Array(perItem);
    for (let k = 0; k < perItem; k++) {
      const t = WINDOW.from + k * stepMs;
      points[k] = k % 50 === 0 ? { t, v: value(i, k), q: 192 } : { t, v: value(i, k) };
    }
    await remote.appendPoints(item, points);
  }
  return { items, perItem, stepMs, remote };
}

/** One measured run. */
interface Run {
  readonly ms: number;
  readonly pages: number;
  readonly points: number;
  /** Commits made while applying pages (data calls and progress-only writes). */
  readonly pageCommits: number;
  /** Data calls without their progress record (should be 0: a second commit would be needed). */
  readonly dataWithoutProgress: number;
  /** Ledger and heartbeat writes of the run. */
  readonly otherCommits: number;
}

/** The commit figures of a {@link Run}. */
type Commits = Pick<Run, 'pageCommits' | 'dataWithoutProgress' | 'otherCommits'>;

function countCommits(counts: WriteCounts): Commits {
  const data = counts.replacePoints + counts.mergePoints + counts.insertEvents;
  let other = 0;
  for (const n of counts.otherWrites.values()) other += n;
  return {
    pageCommits: data + counts.progressWrites,
    dataWithoutProgress: data - counts.dataWithSyncState,
    otherCommits: other,
  };
}

function checkSummary(summary: DeputyRunSummary | null, what: string): DeputyRunSummary {
  if (summary === null || summary.state !== 'finished_ok') {
    throw new Error(
      `${what} ended ${summary?.state ?? 'without a summary'}: ${JSON.stringify(summary?.errors)}`,
    );
  }
  return summary;
}

/** Counts the local rows (and those still holding the local's own values) with a second connection. */
function countRows(file: string): { rows: number; local: number } {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare('SELECT count(*) FROM points').pluck().get() as number;
    const local = db
      .prepare('SELECT count(*) FROM points WHERE vn >= ?')
      .pluck()
      .get(LOCAL_OFFSET) as number;
    return { rows, local };
  } finally {
    db.close();
  }
}

async function runOnce(variant: Variant, layout: Layout, file: string): Promise<Run> {
  const sqlite = openSqliteStorage(file);
  const counting = countingStorage(sqlite);
  const { storage, counts } = counting;
  const total = layout.items.length * layout.perItem;
  let seeded = 0;
  try {
    await storage.registerItems(layout.items);
    if (variant === 'merge') {
      // The node recorded every other point itself (with its own values): merge must keep them.
      for (const [i, item] of layout.items.entries()) {
        const points: Point[] = [];
        for (let k = 0; k < layout.perItem; k += 2) {
          points.push({ t: WINDOW.from + k * layout.stepMs, v: LOCAL_OFFSET + value(i, k) });
        }
        await storage.appendPoints(item, points);
        seeded += points.length;
      }
    }
    if (variant === 'governor') {
      await storage.writeSyncState(
        'edge-ha:heartbeat',
        writeHeartbeatRecord({ at: WINDOW.from, clean: true, intervalMs: 10_000 }),
      );
    }
    const peer = localPeer(layout.remote);
    collectGarbage();
    counting.reset();
    let summary: DeputyRunSummary;
    let ms: number;
    let commits: Commits;
    if (variant === 'governor') {
      const governor = new HAGovernor({ storage, peers: [peer], events: false });
      try {
        const r = await timed(() => governor.start());
        // Counted before close(): its last, clean heartbeat is not part of the run.
        commits = countCommits(counts);
        ms = r.ms;
        summary = checkSummary(r.value.timeSeries, 'governor start-up');
      } finally {
        await governor.close();
      }
      if (summary.gaps.length !== 3) {
        throw new Error(`governor start-up synced ${summary.gaps.length} gaps, expected 3`);
      }
    } else {
      const deputy = new TimeSeriesDeputy({ storage, peer });
      const r = await timed(() =>
        variant === 'overwrite' ? deputy.run(WINDOW, { mode: 'overwrite' }) : deputy.run(WINDOW),
      );
      commits = countCommits(counts);
      ms = r.ms;
      summary = checkSummary(r.value, `deputy ${variant}`);
    }
    const run: Run = { ms, pages: summary.pages, points: summary.points, ...commits };
    const expected = total - seeded;
    if (summary.pointsReceived !== total || summary.points !== expected) {
      throw new Error(
        `${variant}: received ${summary.pointsReceived} of ${total}, wrote ${summary.points} of ${expected} points`,
      );
    }
    await storage.close();
    const rows = countRows(file);
    if (rows.rows !== total || rows.local !== seeded) {
      throw new Error(
        `${variant}: the local file holds ${rows.rows} points (${rows.local} of its own), expected ${total} (${seeded})`,
      );
    }
    return run;
  } finally {
    await storage.close();
    // Up to 30 files of tens of MiB each at full size: remove each one once it is checked.
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
  }
}

/** Runs the benchmark: 1,000,000 points over 10 and 10,000 items (quick: 100,000 over 10 and 1,000). */
export async function runBackfillItemsBench(options: BenchOptions): Promise<BenchResult> {
  const { quick } = options;
  const total = quick ? 100_000 : 1_000_000;
  const few = 10;
  const many = total / 100;
  const rounds = quick ? 3 : 5;
  const temp = tempDir('items');
  try {
    // Warm-up (not measured): every variant once on a small layout of each shape.
    const warm = [await makeLayout(few, 10_000), await makeLayout(100, 10_000)];
    let file = 0;
    const nextFile = (): string => join(temp.dir, `local-${file++}.db`);
    for (const variant of VARIANTS) {
      for (const layout of warm) await runOnce(variant, layout, nextFile());
    }
    const fewLayout = await makeLayout(few, total);
    const manyLayout = await makeLayout(many, total);
    const runs = new Map<Variant, { few: Run[]; many: Run[] }>(
      VARIANTS.map((v) => [v, { few: [], many: [] }]),
    );
    for (let round = 0; round < rounds; round++) {
      for (const variant of VARIANTS) {
        const slot = runs.get(variant) as { few: Run[]; many: Run[] };
        slot.few.push(await runOnce(variant, fewLayout, nextFile()));
        slot.many.push(await runOnce(variant, manyLayout, nextFile()));
      }
    }
    await fewLayout.remote.close();
    await manyLayout.remote.close();

    const usPerPoint = (r: Run): number => (r.ms * 1000) / total;
    const us = (v: number): string => v.toFixed(2);
    const table: string[][] = [
      [
        'µs per point: median (range)',
        `${fmt(few)} items`,
        `${fmt(many)} items`,
        `${fmt(many)} ÷ ${fmt(few)}`,
      ],
    ];
    const figures: Record<string, Figure> = {
      points: total,
      fewItems: few,
      manyItems: many,
      rounds,
    };
    const ratios = new Map<Variant, number[]>();
    let worstCommits = 1;
    let dataWithoutProgress = 0;
    for (const variant of VARIANTS) {
      const slot = runs.get(variant) as { few: Run[]; many: Run[] };
      const a = slot.few.map(usPerPoint);
      const b = slot.many.map(usPerPoint);
      const paired = b.map((v, i) => v / (a[i] as number));
      ratios.set(variant, paired);
      table.push([
        LABELS[variant],
        medianRange(a, us),
        medianRange(b, us),
        medianRange(paired, ratio),
      ]);
      const { min, max } = range(paired);
      figures[`${variant}FewUsPerPoint`] = median(a);
      figures[`${variant}ManyUsPerPoint`] = median(b);
      figures[`${variant}Ratio`] = median(paired);
      figures[`${variant}RatioMin`] = min;
      figures[`${variant}RatioMax`] = max;
      for (const r of [...slot.few, ...slot.many]) {
        const perPage = r.pageCommits / r.pages;
        if (Math.abs(perPage - 1) > Math.abs(worstCommits - 1)) worstCommits = perPage;
        dataWithoutProgress += r.dataWithoutProgress;
      }
    }
    const slots = VARIANTS.map((v) => runs.get(v) as { few: Run[]; many: Run[] });
    const perVariant = (cell: (r: Run) => string, side: 'few' | 'many'): string =>
      slots.map((slot) => cell(slot[side][0] as Run)).join(' / ');
    const worstOf = (side: 'few' | 'many'): number => {
      let worst = 1;
      for (const slot of slots) {
        for (const r of slot[side]) {
          const perPage = r.pageCommits / r.pages;
          if (Math.abs(perPage - 1) > Math.abs(worst - 1)) worst = perPage;
        }
      }
      return worst;
    };
    const pages = (r: Run): string => fmt(r.pages);
    const other = (r: Run): string => String(r.otherCommits);
    table.push([
      `pages (${VARIANTS.join(' / ')})`,
      perVariant(pages, 'few'),
      perVariant(pages, 'many'),
      '',
    ]);
    table.push([
      'durable commits per page (worst run)',
      worstOf('few').toFixed(3),
      worstOf('many').toFixed(3),
      '',
    ]);
    table.push([
      'ledger + heartbeat commits per run',
      perVariant(other, 'few'),
      perVariant(other, 'many'),
      '',
    ]);
    for (const [i, variant] of VARIANTS.entries()) {
      const slot = slots[i] as { few: Run[]; many: Run[] };
      figures[`${variant}FewPages`] = slot.few[0]?.pages ?? null;
      figures[`${variant}ManyPages`] = slot.many[0]?.pages ?? null;
      figures[`${variant}FewOtherCommits`] = slot.few[0]?.otherCommits ?? null;
      figures[`${variant}ManyOtherCommits`] = slot.many[0]?.otherCommits ?? null;
    }
    figures.worstCommitsPerPage = worstCommits;
    figures.dataCallsWithoutProgress = dataWithoutProgress;
    const overwriteRatio = median(ratios.get('overwrite') as number[]);
    return {
      name: 'backfill-items',
      title: `Back-fill cost per point vs number of items: ${fmt(total)} points, memory (localPeer) → SQLite`,
      quick,
      table,
      figures,
      targets: [
        target(
          'items-ratio',
          `µs/point ${fmt(many)} ÷ ${fmt(few)} items, overwrite (median of ${rounds} paired rounds)`,
          overwriteRatio,
          '<=',
          1.5,
          '×',
        ),
        target(
          'commits-per-page',
          'durable commits per page, data + progress in one call (worst run; an empty merge page commits nothing)',
          worstCommits,
          '<=',
          1,
          '×',
        ),
        target(
          'data-without-progress',
          'data writes that did not carry their progress record (all runs)',
          dataWithoutProgress,
          '==',
          0,
          'calls',
        ),
      ],
      notes: [
        `${rounds} paired rounds (${fmt(few)} items, then ${fmt(many)} items, per variant), after one unmeasured warm-up run of each variant; the ratio column is the median (range) of the per-round ratios`,
        `every item holds ${fmt(total / many)} points in the ${fmt(many)}-item layout; pageSize 5000, concurrency 4 (defaults); a fresh SQLite file (WAL, synchronous=NORMAL) per run, items registered`,
        'commits per page = (replacePoints + mergePoints + insertEventsIfAbsent + progress-only writeSyncState calls during the run) ÷ summary.pages; the gap-ledger writes (and the governor start-up heartbeat) are a fixed few per run, counted apart',
        'each run checks the local file afterwards: every remote point present, and in the merge variant every point the node had kept its own value',
      ],
    };
  } finally {
    temp.cleanup();
  }
}

if (isMain(import.meta.url)) {
  runBackfillItemsBench({ quick: process.argv.includes('--quick') }).then(printResult, (error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

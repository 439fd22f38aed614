/**
 * Back-fill over HTTP on loopback, SQLite → SQLite: a real `node:http` server on 127.0.0.1
 * serves a SQLite file with {@link createPeerHandler}; a {@link TimeSeriesDeputy} and an
 * {@link EventDeputy} pull through {@link httpPeer} into a second SQLite file. Baselines, copying
 * the same rows between two SQLite files in one process: SQLite's own `ATTACH` +
 * `INSERT … SELECT` (one statement, one transaction: the fastest copy SQLite does), and a raw
 * better-sqlite3 copy (prepared statements, row by row, 10,000 rows per transaction). Targets:
 * edge-ha points ≥ 0.5× the `ATTACH` copy, and ≥ 50% of the raw copy (stretch 70%). Rounds are
 * paired (baselines, then edge-ha, then again): ratios are per round, printed as median (range).
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EventDeputy, TimeSeriesDeputy } from '../src/deputy/deputy.js';
import { httpPeer } from '../src/peer/http-client.js';
import { createPeerHandler } from '../src/peer/http-handler.js';
import { toNodeListener } from '../src/peer/node-listener.js';
import { openSqliteStorage, type SqliteStorageAdapter } from '../src/sqlite/adapter.js';
import type { EventRecord, Point, TimeWindow } from '../src/storage/types.js';
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
  tempDir,
  timed,
} from './lib.js';

const START = RECENT_START;

const ITEMS = 100;
const TOKEN = 'bench-token';
const BATCH = 10_000;

interface Sizes {
  readonly pointsPerItem: number;
  readonly events: number;
}

async function populate(file: string, sizes: Sizes): Promise<string[]> {
  const storage = openSqliteStorage(file);
  const items: string[] = [];
  for (let i = 0; i < ITEMS; i++) {
    const item = `plant/line-${String(i).padStart(3, '0')}/temperature`;
    items.push(item);
    const points: Point[] = [];
    for (let k = 0; k < sizes.pointsPerItem; k++) {
      const v = ((i * 7919 + k * 31) % 10_000) / 10;
      points.push(k % 50 === 0 ? { t: START + k * 1000, v, q: 192 } : { t: START + k * 1000, v });
    }
    await storage.appendPoints(item, points);
  }
  const step = Math.max(1, Math.floor((sizes.pointsPerItem * 1000) / sizes.events));
  for (let first = 0; first < sizes.events; first += BATCH) {
    const batch: EventRecord[] = [];
    for (let e = first; e < Math.min(sizes.events, first + BATCH); e++) {
      batch.push({
        id: `evt-${String(e).padStart(8, '0')}`,
        t: START + e * step,
        body: { alarm: e % 3 === 0 ? 'high' : 'low', item: items[e % ITEMS] ?? '', value: e % 997 },
      });
    }
    await storage.insertEventsIfAbsent(batch);
  }
  await storage.close();
  return items;
}

/** A fresh destination file with the edge-ha schema and the items registered. */
async function freshDestination(
  file: string,
  items: readonly string[],
): Promise<SqliteStorageAdapter> {
  const storage = openSqliteStorage(file);
  await storage.registerItems(items);
  return storage;
}

/** The baseline: copies the rows of `table` from `source` to `destination` with raw SQL. */
function rawCopy(sourceFile: string, destinationFile: string, table: 'points' | 'events'): number {
  const source = new Database(sourceFile, { readonly: true });
  const destination = new Database(destinationFile);
  destination.pragma('journal_mode = WAL');
  destination.pragma('synchronous = NORMAL');
  try {
    const columns = table === 'points' ? 'item, t, vt, vn, vs, q' : 't, id, body';
    const marks = table === 'points' ? '?, ?, ?, ?, ?, ?' : '?, ?, ?';
    const read = source.prepare(`SELECT ${columns} FROM ${table}`).raw();
    const insert = destination.prepare(`INSERT INTO ${table} (${columns}) VALUES (${marks})`);
    const writeBatch = destination.transaction((rows: unknown[][]) => {
      for (const row of rows) insert.run(row);
    });
    let copied = 0;
    let batch: unknown[][] = [];
    for (const row of read.iterate() as Iterable<unknown[]>) {
      batch.push(row);
      if (batch.length === BATCH) {
        writeBatch(batch);
        copied += batch.length;
        batch = [];
      }
    }
    writeBatch(batch);
    return copied + batch.length;
  } finally {
    source.close();
    destination.close();
  }
}

/**
 * The second baseline: SQLite copies the rows of `table` itself, `ATTACH` + `INSERT … SELECT`
 * in one transaction, without a row crossing into JavaScript.
 */
function attachCopy(
  sourceFile: string,
  destinationFile: string,
  table: 'points' | 'events',
): number {
  const destination = new Database(destinationFile);
  destination.pragma('journal_mode = WAL');
  destination.pragma('synchronous = NORMAL');
  try {
    destination.prepare('ATTACH DATABASE ? AS src').run(sourceFile);
    const columns = table === 'points' ? 'item, t, vt, vn, vs, q' : 't, id, body';
    return destination.transaction(
      () =>
        destination
          .prepare(`INSERT INTO main.${table} (${columns}) SELECT ${columns} FROM src.${table}`)
          .run().changes,
    )();
  } finally {
    destination.close();
  }
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve(`http://127.0.0.1:${port}/edge-ha/v1`);
    });
  });
}

interface EdgeRun {
  pointsMs: number;
  eventsMs: number;
}

async function edgeCopy(
  url: string,
  file: string,
  items: readonly string[],
  window: TimeWindow,
  sizes: Sizes,
  pageSize: number | undefined,
): Promise<EdgeRun> {
  const storage = await freshDestination(file, items);
  try {
    const peer = httpPeer({ url, token: TOKEN });
    const paging = pageSize === undefined ? {} : { pageSize };
    const points = new TimeSeriesDeputy({ storage, peer, ...paging });
    collectGarbage();
    const p = await timed(() => points.run(window, { mode: 'overwrite' }));
    if (p.value.state !== 'finished_ok' || p.value.points !== ITEMS * sizes.pointsPerItem) {
      throw new Error(
        `HTTP points back-fill ended ${p.value.state}: ${JSON.stringify(p.value.errors)}`,
      );
    }
    const events = new EventDeputy({ storage, peer, ...paging });
    collectGarbage();
    const e = await timed(() => events.run(window));
    if (e.value.state !== 'finished_ok' || e.value.eventsInserted !== sizes.events) {
      throw new Error(
        `HTTP events back-fill ended ${e.value.state}: ${JSON.stringify(e.value.errors)}`,
      );
    }
    return { pointsMs: p.ms, eventsMs: e.ms };
  } finally {
    await storage.close();
  }
}

/**
 * Runs the HTTP back-fill benchmark: 1,000,000 points over 100 items and 100,000 events
 * (quick: 100,000 points and 10,000 events).
 */
export async function runBackfillHttpBench(options: BenchOptions): Promise<BenchResult> {
  const { quick } = options;
  const sizes: Sizes = quick
    ? { pointsPerItem: 1_000, events: 10_000 }
    : { pointsPerItem: 10_000, events: 100_000 };
  const totalPoints = ITEMS * sizes.pointsPerItem;
  const window: TimeWindow = { from: START, to: START + sizes.pointsPerItem * 1000 };
  const temp = tempDir('http');
  const sourceFile = join(temp.dir, 'remote.db');
  const server = createServer();
  try {
    const items = await populate(sourceFile, sizes);
    const source = openSqliteStorage(sourceFile);
    const configs = [
      { label: 'edge-ha, pageSize 5000 (default)', pageSize: undefined },
      { label: 'edge-ha, pageSize 1000', pageSize: 1000 },
      { label: 'edge-ha, pageSize 10000', pageSize: 10_000 },
    ];
    server.on(
      'request',
      toNodeListener(
        createPeerHandler({
          storage: source,
          token: TOKEN,
          instanceId: 'remote',
          limits: { maxPageLimit: 10_000 },
        }),
      ),
    );
    const url = await listen(server);
    const rounds = 3;
    const pps = (ms: number): number => totalPoints / (ms / 1000);
    const eps = (ms: number): number => sizes.events / (ms / 1000);
    // Per round: throughputs of each baseline and each configuration.
    const attachPoints: number[] = [];
    const attachEvents: number[] = [];
    const rawPoints: number[] = [];
    const rawEvents: number[] = [];
    const edgePoints = configs.map((): number[] => []);
    const edgeEvents = configs.map((): number[] => []);
    let run = 0;
    for (let round = 0; round < rounds; round++) {
      const attachFile = join(temp.dir, `attach-${run++}.db`);
      await (await freshDestination(attachFile, [])).close();
      const ap = await timed(async () => attachCopy(sourceFile, attachFile, 'points'));
      const ae = await timed(async () => attachCopy(sourceFile, attachFile, 'events'));
      const baseFile = join(temp.dir, `raw-${run++}.db`);
      await (await freshDestination(baseFile, [])).close();
      const bp = await timed(async () => rawCopy(sourceFile, baseFile, 'points'));
      const be = await timed(async () => rawCopy(sourceFile, baseFile, 'events'));
      if (
        bp.value !== totalPoints ||
        be.value !== sizes.events ||
        ap.value !== totalPoints ||
        ae.value !== sizes.events
      ) {
        throw new Error('a baseline copy copied the wrong number of rows');
      }
      attachPoints.push(pps(ap.ms));
      attachEvents.push(eps(ae.ms));
      rawPoints.push(pps(bp.ms));
      rawEvents.push(eps(be.ms));
      for (const [i, config] of configs.entries()) {
        const r = await edgeCopy(
          url,
          join(temp.dir, `edge-${run++}.db`),
          items,
          window,
          sizes,
          config.pageSize,
        );
        edgePoints[i]?.push(pps(r.pointsMs));
        edgeEvents[i]?.push(eps(r.eventsMs));
      }
    }
    await source.close();
    /** Per-round ratios `a[i] ÷ b[i]`. */
    const per = (a: readonly number[], b: readonly number[]): number[] =>
      a.map((value, i) => value / (b[i] as number));
    const row = (label: string, i: number): string[] => {
      const p = edgePoints[i] as number[];
      const e = edgeEvents[i] as number[];
      return [
        label,
        medianRange(p, fmt),
        medianRange(per(p, attachPoints), ratio),
        medianRange(per(p, rawPoints), ratio),
        medianRange(e, fmt),
        medianRange(per(e, attachEvents), ratio),
        medianRange(per(e, rawEvents), ratio),
      ];
    };
    const figures: Record<string, number> = {
      points: totalPoints,
      items: ITEMS,
      events: sizes.events,
      rounds,
      attachPointsPerSec: median(attachPoints),
      attachEventsPerSec: median(attachEvents),
      rawPointsPerSec: median(rawPoints),
      rawEventsPerSec: median(rawEvents),
    };
    for (const [i, name] of ['defaultPage', 'smallPage', 'bigPage'].entries()) {
      const p = edgePoints[i] as number[];
      const e = edgeEvents[i] as number[];
      figures[`${name}PointsPerSec`] = median(p);
      figures[`${name}EventsPerSec`] = median(e);
      figures[`${name}PointsAttachRatio`] = median(per(p, attachPoints));
      figures[`${name}EventsAttachRatio`] = median(per(e, attachEvents));
      figures[`${name}PointsRatio`] = median(per(p, rawPoints));
      figures[`${name}EventsRatio`] = median(per(e, rawEvents));
    }
    const def = 0;
    return {
      name: 'backfill-http',
      title: `Back-fill over HTTP (loopback), SQLite → SQLite, ${fmt(totalPoints)} points / ${ITEMS} items + ${fmt(sizes.events)} events`,
      quick,
      table: [
        ['', 'points/s', 'vs ATTACH', 'vs raw', 'events/s', 'vs ATTACH', 'vs raw'],
        [
          'baseline: ATTACH + INSERT … SELECT',
          medianRange(attachPoints, fmt),
          ratio(1),
          medianRange(per(attachPoints, rawPoints), ratio),
          medianRange(attachEvents, fmt),
          ratio(1),
          medianRange(per(attachEvents, rawEvents), ratio),
        ],
        [
          'baseline: raw better-sqlite3 copy',
          medianRange(rawPoints, fmt),
          medianRange(per(rawPoints, attachPoints), ratio),
          ratio(1),
          medianRange(rawEvents, fmt),
          medianRange(per(rawEvents, attachEvents), ratio),
          ratio(1),
        ],
        ...configs.map((config, i) => row(config.label, i)),
      ],
      figures,
      targets: [
        target(
          'points-attach-ratio',
          'points/s ÷ ATTACH + INSERT … SELECT copy (default pageSize, median of paired rounds)',
          median(per(edgePoints[def] as number[], attachPoints)),
          '>=',
          0.5,
          '×',
        ),
        target(
          'points-ratio',
          'points/s ÷ raw copy (default pageSize, median of paired rounds)',
          median(per(edgePoints[def] as number[], rawPoints)),
          '>=',
          0.5,
          '×',
          0.7,
        ),
        target(
          'events-ratio',
          'events/s ÷ raw copy (default pageSize, median of paired rounds)',
          median(per(edgeEvents[def] as number[], rawEvents)),
          '>=',
          0.5,
          '×',
          0.7,
        ),
      ],
      notes: [
        `${rounds} paired rounds (baselines, then each edge-ha configuration); cells are median (range) over the rounds, ratios per round`,
        'server and client share one Node process (one event loop); the baselines run in the same process',
        'each run writes into a fresh SQLite file (WAL, synchronous=NORMAL) with the items registered',
      ],
    };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    temp.cleanup();
  }
}

if (isMain(import.meta.url)) {
  runBackfillHttpBench({ quick: process.argv.includes('--quick') }).then(printResult, (error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

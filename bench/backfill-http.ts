/**
 * Back-fill over HTTP on loopback, SQLite → SQLite: a real `node:http` server on 127.0.0.1
 * serves a SQLite file with {@link createPeerHandler}; a {@link TimeSeriesDeputy} and an
 * {@link EventDeputy} pull through {@link httpPeer} into a second SQLite file. Baseline: a raw
 * copy of the same rows between two SQLite files with better-sqlite3 in one process (prepared
 * statements, 10,000 rows per transaction). Target: edge-ha ≥ 50% of the raw copy (stretch 70%).
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
    const rounds = quick ? 1 : 2;
    let basePointsMs = Number.POSITIVE_INFINITY;
    let baseEventsMs = Number.POSITIVE_INFINITY;
    const best = configs.map(() => ({
      pointsMs: Number.POSITIVE_INFINITY,
      eventsMs: Number.POSITIVE_INFINITY,
    }));
    let run = 0;
    for (let round = 0; round < rounds; round++) {
      const baseFile = join(temp.dir, `raw-${run++}.db`);
      (await freshDestination(baseFile, [])).close();
      const bp = await timed(async () => rawCopy(sourceFile, baseFile, 'points'));
      const be = await timed(async () => rawCopy(sourceFile, baseFile, 'events'));
      if (bp.value !== totalPoints || be.value !== sizes.events) {
        throw new Error('the raw copy copied the wrong number of rows');
      }
      basePointsMs = Math.min(basePointsMs, bp.ms);
      baseEventsMs = Math.min(baseEventsMs, be.ms);
      for (const [i, config] of configs.entries()) {
        const r = await edgeCopy(
          url,
          join(temp.dir, `edge-${run++}.db`),
          items,
          window,
          sizes,
          config.pageSize,
        );
        const b = best[i] as EdgeRun;
        b.pointsMs = Math.min(b.pointsMs, r.pointsMs);
        b.eventsMs = Math.min(b.eventsMs, r.eventsMs);
      }
    }
    await source.close();
    const pps = (ms: number): number => totalPoints / (ms / 1000);
    const eps = (ms: number): number => sizes.events / (ms / 1000);
    const basePoints = pps(basePointsMs);
    const baseEvents = eps(baseEventsMs);
    const def = best[0] as EdgeRun;
    const small = best[1] as EdgeRun;
    const big = best[2] as EdgeRun;
    const row = (label: string, r: EdgeRun): string[] => [
      label,
      fmt(pps(r.pointsMs)),
      ratio(pps(r.pointsMs) / basePoints),
      fmt(eps(r.eventsMs)),
      ratio(eps(r.eventsMs) / baseEvents),
    ];
    return {
      name: 'backfill-http',
      title: `Back-fill over HTTP (loopback), SQLite → SQLite, ${fmt(totalPoints)} points / ${ITEMS} items + ${fmt(sizes.events)} events`,
      quick,
      table: [
        ['', 'points/s', 'vs raw', 'events/s', 'vs raw'],
        ['baseline: raw better-sqlite3 copy', fmt(basePoints), ratio(1), fmt(baseEvents), ratio(1)],
        row(configs[0]?.label ?? '', def),
        row(configs[1]?.label ?? '', small),
        row(configs[2]?.label ?? '', big),
      ],
      figures: {
        points: totalPoints,
        items: ITEMS,
        events: sizes.events,
        rounds,
        rawPointsPerSec: basePoints,
        rawEventsPerSec: baseEvents,
        defaultPagePointsPerSec: pps(def.pointsMs),
        defaultPageEventsPerSec: eps(def.eventsMs),
        defaultPagePointsRatio: pps(def.pointsMs) / basePoints,
        defaultPageEventsRatio: eps(def.eventsMs) / baseEvents,
        smallPagePointsPerSec: pps(small.pointsMs),
        smallPageEventsPerSec: eps(small.eventsMs),
        smallPagePointsRatio: pps(small.pointsMs) / basePoints,
        smallPageEventsRatio: eps(small.eventsMs) / baseEvents,
        bigPagePointsPerSec: pps(big.pointsMs),
        bigPageEventsPerSec: eps(big.eventsMs),
        bigPagePointsRatio: pps(big.pointsMs) / basePoints,
        bigPageEventsRatio: eps(big.eventsMs) / baseEvents,
      },
      targets: [
        target(
          'points-ratio',
          'points/s ÷ raw copy (default pageSize)',
          pps(def.pointsMs) / basePoints,
          '>=',
          0.5,
          '×',
          0.7,
        ),
        target(
          'events-ratio',
          'events/s ÷ raw copy (default pageSize)',
          eps(def.eventsMs) / baseEvents,
          '>=',
          0.5,
          '×',
          0.7,
        ),
      ],
      notes: [
        `best of ${rounds} round(s); server and client share one Node process (one event loop), as the raw copy does`,
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

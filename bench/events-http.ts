/**
 * Events over HTTP on loopback, memory → memory: a real `node:http` server on 127.0.0.1 serves a
 * {@link MemoryStorageAdapter} with {@link createPeerHandler}; an {@link EventDeputy} pulls every
 * event through {@link httpPeer} into a second memory adapter. Two baselines in the same run, in
 * the same process: a plain `Map` insert-if-absent copy of the same events (one new object per
 * event), and a raw better-sqlite3 `INSERT OR IGNORE` copy of them into an in-memory SQLite table
 * (prepared statement, 10,000 rows per transaction). Rounds are paired (baseline, edge-ha,
 * baseline, edge-ha, ...); medians and ranges are printed. Targets: ≥ 100,000 events/s and
 * ≥ 0.7× the raw better-sqlite3 copy.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { EventDeputy } from '../src/deputy/deputy.js';
import { httpPeer } from '../src/peer/http-client.js';
import { createPeerHandler } from '../src/peer/http-handler.js';
import { toNodeListener } from '../src/peer/node-listener.js';
import { MemoryStorageAdapter } from '../src/storage/memory.js';
import type { EventRecord, TimeWindow } from '../src/storage/types.js';
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
const TOKEN = 'bench-token';
const BATCH = 10_000;
/** One event every 250 ms: 100,000 events span about 7 hours of the recent past. */
const STEP_MS = 250;

function makeEvents(count: number): EventRecord[] {
  const events: EventRecord[] = new Array(count);
  for (let e = 0; e < count; e++) {
    events[e] = {
      id: `evt-${String(e).padStart(8, '0')}`,
      t: START + e * STEP_MS,
      body: {
        alarm: e % 3 === 0 ? 'high' : 'low',
        item: `plant/line-${String(e % 100).padStart(3, '0')}/temperature`,
        value: e % 997,
      },
    };
  }
  return events;
}

/** Baseline 1: insert-if-absent into a `Map` keyed by id, one fresh record per event (body shared). */
function mapCopy(events: readonly EventRecord[]): number {
  const copy = new Map<string, EventRecord>();
  for (const event of events) {
    if (!copy.has(event.id)) {
      copy.set(event.id, { id: event.id, t: event.t, body: event.body });
    }
  }
  return copy.size;
}

/**
 * Baseline 2: `INSERT OR IGNORE` of every event (body as JSON text) into an in-memory SQLite
 * table keyed by id, 10,000 rows per transaction.
 */
function sqliteCopy(events: readonly EventRecord[]): number {
  const db = new Database(':memory:');
  try {
    db.exec('CREATE TABLE events (id TEXT PRIMARY KEY, t INTEGER NOT NULL, body TEXT NOT NULL)');
    const insert = db.prepare('INSERT OR IGNORE INTO events (id, t, body) VALUES (?, ?, ?)');
    const writeBatch = db.transaction((first: number, stop: number) => {
      let inserted = 0;
      for (let i = first; i < stop; i++) {
        const event = events[i] as EventRecord;
        inserted += insert.run(event.id, event.t, JSON.stringify(event.body)).changes;
      }
      return inserted;
    });
    let inserted = 0;
    for (let first = 0; first < events.length; first += BATCH) {
      inserted += writeBatch(first, Math.min(events.length, first + BATCH));
    }
    return inserted;
  } finally {
    db.close();
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

async function edgeCopy(url: string, window: TimeWindow, total: number): Promise<number> {
  await using storage = new MemoryStorageAdapter();
  const deputy = new EventDeputy({ storage, peer: httpPeer({ url, token: TOKEN }) });
  collectGarbage();
  const { ms, value: summary } = await timed(() => deputy.run(window));
  if (summary.state !== 'finished_ok' || summary.eventsInserted !== total) {
    throw new Error(
      `HTTP events back-fill ended ${summary.state} with ${summary.eventsInserted} of ${total} events: ${JSON.stringify(summary.errors)}`,
    );
  }
  return ms;
}

/** Runs the events-over-HTTP benchmark: 100,000 events (quick: 20,000). */
export async function runEventsHttpBench(options: BenchOptions): Promise<BenchResult> {
  const { quick } = options;
  const total = quick ? 20_000 : 100_000;
  const rounds = quick ? 3 : 5;
  const events = makeEvents(total);
  const window: TimeWindow = { from: START, to: START + total * STEP_MS };
  const source = new MemoryStorageAdapter({ events });
  const server = createServer(
    toNodeListener(createPeerHandler({ storage: source, token: TOKEN, instanceId: 'remote' })),
  );
  try {
    const url = await listen(server);
    // One unmeasured warm-up of every path (JIT, sockets).
    mapCopy(events);
    sqliteCopy(events);
    await edgeCopy(url, window, total);
    const mapMs: number[] = [];
    const sqliteMs: number[] = [];
    const edgeMs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      collectGarbage();
      const m = await timed(async () => mapCopy(events));
      if (m.value !== total) throw new Error('the Map copy copied the wrong number of events');
      mapMs.push(m.ms);
      collectGarbage();
      const s = await timed(async () => sqliteCopy(events));
      if (s.value !== total) throw new Error('the SQLite copy copied the wrong number of events');
      sqliteMs.push(s.ms);
      edgeMs.push(await edgeCopy(url, window, total));
    }
    const eps = (ms: number): number => total / (ms / 1000);
    const mapRates = mapMs.map(eps);
    const sqliteRates = sqliteMs.map(eps);
    const edgeRates = edgeMs.map(eps);
    // Paired ratios: each round's edge-ha run against the baseline measured right before it.
    const vsMap = edgeRates.map((r, i) => r / (mapRates[i] as number));
    const vsSqlite = edgeRates.map((r, i) => r / (sqliteRates[i] as number));
    const edge = median(edgeRates);
    const ratioVsSqlite = median(vsSqlite);
    const ratioVsMap = median(vsMap);
    return {
      name: 'events-http',
      title: `Events over HTTP (loopback), memory → memory, ${fmt(total)} events`,
      quick,
      table: [
        ['', 'events/s, median (range)', 'edge-ha ÷ this'],
        [
          'baseline: Map insert-if-absent copy',
          medianRange(mapRates, fmt),
          medianRange(vsMap, ratio),
        ],
        [
          'baseline: better-sqlite3 INSERT OR IGNORE (:memory:)',
          medianRange(sqliteRates, fmt),
          medianRange(vsSqlite, ratio),
        ],
        ['edge-ha EventDeputy over httpPeer (pageSize 5000)', medianRange(edgeRates, fmt), ''],
      ],
      figures: {
        events: total,
        rounds,
        mapEventsPerSec: median(mapRates),
        sqliteEventsPerSec: median(sqliteRates),
        edgeEventsPerSec: edge,
        edgeVsMapRatio: ratioVsMap,
        edgeVsSqliteRatio: ratioVsSqlite,
        edgeMinEventsPerSec: Math.min(...edgeRates),
        edgeMaxEventsPerSec: Math.max(...edgeRates),
      },
      targets: [
        target('events-per-sec', 'edge-ha events/s (median)', edge, '>=', 100_000, 'events/s'),
        target(
          'sqlite-ratio',
          'edge-ha ÷ raw better-sqlite3 copy (median of paired rounds)',
          ratioVsSqlite,
          '>=',
          0.7,
          '×',
        ),
      ],
      notes: [
        `${rounds} paired rounds (Map copy, SQLite copy, edge-ha) after one warm-up; ratios are per round, then the median`,
        'server, client and both baselines share one Node process (one event loop)',
      ],
    };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await source.close();
  }
}

if (isMain(import.meta.url)) {
  runEventsHttpBench({ quick: process.argv.includes('--quick') }).then(printResult, (error) => {
    console.error(error);
    process.exitCode = 1;
  });
}

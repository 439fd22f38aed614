/**
 * The raw-copy child process of the memory-bound benchmark: what an integrator writes by hand
 * without edge-ha, with better-sqlite3, prepared statements and batched transactions, into a
 * fresh SQLite file with edge-ha's schema (WAL, `synchronous = NORMAL`, as the adapter). Measured
 * with {@link startSampling} like the edge-ha child, reported as one JSON line
 * ({@link RawWorkerResult}). Two sources ({@link RawWorkerSpec}):
 *
 * - `file`: reads the remote's SQLite file directly, streaming one `SELECT` (`.iterate()`), and
 *   inserts in transactions of 10,000 rows: the "raw better-sqlite3 copy" (as in
 *   `backfill-http.ts`), the least a copy of these rows can hold;
 * - `http`: a hand-written client of the same peer handler the edge-ha child pulls from:
 *   `fetch` + `response.json()` of one 5,000-point page at a time, item after item, each page
 *   inserted in one transaction: the same bytes over the same path, without the deputy.
 *
 * Run (compiled, see `memory-bundle.ts`) as `node --expose-gc raw.mjs '<spec as JSON>'`.
 */

import Database from 'better-sqlite3';
import { MIGRATIONS } from '../src/sqlite/schema.js';
import { type MemoryFigures, report, startSampling } from './memory-sampler.js';

/** What the parent asks for. */
export type RawWorkerSpec =
  | {
      readonly mode: 'file';
      /** The remote's SQLite file (read only). */
      readonly source: string;
      /** The SQLite file to create. */
      readonly dest: string;
    }
  | {
      readonly mode: 'http';
      /** Base URL of the remote's peer handler. */
      readonly url: string;
      readonly token: string;
      readonly items: readonly string[];
      readonly window: { readonly from: number; readonly to: number };
      /** The SQLite file to create. */
      readonly dest: string;
      /** Items pulled at once (for diagnosis; the deputy's default is 4). @default 1 */
      readonly concurrency?: number;
    };

/** What the worker prints. */
export interface RawWorkerResult extends MemoryFigures {
  /** Points copied. */
  readonly points: number;
  /** Duration of the copy, ms. */
  readonly ms: number;
}

/** Rows per transaction of the file copy. */
const BATCH = 10_000;
/** Points per page of the HTTP pull (the deputy's default `pageSize`). */
const PAGE = 5000;

type Row = [
  item: string,
  t: number,
  vt: number,
  vn: number | null,
  vs: string | null,
  q: number | null,
];

/** A fresh destination with edge-ha's schema: returns the database and its insert. */
function openDestination(file: string): {
  db: Database.Database;
  insertBatch: (rows: readonly Row[]) => void;
} {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(MIGRATIONS[0] as string);
  const insert = db.prepare(
    'INSERT INTO points (item, t, vt, vn, vs, q) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const insertBatch = db.transaction((rows: readonly Row[]) => {
    for (const row of rows) insert.run(row);
  });
  return { db, insertBatch };
}

function copyFile(
  spec: Extract<RawWorkerSpec, { mode: 'file' }>,
  dest: ReturnType<typeof openDestination>,
  sample: () => void,
): number {
  const source = new Database(spec.source, { readonly: true });
  try {
    const items = source.prepare('SELECT item FROM items').pluck().all() as string[];
    const register = dest.db.prepare('INSERT OR IGNORE INTO items (item) VALUES (?)');
    dest.db.transaction(() => {
      for (const item of items) register.run(item);
    })();
    const read = source.prepare('SELECT item, t, vt, vn, vs, q FROM points').raw();
    let copied = 0;
    let batch: Row[] = [];
    for (const row of read.iterate() as Iterable<Row>) {
      batch.push(row);
      if (batch.length === BATCH) {
        dest.insertBatch(batch);
        copied += batch.length;
        batch = [];
        // The copy is synchronous: the sampler's timer cannot fire, so sample here.
        sample();
      }
    }
    dest.insertBatch(batch);
    return copied + batch.length;
  } finally {
    source.close();
  }
}

/** A point on the wire (edge-ha peer protocol v1). */
interface WirePoint {
  readonly t: number;
  readonly v: number | string | boolean | null;
  readonly q?: number;
}

function toRow(item: string, p: WirePoint): Row {
  const q = p.q ?? null;
  if (typeof p.v === 'number') return [item, p.t, 1, p.v, null, q];
  if (p.v === null) return [item, p.t, 0, null, null, q];
  if (typeof p.v === 'string') return [item, p.t, 2, null, p.v, q];
  return [item, p.t, 3, p.v ? 1 : 0, null, q];
}

async function pullHttp(
  spec: Extract<RawWorkerSpec, { mode: 'http' }>,
  dest: ReturnType<typeof openDestination>,
  sample: () => void,
): Promise<number> {
  const register = dest.db.prepare('INSERT OR IGNORE INTO items (item) VALUES (?)');
  let copied = 0;
  const pullItem = async (item: string): Promise<void> => {
    register.run(item);
    let cursor: string | null = null;
    do {
      const response = await fetch(`${spec.url}/points`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${spec.token}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify({
          item,
          window: spec.window,
          limit: PAGE,
          ...(cursor === null ? {} : { cursor }),
        }),
      });
      if (!response.ok) throw new Error(`POST /points: HTTP ${response.status}`);
      const page = (await response.json()) as { items: WirePoint[]; next: string | null };
      dest.insertBatch(page.items.map((p) => toRow(item, p)));
      copied += page.items.length;
      cursor = page.next;
      sample();
    } while (cursor !== null);
  };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < spec.items.length) await pullItem(spec.items[next++] as string);
  };
  await Promise.all(Array.from({ length: spec.concurrency ?? 1 }, worker));
  return copied;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as RawWorkerSpec;
  const dest = openDestination(spec.dest);
  const sampler = await startSampling();
  const start = performance.now();
  const points =
    spec.mode === 'file'
      ? copyFile(spec, dest, sampler.sample)
      : await pullHttp(spec, dest, sampler.sample);
  const ms = performance.now() - start;
  const figures = sampler.stop();
  dest.db.close();
  const result: RawWorkerResult = { ...figures, points, ms };
  report(result);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});

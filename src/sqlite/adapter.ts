import type BetterSqlite3 from 'better-sqlite3';
import { isEdgeHaError, StorageError } from '../errors.js';
import {
  decodeEventCursor,
  decodePointCursor,
  encodeEventCursor,
  encodePointCursor,
} from '../storage/cursor.js';
import { jsonPageOf } from '../storage/json-page.js';
import type {
  EventRecord,
  JsonPage,
  JsonValue,
  Page,
  PageRequest,
  Point,
  PointValue,
  StorageAdapter,
  StorageCapabilities,
  SyncStateValue,
  SyncWriteOptions,
  TimeWindow,
} from '../storage/types.js';
import {
  assertEvents,
  assertItemId,
  assertItemIds,
  assertPageRequest,
  assertPoints,
  assertPointsInWindow,
  assertSyncKey,
  assertWindow,
  decodeSyncState,
  type EncodedSyncState,
  encodeSyncState,
  encodeSyncWriteOptions,
} from '../storage/validate.js';
import {
  corruptionError,
  DEFAULT_MAX_PROBLEMS,
  isCorruptionError,
  runIntegrityCheck,
  type SqliteIntegrityCheck,
} from './integrity.js';
import { openDatabase } from './load.js';
import { migrate } from './schema.js';

/** Options of {@link openSqliteStorage}. */
export interface SqliteStorageOptions {
  /**
   * How long a call waits for a lock held by another connection or process before failing with
   * `STORAGE_BACKEND` (SQLite `busy_timeout`), in ms.
   * @default 5000
   */
  readonly busyTimeoutMs?: number;
  /**
   * SQLite `synchronous` mode. The database always runs in WAL mode, where `'NORMAL'` never
   * corrupts the file and never loses a committed transaction when the *process* crashes, but may
   * lose the last transactions on power loss or an OS crash. `'FULL'` syncs every commit to disk:
   * durable against power loss, slower writes.
   * @default 'NORMAL'
   */
  readonly synchronous?: 'NORMAL' | 'FULL';
  /**
   * The integrity check run when the file is opened: `'quick'` (`PRAGMA quick_check`: the
   * structure of every page and record, in time linear in the file size: about half a second
   * for 100 MB in the page cache), `'full'` (`PRAGMA integrity_check`: also checks every index against its
   * table; slower) or `'off'`. A damaged file fails the open with `STORAGE_CORRUPT` naming the
   * file and the first problems, instead of failing later, item by item, while serving.
   * `':memory:'` is never checked. Run the full check on demand with `checkSqliteIntegrity`.
   * @default 'quick'
   */
  readonly integrityCheck?: SqliteIntegrityCheck | 'off';
  /**
   * Rows a page read (`readPoints`, `readEvents`) takes from SQLite in one synchronous step
   * before it yields to the event loop. better-sqlite3 is synchronous: without yielding, a
   * 5,000-record page blocks the process for several ms, and a node serving several
   * back-fills at once answers its probes and its live writes late. A page larger than this is
   * read on a second, read-only connection in chunks of this many rows, inside one read
   * transaction: the page is one consistent snapshot, and writes go on meanwhile (WAL). Smaller
   * pages are read in one step, as before. `0` reads every page in one step (no yielding).
   * From 0 to 100000; ignored for `':memory:'` (read in one step).
   * @default 1000
   */
  readonly readChunkRows?: number;
}

/** A point row as read with `.raw()`: `[t, vt, vn, vs, q]` (arrays are cheaper than objects). */
type PointRow = [t: number, vt: number, vn: number | null, vs: string | null, q: number | null];
/** An event row as read with `.raw()`: `[t, id, body]`. */
type EventRow = [t: number, id: string, body: string];

/** Default of {@link SqliteStorageOptions.readChunkRows}. */
const DEFAULT_READ_CHUNK_ROWS = 1000;

/** Lets the event loop run (I/O callbacks first) before the next chunk of a page read. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The page-read statements, prepared on the main and on the reader connection. */
interface PageStatements {
  readonly readPoints: BetterSqlite3.Statement<unknown[], PointRow>;
  readonly readEvents: BetterSqlite3.Statement<unknown[], EventRow>;
  readonly readEventsAfter: BetterSqlite3.Statement<unknown[], EventRow>;
  readonly readPointsJson: BetterSqlite3.Statement<unknown[], PointsJsonRow>;
  readonly pointAfter: BetterSqlite3.Statement<unknown[], unknown>;
  readonly readEventsJson: BetterSqlite3.Statement<unknown[], EventsJsonRow>;
  readonly readEventsAfterJson: BetterSqlite3.Statement<unknown[], EventsJsonRow>;
  readonly eventKeyAt: BetterSqlite3.Statement<unknown[], EventKeyRow>;
  readonly eventKeyAfterAt: BetterSqlite3.Statement<unknown[], EventKeyRow>;
  readonly eventAfter: BetterSqlite3.Statement<unknown[], unknown>;
}

/** Prepares the {@link PageStatements} on `db`. */
function preparePageStatements(db: BetterSqlite3.Database): PageStatements {
  return {
    readPoints: db.prepare<unknown[], PointRow>(READ_POINTS_SQL).raw(),
    readEvents: db.prepare<unknown[], EventRow>(READ_EVENTS_SQL).raw(),
    readEventsAfter: db.prepare<unknown[], EventRow>(READ_EVENTS_AFTER_SQL).raw(),
    readPointsJson: db.prepare<unknown[], PointsJsonRow>(READ_POINTS_JSON_SQL).raw(),
    pointAfter: db.prepare(POINT_AFTER_SQL).pluck(),
    readEventsJson: db.prepare<unknown[], EventsJsonRow>(READ_EVENTS_JSON_SQL).raw(),
    readEventsAfterJson: db.prepare<unknown[], EventsJsonRow>(READ_EVENTS_AFTER_JSON_SQL).raw(),
    eventKeyAt: db.prepare<unknown[], EventKeyRow>(EVENT_KEY_AT_SQL).raw(),
    eventKeyAfterAt: db.prepare<unknown[], EventKeyRow>(EVENT_KEY_AFTER_AT_SQL).raw(),
    eventAfter: db.prepare(EVENT_AFTER_SQL).pluck(),
  };
}

/** The connection a chunked page read runs on, with its statements. */
interface ChunkReader extends PageStatements {
  readonly db: BetterSqlite3.Database;
  readonly rows: number;
  readonly begin: BetterSqlite3.Statement<unknown[], unknown>;
  readonly commit: BetterSqlite3.Statement<unknown[], unknown>;
}

/** The SQL of the page reads, shared by the main and the reader connection. */
const READ_POINTS_SQL =
  'SELECT t, vt, vn, vs, q FROM points WHERE item = ? AND t >= ? AND t < ? ORDER BY t LIMIT ?';
const READ_EVENTS_SQL =
  'SELECT t, id, body FROM events WHERE t >= ? AND t < ? ORDER BY t, id LIMIT ?';
const READ_EVENTS_AFTER_SQL =
  'SELECT t, id, body FROM events WHERE (t, id) > (?, ?) AND t < ? ORDER BY t, id LIMIT ?';

/**
 * A stored point's value as JSON inside SQLite (`vt` tags, see the schema). An unknown tag makes
 * `json()` fail, and the read falls back to the row path, which names the problem.
 */
const POINT_VALUE_JSON =
  "CASE vt WHEN 1 THEN vn WHEN 2 THEN vs WHEN 3 THEN json(iif(vn <> 0, 'true', 'false')) WHEN 0 THEN NULL ELSE json('unknown value type') END";
/**
 * The JSON page reads: SQLite builds the reply's array text itself (`json_group_array`), one
 * statement per chunk, instead of handing every row to JavaScript to be decoded into an object
 * and encoded again. Each returns `[json, count, key]`; the same rows, in the same order, as the
 * row reads above. SQLite prints every double with enough digits to read back the same bits.
 * The aggregate takes the rows in the order the `LIMIT` subquery produces them (its `ORDER BY`,
 * the primary key's order); an `ORDER BY` inside `json_group_array` would sort them again and
 * cost a third of the read. The tests compare these pages with the row reads, and a deputy
 * rejects a page that is not ascending.
 */
const READ_POINTS_JSON_SQL = `SELECT json_group_array(iif(q IS NULL, json_object('t', t, 'v', ${POINT_VALUE_JSON}), json_object('t', t, 'v', ${POINT_VALUE_JSON}, 'q', q))), count(*), max(t) FROM (SELECT t, vt, vn, vs, q FROM points WHERE item = ? AND t >= ? AND t < ? ORDER BY t LIMIT ?)`;
const POINT_AFTER_SQL = 'SELECT 1 FROM points WHERE item = ? AND t > ? AND t < ? LIMIT 1';
const EVENT_JSON = "json_object('id', id, 't', t, 'body', json(body))";
const READ_EVENTS_JSON_SQL = `SELECT json_group_array(${EVENT_JSON}), count(*) FROM (SELECT t, id, body FROM events WHERE t >= ? AND t < ? ORDER BY t, id LIMIT ?)`;
const READ_EVENTS_AFTER_JSON_SQL = `SELECT json_group_array(${EVENT_JSON}), count(*) FROM (SELECT t, id, body FROM events WHERE (t, id) > (?, ?) AND t < ? ORDER BY t, id LIMIT ?)`;
/** The key of the chunk's last event: the `OFFSET`-th row of the same read. */
const EVENT_KEY_AT_SQL =
  'SELECT t, id FROM events WHERE t >= ? AND t < ? ORDER BY t, id LIMIT 1 OFFSET ?';
const EVENT_KEY_AFTER_AT_SQL =
  'SELECT t, id FROM events WHERE (t, id) > (?, ?) AND t < ? ORDER BY t, id LIMIT 1 OFFSET ?';
const EVENT_AFTER_SQL = 'SELECT 1 FROM events WHERE (t, id) > (?, ?) AND t < ? LIMIT 1';

/** A JSON point chunk as read: `[json array text, rows, last t (null when empty)]`. */
type PointsJsonRow = [json: string, count: number, last: number | null];
/** A JSON event chunk as read: `[json array text, rows]`. */
type EventsJsonRow = [json: string, count: number];
/** An event's key as read: `[t, id]`. */
type EventKeyRow = [t: number, id: string];

/** One chunk of a JSON page read, with the key of its last record (to read on after it). */
interface JsonChunk<K> {
  readonly json: string;
  readonly count: number;
  readonly last: K | undefined;
}

/** An event's key, as the cursor holds it. */
interface EventKey {
  readonly t: number;
  readonly id: string;
}

/**
 * The {@link JsonPage} of a read's chunks: their texts joined, and the cursor after the last
 * record when the page is full and `follows(last)` says a record comes after it.
 */
function finishJsonPage<K>(
  chunks: readonly JsonChunk<K>[],
  limit: number,
  follows: (last: K) => boolean,
  cursor: (last: K) => string,
): JsonPage {
  let count = 0;
  for (const chunk of chunks) count += chunk.count;
  const last = chunks[chunks.length - 1]?.last;
  const more = count === limit && last !== undefined && follows(last);
  return { json: joinJsonChunks(chunks), count, next: more ? cursor(last) : null };
}

/** Joins the array texts of `chunks` into one JSON array text. */
function joinJsonChunks(chunks: readonly JsonChunk<unknown>[]): string {
  if (chunks.length === 1) return (chunks[0] as JsonChunk<unknown>).json;
  const parts: string[] = [];
  for (const chunk of chunks) if (chunk.count > 0) parts.push(chunk.json.slice(1, -1));
  return `[${parts.join(',')}]`;
}

function eventFromRow(row: EventRow): EventRecord {
  return { id: row[1], t: row[0], body: JSON.parse(row[2]) as JsonValue };
}

/** The error a SQLite failure of `what` in `filename` maps to. */
function backendError(what: string, filename: string, error: unknown): StorageError {
  if (isCorruptionError(error)) {
    return new StorageError(
      'STORAGE_CORRUPT',
      `SQLite found ${filename} damaged while it tried to ${what}: ${(error as Error).message}. ` +
        `Stop the node and run \`edge-ha check --db ${filename} --full\` (see "Integrity check" in docs/operations.md).`,
      { cause: error },
    );
  }
  return new StorageError(
    'STORAGE_BACKEND',
    `SQLite failed to ${what} in ${filename}: ${(error as Error)?.message ?? String(error)}`,
    { cause: error },
  );
}

const VT_NULL = 0;
const VT_NUMBER = 1;
const VT_STRING = 2;
const VT_BOOLEAN = 3;

/**
 * Rows per multi-row `INSERT … VALUES (…), (…)` statement, largest first; the last is 1, so
 * every batch length is covered. A write crosses into SQLite once per chunk, not once per row
 * (the row-at-a-time boundary was the limit of a back-fill). 128 rows × 6 columns = 768 bound
 * variables: below SQLite's limit in every build (999 before SQLite 3.32, 32,766 in the one
 * better-sqlite3 bundles).
 */
const CHUNK_ROWS: readonly number[] = [128, 32, 8, 1];

/**
 * One prepared statement per {@link CHUNK_ROWS} size (same order), each with its own reused
 * argument array of exactly `rows × columns` values (better-sqlite3 binds an array's elements).
 */
interface MultiRowInsert {
  readonly statements: readonly BetterSqlite3.Statement<unknown[], unknown>[];
  readonly args: unknown[][];
}

/**
 * Prepares `head VALUES (?, …), … tail` once per {@link CHUNK_ROWS} size; `columns` is the number
 * of `?` per row.
 */
function prepareMultiRow(
  db: BetterSqlite3.Database,
  head: string,
  columns: number,
  tail: string,
): MultiRowInsert {
  const row = `(${new Array<string>(columns).fill('?').join(', ')})`;
  return {
    statements: CHUNK_ROWS.map((rows) =>
      db.prepare(`${head} VALUES ${new Array<string>(rows).fill(row).join(', ')}${tail}`),
    ),
    args: CHUNK_ROWS.map((rows) => new Array<unknown>(rows * columns).fill(null)),
  };
}

/**
 * Writes `count` records with `insert` in chunks of {@link CHUNK_ROWS}, in order (rows of one
 * statement are applied in order too, so duplicates inside a batch behave as they did row by
 * row). `fill(args, offset, index)` puts record `index`'s columns at `args[offset…]`.
 * @returns The number of rows the statements changed (an `ON CONFLICT DO NOTHING` skips some).
 */
function writeChunked(
  insert: MultiRowInsert,
  count: number,
  columns: number,
  fill: (args: unknown[], offset: number, index: number) => void,
): number {
  let changed = 0;
  let next = 0;
  for (let s = 0; s < CHUNK_ROWS.length; s++) {
    const rows = CHUNK_ROWS[s] as number;
    const statement = insert.statements[s] as BetterSqlite3.Statement<unknown[], unknown>;
    const args = insert.args[s] as unknown[];
    while (count - next >= rows) {
      for (let r = 0; r < rows; r++) fill(args, r * columns, next + r);
      changed += statement.run(args).changes;
      next += rows;
    }
  }
  return changed;
}

/** Columns of a point row: `item, t, vt, vn, vs, q`. */
const POINT_COLUMNS = 6;
/** Columns of an event row: `t, id, body`. */
const EVENT_COLUMNS = 3;
/** Bound values per row of a {@link PointInsert}'s numeric statements: `t, vn, q`. */
const NUMBER_COLUMNS = 3;

/**
 * The statements that write points: the general {@link MultiRowInsert} (six values per row), and
 * for chunks whose values are all numbers (the usual case) statements that bind three values
 * per row (`t, vn, q`) and the item once, as the named parameter `@item`: half the values cross
 * into SQLite.
 */
interface PointInsert extends MultiRowInsert {
  readonly numbers: MultiRowInsert;
  /** The named parameters of {@link PointInsert.numbers}: `{ item }`, set per call. */
  readonly named: { item: string };
}

/** Prepares a {@link PointInsert}: `head` is `INSERT … INTO points (item, t, vt, vn, vs, q)`. */
function preparePointInsert(db: BetterSqlite3.Database, head: string, tail: string): PointInsert {
  const row = `(@item, ?, ${VT_NUMBER}, ?, NULL, ?)`;
  return {
    ...prepareMultiRow(db, head, POINT_COLUMNS, tail),
    numbers: {
      statements: CHUNK_ROWS.map((rows) =>
        db.prepare(`${head} VALUES ${new Array<string>(rows).fill(row).join(', ')}${tail}`),
      ),
      args: CHUNK_ROWS.map((rows) => new Array<unknown>(rows * NUMBER_COLUMNS).fill(null)),
    },
    named: { item: '' },
  };
}

/**
 * Fills `args` with the numeric rows `points[first…first + rows)` (`t, vn, q`), or returns
 * `false` at the first value that is not a number.
 */
function fillNumbers(
  args: unknown[],
  points: readonly Point[],
  first: number,
  rows: number,
): boolean {
  for (let r = 0, o = 0; r < rows; r++, o += NUMBER_COLUMNS) {
    const point = points[first + r] as Point;
    const v = point.v;
    if (typeof v !== 'number') return false;
    args[o] = point.t + 0;
    args[o + 1] = v + 0;
    args[o + 2] = point.q === undefined ? null : point.q + 0;
  }
  return true;
}

/** Fills `args` with the rows `points[first…first + rows)` in all six columns. */
function fillPoints(
  args: unknown[],
  item: string,
  points: readonly Point[],
  first: number,
  rows: number,
): void {
  for (let r = 0, o = 0; r < rows; r++, o += POINT_COLUMNS) {
    const point = points[first + r] as Point;
    const v = point.v;
    args[o] = item;
    args[o + 1] = point.t + 0;
    args[o + 5] = point.q === undefined ? null : point.q + 0;
    if (typeof v === 'number') {
      args[o + 2] = VT_NUMBER;
      args[o + 3] = v + 0;
      args[o + 4] = null;
    } else if (v === null) {
      args[o + 2] = VT_NULL;
      args[o + 3] = null;
      args[o + 4] = null;
    } else if (typeof v === 'string') {
      args[o + 2] = VT_STRING;
      args[o + 3] = null;
      args[o + 4] = v;
    } else {
      args[o + 2] = VT_BOOLEAN;
      args[o + 3] = v ? 1 : 0;
      args[o + 4] = null;
    }
  }
}

/**
 * Writes valid points of `item` with `insert`, in chunks of {@link CHUNK_ROWS}, in order: a chunk
 * of numbers through the numeric statements, any other through the general ones. `-0` is stored
 * as `0`, as a copy through JSON would.
 * @returns The number of rows changed (an `ON CONFLICT DO NOTHING` skips points).
 */
function writePoints(insert: PointInsert, item: string, points: readonly Point[]): number {
  let changed = 0;
  let next = 0;
  insert.named.item = item;
  for (let s = 0; s < CHUNK_ROWS.length; s++) {
    const rows = CHUNK_ROWS[s] as number;
    const numbers = insert.numbers.args[s] as unknown[];
    while (points.length - next >= rows) {
      if (fillNumbers(numbers, points, next, rows)) {
        const statement = insert.numbers.statements[s] as BetterSqlite3.Statement<
          unknown[],
          unknown
        >;
        changed += statement.run(numbers, insert.named).changes;
      } else {
        const args = insert.args[s] as unknown[];
        fillPoints(args, item, points, next, rows);
        const statement = insert.statements[s] as BetterSqlite3.Statement<unknown[], unknown>;
        changed += statement.run(args).changes;
      }
      next += rows;
    }
  }
  return changed;
}

function fromRow(row: PointRow): Point {
  const t = row[0];
  const vt = row[1];
  const vn = row[2];
  const vs = row[3];
  const q = row[4];
  let v: PointValue;
  switch (vt) {
    case VT_NULL:
      v = null;
      break;
    case VT_NUMBER:
      v = vn as number;
      break;
    case VT_STRING:
      v = vs as string;
      break;
    case VT_BOOLEAN:
      v = vn !== 0;
      break;
    default:
      throw new StorageError(
        'STORAGE_BACKEND',
        `A stored point at t=${t} has an unknown value type tag ${vt}; the file is corrupt or was written by another program.`,
      );
  }
  return q === null ? { t, v } : { t, v, q };
}

/**
 * A {@link StorageAdapter} over one SQLite file (through `better-sqlite3`). Persistent, atomic
 * (one transaction per write call; a sync write's `syncState` record is written in the same
 * transaction as its data), safe with several processes on one file (WAL mode + `busy_timeout`).
 * Create it with {@link openSqliteStorage}.
 *
 * @example
 * ```ts
 * import { openSqliteStorage } from 'edge-ha/sqlite';
 *
 * await using storage = openSqliteStorage('./edge-ha.db');
 * await storage.appendPoints('plant/temp', [{ t: Date.now(), v: 21.5 }]);
 * ```
 */
export class SqliteStorageAdapter implements StorageAdapter {
  /** Persistent, atomic replace and insert, several processes may share the file. */
  readonly capabilities: StorageCapabilities;
  /** The file this adapter stores into. */
  readonly filename: string;

  readonly #db: BetterSqlite3.Database;
  readonly #stmt: PageStatements & {
    registerItem: BetterSqlite3.Statement<unknown[], unknown>;
    listItems: BetterSqlite3.Statement<unknown[], string>;
    deletePoints: BetterSqlite3.Statement<unknown[], unknown>;
    insertPoints: PointInsert;
    mergePoints: PointInsert;
    upsertPoints: PointInsert;
    insertEvents: MultiRowInsert;
    readSync: BetterSqlite3.Statement<unknown[], string>;
    writeSync: BetterSqlite3.Statement<unknown[], unknown>;
  };
  readonly #replace: (
    item: string,
    window: TimeWindow,
    points: readonly Point[],
    record: EncodedSyncState | undefined,
  ) => void;
  readonly #merge: (
    item: string,
    points: readonly Point[],
    record: EncodedSyncState | undefined,
  ) => number;
  readonly #append: (item: string, points: readonly Point[]) => void;
  readonly #insert: (
    events: readonly EventRecord[],
    record: EncodedSyncState | undefined,
  ) => number;
  readonly #register: (items: readonly string[]) => void;
  readonly #reader: ChunkReader | undefined;
  /** Whether a chunked read holds the reader connection; the next ones wait in `#waiting`. */
  #reading = false;
  readonly #waiting: (() => void)[] = [];
  #closed = false;

  /**
   * @internal Use {@link openSqliteStorage}.
   * @param reader - A read-only connection to the same file for chunked page reads, and the
   *   rows per chunk; without one every page is read in one step.
   */
  constructor(
    db: BetterSqlite3.Database,
    filename: string,
    reader?: { readonly db: BetterSqlite3.Database; readonly rows: number },
  ) {
    this.#db = db;
    this.filename = filename;
    this.#reader =
      reader === undefined
        ? undefined
        : {
            db: reader.db,
            rows: reader.rows,
            ...preparePageStatements(reader.db),
            begin: reader.db.prepare('BEGIN'),
            commit: reader.db.prepare('COMMIT'),
          };
    this.capabilities = Object.freeze({
      persistent: !db.memory,
      atomicReplace: true,
      atomicInsert: true,
      multiProcess: !db.memory,
    });
    const registerItem = db.prepare('INSERT OR IGNORE INTO items (item) VALUES (?)');
    this.#stmt = {
      registerItem,
      listItems: db.prepare<unknown[], string>('SELECT item FROM items ORDER BY item').pluck(),
      ...preparePageStatements(db),
      deletePoints: db.prepare('DELETE FROM points WHERE item = ? AND t >= ? AND t < ?'),
      insertPoints: preparePointInsert(db, 'INSERT INTO points (item, t, vt, vn, vs, q)', ''),
      mergePoints: preparePointInsert(
        db,
        'INSERT INTO points (item, t, vt, vn, vs, q)',
        ' ON CONFLICT (item, t) DO NOTHING',
      ),
      upsertPoints: preparePointInsert(
        db,
        'INSERT OR REPLACE INTO points (item, t, vt, vn, vs, q)',
        '',
      ),
      insertEvents: prepareMultiRow(
        db,
        'INSERT INTO events (t, id, body)',
        EVENT_COLUMNS,
        ' ON CONFLICT DO NOTHING',
      ),
      readSync: db.prepare<unknown[], string>('SELECT state FROM sync_state WHERE key = ?').pluck(),
      writeSync: db.prepare('INSERT OR REPLACE INTO sync_state (key, state) VALUES (?, ?)'),
    };
    const stmt = this.#stmt;
    const writeSync = (record: EncodedSyncState | undefined): void => {
      if (record !== undefined) stmt.writeSync.run(record.key, record.text);
    };
    this.#register = db.transaction((items: readonly string[]) => {
      for (const item of items) registerItem.run(item);
    });
    this.#replace = db.transaction(
      (
        item: string,
        window: TimeWindow,
        points: readonly Point[],
        record: EncodedSyncState | undefined,
      ) => {
        registerItem.run(item);
        stmt.deletePoints.run(item, window.from, window.to);
        writePoints(stmt.insertPoints, item, points);
        writeSync(record);
      },
    );
    this.#merge = db.transaction(
      (item: string, points: readonly Point[], record: EncodedSyncState | undefined) => {
        registerItem.run(item);
        const written = writePoints(stmt.mergePoints, item, points);
        writeSync(record);
        return written;
      },
    );
    this.#append = db.transaction((item: string, points: readonly Point[]) => {
      registerItem.run(item);
      writePoints(stmt.upsertPoints, item, points);
    });
    this.#insert = db.transaction(
      (events: readonly EventRecord[], record: EncodedSyncState | undefined) => {
        const inserted = writeChunked(
          stmt.insertEvents,
          events.length,
          EVENT_COLUMNS,
          (args, o, i) => {
            const event = events[i] as EventRecord;
            args[o] = event.t + 0;
            args[o + 1] = event.id;
            args[o + 2] = JSON.stringify(event.body);
          },
        );
        writeSync(record);
        return inserted;
      },
    );
  }

  #closedError(): StorageError {
    return new StorageError(
      'STORAGE_CLOSED',
      `The SQLite storage of ${this.filename} is closed; open it again with openSqliteStorage().`,
    );
  }

  /**
   * Runs `fn` on the open database, mapping SQLite failures to `STORAGE_BACKEND` (a damaged
   * page: `STORAGE_CORRUPT`).
   */
  #run<T>(what: string, fn: () => T): T {
    if (this.#closed) throw this.#closedError();
    try {
      return fn();
    } catch (error) {
      if (isEdgeHaError(error)) throw error;
      throw backendError(what, this.filename, error);
    }
  }

  /**
   * Reads up to `wanted` records in chunks: `first(n)` then `after(previous chunk, n)` until
   * `wanted` are read or a chunk comes back short (`size` counts a chunk), then `finish` builds
   * the result from the chunks on the same connection and snapshot. A read within one chunk (or
   * without a reader connection) is done in one step on the main connection. A larger one is
   * done on the reader connection, one chunk per event-loop turn, inside one read transaction:
   * one snapshot, however many writes commit meanwhile. Chunked reads take the reader
   * connection one at a time, in call order.
   */
  async #read<C, T>(
    what: string,
    wanted: number,
    size: (chunk: C) => number,
    first: (stmt: PageStatements, n: number) => C,
    after: (stmt: PageStatements, previous: C, n: number) => C,
    finish: (stmt: PageStatements, chunks: C[]) => T,
  ): Promise<T> {
    const reader = this.#reader;
    if (reader === undefined || wanted <= reader.rows) {
      return this.#run(what, () => finish(this.#stmt, [first(this.#stmt, wanted)]));
    }
    if (this.#reading) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#reading = true;
    try {
      if (this.#closed) throw this.#closedError();
      try {
        reader.begin.run();
        let chunk = first(reader, Math.min(reader.rows, wanted));
        const chunks = [chunk];
        let read = size(chunk);
        let full = read === Math.min(reader.rows, wanted);
        while (full && read < wanted) {
          await yieldToEventLoop();
          if (this.#closed) throw this.#closedError();
          const n = Math.min(reader.rows, wanted - read);
          chunk = after(reader, chunk, n);
          chunks.push(chunk);
          read += size(chunk);
          full = size(chunk) === n;
        }
        return finish(reader, chunks);
      } finally {
        if (reader.db.open && reader.db.inTransaction) reader.commit.run();
      }
    } catch (error) {
      if (isEdgeHaError(error)) throw error;
      throw backendError(what, this.filename, error);
    } finally {
      const next = this.#waiting.shift();
      if (next === undefined) this.#reading = false;
      else next();
    }
  }

  /** {@link SqliteStorageAdapter.#read} of records: the chunks are arrays, joined in order. */
  #collect<R>(
    what: string,
    wanted: number,
    first: (stmt: PageStatements, n: number) => R[],
    after: (stmt: PageStatements, last: R, n: number) => R[],
  ): Promise<R[]> {
    return this.#read<R[], R[]>(
      what,
      wanted,
      (chunk) => chunk.length,
      first,
      (stmt, previous, n) => after(stmt, previous[previous.length - 1] as R, n),
      (_stmt, chunks) => {
        if (chunks.length === 1) return chunks[0] as R[];
        const rows: R[] = [];
        for (const chunk of chunks) for (let i = 0; i < chunk.length; i++) rows.push(chunk[i] as R);
        return rows;
      },
    );
  }

  /** Declares items as trended locally, even before they have points. */
  async registerItems(items: readonly string[]): Promise<void> {
    this.#run('register items', () => {
      assertItemIds(items);
      this.#register(items);
    });
  }

  /** Every registered item and every item with points, sorted by code point (UTF-8 byte order). */
  async listItems(): Promise<string[]> {
    return this.#run('list items', () => this.#stmt.listItems.all());
  }

  /**
   * Reads one page of `item`'s points in `window`, ascending by `t` (keyset pagination). A page
   * of more than `readChunkRows` points is read in chunks, yielding to the event loop between
   * them, from one snapshot of the file.
   */
  async readPoints(item: string, window: TimeWindow, page: PageRequest): Promise<Page<Point>> {
    const from = this.#pointsFrom(item, window, page);
    const toPoints = (rows: PointRow[]): Point[] => {
      const points: Point[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) points[i] = fromRow(rows[i] as PointRow);
      return points;
    };
    const items = await this.#collect<Point>(
      'read points',
      page.limit + 1,
      (stmt, n) => toPoints(stmt.readPoints.all(item, from, window.to, n)),
      (stmt, last, n) => toPoints(stmt.readPoints.all(item, last.t + 1, window.to, n)),
    );
    const more = items.length > page.limit;
    if (more) items.length = page.limit;
    const last = items[items.length - 1];
    return {
      items,
      next: more && last !== undefined ? encodePointCursor(item, window, last.t) : null,
    };
  }

  /**
   * The page {@link SqliteStorageAdapter.readPoints} returns, as JSON text built by SQLite
   * (`json_group_array`): what a peer serves, without an object per point. Same arguments,
   * checks, chunking and snapshot as `readPoints`; a stored row that cannot be encoded makes it
   * fall back to `readPoints`, which reports the row.
   */
  async readPointsJson(item: string, window: TimeWindow, page: PageRequest): Promise<JsonPage> {
    const from = this.#pointsFrom(item, window, page);
    const read = (stmt: PageStatements, start: number, n: number): JsonChunk<number> => {
      const [json, count, last] = stmt.readPointsJson.get(
        item,
        start,
        window.to,
        n,
      ) as PointsJsonRow;
      return { json, count, last: last ?? undefined };
    };
    return this.#jsonOrRecords(
      () =>
        this.#read<JsonChunk<number>, JsonPage>(
          'read points',
          page.limit,
          (c) => c.count,
          (stmt, n) => read(stmt, from, n),
          (stmt, previous, n) => read(stmt, (previous.last as number) + 1, n),
          (stmt, chunks) =>
            finishJsonPage(
              chunks,
              page.limit,
              (last) => stmt.pointAfter.get(item, last, window.to) !== undefined,
              (last) => encodePointCursor(item, window, last),
            ),
        ),
      () => this.readPoints(item, window, page),
    );
  }

  /**
   * Atomically replaces every point of `item` in `window` with `points`; one transaction, which
   * also writes `options.syncState`.
   */
  async replacePoints(
    item: string,
    window: TimeWindow,
    points: readonly Point[],
    options?: SyncWriteOptions,
  ): Promise<void> {
    this.#run('replace points', () => {
      assertItemId(item);
      assertWindow(window);
      assertPointsInWindow(points, window, 'replacePoints');
      this.#replace(item, window, points, encodeSyncWriteOptions(options, 'replacePoints'));
    });
  }

  /**
   * Atomically writes the points whose timestamp `item` has no point at yet
   * (`ON CONFLICT DO NOTHING`); one transaction, which also writes `options.syncState`.
   * Returns how many points were written.
   */
  async mergePoints(
    item: string,
    window: TimeWindow,
    points: readonly Point[],
    options?: SyncWriteOptions,
  ): Promise<number> {
    return this.#run('merge points', () => {
      assertItemId(item);
      assertWindow(window);
      assertPointsInWindow(points, window, 'mergePoints');
      return this.#merge(item, points, encodeSyncWriteOptions(options, 'mergePoints'));
    });
  }

  /** Writes live points in one transaction; a point at an existing timestamp replaces it. */
  async appendPoints(item: string, points: readonly Point[]): Promise<void> {
    this.#run('append points', () => {
      assertItemId(item);
      assertPoints(points);
      this.#append(item, points);
    });
  }

  /**
   * Reads one page of events in `window`, ascending by `(t, id)` (keyset pagination). A page of
   * more than `readChunkRows` events is read in chunks, yielding to the event loop between
   * them, from one snapshot of the file.
   */
  async readEvents(window: TimeWindow, page: PageRequest): Promise<Page<EventRecord>> {
    const start = this.#eventsAfter(window, page);
    const toEvents = (rows: EventRow[]): EventRecord[] => {
      const events: EventRecord[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) events[i] = eventFromRow(rows[i] as EventRow);
      return events;
    };
    const items = await this.#collect<EventRecord>(
      'read events',
      page.limit + 1,
      (stmt, n) =>
        toEvents(
          start === undefined
            ? stmt.readEvents.all(window.from, window.to, n)
            : stmt.readEventsAfter.all(start.t, start.id, window.to, n),
        ),
      (stmt, last, n) => toEvents(stmt.readEventsAfter.all(last.t, last.id, window.to, n)),
    );
    const more = items.length > page.limit;
    if (more) items.length = page.limit;
    const last = items[items.length - 1];
    return {
      items,
      next: more && last !== undefined ? encodeEventCursor(window, last.t, last.id) : null,
    };
  }

  /**
   * The page {@link SqliteStorageAdapter.readEvents} returns, as JSON text built by SQLite: the
   * stored bodies are checked and copied as JSON by SQLite (`json(body)`) instead of being
   * parsed into objects and serialised again. Same arguments, checks, chunking and snapshot as
   * `readEvents`; a stored body that is not JSON makes it fall back to `readEvents`, which
   * reports it.
   */
  async readEventsJson(window: TimeWindow, page: PageRequest): Promise<JsonPage> {
    const start = this.#eventsAfter(window, page);
    /** Reads `n` events after `key` (from the window's start without one) as one chunk. */
    const read = (
      stmt: PageStatements,
      key: EventKey | undefined,
      n: number,
    ): JsonChunk<EventKey> => {
      const [json, count] = (
        key === undefined
          ? stmt.readEventsJson.get(window.from, window.to, n)
          : stmt.readEventsAfterJson.get(key.t, key.id, window.to, n)
      ) as EventsJsonRow;
      if (count === 0) return { json, count, last: undefined };
      const [t, id] = (
        key === undefined
          ? stmt.eventKeyAt.get(window.from, window.to, count - 1)
          : stmt.eventKeyAfterAt.get(key.t, key.id, window.to, count - 1)
      ) as EventKeyRow;
      return { json, count, last: { t, id } };
    };
    return this.#jsonOrRecords(
      () =>
        this.#read<JsonChunk<EventKey>, JsonPage>(
          'read events',
          page.limit,
          (c) => c.count,
          (stmt, n) => read(stmt, start, n),
          (stmt, previous, n) => read(stmt, previous.last, n),
          (stmt, chunks) =>
            finishJsonPage(
              chunks,
              page.limit,
              (last) => stmt.eventAfter.get(last.t, last.id, window.to) !== undefined,
              (last) => encodeEventCursor(window, last.t, last.id),
            ),
        ),
      () => this.readEvents(window, page),
    );
  }

  /** The first `t` a page of `item`'s points starts at, once the arguments are checked. */
  #pointsFrom(item: string, window: TimeWindow, page: PageRequest): number {
    return this.#run('read points', () => {
      assertItemId(item);
      assertWindow(window);
      assertPageRequest(page);
      return page.cursor === undefined
        ? window.from
        : decodePointCursor(page.cursor, item, window) + 1;
    });
  }

  /** The event a page of events starts after (none: the window's start), once checked. */
  #eventsAfter(window: TimeWindow, page: PageRequest): EventKey | undefined {
    return this.#run('read events', () => {
      assertWindow(window);
      assertPageRequest(page);
      return page.cursor === undefined ? undefined : decodeEventCursor(page.cursor, window);
    });
  }

  /**
   * A JSON page read, or, when SQLite fails it (a stored row it cannot encode), the record read
   * `records` encoded here: that read reports a corrupt row by name.
   */
  async #jsonOrRecords<T>(
    json: () => Promise<JsonPage>,
    records: () => Promise<Page<T>>,
  ): Promise<JsonPage> {
    try {
      return await json();
    } catch (error) {
      if (!isEdgeHaError(error, 'STORAGE_BACKEND')) throw error;
      return jsonPageOf(await records());
    }
  }

  /**
   * Inserts the events whose id is not stored yet; one transaction, which also writes
   * `options.syncState`. Returns how many events were inserted.
   */
  async insertEventsIfAbsent(
    events: readonly EventRecord[],
    options?: SyncWriteOptions,
  ): Promise<number> {
    return this.#run('insert events', () => {
      assertEvents(events);
      return this.#insert(events, encodeSyncWriteOptions(options, 'insertEventsIfAbsent'));
    });
  }

  /**
   * Reads the sync-state record stored under `key` (parsed from its JSON text), or `undefined`.
   * A stored text that is not a JSON object is reported as `STORAGE_BACKEND`.
   */
  async readSyncState(key: string): Promise<SyncStateValue | undefined> {
    return this.#run('read the sync state', () => {
      assertSyncKey(key, 'readSyncState: key');
      const text = this.#stmt.readSync.get(key);
      return text === undefined
        ? undefined
        : decodeSyncState(text, `The sync-state record ${JSON.stringify(key)} in ${this.filename}`);
    });
  }

  /** Replaces the sync-state record stored under `key` as JSON text (one statement, atomic). */
  async writeSyncState(key: string, value: SyncStateValue): Promise<void> {
    this.#run('write the sync state', () => {
      const record = encodeSyncState(key, value, 'writeSyncState: ');
      this.#stmt.writeSync.run(record.key, record.text);
    });
  }

  /**
   * Closes the database (checkpointing the WAL). Idempotent. A chunked page read still in
   * progress rejects with `STORAGE_CLOSED`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      // The reader first: the main connection, closed last, checkpoints and removes the WAL.
      this.#reader?.db.close();
      this.#db.close();
    } catch (error) {
      throw new StorageError(
        'STORAGE_BACKEND',
        `SQLite failed to close ${this.filename}: ${(error as Error)?.message ?? String(error)}`,
        { cause: error },
      );
    }
  }

  /** Same as {@link SqliteStorageAdapter.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Opens (creating if needed) a SQLite storage file. Loads the optional peer dependency
 * `better-sqlite3` on first use; checks the file (`PRAGMA quick_check`, option
 * `integrityCheck`); sets WAL mode, `synchronous`, `busy_timeout`; creates or migrates the
 * schema (tracked with `PRAGMA user_version`); opens a second, read-only connection for page
 * reads in chunks (option `readChunkRows`).
 *
 * Synchronous: it returns the adapter or throws. The integrity check reads the whole file: it
 * takes about as long as reading the file from disk (see "Integrity check" in
 * docs/operations.md for figures).
 *
 * @param filename - Path of the database file, or `':memory:'` for a private, non-persistent
 *   database (its capabilities then say `persistent: false`).
 * @throws {StorageError} `STORAGE_DEPENDENCY_MISSING` when `better-sqlite3` is not installed or
 *   not built; `STORAGE_CORRUPT` when the integrity check finds the file damaged (the message
 *   names the file and the first problems); `STORAGE_SCHEMA` when the file was written by a
 *   newer edge-ha; `STORAGE_INVALID_OPTIONS` when the file name or an option is invalid;
 *   `STORAGE_BACKEND` when the file cannot be opened (not a database, permissions, …).
 *
 * @example
 * ```ts
 * import { openSqliteStorage } from 'edge-ha/sqlite';
 *
 * const storage = openSqliteStorage('/var/lib/my-service/edge-ha.db', { synchronous: 'FULL' });
 * try {
 *   await storage.registerItems(['plant/temp']);
 * } finally {
 *   await storage.close();
 * }
 * ```
 */
export function openSqliteStorage(
  filename: string,
  options: SqliteStorageOptions = {},
): SqliteStorageAdapter {
  if (typeof filename !== 'string' || filename.length === 0) {
    throw new StorageError(
      'STORAGE_INVALID_OPTIONS',
      `openSqliteStorage needs a file path (or ':memory:'), got ${JSON.stringify(filename)}.`,
    );
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new StorageError(
      'STORAGE_INVALID_OPTIONS',
      `busyTimeoutMs must be a non-negative integer (ms), got ${String(busyTimeoutMs)}.`,
    );
  }
  const synchronous = options.synchronous ?? 'NORMAL';
  if (synchronous !== 'NORMAL' && synchronous !== 'FULL') {
    throw new StorageError(
      'STORAGE_INVALID_OPTIONS',
      `synchronous must be 'NORMAL' or 'FULL', got ${JSON.stringify(synchronous)}.`,
    );
  }
  const integrityCheck = options.integrityCheck ?? 'quick';
  if (integrityCheck !== 'quick' && integrityCheck !== 'full' && integrityCheck !== 'off') {
    throw new StorageError(
      'STORAGE_INVALID_OPTIONS',
      `integrityCheck must be 'quick', 'full' or 'off', got ${JSON.stringify(integrityCheck)}.`,
    );
  }
  const readChunkRows = options.readChunkRows ?? DEFAULT_READ_CHUNK_ROWS;
  if (!Number.isInteger(readChunkRows) || readChunkRows < 0 || readChunkRows > 100_000) {
    throw new StorageError(
      'STORAGE_INVALID_OPTIONS',
      `readChunkRows must be an integer from 0 to 100000 (0: no chunked reads), got ${String(readChunkRows)}.`,
    );
  }
  const db = openDatabase(filename, { timeout: busyTimeoutMs }, 'open');
  let reader: BetterSqlite3.Database | undefined;
  try {
    if (integrityCheck !== 'off' && !db.memory) {
      const problems = runIntegrityCheck(db, integrityCheck, DEFAULT_MAX_PROBLEMS);
      if (problems.length > 0) {
        throw corruptionError(filename, integrityCheck, problems, DEFAULT_MAX_PROBLEMS);
      }
    }
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    migrate(db, filename);
    if (readChunkRows > 0 && !db.memory) {
      // WAL: this reader sees every commit of the main connection, and reads while it writes.
      reader = openDatabase(
        filename,
        { readonly: true, fileMustExist: true, timeout: busyTimeoutMs },
        'open',
      );
    }
    return new SqliteStorageAdapter(
      db,
      filename,
      reader === undefined ? undefined : { db: reader, rows: readChunkRows },
    );
  } catch (error) {
    reader?.close();
    db.close();
    if (isEdgeHaError(error)) throw error;
    if (isCorruptionError(error)) {
      throw new StorageError(
        'STORAGE_CORRUPT',
        `${filename} is damaged: ${(error as Error).message}. Restore it from a backup or move it aside and re-sync the node from a peer (see "Integrity check" in docs/operations.md).`,
        { cause: error },
      );
    }
    throw new StorageError(
      'STORAGE_BACKEND',
      `SQLite cannot use ${filename}: ${(error as Error)?.message ?? String(error)}`,
      { cause: error },
    );
  }
}

import type BetterSqlite3 from 'better-sqlite3';
import { isEdgeHaError, StorageError } from '../errors.js';
import {
  decodeEventCursor,
  decodePointCursor,
  encodeEventCursor,
  encodePointCursor,
} from '../storage/cursor.js';
import type {
  EventRecord,
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
import { isMissingBinding, loadBetterSqlite3 } from './load.js';
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
}

/** A point row as read with `.raw()`: `[t, vt, vn, vs, q]` (arrays are cheaper than objects). */
type PointRow = [t: number, vt: number, vn: number | null, vs: string | null, q: number | null];
/** An event row as read with `.raw()`: `[t, id, body]`. */
type EventRow = [t: number, id: string, body: string];

const VT_NULL = 0;
const VT_NUMBER = 1;
const VT_STRING = 2;
const VT_BOOLEAN = 3;

/**
 * Writes one valid point with `statement` (`INSERT … (item, t, vt, vn, vs, q)`), passing the
 * columns as arguments (no row array, no copy of the point). `-0` is stored as `0`, as a copy
 * through JSON would.
 * @returns The number of rows the statement changed (0 when an `ON CONFLICT DO NOTHING` skipped it).
 */
function writePoint(
  statement: BetterSqlite3.Statement<unknown[], unknown>,
  item: string,
  point: Point,
): number {
  const v = point.v;
  const q = point.q === undefined ? null : point.q + 0;
  const t = point.t + 0;
  if (v === null) return statement.run(item, t, VT_NULL, null, null, q).changes;
  if (typeof v === 'number') return statement.run(item, t, VT_NUMBER, v + 0, null, q).changes;
  if (typeof v === 'string') return statement.run(item, t, VT_STRING, null, v, q).changes;
  return statement.run(item, t, VT_BOOLEAN, v ? 1 : 0, null, q).changes;
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
  readonly #stmt: {
    registerItem: BetterSqlite3.Statement<unknown[], unknown>;
    listItems: BetterSqlite3.Statement<unknown[], string>;
    readPoints: BetterSqlite3.Statement<unknown[], PointRow>;
    deletePoints: BetterSqlite3.Statement<unknown[], unknown>;
    insertPoint: BetterSqlite3.Statement<unknown[], unknown>;
    mergePoint: BetterSqlite3.Statement<unknown[], unknown>;
    upsertPoint: BetterSqlite3.Statement<unknown[], unknown>;
    readEvents: BetterSqlite3.Statement<unknown[], EventRow>;
    readEventsAfter: BetterSqlite3.Statement<unknown[], EventRow>;
    insertEvent: BetterSqlite3.Statement<unknown[], unknown>;
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
  #closed = false;

  /** @internal Use {@link openSqliteStorage}. */
  constructor(db: BetterSqlite3.Database, filename: string) {
    this.#db = db;
    this.filename = filename;
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
      readPoints: db
        .prepare<unknown[], PointRow>(
          'SELECT t, vt, vn, vs, q FROM points WHERE item = ? AND t >= ? AND t < ? ORDER BY t LIMIT ?',
        )
        .raw(),
      deletePoints: db.prepare('DELETE FROM points WHERE item = ? AND t >= ? AND t < ?'),
      insertPoint: db.prepare(
        'INSERT INTO points (item, t, vt, vn, vs, q) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      mergePoint: db.prepare(
        'INSERT INTO points (item, t, vt, vn, vs, q) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (item, t) DO NOTHING',
      ),
      upsertPoint: db.prepare(
        'INSERT OR REPLACE INTO points (item, t, vt, vn, vs, q) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      readEvents: db
        .prepare<unknown[], EventRow>(
          'SELECT t, id, body FROM events WHERE t >= ? AND t < ? ORDER BY t, id LIMIT ?',
        )
        .raw(),
      readEventsAfter: db
        .prepare<unknown[], EventRow>(
          'SELECT t, id, body FROM events WHERE (t, id) > (?, ?) AND t < ? ORDER BY t, id LIMIT ?',
        )
        .raw(),
      insertEvent: db.prepare(
        'INSERT INTO events (t, id, body) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
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
        const insert = stmt.insertPoint;
        for (let i = 0; i < points.length; i++) writePoint(insert, item, points[i] as Point);
        writeSync(record);
      },
    );
    this.#merge = db.transaction(
      (item: string, points: readonly Point[], record: EncodedSyncState | undefined) => {
        registerItem.run(item);
        const merge = stmt.mergePoint;
        let written = 0;
        for (let i = 0; i < points.length; i++)
          written += writePoint(merge, item, points[i] as Point);
        writeSync(record);
        return written;
      },
    );
    this.#append = db.transaction((item: string, points: readonly Point[]) => {
      registerItem.run(item);
      const upsert = stmt.upsertPoint;
      for (let i = 0; i < points.length; i++) writePoint(upsert, item, points[i] as Point);
    });
    this.#insert = db.transaction(
      (events: readonly EventRecord[], record: EncodedSyncState | undefined) => {
        let inserted = 0;
        for (const event of events) {
          inserted += stmt.insertEvent.run(
            event.t + 0,
            event.id,
            JSON.stringify(event.body),
          ).changes;
        }
        writeSync(record);
        return inserted;
      },
    );
  }

  /** Runs `fn` on the open database, mapping SQLite failures to `STORAGE_BACKEND`. */
  #run<T>(what: string, fn: () => T): T {
    if (this.#closed) {
      throw new StorageError(
        'STORAGE_CLOSED',
        `The SQLite storage of ${this.filename} is closed; open it again with openSqliteStorage().`,
      );
    }
    try {
      return fn();
    } catch (error) {
      if (isEdgeHaError(error)) throw error;
      throw new StorageError(
        'STORAGE_BACKEND',
        `SQLite failed to ${what} in ${this.filename}: ${(error as Error)?.message ?? String(error)}`,
        { cause: error },
      );
    }
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

  /** Reads one page of `item`'s points in `window`, ascending by `t` (keyset pagination). */
  async readPoints(item: string, window: TimeWindow, page: PageRequest): Promise<Page<Point>> {
    return this.#run('read points', () => {
      assertItemId(item);
      assertWindow(window);
      assertPageRequest(page);
      const from =
        page.cursor === undefined ? window.from : decodePointCursor(page.cursor, item, window) + 1;
      const rows = this.#stmt.readPoints.all(item, from, window.to, page.limit + 1);
      const more = rows.length > page.limit;
      const count = more ? page.limit : rows.length;
      const items: Point[] = new Array(count);
      for (let i = 0; i < count; i++) items[i] = fromRow(rows[i] as PointRow);
      const last = items[count - 1];
      return {
        items,
        next: more && last !== undefined ? encodePointCursor(item, window, last.t) : null,
      };
    });
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

  /** Reads one page of events in `window`, ascending by `(t, id)` (keyset pagination). */
  async readEvents(window: TimeWindow, page: PageRequest): Promise<Page<EventRecord>> {
    return this.#run('read events', () => {
      assertWindow(window);
      assertPageRequest(page);
      const rows =
        page.cursor === undefined
          ? this.#stmt.readEvents.all(window.from, window.to, page.limit + 1)
          : (() => {
              const after = decodeEventCursor(page.cursor, window);
              return this.#stmt.readEventsAfter.all(after.t, after.id, window.to, page.limit + 1);
            })();
      const more = rows.length > page.limit;
      const count = more ? page.limit : rows.length;
      const items: EventRecord[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const row = rows[i] as EventRow;
        items[i] = { id: row[1], t: row[0], body: JSON.parse(row[2]) as JsonValue };
      }
      const last = items[count - 1];
      return {
        items,
        next: more && last !== undefined ? encodeEventCursor(window, last.t, last.id) : null,
      };
    });
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

  /** Closes the database (checkpointing the WAL). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
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
 * `better-sqlite3` on first use; sets WAL mode, `synchronous`, `busy_timeout`; creates or
 * migrates the schema (tracked with `PRAGMA user_version`).
 *
 * Synchronous: it returns the adapter or throws.
 *
 * @param filename - Path of the database file, or `':memory:'` for a private, non-persistent
 *   database (its capabilities then say `persistent: false`).
 * @throws {StorageError} `STORAGE_DEPENDENCY_MISSING` when `better-sqlite3` is not installed or
 *   not built; `STORAGE_SCHEMA` when the file was written by a newer edge-ha; `STORAGE_BACKEND`
 *   when the file cannot be opened (not a database, permissions, …).
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
      'STORAGE_BACKEND',
      `openSqliteStorage needs a file path (or ':memory:'), got ${JSON.stringify(filename)}.`,
    );
  }
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new StorageError(
      'STORAGE_BACKEND',
      `busyTimeoutMs must be a non-negative integer (ms), got ${String(busyTimeoutMs)}.`,
    );
  }
  const synchronous = options.synchronous ?? 'NORMAL';
  if (synchronous !== 'NORMAL' && synchronous !== 'FULL') {
    throw new StorageError(
      'STORAGE_BACKEND',
      `synchronous must be 'NORMAL' or 'FULL', got ${JSON.stringify(synchronous)}.`,
    );
  }
  const Database = loadBetterSqlite3();
  let db: BetterSqlite3.Database;
  try {
    db = new Database(filename, { timeout: busyTimeoutMs });
  } catch (error) {
    if (isMissingBinding(error)) {
      throw new StorageError(
        'STORAGE_DEPENDENCY_MISSING',
        `"better-sqlite3" is installed but its native binding is missing; run \`npm rebuild better-sqlite3\`.`,
        { cause: error },
      );
    }
    throw new StorageError(
      'STORAGE_BACKEND',
      `SQLite cannot open ${filename}: ${(error as Error)?.message ?? String(error)}`,
      { cause: error },
    );
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    migrate(db, filename);
    return new SqliteStorageAdapter(db, filename);
  } catch (error) {
    db.close();
    if (isEdgeHaError(error)) throw error;
    throw new StorageError(
      'STORAGE_BACKEND',
      `SQLite cannot use ${filename}: ${(error as Error)?.message ?? String(error)}`,
      { cause: error },
    );
  }
}

import { createHash } from 'node:crypto';
import { isEdgeHaError, StorageError } from '../errors.js';
import {
  decodeEventCursor,
  decodePointCursor,
  encodeEventCursor,
  encodePointCursor,
} from '../storage/cursor.js';
import type {
  EventRecord,
  Page,
  PageRequest,
  Point,
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
import { ConnectFailure, describeError, withConnection } from './connection.js';
import {
  eventChunks,
  eventFromRow,
  eventTuple,
  POINT_COLUMNS,
  pointChunks,
  pointFromRow,
  pointTuple,
} from './rows.js';
import { itemLockSpace, TEXT_PARSERS } from './schema.js';
import { type CommandTags, Script, tagCount } from './script.js';
import {
  fromDbText,
  keyHash,
  keyHashSql,
  quoteIdentifier,
  quoteLiteral,
  toDbText,
} from './text.js';
import type { PostgresClientLike, PostgresPoolLike, PostgresStorageOptions } from './types.js';

/**
 * Defaults of {@link PostgresStorageOptions.copyThreshold} (from `bench/backfill-postgres.ts`):
 * `replacePoints` copies straight into the table, and wins from ~64 rows; the other writes copy
 * into a temp table first (a fixed ~1.5 ms), and win from ~256 rows.
 */
const DEFAULT_COPY_THRESHOLDS = { direct: 64, staged: 256 } as const;
/** Temp table of the COPY paths of merge and append (dropped at commit). */
const POINTS_IN = 'edge_ha_points_in';
/** Temp table of the COPY path of insertEventsIfAbsent (dropped at commit). */
const EVENTS_IN = 'edge_ha_events_in';

/** A prepared read: its SQL and the statement name pg prepares it under (per connection). */
interface Statement {
  readonly name: string;
  readonly text: string;
}

function statement(text: string): Statement {
  return { name: `edge_ha_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`, text };
}

/** Last point of each timestamp (input order decides), for the upsert of `appendPoints`. */
function lastPerTimestamp(points: readonly Point[]): readonly Point[] {
  const byT = new Map<number, Point>();
  for (const point of points) byT.set(point.t, point);
  return byT.size === points.length ? points : [...byT.values()];
}

/** First event of each id (input order decides), for `insertEventsIfAbsent`. */
function firstPerId(events: readonly EventRecord[]): readonly EventRecord[] {
  const byId = new Map<string, EventRecord>();
  for (const event of events) if (!byId.has(event.id)) byId.set(event.id, event);
  return byId.size === events.length ? events : [...byId.values()];
}

/** What a point write runs once the item's id is known. */
interface PointWrite {
  /** The statements after the item's lock. */
  readonly statements: string[];
  /** The rows of the write's `COPY … FROM STDIN` statement, if it has one. */
  readonly copy?: Iterable<string> | undefined;
}

/** Fails a write whose rollback failed too (the connection is then destroyed, not reused). */
function rollbackFailed(error: unknown, rollback: unknown): Error {
  return new Error(`${describeError(error)}; the rollback failed too: ${describeError(rollback)}`, {
    cause: error,
  });
}

/**
 * A {@link StorageAdapter} over a PostgreSQL schema (through `pg`, or any pool of the shape
 * {@link PostgresPoolLike}). Persistent, atomic (each write call is one transaction — one
 * round trip once the item is known — that also writes its `syncState` record), safe with
 * several processes on one schema (writes of one item serialise on a transaction-level advisory
 * lock). Large batches are streamed with `COPY … FROM STDIN`. Create it with
 * {@link openPostgresStorage}.
 *
 * @example
 * ```ts
 * import { openPostgresStorage } from 'edge-ha/postgres';
 *
 * await using storage = await openPostgresStorage({ connectionString: process.env.DATABASE_URL });
 * await storage.appendPoints('plant/temp', [{ t: Date.now(), v: 21.5 }]);
 * ```
 */
export class PostgresStorageAdapter implements StorageAdapter {
  /** Persistent, atomic replace and insert, several processes may share the schema. */
  readonly capabilities: StorageCapabilities = Object.freeze({
    persistent: true,
    atomicReplace: true,
    atomicInsert: true,
    multiProcess: true,
  });
  /** The schema holding the adapter's tables. */
  readonly schema: string;
  /** Whether the points table is a TimescaleDB hypertable (see the `timescale` option). */
  readonly hypertable: boolean;

  readonly #pool: PostgresPoolLike;
  readonly #ownsPool: boolean;
  readonly #copyThreshold: { readonly direct: number; readonly staged: number };
  readonly #lockSpace: number;
  /** `items.id` of the items this adapter wrote (ids never change once committed). */
  readonly #itemIds = new Map<string, number>();
  readonly #table: {
    readonly items: string;
    readonly points: string;
    readonly events: string;
    readonly sync: string;
  };
  readonly #sql: {
    readonly listItems: Statement;
    readonly registerItems: Statement;
    readonly itemId: Statement;
    readonly points: Statement;
    readonly events: Statement;
    readonly eventsAfter: Statement;
    readonly sync: Statement;
    readonly writeSync: Statement;
  };
  #closed = false;

  /** @internal Use {@link openPostgresStorage}. */
  constructor(
    pool: PostgresPoolLike,
    ownsPool: boolean,
    schema: string,
    hypertable: boolean,
    copyThreshold: number | undefined,
  ) {
    this.#pool = pool;
    this.#ownsPool = ownsPool;
    this.schema = schema;
    this.hypertable = hypertable;
    this.#copyThreshold =
      copyThreshold === undefined
        ? DEFAULT_COPY_THRESHOLDS
        : { direct: copyThreshold, staged: copyThreshold };
    this.#lockSpace = itemLockSpace(schema);
    const s = quoteIdentifier(schema);
    this.#table = {
      items: `${s}.items`,
      points: `${s}.points`,
      events: `${s}.events`,
      sync: `${s}.sync_state`,
    };
    const t = this.#table;
    const itemOf = (n: number): string =>
      `(SELECT id FROM ${t.items} WHERE item_hash = decode($${n}, 'hex'))`;
    this.#sql = {
      listItems: statement(`SELECT item FROM ${t.items} ORDER BY item`),
      registerItems: statement(
        `INSERT INTO ${t.items} (item, item_hash) SELECT i, decode(h, 'hex') FROM unnest($1::text[], $2::text[]) AS u(i, h) ON CONFLICT (item_hash) DO NOTHING`,
      ),
      // The id of an item, inserting it when new. Empty when another transaction inserted it
      // after this statement's snapshot (the caller asks again).
      itemId: statement(
        `WITH ins AS (INSERT INTO ${t.items} (item, item_hash) VALUES ($1, decode($2, 'hex')) ON CONFLICT (item_hash) DO NOTHING RETURNING id)
         SELECT id FROM ins UNION ALL SELECT id FROM ${t.items} WHERE item_hash = decode($2, 'hex')`,
      ),
      points: statement(
        `SELECT ${POINT_COLUMNS} FROM ${t.points} WHERE item_id = ${itemOf(1)} AND t >= $2 AND t < $3 ORDER BY t LIMIT $4`,
      ),
      events: statement(
        `SELECT t, id, body FROM ${t.events} WHERE t >= $1 AND t < $2 ORDER BY t, id LIMIT $3`,
      ),
      eventsAfter: statement(
        `SELECT t, id, body FROM ${t.events} WHERE (t, id) > ($1, $2) AND t < $3 ORDER BY t, id LIMIT $4`,
      ),
      sync: statement(`SELECT state FROM ${t.sync} WHERE key_hash = decode($1, 'hex')`),
      writeSync: statement(
        `INSERT INTO ${t.sync} (key_hash, key, state) VALUES (decode($1, 'hex'), $2, $3) ON CONFLICT (key_hash) DO UPDATE SET state = EXCLUDED.state`,
      ),
    };
  }

  #assertOpen(): void {
    if (this.#closed) {
      throw new StorageError(
        'STORAGE_CLOSED',
        `The PostgreSQL storage of schema "${this.schema}" is closed; open it again with openPostgresStorage().`,
      );
    }
  }

  /** Runs `fn` with a pooled connection, mapping failures to `STORAGE_BACKEND`. */
  async #withClient<T>(what: string, fn: (client: PostgresClientLike) => Promise<T>): Promise<T> {
    try {
      return await withConnection(this.#pool, fn);
    } catch (error) {
      if (isEdgeHaError(error)) throw error;
      throw new StorageError(
        'STORAGE_BACKEND',
        `PostgreSQL failed to ${what} (schema "${this.schema}"): ${describeError(error)}`,
        { cause: error instanceof ConnectFailure ? error.cause : error },
      );
    }
  }

  /** One prepared query on `client`, rows as arrays of text columns. */
  async #run(client: PostgresClientLike, sql: Statement, values: unknown[]): Promise<unknown[][]> {
    const result = await client.query({
      name: sql.name,
      text: sql.text,
      values,
      rowMode: 'array',
      types: TEXT_PARSERS,
    });
    return result.rows as unknown[][];
  }

  /** One prepared query on a pooled connection. */
  async #query(what: string, sql: Statement, values: unknown[]): Promise<unknown[][]> {
    return this.#withClient(what, (client) => this.#run(client, sql, values));
  }

  /** Runs a write script on `client` (one round trip), optionally with COPY rows. */
  async #script(
    client: PostgresClientLike,
    statements: readonly string[],
    copy?: Iterable<string>,
  ): Promise<CommandTags> {
    const script = new Script(statements.join(';\n'), copy);
    client.query(script);
    return script.done;
  }

  /**
   * Runs a write of `item`'s points: the item's advisory lock, then what `build` returns for
   * the item's id, in one transaction. An item this adapter has not written yet gets its id
   * (inserted when new) in the same transaction, so a failed write registers nothing.
   * @returns The command tags, the lock's first.
   */
  async #pointWrite(
    what: string,
    item: string,
    build: (itemId: number) => PointWrite,
  ): Promise<CommandTags> {
    return this.#withClient(what, async (client) => {
      const lock = (id: number): string =>
        `SELECT pg_advisory_xact_lock(${this.#lockSpace}, ${id})`;
      const known = this.#itemIds.get(item);
      if (known !== undefined) {
        const write = build(known);
        return this.#script(client, [lock(known), ...write.statements], write.copy);
      }
      await this.#script(client, ['BEGIN']);
      try {
        const id = await this.#resolveItemId(client, item);
        const write = build(id);
        const tags = await this.#script(
          client,
          [lock(id), ...write.statements, 'COMMIT'],
          write.copy,
        );
        this.#itemIds.set(item, id);
        return tags;
      } catch (error) {
        try {
          await this.#script(client, ['ROLLBACK']);
        } catch (rollback) {
          throw rollbackFailed(error, rollback);
        }
        throw error;
      }
    });
  }

  /** The `items.id` of `item`, inserting the item when it is new (inside the caller's transaction). */
  async #resolveItemId(client: PostgresClientLike, item: string): Promise<number> {
    const hash = keyHash(item);
    // A concurrent first write of the same item commits between our snapshot and our insert at
    // most once per attempt; the next statement's snapshot sees it.
    for (let attempt = 0; attempt < 5; attempt++) {
      const [row] = await this.#run(client, this.#sql.itemId, [toDbText(item), hash]);
      if (row !== undefined) return Number(row[0]);
    }
    throw new StorageError(
      'STORAGE_BACKEND',
      `PostgreSQL did not return an id for the item ${JSON.stringify(item)} in schema "${this.schema}" after 5 attempts.`,
    );
  }

  /** The statement writing a sync-state record (none when `record` is undefined). */
  #syncStatement(record: EncodedSyncState | undefined): string[] {
    if (record === undefined) return [];
    return [
      `INSERT INTO ${this.#table.sync} (key_hash, key, state) VALUES (${keyHashSql(record.key)}, ${quoteLiteral(toDbText(record.key))}, ${quoteLiteral(record.text)}) ON CONFLICT (key_hash) DO UPDATE SET state = EXCLUDED.state`,
    ];
  }

  /** Declares items as trended locally, even before they have points. One statement. */
  async registerItems(items: readonly string[]): Promise<void> {
    this.#assertOpen();
    assertItemIds(items);
    const unique = [...new Set(items)];
    if (unique.length === 0) return;
    // pg sends a JS array as a PostgreSQL array literal (quoted and escaped).
    await this.#query('register items', this.#sql.registerItems, [
      unique.map(toDbText),
      unique.map(keyHash),
    ]);
  }

  /** Every registered item and every item with points, sorted by code point (`COLLATE "C"`). */
  async listItems(): Promise<string[]> {
    this.#assertOpen();
    const rows = await this.#query('list items', this.#sql.listItems, []);
    return rows.map((row) => fromDbText(row[0] as string));
  }

  /** Reads one page of `item`'s points in `window`, ascending by `t` (keyset pagination). */
  async readPoints(item: string, window: TimeWindow, page: PageRequest): Promise<Page<Point>> {
    this.#assertOpen();
    assertItemId(item);
    assertWindow(window);
    assertPageRequest(page);
    const from =
      page.cursor === undefined ? window.from : decodePointCursor(page.cursor, item, window) + 1;
    const rows = await this.#query('read points', this.#sql.points, [
      keyHash(item),
      from,
      window.to,
      page.limit + 1,
    ]);
    const more = rows.length > page.limit;
    const count = more ? page.limit : rows.length;
    const items: Point[] = new Array(count);
    for (let i = 0; i < count; i++) items[i] = pointFromRow(rows[i] as unknown[]);
    const last = items[count - 1];
    return {
      items,
      next: more && last !== undefined ? encodePointCursor(item, window, last.t) : null,
    };
  }

  /**
   * Whether a batch of `n` rows is streamed with COPY: straight into the table (`direct`) or
   * into a temp table first (`staged`).
   */
  #copies(n: number, path: 'direct' | 'staged'): boolean {
    return n > 0 && n >= this.#copyThreshold[path];
  }

  /**
   * Atomically replaces every point of `item` in `window` with `points`: one transaction (the
   * window's `DELETE`, then the rows — streamed with `COPY` from `copyThreshold` points — and
   * `options.syncState`).
   */
  async replacePoints(
    item: string,
    window: TimeWindow,
    points: readonly Point[],
    options?: SyncWriteOptions,
  ): Promise<void> {
    this.#assertOpen();
    assertItemId(item);
    assertWindow(window);
    assertPointsInWindow(points, window, 'replacePoints');
    const record = encodeSyncWriteOptions(options, 'replacePoints');
    const p = this.#table.points;
    await this.#pointWrite('replace points', item, (id) => {
      const statements: string[] = [];
      if (window.from < window.to) {
        statements.push(
          `DELETE FROM ${p} WHERE item_id = ${id} AND t >= ${window.from} AND t < ${window.to}`,
        );
      }
      let copy: Iterable<string> | undefined;
      if (this.#copies(points.length, 'direct')) {
        statements.push(`COPY ${p} (item_id, ${POINT_COLUMNS}) FROM STDIN`);
        copy = pointChunks(points, id);
      } else if (points.length > 0) {
        statements.push(
          `INSERT INTO ${p} (item_id, ${POINT_COLUMNS}) VALUES ${points.map((point) => pointTuple(id, point)).join(',')}`,
        );
      }
      statements.push(...this.#syncStatement(record));
      return { statements, copy };
    });
  }

  /**
   * Atomically writes the points whose timestamp `item` has no point at yet: one transaction
   * (from `copyThreshold` points, `COPY` into a temp table dropped at commit, then an
   * `INSERT … SELECT` of the absent ones; below it `INSERT … ON CONFLICT DO NOTHING`), which also
   * writes `options.syncState`. Returns how many points were written.
   */
  async mergePoints(
    item: string,
    window: TimeWindow,
    points: readonly Point[],
    options?: SyncWriteOptions,
  ): Promise<number> {
    this.#assertOpen();
    assertItemId(item);
    assertWindow(window);
    assertPointsInWindow(points, window, 'mergePoints');
    const record = encodeSyncWriteOptions(options, 'mergePoints');
    const p = this.#table.points;
    // The tag of the INSERT of points, counted from the lock's (0).
    let counted = -1;
    const tags = await this.#pointWrite('merge points', item, (id) => {
      const statements: string[] = [];
      let copy: Iterable<string> | undefined;
      if (this.#copies(points.length, 'staged')) {
        statements.push(
          `CREATE TEMP TABLE ${POINTS_IN} (t bigint, vn double precision, vs text, vb boolean, q bigint) ON COMMIT DROP`,
          `COPY ${POINTS_IN} (${POINT_COLUMNS}) FROM STDIN`,
        );
        copy = pointChunks(points);
        counted = statements.length + 1;
        // The item's lock keeps every other adapter writer of the item out until commit, so an
        // anti-join is exact (and about twice as fast as ON CONFLICT for large batches).
        statements.push(
          `INSERT INTO ${p} (item_id, ${POINT_COLUMNS}) SELECT ${id}, i.t, i.vn, i.vs, i.vb, i.q FROM ${POINTS_IN} i WHERE NOT EXISTS (SELECT 1 FROM ${p} x WHERE x.item_id = ${id} AND x.t = i.t)`,
        );
      } else if (points.length > 0) {
        counted = statements.length + 1;
        statements.push(
          `INSERT INTO ${p} (item_id, ${POINT_COLUMNS}) VALUES ${points.map((point) => pointTuple(id, point)).join(',')} ON CONFLICT (item_id, t) DO NOTHING`,
        );
      }
      statements.push(...this.#syncStatement(record));
      return { statements, copy };
    });
    return counted < 0 ? 0 : tagCount(tags[counted]);
  }

  /**
   * Writes live points in one transaction; a point at an existing timestamp replaces it (the
   * last point of a timestamp in the batch wins).
   */
  async appendPoints(item: string, points: readonly Point[]): Promise<void> {
    this.#assertOpen();
    assertItemId(item);
    assertPoints(points);
    const unique = lastPerTimestamp(points);
    const p = this.#table.points;
    await this.#pointWrite('append points', item, (id) => {
      if (this.#copies(unique.length, 'staged')) {
        return {
          statements: [
            `CREATE TEMP TABLE ${POINTS_IN} (t bigint, vn double precision, vs text, vb boolean, q bigint) ON COMMIT DROP`,
            `COPY ${POINTS_IN} (${POINT_COLUMNS}) FROM STDIN`,
            `DELETE FROM ${p} x USING ${POINTS_IN} i WHERE x.item_id = ${id} AND x.t = i.t`,
            `INSERT INTO ${p} (item_id, ${POINT_COLUMNS}) SELECT ${id}, i.t, i.vn, i.vs, i.vb, i.q FROM ${POINTS_IN} i`,
          ],
          copy: pointChunks(unique),
        };
      }
      if (unique.length === 0) return { statements: [] };
      return {
        statements: [
          `INSERT INTO ${p} (item_id, ${POINT_COLUMNS}) VALUES ${unique.map((point) => pointTuple(id, point)).join(',')} ON CONFLICT (item_id, t) DO UPDATE SET vn = EXCLUDED.vn, vs = EXCLUDED.vs, vb = EXCLUDED.vb, q = EXCLUDED.q`,
        ],
      };
    });
  }

  /** Reads one page of events in `window`, ascending by `(t, id)` (keyset pagination). */
  async readEvents(window: TimeWindow, page: PageRequest): Promise<Page<EventRecord>> {
    this.#assertOpen();
    assertWindow(window);
    assertPageRequest(page);
    let rows: unknown[][];
    if (page.cursor === undefined) {
      rows = await this.#query('read events', this.#sql.events, [
        window.from,
        window.to,
        page.limit + 1,
      ]);
    } else {
      const after = decodeEventCursor(page.cursor, window);
      rows = await this.#query('read events', this.#sql.eventsAfter, [
        after.t,
        toDbText(after.id),
        window.to,
        page.limit + 1,
      ]);
    }
    const more = rows.length > page.limit;
    const count = more ? page.limit : rows.length;
    const items: EventRecord[] = new Array(count);
    for (let i = 0; i < count; i++) items[i] = eventFromRow(rows[i] as unknown[]);
    const last = items[count - 1];
    return {
      items,
      next: more && last !== undefined ? encodeEventCursor(window, last.t, last.id) : null,
    };
  }

  /**
   * Inserts the events whose id is not stored yet (`ON CONFLICT DO NOTHING`; from
   * `copyThreshold` events through `COPY` into a temp table); one transaction, which also writes
   * `options.syncState`. Within the batch the first event of an id wins. Returns how many events
   * were inserted.
   */
  async insertEventsIfAbsent(
    events: readonly EventRecord[],
    options?: SyncWriteOptions,
  ): Promise<number> {
    this.#assertOpen();
    assertEvents(events);
    const record = encodeSyncWriteOptions(options, 'insertEventsIfAbsent');
    const unique = firstPerId(events);
    const e = this.#table.events;
    const statements: string[] = [];
    let copy: Iterable<string> | undefined;
    let counted = -1;
    if (this.#copies(unique.length, 'staged')) {
      statements.push(
        `CREATE TEMP TABLE ${EVENTS_IN} (t bigint, id text COLLATE "C", body text) ON COMMIT DROP`,
        `COPY ${EVENTS_IN} (t, id, body) FROM STDIN`,
      );
      copy = eventChunks(unique);
      counted = statements.length;
      statements.push(
        `INSERT INTO ${e} (t, id, body) SELECT t, id, body FROM ${EVENTS_IN} ON CONFLICT DO NOTHING`,
      );
    } else if (unique.length > 0) {
      counted = statements.length;
      statements.push(
        `INSERT INTO ${e} (t, id, body) VALUES ${unique.map(eventTuple).join(',')} ON CONFLICT DO NOTHING`,
      );
    }
    statements.push(...this.#syncStatement(record));
    if (statements.length === 0) return 0;
    const tags = await this.#withClient('insert events', (client) =>
      this.#script(client, statements, copy),
    );
    return counted < 0 ? 0 : tagCount(tags[counted]);
  }

  /**
   * Reads the sync-state record stored under `key` (parsed from its JSON text), or `undefined`.
   * A stored text that is not a JSON object is reported as `STORAGE_BACKEND`.
   */
  async readSyncState(key: string): Promise<SyncStateValue | undefined> {
    this.#assertOpen();
    assertSyncKey(key, 'readSyncState: key');
    const rows = await this.#query('read the sync state', this.#sql.sync, [keyHash(key)]);
    const row = rows[0];
    return row === undefined
      ? undefined
      : decodeSyncState(
          row[0],
          `The sync-state record ${JSON.stringify(key)} in schema "${this.schema}"`,
        );
  }

  /** Replaces the sync-state record stored under `key` as JSON text (one statement, atomic). */
  async writeSyncState(key: string, value: SyncStateValue): Promise<void> {
    this.#assertOpen();
    const record = encodeSyncState(key, value, 'writeSyncState: ');
    await this.#query('write the sync state', this.#sql.writeSync, [
      keyHash(record.key),
      toDbText(record.key),
      record.text,
    ]);
  }

  /** Closes the adapter; ends the pool when the adapter created it. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#ownsPool) return;
    try {
      await this.#pool.end();
    } catch (error) {
      throw new StorageError(
        'STORAGE_BACKEND',
        `Closing the PostgreSQL pool of schema "${this.schema}" failed: ${describeError(error)}`,
        { cause: error },
      );
    }
  }

  /** Same as {@link PostgresStorageAdapter.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

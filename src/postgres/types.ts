/**
 * The public types of `edge-ha/postgres`: the options, and the minimal structural shape of a
 * connection pool. They do not mention `pg` or `@types/pg`: a `pg.Pool` (pg >= 8.11) fits
 * {@link PostgresPoolLike} as it is, and a project without `@types/pg` still compiles.
 */

/**
 * Type parsers of one query, as pg takes them in a query's `types` field: the adapter passes its
 * own (every column read as its text form), so parsers that the application set globally with
 * `pg.types.setTypeParser` never change what the adapter reads.
 */
export interface PostgresTypeParsers {
  /** The parser of a column of type `oid` in `format` (`'text'` or `'binary'`). */
  getTypeParser(oid: number, format?: string): (value: string) => unknown;
}

/** A query as the adapter sends it: parameters, rows as arrays, the adapter's type parsers. */
export interface PostgresQueryConfig {
  /** SQL text with `$1`, `$2`, … placeholders. */
  readonly text: string;
  /** The parameter values (strings, numbers, arrays of strings, or `null`). */
  readonly values: unknown[];
  /** Name of the prepared statement (pg prepares it once per connection). */
  readonly name?: string;
  /** Rows are returned as arrays of column values. */
  readonly rowMode: 'array';
  /** The adapter's type parsers. */
  readonly types: PostgresTypeParsers;
}

/** What a query resolves with (the fields the adapter reads). */
export interface PostgresQueryResultLike {
  /** The rows; with `rowMode: 'array'` each row is an array of column values. */
  readonly rows: unknown[];
}

/**
 * An object pg runs through `client.query(submittable)` (pg's documented Submittable interface):
 * the adapter's write scripts and their `COPY … FROM STDIN` streams.
 */
export interface PostgresSubmittable {
  /** Called by pg with its connection when the query is sent. */
  submit(connection: object): unknown;
}

/** One connection checked out of a {@link PostgresPoolLike} (a `pg.PoolClient`). */
export interface PostgresClientLike {
  /** Runs one query. */
  query(config: PostgresQueryConfig): Promise<PostgresQueryResultLike>;
  /** Runs a submittable (a write script); the adapter awaits it through its own promise. */
  query<T extends PostgresSubmittable>(submittable: T): T;
  /** Returns the connection to the pool; `true` or an error destroys it instead. */
  release(destroy?: boolean | Error): void;
  /**
   * Listens for errors of the connection (pg emits `'error'` on a checked-out client whose socket
   * breaks; without a listener Node would crash the process). Used while the adapter holds it.
   */
  on?(event: 'error', listener: (error: Error) => void): unknown;
  /** Removes a listener added with `on`. */
  removeListener?(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * The connection pool the adapter uses: `pg.Pool` (pg >= 8.11) fits as it is. Connections must
 * speak the text protocol (not pg's `binary: true` mode) and must not be in pipeline mode.
 */
export interface PostgresPoolLike {
  /** Checks a connection out of the pool. */
  connect(): Promise<PostgresClientLike>;
  /** Closes every connection of the pool. */
  end(): Promise<void>;
}

/**
 * What `timescale` does with the points table: `'off'` leaves it a plain table; `'auto'` makes
 * it a TimescaleDB hypertable when the `timescaledb` extension is available in the database (and
 * stays a plain table otherwise); `'require'` fails with `STORAGE_DEPENDENCY_MISSING` when it is
 * not.
 */
export type PostgresTimescaleMode = 'off' | 'auto' | 'require';

/** Options of `openPostgresStorage`. Exactly one of `pool` and `connectionString` is required. */
export interface PostgresStorageOptions {
  /**
   * An existing pool to use (e.g. your application's `pg.Pool`). The adapter checks connections
   * out and returns them; `close()` never ends a pool it was given.
   * @default undefined
   */
  readonly pool?: PostgresPoolLike | undefined;
  /**
   * A connection string (`postgres://user:password@host:5432/database`); the adapter creates
   * its own `pg.Pool` (loading the optional peer dependency `pg`) and ends it on `close()`.
   * @default undefined
   */
  readonly connectionString?: string | undefined;
  /**
   * Size of the pool the adapter creates from `connectionString` (ignored with `pool`).
   * @default 10
   */
  readonly maxConnections?: number | undefined;
  /**
   * The schema holding the adapter's tables: 1 to 63 characters of `a-z`, `0-9`, `_`, `$`,
   * starting with a letter or `_` (not `pg_`). Created when missing (with `migrate`).
   * @default 'edge_ha'
   */
  readonly schema?: string | undefined;
  /**
   * Create the schema or bring it to this version of edge-ha on open (under an advisory lock, so
   * several processes may open at once). `false` only checks that the schema is at this
   * version, else `STORAGE_SCHEMA`: for deployments where migrations are run separately or the
   * database user may not create tables.
   * @default true
   */
  readonly migrate?: boolean | undefined;
  /**
   * Make the points table a TimescaleDB hypertable (see {@link PostgresTimescaleMode}).
   * @default 'off'
   */
  readonly timescale?: PostgresTimescaleMode | undefined;
  /**
   * From how many points (or events) a write streams its rows with `COPY … FROM STDIN` instead
   * of a multi-row `INSERT … VALUES` in the same round trip; one number for every write. By
   * default `replacePoints` (whose COPY goes straight into the points table) copies from 64
   * points, and `mergePoints`, `appendPoints` and `insertEventsIfAbsent` (whose COPY goes
   * through a temp table) from 256: where COPY became faster in `bench/backfill-postgres.ts`.
   * `Infinity` never uses COPY, `0` always does.
   * @default undefined (64 for replacePoints, 256 for the other writes)
   */
  readonly copyThreshold?: number | undefined;
}

/**
 * `openPostgresStorage`: validates the options, makes or takes the pool, prepares the schema.
 */

import { isEdgeHaError, StorageError } from '../errors.js';
import { PostgresStorageAdapter } from './adapter.js';
import { ConnectFailure, describeError, withConnection } from './connection.js';
import { loadPg } from './load.js';
import { prepareSchema } from './schema.js';
import { assertSchemaName } from './text.js';
import type { PostgresPoolLike, PostgresStorageOptions, PostgresTimescaleMode } from './types.js';

/** Default of {@link PostgresStorageOptions.maxConnections}. */
const DEFAULT_MAX_CONNECTIONS = 10;

function invalidOption(message: string): StorageError {
  return new StorageError('STORAGE_INVALID_OPTIONS', `openPostgresStorage: ${message}`);
}

function isPoolLike(value: unknown): value is PostgresPoolLike {
  const pool = value as { connect?: unknown; end?: unknown } | null;
  return (
    typeof pool === 'object' &&
    pool !== null &&
    typeof pool.connect === 'function' &&
    typeof pool.end === 'function'
  );
}

/** Validated options. */
interface ResolvedOptions {
  readonly schema: string;
  readonly migrate: boolean;
  readonly timescale: PostgresTimescaleMode;
  readonly copyThreshold: number | undefined;
  readonly maxConnections: number;
}

function resolveOptions(options: PostgresStorageOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw invalidOption(
      `options must be an object with pool or connectionString, got ${String(options)}.`,
    );
  }
  const hasPool = options.pool !== undefined;
  const hasUrl = options.connectionString !== undefined;
  if (hasPool === hasUrl) {
    throw invalidOption(
      hasPool
        ? 'give either pool or connectionString, not both.'
        : 'give a pool (e.g. a pg.Pool) or a connectionString.',
    );
  }
  if (hasPool && !isPoolLike(options.pool)) {
    throw invalidOption('pool must be a connection pool with connect() and end(), e.g. a pg.Pool.');
  }
  if (hasUrl && (typeof options.connectionString !== 'string' || options.connectionString === '')) {
    throw invalidOption('connectionString must be a non-empty string (postgres://…).');
  }
  const schema = options.schema ?? 'edge_ha';
  assertSchemaName(schema);
  const migrate = options.migrate ?? true;
  if (typeof migrate !== 'boolean') {
    throw invalidOption(`migrate must be true or false, got ${String(migrate)}.`);
  }
  const timescale = options.timescale ?? 'off';
  if (timescale !== 'off' && timescale !== 'auto' && timescale !== 'require') {
    throw invalidOption(
      `timescale must be 'off', 'auto' or 'require', got ${JSON.stringify(timescale)}.`,
    );
  }
  const copyThreshold = options.copyThreshold;
  if (
    copyThreshold !== undefined &&
    (typeof copyThreshold !== 'number' ||
      Number.isNaN(copyThreshold) ||
      copyThreshold < 0 ||
      (Number.isFinite(copyThreshold) && !Number.isInteger(copyThreshold)))
  ) {
    throw invalidOption(
      `copyThreshold must be a non-negative integer or Infinity, got ${String(copyThreshold)}.`,
    );
  }
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw invalidOption(
      `maxConnections must be a positive integer, got ${String(maxConnections)}.`,
    );
  }
  return { schema, migrate, timescale, copyThreshold, maxConnections };
}

/**
 * Opens a PostgreSQL storage: connects (with your `pool`, or a pool of its own built from
 * `connectionString`, loading the optional peer dependency `pg`), creates or migrates the
 * schema (versioned in `<schema>.schema_migrations`, under an advisory lock so concurrent opens
 * are safe), applies the `timescale` option and returns the adapter.
 *
 * @throws {StorageError} `STORAGE_INVALID_OPTIONS` for invalid options (both or neither of
 *   `pool` and `connectionString`, a bad schema name, …); `STORAGE_DEPENDENCY_MISSING` when
 *   `pg` is not installed (only needed with `connectionString`) or `timescale: 'require'` finds
 *   no TimescaleDB; `STORAGE_SCHEMA` when the schema was written by a newer edge-ha, or is not at
 *   this version with `migrate: false`; `STORAGE_BACKEND` when the server cannot be reached or
 *   refuses (authentication, permissions, …).
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * import { openPostgresStorage } from 'edge-ha/postgres';
 *
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * const storage = await openPostgresStorage({ pool, schema: 'plant_a' });
 * try {
 *   await storage.registerItems(['plant/temp']);
 * } finally {
 *   await storage.close(); // the pool stays open: it is yours
 *   await pool.end();
 * }
 * ```
 */
export async function openPostgresStorage(
  options: PostgresStorageOptions,
): Promise<PostgresStorageAdapter> {
  return openWith(options, loadPg);
}

/**
 * {@link openPostgresStorage} with the loader of `pg` injected (tests).
 * @internal
 */
export async function openWith(
  options: PostgresStorageOptions,
  load: typeof loadPg,
): Promise<PostgresStorageAdapter> {
  const resolved = resolveOptions(options);
  let pool: PostgresPoolLike;
  let owns = false;
  if (options.pool !== undefined) {
    pool = options.pool;
  } else {
    const { Pool } = load();
    const own = new Pool({
      connectionString: options.connectionString as string,
      max: resolved.maxConnections,
      // The name in pg_stat_activity, unless the connection string or PGAPPNAME names one.
      fallback_application_name: 'edge-ha',
    });
    // An idle connection that breaks emits 'error' on the pool; pg then drops it. Without a
    // listener Node would crash the process.
    own.on('error', () => undefined);
    pool = own;
    owns = true;
  }
  try {
    let prepared: Awaited<ReturnType<typeof prepareSchema>>;
    try {
      prepared = await withConnection(pool, (client) =>
        prepareSchema(client, resolved.schema, resolved),
      );
    } catch (error) {
      if (isEdgeHaError(error)) throw error;
      throw new StorageError(
        'STORAGE_BACKEND',
        error instanceof ConnectFailure
          ? `openPostgresStorage cannot connect to PostgreSQL: ${describeError(error.cause)}`
          : `openPostgresStorage cannot prepare schema "${resolved.schema}": ${describeError(error)}`,
        { cause: error instanceof ConnectFailure ? error.cause : error },
      );
    }
    return new PostgresStorageAdapter(
      pool,
      owns,
      resolved.schema,
      prepared.hypertable,
      resolved.copyThreshold,
    );
  } catch (error) {
    if (owns) await pool.end().catch(() => undefined);
    throw error;
  }
}

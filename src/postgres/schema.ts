/**
 * The PostgreSQL schema of the adapter, versioned in `<schema>.schema_migrations`: step `i` of
 * {@link migrationSteps} moves a schema from version `i` to `i + 1`. Never edit a released step;
 * append a new one. Migrations run in one transaction under an advisory lock on the schema name,
 * so processes opening the same schema at once apply each step exactly once.
 *
 * @internal
 */

import { createHash } from 'node:crypto';
import { StorageError } from '../errors.js';
import { quoteIdentifier, quoteLiteral } from './text.js';
import type { PostgresClientLike, PostgresTimescaleMode, PostgresTypeParsers } from './types.js';

/** One migration step. */
interface Migration {
  /** What the step does, stored in `schema_migrations.description`. */
  readonly description: string;
  /** The SQL of the step for the quoted schema name `s`. */
  readonly sql: (s: string) => string;
}

/** The migration steps; the schema version is their number. */
const MIGRATIONS: readonly Migration[] = [
  {
    description: 'items, points, events, sync_state',
    sql: (s) => `
      -- Item ids and sync-state keys may be longer than a btree entry (2704 bytes) can hold:
      -- they are unique by the SHA-256 of their UTF-8 form, computed by the adapter.
      CREATE TABLE ${s}.items (
        id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        item text COLLATE "C" NOT NULL,
        item_hash bytea NOT NULL CONSTRAINT items_item_hash_key UNIQUE
      );
      -- One point per (item, t): a number (vn), a string (vs), a boolean (vb), or none of them
      -- (the value null). q is the optional quality. Rows of items.id only.
      CREATE TABLE ${s}.points (
        item_id integer NOT NULL,
        t bigint NOT NULL,
        vn double precision,
        vs text,
        vb boolean,
        q bigint CONSTRAINT points_q_range CHECK (q BETWEEN 0 AND 4294967295),
        CONSTRAINT points_one_value CHECK (num_nonnulls(vn, vs, vb) <= 1),
        PRIMARY KEY (item_id, t)
      );
      -- body is the event's JSON text as written (text, not jsonb: key order and numbers kept).
      CREATE TABLE ${s}.events (
        t bigint NOT NULL,
        id text COLLATE "C" NOT NULL,
        body text NOT NULL,
        PRIMARY KEY (t, id),
        CONSTRAINT events_id_key UNIQUE (id)
      );
      CREATE TABLE ${s}.sync_state (
        key_hash bytea NOT NULL PRIMARY KEY,
        key text COLLATE "C" NOT NULL,
        state text NOT NULL
      );`,
  },
];

/** The schema version this code writes. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

/** Chunk interval of the points hypertable: 7 days in ms (the unit of `t`). */
const CHUNK_INTERVAL_MS = 7 * 24 * 3600 * 1000;

/** Every column read as its text form (`null` stays `null`). */
export const TEXT_PARSERS: PostgresTypeParsers = Object.freeze({
  getTypeParser: () => (value: string) => value,
});

/**
 * The key of the advisory lock that serialises migrations of `schema` (the single-`bigint` key
 * space, disjoint from the two-`integer` keys of the per-item write locks).
 */
export function migrationLockKey(schema: string): string {
  return createHash('sha256')
    .update(`edge-ha.postgres.migrate\u0000${schema}`)
    .digest()
    .readBigInt64BE(0)
    .toString();
}

/**
 * The first key of the per-item write locks of `schema` (a signed 32-bit integer; the second
 * is the item's `items.id`).
 */
export function itemLockSpace(schema: string): number {
  return createHash('sha256')
    .update(`edge-ha.postgres.items\u0000${schema}`)
    .digest()
    .readInt32BE(0);
}

async function rows(
  client: PostgresClientLike,
  text: string,
  values: unknown[] = [],
): Promise<(string | null)[][]> {
  const result = await client.query({ text, values, rowMode: 'array', types: TEXT_PARSERS });
  return result.rows as (string | null)[][];
}

async function exec(client: PostgresClientLike, text: string): Promise<void> {
  await client.query({ text, values: [], rowMode: 'array', types: TEXT_PARSERS });
}

/** The version stored in `schema`, 0 when it has no migrations table, `null` when the schema is missing. */
async function storedVersion(client: PostgresClientLike, schema: string): Promise<number | null> {
  const [row] = await rows(
    client,
    `SELECT n.oid IS NOT NULL, to_regclass($2) IS NOT NULL
       FROM (SELECT 1) one LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = $1`,
    [schema, `${quoteIdentifier(schema)}.schema_migrations`],
  );
  if (row?.[0] !== 't') return null;
  if (row[1] !== 't') return 0;
  const [version] = await rows(
    client,
    `SELECT coalesce(max(version), 0) FROM ${quoteIdentifier(schema)}.schema_migrations`,
  );
  return Number(version?.[0] ?? 0);
}

function newerError(schema: string, version: number): StorageError {
  return new StorageError(
    'STORAGE_SCHEMA',
    `The PostgreSQL schema "${schema}" has version ${version}, newer than ${SCHEMA_VERSION} understood by this edge-ha; upgrade edge-ha or use another schema.`,
  );
}

/** What {@link prepareSchema} found or made. */
export interface PreparedSchema {
  /** Whether the points table is a TimescaleDB hypertable. */
  readonly hypertable: boolean;
}

/** Whether the points table of `schema` is a hypertable (false without TimescaleDB). */
async function isHypertable(client: PostgresClientLike, schema: string): Promise<boolean> {
  const [row] = await rows(
    client,
    `SELECT to_regclass('timescaledb_information.hypertables') IS NOT NULL`,
  );
  if (row?.[0] !== 't') return false;
  const [found] = await rows(
    client,
    `SELECT count(*) FROM timescaledb_information.hypertables
      WHERE hypertable_schema = $1 AND hypertable_name = 'points'`,
    [schema],
  );
  return Number(found?.[0] ?? 0) > 0;
}

/**
 * Makes the points table a hypertable when TimescaleDB can be had (`mode` `'auto'` or
 * `'require'`), inside the migration transaction (a failed attempt is undone by a savepoint).
 * `'require'` without TimescaleDB throws `STORAGE_DEPENDENCY_MISSING`.
 */
async function applyTimescale(
  client: PostgresClientLike,
  schema: string,
  mode: PostgresTimescaleMode,
): Promise<boolean> {
  if (mode === 'off') return false;
  if (await isHypertable(client, schema)) return true;
  const [available] = await rows(
    client,
    `SELECT count(*) FROM pg_catalog.pg_available_extensions WHERE name = 'timescaledb'`,
  );
  let failure = 'the timescaledb extension is not available on this server';
  if (Number(available?.[0] ?? 0) > 0) {
    await exec(client, 'SAVEPOINT edge_ha_timescale');
    try {
      await exec(client, 'CREATE EXTENSION IF NOT EXISTS timescaledb');
      await rows(
        client,
        `SELECT create_hypertable($1::regclass, 't', chunk_time_interval => ${CHUNK_INTERVAL_MS}::bigint, migrate_data => true, if_not_exists => true)`,
        [`${quoteIdentifier(schema)}.points`],
      );
      await exec(client, 'RELEASE SAVEPOINT edge_ha_timescale');
      return true;
    } catch (error) {
      await exec(client, 'ROLLBACK TO SAVEPOINT edge_ha_timescale');
      failure = `the timescaledb extension could not be used: ${(error as Error)?.message ?? String(error)}`;
    }
  }
  if (mode === 'require') {
    throw new StorageError(
      'STORAGE_DEPENDENCY_MISSING',
      `timescale: 'require' needs TimescaleDB, but ${failure}. Install TimescaleDB (and add it to shared_preload_libraries), or use timescale: 'auto' or 'off'.`,
    );
  }
  return false;
}

/**
 * Brings `schema` to {@link SCHEMA_VERSION} (creating it when missing) and applies `timescale`,
 * in one transaction under the migration advisory lock. With `migrate: false` it only checks
 * the version. A schema written by a newer edge-ha fails with `STORAGE_SCHEMA` and is not touched.
 */
export async function prepareSchema(
  client: PostgresClientLike,
  schema: string,
  options: { readonly migrate: boolean; readonly timescale: PostgresTimescaleMode },
): Promise<PreparedSchema> {
  const s = quoteIdentifier(schema);
  if (!options.migrate) {
    const version = await storedVersion(client, schema);
    if (version !== null && version > SCHEMA_VERSION) throw newerError(schema, version);
    if (version !== SCHEMA_VERSION) {
      throw new StorageError(
        'STORAGE_SCHEMA',
        version === null || version === 0
          ? `The PostgreSQL schema "${schema}" has no edge-ha tables, and migrate: false forbids creating them; open it once with migrate: true (the default).`
          : `The PostgreSQL schema "${schema}" has version ${version}, older than ${SCHEMA_VERSION}, and migrate: false forbids migrating it; open it once with migrate: true (the default).`,
      );
    }
    const hypertable = await isHypertable(client, schema);
    if (options.timescale === 'require' && !hypertable) {
      throw new StorageError(
        'STORAGE_DEPENDENCY_MISSING',
        `timescale: 'require' needs the points table of "${schema}" to be a TimescaleDB hypertable, and migrate: false forbids converting it; open it once with migrate: true.`,
      );
    }
    return { hypertable };
  }
  await exec(client, 'BEGIN');
  try {
    await exec(client, `SELECT pg_advisory_xact_lock(${migrationLockKey(schema)})`);
    let version = await storedVersion(client, schema);
    if (version !== null && version > SCHEMA_VERSION) throw newerError(schema, version);
    if (version === null) {
      await exec(client, `CREATE SCHEMA ${s}`);
      version = 0;
    }
    if (version < SCHEMA_VERSION) {
      await exec(
        client,
        `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
           version integer NOT NULL PRIMARY KEY,
           description text NOT NULL,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
    }
    for (let step = version; step < SCHEMA_VERSION; step++) {
      const migration = MIGRATIONS[step] as Migration;
      await exec(client, migration.sql(s));
      await exec(
        client,
        `INSERT INTO ${s}.schema_migrations (version, description) VALUES (${step + 1}, ${quoteLiteral(migration.description)})`,
      );
    }
    const hypertable = await applyTimescale(client, schema, options.timescale);
    await exec(client, 'COMMIT');
    return { hypertable };
  } catch (error) {
    try {
      await exec(client, 'ROLLBACK');
    } catch (rollback) {
      // Not a statement error: the caller destroys the connection instead of reusing it.
      throw new Error(
        `${(error as Error)?.message ?? String(error)}; the rollback failed too: ${(rollback as Error)?.message ?? String(rollback)}`,
        { cause: error },
      );
    }
    throw error;
  }
}

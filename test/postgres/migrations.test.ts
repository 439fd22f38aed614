/**
 * The schema of `edge-ha/postgres`: versioned migrations on a fresh schema, reopen, concurrent
 * opens, a schema newer than the code, `migrate: false`, a pre-created schema for a user who may
 * not create schemas, and the `timescale` option (TimescaleDB is asserted when the server has it,
 * the fallback and the coded error when it has not).
 */

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { isEdgeHaError, type StorageError } from '../../src/errors.js';
import { openPostgresStorage, type PostgresStorageAdapter } from '../../src/postgres/index.js';
import { SCHEMA_VERSION } from '../../src/postgres/schema.js';
import { dropSchema, postgresUrl, testPool } from './helpers.js';

const ALL = { from: 0, to: 1_000_000 };
const pool = testPool(4);
const schemas: string[] = [];
const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const schema of schemas.splice(0)) await dropSchema(pool, schema);
});
afterAll(() => pool.end());

function freshSchema(): string {
  const schema = `mig_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
  schemas.push(schema);
  return schema;
}

async function rows(text: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  return (await pool.query(text, values)).rows as Record<string, unknown>[];
}

async function failure(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (error) {
    expect(isEdgeHaError(error), String(error)).toBe(true);
    return error as StorageError;
  }
  throw new Error('expected a rejection');
}

async function schemaExists(schema: string): Promise<boolean> {
  return (await rows('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).length > 0;
}

async function migrations(schema: string): Promise<Record<string, unknown>[]> {
  return rows(
    `SELECT version, description, applied_at FROM "${schema}".schema_migrations ORDER BY version`,
  );
}

describe('migrations', () => {
  test('a fresh schema is created at the current version with every table', async () => {
    const schema = freshSchema();
    const adapter = await openPostgresStorage({ pool, schema });
    await adapter.close();
    const applied = await migrations(schema);
    expect(applied.map((row) => row.version)).toEqual(
      Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
    );
    expect(applied[0]?.description).toBe('items, points, events, sync_state');
    const tables = await rows(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name`,
      [schema],
    );
    expect(tables.map((row) => row.table_name)).toEqual([
      'events',
      'items',
      'points',
      'schema_migrations',
      'sync_state',
    ]);
    const collations = await rows(
      `SELECT table_name, column_name, collation_name FROM information_schema.columns
        WHERE table_schema = $1 AND data_type = 'text' AND column_name IN ('item', 'id', 'key') ORDER BY table_name`,
      [schema],
    );
    expect(collations.map((row) => [row.table_name, row.column_name, row.collation_name])).toEqual([
      ['events', 'id', 'C'],
      ['items', 'item', 'C'],
      ['sync_state', 'key', 'C'],
    ]);
  });

  test('reopening keeps the data and applies nothing again', async () => {
    const schema = freshSchema();
    const first = await openPostgresStorage({ pool, schema });
    await first.appendPoints('a', [{ t: 1, v: 1 }]);
    await first.close();
    const before = await migrations(schema);
    const again = await openPostgresStorage({ pool, schema });
    expect((await again.readPoints('a', ALL, { limit: 5 })).items).toEqual([{ t: 1, v: 1 }]);
    await again.close();
    expect(await migrations(schema)).toEqual(before);
  });

  test('processes opening a new schema at once apply each step exactly once', async () => {
    const schema = freshSchema();
    // Separate pools: separate sessions, as separate processes would have.
    const opens = Array.from({ length: 8 }, (_, i) =>
      openPostgresStorage({ connectionString: postgresUrl(), schema, maxConnections: 1 }).then(
        async (adapter) => {
          await adapter.appendPoints(`item-${i}`, [{ t: i, v: i }]);
          return adapter;
        },
      ),
    );
    const results = await Promise.allSettled(opens);
    const adapters = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    for (const adapter of adapters) cleanups.push(() => adapter.close());
    expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
    expect((await migrations(schema)).map((row) => row.version)).toEqual(
      Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1),
    );
    expect(await (adapters[0] as PostgresStorageAdapter).listItems()).toHaveLength(8);
  });

  test('a schema written by a newer edge-ha is refused with STORAGE_SCHEMA and left alone', async () => {
    const schema = freshSchema();
    const adapter = await openPostgresStorage({ pool, schema });
    await adapter.appendPoints('a', [{ t: 1, v: 'kept' }]);
    await adapter.close();
    const newer = SCHEMA_VERSION + 1;
    await rows(
      `INSERT INTO "${schema}".schema_migrations (version, description) VALUES ($1, 'from the future')`,
      [newer],
    );
    for (const migrate of [true, false]) {
      const error = await failure(openPostgresStorage({ pool, schema, migrate }));
      expect(error.code).toBe('STORAGE_SCHEMA');
      expect(error.message).toContain(`version ${newer}, newer than ${SCHEMA_VERSION}`);
    }
    expect(
      await rows(
        `SELECT i.item, p.vs FROM "${schema}".points p JOIN "${schema}".items i ON i.id = p.item_id`,
      ),
    ).toEqual([{ item: 'a', vs: 'kept' }]);
    expect(await migrations(schema)).toHaveLength(newer);
  });

  test('migrate: false opens a current schema and refuses a missing one without creating it', async () => {
    const schema = freshSchema();
    const error = await failure(openPostgresStorage({ pool, schema, migrate: false }));
    expect(error.code).toBe('STORAGE_SCHEMA');
    expect(error.message).toContain('migrate: true');
    expect(await schemaExists(schema)).toBe(false);
    // A schema that exists but has no edge-ha tables is refused too.
    await rows(`CREATE SCHEMA "${schema}"`);
    expect((await failure(openPostgresStorage({ pool, schema, migrate: false }))).code).toBe(
      'STORAGE_SCHEMA',
    );
    await (await openPostgresStorage({ pool, schema })).close();
    const adapter = await openPostgresStorage({ pool, schema, migrate: false });
    await adapter.writeSyncState('k', { ok: true });
    expect(await adapter.readSyncState('k')).toEqual({ ok: true });
    await adapter.close();
  });

  test('a user who may not create schemas migrates a schema created for them', async () => {
    const schema = freshSchema();
    const role = `edge_ha_user_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
    await rows(`CREATE ROLE "${role}" LOGIN PASSWORD 'limited'`);
    cleanups.push(() => rows(`DROP ROLE IF EXISTS "${role}"`));
    cleanups.push(() => rows(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
    await rows(`CREATE SCHEMA "${schema}" AUTHORIZATION "${role}"`);
    const url = new URL(postgresUrl());
    url.username = role;
    url.password = 'limited';
    const limited = new pg.Pool({ connectionString: url.href, max: 2 });
    cleanups.push(() => limited.end());
    // The premise: this user cannot create a schema of its own.
    await expect(limited.query(`CREATE SCHEMA "${schema}_x"`)).rejects.toThrow(/permission/);
    const adapter = await openPostgresStorage({ pool: limited, schema });
    await adapter.mergePoints(
      'a',
      { from: 0, to: 1000 },
      Array.from({ length: 300 }, (_, t) => ({ t, v: t })),
    );
    expect((await adapter.readPoints('a', ALL, { limit: 1000 })).items).toHaveLength(300);
    await adapter.close();
  });
});

describe('timescale', () => {
  async function timescaleAvailable(): Promise<boolean> {
    const [row] = await rows(
      `SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'timescaledb'`,
    );
    return (row?.n as number) > 0;
  }

  async function isHypertable(schema: string): Promise<boolean> {
    const [view] = await rows(
      `SELECT to_regclass('timescaledb_information.hypertables') IS NOT NULL AS present`,
    );
    if (view?.present !== true) return false;
    const found = await rows(
      `SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_schema = $1 AND hypertable_name = 'points'`,
      [schema],
    );
    return found.length > 0;
  }

  test("'require' gives a hypertable with TimescaleDB, else STORAGE_DEPENDENCY_MISSING and nothing created", async () => {
    const schema = freshSchema();
    const available = await timescaleAvailable();
    const opened = await openPostgresStorage({ pool, schema, timescale: 'require' }).catch(
      (error: unknown) => error as StorageError,
    );
    if (opened instanceof Error) {
      expect(isEdgeHaError(opened, 'STORAGE_DEPENDENCY_MISSING'), String(opened)).toBe(true);
      expect(opened.message).toContain(
        available ? 'could not be used' : 'not available on this server',
      );
      expect(await schemaExists(schema)).toBe(false);
    } else {
      expect(available).toBe(true);
      expect(opened.hypertable).toBe(true);
      expect(await isHypertable(schema)).toBe(true);
      await opened.close();
    }
  });

  test("'auto' makes a hypertable exactly when TimescaleDB is usable, else a plain table that works", async () => {
    const probe = freshSchema();
    const usable = await openPostgresStorage({ pool, schema: probe, timescale: 'require' }).then(
      async (adapter) => {
        await adapter.close();
        return true;
      },
      () => false,
    );
    if (!(await timescaleAvailable())) expect(usable).toBe(false);
    const schema = freshSchema();
    const adapter = await openPostgresStorage({ pool, schema, timescale: 'auto' });
    expect(adapter.hypertable).toBe(usable);
    expect(await isHypertable(schema)).toBe(usable);
    await adapter.replacePoints('a', { from: 0, to: 10 }, [{ t: 3, v: 'x' }]);
    expect((await adapter.readPoints('a', ALL, { limit: 5 })).items).toEqual([{ t: 3, v: 'x' }]);
    await adapter.close();
    const plain = await openPostgresStorage({ pool, schema: freshSchema() });
    expect(plain.hypertable).toBe(false);
    await plain.close();
  });

  test("'require' with migrate: false refuses a plain points table", async () => {
    const schema = freshSchema();
    await (await openPostgresStorage({ pool, schema })).close();
    const error = await failure(
      openPostgresStorage({ pool, schema, migrate: false, timescale: 'require' }),
    );
    expect(error.code).toBe('STORAGE_DEPENDENCY_MISSING');
    const auto = await openPostgresStorage({ pool, schema, migrate: false, timescale: 'auto' });
    expect(auto.hypertable).toBe(false);
    await auto.close();
  });
});

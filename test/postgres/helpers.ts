/**
 * Shared pieces of the PostgreSQL tests: the server of the run (`inject('postgresUrl')`, see
 * test/support/postgres-server.ts), one pool per test file, schema names per test key.
 */

import { createHash } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** Connection string of the run's PostgreSQL server. */
export function postgresUrl(): string {
  return inject('postgresUrl');
}

/** A pool on the run's server (end it in `afterAll`). */
export function testPool(max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: postgresUrl(), max });
  pool.on('error', () => undefined);
  return pool;
}

/**
 * A schema name for `key` (unique per test): `prefix` and a hash of the key, well under the
 * 63-byte identifier limit however long the key is.
 */
export function schemaFor(key: string, prefix = 't'): string {
  return `${prefix}_${createHash('sha256').update(key).digest('hex').slice(0, 24)}`;
}

/** Drops `schema` and everything in it. */
export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/**
 * Type tests of `edge-ha/postgres`: a real `pg.Pool` (and its clients) fit the structural types,
 * so callers pass their pool without casts, and the options reject what they should.
 */

import pg from 'pg';
import { expectTypeOf, test } from 'vitest';
import {
  openPostgresStorage,
  type PostgresClientLike,
  type PostgresPoolLike,
  type PostgresStorageAdapter,
  type PostgresStorageOptions,
} from '../../src/postgres/index.js';
import type { StorageAdapter } from '../../src/storage/types.js';

test('a pg.Pool is a PostgresPoolLike, a pg.PoolClient a PostgresClientLike', () => {
  expectTypeOf<pg.Pool>().toExtend<PostgresPoolLike>();
  expectTypeOf<pg.PoolClient>().toExtend<PostgresClientLike>();
  const pool = new pg.Pool();
  const options: PostgresStorageOptions = { pool, schema: 'plant' };
  expectTypeOf(openPostgresStorage(options)).toEqualTypeOf<Promise<PostgresStorageAdapter>>();
});

test('the adapter is a StorageAdapter and AsyncDisposable', () => {
  expectTypeOf<PostgresStorageAdapter>().toExtend<StorageAdapter>();
  expectTypeOf<PostgresStorageAdapter>().toExtend<AsyncDisposable>();
  expectTypeOf<PostgresStorageAdapter['hypertable']>().toEqualTypeOf<boolean>();
});

test('options: timescale is one of three modes; a pool needs connect and end', () => {
  expectTypeOf<PostgresStorageOptions['timescale']>().toEqualTypeOf<
    'off' | 'auto' | 'require' | undefined
  >();
  // @ts-expect-error: not a timescale mode
  const bad: PostgresStorageOptions = { connectionString: 'postgres://x', timescale: 'on' };
  // @ts-expect-error: a pool without end()
  const noEnd: PostgresStorageOptions = { pool: { connect: new pg.Pool().connect } };
  expectTypeOf(bad).toExtend<object>();
  expectTypeOf(noEnd).toExtend<object>();
});

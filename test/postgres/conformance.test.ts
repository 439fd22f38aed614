import { afterAll, describe, test } from 'vitest';
import { openPostgresStorage } from '../../src/postgres/index.js';
import { runStorageAdapterSuite } from '../../src/testing/index.js';
import { dropSchema, schemaFor, testPool } from './helpers.js';

const pool = testPool(8);
afterAll(() => pool.end());

const capabilities = {
  persistent: true,
  atomicReplace: true,
  atomicInsert: true,
  multiProcess: true,
} as const;

// The default thresholds: the suite's small batches take the INSERT … VALUES path.
runStorageAdapterSuite({
  test,
  describe,
  factory: ({ key }) => openPostgresStorage({ pool, schema: schemaFor(key, 'conf') }),
  teardown: ({ key }) => dropSchema(pool, schemaFor(key, 'conf')),
  capabilities,
  seed: Number(process.env.EDGE_HA_SEED ?? 20_240_601),
  modelBased: { runs: Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 20) },
  name: 'PostgresStorageAdapter conformance',
});

// copyThreshold 0: every write streams its rows with COPY, so the COPY paths meet the contract too.
runStorageAdapterSuite({
  test,
  describe,
  factory: ({ key }) =>
    openPostgresStorage({ pool, schema: schemaFor(key, 'copy'), copyThreshold: 0 }),
  teardown: ({ key }) => dropSchema(pool, schemaFor(key, 'copy')),
  capabilities,
  seed: Number(process.env.EDGE_HA_SEED ?? 20_240_602),
  modelBased: { runs: Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 20) },
  largePage: 20_000,
  name: 'PostgresStorageAdapter conformance (every write through COPY)',
});

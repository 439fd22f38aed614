import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, test } from 'vitest';
import { openSqliteStorage } from '../../src/sqlite/index.js';
import { runStorageAdapterSuite } from '../../src/testing/index.js';

const dir = mkdtempSync(join(tmpdir(), 'edge-ha-sqlite-suite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (key: string): string => join(dir, `${key}.db`);

runStorageAdapterSuite({
  test,
  describe,
  factory: ({ key }) => openSqliteStorage(file(key)),
  teardown: ({ key }) => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(file(key) + suffix, { force: true });
  },
  capabilities: { persistent: true, atomicReplace: true, atomicInsert: true, multiProcess: true },
  seed: Number(process.env.EDGE_HA_SEED ?? 20_240_601),
  modelBased: { runs: Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 30) },
  name: 'SqliteStorageAdapter conformance',
});

// Every page of more than two records read in chunks on the reader connection, yielding to the
// event loop between chunks: the contract must hold whichever way a page is read.
runStorageAdapterSuite({
  test,
  describe,
  factory: ({ key }) => openSqliteStorage(file(`chunked-${key}`), { readChunkRows: 2 }),
  teardown: ({ key }) => {
    for (const suffix of ['', '-wal', '-shm'])
      rmSync(file(`chunked-${key}`) + suffix, { force: true });
  },
  capabilities: { persistent: true, atomicReplace: true, atomicInsert: true, multiProcess: true },
  seed: Number(process.env.EDGE_HA_SEED ?? 20_240_601),
  modelBased: { runs: Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 30) },
  name: 'SqliteStorageAdapter conformance, pages read in chunks of 2 rows',
});

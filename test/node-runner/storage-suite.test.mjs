// Runs the storage conformance suite under node:test against the BUILT package, imported by name
// the way a consumer does (package self-reference). Run after `npm run build`:
//   node --test test/node-runner/
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { MemoryStorageAdapter } from 'edge-ha';
import { openSqliteStorage } from 'edge-ha/sqlite';
import { runStorageAdapterSuite } from 'edge-ha/testing';

const runs = Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 20);
const seed = Number(process.env.EDGE_HA_SEED ?? 7);

runStorageAdapterSuite({
  test,
  describe,
  name: 'MemoryStorageAdapter (node:test, dist)',
  factory: () => new MemoryStorageAdapter(),
  capabilities: { persistent: false },
  seed,
  modelBased: { runs },
});

const dir = mkdtempSync(join(tmpdir(), 'edge-ha-node-runner-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (key) => join(dir, `${key}.db`);

runStorageAdapterSuite({
  test,
  describe,
  name: 'SqliteStorageAdapter (node:test, dist)',
  factory: ({ key }) => openSqliteStorage(file(key)),
  teardown: ({ key }) => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(file(key) + suffix, { force: true });
  },
  capabilities: { persistent: true, atomicReplace: true, atomicInsert: true },
  seed,
  modelBased: { runs },
});

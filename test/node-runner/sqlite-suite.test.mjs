// Runs the storage conformance suite under node:test against the BUILT SQLite adapter, imported by
// name the way a consumer does. Node 20 only in CI: better-sqlite3 is compiled for the Node that
// ran `npm ci`. The memory adapter's run is in test/smoke/ (every supported Node).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openSqliteStorage } from 'edge-ha/sqlite';
import { runStorageAdapterSuite } from 'edge-ha/testing';

const runs = Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 20);
const seed = Number(process.env.EDGE_HA_SEED ?? 7);

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

// Runs the storage conformance suite under node:test against the BUILT memory adapter, imported by
// name the way a consumer does (package self-reference). Runs on every supported Node major.
import { describe, test } from 'node:test';
import { MemoryStorageAdapter } from 'edge-ha';
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

import { describe, test } from 'vitest';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import { runStorageAdapterSuite } from '../../src/testing/index.js';

runStorageAdapterSuite({
  test,
  describe,
  factory: () => new MemoryStorageAdapter(),
  capabilities: { persistent: false, atomicReplace: true, atomicInsert: true, multiProcess: false },
  seed: Number(process.env.EDGE_HA_SEED ?? 20_240_601),
  modelBased: { runs: Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 50) },
  name: 'MemoryStorageAdapter conformance',
});

import { describe, expect, test } from 'vitest';
import { isEdgeHaError } from '../../src/errors.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { StorageAdapter, SyncWriteOptions } from '../../src/storage/types.js';
import {
  FAULTY_STORAGE_OPERATIONS,
  faultyStorage,
  isInjectedFault,
  runStorageAdapterSuite,
} from '../../src/testing/index.js';

const ALL = { from: 0, to: 100 };

describe('faultyStorage without a crash', () => {
  // A transparent wrapper passes the whole contract, the syncState option of every sync write
  // included.
  runStorageAdapterSuite({
    test,
    describe,
    factory: () => faultyStorage(new MemoryStorageAdapter()),
    capabilities: { persistent: false },
    seed: 7,
    modelBased: { runs: 10 },
    largePage: 2_000,
    name: 'faultyStorage(MemoryStorageAdapter) conformance',
  });
});

/** Each sync write, called with a syncState record under `progress`. */
const SYNC_WRITES: readonly {
  readonly method: 'replacePoints' | 'mergePoints' | 'insertEventsIfAbsent';
  readonly call: (storage: StorageAdapter, options: SyncWriteOptions) => Promise<unknown>;
  readonly data: (storage: StorageAdapter) => Promise<unknown[]>;
  readonly written: unknown[];
}[] = [
  {
    method: 'replacePoints',
    call: (s, options) => s.replacePoints('x', ALL, [{ t: 1, v: 1 }], options),
    data: async (s) => [...(await s.readPoints('x', ALL, { limit: 10 })).items],
    written: [{ t: 1, v: 1 }],
  },
  {
    method: 'mergePoints',
    call: (s, options) => s.mergePoints('x', ALL, [{ t: 2, v: 2 }], options),
    data: async (s) => [...(await s.readPoints('x', ALL, { limit: 10 })).items],
    written: [{ t: 2, v: 2 }],
  },
  {
    method: 'insertEventsIfAbsent',
    call: (s, options) => s.insertEventsIfAbsent([{ id: 'e', t: 3, body: null }], options),
    data: async (s) => [...(await s.readEvents(ALL, { limit: 10 })).items],
    written: [{ id: 'e', t: 3, body: null }],
  },
];

describe('faultyStorage and the sync writes', () => {
  test('mergePoints is an operation: counted, logged, in maxBatch, and can crash', async () => {
    expect(FAULTY_STORAGE_OPERATIONS).toContain('mergePoints');
    const storage = faultyStorage(new MemoryStorageAdapter(), {
      crashAt: 2,
      operations: ['mergePoints'],
    });
    await storage.appendPoints('x', [{ t: 1, v: 'a' }]);
    const points = [
      { t: 1, v: 'b' },
      { t: 2, v: 'b' },
      { t: 3, v: 'b' },
    ];
    expect(await storage.mergePoints('x', ALL, points)).toBe(2);
    expect(storage.log).toEqual(['mergePoints']);
    expect(storage.maxBatch).toBe(3);
    await expect(storage.mergePoints('x', ALL, [])).rejects.toSatisfy(isInjectedFault);
    expect(storage.crashed).toEqual({ call: 2, operation: 'mergePoints', mode: 'before' });
  });

  test.each(SYNC_WRITES)(
    '$method: a crash before the commit stores neither data nor record; after, both',
    async ({ method, call, data, written }) => {
      for (const mode of ['before', 'after'] as const) {
        const inner = new MemoryStorageAdapter();
        const storage = faultyStorage(inner, { crashAt: 1, mode });
        const value = { v: 1, through: 10 };
        const error = await call(storage, { syncState: { key: 'progress', value } }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(isEdgeHaError(error, 'STORAGE_BACKEND') && isInjectedFault(error)).toBe(true);
        expect(storage.crashed).toEqual({ call: 1, operation: method, mode });
        expect(await data(inner)).toEqual(mode === 'after' ? written : []);
        expect(await inner.readSyncState('progress')).toEqual(mode === 'after' ? value : undefined);
      }
    },
  );
});

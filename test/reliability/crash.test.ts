/**
 * Crash sweep (SPEC §6 I5): a representative governor start-up sync, crashed at every adapter
 * call in turn, before and after the call commits; then a restart (a new governor on the same
 * store — for SQLite, the file reopened) must finish ok in exactly the state of an uninterrupted
 * run. Memory adapter and SQLite adapter (real temp files).
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HAGovernor } from '../../src/governor/governor.js';
import { localPeer } from '../../src/peer/local.js';
import { openSqliteStorage } from '../../src/sqlite/index.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { EventRecord, Point, StorageAdapter } from '../../src/storage/types.js';
import { type CrashMode, faultyStorage } from '../../src/testing/faults/index.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { dump } from './helpers.js';

const LAST_UP_TO_DATE = 10_000;
const HEARTBEAT = 12_000;
const STARTUP = 20_000;
const RESTART = 25_000;
const OVERLAP = 500;
const PAGE_SIZE = 4;
const ITEMS = ['boiler.pressure', 'boiler.temp', 'line.speed'];

function series(offset: number, value: (t: number) => number): Point[] {
  const points: Point[] = [];
  for (let t = 8_000 + offset; t < STARTUP; t += 700) points.push({ t, v: value(t) });
  return points;
}

/** The remote: three items over the downtime, events with shared timestamps. */
function remoteData(): { points: Record<string, Point[]>; events: EventRecord[] } {
  const events: EventRecord[] = [];
  for (let i = 0; i < 11; i++) {
    events.push({ id: `alarm-${i}`, t: 9_000 + Math.floor(i / 2) * 1_300, body: { n: i } });
  }
  return {
    points: {
      'boiler.pressure': series(0, (t) => t / 1000),
      'boiler.temp': series(100, (t) => (t % 97) + 0.5),
      'line.speed': series(350, (t) => t % 13),
    },
    events,
  };
}

/** The local store before start-up: stale values inside the window, history outside it. */
async function seedLocal(storage: StorageAdapter): Promise<void> {
  await storage.registerItems(ITEMS);
  await storage.appendPoints('boiler.pressure', [
    { t: 5_000, v: -1 },
    { t: 9_600, v: -2 },
    { t: 15_000, v: -3 },
  ]);
  await storage.appendPoints('boiler.temp', [{ t: 11_111, v: 'stale' }]);
  await storage.appendPoints('line.speed', [
    { t: 1_000, v: 1 },
    { t: 30_000, v: 2 },
  ]);
  await storage.insertEventsIfAbsent([
    { id: 'alarm-3', t: 10_300, body: 'local copy wins' },
    { id: 'local-only', t: 9_700, body: 'kept' },
  ]);
  for (const kind of ['timeSeries', 'events']) {
    await storage.writeSyncState(`edge-ha:${kind}`, {
      lastUpToDate: LAST_UP_TO_DATE,
      heartbeat: null,
      run: null,
    });
  }
  await storage.writeSyncState('edge-ha:heartbeat', {
    lastUpToDate: null,
    heartbeat: HEARTBEAT,
    run: null,
  });
}

function governor(storage: StorageAdapter, remote: StorageAdapter, now: number): HAGovernor {
  const clock = new ManualClock(now);
  return new HAGovernor({
    storage,
    peers: [localPeer(remote, { clock, instanceId: 'remote' })],
    clock,
    overlapMs: OVERLAP,
    pageSize: PAGE_SIZE,
    concurrency: 2,
    retry: { retries: 0 },
  });
}

interface Store {
  readonly storage: StorageAdapter;
  /** Simulates the process restart: for a file, close it and open it again. */
  reopen(): Promise<StorageAdapter>;
}

interface AdapterCase {
  readonly name: string;
  create(): Promise<Store>;
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const ADAPTERS: AdapterCase[] = [
  {
    name: 'memory',
    async create() {
      const storage = new MemoryStorageAdapter();
      return { storage, reopen: async () => storage };
    },
  },
  {
    name: 'sqlite',
    async create() {
      const dir = mkdtempSync(join(tmpdir(), 'edge-ha-crash-'));
      dirs.push(dir);
      const file = join(dir, 'local.db');
      const storage = openSqliteStorage(file);
      return {
        storage,
        async reopen() {
          await storage.close();
          return openSqliteStorage(file);
        },
      };
    },
  },
];

describe.each(ADAPTERS)('crash sweep on the $name adapter (SPEC §6 I5)', (adapter) => {
  it('a crash at any adapter call, before or after commit, then a restart ends in the uninterrupted state', async () => {
    const remote = new MemoryStorageAdapter(remoteData());

    // The uninterrupted run, counting adapter calls.
    const reference = await adapter.create();
    await seedLocal(reference.storage);
    const counting = faultyStorage(reference.storage);
    const result = await governor(counting, remote, STARTUP).start();
    expect([result.timeSeries?.state, result.events?.state]).toEqual([
      'finished_ok',
      'finished_ok',
    ]);
    expect(counting.maxBatch).toBeLessThanOrEqual(PAGE_SIZE);
    const calls = counting.calls;
    expect(calls).toBeGreaterThan(20);
    const expected = await dump(reference.storage);
    // The reference run really synced: remote values inside the window, local ones outside.
    expect(expected.points['boiler.pressure']?.[0]).toEqual({ t: 5_000, v: -1 });
    expect(expected.points['line.speed']?.at(-1)).toEqual({ t: 30_000, v: 2 });
    expect(expected.events.find((e) => e.id === 'alarm-3')?.body).toBe('local copy wins');
    // alarm-0 and alarm-1 (t=9000) lie before the window [9500, 20000); the 9 others arrive.
    expect(expected.events.map((e) => e.id).sort()).toEqual(
      ['local-only', ...Array.from({ length: 9 }, (_, i) => `alarm-${i + 2}`)].sort(),
    );
    await reference.storage.close();

    let resumed = 0;
    const crashedIn = new Set<string>();
    for (let crashAt = 1; crashAt <= calls; crashAt++) {
      for (const mode of ['before', 'after'] as CrashMode[]) {
        const where = `crash at call ${crashAt} (${mode} commit)`;
        const store = await adapter.create();
        await seedLocal(store.storage);
        const crashing = faultyStorage(store.storage, { crashAt, mode });
        const crashed = await governor(crashing, remote, STARTUP)
          .start()
          .catch((error: unknown) => error as Error);
        expect(crashing.crashed, where).not.toBeNull();
        crashedIn.add(crashing.crashed?.operation ?? '');
        if (!(crashed instanceof Error)) {
          // The crash was absorbed into a failed run: never reported as finished_ok for both.
          const states = [crashed.timeSeries?.state, crashed.events?.state];
          expect(states, where).toContain('finished_with_error');
        }

        const restarted = await store.reopen();
        const again = await governor(restarted, remote, RESTART).start();
        expect([again.timeSeries?.state, again.events?.state], where).toEqual([
          'finished_ok',
          'finished_ok',
        ]);
        if (again.timeSeries?.resumed || again.events?.resumed) resumed++;
        expect(await dump(restarted), where).toEqual(expected);
        for (const kind of ['timeSeries', 'events']) {
          const record = await restarted.readSyncState(`edge-ha:${kind}`);
          expect(record?.lastUpToDate, where).toBe(RESTART);
          expect(record?.run, where).toBeNull();
        }
        await restarted.close();
      }
    }
    // The sweep hit every kind of write the sync makes, and restarts did resume checkpoints.
    for (const op of ['replacePoints', 'insertEventsIfAbsent', 'writeSyncState', 'readSyncState']) {
      expect(crashedIn).toContain(op);
    }
    expect(resumed).toBeGreaterThan(0);
  }, 60_000);
});

/**
 * Crash sweep on the PostgreSQL adapter (SPEC §6 I5), the representative case of
 * test/reliability/crash.test.ts: a governor start-up sync after a downtime (heartbeat, overwrite
 * part, merge margins), crashed at every adapter call in turn, before and after the call
 * commits; then a restart — a new adapter with a pool of its own on the same schema, as a new
 * process would open it — must finish ok in exactly the state of an uninterrupted run.
 */

import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { HAGovernor } from '../../src/governor/governor.js';
import { localPeer } from '../../src/peer/local.js';
import { openPostgresStorage } from '../../src/postgres/index.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { EventRecord, Point, StorageAdapter } from '../../src/storage/types.js';
import { type CrashMode, faultyPeer, faultyStorage } from '../../src/testing/faults/index.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { dump, ledgerRecord, readLedger } from '../reliability/helpers.js';
import { dropSchema, postgresUrl, testPool } from './helpers.js';

const LAST_UP_TO_DATE = 5_000;
const HEARTBEAT = 9_500;
const INTERVAL = 1_000;
const STARTUP = 20_000;
const RESTART = 25_000;
const OVERLAP = 500;
const PAGE_SIZE = 4;
const ITEMS = ['boiler.pressure', 'boiler.temp', 'line.speed'];

const pool = testPool(4);
afterAll(() => pool.end());

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
  await storage.appendPoints('boiler.temp', [{ t: 15_555, v: 'stale' }]);
  await storage.appendPoints('line.speed', [
    { t: 1_000, v: 1 },
    { t: 30_000, v: 2 },
  ]);
  await storage.insertEventsIfAbsent([
    { id: 'alarm-3', t: 10_300, body: 'local copy wins' },
    { id: 'local-only', t: 9_700, body: 'kept' },
  ]);
  for (const kind of ['timeSeries', 'events']) {
    await storage.writeSyncState(`edge-ha:${kind}`, ledgerRecord(LAST_UP_TO_DATE));
  }
  // The node stopped without a clean close: its last heartbeat was at HEARTBEAT.
  await storage.writeSyncState('edge-ha:heartbeat', {
    format: 'edge-ha.heartbeat',
    version: 2,
    at: HEARTBEAT,
    clean: false,
    intervalMs: INTERVAL,
  });
}

function governor(storage: StorageAdapter, remote: StorageAdapter, now: number): HAGovernor {
  const clock = new ManualClock(now);
  const peer = localPeer(remote, { clock, instanceId: 'remote' });
  return new HAGovernor({
    storage,
    peers: [faultyPeer(peer, { clock, rates: {}, skewMs: 0 })],
    clock,
    heartbeatIntervalMs: INTERVAL,
    overlapMs: OVERLAP,
    pageSize: PAGE_SIZE,
    concurrency: 2,
    retry: { retries: 0 },
  });
}

describe('crash sweep on the PostgreSQL adapter (SPEC §6 I5)', () => {
  it('a crash at any adapter call, before or after commit, then a restart on the same schema ends in the uninterrupted state', async () => {
    const remote = new MemoryStorageAdapter(remoteData());
    const schema = (): string => `crash_${randomUUID().replaceAll('-', '').slice(0, 20)}`;

    // The uninterrupted run, counting adapter calls.
    const referenceSchema = schema();
    const reference = await openPostgresStorage({ pool, schema: referenceSchema });
    await seedLocal(reference);
    const counting = faultyStorage(reference);
    const result = await governor(counting, remote, STARTUP).start();
    expect([result.timeSeries?.state, result.events?.state]).toEqual([
      'finished_ok',
      'finished_ok',
    ]);
    const calls = counting.calls;
    expect(calls).toBeGreaterThan(20);
    const expected = await dump(reference);
    // The reference run really synced: remote values in the downtime, local ones kept outside.
    const pressure = expected.points['boiler.pressure'] ?? [];
    expect(pressure[0]).toEqual({ t: 5_000, v: -1 });
    expect(pressure.find((p) => p.t === 15_000)?.v).toBe(15);
    expect(expected.points['boiler.temp']?.find((p) => p.t === 15_555)).toBeUndefined();
    expect(expected.events.find((e) => e.id === 'alarm-3')?.body).toBe('local copy wins');
    expect(expected.events).toHaveLength(12);
    await reference.close();
    await dropSchema(pool, referenceSchema);

    let resumed = 0;
    const crashedIn = new Set<string>();
    for (let crashAt = 1; crashAt <= calls; crashAt++) {
      for (const mode of ['before', 'after'] as CrashMode[]) {
        const where = `crash at call ${crashAt} (${mode} commit)`;
        const name = schema();
        try {
          const storage = await openPostgresStorage({ pool, schema: name });
          await seedLocal(storage);
          const crashing = faultyStorage(storage, { crashAt, mode });
          const crashed = await governor(crashing, remote, STARTUP)
            .start()
            .catch((error: unknown) => error as Error);
          expect(crashing.crashed, where).not.toBeNull();
          crashedIn.add(crashing.crashed?.operation ?? '');
          if (!(crashed instanceof Error)) {
            expect([crashed.timeSeries?.state, crashed.events?.state], where).toContain(
              'finished_with_error',
            );
          }
          await storage.close();

          // The restarted process: its own pool, the same schema.
          const restarted = await openPostgresStorage({
            connectionString: postgresUrl(),
            schema: name,
            maxConnections: 2,
          });
          try {
            const again = await governor(restarted, remote, RESTART).start();
            expect([again.timeSeries?.state, again.events?.state], where).toEqual([
              'finished_ok',
              'finished_ok',
            ]);
            if (again.timeSeries?.resumed || again.events?.resumed) resumed++;
            expect(await dump(restarted), where).toEqual(expected);
            for (const kind of ['timeSeries', 'events']) {
              const ledger = await readLedger(restarted, `edge-ha:${kind}`);
              expect(ledger, where).toEqual({ lastUpToDate: RESTART, gaps: [] });
            }
          } finally {
            await restarted.close();
          }
        } finally {
          await dropSchema(pool, name);
        }
      }
    }
    for (const op of [
      'replacePoints',
      'mergePoints',
      'insertEventsIfAbsent',
      'writeSyncState',
      'readSyncState',
    ]) {
      expect(crashedIn).toContain(op);
    }
    expect(resumed).toBeGreaterThan(0);
  }, 240_000);
});

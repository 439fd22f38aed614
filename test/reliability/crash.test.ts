/**
 * Crash sweeps (SPEC §6 I5): a governor start-up sync after a downtime (heartbeat, overwrite part,
 * merge margins), crashed at every adapter call in turn, before and after the call commits; then
 * a restart (a new governor on the same store — for SQLite, the file reopened; for PostgreSQL, a
 * new adapter with a pool of its own on the same schema, as a new process opens it) must finish ok
 * in exactly the state of an uninterrupted run. A representative case on the memory, SQLite (real
 * temp files) and PostgreSQL (the run's server) adapters, and random cases (data, heartbeat, clean or not, page size, restart
 * time) swept the same way on the memory adapter.
 */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { HAGovernor } from '../../src/governor/governor.js';
import { localPeer } from '../../src/peer/local.js';
import { openPostgresStorage } from '../../src/postgres/index.js';
import { openSqliteStorage } from '../../src/sqlite/index.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { EventRecord, Point, StorageAdapter } from '../../src/storage/types.js';
import { type CrashMode, faultyPeer, faultyStorage } from '../../src/testing/faults/index.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { dropSchema, postgresUrl, testPool } from '../postgres/helpers.js';
import { dump, fcParams, ledgerRecord, readLedger } from './helpers.js';

const LAST_UP_TO_DATE = 5_000;
const HEARTBEAT = 9_500;
const INTERVAL = 1_000;
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

function governor(
  storage: StorageAdapter,
  remote: StorageAdapter,
  now: number,
  options: {
    heartbeatIntervalMs?: number;
    overlapMs?: number;
    pageSize?: number;
    skewMs?: number;
  } = {},
): HAGovernor {
  const clock = new ManualClock(now);
  const peer = localPeer(remote, { clock, instanceId: 'remote' });
  return new HAGovernor({
    storage,
    peers: [faultyPeer(peer, { clock, rates: {}, skewMs: options.skewMs ?? 0 })],
    clock,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? INTERVAL,
    overlapMs: options.overlapMs ?? OVERLAP,
    pageSize: options.pageSize ?? PAGE_SIZE,
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
  /** Time for the whole sweep (one store per crash point). */
  readonly timeoutMs: number;
  create(): Promise<Store>;
}

const dirs: string[] = [];
const pool = testPool(4);
const schemas: string[] = [];
afterAll(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  for (const schema of schemas) await dropSchema(pool, schema);
  await pool.end();
});

const ADAPTERS: AdapterCase[] = [
  {
    name: 'memory',
    timeoutMs: 60_000,
    async create() {
      const storage = new MemoryStorageAdapter();
      return { storage, reopen: async () => storage };
    },
  },
  {
    name: 'sqlite',
    timeoutMs: 60_000,
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
  {
    name: 'postgres',
    timeoutMs: 240_000,
    async create() {
      const schema = `crash_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
      schemas.push(schema);
      const storage = await openPostgresStorage({ pool, schema });
      return {
        storage,
        async reopen() {
          await storage.close();
          return openPostgresStorage({
            connectionString: postgresUrl(),
            schema,
            maxConnections: 2,
          });
        },
      };
    },
  },
];

describe.each(ADAPTERS)('crash sweep on the $name adapter (SPEC §6 I5)', (adapter) => {
  it(
    'a crash at any adapter call, before or after commit, then a restart ends in the uninterrupted state',
    async () => {
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
      // The reference run really synced. The downtime (from one or two heartbeat intervals after
      // the heartbeat 9500, to 20000) is overwritten: the remote wins; the margins from 8500 and
      // [20000, 21000) are merged: local points stay; the rest is untouched. Every remote event of
      // [8500, 21000) arrives, a local copy of one wins.
      const pressure = expected.points['boiler.pressure'] ?? [];
      expect(pressure[0]).toEqual({ t: 5_000, v: -1 });
      expect(pressure.find((p) => p.t === 9_600)?.v).toBe(-2);
      expect(pressure.find((p) => p.t === 15_000)?.v).toBe(15);
      expect(pressure.find((p) => p.t === 8_000)).toBeUndefined();
      expect(pressure.find((p) => p.t === 8_700)?.v).toBe(8.7);
      expect(expected.points['boiler.temp']?.find((p) => p.t === 15_555)).toBeUndefined();
      expect(expected.points['line.speed']?.at(-1)).toEqual({ t: 30_000, v: 2 });
      expect(expected.points['line.speed']?.[0]).toEqual({ t: 1_000, v: 1 });
      expect(expected.events.find((e) => e.id === 'alarm-3')?.body).toBe('local copy wins');
      expect(expected.events.map((e) => e.id).sort()).toEqual(
        ['local-only', ...Array.from({ length: 11 }, (_, i) => `alarm-${i}`)].sort(),
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
            const ledger = await readLedger(restarted, `edge-ha:${kind}`);
            expect(ledger, where).toEqual({ lastUpToDate: RESTART, gaps: [] });
          }
          await restarted.close();
        }
      }
      // The sweep hit every kind of write the sync makes, and restarts did resume checkpoints.
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
    },
    adapter.timeoutMs,
  );
});

// ---- random cases, swept on the memory adapter ----------------------------------------------

const H = 100_000;
const ITEMS_P = ['a', 'b'] as const;

const sweepCaseArb = fc.record({
  intervalMs: fc.integer({ min: 500, max: 3_000 }),
  overlapMs: fc.integer({ min: 0, max: 2_000 }),
  clean: fc.boolean(),
  ranFor: fc.nat({ max: 2_999 }),
  downtimeMs: fc.integer({ min: 1, max: 8_000 }),
  /** Remote points (offsets from H − 4 s), up to the start-up. */
  remote: fc.record({
    a: fc.uniqueArray(fc.nat({ max: 20_000 }), { maxLength: 12 }),
    b: fc.uniqueArray(fc.nat({ max: 20_000 }), { maxLength: 12 }),
  }),
  history: fc.record({
    a: fc.uniqueArray(fc.nat({ max: 8_000 }), { maxLength: 6 }),
    b: fc.uniqueArray(fc.nat({ max: 8_000 }), { maxLength: 6 }),
  }),
  remoteEvents: fc.uniqueArray(fc.nat({ max: 20_000 }), { maxLength: 6 }),
  localEvents: fc.uniqueArray(fc.nat({ max: 8_000 }), { maxLength: 2 }),
  pageSize: fc.integer({ min: 2, max: 4 }),
  restartAfterMs: fc.nat({ max: 4_000 }),
  /** The remote's clock is behind (its records of the downtime carry earlier times). */
  skewMs: fc.integer({ min: -3_000, max: 0 }),
});
type SweepCase = typeof sweepCaseArb extends fc.Arbitrary<infer T> ? T : never;

function sweepData(c: SweepCase) {
  const crashedAt = c.clean ? H : H + (c.ranFor % c.intervalMs);
  const startup = crashedAt + c.downtimeMs;
  const from = H - 4_000;
  // The remote recorded until the start-up (by its clock, which is behind), the node until it
  // stopped.
  const remotePoints: Record<string, Point[]> = {};
  const localPoints: Record<string, Point[]> = {};
  for (const item of ITEMS_P) {
    remotePoints[item] = c.remote[item]
      .map((o) => from + (o % (startup - from)))
      .filter((t, i, all) => all.indexOf(t) === i)
      .map((t) => ({ t, v: `r${t}` }));
    localPoints[item] = c.history[item]
      .map((o) => from + (o % (crashedAt - from)))
      .filter((t, i, all) => all.indexOf(t) === i)
      .map((t) => ({ t, v: `l${t}` }));
  }
  const remoteEvents = c.remoteEvents.map(
    (o, i): EventRecord => ({ id: `ev${i}`, t: from + (o % (startup - from)), body: 'remote' }),
  );
  // The node has its own copy of the first remote event (local wins), and events of its own.
  const localEvents: EventRecord[] = c.localEvents.map(
    (o, i): EventRecord => ({ id: `own${i}`, t: from + (o % (crashedAt - from)), body: 'local' }),
  );
  if (remoteEvents[0] !== undefined) {
    localEvents.push({
      ...remoteEvents[0],
      t: Math.min(remoteEvents[0].t, crashedAt - 1),
      body: 'mine',
    });
  }
  return {
    startup,
    remote: { points: remotePoints, events: remoteEvents },
    localPoints,
    localEvents,
  };
}

async function seedSweep(
  c: SweepCase,
  data: ReturnType<typeof sweepData>,
): Promise<MemoryStorageAdapter> {
  const storage = new MemoryStorageAdapter({ points: data.localPoints, events: data.localEvents });
  await storage.registerItems(ITEMS_P);
  await storage.writeSyncState('edge-ha:heartbeat', {
    format: 'edge-ha.heartbeat',
    version: 2,
    at: H,
    clean: c.clean,
    intervalMs: c.intervalMs,
  });
  return storage;
}

let sweptSchedules = 0;

async function sweep(c: SweepCase): Promise<void> {
  const data = sweepData(c);
  const remote = new MemoryStorageAdapter(data.remote);
  const options = {
    heartbeatIntervalMs: c.intervalMs,
    overlapMs: c.overlapMs,
    pageSize: c.pageSize,
    skewMs: c.skewMs,
  };
  const reference = await seedSweep(c, data);
  const counting = faultyStorage(reference);
  const result = await governor(counting, remote, data.startup, options).start();
  expect([result.timeSeries?.state, result.events?.state]).toEqual(['finished_ok', 'finished_ok']);
  const expected = await dump(reference);
  const restartAt = data.startup + c.restartAfterMs;
  for (let crashAt = 1; crashAt <= counting.calls; crashAt++) {
    for (const mode of ['before', 'after'] as CrashMode[]) {
      sweptSchedules++;
      const where = `crash at call ${crashAt} of ${counting.calls} (${mode} commit), restart at +${c.restartAfterMs} ms`;
      const local = await seedSweep(c, data);
      const crashing = faultyStorage(local, { crashAt, mode });
      const crashed = await governor(crashing, remote, data.startup, options)
        .start()
        .catch((error: unknown) => error as Error);
      expect(crashing.crashed, where).not.toBeNull();
      if (!(crashed instanceof Error)) {
        expect([crashed.timeSeries?.state, crashed.events?.state], where).toContain(
          'finished_with_error',
        );
      }
      const again = await governor(local, remote, restartAt, options).start();
      expect([again.timeSeries?.state, again.events?.state], where).toEqual([
        'finished_ok',
        'finished_ok',
      ]);
      expect(await dump(local), `I5: ${where}`).toEqual(expected);
      for (const kind of ['timeSeries', 'events']) {
        expect(await readLedger(local, `edge-ha:${kind}`), where).toEqual({
          lastUpToDate: restartAt,
          gaps: [],
        });
      }
    }
  }
}

describe('crash sweep of random downtimes on the memory adapter (SPEC §6 I5)', () => {
  it('every crash point, before or after commit, then a restart ends in the uninterrupted state', async () => {
    sweptSchedules = 0;
    // A failing sweep is reported at once (shrinking would re-run whole sweeps); its seed and
    // path replay it.
    await fc.assert(fc.asyncProperty(sweepCaseArb, sweep), { ...fcParams(25), endOnFailure: true });
    // Not vacuous: the sweeps crashed a sync at many points (two per adapter call).
    expect(sweptSchedules).toBeGreaterThan(25 * 20);
  }, 120_000);
});

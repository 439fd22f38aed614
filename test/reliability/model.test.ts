/**
 * Deputy/governor model test under injected faults (SPEC §6 I1–I5, I7).
 *
 * Each case: random remote and local data, window, page size and concurrency; a faulty phase
 * (a fault schedule or a seed for the faulty peer, a skewed remote clock, sometimes a storage
 * crash before or after an adapter call commits), driven by deputies or by a governor; then a
 * healthy phase (the remote heals, sometimes after a restart on the same storage) that must end
 * finished_ok in exactly the model state; then the same sync again (idempotence).
 *
 * Default 1,000 cases; EDGE_HA_RELIABILITY_RUNS raises it, EDGE_HA_SEED (+ EDGE_HA_PATH) replays
 * a failure printed by fast-check.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventDeputy, TimeSeriesDeputy } from '../../src/deputy/deputy.js';
import type { DeputyOptions, DeputyRunSummary } from '../../src/deputy/types.js';
import { HAGovernor } from '../../src/governor/governor.js';
import { localPeer } from '../../src/peer/local.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { EventRecord, Point, TimeWindow } from '../../src/storage/types.js';
import {
  type FaultyPeer,
  type FaultyStorage,
  faultyPeer,
  faultyStorage,
  type PeerFault,
} from '../../src/testing/faults/index.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { dump, fcParams, outside, within } from './helpers.js';

const ITEMS = ['a', 'b', 'c'] as const;
const EVENT_IDS = Array.from({ length: 12 }, (_, i) => `e${i}`);

const pointsArb = fc.uniqueArray(
  fc.record({ t: fc.integer({ min: 0, max: 39 }), v: fc.integer({ min: 0, max: 99 }) }),
  { selector: (p) => p.t, maxLength: 10 },
);
const seriesArb = fc.record({ a: pointsArb, b: pointsArb, c: pointsArb });
const eventsArb = (tag: string) =>
  fc.uniqueArray(
    fc.record({
      id: fc.constantFrom(...EVENT_IDS),
      t: fc.integer({ min: 0, max: 39 }),
      body: fc.constant(tag),
    }),
    { selector: (e) => e.id, maxLength: 8 },
  );

const faultArb: fc.Arbitrary<PeerFault> = fc.oneof(
  fc.constant<PeerFault>({ kind: 'drop' }),
  fc.integer({ min: 1, max: 2500 }).map((ms): PeerFault => ({ kind: 'delay', ms })),
  fc.constant<PeerFault>({ kind: 'reorder' }),
  fc.constant<PeerFault>({ kind: 'duplicate' }),
  fc.constant<PeerFault>({ kind: 'truncate' }),
  fc.integer({ min: 1, max: 3 }).map((limit): PeerFault => ({ kind: 'short', limit })),
  fc
    .constantFrom('PEER_UNREACHABLE', 'PEER_TIMEOUT', 'PEER_UNAVAILABLE' as const)
    .map((code): PeerFault => ({ kind: 'transient', code })),
  fc
    .constantFrom('PEER_AUTH', 'PEER_BAD_REQUEST', 'PEER_BAD_REPLY' as const)
    .map((code): PeerFault => ({ kind: 'permanent', code })),
  fc.integer({ min: 1, max: 8 }).map((calls): PeerFault => ({ kind: 'disappear', calls })),
);

/** Faults from an explicit (shrinkable) schedule, or drawn by the peer from a seed. */
const faultsArb = fc.oneof(
  {
    arbitrary: fc
      .array(fc.option(faultArb, { nil: null, freq: 2 }), { maxLength: 30 })
      .map((faults) => ({ schedule: faults }) as const),
    weight: 3,
  },
  { arbitrary: fc.nat().map((seed) => ({ seed }) as const), weight: 1 },
);

const crashArb = fc.oneof(
  { arbitrary: fc.constant(null), weight: 3 },
  {
    arbitrary: fc.record({
      crashAt: fc.integer({ min: 1, max: 45 }),
      mode: fc.constantFrom<'before' | 'after'>('before', 'after'),
    }),
    weight: 1,
  },
);

const caseArb = fc.record({
  remotePoints: seriesArb,
  localPoints: seriesArb,
  remoteEvents: eventsArb('remote'),
  localEvents: eventsArb('local'),
  window: fc
    .record({ from: fc.integer({ min: 0, max: 30 }), length: fc.integer({ min: 0, max: 40 }) })
    .map(({ from, length }): TimeWindow => ({ from, to: from + length })),
  pageSize: fc.integer({ min: 1, max: 4 }),
  concurrency: fc.integer({ min: 1, max: 3 }),
  faults: faultsArb,
  skewMs: fc.integer({ min: -3000, max: 3000 }),
  crash: crashArb,
  faultyDriver: fc.constantFrom<'deputies' | 'governor'>('deputies', 'governor'),
  healthyDriver: fc.constantFrom<'deputies' | 'governor'>('deputies', 'governor'),
  restart: fc.boolean(),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

const byTime = (a: { t: number }, b: { t: number }): number => a.t - b.t;
const byEvent = (a: EventRecord, b: EventRecord): number =>
  a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Runs `promise` on the manual clock; fails (instead of hanging) if it stalls with no timer. */
async function drive<T>(clock: ManualClock, promise: Promise<T>, context: () => string) {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await clock.runUntilSettled(
    promise.catch(() => undefined),
    100_000,
  );
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (!settled) throw new Error(`the sync stalled with no timer pending: ${context()}`);
  return promise;
}

/** A sync driver: two deputies, or a governor's resync(). */
interface Driver {
  run(window: TimeWindow): Promise<{ timeSeries: DeputyRunSummary; events: DeputyRunSummary }>;
  clockSkewMs(): number | null;
}

function driver(kind: 'deputies' | 'governor', options: DeputyOptions): Driver {
  if (kind === 'governor') {
    const { storage, peer, ...rest } = options;
    const governor = new HAGovernor({
      storage,
      peers: [peer as FaultyPeer],
      ...(rest as object),
    });
    return {
      run: async (window) => {
        const result = await governor.resync(window);
        return {
          timeSeries: result.timeSeries as DeputyRunSummary,
          events: result.events as DeputyRunSummary,
        };
      },
      clockSkewMs: () => governor.status().deputies.timeSeries?.clockSkewMs ?? null,
    };
  }
  const series = new TimeSeriesDeputy(options);
  const events = new EventDeputy(options);
  return {
    run: async (window) => {
      const [timeSeries, ev] = await Promise.all([series.run(window), events.run(window)]);
      return { timeSeries, events: ev };
    },
    clockSkewMs: () => series.snapshot().clockSkewMs,
  };
}

/** The model: the state a correct sync of `window` must leave. */
function model(c: Case, before: { points: Record<string, Point[]>; events: EventRecord[] }) {
  const points: Record<string, Point[]> = {};
  for (const item of ITEMS) {
    points[item] = [
      ...outside(before.points[item] ?? [], c.window),
      ...within(c.remotePoints[item], c.window),
    ].sort(byTime);
  }
  const localIds = new Set(before.events.map((e) => e.id));
  const events = [
    ...before.events,
    ...within(c.remoteEvents, c.window).filter((e) => !localIds.has(e.id)),
  ].sort(byEvent);
  return { points, events };
}

/**
 * After a failed or interrupted run, every item is "remote up to some point c, original local
 * from c on" inside the window, untouched outside; events: every local event unchanged, the
 * others are remote events of the window (I2, I6: nothing half-applied, nothing invented).
 */
function checkPartial(
  c: Case,
  before: { points: Record<string, Point[]>; events: EventRecord[] },
  mid: { points: Record<string, Point[]>; events: EventRecord[] },
  context: string,
): void {
  const { window } = c;
  for (const item of ITEMS) {
    const now = mid.points[item] ?? [];
    const was = before.points[item] ?? [];
    expect(outside(now, window), `${item} outside the window: ${context}`).toEqual(
      outside(was, window),
    );
    const inside = JSON.stringify(within(now, window));
    let explained = false;
    for (let cut = window.from; cut <= window.to && !explained; cut++) {
      const candidate = [
        ...within(c.remotePoints[item], { from: window.from, to: cut }),
        ...within(was, { from: cut, to: window.to }),
      ].sort(byTime);
      explained = JSON.stringify(candidate) === inside;
    }
    expect(explained, `${item} is not a remote prefix + local rest: ${inside}; ${context}`).toBe(
      true,
    );
  }
  const ids = new Set(mid.events.map((e) => e.id));
  expect(ids.size, context).toBe(mid.events.length);
  const midById = new Map(mid.events.map((e) => [e.id, e]));
  for (const event of before.events) expect(midById.get(event.id), context).toEqual(event);
  const localIds = new Set(before.events.map((e) => e.id));
  const remoteById = new Map(within(c.remoteEvents, window).map((e) => [e.id, e]));
  for (const event of mid.events) {
    if (localIds.has(event.id)) continue;
    expect(remoteById.get(event.id), `unexpected event ${event.id}: ${context}`).toEqual(event);
  }
}

async function lastUpToDate(storage: MemoryStorageAdapter, kind: string): Promise<number | null> {
  return (await storage.readSyncState(`edge-ha:${kind}`))?.lastUpToDate ?? null;
}

async function runCase(c: Case): Promise<void> {
  const clock = new ManualClock(1_000_000);
  const remote = new MemoryStorageAdapter({ points: c.remotePoints, events: c.remoteEvents });
  await remote.registerItems(ITEMS);
  const local = new MemoryStorageAdapter({ points: c.localPoints, events: c.localEvents });
  await local.registerItems(ITEMS);
  const before = await dump(local);
  const peer = faultyPeer(localPeer(remote, { clock, instanceId: 'remote' }), {
    ...c.faults,
    clock,
    skewMs: c.skewMs,
  });
  const storage: FaultyStorage = faultyStorage(local, c.crash ?? {});
  const base = {
    peer,
    clock,
    pageSize: c.pageSize,
    concurrency: c.concurrency,
    retry: { retries: 2, backoff: (attempt: number) => 50 * attempt },
    replyTimeoutMs: 1000,
  };
  const context = (): string =>
    `${peer.describe()} crash=${JSON.stringify(storage.crashed)} window=${JSON.stringify(c.window)}`;

  // Faulty phase.
  const faulty = driver(c.faultyDriver, { ...base, storage });
  const first = await drive(clock, faulty.run(c.window), context);
  const mid = await dump(local);
  checkPartial(c, before, mid, context());
  expect(storage.maxBatch, `I7: ${context()}`).toBeLessThanOrEqual(c.pageSize);
  for (const kind of ['timeSeries', 'events'] as const) {
    const lud = await lastUpToDate(local, kind);
    if (storage.crashed === null) {
      // I4: LastUpToDate advances exactly on finished_ok.
      expect(lud, `I4 ${kind}: ${context()}`).toBe(
        first[kind].state === 'finished_ok' ? c.window.to : null,
      );
      expect(first[kind].lastUpToDate).toBe(lud);
    } else {
      expect([null, c.window.to]).toContain(lud);
    }
  }

  // Healthy phase: the remote is back; after a crash (or when a crash point is still armed) the
  // process restarts on the same storage.
  peer.heal();
  const restarted = c.crash !== null || c.restart;
  const healthyStorage = restarted ? faultyStorage(local) : storage;
  const healthy = restarted
    ? driver(c.healthyDriver, { ...base, storage: healthyStorage })
    : faulty;
  const second = await drive(clock, healthy.run(c.window), context);
  expect(second.timeSeries.errors, context()).toEqual([]);
  expect([second.timeSeries.state, second.events.state], context()).toEqual([
    'finished_ok',
    'finished_ok',
  ]);
  const expected = model(c, before);
  const after = await dump(local);
  expect(after, `I1/I2/I5 model state: ${context()}`).toEqual(expected);
  expect(healthyStorage.maxBatch, `I7: ${context()}`).toBeLessThanOrEqual(c.pageSize);
  for (const kind of ['timeSeries', 'events'] as const) {
    expect(await lastUpToDate(local, kind), `I4 ${kind}: ${context()}`).toBe(c.window.to);
  }
  if (c.window.from < c.window.to) {
    expect(healthy.clockSkewMs(), `skew: ${context()}`).toBe(c.skewMs);
  }

  // I3: the same sync again changes nothing and duplicates nothing.
  const third = await drive(clock, healthy.run(c.window), context);
  expect([third.timeSeries.state, third.events.state]).toEqual(['finished_ok', 'finished_ok']);
  expect(third.events.eventsInserted, context()).toBe(0);
  expect(await dump(local), `I3: ${context()}`).toEqual(expected);
  for (const kind of ['timeSeries', 'events'] as const) {
    expect(await lastUpToDate(local, kind)).toBe(c.window.to);
  }
}

describe('deputy/governor model under injected faults (SPEC §6 I1–I5, I7)', () => {
  it('a faulty phase then a healthy phase always reaches finished_ok and the model state', async () => {
    await fc.assert(fc.asyncProperty(caseArb, runCase), fcParams(1000));
  }, 120_000);

  it('the faulty phase is not vacuous: faults are injected and many runs fail before healing', async () => {
    // A fixed sample shows the suite exercises failures, not only happy paths.
    const sample = fc.sample(caseArb, { numRuns: 200, seed: 12345 });
    let failedRuns = 0;
    let injected = 0;
    for (const c of sample) {
      const clock = new ManualClock(1_000_000);
      const remote = new MemoryStorageAdapter({ points: c.remotePoints, events: c.remoteEvents });
      await remote.registerItems(ITEMS);
      const local = new MemoryStorageAdapter({ points: c.localPoints, events: c.localEvents });
      await local.registerItems(ITEMS);
      const peer = faultyPeer(localPeer(remote, { clock }), { ...c.faults, clock });
      const result = await drive(
        clock,
        driver('deputies', {
          storage: faultyStorage(local, c.crash ?? {}),
          peer,
          clock,
          pageSize: c.pageSize,
          retry: { retries: 2, backoff: () => 10 },
          replyTimeoutMs: 1000,
        }).run(c.window),
        () => peer.describe(),
      );
      if (result.timeSeries.state !== 'finished_ok' || result.events.state !== 'finished_ok') {
        failedRuns++;
      }
      injected += peer.injected.length;
    }
    expect(failedRuns).toBeGreaterThan(20);
    expect(injected).toBeGreaterThan(100);
  });
});

/**
 * Downtime recovery through the governor under a skewed remote clock and injected faults
 * (SPEC §4.2, §6 I1–I4, I9, I10).
 *
 * Each case: a node ran until its last heartbeat H (and, after an unclean stop, up to one
 * heartbeat interval longer), was down, and restarts at S. The remote ran all along and stamped
 * its records with ITS clock, which is `s` ms ahead of the node's (`s` may be negative): a record
 * it made at the node's time `u` carries `u + s`. The governor's heartbeat gives the downtime;
 * the deputies measure `s` at hello, overwrite only where the node was certainly down and merge
 * the margins `max(overlapMs, |s| + 1 s)` around it. While the sync runs (between remote calls)
 * and after it, the node records live points and events, also inside the merge margins.
 *
 * Checked: every remote record of the downtime `[H + s, S + s)` is present locally (I10, I1);
 * no point the node recorded itself, before H or live after S, is removed or changed (I9, I2);
 * the model state; LastUpToDate (I4); the same start-up again changes nothing (I3); with
 * `|s| > maxClockSkewMs` nothing changes at all and the runs fail with SYNC_CLOCK_SKEW (I10).
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DeputyKind } from '../../src/deputy/types.js';
import { type GovernorRunResult, HAGovernor } from '../../src/governor/governor.js';
import { localPeer } from '../../src/peer/local.js';
import type { RemotePeer } from '../../src/peer/types.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { EventRecord, Point, StorageAdapter, TimeWindow } from '../../src/storage/types.js';
import { faultyPeer, type PeerFault, type PeerFaultRates } from '../../src/testing/faults/index.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import {
  checkPartial,
  drive,
  dump,
  emptyLive,
  expectedState,
  fcParams,
  inAny,
  interleavingPeer,
  type Live,
  ledgerRecord,
  readLedger,
  recordLive,
  recordLiveEvent,
  type Snapshot,
  type SyncPlan,
} from './helpers.js';

const H = Date.UTC(2024, 0, 1);
const MAX_SKEW = 10_000;
const ITEMS = ['a', 'b'] as const;
const KINDS: readonly DeputyKind[] = ['timeSeries', 'events'];
/** How far around the downtime the remote (and the node, before H) recorded. */
const AROUND = 8_000;
const FRACTION = 1_000_000;

/**
 * Faults that leave the measured skew exact: no `delay` (a late hello reply shifts the estimate
 * by half the round trip, which the 1 s slack of the margins covers, but the boundary cases
 * `|s| = maxClockSkewMs` would then flip).
 */
const faultArb: fc.Arbitrary<PeerFault> = fc.oneof(
  fc.constant<PeerFault>({ kind: 'drop' }),
  fc.constant<PeerFault>({ kind: 'reorder' }),
  fc.constant<PeerFault>({ kind: 'duplicate' }),
  fc.constant<PeerFault>({ kind: 'truncate' }),
  fc.integer({ min: 1, max: 3 }).map((limit): PeerFault => ({ kind: 'short', limit })),
  fc
    .constantFrom('PEER_UNREACHABLE', 'PEER_TIMEOUT', 'PEER_UNAVAILABLE' as const)
    .map((code): PeerFault => ({ kind: 'transient', code })),
  fc.constantFrom('PEER_AUTH', 'PEER_BAD_REPLY' as const).map(
    (code): PeerFault => ({
      kind: 'permanent',
      code,
    }),
  ),
  fc.integer({ min: 1, max: 6 }).map((calls): PeerFault => ({ kind: 'disappear', calls })),
);
const RATES: PeerFaultRates = {
  drop: 0.04,
  short: 0.08,
  transient: 0.12,
  permanent: 0.01,
  disappear: 0.03,
};
const faultsArb = fc.oneof(
  {
    arbitrary: fc
      .array(fc.option(faultArb, { nil: null, freq: 2 }), { maxLength: 30 })
      .map((faults) => ({ schedule: faults }) as const),
    weight: 3,
  },
  { arbitrary: fc.nat().map((seed) => ({ seed, rates: RATES }) as const), weight: 1 },
);

const fractions = (max: number) =>
  fc.array(fc.integer({ min: 0, max: FRACTION - 1 }), { maxLength: max });
const whenArb = fc.oneof(fc.constant<'between'>('between'), fc.integer({ min: 0, max: 40 }));

const inRangeSkew = fc.oneof(
  fc.constantFrom(-MAX_SKEW, MAX_SKEW, 0),
  fc.integer({ min: -MAX_SKEW, max: MAX_SKEW }),
);
const beyondSkew = fc.oneof(
  fc.integer({ min: MAX_SKEW + 1, max: 3 * MAX_SKEW }),
  fc.integer({ min: -3 * MAX_SKEW, max: -MAX_SKEW - 1 }),
);

const caseArb = (skew: fc.Arbitrary<number>) =>
  fc.record({
    skewMs: skew,
    intervalMs: fc.integer({ min: 500, max: 4_000 }),
    overlapMs: fc.integer({ min: 0, max: 3_000 }),
    clean: fc.boolean(),
    /** After an unclean stop, how long past H the node still ran (mod the interval). */
    ranFor: fc.nat({ max: 3_999 }),
    downtimeMs: fc.integer({ min: 1, max: 15_000 }),
    remote: fc.record({ a: fractions(30), b: fractions(30) }),
    history: fc.record({ a: fractions(10), b: fractions(10) }),
    /** Stale points inside the downtime (e.g. from before a clock jump): the remote wins there. */
    stale: fc.record({ a: fractions(2), b: fractions(2) }),
    /** Remote timestamps the node had recorded too (with its own values) before it stopped. */
    shared: fc.array(fc.nat(), { maxLength: 4 }),
    remoteEvents: fractions(6),
    localEvents: fractions(3),
    /** A local event with the id of a remote one (local wins). */
    sharedEventId: fc.boolean(),
    live: fc.array(
      fc.record({
        item: fc.constantFrom(...ITEMS),
        at: fc.integer({ min: 0, max: FRACTION - 1 }),
        /** Record the live point at a timestamp the remote has too. */
        collide: fc.boolean(),
        when: whenArb,
      }),
      { maxLength: 6 },
    ),
    liveEvents: fc.array(fc.record({ at: fc.nat({ max: FRACTION - 1 }), when: whenArb }), {
      maxLength: 2,
    }),
    pageSize: fc.integer({ min: 2, max: 5 }),
    faults: faultsArb,
    priorLedger: fc.boolean(),
  });
type Case = typeof caseArb extends (skew: fc.Arbitrary<number>) => fc.Arbitrary<infer T>
  ? T
  : never;

/** Maps a fraction of FRACTION into `[from, to)` (`from` for an empty window). */
function at(fraction: number, from: number, to: number): number {
  return from + Math.floor((fraction * Math.max(0, to - from)) / FRACTION);
}

function uniquePoints(times: readonly number[], value: (t: number) => Point['v']): Point[] {
  return [...new Set(times)].sort((x, y) => x - y).map((t) => ({ t, v: value(t) }));
}

/** Everything a case is made of, in absolute times. */
interface Scenario {
  readonly s: number;
  /** The node ran until here (its last heartbeat, or a bit later after an unclean stop). */
  readonly crashedAt: number;
  readonly startup: number;
  /** From here on the node was down under any reading of its heartbeat (stale points lie here). */
  readonly surelyDown: number;
  readonly margin: number;
  readonly remote: { points: Record<string, Point[]>; events: EventRecord[] };
  readonly local: { points: Record<string, Point[]>; events: EventRecord[] };
}

/**
 * The windows of the sync once the governor has said where the node was certainly down
 * (`[overwriteFrom, startup)`, overwritten): merge margins on both sides (SPEC §4.2).
 */
function planOf(sc: Scenario, overwriteFrom: number): SyncPlan {
  return {
    overwrite: [{ from: overwriteFrom, to: sc.startup }],
    merge: [
      { from: H - sc.margin, to: overwriteFrom },
      { from: sc.startup, to: sc.startup + sc.margin },
    ],
    items: ITEMS,
  };
}

/**
 * Checks the downtime the governor found at start-up: it ends at the start-up, and it starts
 * after everything the node recorded (at or after the stop), but not later than two heartbeat
 * intervals after the last heartbeat (the merged slack after a crash is bounded).
 */
function checkDowntime(c: Case, sc: Scenario, g: HAGovernor, context: string): number {
  const downtime = g.status().startup?.downtime;
  expect(downtime, context).toMatchObject({ heartbeat: H, to: sc.startup, clean: c.clean });
  const from = downtime?.overwriteFrom as number;
  expect(from, `overwriteFrom: ${context}`).toBeGreaterThanOrEqual(sc.crashedAt);
  expect(from, `overwriteFrom: ${context}`).toBeLessThanOrEqual(
    Math.min(sc.startup, sc.surelyDown),
  );
  return from;
}

function scenario(c: Case): Scenario {
  const s = c.skewMs;
  const crashedAt = c.clean ? H : H + (c.ranFor % c.intervalMs);
  const startup = crashedAt + c.downtimeMs;
  // However the governor reads the heartbeat, the node was down from here on (a clean stop at H
  // may count its very millisecond as running; a crash leaves up to two intervals of slack).
  const surelyDown = H + (c.clean ? 1 : 2 * c.intervalMs);
  // SPEC §4.2: margins of max(overlapMs, |skew| + 1 s) on both sides of the downtime.
  const margin = Math.max(c.overlapMs, Math.abs(s) + 1_000);
  // The remote's records, stamped with its clock, around and during the downtime.
  const remoteFrom = H - AROUND + s;
  const remoteTo = startup + AROUND + s;
  const remotePoints: Record<string, Point[]> = {};
  const localPoints: Record<string, Point[]> = {};
  for (const item of ITEMS) {
    remotePoints[item] = uniquePoints(
      c.remote[item].map((f) => at(f, remoteFrom, remoteTo)),
      (t) => `remote ${t}`,
    );
    // The node's own history: until it stopped, by its clock.
    const own = c.history[item].map((f) => at(f, H - AROUND, crashedAt));
    const shared = c.shared
      .map((i) => remotePoints[item]?.[i % Math.max(1, remotePoints[item]?.length ?? 1)]?.t)
      .filter((t): t is number => t !== undefined && t < crashedAt);
    const stale = c.stale[item].map((f) => at(f, surelyDown, startup)).filter((t) => t < startup);
    localPoints[item] = uniquePoints([...own, ...shared, ...stale], (t) => `local ${t}`);
  }
  const remoteEvents = [...new Set(c.remoteEvents.map((f) => at(f, remoteFrom, remoteTo)))].map(
    (t, i): EventRecord => ({ id: `r${i}`, t, body: 'remote' }),
  );
  const localEvents = [...new Set(c.localEvents.map((f) => at(f, H - AROUND, crashedAt)))].map(
    (t, i): EventRecord => ({ id: `l${i}`, t, body: 'local' }),
  );
  const sharedEvent = remoteEvents[0];
  if (c.sharedEventId && sharedEvent !== undefined) {
    localEvents.push({
      id: sharedEvent.id,
      t: Math.min(sharedEvent.t, crashedAt - 1),
      body: 'local copy',
    });
  }
  return {
    s,
    crashedAt,
    startup,
    surelyDown,
    margin,
    remote: { points: remotePoints, events: remoteEvents },
    local: { points: localPoints, events: localEvents },
  };
}

async function seedLocal(c: Case, sc: Scenario): Promise<MemoryStorageAdapter> {
  const local = new MemoryStorageAdapter({ points: sc.local.points, events: sc.local.events });
  await local.registerItems(ITEMS);
  await local.writeSyncState('edge-ha:heartbeat', {
    format: 'edge-ha.heartbeat',
    version: 2,
    at: H,
    clean: c.clean,
    intervalMs: c.intervalMs,
  });
  if (c.priorLedger) {
    for (const kind of KINDS) {
      await local.writeSyncState(`edge-ha:${kind}`, ledgerRecord(H - 100_000));
    }
  }
  return local;
}

/** A governor that records the `at` of each deputy's transition to finished_ok. */
function governor(c: Case, local: StorageAdapter, peer: RemotePeer, clock: ManualClock) {
  const g = new HAGovernor({
    storage: local,
    peers: [peer],
    clock,
    heartbeatIntervalMs: c.intervalMs,
    overlapMs: c.overlapMs,
    maxClockSkewMs: MAX_SKEW,
    pageSize: c.pageSize,
    concurrency: 2,
    retry: { retries: 3, backoff: (attempt: number) => 40 * attempt },
    replyTimeoutMs: 1_000,
  });
  const okAt: Record<DeputyKind, number | null> = { timeSeries: null, events: null };
  const skewWarned: Record<DeputyKind, boolean> = { timeSeries: false, events: false };
  g.on('transition', (event) => {
    if (event.to === 'finished_ok') okAt[event.kind] = event.at;
  });
  g.on('syncState', (message) => {
    if (
      message.kind !== 'governor' &&
      message.level === 'warning' &&
      message.code === 'SYNC_CLOCK_SKEW'
    ) {
      skewWarned[message.kind] = true;
    }
  });
  return { g, okAt, skewWarned };
}

function states(result: GovernorRunResult): string[] {
  return [result.timeSeries?.state ?? '-', result.events?.state ?? '-'];
}

/** The live data of a case and the hook that records it between remote calls. */
function liveRecorder(c: Case, sc: Scenario, local: StorageAdapter) {
  const live: Live = emptyLive();
  const after = sc.startup + sc.margin + 3_000;
  const plan = c.live.map((entry, i) => {
    const remoteLater = (sc.remote.points[entry.item] ?? []).filter((p) => p.t >= sc.startup);
    const collided = remoteLater[entry.at % Math.max(1, remoteLater.length)];
    const t =
      entry.collide && collided !== undefined ? collided.t : at(entry.at, sc.startup, after);
    return { ...entry, done: false, point: { t, v: `live ${i}` } };
  });
  const events = c.liveEvents.map((entry, i) => ({
    ...entry,
    done: false,
    event: { id: `live-${i}`, t: at(entry.at, sc.startup, after), body: 'live' },
  }));
  let duringRuns = 0;
  const record = async (when: 'between' | number | null): Promise<void> => {
    for (const entry of plan) {
      if (entry.done || (when !== null && entry.when !== when)) continue;
      entry.done = true;
      await recordLive(local, live, entry.item, entry.point);
      if (typeof when === 'number') duringRuns++;
    }
    for (const entry of events) {
      if (entry.done || (when !== null && entry.when !== when)) continue;
      entry.done = true;
      await recordLiveEvent(local, live, entry.event);
      if (typeof when === 'number') duringRuns++;
    }
  };
  return { live, record, duringRuns: () => duringRuns };
}

/**
 * I10 (and I1, I9) stated directly: every remote record of the downtime is present, as the
 * remote's inside the overwrite part, and where the node has its own point in a margin that
 * point stays; nothing the node recorded itself changed.
 */
function checkDowntimeRecovered(
  sc: Scenario,
  plan: SyncPlan,
  before: Snapshot,
  live: Live,
  now: Snapshot,
  context: string,
) {
  const downtime: TimeWindow = { from: H + sc.s, to: sc.startup + sc.s };
  for (const item of ITEMS) {
    const stored = new Map((now.points[item] ?? []).map((p) => [p.t, p]));
    const mine = new Map((before.points[item] ?? []).map((p) => [p.t, p]));
    for (const [t, p] of live.points.get(item) ?? []) mine.set(t, p);
    for (const point of sc.remote.points[item] ?? []) {
      if (!inAny(point.t, [downtime])) continue;
      const where = `I10 remote record ${item}@${point.t} of the downtime: ${context}`;
      const own = mine.get(point.t);
      if (inAny(point.t, plan.overwrite) || own === undefined) {
        expect(stored.get(point.t), where).toEqual(point);
      } else {
        expect(stored.get(point.t), where).toEqual(own);
      }
    }
    for (const [t, point] of mine) {
      if (inAny(t, plan.overwrite)) continue;
      expect(stored.get(t), `I9 own point ${item}@${t}: ${context}`).toEqual(point);
    }
  }
  const ids = new Set(now.events.map((e) => e.id));
  for (const event of sc.remote.events) {
    if (inAny(event.t, [downtime])) {
      expect(ids.has(event.id), `I10 remote event ${event.id}: ${context}`).toBe(true);
    }
  }
}

async function runInRange(c: Case): Promise<{ firstFailed: boolean; liveDuringRuns: number }> {
  const sc = scenario(c);
  const clock = new ManualClock(sc.startup);
  const remote = new MemoryStorageAdapter(sc.remote);
  const local = await seedLocal(c, sc);
  const before = await dump(local);
  const recorder = liveRecorder(c, sc, local);
  const faulty = faultyPeer(localPeer(remote, { clock, instanceId: 'b' }), {
    ...c.faults,
    clock,
    skewMs: sc.s,
  });
  const peer = interleavingPeer(faulty, (call) => recorder.record(call));
  const context = (): string =>
    `${faulty.describe()} H=${H} clean=${c.clean} crashedAt=${sc.crashedAt} S=${sc.startup} margin=${sc.margin}`;
  const lastUpToDate = async () => ({
    timeSeries: (await readLedger(local, 'edge-ha:timeSeries')).lastUpToDate,
    events: (await readLedger(local, 'edge-ha:events')).lastUpToDate,
  });
  const checkI4 = async (
    okAt: Record<DeputyKind, number | null>,
    result: GovernorRunResult,
    previous: Record<DeputyKind, number | null>,
    phase: string,
  ) => {
    const now = await lastUpToDate();
    for (const kind of KINDS) {
      const where = `I4 ${kind} ${phase}: ${context()}`;
      if (result[kind]?.state === 'finished_ok') {
        expect(okAt[kind], where).not.toBeNull();
        expect(now[kind], where).toBe(Math.max(previous[kind] ?? 0, okAt[kind] as number));
      } else {
        expect(now[kind], where).toBe(previous[kind]);
      }
      expect(result[kind]?.lastUpToDate, where).toBe(now[kind]);
    }
  };

  const first = governor(c, local, peer, clock);
  const lud0 = await lastUpToDate();
  const started = await drive(clock, first.g.start(), context);
  const plan = planOf(sc, checkDowntime(c, sc, first.g, context()));
  await checkI4(first.okAt, started, lud0, 'start-up');
  checkPartial(
    before,
    sc.remote,
    plan,
    recorder.live,
    await dump(local),
    `after start-up: ${context()}`,
  );
  await recorder.record('between');
  let result = started;
  const firstFailed = states(started).includes('finished_with_error');
  if (firstFailed) {
    faulty.heal();
    first.okAt.timeSeries = null;
    first.okAt.events = null;
    const lud1 = await lastUpToDate();
    result = await drive(clock, first.g.sync(), context);
    await checkI4(first.okAt, result, lud1, 'healed sync');
  }
  expect(
    states(result),
    `${JSON.stringify([result.timeSeries?.errors, result.events?.errors])}: ${context()}`,
  ).toEqual(['finished_ok', 'finished_ok']);
  for (const kind of KINDS) {
    for (const summary of [started[kind], result[kind]]) {
      if (summary?.clockSkewMs === null) continue;
      expect(summary?.clockSkewMs, `measured skew ${kind}: ${context()}`).toBe(sc.s);
    }
    expect(first.skewWarned[kind], `skew warning ${kind}: ${context()}`).toBe(
      Math.abs(sc.s) > c.overlapMs,
    );
    expect(
      (await readLedger(local, `edge-ha:${kind}`)).gaps,
      `ledger ${kind}: ${context()}`,
    ).toEqual([]);
  }
  expect(first.g.status().caughtUp, context()).toBe(true);
  const synced = await dump(local);
  checkDowntimeRecovered(sc, plan, before, recorder.live, synced, context());
  expect(synced, `model state: ${context()}`).toEqual(
    expectedState(before, sc.remote, plan, recorder.live),
  );

  // I3: the same start-up again (the heartbeat says H again, the clock is back at S) syncs the
  // same gaps and changes nothing; LastUpToDate does not move back (I4).
  await first.g.close();
  faulty.heal();
  await recorder.record(null);
  const settled = await dump(local);
  await local.writeSyncState('edge-ha:heartbeat', {
    format: 'edge-ha.heartbeat',
    version: 2,
    at: H,
    clean: c.clean,
    intervalMs: c.intervalMs,
  });
  clock.set(sc.startup);
  const again = governor(c, local, peer, clock);
  const lud2 = await lastUpToDate();
  const repeated = await drive(clock, again.g.start(), context);
  expect(states(repeated), context()).toEqual(['finished_ok', 'finished_ok']);
  expect(repeated.events?.eventsInserted, `I3 events: ${context()}`).toBe(0);
  expect(await dump(local), `I3: ${context()}`).toEqual(settled);
  await checkI4(again.okAt, repeated, lud2, 'repeated start-up');
  for (const kind of KINDS) {
    expect((await lastUpToDate())[kind], `I4 monotonic ${kind}: ${context()}`).toBe(lud2[kind]);
  }
  await again.g.close();
  return { firstFailed, liveDuringRuns: recorder.duringRuns() };
}

async function runBeyond(c: Case): Promise<{ connected: boolean }> {
  const sc = scenario(c);
  const clock = new ManualClock(sc.startup);
  const remote = new MemoryStorageAdapter(sc.remote);
  const local = await seedLocal(c, sc);
  const before = await dump(local);
  const recorder = liveRecorder(c, sc, local);
  const faulty = faultyPeer(localPeer(remote, { clock, instanceId: 'b' }), {
    ...c.faults,
    clock,
    skewMs: sc.s,
  });
  const peer = interleavingPeer(faulty, (call) => recorder.record(call));
  const context = (): string => `${faulty.describe()} S=${sc.startup}`;
  const ledgers = async () =>
    Object.fromEntries(
      await Promise.all(
        KINDS.map(async (kind) => [kind, await local.readSyncState(`edge-ha:${kind}`)]),
      ),
    );
  const { g } = governor(c, local, peer, clock);
  const started = await drive(clock, g.start(), context);
  // The ledgers hold the pending downtime, as start-up added it before the runs.
  const expectedLedger = {
    format: 'edge-ha.deputy',
    version: 2,
    lastUpToDate: c.priorLedger ? H - 100_000 : null,
    nextGapId: 2,
    gaps: [
      {
        id: 1,
        from: checkDowntime(c, sc, g, context()),
        to: sc.startup,
        mode: 'overwrite',
        reason: 'downtime',
        addedAt: sc.startup,
        pendingMargins: { heartbeat: H },
      },
    ],
    unrecoverable: [],
  };
  let connected = false;
  for (const result of [started, null]) {
    let run = result;
    if (run === null) {
      faulty.heal();
      run = await drive(clock, g.sync(), context);
    }
    for (const kind of KINDS) {
      const summary = run[kind];
      expect(summary?.state, context()).toBe('finished_with_error');
      if (summary?.clockSkewMs !== null || result === null) {
        connected = true;
        expect(
          summary?.errors.map((e) => e.code),
          context(),
        ).toEqual(['SYNC_CLOCK_SKEW']);
        expect(summary?.clockSkewMs, context()).toBe(sc.s);
      }
    }
    // Nothing changed: the data is the node's own (and what it recorded live), the ledgers still
    // hold the pending downtime, no progress was written.
    const unchanged = expectedState(
      before,
      sc.remote,
      { overwrite: [], merge: [], items: [] },
      recorder.live,
    );
    expect(await dump(local), `I10 beyond maxClockSkewMs changed data: ${context()}`).toEqual(
      unchanged,
    );
    const stored = await ledgers();
    for (const kind of KINDS) {
      expect(stored[kind], `I10 ledger ${kind}: ${context()}`).toEqual(expectedLedger);
      for (const name of [...ITEMS, '@events']) {
        expect(
          await local.readSyncState(`edge-ha:${kind}:progress:${name}`),
          context(),
        ).toBeUndefined();
      }
    }
    expect(g.status().caughtUp).toBe(false);
  }
  await g.close();
  return { connected };
}

describe('downtime recovery with clock skew (SPEC §6 I1–I4, I9, I10)', () => {
  it('within maxClockSkewMs: no remote record of the downtime is lost, no own point changes', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb(inRangeSkew), async (c) => {
        await runInRange(c);
      }),
      fcParams(300),
    );
  }, 120_000);

  it('beyond maxClockSkewMs: the runs fail with SYNC_CLOCK_SKEW and change nothing', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb(beyondSkew), async (c) => {
        await runBeyond(c);
      }),
      fcParams(100),
    );
  }, 60_000);

  it('the cases are not vacuous: faulty start-ups fail, live data lands during runs', async () => {
    let failed = 0;
    let live = 0;
    for (const c of fc.sample(caseArb(inRangeSkew), { numRuns: 60, seed: 4242 })) {
      const stats = await runInRange(c);
      if (stats.firstFailed) failed++;
      live += stats.liveDuringRuns;
    }
    expect(failed).toBeGreaterThan(10);
    expect(live).toBeGreaterThan(10);
  }, 60_000);
});

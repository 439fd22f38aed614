/**
 * Deputy model test under injected faults (SPEC §6 I1–I4, I7, I9).
 *
 * Each case: random remote and local data, a random set of gaps (merge, or overwrite where the
 * test explicitly asks the remote to win), item list, page size and concurrency, driven by two
 * deputies or by a governor (reportGap, resync, sync); live points and events the
 * node records before, during (between remote calls) and after the runs; a faulty phase (a fault
 * schedule or a seed for the faulty peer, a skewed remote clock, sometimes a storage crash before
 * or after an adapter call commits); then a healthy phase (the remote heals, sometimes after a
 * restart on the same storage) that must end finished_ok in exactly the model state; then the
 * same sync again (idempotence).
 *
 * EDGE_HA_RELIABILITY_RUNS raises the number of cases, EDGE_HA_SEED (+ EDGE_HA_PATH) replays a
 * failure printed by fast-check.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventDeputy, TimeSeriesDeputy } from '../../src/deputy/deputy.js';
import type { DeputyOptions, DeputyRunSummary } from '../../src/deputy/types.js';
import { HAGovernor } from '../../src/governor/governor.js';
import { localPeer } from '../../src/peer/local.js';
import type { RemotePeer } from '../../src/peer/types.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { Point } from '../../src/storage/types.js';
import {
  type FaultyStorage,
  faultyPeer,
  faultyStorage,
  type PeerFault,
} from '../../src/testing/faults/index.js';
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
  readLedger,
  recordLive,
  recordLiveEvent,
  type SyncPlan,
} from './helpers.js';

const ITEMS = ['a', 'b', 'c'] as const;
const EVENT_IDS = Array.from({ length: 12 }, (_, i) => `e${i}`);
const SPAN = 60;

const pointsArb = fc.uniqueArray(
  fc.record({ t: fc.integer({ min: 0, max: SPAN - 1 }), v: fc.integer({ min: 0, max: 99 }) }),
  { selector: (p) => p.t, maxLength: 8 },
);
const seriesArb = fc.record({ a: pointsArb, b: pointsArb, c: pointsArb });
/** Events on a coarse grid, so that several share a timestamp (also across a page boundary). */
const eventsArb = (tag: string) =>
  fc.uniqueArray(
    fc.record({
      id: fc.constantFrom(...EVENT_IDS),
      t: fc.integer({ min: 0, max: SPAN / 5 - 1 }).map((k) => 5 * k),
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

const gapArb = fc
  .record({
    from: fc.integer({ min: 0, max: SPAN - 5 }),
    length: fc.integer({ min: 0, max: 30 }),
    mode: fc.constantFrom<'merge' | 'overwrite'>('merge', 'merge', 'overwrite'),
  })
  .map(({ from, length, mode }) => ({ from, to: from + length, mode }));

/** When the node records a live record: before the sync, before remote call n, or between runs. */
const whenArb = fc.oneof(
  fc.constant<'before'>('before'),
  fc.constant<'between'>('between'),
  fc.integer({ min: 0, max: 40 }),
);

const caseArb = fc.record({
  remotePoints: seriesArb,
  localPoints: seriesArb,
  remoteEvents: eventsArb('remote'),
  localEvents: eventsArb('local'),
  /** Item c is not trended by the remote in some cases (skipped, not a failure). */
  remoteTrendsC: fc.boolean(),
  /** Item r is trended by the remote only (synced with the item lists 'remote' and 'union'). */
  remoteOnly: fc.option(pointsArb, { nil: null }),
  itemList: fc.constantFrom<'local' | 'remote' | 'union'>('local', 'remote', 'union'),
  driver: fc.constantFrom<'deputies' | 'governor'>('deputies', 'deputies', 'governor'),
  gaps: fc.array(gapArb, { minLength: 1, maxLength: 4 }),
  /** The last gap is passed to run(window, { mode }) instead of addGap. */
  lastViaRun: fc.boolean(),
  live: fc.array(
    fc.record({
      item: fc.constantFrom(...ITEMS),
      t: fc.integer({ min: 0, max: SPAN - 1 }),
      when: whenArb,
    }),
    { maxLength: 6 },
  ),
  liveEvents: fc.array(fc.record({ t: fc.integer({ min: 0, max: SPAN - 1 }), when: whenArb }), {
    maxLength: 2,
  }),
  pageSize: fc.integer({ min: 1, max: 4 }),
  concurrency: fc.integer({ min: 1, max: 3 }),
  faults: faultsArb,
  skewMs: fc.integer({ min: -3000, max: 3000 }),
  crash: crashArb,
  restart: fc.boolean(),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

type Kind = 'timeSeries' | 'events';
const KINDS: readonly Kind[] = ['timeSeries', 'events'];
type Summaries = Record<Kind, DeputyRunSummary>;

type GapRequest = {
  readonly from: number;
  readonly to: number;
  readonly mode: 'merge' | 'overwrite';
};

/** One process's sync: two deputies, or a governor. Records each run's finished_ok times. */
interface Node {
  readonly okAt: Record<Kind, number | null>;
  /** Adds gaps to the ledgers without syncing. */
  addGaps(gaps: readonly GapRequest[]): Promise<void>;
  /** Syncs the ledgers, after adding `window` as a requested gap in `mode`. */
  run(window?: GapRequest): Promise<Summaries>;
}

function recordOk(okAt: Record<Kind, number | null>) {
  return (event: { to: string; kind: Kind; at: number }): void => {
    if (event.to === 'finished_ok') okAt[event.kind] = event.at;
  };
}

class DeputyNode implements Node {
  readonly #series: TimeSeriesDeputy;
  readonly #events: EventDeputy;
  readonly okAt: Record<Kind, number | null> = { timeSeries: null, events: null };

  constructor(options: DeputyOptions) {
    this.#series = new TimeSeriesDeputy(options);
    this.#events = new EventDeputy(options);
    this.#series.on('transition', recordOk(this.okAt));
    this.#events.on('transition', recordOk(this.okAt));
  }

  async addGaps(gaps: readonly GapRequest[]): Promise<void> {
    for (const gap of gaps) {
      await this.#series.addGap({ ...gap, reason: 'requested' });
      await this.#events.addGap({ ...gap, reason: 'requested' });
    }
  }

  async run(window?: GapRequest): Promise<Summaries> {
    this.okAt.timeSeries = null;
    this.okAt.events = null;
    const options = window === undefined ? {} : { mode: window.mode };
    const [timeSeries, events] = await Promise.all([
      this.#series.run(window, options),
      this.#events.run(window, options),
    ]);
    return { timeSeries, events };
  }
}

/** The governor's host API: reportGap (merge only), resync(window, { mode }), sync(). */
class GovernorNode implements Node {
  readonly #governor: HAGovernor;
  readonly okAt: Record<Kind, number | null> = { timeSeries: null, events: null };

  constructor(options: DeputyOptions) {
    const { storage, peer, ...rest } = options;
    this.#governor = new HAGovernor({ storage, peers: [peer as RemotePeer], ...rest });
    this.#governor.on('transition', recordOk(this.okAt));
  }

  async addGaps(gaps: readonly GapRequest[]): Promise<void> {
    for (const gap of gaps) {
      expect(gap.mode, 'a host reports merge gaps only').toBe('merge');
      await this.#governor.reportGap(gap);
    }
  }

  async run(window?: GapRequest): Promise<Summaries> {
    this.okAt.timeSeries = null;
    this.okAt.events = null;
    const result =
      window === undefined
        ? await this.#governor.sync()
        : await this.#governor.resync(window, { mode: window.mode });
    return {
      timeSeries: result.timeSeries as DeputyRunSummary,
      events: result.events as DeputyRunSummary,
    };
  }
}

/** What one case saw (for the non-vacuity check). */
interface CaseStats {
  readonly firstFailed: boolean;
  readonly injected: number;
  readonly crashed: boolean;
  readonly liveDuringRun: number;
}

async function runCase(c: Case): Promise<CaseStats> {
  const clock = new ManualClock(1_000_000);
  const remotePoints: Record<string, readonly Point[]> = {
    a: c.remotePoints.a,
    b: c.remotePoints.b,
  };
  if (c.remoteTrendsC) remotePoints.c = c.remotePoints.c;
  if (c.remoteOnly !== null) remotePoints.r = c.remoteOnly;
  const remoteItems = Object.keys(remotePoints).sort();
  const remote = new MemoryStorageAdapter({ points: remotePoints, events: c.remoteEvents });
  await remote.registerItems(remoteItems);
  const local = new MemoryStorageAdapter({ points: c.localPoints, events: c.localEvents });
  await local.registerItems(ITEMS);
  const before = await dump(local);
  const remoteState = await dump(remote);
  // The host's request: gaps added to the ledger, and maybe one more passed to the run. A
  // governor's host can only report merge gaps; an overwrite window goes through resync().
  const [last, ...others] = [...c.gaps].reverse();
  const window = c.lastViaRun ? last : undefined;
  const added = (c.lastViaRun ? others.reverse() : c.gaps).filter(
    (gap) => c.driver === 'deputies' || gap.mode === 'merge',
  );
  const gaps = window === undefined ? added : [...added, window];
  const request = async (node: Node): Promise<Summaries> => {
    await node.addGaps(added);
    return node.run(window);
  };
  const plan: SyncPlan = {
    overwrite: gaps.filter((g) => g.mode === 'overwrite'),
    merge: gaps.filter((g) => g.mode === 'merge'),
    // The item list, among the items the remote trends (a local item it lacks is skipped).
    items:
      c.itemList === 'local' ? ITEMS.filter((item) => remoteItems.includes(item)) : remoteItems,
  };
  const skipped = c.itemList !== 'remote' && !c.remoteTrendsC ? 1 : 0;
  // The node records live data only where no overwrite window was asked for (I9).
  const livePlan = c.live
    .filter((entry) => !inAny(entry.t, plan.overwrite))
    .map((entry, i) => ({ ...entry, done: false, point: { t: entry.t, v: `live-${i}` } }));
  const liveEventPlan = c.liveEvents.map((entry, i) => ({
    ...entry,
    done: false,
    event: { id: `live-${i}`, t: entry.t, body: 'live' },
  }));
  const live: Live = emptyLive();
  let liveDuringRun = 0;
  /** Records the live data planned for `when` (everything left when `when` is `null`). */
  const record = async (when: 'before' | 'between' | number | null): Promise<number> => {
    let recorded = 0;
    for (const entry of livePlan) {
      if (entry.done || (when !== null && entry.when !== when)) continue;
      entry.done = true;
      await recordLive(local, live, entry.item, entry.point);
      recorded++;
    }
    for (const entry of liveEventPlan) {
      if (entry.done || (when !== null && entry.when !== when)) continue;
      entry.done = true;
      await recordLiveEvent(local, live, entry.event);
      recorded++;
    }
    return recorded;
  };
  await record('before');

  const faulty = faultyPeer(localPeer(remote, { clock, instanceId: 'remote' }), {
    ...c.faults,
    clock,
    skewMs: c.skewMs,
  });
  const peer = interleavingPeer(faulty, async (call) => {
    liveDuringRun += await record(call);
  });
  const storage: FaultyStorage = faultyStorage(local, c.crash ?? {});
  const base = {
    peer,
    clock,
    items: c.itemList,
    pageSize: c.pageSize,
    concurrency: c.concurrency,
    retry: { retries: 2, backoff: (attempt: number) => 50 * attempt },
    replyTimeoutMs: 1000,
  };
  const context = (): string =>
    `${faulty.describe()} crash=${JSON.stringify(storage.crashed)} driver=${c.driver} added=${JSON.stringify(added)} window=${JSON.stringify(window)}`;
  const newNode = (storage: FaultyStorage): Node =>
    c.driver === 'deputies'
      ? new DeputyNode({ ...base, storage })
      : new GovernorNode({ ...base, storage });
  const lastUpToDate = async (): Promise<Record<Kind, number | null>> => ({
    timeSeries: (await readLedger(local, 'edge-ha:timeSeries')).lastUpToDate,
    events: (await readLedger(local, 'edge-ha:events')).lastUpToDate,
  });
  /** I4 after a run that was not interrupted by a crash. */
  const checkLastUpToDate = async (
    node: Node,
    summaries: Summaries,
    previous: Record<Kind, number | null>,
    phase: string,
  ): Promise<void> => {
    const now = await lastUpToDate();
    for (const kind of KINDS) {
      const where = `I4 ${kind} ${phase}: ${context()}`;
      if (summaries[kind].state === 'finished_ok') {
        expect(node.okAt[kind], where).not.toBeNull();
        // The clock only moves forward here, so LastUpToDate is exactly the transition's time.
        expect(now[kind], where).toBe(node.okAt[kind]);
        expect(now[kind], where).toBeGreaterThanOrEqual(previous[kind] ?? Number.MIN_SAFE_INTEGER);
      } else {
        expect(now[kind], where).toBe(previous[kind]);
      }
      expect(summaries[kind].lastUpToDate, where).toBe(now[kind]);
    }
  };

  // Faulty phase: the host asks for the gaps, the node syncs them.
  const node = newNode(storage);
  const lud0 = await lastUpToDate();
  let first: Summaries | null = null;
  try {
    first = await drive(clock, request(node), context);
  } catch (error) {
    // Only a crash may make the host's calls reject.
    expect(storage.crashed, `${String(error)}: ${context()}`).not.toBeNull();
  }
  checkPartial(
    before,
    remoteState,
    plan,
    live,
    await dump(local),
    `after the faulty run: ${context()}`,
  );
  expect(storage.maxBatch, `I7: ${context()}`).toBeLessThanOrEqual(c.pageSize);
  if (storage.crashed === null && first !== null) {
    await checkLastUpToDate(node, first, lud0, 'faulty run');
  }
  await record('between');

  // Healthy phase: the remote is back; after a crash (or sometimes anyway) the process restarts
  // on the same storage: the durable ledger says what is left. After a crash the host repeats
  // the request that failed.
  faulty.heal();
  const restarted = storage.crashed !== null || c.crash !== null || c.restart;
  const healthyStorage = restarted ? faultyStorage(local) : storage;
  const healthy = restarted ? newNode(healthyStorage) : node;
  const lud1 = await lastUpToDate();
  const second = await drive(
    clock,
    storage.crashed !== null ? request(healthy) : healthy.run(),
    context,
  );
  expect([second.timeSeries.errors, second.events.errors], context()).toEqual([[], []]);
  expect([second.timeSeries.state, second.events.state], context()).toEqual([
    'finished_ok',
    'finished_ok',
  ]);
  await checkLastUpToDate(healthy, second, lud1, 'healthy run');
  const expected = expectedState(before, remoteState, plan, live);
  expect(await dump(local), `I1/I2/I9 model state: ${context()}`).toEqual(expected);
  expect(healthyStorage.maxBatch, `I7: ${context()}`).toBeLessThanOrEqual(c.pageSize);
  for (const kind of KINDS) {
    expect(
      (await readLedger(local, `edge-ha:${kind}`)).gaps,
      `ledger ${kind}: ${context()}`,
    ).toEqual([]);
    if (second[kind].clockSkewMs !== null) {
      expect(second[kind].clockSkewMs, `skew: ${context()}`).toBe(c.skewMs);
    }
  }
  if (second.timeSeries.items.total > 0) {
    expect(second.timeSeries.items.skipped, context()).toBe(skipped);
  }

  // I3: the same sync again changes nothing and duplicates nothing (live data recorded meanwhile
  // stays too).
  await record(null);
  const settled = await dump(local);
  expect(settled, context()).toEqual(expectedState(before, remoteState, plan, live));
  const lud2 = await lastUpToDate();
  const third = await drive(clock, request(healthy), context);
  expect(
    [third.timeSeries.state, third.events.state],
    `${JSON.stringify([third.timeSeries.errors, third.events.errors])}: ${context()}`,
  ).toEqual(['finished_ok', 'finished_ok']);
  expect(third.events.eventsInserted, `I3: ${context()}`).toBe(0);
  expect(await dump(local), `I3: ${context()}`).toEqual(settled);
  await checkLastUpToDate(healthy, third, lud2, 'repeated run');
  return {
    firstFailed:
      first === null ||
      first.timeSeries.state !== 'finished_ok' ||
      first.events.state !== 'finished_ok',
    injected: faulty.injected.length,
    crashed: storage.crashed !== null,
    liveDuringRun,
  };
}

/**
 * Events that share timestamps, read in tiny pages by runs that keep failing (permanent faults,
 * retries off, sometimes a crash): each run resumes from its durable progress, and no event of
 * a shared timestamp may be skipped or doubled when a read resumes there (I1, I3, I5).
 */
const resumeCaseArb = fc.record({
  remote: fc.uniqueArray(
    fc.record({ id: fc.constantFrom(...EVENT_IDS), t: fc.constantFrom(0, 5, 10) }),
    { selector: (e) => e.id, minLength: 1, maxLength: 10 },
  ),
  local: fc.uniqueArray(fc.constantFrom(...EVENT_IDS), { maxLength: 3 }),
  pageSize: fc.integer({ min: 1, max: 3 }),
  faults: fc.array(
    fc.option(
      fc.constantFrom<PeerFault>(
        { kind: 'permanent', code: 'PEER_AUTH' },
        { kind: 'transient', code: 'PEER_TIMEOUT' },
        { kind: 'truncate' },
      ),
      { nil: null, freq: 2 },
    ),
    { maxLength: 40 },
  ),
  crashAt: fc.option(fc.integer({ min: 1, max: 30 }), { nil: null }),
});

type ResumeCase = typeof resumeCaseArb extends fc.Arbitrary<infer T> ? T : never;

async function runResumeCase(c: ResumeCase): Promise<void> {
  const clock = new ManualClock(1_000_000);
  const remoteEvents = c.remote.map((e) => ({ ...e, body: 'remote' }));
  const remote = new MemoryStorageAdapter({ events: remoteEvents });
  const local = new MemoryStorageAdapter({
    events: c.local.map((id) => ({ id, t: 7, body: 'local' })),
  });
  const before = await dump(local);
  const peer = faultyPeer(localPeer(remote, { clock }), { clock, schedule: c.faults });
  const context = (): string => `${peer.describe()} crashAt=${String(c.crashAt)}`;
  const window = { from: 0, to: 20 };
  const options = {
    peer,
    clock,
    pageSize: c.pageSize,
    retry: { retries: 0 },
    replyTimeoutMs: 1000,
  };
  let storage = faultyStorage(local, c.crashAt === null ? {} : { crashAt: c.crashAt });
  let deputy = new EventDeputy({ ...options, storage });
  let requested = false;
  let summary: DeputyRunSummary | null = null;
  for (let attempt = 0; attempt < 12 && summary?.state !== 'finished_ok'; attempt++) {
    if (attempt === 10) peer.heal();
    if (storage.crashed !== null) {
      // Restart on the same store; the host repeats its request.
      storage = faultyStorage(local);
      deputy = new EventDeputy({ ...options, storage });
      requested = false;
    }
    if (!requested) {
      const added = await deputy.addGap({ ...window, mode: 'merge', reason: 'requested' }).then(
        () => true,
        () => false,
      );
      if (!added) continue;
      requested = true;
    }
    summary = await drive(clock, deputy.run(), context);
  }
  expect(summary?.state, context()).toBe('finished_ok');
  const plan: SyncPlan = { overwrite: [], merge: [window], items: [] };
  expect(await dump(local), context()).toEqual(
    expectedState(before, await dump(remote), plan, emptyLive()),
  );
}

/**
 * A gap reported while a sync runs (a write this node missed, delivered to the remote meanwhile):
 * the remote gets new records in the middle of a run, the host reports their window at once, and
 * once the ledger is empty again every one of them is local, also when the running sync had
 * already read past that time (I1).
 */
const midRunCaseArb = fc.record({
  remotePoints: seriesArb,
  localPoints: seriesArb,
  gaps: fc.array(
    gapArb.map((gap) => ({ ...gap, mode: 'merge' as const })),
    { minLength: 1, maxLength: 3 },
  ),
  reports: fc.array(
    fc.record({
      call: fc.integer({ min: 0, max: 20 }),
      item: fc.constantFrom(...ITEMS),
      t: fc.integer({ min: 0, max: SPAN - 1 }),
      length: fc.integer({ min: 1, max: 10 }),
      event: fc.boolean(),
    }),
    { minLength: 1, maxLength: 3 },
  ),
  pageSize: fc.integer({ min: 1, max: 3 }),
  concurrency: fc.integer({ min: 1, max: 3 }),
  driver: fc.constantFrom<'deputies' | 'governor'>('deputies', 'governor'),
});
type MidRunCase = typeof midRunCaseArb extends fc.Arbitrary<infer T> ? T : never;

async function runMidRunCase(c: MidRunCase): Promise<number> {
  const clock = new ManualClock(1_000_000);
  const remote = new MemoryStorageAdapter({ points: c.remotePoints });
  await remote.registerItems(ITEMS);
  const local = new MemoryStorageAdapter({ points: c.localPoints });
  await local.registerItems(ITEMS);
  const before = await dump(local);
  const reported: GapRequest[] = [];
  let node: Node | null = null;
  let duringRun = 0;
  let running = false;
  const peer = interleavingPeer(localPeer(remote, { clock }), async (call) => {
    for (const [i, report] of c.reports.entries()) {
      if (report.call !== call || node === null) continue;
      // The remote received a record this node missed; the host reports its window.
      const t = report.t;
      if (report.event) {
        await remote.insertEventsIfAbsent([{ id: `late-${i}`, t, body: i }]);
      } else {
        // A new record, never a changed one (merge keeps what the node already has).
        const there = await remote.readPoints(report.item, { from: t, to: t + 1 }, { limit: 1 });
        if (there.items.length > 0) continue;
        await remote.appendPoints(report.item, [{ t, v: `late ${i}` }]);
      }
      const gap: GapRequest = { from: t, to: t + report.length, mode: 'merge' };
      reported.push(gap);
      await node.addGaps([gap]);
      if (running) duringRun++;
    }
  });
  const options = {
    storage: local,
    peer,
    clock,
    pageSize: c.pageSize,
    concurrency: c.concurrency,
    retry: { retries: 0 },
  };
  node = c.driver === 'deputies' ? new DeputyNode(options) : new GovernorNode(options);
  const context = (): string => `driver=${c.driver} reported=${JSON.stringify(reported)}`;
  await node.addGaps(c.gaps);
  let summaries: Summaries | null = null;
  // The reports land during the first runs; then the ledger must drain.
  for (let attempt = 0; attempt < 5; attempt++) {
    running = true;
    summaries = await drive(clock, node.run(), context);
    running = false;
    const left = await Promise.all(KINDS.map((kind) => readLedger(local, `edge-ha:${kind}`)));
    if (left.every((ledger) => ledger.gaps.length === 0)) break;
  }
  expect([summaries?.timeSeries.state, summaries?.events.state], context()).toEqual([
    'finished_ok',
    'finished_ok',
  ]);
  for (const kind of KINDS) {
    expect((await readLedger(local, `edge-ha:${kind}`)).gaps, context()).toEqual([]);
  }
  const plan: SyncPlan = { overwrite: [], merge: [...c.gaps, ...reported], items: ITEMS };
  expect(await dump(local), `I1 a reported gap was lost: ${context()}`).toEqual(
    expectedState(before, await dump(remote), plan, emptyLive()),
  );
  return duringRun;
}

describe('deputy model under injected faults (SPEC §6 I1–I4, I7, I9)', () => {
  it('a faulty phase then a healthy phase always reaches finished_ok and the model state', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        await runCase(c);
      }),
      fcParams(400),
    );
  }, 120_000);

  it('interrupted event reads resume without skipping or doubling events of a shared timestamp', async () => {
    await fc.assert(fc.asyncProperty(resumeCaseArb, runResumeCase), fcParams(200));
  }, 60_000);

  it('a gap reported while a sync runs is synced before the ledger is empty again', async () => {
    let duringRun = 0;
    await fc.assert(
      fc.asyncProperty(midRunCaseArb, async (c) => {
        duringRun += await runMidRunCase(c);
      }),
      fcParams(200),
    );
    expect(duringRun).toBeGreaterThan(20);
  }, 60_000);

  it('the cases are not vacuous: faults, crashes, failed runs and live data during runs occur', async () => {
    const sample = fc.sample(caseArb, { numRuns: 100, seed: 12345 });
    let failed = 0;
    let injected = 0;
    let crashed = 0;
    let liveDuringRun = 0;
    for (const c of sample) {
      const stats = await runCase(c);
      if (stats.firstFailed) failed++;
      injected += stats.injected;
      if (stats.crashed) crashed++;
      liveDuringRun += stats.liveDuringRun;
    }
    expect(failed).toBeGreaterThan(15);
    expect(injected).toBeGreaterThan(100);
    expect(crashed).toBeGreaterThan(5);
    expect(liveDuringRun).toBeGreaterThan(10);
  }, 60_000);
});

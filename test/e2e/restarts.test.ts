/**
 * Two SQLite nodes over real HTTP: B is down for a while and catches up from A; later A is
 * restarted cleanly while B keeps recording, and catches up from B. A must keep every point it
 * recorded itself, including those B never got (SPEC §4.2, I1, I9).
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HAGovernor } from '../../src/governor/governor.js';
import type { EventRecord, Point } from '../../src/storage/types.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import {
  at,
  dumpPoints,
  E2ENode,
  QUIET,
  readAllEvents,
  readAllPoints,
  storedLedger,
  tempDir,
} from './helpers.js';

const T0 = 1_700_000_000_000;
const S = 1_000;
const ITEMS = ['line-1/temperature', 'line-1/speed'];
const OVERLAP_MS = 2_000;
const HEARTBEAT_MS = 5_000;

let tmp: Awaited<ReturnType<typeof tempDir>>;
let clock: ManualClock;
let a: E2ENode;
let b: E2ENode;

beforeEach(async () => {
  tmp = await tempDir();
  clock = new ManualClock(T0);
  a = E2ENode.in(tmp.dir, 'node-a', clock);
  b = E2ENode.in(tmp.dir, 'node-b', clock);
});

afterEach(async () => {
  await a.stop();
  await b.stop();
  await tmp.cleanup();
});

function governorOf(node: E2ENode, peer: E2ENode, extra: { maxRecoveryMs?: number } = {}) {
  const governor = new HAGovernor({
    storage: node.db,
    peers: [peer.peer()],
    clock,
    heartbeatIntervalMs: HEARTBEAT_MS,
    overlapMs: OVERLAP_MS,
    ...QUIET,
    ...extra,
  });
  node.governor = governor;
  return governor;
}

/** What each node recorded itself, as the test wrote it. */
const recorded = new Map<E2ENode, Map<string, Point[]>>();
const recordedEvents = new Map<E2ENode, EventRecord[]>();

/**
 * The nodes record one sample per second in `[fromS, toS]` (seconds after T0) on every item,
 * the same sample on each (a write delivered to every running copy), and an event every 5 s.
 * The clock ends at `toS`.
 */
async function record(
  nodes: readonly E2ENode[],
  fromS: number,
  toS: number,
  tag: string,
): Promise<void> {
  for (let s = fromS; s <= toS; s++) {
    const t = T0 + s * S;
    await clock.advanceAsync(Math.max(0, t - clock.now()));
    for (const node of nodes) {
      const mine = recorded.get(node) ?? new Map<string, Point[]>();
      recorded.set(node, mine);
      for (const [index, item] of ITEMS.entries()) {
        const point: Point = { t, v: `${tag}:${index}:${s}` };
        await node.db.appendPoints(item, [point]);
        mine.set(item, [...(mine.get(item) ?? []), point]);
      }
      if (s % 5 === 0) {
        const event: EventRecord = { id: `${tag}-${s}`, t, body: { s, tag } };
        await node.db.insertEventsIfAbsent([event]);
        recordedEvents.set(node, [...(recordedEvents.get(node) ?? []), event]);
      }
    }
  }
}

describe('restarts over HTTP with SQLite (B down and back, then A restarted cleanly)', () => {
  it('A keeps every point it recorded, gets what B recorded while A was down, and ends caught up', async () => {
    recorded.clear();
    recordedEvents.clear();
    // t = 0 s: both start for the first time (nothing to sync).
    for (const node of [a, b]) {
      await node.open();
      await node.db.registerItems(ITEMS);
    }
    for (const [node, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      const first = await governorOf(node, peer).start();
      expect(first.timeSeries?.state).toBe('finished_ok');
    }
    await record([a, b], 1, 20, 'both');

    // t = 20 s: B goes down (clean stop); A alone records.
    await b.stop();
    await record([a], 21, 40, 'a-alone');
    await clock.advanceAsync(T0 + 50 * S - clock.now());

    // t = 50 s: B comes back. It may only recover 20 s back (maxRecoveryMs), so A's points of
    // [21 s, 30 s) stay on A alone; the rest of B's downtime is pulled from A.
    await b.open();
    const bBack = await governorOf(b, a, { maxRecoveryMs: 20 * S }).start();
    expect(bBack.timeSeries?.state).toBe('finished_ok');
    expect(bBack.events?.state).toBe('finished_ok');
    expect(b.governor?.status().unrecoverable.timeSeries?.length).toBeGreaterThan(0);
    const item0 = ITEMS[0] as string;
    const bHas = await readAllPoints(b.db, item0);
    expect(at(bHas, T0 + 35 * S)?.v).toBe('a-alone:0:35');
    expect(at(bHas, T0 + 25 * S)).toBeUndefined();

    await record([a, b], 51, 70, 'both-again');

    // t = 70 s: A is stopped cleanly; B keeps recording through A's downtime.
    const aUpToDateBefore = (await storedLedger(a.db, 'edge-ha:timeSeries'))?.lastUpToDate;
    await a.stop();
    await record([b], 71, 90, 'b-alone');
    await clock.advanceAsync(T0 + 100 * S - clock.now());

    // The test must exercise the new rule: edge-ha 0.1.0 would have let B win in
    // [min(LastUpToDate, heartbeat) - overlap, start-up), i.e. all of A's previous run. Inside
    // that span A holds points B does not have, so 0.1.0 would have deleted them.
    await a.open();
    const heartbeat = (await a.db.readSyncState('edge-ha:heartbeat')) as {
      at: number;
      clean: boolean;
    };
    expect(heartbeat).toMatchObject({ at: T0 + 70 * S, clean: true });
    expect(aUpToDateBefore).toBe(T0);
    const legacyFrom = Math.min(aUpToDateBefore as number, heartbeat.at) - OVERLAP_MS;
    const legacyTo = clock.now();
    const bPoints = await dumpPoints(b.db, ITEMS);
    const onlyOnA: { item: string; point: Point }[] = [];
    for (const [item, points] of recorded.get(a) ?? []) {
      for (const point of points) {
        const inLegacyWindow = point.t >= legacyFrom && point.t < legacyTo;
        if (inLegacyWindow && at(bPoints[item] ?? [], point.t)?.v !== point.v) {
          onlyOnA.push({ item, point });
        }
      }
    }
    expect(onlyOnA.length).toBe(2 * 9); // [21 s, 29 s] on both items

    // t = 100 s: A restarts on the same file and catches up from B.
    const aBack = await governorOf(a, b).start();
    expect(aBack.timeSeries?.state).toBe('finished_ok');
    expect(aBack.events?.state).toBe('finished_ok');
    // A clean stop at 70 s: A ran through that millisecond, the overwrite starts after it.
    expect(aBack.timeSeries?.gaps.map((gap) => [gap.from, gap.to, gap.mode, gap.reason])).toEqual([
      [T0 + 70 * S - OVERLAP_MS, T0 + 70 * S + 1, 'merge', 'margin'],
      [T0 + 70 * S + 1, T0 + 100 * S, 'overwrite', 'downtime'],
      [T0 + 100 * S, T0 + 100 * S + OVERLAP_MS, 'merge', 'margin'],
    ]);

    const aNow = await dumpPoints(a.db, ITEMS);
    // Every point A recorded itself is still there with its value, those only A has included.
    for (const [item, points] of recorded.get(a) ?? []) {
      for (const point of points)
        expect(at(aNow[item] ?? [], point.t), `${item} @ ${point.t}`).toEqual(point);
    }
    for (const { item, point } of onlyOnA) expect(at(aNow[item] ?? [], point.t)).toEqual(point);
    // What B recorded while A was down arrived in A.
    for (const [item, points] of recorded.get(b) ?? []) {
      for (const point of points.filter((p) => p.t > T0 + 70 * S)) {
        expect(at(aNow[item] ?? [], point.t), `${item} @ ${point.t}`).toEqual(point);
      }
    }
    // Nothing else appeared: A holds exactly what it recorded plus B's records of its downtime.
    for (const item of ITEMS) {
      const expected = [
        ...(recorded.get(a)?.get(item) ?? []),
        ...(recorded.get(b)?.get(item) ?? []).filter((p) => p.t > T0 + 70 * S),
      ].sort((x, y) => x.t - y.t);
      expect(aNow[item]).toEqual(expected);
    }
    const aEvents = await readAllEvents(a.db);
    const eventIds = new Set(aEvents.map((event) => event.id));
    for (const event of [...(recordedEvents.get(a) ?? []), ...(recordedEvents.get(b) ?? [])]) {
      expect(eventIds.has(event.id), event.id).toBe(true);
    }
    expect(aEvents.length).toBe(eventIds.size);

    // The run is over and A's ledger is empty, durably.
    expect(a.governor?.status().caughtUp).toBe(true);
    for (const key of ['edge-ha:timeSeries', 'edge-ha:events'] as const) {
      const ledger = await storedLedger(a.db, key);
      expect(ledger?.gaps).toEqual([]);
      expect(ledger?.lastUpToDate).toBe(T0 + 100 * S);
    }
  });
});

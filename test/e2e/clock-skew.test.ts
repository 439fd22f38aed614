/**
 * Clock skew between a restarted node A and its peer B, over real HTTP with SQLite (SPEC §4.2,
 * I10): B's server reports its own, skewed clock at hello, and B stamps what it records with it.
 * Up to maxClockSkewMs no record B made of A's downtime is lost and no live point of A changes;
 * beyond it the run fails with SYNC_CLOCK_SKEW and changes nothing.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HAGovernor } from '../../src/governor/governor.js';
import type { Point } from '../../src/storage/types.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import {
  at,
  dumpPoints,
  E2ENode,
  QUIET,
  readAllEvents,
  skewedClock,
  storedLedger,
  tempDir,
} from './helpers.js';

const T0 = 1_700_000_000_000;
const S = 1_000;
const MIN = 60_000;
const ITEMS = ['boiler/temperature', 'boiler/pressure'];
const OVERLAP_MS = 5_000;
const MAX_SKEW_MS = 5 * MIN;
/** A runs [0 s, 60 s), is down [60 s, 120 s), restarts at 120 s (local clock). */
const STOP = T0 + 60 * S;
const RESTART = T0 + 120 * S;
/** A clean stop: A ran through STOP itself, so the overwrite starts the millisecond after it. */
const OVERWRITE_FROM = STOP + 1;

let tmp: Awaited<ReturnType<typeof tempDir>>;
let clock: ManualClock;

beforeEach(async () => {
  tmp = await tempDir();
  clock = new ManualClock(T0);
});

let nodes: E2ENode[] = [];
afterEach(async () => {
  for (const node of nodes) await node.stop();
  nodes = [];
  await tmp.cleanup();
});

function governorOf(node: E2ENode, peer: E2ENode): HAGovernor {
  const governor = new HAGovernor({
    storage: node.db,
    peers: [peer.peer()],
    clock,
    heartbeatIntervalMs: 10 * S,
    overlapMs: OVERLAP_MS,
    maxClockSkewMs: MAX_SKEW_MS,
    ...QUIET,
  });
  node.governor = governor;
  return governor;
}

/** The value of sample `k` of `item`: the same physical sample has the same value on A and B. */
const sample = (item: string, k: number): string => `${item}#${k}`;

/**
 * A and B record the same samples, each stamping them with its own clock: A samples every
 * second on the second, so B's records of A's running time land on A's timestamps with other
 * values (an overwrite there would change A's points). B's samples of A's downtime come half a
 * second off the second, so none shares a timestamp with a point of A.
 */
async function scenario(skewMs: number) {
  const a = E2ENode.in(tmp.dir, 'node-a', clock);
  const b = E2ENode.in(tmp.dir, 'node-b', skewedClock(clock, skewMs));
  nodes = [a, b];
  for (const node of [a, b]) {
    await node.open();
    await node.db.registerItems(ITEMS);
  }
  const first = await governorOf(a, b).start();
  expect(first.timeSeries?.state).toBe('finished_ok');

  const aOwn = new Map<string, Point[]>(ITEMS.map((item) => [item, []]));
  for (let k = 1; k < 60; k++) {
    await clock.advanceAsync(T0 + k * S - clock.now());
    for (const item of ITEMS) {
      const local: Point = { t: clock.now(), v: sample(item, k) };
      await a.db.appendPoints(item, [local]);
      aOwn.get(item)?.push(local);
      await b.db.appendPoints(item, [{ t: b.clock.now(), v: sample(item, k) }]);
    }
  }
  await a.db.insertEventsIfAbsent([{ id: 'a-live', t: T0 + 30 * S, body: null }]);
  await clock.advanceAsync(STOP - clock.now());
  await a.stop(); // clean: heartbeat at STOP

  const bDowntime = new Map<string, Point[]>(ITEMS.map((item) => [item, []]));
  for (let k = 0; k < 60; k++) {
    await clock.advanceAsync(STOP + k * S + 500 - clock.now());
    for (const item of ITEMS) {
      const remote: Point = { t: b.clock.now(), v: `down:${sample(item, 60 + k)}` };
      await b.db.appendPoints(item, [remote]);
      bDowntime.get(item)?.push(remote);
    }
    if (k % 10 === 0) {
      await b.db.insertEventsIfAbsent([{ id: `b-down-${k}`, t: b.clock.now(), body: { k } }]);
    }
  }
  await clock.advanceAsync(RESTART - clock.now());
  await a.open();
  const before = {
    points: await dumpPoints(a.db, ITEMS),
    events: await readAllEvents(a.db),
    ledger: await storedLedger(a.db, 'edge-ha:timeSeries'),
  };
  expect(before.ledger?.gaps).toEqual([]);
  const result = await governorOf(a, b).start();
  return { a, b, aOwn, bDowntime, before, result };
}

describe('clock skew between A and its peer B (maxClockSkewMs 5 min, overlapMs 5 s)', () => {
  it.each([
    ['B 30 s behind', -30 * S],
    ['B 30 s ahead', 30 * S],
  ])(
    '%s: margins widen to |skew| + 1 s; nothing of the downtime is lost, no live point of A changes',
    async (_name, skewMs) => {
      const { a, b, aOwn, bDowntime, result } = await scenario(skewMs);
      for (const summary of [result.timeSeries, result.events]) {
        expect(summary?.state).toBe('finished_ok');
        expect(summary?.clockSkewMs).toBe(skewMs);
      }
      const margin = Math.abs(skewMs) + S;
      expect(result.timeSeries?.gaps.map((gap) => [gap.from, gap.to, gap.mode])).toEqual([
        [STOP - margin, OVERWRITE_FROM, 'merge'],
        [OVERWRITE_FROM, RESTART, 'overwrite'],
        [RESTART, RESTART + margin, 'merge'],
      ]);
      const warnings = a.governor?.status().deputies.timeSeries?.syncState ?? [];
      expect(warnings.some((m) => m.level === 'warning' && m.code === 'SYNC_CLOCK_SKEW')).toBe(
        true,
      );

      const after = await dumpPoints(a.db, ITEMS);
      const bAll = await dumpPoints(b.db, ITEMS);
      let shadowed = 0;
      for (const item of ITEMS) {
        // Every record B made of A's downtime, stamped by B's clock, is in A with B's value.
        for (const point of bDowntime.get(item) ?? []) {
          expect(at(after[item] ?? [], point.t), `${item} @ ${point.t}`).toEqual(point);
        }
        // Every live point of A is unchanged, although B holds other values at some of them.
        for (const point of aOwn.get(item) ?? []) {
          expect(at(after[item] ?? [], point.t), `${item} @ ${point.t}`).toEqual(point);
          const theirs = at(bAll[item] ?? [], point.t);
          if (theirs !== undefined && theirs.v !== point.v && point.t >= STOP - margin) shadowed++;
        }
      }
      // The margins really held B points at A's timestamps (merge kept A's, overwrite would not).
      expect(shadowed).toBeGreaterThan(0);
      const events = (await readAllEvents(a.db)).map((event) => event.id);
      expect(events).toEqual(expect.arrayContaining(['a-live', 'b-down-0', 'b-down-50']));
      expect(a.governor?.status().caughtUp).toBe(true);
    },
  );

  it.each([
    ['B 10 min behind', -10 * MIN],
    ['B 10 min ahead', 10 * MIN],
  ])(
    '%s: finished_with_error SYNC_CLOCK_SKEW, A data and ledger unchanged',
    async (_name, skewMs) => {
      const { a, before, result } = await scenario(skewMs);
      for (const summary of [result.timeSeries, result.events]) {
        expect(summary?.state).toBe('finished_with_error');
        expect(summary?.errors.map((error) => error.code)).toEqual(['SYNC_CLOCK_SKEW']);
        expect(summary?.points ?? 0).toBe(0);
        expect(summary?.eventsInserted ?? 0).toBe(0);
      }
      expect(await dumpPoints(a.db, ITEMS)).toEqual(before.points);
      expect(await readAllEvents(a.db)).toEqual(before.events);
      // The ledger holds exactly the downtime start() added, margins still pending (the run added
      // none and removed nothing); LastUpToDate did not move; no progress record was written.
      for (const key of ['edge-ha:timeSeries', 'edge-ha:events'] as const) {
        const ledger = await storedLedger(a.db, key);
        expect(ledger?.lastUpToDate).toBe(before.ledger?.lastUpToDate);
        expect(ledger?.gaps).toEqual([
          expect.objectContaining({
            from: OVERWRITE_FROM,
            to: RESTART,
            mode: 'overwrite',
            reason: 'downtime',
            pendingMargins: { heartbeat: STOP },
          }),
        ]);
      }
      for (const item of ITEMS) {
        expect(await a.db.readSyncState(`edge-ha:timeSeries:progress:${item}`)).toBeUndefined();
      }
      expect(await a.db.readSyncState('edge-ha:events:progress:@events')).toBeUndefined();
      expect(a.governor?.status().caughtUp).toBe(false);
    },
  );
});

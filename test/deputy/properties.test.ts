/**
 * SPEC §6 invariants I1–I5, I7, I9 and I10 as fast-check properties over random data, windows,
 * modes, page sizes, concurrency, clock skews and injected faults. EDGE_HA_PROPERTY_RUNS
 * overrides the number of runs.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventDeputy, TimeSeriesDeputy } from '../../src/deputy/deputy.js';
import type { SyncGapMode } from '../../src/deputy/ledger.js';
import type { DeputyTransitionEvent } from '../../src/deputy/types.js';
import { PeerError } from '../../src/errors.js';
import { localPeer } from '../../src/peer/local.js';
import type { EventRecord, Point, StorageAdapter, TimeWindow } from '../../src/storage/types.js';
import { faultyStorage } from '../../src/testing/faults/storage.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { dump, faultPeer, linked, memory } from './helpers.js';

const RUNS = Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 200);
const ITEMS = ['a', 'b', 'c', 'd'];
const NOW = 10_000;
const noWait = { retries: 2, backoff: () => 0 };

const pointsArb = fc.uniqueArray(
  fc.record({ t: fc.integer({ min: 0, max: 59 }), v: fc.integer({ min: 0, max: 9 }) }),
  { selector: (p) => p.t, maxLength: 12 },
);
const seriesArb = fc.dictionary(fc.constantFrom(...ITEMS), pointsArb, { maxKeys: 4 });
const eventsArb = (tag: string) =>
  fc.uniqueArray(
    fc.record({
      id: fc.constantFrom('e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9'),
      t: fc.integer({ min: 0, max: 59 }),
      body: fc.constant(tag),
    }),
    { selector: (e) => e.id, maxLength: 8 },
  );
const windowArb = fc
  .record({ from: fc.integer({ min: 0, max: 60 }), length: fc.integer({ min: 0, max: 60 }) })
  .map(({ from, length }): TimeWindow => ({ from, to: from + length }));

const scenarioArb = fc.record({
  remotePoints: seriesArb,
  localPoints: seriesArb,
  localOnlyItems: fc.subarray(ITEMS),
  remoteEvents: eventsArb('remote'),
  localEvents: eventsArb('local'),
  window: windowArb,
  mode: fc.constantFrom<SyncGapMode>('merge', 'overwrite'),
  pageSize: fc.integer({ min: 1, max: 4 }),
  concurrency: fc.integer({ min: 1, max: 3 }),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

const inside = (w: TimeWindow) => (p: { t: number }) => p.t >= w.from && p.t < w.to;
const outside = (w: TimeWindow) => (p: { t: number }) => !inside(w)(p);

/** Remote and local stores of a scenario; the remote knows every local item. */
async function stores(s: Scenario, options: { remoteKnowsAll?: boolean } = {}) {
  const remote = await memory(s.remotePoints, s.remoteEvents);
  const local = await memory(s.localPoints, s.localEvents, s.localOnlyItems);
  if (options.remoteKnowsAll ?? true) await remote.registerItems(await local.listItems());
  return { remote, local };
}

async function syncBoth(local: StorageAdapter, remote: StorageAdapter, s: Scenario) {
  const { clock, peer } = linked(remote, NOW);
  const options = { storage: local, peer, clock, pageSize: s.pageSize, retry: noWait };
  const run = { mode: s.mode };
  const series = await new TimeSeriesDeputy({ ...options, concurrency: s.concurrency }).run(
    s.window,
    run,
  );
  const events = await new EventDeputy(options).run(s.window, run);
  return { series, events };
}

/** What a merge of `remote` into `local` inside `window` leaves: local points win. */
function merged(local: readonly Point[], remote: readonly Point[], window: TimeWindow): Point[] {
  const byT = new Map<number, Point>();
  for (const p of remote.filter(inside(window))) byT.set(p.t, p);
  for (const p of local.filter(inside(window))) byT.set(p.t, p);
  return [...byT.values()].sort((a, b) => a.t - b.t);
}

describe('SPEC §6 invariants (property tests)', () => {
  it('I1 + I2 + I9: after finished_ok every remote record of the window is local; series: the remote wins inside an overwrite window, local points stay in a merge window, outside is untouched; events: local wins', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const { remote, local } = await stores(s);
        const before = await dump(local);
        const { series, events } = await syncBoth(local, remote, s);
        expect(series.state).toBe('finished_ok');
        expect(events.state).toBe('finished_ok');
        const after = await dump(local);
        const remoteState = await dump(remote);
        expect(Object.keys(after.points).sort()).toEqual(Object.keys(before.points).sort());
        for (const item of Object.keys(before.points)) {
          const got = after.points[item] ?? [];
          const mine = before.points[item] ?? [];
          const theirs = remoteState.points[item] ?? [];
          expect(got.filter(inside(s.window))).toEqual(
            s.mode === 'overwrite'
              ? theirs.filter(inside(s.window))
              : merged(mine, theirs, s.window),
          );
          expect(got.filter(outside(s.window))).toEqual(mine.filter(outside(s.window)));
        }
        const localById = new Map(after.events.map((e) => [e.id, e]));
        for (const event of remoteState.events.filter(inside(s.window))) {
          expect(localById.has(event.id)).toBe(true);
        }
        for (const event of before.events) expect(localById.get(event.id)).toEqual(event);
        expect(localById.size).toBe(after.events.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('I3: running the same sync twice gives the same local state and no duplicate event', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, fc.boolean(), async (s, remoteKnowsAll) => {
        const { remote, local } = await stores(s, { remoteKnowsAll });
        await syncBoth(local, remote, s);
        const once = await dump(local);
        const again = await syncBoth(local, remote, s);
        expect(again.events.eventsInserted).toBe(0);
        expect(await dump(local)).toEqual(once);
        expect(new Set(once.events.map((e) => e.id)).size).toBe(once.events.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('I4: LastUpToDate is monotonic, advances only on finished_ok, and equals the time of that transition', async () => {
    const stepArb = fc.record({
      window: windowArb,
      mode: fc.constantFrom<SyncGapMode>('merge', 'overwrite'),
      advance: fc.integer({ min: -500, max: 1_000 }),
      fault: fc.constantFrom('none', 'none', 'auth', 'badReply', 'unknownItem'),
    });
    await fc.assert(
      fc.asyncProperty(
        scenarioArb,
        fc.array(stepArb, { minLength: 1, maxLength: 5 }),
        async (s, steps) => {
          const { remote, local } = await stores(s);
          const clock = new ManualClock(NOW);
          for (const { window, mode, advance, fault } of steps) {
            clock.set(clock.now() + advance);
            if (fault === 'unknownItem') await local.registerItems(['zz-unknown']);
            const peer = faultPeer(localPeer(remote, { clock }), (call) => {
              if (fault === 'auth' && call.op === 'hello') return new PeerError('PEER_AUTH', 'no');
              if (fault === 'badReply' && (call.op === 'readPoints' || call.op === 'readEvents')) {
                return { reply: { items: [{ nonsense: true }], next: null } };
              }
              return undefined;
            });
            for (const Kind of [TimeSeriesDeputy, EventDeputy]) {
              const deputy = new Kind({
                storage: local,
                peer,
                clock,
                retry: noWait,
                key: `k-${Kind.name}`,
              });
              let okAt: number | null = null;
              deputy.on('transition', (e: DeputyTransitionEvent) => {
                if (e.to === 'finished_ok') okAt = e.at;
              });
              const previous = (await deputy.load()).lastUpToDate;
              const summary = await deputy.run(window, { mode });
              const raw = (await local.readSyncState(deputy.key))?.lastUpToDate;
              const stored = typeof raw === 'number' ? raw : null;
              if (summary.state === 'finished_ok') {
                expect(okAt).toBe(clock.now());
                expect(stored).toBe(previous === null ? okAt : Math.max(previous, clock.now()));
              } else {
                expect(okAt).toBeNull();
                expect(stored).toBe(previous);
              }
              expect(summary.lastUpToDate).toBe(stored);
              if (previous !== null) expect(stored).toBeGreaterThanOrEqual(previous);
            }
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('I5: a crash anywhere (between pages, inside an adapter call) then a restart ends in the same state as an uninterrupted run', async () => {
    await fc.assert(
      fc.asyncProperty(
        scenarioArb,
        fc.integer({ min: 1, max: 40 }),
        fc.constantFrom<'before' | 'after'>('before', 'after'),
        async (s, crashAt, mode) => {
          const reference = await stores(s);
          await syncBoth(reference.local, reference.remote, s);
          const expected = await dump(reference.local);

          const { remote, local } = await stores(s);
          const dying = faultyStorage(local, { crashAt, mode });
          const first = await syncBoth(dying, remote, s).catch(() => null);
          if (dying.crashed !== null)
            expect(first?.events.state ?? 'finished_with_error').toBe('finished_with_error');
          // restart: new deputies on the same (surviving) storage, same window
          const second = await syncBoth(local, remote, s);
          expect(second.series.state).toBe('finished_ok');
          expect(second.events.state).toBe('finished_ok');
          expect(await dump(local)).toEqual(expected);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('I7: storage never gets more than one page per call, and pages in flight stay within the concurrency', async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const { remote, local } = await stores(s);
        const spy = faultyStorage(local);
        const { clock, peer: inner } = linked(remote, NOW);
        const peer = faultPeer(inner);
        const options = { storage: spy, peer, clock, pageSize: s.pageSize, retry: noWait };
        await new TimeSeriesDeputy({ ...options, concurrency: s.concurrency }).run(s.window, {
          mode: s.mode,
        });
        expect(peer.maxInFlight()).toBeLessThanOrEqual(s.concurrency);
        expect(peer.maxInFlightPerItem()).toBeLessThanOrEqual(1);
        await new EventDeputy(options).run(s.window);
        expect(spy.maxBatch).toBeLessThanOrEqual(s.pageSize);
        for (const call of peer.calls) {
          if (call.op === 'readPoints')
            expect((call.args[2] as { limit: number }).limit).toBe(s.pageSize);
          if (call.op === 'readEvents')
            expect((call.args[1] as { limit: number }).limit).toBe(s.pageSize);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('I7: with many items the pages in flight reach but never exceed the concurrency', async () => {
    const items = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [`i${i}`, [{ t: 1, v: i }] as Point[]]),
    );
    const remote = await memory(items);
    const local = await memory({}, [] as EventRecord[], Object.keys(items));
    const { clock, peer: inner } = linked(remote);
    const peer = faultPeer(inner);
    await new TimeSeriesDeputy({ storage: local, peer, clock, concurrency: 3 }).run({
      from: 0,
      to: 5,
    });
    expect(peer.maxInFlight()).toBe(3);
  });

  it('I9 + I10: a downtime overwrites only where the node was down, and a clock skew within maxClockSkewMs loses no remote record of it', async () => {
    const time = fc.integer({ min: 0, max: 400 }).map((k) => k * 500);
    const series = fc.uniqueArray(fc.record({ t: time, v: fc.integer({ min: 0, max: 9 }) }), {
      selector: (p) => p.t,
      maxLength: 30,
    });
    const downtimeArb = fc
      .record({
        heartbeat: fc.integer({ min: 40_000, max: 80_000 }),
        slack: fc.integer({ min: 0, max: 10_000 }),
        length: fc.integer({ min: 0, max: 70_000 }),
        skew: fc.integer({ min: -20_000, max: 20_000 }),
        overlapMs: fc.integer({ min: 0, max: 10_000 }),
      })
      .map((d) => ({ ...d, from: d.heartbeat + d.slack, to: d.heartbeat + d.slack + d.length }));
    await fc.assert(
      fc.asyncProperty(series, series, downtimeArb, async (mine, theirs, d) => {
        const local = await memory({ a: mine }, [], ['a']);
        const remote = await memory({ a: theirs }, [], ['a']);
        const clock = new ManualClock(d.to);
        const peer = localPeer(remote, { clock: new ManualClock(d.to + d.skew) });
        const deputy = new TimeSeriesDeputy({
          storage: local,
          peer,
          clock,
          overlapMs: d.overlapMs,
          maxClockSkewMs: 20_000,
        });
        await deputy.addGap({
          from: d.from,
          to: d.to,
          mode: 'overwrite',
          reason: 'downtime',
          pendingMargins: { heartbeat: d.heartbeat },
        });
        const summary = await deputy.run();
        expect(summary.state).toBe('finished_ok');
        const got = (await dump(local)).points.a ?? [];
        const down: TimeWindow = { from: d.from, to: d.to };
        // I9: outside the downtime no local point is changed or removed
        const kept = new Map(got.map((p) => [p.t, p]));
        for (const p of mine.filter(outside(down))) expect(kept.get(p.t)).toEqual(p);
        // I2: inside the downtime the remote wins
        expect(got.filter(inside(down))).toEqual(
          [...theirs].sort((x, y) => x.t - y.t).filter(inside(down)),
        );
        // I10: the remote's records of [heartbeat, start-up), in its own clock, are all here
        const remoteDown = { from: d.heartbeat + d.skew, to: d.to + d.skew };
        for (const p of theirs.filter(inside(remoteDown))) expect(kept.has(p.t)).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});

/**
 * SPEC §6 invariants I1–I5 and I7 as fast-check properties over random data, windows, page sizes,
 * concurrency and injected faults. EDGE_HA_PROPERTY_RUNS overrides the number of runs.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EventDeputy, TimeSeriesDeputy } from '../../src/deputy/deputy.js';
import { PeerError } from '../../src/errors.js';
import { localPeer } from '../../src/peer/local.js';
import type { EventRecord, Point, StorageAdapter, TimeWindow } from '../../src/storage/types.js';
import { crashingStorage, dump, faultPeer, memory } from './helpers.js';

const RUNS = Number(process.env.EDGE_HA_PROPERTY_RUNS ?? 200);
const ITEMS = ['a', 'b', 'c', 'd'];
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
  const options = { storage: local, peer: localPeer(remote), pageSize: s.pageSize, retry: noWait };
  const series = await new TimeSeriesDeputy({ ...options, concurrency: s.concurrency }).run(
    s.window,
  );
  const events = await new EventDeputy(options).run(s.window);
  return { series, events };
}

describe('SPEC §6 invariants (property tests)', () => {
  it('I1 + I2: after finished_ok every remote record of the window is local; series: remote wins inside, outside untouched; events: local wins', async () => {
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
          const remotePoints = remoteState.points[item] ?? [];
          expect(got.filter(inside(s.window))).toEqual(remotePoints.filter(inside(s.window)));
          expect(got.filter(outside(s.window))).toEqual(
            (before.points[item] ?? []).filter(outside(s.window)),
          );
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

  it('I4: LastUpToDate is monotonic and advances only on finished_ok', async () => {
    const stepArb = fc.record({
      window: windowArb,
      fault: fc.constantFrom('none', 'none', 'auth', 'badReply', 'unknownItem'),
    });
    await fc.assert(
      fc.asyncProperty(
        scenarioArb,
        fc.array(stepArb, { minLength: 1, maxLength: 5 }),
        async (s, steps) => {
          const { remote, local } = await stores(s);
          let expected: number | null = null;
          for (const { window, fault } of steps) {
            if (fault === 'unknownItem') await local.registerItems(['zz-unknown']);
            const peer = faultPeer(localPeer(remote), (call) => {
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
                retry: noWait,
                key: `k-${Kind.name}`,
              });
              const previous = (await local.readSyncState(deputy.key))?.lastUpToDate ?? null;
              const summary = await deputy.run(window);
              const stored = (await local.readSyncState(deputy.key))?.lastUpToDate ?? null;
              if (summary.state === 'finished_ok') {
                expect(stored).toBe(previous === null ? window.to : Math.max(previous, window.to));
              } else {
                expect(stored).toBe(previous);
              }
              expect(summary.lastUpToDate).toBe(stored);
              if (previous !== null) expect(stored).toBeGreaterThanOrEqual(previous);
              if (Kind === TimeSeriesDeputy) expected = stored;
            }
          }
          expect(expected === null || Number.isSafeInteger(expected)).toBe(true);
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
        fc.boolean(),
        async (s, crashAt, after) => {
          const reference = await stores(s);
          await syncBoth(reference.local, reference.remote, s);
          const expected = await dump(reference.local);

          const { remote, local } = await stores(s);
          const dying = crashingStorage(local, { crashAt, after });
          const first = await syncBoth(dying, remote, s).catch(() => null);
          if (dying.crashed())
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
        const spy = crashingStorage(local);
        const peer = faultPeer(localPeer(remote));
        const options = { storage: spy, peer, pageSize: s.pageSize, retry: noWait };
        await new TimeSeriesDeputy({ ...options, concurrency: s.concurrency }).run(s.window);
        expect(peer.maxInFlight()).toBeLessThanOrEqual(s.concurrency);
        expect(peer.maxInFlightPerItem()).toBeLessThanOrEqual(1);
        await new EventDeputy(options).run(s.window);
        expect(spy.maxBatch()).toBeLessThanOrEqual(s.pageSize);
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
    const peer = faultPeer(localPeer(remote));
    await new TimeSeriesDeputy({ storage: local, peer, concurrency: 3 }).run({ from: 0, to: 5 });
    expect(peer.maxInFlight()).toBe(3);
  });
});

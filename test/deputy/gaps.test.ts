/**
 * The deputies over their gap ledger (sync v2): overwrite only in overwrite gaps, merge
 * everywhere else, per-item progress committed with each page, clock skew, the progress rule,
 * item lists, LastUpToDate and the migration of 0.1.0 records.
 */

import { describe, expect, it } from 'vitest';
import { EventDeputy, TimeSeriesDeputy } from '../../src/deputy/deputy.js';
import type { SyncGap } from '../../src/deputy/ledger.js';
import type { DeputyTransitionEvent, SyncStateMessage } from '../../src/deputy/types.js';
import { isEdgeHaError, PeerError } from '../../src/errors.js';
import { localPeer } from '../../src/peer/local.js';
import type { JsonObject } from '../../src/storage/types.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { recordEvents } from '../../src/testing/record-events.js';
import {
  dump,
  faultPeer,
  linked,
  memory,
  pointReads,
  pts,
  recordGaps,
  spyStorage,
} from './helpers.js';

const noWait = { retries: 2, backoff: () => 0 };
const TS = 'edge-ha:timeSeries';
const EV = 'edge-ha:events';

const gapsOf = (gaps: readonly SyncGap[]) =>
  gaps.map((g) => [g.from, g.to, g.mode, g.reason] as const);

describe('overwrite and merge gaps', () => {
  it('an overwrite gap replaces the local points inside it, and nothing outside', async () => {
    const remote = await memory({ a: pts([10, 'r10'], [15, 'r15'], [30, 'r30']) });
    const local = await memory({ a: pts([5, 'l5'], [10, 'l10'], [12, 'l12'], [20, 'l20']) });
    const deputy = new TimeSeriesDeputy({ storage: local, ...linked(remote) });
    await deputy.addGap({ from: 10, to: 20, mode: 'overwrite', reason: 'requested' });
    const summary = await deputy.run();
    expect(summary).toMatchObject({ state: 'finished_ok', points: 2, pointsReceived: 2 });
    expect((await dump(local)).points.a).toEqual(
      pts([5, 'l5'], [10, 'r10'], [15, 'r15'], [20, 'l20']),
    );
    expect(deputy.gaps).toEqual([]);
  });

  it('a merge gap keeps a local point at the same timestamp and adds the missing ones', async () => {
    const remote = await memory({ a: pts([10, 'r10'], [15, 'r15'], [30, 'r30']) });
    const local = await memory({ a: pts([5, 'l5'], [10, 'l10'], [12, 'l12'], [20, 'l20']) });
    const deputy = new TimeSeriesDeputy({ storage: local, ...linked(remote) });
    await deputy.addGap({ from: 10, to: 20, mode: 'merge', reason: 'requested' });
    const summary = await deputy.run();
    expect(summary).toMatchObject({ state: 'finished_ok', points: 1, pointsReceived: 2 });
    expect(deputy.snapshot().items.a?.points).toBe(1);
    expect((await dump(local)).points.a).toEqual(
      pts([5, 'l5'], [10, 'l10'], [12, 'l12'], [15, 'r15'], [20, 'l20']),
    );
  });

  it('syncs several disjoint gaps in one run, each in its own mode', async () => {
    const remote = await memory({
      a: pts([12, 'r12'], [30, 'r30'], [41, 'r41'], [45, 'r45']),
    });
    const local = await memory({ a: pts([11, 'l11'], [30, 'l30'], [45, 'l45']) });
    const { clock, peer: inner } = linked(remote);
    const peer = faultPeer(inner);
    const deputy = new TimeSeriesDeputy({ storage: local, peer, clock });
    await deputy.addGap({ from: 40, to: 50, mode: 'merge', reason: 'reported' });
    await deputy.addGap({ from: 10, to: 20, mode: 'overwrite', reason: 'requested' });
    const summary = await deputy.run();
    expect(summary.state).toBe('finished_ok');
    expect(gapsOf(summary.gaps)).toEqual([
      [10, 20, 'overwrite', 'requested'],
      [40, 50, 'merge', 'reported'],
    ]);
    expect(summary.window).toEqual({ from: 10, to: 50 });
    expect(pointReads(peer, 'a')).toEqual([
      { from: 10, to: 20 },
      { from: 40, to: 50 },
    ]);
    expect((await dump(local)).points.a).toEqual(
      pts([12, 'r12'], [30, 'l30'], [41, 'r41'], [45, 'l45']),
    );
    expect(deputy.gaps).toEqual([]);
  });

  it('a reported gap merges: no local point changes, the missing remote points arrive', async () => {
    const remote = await memory({ a: pts([1, 'r1'], [2, 'r2'], [3, 'r3']) }, [
      { id: 'e1', t: 2, body: 'remote' },
      { id: 'e2', t: 2, body: 'remote' },
    ]);
    const local = await memory({ a: pts([2, 'l2']) }, [{ id: 'e1', t: 2, body: 'local' }]);
    const options = { storage: local, ...linked(remote) };
    const series = new TimeSeriesDeputy(options);
    const events = new EventDeputy(options);
    for (const deputy of [series, events]) {
      const gap = await deputy.addGap({ from: 0, to: 10, mode: 'merge', reason: 'reported' });
      expect(gap).toMatchObject({ from: 0, to: 10, mode: 'merge', reason: 'reported' });
      expect((await deputy.run()).state).toBe('finished_ok');
    }
    const state = await dump(local);
    expect(state.points.a).toEqual(pts([1, 'r1'], [2, 'l2'], [3, 'r3']));
    expect(state.events).toEqual([
      { id: 'e1', t: 2, body: 'local' },
      { id: 'e2', t: 2, body: 'remote' },
    ]);
  });

  it('a gap already covered by one of the same mode is not added twice', async () => {
    const deputy = new TimeSeriesDeputy({ storage: await memory(), ...linked(await memory()) });
    const first = await deputy.addGap({ from: 0, to: 100, mode: 'merge', reason: 'reported' });
    const second = await deputy.addGap({ from: 10, to: 20, mode: 'merge', reason: 'requested' });
    expect(second).toEqual(first);
    await deputy.addGap({ from: 10, to: 20, mode: 'overwrite', reason: 'requested' });
    expect(gapsOf(deputy.gaps)).toEqual([
      [0, 100, 'merge', 'reported'],
      [10, 20, 'overwrite', 'requested'],
    ]);
  });
});

describe('a failing item', () => {
  it('keeps every gap in the ledger, and the next run finishes them without re-reading what is done', async () => {
    const remote = await memory({
      a: pts([1, 'a1'], [31, 'a31']),
      b: pts([2, 'b2'], [32, 'b32']),
    });
    const local = await memory({}, [], ['a', 'b']);
    const { clock, peer: inner } = linked(remote);
    let broken = true;
    const failing = faultPeer(inner, (call) =>
      broken && call.op === 'readPoints' && call.args[0] === 'b' && call.args[1] !== undefined
        ? (call.args[1] as { from: number }).from >= 30
          ? new PeerError('PEER_BAD_REPLY', 'garbage (injected)')
          : undefined
        : undefined,
    );
    const deputy = new TimeSeriesDeputy({ storage: local, peer: failing, clock, retry: noWait });
    await deputy.addGap({ from: 0, to: 10, mode: 'overwrite', reason: 'requested' });
    await deputy.addGap({ from: 30, to: 40, mode: 'merge', reason: 'reported' });
    const first = await deputy.run();
    expect(first.state).toBe('finished_with_error');
    expect(first.items).toEqual({ total: 2, ok: 1, skipped: 0, failed: 1 });
    expect(first.errors.map((e) => [e.item, e.code])).toEqual([['b', 'PEER_BAD_REPLY']]);
    expect(gapsOf(deputy.gaps)).toEqual([
      [0, 10, 'overwrite', 'requested'],
      [30, 40, 'merge', 'reported'],
    ]);
    expect(gapsOf((await deputy.load()).gaps)).toEqual(gapsOf(deputy.gaps));
    expect(first.lastUpToDate).toBeNull();

    broken = false;
    const counting = faultPeer(inner);
    const again = new TimeSeriesDeputy({ storage: local, peer: counting, clock });
    const second = await again.run();
    expect(second).toMatchObject({ state: 'finished_ok', resumed: true });
    expect(pointReads(counting, 'a')).toEqual([]);
    expect(pointReads(counting, 'b')).toEqual([{ from: 30, to: 40 }]);
    expect(second.items).toEqual({ total: 2, ok: 2, skipped: 0, failed: 0 });
    expect(again.snapshot().items.a).toMatchObject({ state: 'ok', gapsDone: 2, pages: 0 });
    expect(again.gaps).toEqual([]);
    expect(await dump(local)).toEqual({
      points: { a: pts([1, 'a1'], [31, 'a31']), b: pts([2, 'b2'], [32, 'b32']) },
      events: [],
    });
  });
});

describe('progress records', () => {
  it('every applied page is exactly one storage call, carrying that item’s progress record', async () => {
    const remote = await memory(
      {
        a: pts([10, 1], [11, 2], [12, 3], [60, 4], [61, 5]),
        b: pts([20, 'x'], [70, 'y'], [71, 'z'], [72, 'w']),
      },
      [
        { id: 'e5', t: 5, body: null },
        { id: 'e6', t: 6, body: null },
        { id: 'e7', t: 7, body: null },
      ],
    );
    const spy = spyStorage(await memory({ b: pts([70, 'mine']) }, [], ['a']));
    const { clock, peer: inner } = linked(remote);
    const peer = faultPeer(inner);
    const options = { storage: spy, peer, clock, pageSize: 2 };
    const series = new TimeSeriesDeputy(options);
    const events = new EventDeputy(options);
    for (const deputy of [series, events]) {
      await deputy.addGap({ from: 0, to: 50, mode: 'overwrite', reason: 'requested' });
      await deputy.addGap({ from: 50, to: 100, mode: 'merge', reason: 'reported' });
    }
    const before = spy.calls.length;
    const s = await series.run();
    const e = await events.run();
    expect([s.state, e.state]).toEqual(['finished_ok', 'finished_ok']);
    const calls = spy.calls.slice(before);
    const progress = calls.filter((c) => c.key?.includes(':progress:'));
    const data = calls.filter((c) => c.op !== 'writeSyncState');
    // data writes always carry the progress record; other writes are the ledgers only
    expect(data.every((c) => c.key !== null)).toBe(true);
    expect(
      calls
        .filter((c) => !c.key?.includes(':progress:'))
        .every((c) => c.op === 'writeSyncState' && (c.key === TS || c.key === EV)),
    ).toBe(true);
    for (const call of progress) {
      expect(call.key).toBe(
        call.op === 'insertEventsIfAbsent' || call.item === null
          ? `${EV}:progress:@events`
          : `${TS}:progress:${call.item}`,
      );
    }
    const seriesPages = progress.filter((c) => c.key?.startsWith(`${TS}:`));
    const eventPages = progress.filter((c) => c.key?.startsWith(`${EV}:`));
    expect(seriesPages).toHaveLength(s.pages);
    expect(eventPages).toHaveLength(e.pages);
    expect(seriesPages).toHaveLength(peer.calls.filter((c) => c.op === 'readPoints').length);
    expect(eventPages).toHaveLength(peer.calls.filter((c) => c.op === 'readEvents').length);
    // a: [10,11] [12] replace, [60,61] merge; b: [20] replace, [70,71] [72] merge
    expect(seriesPages.map((c) => [c.op, c.item, c.records]).sort()).toEqual(
      [
        ['replacePoints', 'a', 2],
        ['replacePoints', 'a', 1],
        ['mergePoints', 'a', 2],
        ['replacePoints', 'b', 1],
        ['mergePoints', 'b', 2],
        ['mergePoints', 'b', 1],
      ].sort(),
    );
    // events: [e5,e6] [e7] in the first gap, one empty final page in the second
    expect(eventPages.map((c) => [c.op, c.records])).toEqual([
      ['insertEventsIfAbsent', 2],
      ['insertEventsIfAbsent', 1],
      ['writeSyncState', 0],
    ]);
    expect((await dump(spy)).points.b).toEqual(pts([20, 'x'], [70, 'mine'], [71, 'z'], [72, 'w']));
  });

  it('writing one item’s progress never rewrites another item’s record', async () => {
    const items = ['a', 'b', 'c'];
    const remote = await memory({
      a: pts([1, 1], [2, 2], [3, 3]),
      b: pts([1, 1], [2, 2]),
      c: pts([4, 4]),
    });
    const inner = await memory({}, [], items);
    const foreign: JsonObject = { format: 'edge-ha.progress', version: 2, done: { 99: 5 } };
    await inner.writeSyncState(`${TS}:progress:zz`, foreign);
    const spy = spyStorage(inner);
    const deputy = new TimeSeriesDeputy({
      storage: spy,
      ...linked(remote),
      pageSize: 1,
      concurrency: 3,
    });
    const summary = await deputy.run({ from: 0, to: 10 });
    expect(summary.state).toBe('finished_ok');
    const pages = spy.calls.filter((c) => c.op === 'replacePoints' || c.op === 'mergePoints');
    expect(pages.length).toBe(summary.pages);
    for (const call of pages) expect(call.key).toBe(`${TS}:progress:${call.item}`);
    expect(spy.calls.filter((c) => c.op === 'writeSyncState').map((c) => c.key)).toEqual([TS, TS]);
    expect(await inner.readSyncState(`${TS}:progress:zz`)).toEqual(foreign);
    for (const item of items) {
      expect(await inner.readSyncState(`${TS}:progress:${item}`)).toEqual({
        format: 'edge-ha.progress',
        version: 2,
        done: { 1: 10 },
      });
    }
  });
});

describe('LastUpToDate', () => {
  it('equals the time of the transition to finished_ok, never moves backwards, and a failed run leaves it', async () => {
    const remote = await memory({ a: pts([1, 1]) });
    const local = await memory({}, [], ['a']);
    const { clock, peer: inner } = linked(remote, 10_000);
    let denied = false;
    const peer = faultPeer(inner, (call) =>
      denied && call.op === 'hello' ? new PeerError('PEER_AUTH', 'denied') : undefined,
    );
    const deputy = new TimeSeriesDeputy({ storage: local, peer, clock });
    const recording = recordEvents(deputy, ['transition']);
    const okAt = (): number[] =>
      (recording.of('transition') as DeputyTransitionEvent[])
        .filter((e) => e.to === 'finished_ok')
        .map((e) => e.at);
    const stored = async () => (await local.readSyncState(TS))?.lastUpToDate;

    expect((await deputy.run({ from: 0, to: 100 })).lastUpToDate).toBe(10_000);
    expect(okAt()).toEqual([10_000]);
    expect(await stored()).toBe(10_000);

    clock.set(20_000);
    denied = true;
    const failed = await deputy.run({ from: 100, to: 200 });
    expect(failed.state).toBe('finished_with_error');
    expect(failed.lastUpToDate).toBe(10_000);
    expect(deputy.lastUpToDate).toBe(10_000);
    expect(await stored()).toBe(10_000);

    denied = false;
    clock.set(15_000);
    const next = await deputy.run();
    expect(next.gaps).toHaveLength(1);
    expect(next.lastUpToDate).toBe(15_000);
    expect(okAt()).toEqual([10_000, 15_000]);

    clock.set(5_000); // the clock was set back: LastUpToDate stays
    expect((await deputy.run()).lastUpToDate).toBe(15_000);
    expect(okAt()).toEqual([10_000, 15_000, 5_000]);
    expect(await stored()).toBe(15_000);
    expect((await deputy.load()).lastUpToDate).toBe(15_000);
  });
});

describe('clock skew', () => {
  for (const sign of [1, -1]) {
    it(`a skew of ${sign * 400_000} ms (beyond maxClockSkewMs) ends SYNC_CLOCK_SKEW and changes nothing`, async () => {
      const remote = await memory({ a: pts([7_000, 'r']) }, [{ id: 'e', t: 7_000, body: null }]);
      const local = await memory({ a: pts([6_500, 'mine'], [8_000, 'stale']) });
      const clock = new ManualClock(1_000_000);
      const skewed = localPeer(remote, { clock: new ManualClock(1_000_000 + sign * 400_000) });
      const peer = faultPeer(skewed);
      const options = { storage: local, peer, clock, retry: noWait };
      const deputies = [new TimeSeriesDeputy(options), new EventDeputy(options)];
      for (const deputy of deputies) {
        await deputy.addGap({
          from: 6_000,
          to: 9_000,
          mode: 'overwrite',
          reason: 'downtime',
          pendingMargins: { heartbeat: 5_000 },
        });
        await deputy.addGap({ from: 20_000, to: 30_000, mode: 'merge', reason: 'reported' });
      }
      const records = async () => [await local.readSyncState(TS), await local.readSyncState(EV)];
      const ledgers = await records();
      const data = await dump(local);
      for (const deputy of deputies) {
        const summary = await deputy.run();
        expect(summary.state).toBe('finished_with_error');
        expect(summary.clockSkewMs).toBe(sign * 400_000);
        expect(summary.errors.map((e) => [e.item, e.code])).toEqual([[null, 'SYNC_CLOCK_SKEW']]);
        expect(summary.errors[0]?.message).toContain('nothing was changed');
        expect(summary.lastUpToDate).toBeNull();
      }
      expect(await records()).toEqual(ledgers);
      expect(await dump(local)).toEqual(data);
      expect(peer.calls.map((c) => c.op)).toEqual(['hello', 'hello']);
    });
  }

  it('a skew beyond overlapMs widens the downtime margins and is reported as a warning', async () => {
    const remote = await memory({
      a: pts(
        [93_000, 'early'],
        [95_000, 'r95'],
        [100_500, 'r100.5'],
        [104_000, 'r104'],
        [115_000, 'r115'],
      ),
    });
    const local = await memory({
      a: pts([100_500, 'mine'], [105_000, 'stale'], [112_000, 'mine']),
    });
    const clock = new ManualClock(110_000);
    const peer = localPeer(remote, { clock: new ManualClock(115_000) });
    const deputy = new TimeSeriesDeputy({ storage: local, peer, clock, overlapMs: 1_000 });
    await deputy.addGap({
      from: 101_000,
      to: 110_000,
      mode: 'overwrite',
      reason: 'downtime',
      pendingMargins: { heartbeat: 100_000 },
    });
    const recording = recordEvents(deputy, ['syncState']);
    const summary = await deputy.run();
    expect(summary).toMatchObject({ state: 'finished_ok', clockSkewMs: 5_000 });
    // margin = max(overlapMs, |skew| + 1 s) = 6 s on both sides, merged
    expect(gapsOf(summary.gaps)).toEqual([
      [94_000, 101_000, 'merge', 'margin'],
      [101_000, 110_000, 'overwrite', 'downtime'],
      [110_000, 116_000, 'merge', 'margin'],
    ]);
    expect(summary.gaps.every((g) => g.pendingMargins === null)).toBe(true);
    const warnings = (recording.of('syncState') as SyncStateMessage[]).filter(
      (m) => m.code === 'SYNC_CLOCK_SKEW',
    );
    expect(warnings.map((m) => m.level)).toEqual(['warning']);
    expect(warnings[0]?.message).toContain('6000 ms');
    expect((await dump(local)).points.a).toEqual(
      pts(
        [95_000, 'r95'],
        [100_500, 'mine'],
        [104_000, 'r104'],
        [112_000, 'mine'],
        [115_000, 'r115'],
      ),
    );
  });

  it('the margins of a downtime are written to the ledger before any data', async () => {
    const remote = await memory({ a: pts([4_500, 'r'], [6_500, 'r'], [9_500, 'r']) });
    const spy = spyStorage(await memory({ a: pts([4_500, 'mine']) }));
    const deputy = new TimeSeriesDeputy({ storage: spy, ...linked(remote, 9_000), overlapMs: 0 });
    await deputy.addGap({
      from: 6_000,
      to: 9_000,
      mode: 'overwrite',
      reason: 'downtime',
      pendingMargins: { heartbeat: 5_000 },
    });
    const before = spy.calls.length;
    const summary = await deputy.run();
    expect(summary.state).toBe('finished_ok');
    const calls = spy.calls.slice(before);
    const firstData = calls.findIndex((c) => c.op !== 'writeSyncState');
    const firstLedger = calls.findIndex((c) => c.key === TS);
    expect(firstLedger).toBeGreaterThanOrEqual(0);
    expect(firstLedger).toBeLessThan(firstData);
    const written = recordGaps(calls[firstLedger]?.value);
    // no skew: margin = max(0, 0 + 1 s)
    expect(gapsOf(written)).toEqual([
      [4_000, 6_000, 'merge', 'margin'],
      [6_000, 9_000, 'overwrite', 'downtime'],
      [9_000, 10_000, 'merge', 'margin'],
    ]);
    expect((await dump(spy)).points.a).toEqual(pts([4_500, 'mine'], [6_500, 'r'], [9_500, 'r']));
  });
});

describe('events: duplicate ids', () => {
  it('one id twice across pages at a different time ends PEER_BAD_REPLY naming the id', async () => {
    const { clock, peer: inner } = linked(await memory());
    const peer = faultPeer(inner, (call) => {
      if (call.op !== 'readEvents') return undefined;
      return call.n === 1
        ? { reply: { items: [{ id: 'dup-1', t: 1, body: 'a' }], next: 'p2' } }
        : { reply: { items: [{ id: 'dup-1', t: 3, body: 'b' }], next: null } };
    });
    const local = await memory();
    const deputy = new EventDeputy({ storage: local, peer, clock, pageSize: 1 });
    const summary = await deputy.run({ from: 0, to: 10 });
    expect(summary.state).toBe('finished_with_error');
    expect(summary.errors.map((e) => e.code)).toEqual(['PEER_BAD_REPLY']);
    expect(summary.errors[0]?.message).toContain('"dup-1"');
    // the first page was committed; the bad one was not applied
    expect((await dump(local)).events).toEqual([{ id: 'dup-1', t: 1, body: 'a' }]);
    expect(deputy.gaps).toHaveLength(1);
  });

  it('one id twice in one page at a different time ends PEER_BAD_REPLY naming the id', async () => {
    const { clock, peer: inner } = linked(await memory());
    const peer = faultPeer(inner, (call) =>
      call.op === 'readEvents'
        ? {
            reply: {
              items: [
                { id: 'dup-2', t: 1, body: 'a' },
                { id: 'dup-2', t: 2, body: 'b' },
              ],
              next: null,
            },
          }
        : undefined,
    );
    const local = await memory();
    const summary = await new EventDeputy({ storage: local, peer, clock }).run({ from: 0, to: 10 });
    expect(summary.errors.map((e) => e.code)).toEqual(['PEER_BAD_REPLY']);
    expect(summary.errors[0]?.message).toContain('"dup-2"');
    expect((await dump(local)).events).toEqual([]);
  });
});

describe('the progress rule', () => {
  it('a remote trickling one record per page fails the item with PEER_BAD_REPLY after maxShortPages', async () => {
    const remote = await memory({ a: pts([1, 1]), b: pts([1, 'b'], [2, 'b']) });
    const { clock, peer: inner } = linked(remote);
    const peer = faultPeer(inner, (call) =>
      call.op === 'readPoints' && call.args[0] === 'a'
        ? { reply: { items: [{ t: call.n, v: call.n }], next: `c${call.n}` } }
        : undefined,
    );
    const local = await memory({}, [], ['a', 'b']);
    const deputy = new TimeSeriesDeputy({
      storage: local,
      peer,
      clock,
      pageSize: 10,
      maxShortPages: 3,
      concurrency: 1, // a's reads come first, so the forged times are 1, 2, 3, 4
    });
    const summary = await deputy.run({ from: 0, to: 1_000 });
    expect(summary.state).toBe('finished_with_error');
    expect(summary.errors.map((e) => [e.item, e.code])).toEqual([['a', 'PEER_BAD_REPLY']]);
    expect(summary.errors[0]?.message).toContain('short pages');
    expect(pointReads(peer, 'a')).toHaveLength(4);
    // what was received is committed
    expect((await dump(local)).points).toEqual({
      a: pts([1, 1], [2, 2], [3, 3], [4, 4]),
      b: pts([1, 'b'], [2, 'b']),
    });
  });

  it('short pages within maxShortPages are followed to the end', async () => {
    const { clock, peer: inner } = linked(await memory({ a: [] }, [], ['a']));
    const peer = faultPeer(inner, (call) =>
      call.op === 'readPoints'
        ? { reply: { items: [{ t: call.n, v: call.n }], next: call.n < 4 ? `c${call.n}` : null } }
        : undefined,
    );
    const local = await memory({}, [], ['a']);
    const deputy = new TimeSeriesDeputy({ storage: local, peer, clock, maxShortPages: 3 });
    const summary = await deputy.run({ from: 0, to: 1_000 });
    expect(summary.state).toBe('finished_ok');
    expect((await dump(local)).points.a).toEqual(pts([1, 1], [2, 2], [3, 3], [4, 4]));
  });
});

describe('item lists', () => {
  const setup = async () => {
    const remote = await memory({ a: pts([1, 'ra']), r1: pts([2, 'r1']) }, [], ['r2']);
    const local = await memory({ a: pts([1, 'la']), l1: pts([3, 'l1']) });
    return { remote, local };
  };

  it("items: 'remote' syncs the remote's items and registers them locally", async () => {
    const { remote, local } = await setup();
    const deputy = new TimeSeriesDeputy({ storage: local, ...linked(remote), items: 'remote' });
    const summary = await deputy.run({ from: 0, to: 10 });
    expect(summary).toMatchObject({ state: 'finished_ok' });
    expect(summary.items).toEqual({ total: 3, ok: 3, skipped: 0, failed: 0 });
    expect(Object.keys(deputy.snapshot().items).sort()).toEqual(['a', 'r1', 'r2']);
    expect(await local.listItems()).toEqual(['a', 'l1', 'r1', 'r2']);
    expect((await dump(local)).points).toEqual({
      a: pts([1, 'la']),
      l1: pts([3, 'l1']),
      r1: pts([2, 'r1']),
      r2: [],
    });
  });

  it("items: 'union' also syncs the local items, skipping those the remote lacks", async () => {
    const { remote, local } = await setup();
    const deputy = new TimeSeriesDeputy({ storage: local, ...linked(remote), items: 'union' });
    const summary = await deputy.run({ from: 0, to: 10 });
    expect(summary.state).toBe('finished_ok');
    expect(summary.items).toEqual({ total: 4, ok: 3, skipped: 1, failed: 0 });
    expect(deputy.snapshot().items.l1?.state).toBe('skipped');
    expect(await local.listItems()).toEqual(['a', 'l1', 'r1', 'r2']);
    expect((await dump(local)).points.r1).toEqual(pts([2, 'r1']));
  });

  it("items: 'local' (the default) leaves the remote-only items alone", async () => {
    const { remote, local } = await setup();
    const summary = await new TimeSeriesDeputy({ storage: local, ...linked(remote) }).run({
      from: 0,
      to: 10,
    });
    expect(summary.items).toEqual({ total: 2, ok: 1, skipped: 1, failed: 0 });
    expect(await local.listItems()).toEqual(['a', 'l1']);
  });
});

describe('the recovery bound', () => {
  it('records the part of a gap older than maxRecoveryMs as unrecoverable, with a warning', async () => {
    const day = 86_400_000;
    const clock = new ManualClock(10 * day);
    const deputy = new EventDeputy({
      storage: await memory(),
      peer: localPeer(await memory(), { clock }),
      clock,
    });
    const recording = recordEvents(deputy, ['syncState']);
    const gap = await deputy.addGap({ from: 0, to: 9 * day, mode: 'merge', reason: 'reported' });
    expect(gap).toMatchObject({ from: 3 * day, to: 9 * day });
    expect(await deputy.addGap({ from: day, to: 2 * day, mode: 'merge', reason: 'reported' })).toBe(
      null,
    );
    const warnings = (recording.of('syncState') as SyncStateMessage[]).filter(
      (m) => m.code === 'SYNC_UNRECOVERABLE',
    );
    expect(warnings.map((m) => m.level)).toEqual(['warning', 'warning']);
    expect(warnings[0]?.message).toContain(`[0, ${3 * day})`);
    expect(deputy.snapshot().unrecoverable).toEqual([{ from: 0, to: 3 * day }]);
    expect((await deputy.load()).unrecoverable).toEqual([{ from: 0, to: 3 * day }]);
    const summary = await deputy.run();
    expect(summary.unrecoverable).toEqual([{ from: 0, to: 3 * day }]);
    expect(summary.gaps).toHaveLength(1);
  });
});

describe('durable records', () => {
  it('migrates a 0.1.0 record with a pending run and resumes it in merge mode', async () => {
    const remote = await memory(
      {
        a: pts([10, 'ra']),
        b: pts([20, 'rb'], [50, 'rb50']),
        c: pts([30, 'rc'], [60, 'rc60']),
      },
      [
        { id: 'e1', t: 20, body: 'r' },
        { id: 'e2', t: 60, body: 'r' },
      ],
    );
    const local = await memory({ c: pts([60, 'mine']) }, [], ['a', 'b']);
    await local.writeSyncState(TS, {
      lastUpToDate: 500,
      heartbeat: null,
      run: { window: { from: 0, to: 100 }, checkpoints: { a: 100, b: 40 } },
    });
    await local.writeSyncState(EV, {
      lastUpToDate: null,
      heartbeat: null,
      run: { window: { from: 0, to: 100 }, checkpoints: { '@events': 50 } },
    });
    const { clock, peer: inner } = linked(remote, 2_000);
    const peer = faultPeer(inner);
    const series = new TimeSeriesDeputy({ storage: local, peer, clock });
    const events = new EventDeputy({ storage: local, peer, clock });
    const record = await series.load();
    expect(record.lastUpToDate).toBe(500);
    expect(gapsOf(record.gaps)).toEqual([[0, 100, 'merge', 'migrated']]);
    expect(await local.readSyncState(TS)).toMatchObject({ format: 'edge-ha.deputy', version: 2 });
    expect(await local.readSyncState(`${TS}:progress:b`)).toEqual({
      format: 'edge-ha.progress',
      version: 2,
      done: { 1: 40 },
    });

    const s = await series.run();
    const e = await events.run();
    expect(s).toMatchObject({ state: 'finished_ok', resumed: true, lastUpToDate: 2_000 });
    expect(e).toMatchObject({ state: 'finished_ok', resumed: true, eventsInserted: 1 });
    expect(pointReads(peer, 'a')).toEqual([]);
    expect(pointReads(peer, 'b')).toEqual([{ from: 40, to: 100 }]);
    expect(pointReads(peer, 'c')).toEqual([{ from: 0, to: 100 }]);
    expect(peer.calls.filter((c) => c.op === 'readEvents').map((c) => c.args[0])).toEqual([
      { from: 50, to: 100 },
    ]);
    expect(await dump(local)).toEqual({
      points: { a: [], b: pts([50, 'rb50']), c: pts([30, 'rc'], [60, 'mine']) },
      events: [{ id: 'e2', t: 60, body: 'r' }],
    });
    expect(series.gaps).toEqual([]);
    expect((await local.readSyncState(TS))?.gaps).toEqual([]);
  });

  it('migrates a 0.1.0 record without a pending run: LastUpToDate kept, nothing to do', async () => {
    const local = await memory();
    await local.writeSyncState(TS, { lastUpToDate: 700, heartbeat: null, run: null });
    const deputy = new TimeSeriesDeputy({ storage: local, ...linked(await memory(), 900) });
    expect(await deputy.load()).toEqual({ lastUpToDate: 700, gaps: [], unrecoverable: [] });
    const summary = await deputy.run();
    expect(summary).toMatchObject({ state: 'finished_ok', lastUpToDate: 900, gaps: [] });
    expect(await local.readSyncState(TS)).toMatchObject({
      format: 'edge-ha.deputy',
      version: 2,
      lastUpToDate: 900,
    });
  });

  it('a record it cannot read ends the run SYNC_STATE_FORMAT and is left as it is', async () => {
    const local = await memory();
    const newer = { format: 'edge-ha.deputy', version: 3, somethingNew: true };
    await local.writeSyncState(TS, newer);
    const { clock, peer: inner } = linked(await memory());
    const peer = faultPeer(inner);
    const deputy = new TimeSeriesDeputy({ storage: local, peer, clock });
    await expect(deputy.load()).rejects.toSatisfy((e) => isEdgeHaError(e, 'SYNC_STATE_FORMAT'));
    await expect(
      deputy.addGap({ from: 0, to: 1, mode: 'merge', reason: 'reported' }),
    ).rejects.toSatisfy((e) => isEdgeHaError(e, 'SYNC_STATE_FORMAT'));
    const summary = await deputy.run({ from: 0, to: 10 });
    expect(summary.state).toBe('finished_with_error');
    expect(summary.errors.map((e) => e.code)).toEqual(['SYNC_STATE_FORMAT']);
    expect(await local.readSyncState(TS)).toEqual(newer);
    expect(peer.calls).toEqual([]);
  });
});

describe('gaps added while a run is in progress', () => {
  it('a gap reported during a run outlives it, even when the run plans a gap covering it', async () => {
    const remote = await memory({ a: pts([10, 'r10']) });
    const { clock, peer: inner } = linked(remote);
    let release: (() => void) | undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const peer = {
      ...inner,
      readPoints: async (...args: Parameters<typeof inner.readPoints>) => {
        await held;
        return inner.readPoints(...args);
      },
    };
    const local = await memory({}, [], ['a']);
    const deputy = new TimeSeriesDeputy({ storage: local, peer, clock });
    await deputy.addGap({ from: 0, to: 100, mode: 'merge', reason: 'reported' });
    const run = deputy.run();
    for (let i = 0; i < 50 && deputy.state !== 'waiting_for_reply'; i++) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(deputy.state).toBe('waiting_for_reply');
    // the remote gets a late point inside the planned gap, and a host reports it
    await remote.appendPoints('a', [{ t: 20, v: 'late' }]);
    const added = await deputy.addGap({ from: 15, to: 25, mode: 'merge', reason: 'reported' });
    expect(added).toMatchObject({ id: 2, from: 15, to: 25 });
    release?.();
    const first = await run;
    expect(first.state).toBe('finished_ok');
    expect(gapsOf(deputy.gaps)).toEqual([[15, 25, 'merge', 'reported']]);
    expect(deputy.caughtUp).toBe(false);
    const second = await deputy.run();
    expect(second.state).toBe('finished_ok');
    expect(deputy.gaps).toEqual([]);
    expect((await dump(local)).points.a).toEqual(pts([10, 'r10'], [20, 'late']));
  });
});

describe('item lists', () => {
  it("with items: 'local', items only the remote trends are reported once as a warning", async () => {
    const remote = await memory({ a: pts([1, 1]), extra: pts([1, 2]) });
    const { clock, peer } = linked(remote);
    const local = await memory({}, [], ['a']);
    const deputy = new TimeSeriesDeputy({ storage: local, peer, clock });
    const summary = await deputy.run({ from: 0, to: 5 });
    expect(summary.state).toBe('finished_ok');
    const warnings = deputy.snapshot().syncState.filter((m) => m.code === 'SYNC_UNTRACKED_ITEMS');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toContain('"extra"');
    expect(await local.listItems()).toEqual(['a']);
  });
});

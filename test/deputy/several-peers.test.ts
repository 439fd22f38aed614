/**
 * Several peers per gap: a part of a gap the connected peer cannot serve — it says at hello that
 * it lacks it (its own gap ledger), or it fails — is taken from the next configured peer.
 */

import { describe, expect, it } from 'vitest';
import { EventDeputy, TimeSeriesDeputy } from '../../src/deputy/deputy.js';
import type { DeputyTransitionEvent, SyncStateMessage } from '../../src/deputy/types.js';
import { localPeer } from '../../src/peer/local.js';
import type { EventRecord, Point, StorageAdapter, TimeWindow } from '../../src/storage/types.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { recordEvents } from '../../src/testing/record-events.js';
import {
  dump,
  type FaultPeer,
  faultPeer,
  memory,
  pointReads,
  spyStorage,
  unreachable,
} from './helpers.js';

const noWait = { retries: 2, backoff: () => 0 };

/** Points at 0, 10, …, 90 whose values name the peer: `a30`, `b30`. */
const series = (tag: string): Point[] =>
  Array.from({ length: 10 }, (_, i) => ({ t: i * 10, v: `${tag}${i * 10}` }));
/** Events at 0, 10, …, 90 whose ids name the peer: `a-30`, `b-30`. */
const events = (tag: string): EventRecord[] =>
  Array.from({ length: 10 }, (_, i) => ({ id: `${tag}-${i * 10}`, t: i * 10, body: tag }));

/** Two peers on one clock: `a` (first) and `b`, each listing `gaps` in its hello. */
async function twoPeers(
  options: {
    gapsA?: TimeWindow[];
    gapsB?: TimeWindow[];
    seriesA?: Point[];
    seriesB?: Point[];
    ruleA?: Parameters<typeof faultPeer>[1];
    ruleB?: Parameters<typeof faultPeer>[1];
  } = {},
): Promise<{ clock: ManualClock; a: FaultPeer; b: FaultPeer }> {
  const clock = new ManualClock(1_000);
  const remote = async (tag: 'a' | 'b', points: Point[] | undefined) =>
    memory({ x: points ?? series(tag) }, events(tag));
  const peer = (storage: StorageAdapter, tag: string, gaps: TimeWindow[] | undefined) =>
    localPeer(
      storage,
      gaps === undefined
        ? { clock, instanceId: tag }
        : { clock, instanceId: tag, gaps: () => gaps },
    );
  const a = faultPeer(peer(await remote('a', options.seriesA), 'a', options.gapsA), options.ruleA);
  const b = faultPeer(peer(await remote('b', options.seriesB), 'b', options.gapsB), options.ruleB);
  return { clock, a, b };
}

const values = (points: readonly Point[] | undefined) => (points ?? []).map((p) => p.v);
const reads = (peer: FaultPeer) => peer.calls.filter((c) => c.op === 'readPoints').length;
const eventReads = (peer: FaultPeer) =>
  peer.calls.filter((c) => c.op === 'readEvents').map((c) => c.args[0] as TimeWindow);
const messages = (deputy: TimeSeriesDeputy | EventDeputy, code: string | null) =>
  deputy.snapshot().syncState.filter((m: SyncStateMessage) => m.code === code);

describe('a peer that fails mid-run', () => {
  it('time series: the rest of the run comes from the second peer, finished_ok', async () => {
    let dead = false;
    const { clock, a, b } = await twoPeers({
      ruleA: (call) => {
        if (call.op === 'readPoints' && call.n === 2) dead = true;
        return dead ? unreachable() : undefined;
      },
    });
    const local = await memory({}, [], ['x']);
    const deputy = new TimeSeriesDeputy({
      storage: local,
      peer: [a, b],
      clock,
      pageSize: 2,
      retry: noWait,
    });
    const recording = recordEvents(deputy, ['transition']);
    const summary = await deputy.run({ from: 0, to: 100 }, { mode: 'overwrite' });
    expect(summary).toMatchObject({
      state: 'finished_ok',
      peer: 'local:b',
      peers: ['local:a', 'local:b'],
    });
    // The first page (0, 10) came from a; everything after it from b.
    expect(values((await dump(local)).points.x)).toEqual([
      'a0',
      'a10',
      'b20',
      'b30',
      'b40',
      'b50',
      'b60',
      'b70',
      'b80',
      'b90',
    ]);
    expect(pointReads(b, 'x')[0]).toEqual({ from: 11, to: 100 });
    const lost = (recording.of('transition') as DeputyTransitionEvent[]).filter(
      (e) => e.reason.startsWith('PEER_UNREACHABLE') && e.to === 'waiting_for_connection',
    );
    expect(lost.map((e) => `${e.fromCode}→${e.toCode}`)).toEqual(['4→2']);
  });

  it('events: the rest of the run comes from the second peer, finished_ok', async () => {
    let dead = false;
    const { clock, a, b } = await twoPeers({
      ruleA: (call) => {
        if (call.op === 'readEvents' && call.n === 2) dead = true;
        return dead ? unreachable() : undefined;
      },
    });
    const local = await memory();
    const deputy = new EventDeputy({
      storage: local,
      peer: [a, b],
      clock,
      pageSize: 3,
      retry: noWait,
    });
    const summary = await deputy.run({ from: 0, to: 100 });
    expect(summary).toMatchObject({
      state: 'finished_ok',
      peer: 'local:b',
      peers: ['local:a', 'local:b'],
    });
    const ids = (await dump(local)).events.map((e) => e.id);
    // a's first page (0, 10, 20), then b from the progress (20: ties are read again) on.
    expect(ids.filter((id) => id.startsWith('a-'))).toEqual(['a-0', 'a-10', 'a-20']);
    expect(ids.filter((id) => id.startsWith('b-'))).toEqual([
      'b-20',
      'b-30',
      'b-40',
      'b-50',
      'b-60',
      'b-70',
      'b-80',
      'b-90',
    ]);
  });
});

describe('a peer whose hello says it lacks part of the gap', () => {
  it('time series: that part comes from the second peer, the rest from the first', async () => {
    const { clock, a, b } = await twoPeers({ gapsA: [{ from: 30, to: 60 }] });
    const local = await memory({}, [], ['x']);
    const deputy = new TimeSeriesDeputy({ storage: local, peer: [a, b], clock, pageSize: 2 });
    const summary = await deputy.run({ from: 0, to: 100 });
    expect(summary).toMatchObject({
      state: 'finished_ok',
      peer: 'local:a',
      peers: ['local:a', 'local:b'],
    });
    expect(values((await dump(local)).points.x)).toEqual([
      'a0',
      'a10',
      'a20',
      'b30',
      'b40',
      'b50',
      'a60',
      'a70',
      'a80',
      'a90',
    ]);
    // b is read only in [30, 60), a never there.
    expect(pointReads(b, 'x')).toEqual([
      { from: 30, to: 60 },
      { from: 30, to: 60 },
    ]);
    expect(reads(b)).toBe(2);
    expect(pointReads(a, 'x').every((w) => w.to <= 30 || w.from >= 60)).toBe(true);
    expect(reads(a)).toBe(4);
    expect(b.calls.filter((c) => c.op === 'listItems')).toEqual([]);
    const info = deputy.snapshot().syncState.map((m) => m.message);
    expect(info).toContain(
      'Gap 1 [0, 100) is read in parts: [0, 30) from local:a, [30, 60) from local:b, [60, 100) from local:a.',
    );
    expect(deputy.gaps).toEqual([]);
  });

  it('keeps one durable commit per page: every data write carries the item progress', async () => {
    const { clock, a, b } = await twoPeers({ gapsA: [{ from: 30, to: 60 }] });
    const local = spyStorage(await memory({}, [], ['x']));
    const deputy = new TimeSeriesDeputy({ storage: local, peer: [a, b], clock, pageSize: 2 });
    await deputy.run({ from: 0, to: 100 }, { mode: 'overwrite' });
    const writes = local.calls.filter((c) => c.op === 'replacePoints');
    expect(writes).toHaveLength(reads(a) + reads(b));
    expect(
      local.calls.filter((c) => c.op === 'writeSyncState' && c.key?.includes(':progress:')),
    ).toEqual([]);
    expect(writes.every((c) => c.key === 'edge-ha:timeSeries:progress:x')).toBe(true);
    // Progress moves through the parts in time order within the one gap.
    const through = writes.map((c) => (c.value as { done: Record<string, number> }).done['1']);
    expect(through).toEqual([...through].sort((x, y) => (x as number) - (y as number)));
    expect(through.at(-1)).toBe(100);
  });

  it('in an overwrite gap the second peer replaces the local points of its part', async () => {
    const { clock, a, b } = await twoPeers({
      gapsA: [{ from: 30, to: 60 }],
      seriesA: [...series('a'), { t: 35, v: 'a35' }].sort((p, q) => p.t - q.t),
    });
    const local = await memory({
      x: [
        { t: 45, v: 'mine' },
        { t: 95, v: 'mine' },
      ],
    });
    const deputy = new TimeSeriesDeputy({ storage: local, peer: [a, b], clock });
    const summary = await deputy.run({ from: 0, to: 100 }, { mode: 'overwrite' });
    expect(summary.state).toBe('finished_ok');
    // 35 is only on a (which lacks [30, 60)); 45 and 95 were local: the remote wins everywhere.
    expect(values((await dump(local)).points.x)).toEqual([
      'a0',
      'a10',
      'a20',
      'b30',
      'b40',
      'b50',
      'a60',
      'a70',
      'a80',
      'a90',
    ]);
  });

  it('events: the events of that part come from the second peer', async () => {
    const { clock, a, b } = await twoPeers({ gapsA: [{ from: 30, to: 60 }] });
    const local = await memory();
    const deputy = new EventDeputy({ storage: local, peer: [a, b], clock, pageSize: 2 });
    const summary = await deputy.run({ from: 0, to: 100 });
    expect(summary).toMatchObject({
      state: 'finished_ok',
      eventsInserted: 10,
      peers: ['local:a', 'local:b'],
    });
    expect((await dump(local)).events.map((e) => e.id)).toEqual([
      'a-0',
      'a-10',
      'a-20',
      'b-30',
      'b-40',
      'b-50',
      'a-60',
      'a-70',
      'a-80',
      'a-90',
    ]);
    expect(eventReads(b).every((w) => w.from >= 30 && w.to === 60)).toBe(true);
    expect(eventReads(a).every((w) => w.to <= 30 || w.from >= 60)).toBe(true);
  });

  it('a part no peer has is read from the first peer, with a warning naming the window', async () => {
    const { clock, a, b } = await twoPeers({
      gapsA: [{ from: 30, to: 60 }],
      gapsB: [{ from: 40, to: 50 }],
    });
    const local = await memory({}, [], ['x']);
    const deputy = new TimeSeriesDeputy({ storage: local, peer: [a, b], clock });
    const summary = await deputy.run({ from: 0, to: 100 });
    expect(summary.state).toBe('finished_ok');
    expect(values((await dump(local)).points.x)).toEqual([
      'a0',
      'a10',
      'a20',
      'b30',
      'a40',
      'b50',
      'a60',
      'a70',
      'a80',
      'a90',
    ]);
    const warnings = messages(deputy, 'SYNC_NO_SOURCE');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warning' });
    expect(warnings[0]?.message).toContain(
      'no peer has [40, 50) (lacking it at hello: local:a, local:b)',
    );
    expect(warnings[0]?.message).toContain('read from local:a');
  });

  it('events: a part no peer has is read from the first peer, with a warning', async () => {
    const { clock, a, b } = await twoPeers({
      gapsA: [{ from: 30, to: 60 }],
      gapsB: [{ from: 0, to: 1_000 }],
    });
    const local = await memory();
    const deputy = new EventDeputy({ storage: local, peer: [a, b], clock });
    const summary = await deputy.run({ from: 0, to: 100 });
    expect(summary).toMatchObject({ state: 'finished_ok', peers: ['local:a'] });
    expect((await dump(local)).events.map((e) => e.id)).toEqual(events('a').map((e) => e.id));
    expect(eventReads(b)).toEqual([]);
    expect(messages(deputy, 'SYNC_NO_SOURCE').map((m) => m.message.split(' (')[0])).toEqual([
      'Gap 1: no peer has [30, 60)',
    ]);
  });

  it('with only one peer configured, what it lacks is read from it all the same (warning)', async () => {
    const { clock, a } = await twoPeers({ gapsA: [{ from: 30, to: 60 }] });
    const local = await memory({}, [], ['x']);
    const deputy = new TimeSeriesDeputy({ storage: local, peer: a, clock });
    expect((await deputy.run({ from: 0, to: 100 })).state).toBe('finished_ok');
    expect(values((await dump(local)).points.x)).toEqual(values(series('a')));
    expect(messages(deputy, 'SYNC_NO_SOURCE')).toHaveLength(1);
  });

  it('a second peer that does not answer hello is reported and not used; the first serves', async () => {
    const { clock, a, b } = await twoPeers({ gapsA: [{ from: 30, to: 60 }], ruleB: unreachable });
    const local = await memory({}, [], ['x']);
    const deputy = new TimeSeriesDeputy({ storage: local, peer: [a, b], clock, retry: noWait });
    const summary = await deputy.run({ from: 0, to: 100 });
    expect(summary).toMatchObject({ state: 'finished_ok', peers: ['local:a'], retries: 0 });
    expect(values((await dump(local)).points.x)).toEqual(values(series('a')));
    expect(b.calls.map((c) => c.op)).toEqual(['hello']);
    expect(messages(deputy, 'PEER_UNREACHABLE')[0]?.message).toContain('local:b cannot serve');
    expect(messages(deputy, 'SYNC_NO_SOURCE')[0]?.message).toContain(
      '(lacking it at hello: local:a; unusable: local:b)',
    );
  });

  it('a second peer whose clock is off by more than maxClockSkewMs is not used', async () => {
    const clock = new ManualClock(1_000);
    const a = localPeer(await memory({ x: series('a') }), {
      clock,
      instanceId: 'a',
      gaps: () => [{ from: 30, to: 60 }],
    });
    const b = faultPeer(
      localPeer(await memory({ x: series('b') }), {
        clock: new ManualClock(1_000 + 600_000),
        instanceId: 'b',
      }),
    );
    const local = await memory({}, [], ['x']);
    const deputy = new TimeSeriesDeputy({ storage: local, peer: [a, b], clock });
    const summary = await deputy.run({ from: 0, to: 100 });
    expect(summary).toMatchObject({ state: 'finished_ok', peers: ['local:a'] });
    expect(values((await dump(local)).points.x)).toEqual(values(series('a')));
    expect(reads(b)).toBe(0);
    expect(messages(deputy, 'SYNC_CLOCK_SKEW')[0]?.message).toContain('local:b cannot serve');
  });

  it('asks the other peers nothing when what the first lacks is outside the run', async () => {
    const { clock, a, b } = await twoPeers({ gapsA: [{ from: 500, to: 600 }] });
    const local = await memory({}, [], ['x']);
    const deputy = new TimeSeriesDeputy({ storage: local, peer: [a, b], clock });
    const summary = await deputy.run({ from: 0, to: 100 });
    expect(summary).toMatchObject({ state: 'finished_ok', peers: ['local:a'] });
    expect(b.calls).toEqual([]);
    expect(values((await dump(local)).points.x)).toEqual(values(series('a')));
  });

  it('a second peer that does not trend the item: its part is read from the first (warning), the item is ok', async () => {
    const clock = new ManualClock(1_000);
    const a = localPeer(await memory({ x: series('a') }), {
      clock,
      instanceId: 'a',
      gaps: () => [{ from: 30, to: 60 }],
    });
    const b = faultPeer(localPeer(await memory({ y: series('b') }), { clock, instanceId: 'b' }));
    const local = await memory({}, [], ['x']);
    const deputy = new TimeSeriesDeputy({ storage: local, peer: [a, b], clock });
    const summary = await deputy.run({ from: 0, to: 100 });
    expect(summary).toMatchObject({ state: 'finished_ok', items: { ok: 1, skipped: 0 } });
    expect(values((await dump(local)).points.x)).toEqual(values(series('a')));
    const [warning] = messages(deputy, 'PEER_UNKNOWN_ITEM');
    expect(warning?.message).toContain(
      'local:b does not trend it; [30, 60) of gap 1 is read from local:a',
    );
    expect(reads(b)).toBe(1);
  });

  it('a transient failure of the second peer loses the connection; the run resumes its part', async () => {
    const { clock, a, b } = await twoPeers({
      gapsA: [{ from: 30, to: 60 }],
      ruleB: (call) => (call.op === 'readPoints' && call.n === 2 ? unreachable() : undefined),
    });
    const local = await memory({}, [], ['x']);
    const deputy = new TimeSeriesDeputy({
      storage: local,
      peer: [a, b],
      clock,
      pageSize: 2,
      concurrency: 1,
      retry: noWait,
    });
    const recording = recordEvents(deputy, ['transition']);
    const summary = await deputy.run({ from: 0, to: 100 });
    expect(summary.state).toBe('finished_ok');
    expect(values((await dump(local)).points.x)).toEqual([
      'a0',
      'a10',
      'a20',
      'b30',
      'b40',
      'b50',
      'a60',
      'a70',
      'a80',
      'a90',
    ]);
    expect(
      (recording.of('transition') as DeputyTransitionEvent[])
        .filter((e) => e.to === 'waiting_for_connection')
        .map((e) => `${e.fromCode}→${e.toCode}`),
    ).toEqual(['1→2', '4→2']);
    // Resumed after b's first page (30, 40): the committed progress, not the part's start.
    expect(pointReads(b, 'x').at(-1)).toEqual({ from: 41, to: 60 });
  });

  it('a hello whose gaps are malformed is a bad reply: that peer is passed over', async () => {
    const { clock, a, b } = await twoPeers({
      ruleA: (call) =>
        call.op === 'hello'
          ? {
              reply: {
                instanceId: 'a',
                protocolVersion: 1,
                now: clock.now(),
                gaps: [{ from: 9, to: 1 }],
              },
            }
          : undefined,
    });
    const local = await memory({}, [], ['x']);
    const deputy = new TimeSeriesDeputy({ storage: local, peer: [a, b], clock, retry: noWait });
    const summary = await deputy.run({ from: 0, to: 100 });
    expect(summary).toMatchObject({ state: 'finished_ok', peer: 'local:b', peers: ['local:b'] });
    expect(values((await dump(local)).points.x)).toEqual(values(series('b')));
    expect(reads(a)).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import type { SyncGap } from '../../src/deputy/ledger.js';
import type { DeputyTransitionEvent } from '../../src/deputy/types.js';
import { isEdgeHaError, PeerError } from '../../src/errors.js';
import { HAGovernor } from '../../src/governor/governor.js';
import { localPeer } from '../../src/peer/local.js';
import type { RemotePeer } from '../../src/peer/types.js';
import type { JsonObject, Point, StorageAdapter } from '../../src/storage/types.js';
import { faultyStorage } from '../../src/testing/faults/storage.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { recordEvents } from '../../src/testing/record-events.js';
import {
  dump,
  faultPeer,
  linked,
  memory,
  pts,
  recordGaps,
  spyStorage,
  unreachable,
} from '../deputy/helpers.js';

const noWait = { retries: 2, backoff: () => 0 };
const HB = 'edge-ha:heartbeat';

function arrowsByKind(events: unknown[], kind: string): string[] {
  return (events as DeputyTransitionEvent[])
    .filter((e) => e.kind === kind)
    .map((e) => `${e.fromCode}→${e.toCode}`);
}

const gapsOf = (gaps: readonly SyncGap[] | null | undefined) =>
  (gaps ?? []).map((g) => [g.from, g.to, g.mode, g.reason] as const);

/** A clock and one local peer reading the same clock, as governor options. */
function peersAt(remote: StorageAdapter, now: number): { clock: ManualClock; peers: RemotePeer[] } {
  const { clock, peer } = linked(remote, now);
  return { clock, peers: [peer] };
}

/** Writes a version-2 heartbeat record. */
async function heartbeat(
  storage: StorageAdapter,
  at: number,
  clean: boolean,
  intervalMs: number | null = 1_000,
): Promise<void> {
  await storage.writeSyncState(HB, {
    format: 'edge-ha.heartbeat',
    version: 2,
    at,
    clean,
    intervalMs,
  });
}

describe('HAGovernor: start-up', () => {
  it('first-ever start: nothing to recover, both deputies finish ok at once, caughtUp', async () => {
    const storage = await memory({ a: pts([1, 'mine']) });
    const { clock, peer: inner } = linked(await memory({ a: pts([1, 'theirs']) }), 50_000);
    const peer = faultPeer(inner);
    const governor = new HAGovernor({ storage, peers: [peer], clock });
    const recording = recordEvents(governor, ['transition']);
    expect(governor.status().caughtUp).toBe(false);
    const result = await governor.start();
    expect(result.timeSeries).toMatchObject({ state: 'finished_ok', window: null, gaps: [] });
    expect(arrowsByKind(recording.of('transition'), 'timeSeries')).toEqual(['0→1', '1→5']);
    expect(arrowsByKind(recording.of('transition'), 'events')).toEqual(['0→1', '1→5']);
    const status = governor.status();
    expect(status).toMatchObject({
      startedAt: 50_000,
      caughtUp: true,
      heartbeat: 50_000,
      startup: { heartbeat: null, downtime: null },
      gaps: { timeSeries: [], events: [] },
      unrecoverable: { timeSeries: [], events: [] },
    });
    expect(peer.calls).toEqual([]);
    expect((await dump(storage)).points.a).toEqual(pts([1, 'mine']));
    await governor.close();
  });

  it('first start with firstStartLookbackMs merges the look-back', async () => {
    const remote = await memory({ a: pts([400, 'old'], [600, 'r600'], [700, 'r700']) }, [
      { id: 'e', t: 800, body: null },
    ]);
    const storage = await memory({ a: pts([700, 'mine']) });
    const governor = new HAGovernor({
      storage,
      peers: [linked(remote, 1_000).peer],
      clock: new ManualClock(1_000),
      firstStartLookbackMs: 500,
    });
    const result = await governor.start();
    expect(gapsOf(result.timeSeries?.gaps)).toEqual([[500, 1_000, 'merge', 'firstStart']]);
    expect(gapsOf(result.events?.gaps)).toEqual([[500, 1_000, 'merge', 'firstStart']]);
    expect(await dump(storage)).toEqual({
      points: { a: pts([600, 'r600'], [700, 'mine']) },
      events: [{ id: 'e', t: 800, body: null }],
    });
    expect(governor.status().caughtUp).toBe(true);
    await governor.close();
  });

  it('after a crash: the downtime overwrites from two heartbeat intervals after the last heartbeat, margins merge', async () => {
    const remote = await memory(
      {
        a: pts(
          [3_000, 'too early'],
          [4_500, 'r4500'],
          [5_500, 'r5500'],
          [5_700, 'r5700'],
          [6_500, 'r6500'],
          [8_000, 'r8000'],
          [9_500, 'r9500'],
          [12_000, 'future'],
        ),
      },
      [
        { id: 'x', t: 7_000, body: 'remote' },
        { id: 'old', t: 100, body: 'too old' },
      ],
    );
    const storage = await memory({
      // 6500: recorded while the heartbeat due at 6000 may still have been under way
      a: pts([4_000, 'keep'], [5_500, 'mine'], [6_500, 'mine'], [7_000, 'stale']),
    });
    await heartbeat(storage, 5_000, false, 1_000);
    const clock = new ManualClock(9_000);
    const governor = new HAGovernor({
      storage,
      peers: [localPeer(remote, { instanceId: 'b', clock: new ManualClock(9_250) })],
      clock,
      overlapMs: 100,
    });
    const result = await governor.start();
    // margin = max(overlapMs, |skew| + 1 s) = 1250 ms
    const expected = [
      [3_750, 7_000, 'merge', 'margin'],
      [7_000, 9_000, 'overwrite', 'downtime'],
      [9_000, 10_250, 'merge', 'margin'],
    ];
    expect(gapsOf(result.timeSeries?.gaps)).toEqual(expected);
    expect(gapsOf(result.events?.gaps)).toEqual(expected);
    expect(result.timeSeries?.window).toEqual({ from: 3_750, to: 10_250 });
    expect((await dump(storage)).points.a).toEqual(
      pts(
        [4_000, 'keep'],
        [4_500, 'r4500'],
        [5_500, 'mine'],
        [5_700, 'r5700'],
        [6_500, 'mine'],
        [8_000, 'r8000'],
        [9_500, 'r9500'],
      ),
    );
    expect((await dump(storage)).events.map((e) => e.id)).toEqual(['x']);
    const status = governor.status();
    expect(status.caughtUp).toBe(true);
    expect(status.startup).toEqual({
      heartbeat: { at: 5_000, clean: false, intervalMs: 1_000 },
      downtime: { heartbeat: 5_000, overwriteFrom: 7_000, to: 9_000, clean: false },
    });
    expect(status.gaps).toEqual({ timeSeries: [], events: [] });
    expect(status.deputies.timeSeries).toMatchObject({
      lastUpToDate: 9_000,
      peer: 'local:b',
      clockSkewMs: 250,
    });
    expect(status.deputies.events?.code).toBe(5);
    await governor.close();
  });

  /** Runs a node from 10000 to 12500 (heartbeats every 1000), stops it, restarts it at 20000. */
  async function restart(clean: boolean, recorded: Point[], whileDown: Point[] = []) {
    const remote = await memory({
      a: pts([12_200, 'theirs'], [12_600, 'theirs'], [12_700, 'r12700'], [14_000, 'r14000']),
    });
    const storage = await memory({}, [], ['a']);
    const base = { heartbeatIntervalMs: 1_000, overlapMs: 0, events: false };
    const before = linked(remote, 10_000);
    const node = new HAGovernor({ storage, peers: [before.peer], clock: before.clock, ...base });
    await node.start();
    await before.clock.advanceAsync(2_500); // heartbeats at 11000 and 12000
    await storage.appendPoints('a', recorded); // what the node recorded while running
    // clean: close() writes the exact stop time; crash: the process just dies (its timers are on
    // a clock that never moves again)
    if (clean) await node.close();
    if (whileDown.length > 0) await storage.appendPoints('a', whileDown);
    const after = linked(remote, 20_000);
    const next = new HAGovernor({ storage, peers: [after.peer], clock: after.clock, ...base });
    const result = await next.start();
    const status = next.status();
    await next.close();
    return { points: (await dump(storage)).points.a, result, status };
  }

  it('after a clean close the next start overwrites from the millisecond after the stop time', async () => {
    const { points, result, status } = await restart(
      true,
      // 12500: recorded in the very millisecond of the stop, while running
      pts([12_200, 'mine'], [12_500, 'mine at the stop']),
      pts([12_900, 'written while down']),
    );
    expect(status.startup?.heartbeat).toEqual({ at: 12_500, clean: true, intervalMs: 1_000 });
    expect(status.startup?.downtime).toEqual({
      heartbeat: 12_500,
      overwriteFrom: 12_501,
      to: 20_000,
      clean: true,
    });
    expect(gapsOf(result.timeSeries?.gaps)).toEqual([
      [11_500, 12_501, 'merge', 'margin'],
      [12_501, 20_000, 'overwrite', 'downtime'],
      [20_000, 21_000, 'merge', 'margin'],
    ]);
    expect(points).toEqual(
      pts(
        [12_200, 'mine'],
        [12_500, 'mine at the stop'],
        [12_600, 'theirs'],
        [12_700, 'r12700'],
        [14_000, 'r14000'],
      ),
    );
  });

  it('after a crash the overwrite starts two intervals after the last heartbeat, and points recorded in between survive', async () => {
    const { points, result, status } = await restart(
      false,
      // 13500: after the heartbeat due at 13000, whose write may not have committed at the crash
      pts([12_600, 'mine'], [12_800, 'mine'], [13_500, 'mine']),
      pts([14_500, 'stale']),
    );
    expect(status.startup?.downtime).toEqual({
      heartbeat: 12_000,
      overwriteFrom: 14_000,
      to: 20_000,
      clean: false,
    });
    expect(gapsOf(result.timeSeries?.gaps)).toEqual([
      [11_000, 14_000, 'merge', 'margin'],
      [14_000, 20_000, 'overwrite', 'downtime'],
      [20_000, 21_000, 'merge', 'margin'],
    ]);
    // the overwrite part still lets the remote win: 14500 is gone
    expect(points).toEqual(
      pts(
        [12_200, 'theirs'],
        [12_600, 'mine'],
        [12_700, 'r12700'],
        [12_800, 'mine'],
        [13_500, 'mine'],
        [14_000, 'r14000'],
      ),
    );
  });

  it('reads a 0.1.0 heartbeat record as a crash with twice the configured interval', async () => {
    const storage = await memory();
    await storage.writeSyncState(HB, { lastUpToDate: null, heartbeat: 5_000, run: null });
    const governor = new HAGovernor({
      storage,
      ...peersAt(await memory(), 12_000),
      heartbeatIntervalMs: 2_000,
    });
    await governor.start();
    expect(governor.status().startup).toEqual({
      heartbeat: { at: 5_000, clean: false, intervalMs: null },
      downtime: { heartbeat: 5_000, overwriteFrom: 9_000, to: 12_000, clean: false },
    });
    expect(await storage.readSyncState(HB)).toEqual({
      format: 'edge-ha.heartbeat',
      version: 2,
      at: 12_000,
      clean: false,
      intervalMs: 2_000,
    });
    await governor.close();
  });

  it('adds the downtime to every ledger before it writes the new heartbeat', async () => {
    const inner = await memory();
    await heartbeat(inner, 5_000, true);
    const spy = spyStorage(inner);
    const governor = new HAGovernor({ storage: spy, ...peersAt(await memory(), 9_000) });
    await governor.start();
    const keys = spy.calls.filter((c) => c.op === 'writeSyncState').map((c) => c.key);
    expect(keys.slice(0, 3)).toEqual(['edge-ha:timeSeries', 'edge-ha:events', HB]);
    for (const call of spy.calls.slice(0, 2)) {
      expect(gapsOf(recordGaps(call.value))).toEqual([[5_001, 9_000, 'overwrite', 'downtime']]);
      expect(recordGaps(call.value)[0]?.pendingMargins).toEqual({
        heartbeat: 5_000,
      });
    }
    await governor.close();
  });

  it('a crash before the new heartbeat is written loses nothing and adds the downtime only once', async () => {
    const inner = await memory();
    await heartbeat(inner, 5_000, true);
    // the 3rd write is the heartbeat: the process dies before it reaches the store
    const dying = faultyStorage(inner, { crashAt: 3, operations: ['writeSyncState'] });
    const options = { overlapMs: 0 };
    const first = new HAGovernor({ ...options, storage: dying, ...peersAt(await memory(), 9_000) });
    await first.start();
    expect(dying.crashed).toMatchObject({ operation: 'writeSyncState', call: 3 });
    expect(await inner.readSyncState(HB)).toMatchObject({ at: 5_000, clean: true });
    // restart later on the same store
    const second = new HAGovernor({
      ...options,
      storage: inner,
      ...peersAt(await memory(), 9_500),
    });
    const result = await second.start();
    expect(gapsOf(result.timeSeries?.gaps)).toEqual([
      [4_000, 5_001, 'merge', 'margin'],
      [5_001, 9_500, 'overwrite', 'downtime'],
      [9_500, 10_500, 'merge', 'margin'],
    ]);
    expect(second.status().caughtUp).toBe(true);
    await second.close();
  });

  it('caps the downtime at maxRecoveryMs and reports the older data as unrecoverable', async () => {
    const storage = await memory();
    await heartbeat(storage, 1_000, true);
    const governor = new HAGovernor({
      storage,
      ...peersAt(await memory(), 100_000),
      overlapMs: 0,
      maxRecoveryMs: 10_000,
    });
    const result = await governor.start();
    expect(gapsOf(result.events?.gaps)).toEqual([
      [90_000, 100_000, 'overwrite', 'downtime'],
      [100_000, 101_000, 'merge', 'margin'],
    ]);
    // the downtime's lost part and its margin before the heartbeat, joined
    expect(result.events?.unrecoverable).toEqual([{ from: 0, to: 90_000 }]);
    const status = governor.status();
    expect(status.unrecoverable).toEqual({
      timeSeries: [{ from: 0, to: 90_000 }],
      events: [{ from: 0, to: 90_000 }],
    });
    expect(
      status.deputies.events?.syncState.some(
        (m) => m.code === 'SYNC_UNRECOVERABLE' && m.message.includes('[0, 90000)'),
      ),
    ).toBe(true);
    expect(status.caughtUp).toBe(true);
    await governor.close();
  });

  it('a heartbeat at or after the start-up (clock set back) assumes no downtime', async () => {
    const storage = await memory();
    await heartbeat(storage, 9_000, false);
    const governor = new HAGovernor({ storage, ...peersAt(await memory(), 8_000) });
    const result = await governor.start();
    expect(result.timeSeries?.gaps).toEqual([]);
    expect(governor.status().startup?.downtime).toBeNull();
    expect(governor.status().syncState.some((m) => m.message.includes('set back'))).toBe(true);
    await governor.close();
  });

  it('refuses to start on a record it cannot read, and changes nothing', async () => {
    const storage = await memory();
    await heartbeat(storage, 5_000, true);
    const damaged: JsonObject = { format: 'edge-ha.deputy', version: 2, gaps: 'nope' };
    await storage.writeSyncState('edge-ha:events', damaged);
    const governor = new HAGovernor({ storage, ...peersAt(await memory(), 9_000) });
    await expect(governor.start()).rejects.toSatisfy((e) => isEdgeHaError(e, 'SYNC_STATE_FORMAT'));
    expect(await storage.readSyncState('edge-ha:timeSeries')).toBeUndefined();
    expect(await storage.readSyncState('edge-ha:events')).toEqual(damaged);
    expect(await storage.readSyncState(HB)).toMatchObject({ at: 5_000 });
    expect(governor.status().startedAt).toBeNull();

    const other = await memory();
    await other.writeSyncState(HB, { format: 'edge-ha.heartbeat', version: 9, at: 1 });
    const refused = new HAGovernor({ storage: other, ...peersAt(await memory(), 9_000) });
    await expect(refused.start()).rejects.toSatisfy((e) => isEdgeHaError(e, 'SYNC_STATE_FORMAT'));
  });
});

describe('HAGovernor: running', () => {
  it('writes a heartbeat on an interval with the injected clock, and close() writes a clean one and stops it', async () => {
    const storage = await memory();
    const env = peersAt(await memory(), 0);
    const { clock } = env;
    const governor = new HAGovernor({ storage, ...env, heartbeatIntervalMs: 1_000 });
    const recording = recordEvents(governor, ['heartbeat']);
    await governor.start();
    await clock.advanceAsync(3_500);
    expect(recording.of('heartbeat')).toEqual([
      { at: 0 },
      { at: 1_000 },
      { at: 2_000 },
      { at: 3_000 },
    ]);
    expect(await storage.readSyncState(HB)).toMatchObject({ at: 3_000, clean: false });
    await governor.close();
    expect(clock.pendingTimers).toBe(0);
    expect(await storage.readSyncState(HB)).toEqual({
      format: 'edge-ha.heartbeat',
      version: 2,
      at: 3_500,
      clean: true,
      intervalMs: 1_000,
    });
    await clock.advanceAsync(10_000);
    expect(await storage.readSyncState(HB)).toMatchObject({ at: 3_500 });
    expect(governor.status().closed).toBe(true);
  });

  it('uses the first reachable peer in configured order and says which one served', async () => {
    const remote = await memory({}, [{ id: 'e', t: 5, body: null }]);
    const storage = await memory();
    await heartbeat(storage, 0, true);
    const { clock, peer } = linked(remote, 10);
    const a = faultPeer(peer, unreachable, 'peer-a');
    const b = faultPeer(peer, undefined, 'peer-b');
    const governor = new HAGovernor({ storage, peers: [a, b], clock, overlapMs: 0, retry: noWait });
    const result = await governor.start();
    expect(result.events).toMatchObject({
      state: 'finished_ok',
      peer: 'peer-b',
      eventsInserted: 1,
    });
    expect(governor.status().deputies.timeSeries?.peer).toBe('peer-b');
    await governor.close();
  });

  it('a failed run is not caught up and keeps the gaps; sync() retries and catches up', async () => {
    const remote = await memory({ a: pts([5, 1]) });
    const storage = await memory({}, [], ['a']);
    await heartbeat(storage, 0, true);
    const { clock, peer: inner } = linked(remote, 10);
    let denied = true;
    const peer = faultPeer(inner, (call) =>
      denied && call.op === 'hello' ? new PeerError('PEER_AUTH', 'denied') : undefined,
    );
    const governor = new HAGovernor({ storage, peers: [peer], clock, overlapMs: 0 });
    const result = await governor.start();
    expect(result.timeSeries?.errors.map((e) => e.code)).toEqual(['PEER_AUTH']);
    const status = governor.status();
    expect(status.caughtUp).toBe(false);
    expect(status.deputies.timeSeries).toMatchObject({ code: 6, lastUpToDate: null });
    expect(gapsOf(status.gaps.timeSeries)).toEqual([[1, 10, 'overwrite', 'downtime']]);
    expect(gapsOf(status.gaps.events)).toEqual([[1, 10, 'overwrite', 'downtime']]);
    denied = false;
    clock.advance(5);
    const again = await governor.sync();
    expect(again.timeSeries?.state).toBe('finished_ok');
    expect(gapsOf(again.timeSeries?.gaps)).toEqual([
      [-1_000, 1, 'merge', 'margin'],
      [1, 10, 'overwrite', 'downtime'],
      [10, 1_010, 'merge', 'margin'],
    ]);
    expect(governor.status()).toMatchObject({
      caughtUp: true,
      gaps: { timeSeries: [], events: [] },
    });
    expect(governor.status().deputies.timeSeries?.lastUpToDate).toBe(15);
    expect((await dump(storage)).points.a).toEqual(pts([5, 1]));
    await governor.close();
  });

  it('reportGap() adds a merge gap to both deputies without running; sync() then clears it', async () => {
    const remote = await memory({ a: pts([100, 'theirs'], [150, 'r150']) }, [
      { id: 'e', t: 120, body: 'r' },
    ]);
    const storage = await memory({ a: pts([100, 'mine']) });
    const { clock, peer: inner } = linked(remote, 1_000);
    const peer = faultPeer(inner);
    const governor = new HAGovernor({ storage, peers: [peer], clock });
    await governor.start();
    expect(governor.status().caughtUp).toBe(true);
    await governor.reportGap({ from: 50, to: 200 });
    expect(peer.calls).toEqual([]);
    const status = governor.status();
    expect(status.caughtUp).toBe(false);
    expect(gapsOf(status.gaps.timeSeries)).toEqual([[50, 200, 'merge', 'reported']]);
    expect(gapsOf(status.gaps.events)).toEqual([[50, 200, 'merge', 'reported']]);
    expect((await storage.readSyncState('edge-ha:timeSeries'))?.gaps).toHaveLength(1);
    const result = await governor.sync();
    expect(result.timeSeries?.state).toBe('finished_ok');
    expect(await dump(storage)).toEqual({
      points: { a: pts([100, 'mine'], [150, 'r150']) },
      events: [{ id: 'e', t: 120, body: 'r' }],
    });
    expect(governor.status()).toMatchObject({
      caughtUp: true,
      gaps: { timeSeries: [], events: [] },
    });
    await governor.close();
  });

  it("resync() merges by default, and with { mode: 'overwrite' } lets the remote win", async () => {
    const remote = await memory({ a: pts([100, 'theirs'], [150, 'r150']) });
    const storage = await memory({ a: pts([100, 'mine'], [180, 'mine']) });
    const governor = new HAGovernor({ storage, ...peersAt(remote, 1_000) });
    await governor.start();
    const merged = await governor.resync({ from: 50, to: 200 });
    expect(gapsOf(merged.timeSeries?.gaps)).toEqual([[50, 200, 'merge', 'requested']]);
    expect((await dump(storage)).points.a).toEqual(
      pts([100, 'mine'], [150, 'r150'], [180, 'mine']),
    );
    const overwritten = await governor.resync({ from: 50, to: 200 }, { mode: 'overwrite' });
    expect(gapsOf(overwritten.timeSeries?.gaps)).toEqual([[50, 200, 'overwrite', 'requested']]);
    expect((await dump(storage)).points.a).toEqual(pts([100, 'theirs'], [150, 'r150']));
    expect(governor.status().caughtUp).toBe(true);
    await governor.close();
  });

  it('a crash during a sync resumes on the next start and ends in the uninterrupted state', async () => {
    const remoteData = { a: pts([1, 1], [2, 2], [3, 3], [4, 4]), b: pts([2, 'b']) };
    const remoteEvents = Array.from({ length: 5 }, (_, i) => ({ id: `e${i}`, t: i, body: i }));
    const setup = async () => {
      const storage = await memory({ a: pts([2, 'old']) }, [], ['b']);
      await heartbeat(storage, 0, true);
      return storage;
    };
    const remote = await memory(remoteData, remoteEvents);
    const options = { overlapMs: 0, pageSize: 1, concurrency: 1 };
    const reference = await setup();
    await new HAGovernor({ ...options, ...peersAt(remote, 10), storage: reference }).start();
    await new HAGovernor({ ...options, ...peersAt(remote, 20), storage: reference }).start();

    const disk = await setup();
    const crashing = faultyStorage(disk, { crashAt: 3, operations: ['replacePoints'] });
    const first = new HAGovernor({ ...options, ...peersAt(remote, 10), storage: crashing });
    const failed = await first.start();
    expect(failed.timeSeries?.state).toBe('finished_with_error');
    // the process died: a new governor starts later on the same storage
    const second = new HAGovernor({ ...options, ...peersAt(remote, 20), storage: disk });
    const result = await second.start();
    expect(result.timeSeries).toMatchObject({ state: 'finished_ok', resumed: true });
    expect(gapsOf(result.timeSeries?.gaps)).toContainEqual([1, 10, 'overwrite', 'downtime']);
    expect(second.status().caughtUp).toBe(true);
    expect(await dump(disk)).toEqual(await dump(reference));
    await second.close();
  });

  it('status().caughtUp is false while gaps remain, and after a failed run', async () => {
    const storage = await memory();
    const { clock, peer: inner } = linked(await memory(), 1_000);
    let down = false;
    const peer = faultPeer(inner, () => (down ? unreachable() : undefined));
    const governor = new HAGovernor({ storage, peers: [peer], clock, retry: noWait });
    expect(governor.status().caughtUp).toBe(false);
    await governor.start();
    expect(governor.status().caughtUp).toBe(true);
    await governor.reportGap({ from: 0, to: 10 });
    expect(governor.status().caughtUp).toBe(false);
    down = true;
    await clock.runUntilSettled(governor.sync());
    expect(governor.status().caughtUp).toBe(false);
    expect(governor.status().gaps.timeSeries).toHaveLength(1);
    down = false;
    await governor.sync();
    expect(governor.status().caughtUp).toBe(true);
    await governor.close();
  });

  it('cancel() ends the runs with SYNC_CANCELLED', async () => {
    const storage = await memory();
    await heartbeat(storage, 0, true);
    const { clock, peer: inner } = linked(await memory(), 100);
    const peer = faultPeer(inner, (call) => (call.op === 'hello' ? 'hang' : undefined));
    const governor = new HAGovernor({ storage, peers: [peer], clock, overlapMs: 0 });
    const started = governor.start();
    await clock.advanceAsync(0);
    expect(governor.status().running).toBe(true);
    await expect(governor.resync({ from: 0, to: 1 })).rejects.toSatisfy((e) =>
      isEdgeHaError(e, 'SYNC_BUSY'),
    );
    await expect(governor.sync()).rejects.toSatisfy((e) => isEdgeHaError(e, 'SYNC_BUSY'));
    governor.cancel();
    const result = await started;
    expect(result.timeSeries?.errors.map((e) => e.code)).toEqual(['SYNC_CANCELLED']);
    expect(result.events?.errors.map((e) => e.code)).toEqual(['SYNC_CANCELLED']);
    expect(governor.status().caughtUp).toBe(false);
    expect(governor.status().gaps.timeSeries).toHaveLength(1);
    await governor.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('forwards deputy events with their kind, and survives a throwing listener', async () => {
    const storage = await memory({}, [], ['a']);
    await heartbeat(storage, 0, true);
    const remote = await memory({ a: pts([1, 1]) }, [{ id: 'e', t: 1, body: null }]);
    const governor = new HAGovernor({ storage, ...peersAt(remote, 10), overlapMs: 0 });
    const recording = recordEvents(governor, ['transition', 'progress', 'finished']);
    governor.on('finished', () => {
      throw new Error('bad listener');
    });
    await governor.start();
    const transitions = recording.of('transition');
    expect(arrowsByKind(transitions, 'timeSeries')).toEqual(['0→1', '1→2', '2→3', '3→4', '4→5']);
    expect(arrowsByKind(transitions, 'events')).toEqual(['0→1', '1→2', '2→3', '3→4', '4→5']);
    expect(new Set((recording.of('finished') as { kind: string }[]).map((s) => s.kind))).toEqual(
      new Set(['timeSeries', 'events']),
    );
    expect(recording.of('progress').length).toBeGreaterThan(0);
    expect(governor.status().caughtUp).toBe(true);
    await governor.close();
  });

  it('refuses misuse with coded errors', async () => {
    const storage = await memory();
    const { clock, peers } = peersAt(await memory(), 0);
    expect(() => new HAGovernor({ storage, peers: [] })).toThrow(
      expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }),
    );
    for (const bad of [
      { overlapMs: -5 },
      { heartbeatIntervalMs: 0 },
      { maxClockSkewMs: 0 },
      { maxRecoveryMs: 1.5 },
      { firstStartLookbackMs: -1 },
      { timeSeries: false, events: false },
    ]) {
      expect(() => new HAGovernor({ storage, peers, ...bad })).toThrow(
        expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }),
      );
    }
    const governor = new HAGovernor({ storage, peers, clock });
    await governor.start();
    await expect(governor.start()).rejects.toSatisfy((e) => isEdgeHaError(e, 'SYNC_BUSY'));
    await expect(governor.reportGap({ from: 5, to: 1 })).rejects.toSatisfy((e) =>
      isEdgeHaError(e, 'SYNC_INVALID_WINDOW'),
    );
    await expect(governor.resync({ from: 5, to: 1 })).rejects.toSatisfy((e) =>
      isEdgeHaError(e, 'SYNC_INVALID_WINDOW'),
    );
    await expect(
      governor.resync({ from: 0, to: 1 }, { mode: 'remote' as never }),
    ).rejects.toSatisfy((e) => isEdgeHaError(e, 'SYNC_INVALID_OPTION'));
    expect(governor.status().gaps).toEqual({ timeSeries: [], events: [] });
    await governor.close();
    await governor.close();
    await expect(governor.resync({ from: 0, to: 1 })).rejects.toSatisfy((e) =>
      isEdgeHaError(e, 'SYNC_CLOSED'),
    );
    await expect(governor.reportGap({ from: 0, to: 1 })).rejects.toSatisfy((e) =>
      isEdgeHaError(e, 'SYNC_CLOSED'),
    );
    await expect(governor.sync()).rejects.toSatisfy((e) => isEdgeHaError(e, 'SYNC_CLOSED'));
  });

  it('keeps running when the heartbeat cannot be written, and reports it', async () => {
    const storage = await memory();
    const broken: StorageAdapter = {
      ...spyStorage(storage),
      writeSyncState: async (key: string, value: JsonObject) => {
        if (key === HB) throw new PeerError('PEER_UNAVAILABLE', 'disk full (injected)');
        return storage.writeSyncState(key, value);
      },
    };
    const governor = new HAGovernor({ storage: broken, ...peersAt(await memory(), 0) });
    const result = await governor.start();
    expect(result.timeSeries?.state).toBe('finished_ok');
    expect(
      governor
        .status()
        .syncState.some((m) => m.level === 'error' && m.message.includes('disk full')),
    ).toBe(true);
    expect(governor.status().heartbeat).toBeNull();
    await governor.close();
  });

  it('reports a heartbeat write still pending one interval after it started (SYNC_FAILED)', async () => {
    const storage = await memory();
    let hang = false;
    const hung: (() => void)[] = [];
    const slow: StorageAdapter = {
      ...spyStorage(storage),
      writeSyncState: (key: string, value: JsonObject) =>
        hang && key === HB
          ? new Promise<void>((resolve) => {
              hung.push(() => resolve(storage.writeSyncState(key, value)));
            })
          : storage.writeSyncState(key, value),
    };
    const env = peersAt(await memory(), 0);
    const { clock } = env;
    const governor = new HAGovernor({ storage: slow, ...env, heartbeatIntervalMs: 1_000 });
    const failures = () => governor.status().syncState.filter((m) => m.code === 'SYNC_FAILED');
    await governor.start();
    hang = true;
    await clock.advanceAsync(1_000); // the heartbeat of 1000 starts and hangs
    expect(hung).toHaveLength(1);
    await clock.advanceAsync(999);
    expect(failures()).toEqual([]); // not yet one interval
    await clock.advanceAsync(1); // two intervals in: the write is one interval old
    expect(failures()).toHaveLength(1);
    expect(failures()[0]).toMatchObject({ kind: 'governor', level: 'error', code: 'SYNC_FAILED' });
    expect(failures()[0]?.message).toMatch(/heartbeat/i);
    expect(failures()[0]?.message).toContain('1000');
    expect(await storage.readSyncState(HB)).toMatchObject({ at: 0, clean: false });
    // the write completes late: the heartbeat goes on, and no further error is reported
    hang = false;
    for (const release of hung.splice(0)) release();
    await clock.advanceAsync(3_000);
    expect(governor.status().heartbeat).toBeGreaterThan(1_000);
    expect(failures()).toHaveLength(1);
    await governor.close();
    expect(clock.pendingTimers).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import type { DeputyTransitionEvent } from '../../src/deputy/types.js';
import { isEdgeHaError, PeerError } from '../../src/errors.js';
import { HAGovernor } from '../../src/governor/governor.js';
import { localPeer } from '../../src/peer/local.js';
import type { SyncStateRecord } from '../../src/storage/types.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { recordEvents } from '../../src/testing/record-events.js';
import { crashingStorage, dump, faultPeer, memory, pts, unreachable } from '../deputy/helpers.js';

const noWait = { retries: 2, backoff: () => 0 };

function arrowsByKind(events: unknown[], kind: string): string[] {
  return (events as DeputyTransitionEvent[])
    .filter((e) => e.kind === kind)
    .map((e) => `${e.fromCode}→${e.toCode}`);
}

describe('HAGovernor', () => {
  it('first-ever start: nothing to recover, both deputies finish ok at once, caughtUp', async () => {
    const clock = new ManualClock(50_000);
    const storage = await memory({ a: pts([1, 'mine']) });
    const peer = faultPeer(localPeer(await memory({ a: pts([1, 'theirs']) })));
    const governor = new HAGovernor({ storage, peers: [peer], clock });
    const recording = recordEvents(governor, ['transition']);
    expect(governor.status().caughtUp).toBe(false);
    const result = await governor.start();
    expect(result.timeSeries?.window).toEqual({ from: 50_000, to: 50_000 });
    expect(arrowsByKind(recording.of('transition'), 'timeSeries')).toEqual(['0→1', '1→5']);
    expect(arrowsByKind(recording.of('transition'), 'events')).toEqual(['0→1', '1→5']);
    const status = governor.status();
    expect(status).toMatchObject({ startedAt: 50_000, caughtUp: true, heartbeat: 50_000 });
    expect(status.recovery.timeSeries?.basis).toBe('firstStart');
    expect(peer.calls).toEqual([]);
    expect((await dump(storage)).points.a).toEqual(pts([1, 'mine']));
    await governor.close();
  });

  it('restart after downtime: recovers [min(LastUpToDate, heartbeat) − overlap, start-up) from the peer', async () => {
    const remote = await memory(
      { a: pts([850, 'r850'], [950, 'r950'], [5_500, 'r5500'], [9_500, 'future']) },
      [
        { id: 'x', t: 3_000, body: 'remote' },
        { id: 'old', t: 100, body: 'too old' },
      ],
    );
    const storage = await memory({ a: pts([800, 'keep'], [950, 'stale']) });
    await storage.writeSyncState('edge-ha:timeSeries', {
      lastUpToDate: 1_000,
      heartbeat: null,
      run: null,
    });
    await storage.writeSyncState('edge-ha:events', {
      lastUpToDate: 1_000,
      heartbeat: null,
      run: null,
    });
    await storage.writeSyncState('edge-ha:heartbeat', {
      lastUpToDate: null,
      heartbeat: 5_000,
      run: null,
    });
    const clock = new ManualClock(9_000);
    const governor = new HAGovernor({
      storage,
      peers: [localPeer(remote, { instanceId: 'b', clock: new ManualClock(9_250) })],
      clock,
      overlapMs: 100,
    });
    const result = await governor.start();
    expect(result.timeSeries?.window).toEqual({ from: 900, to: 9_000 });
    expect(result.events?.window).toEqual({ from: 900, to: 9_000 });
    expect((await dump(storage)).points.a).toEqual(
      pts([800, 'keep'], [950, 'r950'], [5_500, 'r5500']),
    );
    expect((await dump(storage)).events.map((e) => e.id)).toEqual(['x']);
    const status = governor.status();
    expect(status.caughtUp).toBe(true);
    expect(status.deputies.timeSeries).toMatchObject({
      lastUpToDate: 9_000,
      peer: 'local:b',
      clockSkewMs: 250,
    });
    expect(status.deputies.events?.code).toBe(5);
    await governor.close();
  });

  it('caps the window at maxRecoveryMs and reports the older data as unrecoverable', async () => {
    const storage = await memory();
    await storage.writeSyncState('edge-ha:heartbeat', {
      lastUpToDate: null,
      heartbeat: 1_000,
      run: null,
    });
    const clock = new ManualClock(100_000);
    const governor = new HAGovernor({
      storage,
      peers: [localPeer(await memory())],
      clock,
      overlapMs: 0,
      maxRecoveryMs: 10_000,
    });
    const result = await governor.start();
    expect(result.events?.window).toEqual({ from: 90_000, to: 100_000 });
    expect(result.events?.unrecoverable).toEqual({ from: 1_000, to: 90_000 });
    const status = governor.status();
    expect(status.recovery.events?.unrecoverable).toEqual({ from: 1_000, to: 90_000 });
    expect(
      status.syncState.some(
        (m) => m.code === 'SYNC_UNRECOVERABLE' && m.message.includes('[1000, 90000)'),
      ),
    ).toBe(true);
    expect(status.deputies.events?.syncState.some((m) => m.code === 'SYNC_UNRECOVERABLE')).toBe(
      true,
    );
    await governor.close();
  });

  it('writes a heartbeat on an interval with the injected clock, and close() stops it', async () => {
    const storage = await memory();
    const clock = new ManualClock(0);
    const governor = new HAGovernor({
      storage,
      peers: [localPeer(await memory())],
      clock,
      heartbeatIntervalMs: 1_000,
    });
    const recording = recordEvents(governor, ['heartbeat']);
    await governor.start();
    await clock.advanceAsync(3_500);
    expect(recording.of('heartbeat')).toEqual([
      { at: 0 },
      { at: 1_000 },
      { at: 2_000 },
      { at: 3_000 },
    ]);
    expect((await storage.readSyncState('edge-ha:heartbeat'))?.heartbeat).toBe(3_000);
    await governor.close();
    expect(clock.pendingTimers).toBe(0);
    expect((await storage.readSyncState('edge-ha:heartbeat'))?.heartbeat).toBe(3_500);
    await clock.advanceAsync(10_000);
    expect((await storage.readSyncState('edge-ha:heartbeat'))?.heartbeat).toBe(3_500);
    expect(governor.status().closed).toBe(true);
  });

  it('uses the first reachable peer in configured order and says which one served', async () => {
    const remote = await memory({}, [{ id: 'e', t: 5, body: null }]);
    const storage = await memory();
    await storage.writeSyncState('edge-ha:heartbeat', {
      lastUpToDate: null,
      heartbeat: 0,
      run: null,
    });
    const a = faultPeer(localPeer(remote), unreachable, 'peer-a');
    const b = faultPeer(localPeer(remote), undefined, 'peer-b');
    const governor = new HAGovernor({
      storage,
      peers: [a, b],
      clock: new ManualClock(10),
      overlapMs: 0,
      retry: noWait,
    });
    const result = await governor.start();
    expect(result.events).toMatchObject({
      state: 'finished_ok',
      peer: 'peer-b',
      eventsInserted: 1,
    });
    expect(governor.status().deputies.timeSeries?.peer).toBe('peer-b');
    await governor.close();
  });

  it('a failed recovery is not caught up; LastUpToDate stays; a later resync can catch up', async () => {
    const remote = await memory({ a: pts([5, 1]) });
    const storage = await memory({}, [], ['a', 'b']);
    await storage.writeSyncState('edge-ha:heartbeat', {
      lastUpToDate: null,
      heartbeat: 0,
      run: null,
    });
    const clock = new ManualClock(10);
    const governor = new HAGovernor({ storage, peers: [localPeer(remote)], clock, overlapMs: 0 });
    const result = await governor.start();
    expect(result.timeSeries?.errors.map((e) => [e.item, e.code])).toEqual([
      ['b', 'PEER_UNKNOWN_ITEM'],
    ]);
    const status = governor.status();
    expect(status.caughtUp).toBe(false);
    expect(status.deputies.timeSeries?.code).toBe(6);
    expect(status.deputies.timeSeries?.lastUpToDate).toBeNull();
    await remote.registerItems(['b']);
    const again = await governor.resync({ from: 0, to: 10 });
    expect(again.timeSeries?.state).toBe('finished_ok');
    expect(governor.status().caughtUp).toBe(true);
    await governor.close();
  });

  it('a crash during recovery resumes on the next start and ends in the uninterrupted state', async () => {
    const remoteData = { a: pts([1, 1], [2, 2], [3, 3], [4, 4]), b: pts([2, 'b']) };
    const remoteEvents = Array.from({ length: 5 }, (_, i) => ({ id: `e${i}`, t: i, body: i }));
    const setup = async () => {
      const storage = await memory({ a: pts([2, 'old']) }, [], ['b']);
      await storage.writeSyncState('edge-ha:heartbeat', {
        lastUpToDate: null,
        heartbeat: 0,
        run: null,
      });
      return storage;
    };
    const remote = await memory(remoteData, remoteEvents);
    const reference = await setup();
    const options = { peers: [localPeer(remote)], overlapMs: 0, pageSize: 1, concurrency: 1 };
    await new HAGovernor({ ...options, storage: reference, clock: new ManualClock(10) }).start();

    const disk = await setup();
    const crashing = crashingStorage(disk, { crashAt: 3, ops: ['replacePoints'] });
    const first = new HAGovernor({ ...options, storage: crashing, clock: new ManualClock(10) });
    const failed = await first.start();
    expect(failed.timeSeries?.state).toBe('finished_with_error');
    // the process died: a new governor starts later on the same storage
    const second = new HAGovernor({ ...options, storage: disk, clock: new ManualClock(20) });
    const result = await second.start();
    expect(result.timeSeries).toMatchObject({ state: 'finished_ok', resumed: true });
    expect(result.timeSeries?.window.from).toBe(0);
    expect(second.status().caughtUp).toBe(true);
    expect(await dump(disk)).toEqual(await dump(reference));
    await first.close();
    await second.close();
  });

  it('cancel() ends the runs with SYNC_CANCELLED', async () => {
    const storage = await memory();
    await storage.writeSyncState('edge-ha:heartbeat', {
      lastUpToDate: null,
      heartbeat: 0,
      run: null,
    });
    const peer = faultPeer(localPeer(await memory()), (call) =>
      call.op === 'hello' ? 'hang' : undefined,
    );
    const clock = new ManualClock(100);
    const governor = new HAGovernor({ storage, peers: [peer], clock, overlapMs: 0 });
    const started = governor.start();
    await clock.advanceAsync(0);
    expect(governor.status().running).toBe(true);
    await expect(governor.resync({ from: 0, to: 1 })).rejects.toSatisfy((e) =>
      isEdgeHaError(e, 'SYNC_BUSY'),
    );
    governor.cancel();
    const result = await started;
    expect(result.timeSeries?.errors.map((e) => e.code)).toEqual(['SYNC_CANCELLED']);
    expect(result.events?.errors.map((e) => e.code)).toEqual(['SYNC_CANCELLED']);
    expect(governor.status().caughtUp).toBe(false);
    await governor.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('forwards deputy events with their kind, and survives a throwing listener', async () => {
    const storage = await memory({}, [], ['a']);
    await storage.writeSyncState('edge-ha:heartbeat', {
      lastUpToDate: null,
      heartbeat: 0,
      run: null,
    });
    const remote = await memory({ a: pts([1, 1]) }, [{ id: 'e', t: 1, body: null }]);
    const governor = new HAGovernor({
      storage,
      peers: [localPeer(remote)],
      clock: new ManualClock(10),
      overlapMs: 0,
    });
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
    const peers = [localPeer(await memory())];
    expect(() => new HAGovernor({ storage, peers: [] })).toThrow(
      expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }),
    );
    expect(() => new HAGovernor({ storage, peers, overlapMs: -5 })).toThrow(
      expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }),
    );
    expect(() => new HAGovernor({ storage, peers, timeSeries: false, events: false })).toThrow(
      expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }),
    );
    const governor = new HAGovernor({ storage, peers, clock: new ManualClock(0) });
    await governor.start();
    await expect(governor.start()).rejects.toSatisfy((e) => isEdgeHaError(e, 'SYNC_BUSY'));
    await governor.close();
    await governor.close();
    await expect(governor.resync({ from: 0, to: 1 })).rejects.toSatisfy((e) =>
      isEdgeHaError(e, 'SYNC_CLOSED'),
    );
  });

  it('keeps running when the heartbeat cannot be written, and reports it', async () => {
    const storage = await memory();
    const broken = {
      ...crashingStorage(storage),
      writeSyncState: async (key: string, state: SyncStateRecord) => {
        if (key === 'edge-ha:heartbeat')
          throw new PeerError('PEER_UNAVAILABLE', 'disk full (injected)');
        return storage.writeSyncState(key, state);
      },
    };
    const governor = new HAGovernor({
      storage: broken as never,
      peers: [localPeer(await memory())],
      clock: new ManualClock(0),
    });
    await governor.start();
    expect(
      governor
        .status()
        .syncState.some((m) => m.level === 'error' && m.message.includes('disk full')),
    ).toBe(true);
    expect(governor.status().heartbeat).toBeNull();
    await governor.close();
  });
});

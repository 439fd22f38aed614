/**
 * The governor's lifecycle after start-up (SPEC §4.6, I11): retry until caught up, whenCaughtUp,
 * a reported gap synced by itself, and follow mode (a node that stayed up converges).
 */

import { describe, expect, it } from 'vitest';
import { isEdgeHaError } from '../../src/errors.js';
import type { GovernorScheduledSync } from '../../src/governor/governor.js';
import { HAGovernor } from '../../src/governor/governor.js';
import { recordEvents } from '../../src/testing/record-events.js';
import { dump, faultPeer, linked, memory, pts, unreachable } from '../deputy/helpers.js';

const noWait = { retries: 1, backoff: () => 0 };

describe('retry until caught up', () => {
  it('a peer that is down for the first attempts: caught up later without a restart', async () => {
    const remote = await memory({ a: pts([500, 'theirs']) });
    const { clock, peer: inner } = linked(remote, 1_000);
    let down = true;
    const peer = faultPeer(inner, (call) =>
      down && call.op === 'hello' ? unreachable() : undefined,
    );
    const local = await memory({}, [], ['a']);
    const governor = new HAGovernor({
      storage: local,
      peers: [peer],
      clock,
      timeSeries: true,
      events: false,
      retry: noWait,
      retryEveryMs: { min: 1_000, max: 4_000 },
      firstStartLookbackMs: 1_000,
    });
    const recording = recordEvents(governor, ['scheduled']);
    const first = await clock.runUntilSettled(governor.start());
    expect(first.timeSeries?.state).toBe('finished_with_error');
    expect(governor.status()).toMatchObject({
      caughtUp: false,
      failedAttempts: 1,
      nextSyncAt: 2_000,
    });
    const caughtUp = governor.whenCaughtUp();
    // attempts at 2 s and 4 s fail (back-off 1 s, 2 s, 4 s), the peer comes back before 8 s
    await clock.advanceAsync(1_000);
    await clock.advanceAsync(2_000);
    expect(governor.status()).toMatchObject({
      caughtUp: false,
      failedAttempts: 3,
      nextSyncAt: 8_000,
    });
    down = false;
    await clock.advanceAsync(4_000);
    await caughtUp;
    expect(governor.status()).toMatchObject({
      caughtUp: true,
      failedAttempts: 0,
      nextSyncAt: null,
    });
    expect(
      (recording.of('scheduled') as GovernorScheduledSync[]).map((s) => [
        s.reason,
        s.attempt,
        s.delayMs,
      ]),
    ).toEqual([
      ['retry', 1, 1_000],
      ['retry', 2, 2_000],
      ['retry', 3, 4_000],
    ]);
    expect((await dump(local)).points.a).toEqual(pts([500, 'theirs']));
    expect(
      governor
        .status()
        .syncState.some((m) => m.level === 'info' && m.message.startsWith('Caught up after 4')),
    ).toBe(true);
    await governor.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('retryEveryMs: false leaves a failed start alone; close() rejects a pending whenCaughtUp', async () => {
    const { clock, peer: inner } = linked(await memory(), 1_000);
    const peer = faultPeer(inner, unreachable);
    const governor = new HAGovernor({
      storage: await memory({}, [], ['a']),
      peers: [peer],
      clock,
      retry: noWait,
      retryEveryMs: false,
      firstStartLookbackMs: 500,
    });
    await clock.runUntilSettled(governor.start());
    expect(governor.status()).toMatchObject({ caughtUp: false, nextSyncAt: null });
    const waiting = governor.whenCaughtUp();
    const calls = peer.calls.length;
    await clock.advanceAsync(60_000);
    expect(peer.calls.length).toBe(calls);
    await governor.close();
    const error = await waiting.then(
      () => null,
      (e: unknown) => e,
    );
    expect(isEdgeHaError(error, 'SYNC_CLOSED')).toBe(true);
  });

  it('whenCaughtUp resolves at once when caught up, and rejects before start() and on abort', async () => {
    const { clock, peer } = linked(await memory(), 1_000);
    const governor = new HAGovernor({ storage: await memory(), peers: [peer], clock });
    const early = await governor.whenCaughtUp().catch((e: unknown) => e);
    expect(isEdgeHaError(early, 'SYNC_BUSY')).toBe(true);
    await governor.start();
    await expect(governor.whenCaughtUp()).resolves.toBeUndefined();
    await governor.reportGap({ from: 0, to: 10 });
    const controller = new AbortController();
    const waiting = governor.whenCaughtUp({ signal: controller.signal });
    controller.abort();
    const aborted = await waiting.catch((e: unknown) => e);
    expect(isEdgeHaError(aborted, 'SYNC_CANCELLED')).toBe(true);
    await governor.close();
  });

  it('a reported gap is synced by itself (no sync() call needed)', async () => {
    const remote = await memory({ a: pts([5, 'missed write']) });
    const { clock, peer } = linked(remote, 1_000);
    const local = await memory({ a: pts([6, 'mine']) });
    const governor = new HAGovernor({ storage: local, peers: [peer], clock, events: false });
    await governor.start();
    await governor.reportGap({ from: 0, to: 10 });
    expect(governor.status().caughtUp).toBe(false);
    await clock.advanceAsync(0);
    await governor.whenCaughtUp();
    expect((await dump(local)).points.a).toEqual(pts([5, 'missed write'], [6, 'mine']));
    expect(governor.status().gaps.timeSeries).toEqual([]);
    await governor.close();
  });
});

describe('follow mode', () => {
  it('a node that stayed up but missed writes converges within two follow periods; its own points stay', async () => {
    const T0 = 1_000_000;
    const remote = await memory({}, [], ['a']);
    const { clock, peer } = linked(remote, T0);
    const local = await memory({}, [], ['a']);
    const governor = new HAGovernor({
      storage: local,
      peers: [peer],
      clock,
      followEveryMs: 10_000,
      heartbeatIntervalMs: 60_000,
    });
    await governor.start();
    // A partition: writes reach the peer only; A records its own value at one shared timestamp.
    await remote.appendPoints('a', [
      { t: T0 + 1_000, v: 'missed 1' },
      { t: T0 + 4_000, v: 'theirs' },
      { t: T0 + 9_000, v: 'missed 2' },
    ]);
    await remote.insertEventsIfAbsent([{ id: 'alarm-1', t: T0 + 2_000, body: { high: true } }]);
    await local.appendPoints('a', [{ t: T0 + 4_000, v: 'mine' }]);
    await clock.advanceAsync(20_000);
    const state = await dump(local);
    expect(state.points.a).toEqual(
      pts([T0 + 1_000, 'missed 1'], [T0 + 4_000, 'mine'], [T0 + 9_000, 'missed 2']),
    );
    expect(state.events.map((e) => e.id)).toEqual(['alarm-1']);
    const status = governor.status();
    expect(status.caughtUp).toBe(true);
    expect(status.deputies.timeSeries?.lastRun?.gaps.map((g) => [g.mode, g.reason])).toEqual([
      ['merge', 'follow'],
    ]);
    await governor.close();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('recordsWhileRunning: false (a one-shot catch-up of a store that records nothing)', () => {
  it('writes the heartbeat once, at start-up, as a clean stop; neither the timer nor close() moves it', async () => {
    const { clock, peer } = linked(await memory(), 1_000);
    const storage = await memory();
    const governor = new HAGovernor({
      storage,
      peers: [peer],
      clock,
      heartbeatIntervalMs: 100,
      recordsWhileRunning: false,
    });
    await governor.start();
    const atStart = await storage.readSyncState(governor.heartbeatKey);
    expect(atStart).toMatchObject({ at: 1_000, clean: true });
    await clock.advanceAsync(1_000);
    await governor.close();
    expect(await storage.readSyncState(governor.heartbeatKey)).toEqual(atStart);
    expect(clock.pendingTimers).toBe(0);
  });
});

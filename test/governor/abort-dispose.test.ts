/**
 * The caller's AbortSignal (issue #17): `start()`, `sync()`, `resync()` and `whenCaughtUp()`
 * reject with an AbortError like Node.js APIs (`name`, `cause`), the runs record the
 * cancellation as `SYNC_CANCELLED`; and `await using` closes a governor.
 */

import { describe, expect, it } from 'vitest';
import { isEdgeHaError, SyncAbortError } from '../../src/errors.js';
import { HAGovernor } from '../../src/governor/governor.js';
import { recordEvents } from '../../src/testing/record-events.js';
import { faultPeer, linked, memory, pts, unreachable } from '../deputy/helpers.js';

const HB = 'edge-ha:heartbeat';

async function abortOf(call: Promise<unknown>): Promise<SyncAbortError> {
  const error = await call.then(
    (value) => {
      throw new Error(`expected an AbortError, the call resolved: ${JSON.stringify(value)}`);
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SyncAbortError);
  expect((error as Error).name).toBe('AbortError');
  expect(isEdgeHaError(error, 'SYNC_CANCELLED')).toBe(true);
  return error as SyncAbortError;
}

/** A started governor whose peer never answers `hello` while `hang` is true. */
async function hangingGovernor() {
  const remote = await memory({ a: pts([5, 'theirs']) });
  const { clock, peer: inner } = linked(remote, 1_000);
  const control = { hang: false };
  const peer = faultPeer(inner, (call) =>
    control.hang && call.op === 'hello' ? 'hang' : undefined,
  );
  const storage = await memory({}, [], ['a']);
  const governor = new HAGovernor({
    storage,
    peers: [peer],
    clock,
    retryEveryMs: false,
    overlapMs: 0,
  });
  await clock.runUntilSettled(governor.start());
  return { governor, clock, control, storage, peer };
}

describe('the caller aborts a sync', () => {
  it('sync() with an already aborted signal rejects at once and runs nothing', async () => {
    const { governor, peer } = await hangingGovernor();
    const recording = recordEvents(governor, ['transition']);
    const calls = peer.calls.length;
    const reason = new Error('shutting down');
    const error = await abortOf(governor.sync({ signal: AbortSignal.abort(reason) }));
    expect(error.cause).toBe(reason);
    expect(error.summaries).toEqual([]);
    expect(recording.events).toEqual([]);
    expect(peer.calls.length).toBe(calls);
    // not left busy
    expect((await governor.sync()).timeSeries?.state).toBe('finished_ok');
    await governor.close();
  });

  it('an already aborted sync() does not count as a failed attempt of retry until caught up', async () => {
    const { clock, peer: inner } = linked(await memory({ a: pts([5, 1]) }), 1_000);
    const peer = faultPeer(inner, (call) => (call.op === 'hello' ? unreachable() : undefined));
    const governor = new HAGovernor({
      storage: await memory({}, [], ['a']),
      peers: [peer],
      clock,
      retry: { retries: 0 },
      retryEveryMs: { min: 1_000, max: 8_000 },
      firstStartLookbackMs: 1_000,
    });
    await clock.runUntilSettled(governor.start());
    expect(governor.status()).toMatchObject({ failedAttempts: 1, nextSyncAt: 2_000 });
    await abortOf(governor.sync({ signal: AbortSignal.abort() }));
    expect(governor.status()).toMatchObject({ failedAttempts: 1, nextSyncAt: 2_000 });
    await governor.close();
  });

  it('sync() aborted mid-run rejects with the runs it ended; SyncState says SYNC_CANCELLED', async () => {
    const { governor, clock, control } = await hangingGovernor();
    await governor.reportGap({ from: 0, to: 10 });
    control.hang = true;
    const controller = new AbortController();
    const pending = governor.sync({ signal: controller.signal });
    await clock.advanceAsync(0);
    expect(governor.status().running).toBe(true);
    const reason = new Error('operator pressed stop');
    controller.abort(reason);
    const error = await abortOf(pending);
    expect(error.cause).toBe(reason);
    expect(error.summaries.map((s) => [s.kind, s.state, s.errors.map((e) => e.code)])).toEqual([
      ['timeSeries', 'finished_with_error', ['SYNC_CANCELLED']],
      ['events', 'finished_with_error', ['SYNC_CANCELLED']],
    ]);
    const status = governor.status();
    expect(status.running).toBe(false);
    expect(status.gaps.timeSeries).toHaveLength(1);
    expect(
      status.deputies.timeSeries?.syncState.some(
        (m) => m.level === 'error' && m.code === 'SYNC_CANCELLED',
      ),
    ).toBe(true);
    // the gap stayed in the ledger: the next sync takes it
    control.hang = false;
    const next = await clock.runUntilSettled(governor.sync());
    expect(next.timeSeries?.state).toBe('finished_ok');
    expect(governor.status().caughtUp).toBe(true);
    await governor.close();
  });

  it('cancel() still resolves with SYNC_CANCELLED summaries (it is not the caller signal)', async () => {
    const { governor, clock, control } = await hangingGovernor();
    await governor.reportGap({ from: 0, to: 10 });
    control.hang = true;
    const pending = governor.sync({ signal: new AbortController().signal });
    await clock.advanceAsync(0);
    governor.cancel();
    const result = await pending;
    expect(result.timeSeries?.errors.map((e) => e.code)).toEqual(['SYNC_CANCELLED']);
    await governor.close();
  });

  it('resync() and start() with an aborted signal change nothing', async () => {
    const { governor } = await hangingGovernor();
    await abortOf(governor.resync({ from: 0, to: 10 }, { signal: AbortSignal.abort() }));
    expect(governor.status().gaps.timeSeries).toEqual([]);
    await governor.close();

    const storage = await memory();
    const { clock, peer } = linked(await memory(), 1_000);
    const fresh = new HAGovernor({ storage, peers: [peer], clock });
    await abortOf(fresh.start({ signal: AbortSignal.abort() }));
    expect(fresh.status().startedAt).toBeNull();
    expect(await storage.readSyncState(HB)).toBeUndefined();
    // it can still be started
    await clock.runUntilSettled(fresh.start());
    expect(fresh.status().caughtUp).toBe(true);
    await fresh.close();
  });

  it('whenCaughtUp() rejects with an AbortError whose cause is the reason', async () => {
    const { governor } = await hangingGovernor();
    await governor.reportGap({ from: 0, to: 10 });
    const controller = new AbortController();
    const waiting = governor.whenCaughtUp({ signal: controller.signal });
    controller.abort('enough');
    const error = await abortOf(waiting);
    expect(error.cause).toBe('enough');
    await governor.close();
  });
});

describe('await using', () => {
  it('closes the governor at the end of the block: clean heartbeat, no timer left', async () => {
    const storage = await memory();
    const { clock, peer } = linked(await memory(), 1_000);
    let escaped: HAGovernor | undefined;
    {
      await using governor = new HAGovernor({ storage, peers: [peer], clock });
      escaped = governor;
      await clock.runUntilSettled(governor.start());
      clock.advance(500);
    }
    expect(escaped.status().closed).toBe(true);
    expect(await storage.readSyncState(HB)).toMatchObject({ at: 1_500, clean: true });
    expect(clock.pendingTimers).toBe(0);
    await expect(escaped.sync()).rejects.toSatisfy((e) => isEdgeHaError(e, 'SYNC_CLOSED'));
  });
});

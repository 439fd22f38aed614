import { describe, expect, it } from 'vitest';
import { EventDeputy, TimeSeriesDeputy } from '../../src/deputy/deputy.js';
import { exponentialBackoff } from '../../src/deputy/retry.js';
import type { DeputyStateName } from '../../src/deputy/states.js';
import type {
  DeputyRetryEvent,
  DeputyRunSummary,
  DeputyTransitionEvent,
  SyncStateMessage,
} from '../../src/deputy/types.js';
import { isEdgeHaError, PeerError, SyncAbortError } from '../../src/errors.js';
import { faultyStorage } from '../../src/testing/faults/storage.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { recordEvents } from '../../src/testing/record-events.js';
import { dump, faultPeer, linked, memory, pointReads, pts, unreachable } from './helpers.js';

const noWait = { retries: 3, backoff: () => 0 };
const overwrite = { mode: 'overwrite' } as const;

function arrows(recording: { of(name: string): unknown[] }): string[] {
  return (recording.of('transition') as DeputyTransitionEvent[]).map(
    (e) => `${e.fromCode}→${e.toCode}`,
  );
}

describe('transition sequences', () => {
  it('a successful run walks 0→1→2→3→4→5, and a second run starts again from idle', async () => {
    const remote = await memory({ a: pts([1, 10]) });
    const local = await memory({ a: pts([1, 99]) });
    const deputy = new TimeSeriesDeputy({ storage: local, ...linked(remote) });
    const recording = recordEvents(deputy, ['transition']);
    const summary = await deputy.run({ from: 0, to: 10 });
    expect(summary.state).toBe('finished_ok');
    expect(arrows(recording)).toEqual(['0→1', '1→2', '2→3', '3→4', '4→5']);
    await deputy.run({ from: 10, to: 20 });
    expect(arrows(recording).slice(5)).toEqual(['5→0', '0→1', '1→2', '2→3', '3→4', '4→5']);
    const first = recording.of('transition')[0] as DeputyTransitionEvent;
    expect(first).toMatchObject({ kind: 'timeSeries', from: 'idle', to: 'started' });
    expect(typeof first.reason).toBe('string');
  });

  it('the state is committed before the transition is emitted', async () => {
    const deputy = new EventDeputy({ storage: await memory(), ...linked(await memory()) });
    const seen: [DeputyStateName, number][] = [];
    deputy.on('transition', (e) => {
      seen.push([deputy.state, deputy.snapshot().code]);
      expect(deputy.state).toBe(e.to);
    });
    await deputy.run({ from: 0, to: 5 });
    expect(seen.map(([state]) => state)).toEqual([
      'started',
      'waiting_for_connection',
      'sending_sync_request',
      'waiting_for_reply',
      'finished_ok',
    ]);
    expect(seen.map(([, code]) => code)).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('time series: run(window, { mode: overwrite }) lets the remote win inside the window', () => {
  it('replaces every local point of the window and leaves the outside untouched', async () => {
    const remote = await memory({
      a: pts([5, 1], [10, 2], [11, 3], [12, 4], [13, 5], [19, 6], [25, 7]),
      b: pts([15, 'x']),
    });
    const local = await memory({
      a: pts([0, 100], [10, 200], [14, 300], [20, 400]),
      b: pts([9, 'keep'], [10, 'gone'], [20, 'keep']),
    });
    const { clock, peer } = linked(remote, 5_000);
    const deputy = new TimeSeriesDeputy({ storage: local, peer, clock, pageSize: 2 });
    const summary = await deputy.run({ from: 10, to: 20 }, overwrite);
    expect(summary).toMatchObject({ state: 'finished_ok', code: 5, points: 6, pointsReceived: 6 });
    expect(summary.items).toEqual({ total: 2, ok: 2, skipped: 0, failed: 0 });
    expect(summary.gaps).toMatchObject([
      { from: 10, to: 20, mode: 'overwrite', reason: 'requested' },
    ]);
    const state = await dump(local);
    expect(state.points.a).toEqual(
      pts([0, 100], [10, 2], [11, 3], [12, 4], [13, 5], [19, 6], [20, 400]),
    );
    expect(state.points.b).toEqual(pts([9, 'keep'], [15, 'x'], [20, 'keep']));
    expect(summary.lastUpToDate).toBe(5_000);
    expect((await local.readSyncState('edge-ha:timeSeries'))?.lastUpToDate).toBe(5_000);
  });

  it('an item the remote has no points for in the window is emptied there (the remote wins)', async () => {
    const remote = await memory({}, [], ['a']);
    const local = await memory({ a: pts([1, 1], [5, 5], [9, 9]) });
    const deputy = new TimeSeriesDeputy({ storage: local, ...linked(remote) });
    const summary = await deputy.run({ from: 2, to: 9 }, overwrite);
    expect(summary.state).toBe('finished_ok');
    expect((await dump(local)).points.a).toEqual(pts([1, 1], [9, 9]));
  });

  it('the default mode (merge) keeps those local points', async () => {
    const remote = await memory({ a: pts([5, 'theirs'], [6, 'new']) });
    const local = await memory({ a: pts([1, 1], [5, 5], [9, 9]) });
    const deputy = new TimeSeriesDeputy({ storage: local, ...linked(remote) });
    const summary = await deputy.run({ from: 2, to: 9 });
    expect(summary).toMatchObject({ state: 'finished_ok', points: 1, pointsReceived: 2 });
    expect(summary.gaps).toMatchObject([{ mode: 'merge', reason: 'requested' }]);
    expect((await dump(local)).points.a).toEqual(pts([1, 1], [5, 5], [6, 'new'], [9, 9]));
  });

  it('pulls only items trended locally', async () => {
    const remote = await memory({ a: pts([1, 1]), other: pts([1, 1]) });
    const local = await memory({}, [], ['a']);
    await new TimeSeriesDeputy({ storage: local, ...linked(remote) }).run({ from: 0, to: 5 });
    expect(await local.listItems()).toEqual(['a']);
    expect((await dump(local)).points.a).toEqual(pts([1, 1]));
  });
});

describe('events: local wins, never duplicated', () => {
  it('inserts only absent events and never overwrites a local one', async () => {
    const remote = await memory({}, [
      { id: 'e1', t: 1, body: 'remote' },
      { id: 'e2', t: 2, body: 'remote' },
      { id: 'e3', t: 2, body: 'remote' },
      { id: 'late', t: 50, body: 'outside' },
    ]);
    const local = await memory({}, [{ id: 'e1', t: 1, body: 'local' }]);
    const deputy = new EventDeputy({ storage: local, ...linked(remote), pageSize: 1 });
    const summary = await deputy.run({ from: 0, to: 10 }, overwrite);
    expect(summary).toMatchObject({ state: 'finished_ok', events: 3, eventsInserted: 2, pages: 3 });
    const after = await dump(local);
    expect(after.events).toEqual([
      { id: 'e1', t: 1, body: 'local' },
      { id: 'e2', t: 2, body: 'remote' },
      { id: 'e3', t: 2, body: 'remote' },
    ]);
    const again = await deputy.run({ from: 0, to: 10 });
    expect(again).toMatchObject({ state: 'finished_ok', events: 3, eventsInserted: 0 });
    expect(await dump(local)).toEqual(after);
  });
});

describe('items unknown to the remote', () => {
  it('reports each unknown item as skipped, syncs the others, and finishes ok', async () => {
    const remote = await memory({ a: pts([1, 1]), c: pts([1, 3]) });
    const local = await memory({ b: pts([1, 'mine']), d: pts([2, 'mine']) }, [], ['a', 'c']);
    const deputy = new TimeSeriesDeputy({ storage: local, ...linked(remote) });
    const recording = recordEvents(deputy, ['itemError', 'syncState']);
    const summary = await deputy.run({ from: 0, to: 10 }, overwrite);
    expect(summary.state).toBe('finished_ok');
    expect(summary.items).toEqual({ total: 4, ok: 2, skipped: 2, failed: 0 });
    expect(summary.errors).toEqual([]);
    expect(recording.of('itemError')).toEqual([]);
    const warnings = (recording.of('syncState') as SyncStateMessage[]).filter(
      (m) => m.code === 'PEER_UNKNOWN_ITEM',
    );
    expect(warnings.map((m) => [m.level, m.item])).toEqual([
      ['warning', 'b'],
      ['warning', 'd'],
    ]);
    const state = await dump(local);
    expect(state.points).toEqual({
      a: pts([1, 1]),
      b: pts([1, 'mine']),
      c: pts([1, 3]),
      d: pts([2, 'mine']),
    });
    expect(deputy.snapshot().items.b).toMatchObject({ state: 'skipped', error: null });
    expect(deputy.snapshot().progress).toMatchObject({ itemsDone: 2, itemsSkipped: 2 });
    expect(summary.lastUpToDate).toBe(1_000);
  });

  it('PEER_UNKNOWN_ITEM from readPoints of an item the remote listed skips that item only', async () => {
    const remote = await memory({ a: pts([1, 1]), b: pts([1, 2]) });
    const { clock, peer: inner } = linked(remote);
    const peer = faultPeer(inner, (call) =>
      call.op === 'readPoints' && call.args[0] === 'b'
        ? new PeerError('PEER_UNKNOWN_ITEM', 'no such item')
        : undefined,
    );
    const local = await memory({ b: pts([2, 'mine']) }, [], ['a', 'b']);
    const deputy = new TimeSeriesDeputy({ storage: local, peer, clock, retry: noWait });
    const summary = await deputy.run({ from: 0, to: 5 });
    expect(summary.state).toBe('finished_ok');
    expect(summary.errors).toEqual([]);
    expect(summary.items).toMatchObject({ ok: 1, skipped: 1, failed: 0 });
    expect(deputy.snapshot().items.b).toMatchObject({ state: 'skipped', error: null });
    expect((await dump(local)).points).toEqual({ a: pts([1, 1]), b: pts([2, 'mine']) });
    expect(deputy.gaps).toEqual([]);
  });
});

describe('empty window and empty ledger', () => {
  it('finishes ok without contacting the remote; LastUpToDate is the time of finished_ok', async () => {
    const clock = new ManualClock(4_000);
    const peer = faultPeer(linked(await memory()).peer, () => new Error('must not be called'));
    const deputy = new TimeSeriesDeputy({ storage: await memory({ a: pts([5, 1]) }), peer, clock });
    const recording = recordEvents(deputy, ['transition']);
    const summary = await deputy.run({ from: 7, to: 7 });
    expect(arrows(recording)).toEqual(['0→1', '1→5']);
    expect(summary).toMatchObject({
      state: 'finished_ok',
      lastUpToDate: 4_000,
      peer: null,
      window: null,
      gaps: [],
    });
    clock.advance(10);
    expect((await deputy.run()).lastUpToDate).toBe(4_010);
    expect(arrows(recording).slice(2)).toEqual(['5→0', '0→1', '1→5']);
    expect(peer.calls).toEqual([]);
  });
});

describe('resume after a crash between pages', () => {
  it('a new deputy resumes the progress records and ends in the state of an uninterrupted run', async () => {
    const data = {
      a: pts([1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6]),
      b: pts([2, 'b2'], [8, 'b8']),
    };
    const localData = { a: pts([3, 'old'], [9, 'keep']), b: pts([1, 'keep']) };
    const remote = await memory(data);
    const reference = await memory(localData);
    await new TimeSeriesDeputy({ storage: reference, ...linked(remote), pageSize: 2 }).run(
      { from: 0, to: 9 },
      overwrite,
    );

    const disk = await memory(localData);
    // dies at the 2nd replacePoints (the 2nd page of item a): every later call fails too
    const dying = faultyStorage(disk, { crashAt: 2, operations: ['replacePoints'] });
    const first = await new TimeSeriesDeputy({
      storage: dying,
      ...linked(remote),
      pageSize: 2,
      concurrency: 1,
    }).run({ from: 0, to: 9 }, overwrite);
    expect(first.state).toBe('finished_with_error');
    const ledger = await disk.readSyncState('edge-ha:timeSeries');
    expect(ledger?.gaps).toMatchObject([{ id: 1, from: 0, to: 9, mode: 'overwrite' }]);
    expect(await disk.readSyncState('edge-ha:timeSeries:progress:a')).toEqual({
      format: 'edge-ha.progress',
      version: 2,
      done: { 1: 3 },
    });
    expect(await disk.readSyncState('edge-ha:timeSeries:progress:b')).toBeUndefined();

    const { clock, peer: inner } = linked(remote);
    const peer = faultPeer(inner);
    const second = await new TimeSeriesDeputy({ storage: disk, peer, clock, pageSize: 2 }).run();
    expect(second).toMatchObject({ state: 'finished_ok', resumed: true });
    expect(pointReads(peer, 'a')[0]).toEqual({ from: 3, to: 9 });
    expect(pointReads(peer, 'b')[0]).toEqual({ from: 0, to: 9 });
    expect(await dump(disk)).toEqual(await dump(reference));
    expect((await disk.readSyncState('edge-ha:timeSeries'))?.gaps).toEqual([]);
  });

  it('events resume from their progress record without duplicates', async () => {
    const events = Array.from({ length: 7 }, (_, i) => ({ id: `e${i}`, t: i, body: i }));
    const remote = await memory({}, events);
    const disk = await memory();
    const dying = faultyStorage(disk, {
      crashAt: 3,
      mode: 'after',
      operations: ['insertEventsIfAbsent'],
    });
    const first = await new EventDeputy({ storage: dying, ...linked(remote), pageSize: 2 }).run({
      from: 0,
      to: 10,
    });
    expect(first.state).toBe('finished_with_error');
    const { clock, peer: inner } = linked(remote);
    const peer = faultPeer(inner);
    const second = await new EventDeputy({ storage: disk, peer, clock, pageSize: 2 }).run();
    expect(second).toMatchObject({ state: 'finished_ok', resumed: true });
    // three pages were committed (e0..e5): the read resumes at the time of the last event
    expect(peer.calls.find((c) => c.op === 'readEvents')?.args[0]).toEqual({ from: 5, to: 10 });
    expect((await dump(disk)).events).toEqual(events);
  });
});

/** The AbortError a run rejects with when its caller's signal aborts (fails if it resolves). */
async function abortOf(run: Promise<unknown>): Promise<SyncAbortError> {
  const error = await run.then(
    (value) => {
      throw new Error(`expected an AbortError, the run resolved: ${JSON.stringify(value)}`);
    },
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(SyncAbortError);
  expect((error as Error).name).toBe('AbortError');
  expect(isEdgeHaError(error, 'SYNC_CANCELLED')).toBe(true);
  return error as SyncAbortError;
}

describe('cancellation', () => {
  const running: DeputyStateName[] = [
    'started',
    'waiting_for_connection',
    'sending_sync_request',
    'waiting_for_reply',
  ];
  for (const state of running) {
    it(`aborting in ${state} ends finished_with_error with SYNC_CANCELLED and rejects with an AbortError`, async () => {
      const remote = await memory({ a: pts([1, 1], [2, 2], [3, 3]) });
      const local = await memory({ a: pts([2, 'mine']) });
      const deputy = new TimeSeriesDeputy({ storage: local, ...linked(remote), pageSize: 1 });
      const controller = new AbortController();
      const reason = new Error(`stop in ${state}`);
      deputy.on('transition', (e) => {
        if (e.to === state) controller.abort(reason);
      });
      const recording = recordEvents(deputy, ['transition', 'finished']);
      const error = await abortOf(
        deputy.run({ from: 0, to: 5 }, { mode: 'overwrite', signal: controller.signal }),
      );
      expect(error.cause).toBe(reason);
      const summary = error.summaries[0] as DeputyRunSummary;
      expect(error.summaries).toHaveLength(1);
      expect(recording.of('finished')).toEqual([summary]);
      expect(deputy.snapshot().lastRun).toEqual(summary);
      expect(summary.state).toBe('finished_with_error');
      expect(summary.errors.map((e) => e.code)).toEqual(['SYNC_CANCELLED']);
      const codes = arrows(recording);
      expect(codes.at(-1)).toBe(`${codes.at(-2)?.split('→')[1]}→6`);
      expect((recording.of('transition').at(-1) as DeputyTransitionEvent).from).toBe(state);
      expect(deputy.snapshot().syncState.some((m) => m.code === 'SYNC_CANCELLED')).toBe(true);
      expect(summary.lastUpToDate).toBeNull();
      expect(deputy.gaps).toHaveLength(1);
      if (state !== 'waiting_for_reply') {
        expect((await dump(local)).points.a).toEqual(pts([2, 'mine']));
      }
    });
  }

  it('an already aborted signal starts nothing: rejects at once, no transition, no gap added', async () => {
    const deputy = new EventDeputy({ storage: await memory(), ...linked(await memory()) });
    const recording = recordEvents(deputy, ['transition']);
    const reason = new Error('too late');
    const error = await abortOf(
      deputy.run({ from: 0, to: 5 }, { signal: AbortSignal.abort(reason) }),
    );
    expect(error.cause).toBe(reason);
    expect(error.summaries).toEqual([]);
    expect(arrows(recording)).toEqual([]);
    expect(deputy.state).toBe('idle');
    expect(deputy.gaps).toEqual([]);
    expect(deputy.running).toBe(false);
    // the deputy is not busy: a run without the aborted signal goes ahead
    expect((await deputy.run({ from: 0, to: 5 })).state).toBe('finished_ok');
  });

  it('cancel() interrupts a back-off wait and leaves no timer behind', async () => {
    const { clock, peer: inner } = linked(await memory(), 0);
    const peer = faultPeer(inner, unreachable);
    const deputy = new TimeSeriesDeputy({
      storage: await memory(),
      peer,
      clock,
      retry: { retries: 5, backoff: () => 60_000 },
    });
    const run = deputy.run({ from: 0, to: 5 });
    await clock.advanceAsync(0);
    expect(deputy.state).toBe('waiting_for_connection');
    expect(clock.pendingTimers).toBe(1);
    deputy.cancel();
    // cancel() is not the caller's signal: the run resolves with its summary
    const summary = await run;
    expect(summary.errors.map((e) => e.code)).toEqual(['SYNC_CANCELLED']);
    expect(clock.pendingTimers).toBe(0);
    expect(peer.calls.filter((c) => c.op === 'hello')).toHaveLength(1);
  });

  it('cancelling a call the peer never answers ends the run at once', async () => {
    const { clock, peer: inner } = linked(await memory({ a: pts([1, 1]) }), 0);
    const peer = faultPeer(inner, (call) => (call.op === 'readPoints' ? 'hang' : undefined));
    const deputy = new TimeSeriesDeputy({ storage: await memory({}, [], ['a']), peer, clock });
    const controller = new AbortController();
    const run = deputy.run({ from: 0, to: 5 }, { signal: controller.signal });
    await clock.advanceAsync(0);
    expect(deputy.state).toBe('waiting_for_reply');
    controller.abort();
    const error = await abortOf(run);
    expect(error.cause).toBe(controller.signal.reason);
    expect(error.summaries[0]?.errors.map((e) => e.code)).toEqual(['SYNC_CANCELLED']);
    expect(deputy.state).toBe('finished_with_error');
  });

  it('await using closes the deputy (Symbol.asyncDispose)', async () => {
    const { clock, peer: inner } = linked(await memory(), 0);
    const peer = faultPeer(inner, (call) => (call.op === 'hello' ? 'hang' : undefined));
    let run: Promise<DeputyRunSummary> | undefined;
    let escaped: EventDeputy | undefined;
    {
      await using deputy = new EventDeputy({ storage: await memory(), peer, clock });
      escaped = deputy;
      run = deputy.run({ from: 0, to: 5 });
      await clock.advanceAsync(0);
      expect(deputy.running).toBe(true);
    }
    // leaving the block closed it: the run was cancelled and further runs are refused
    expect((await run).errors.map((e) => e.code)).toEqual(['SYNC_CANCELLED']);
    await expect(escaped.run()).rejects.toSatisfy((e) => isEdgeHaError(e, 'SYNC_CLOSED'));
  });
});

describe('retries', () => {
  it('retries transient errors with the back-off on the injected clock, then succeeds', async () => {
    const remote = await memory({ a: pts([1, 1], [2, 2]) });
    const { clock, peer: inner } = linked(remote, 1_000);
    const peer = faultPeer(inner, (call) => {
      if (call.op === 'hello' && call.n <= 2) return unreachable();
      if (call.op === 'readPoints' && call.n === 1) {
        return new PeerError('PEER_UNAVAILABLE', '503 (injected)');
      }
      return undefined;
    });
    const local = await memory({}, [], ['a']);
    const backoff = exponentialBackoff({ initialDelayMs: 100, factor: 2, jitter: 0 });
    const deputy = new TimeSeriesDeputy({
      storage: local,
      peer,
      clock,
      retry: { retries: 3, backoff },
    });
    const recording = recordEvents(deputy, ['retry', 'transition', 'syncState']);
    const summary = await clock.runUntilSettled(deputy.run({ from: 0, to: 5 }));
    expect(summary.state).toBe('finished_ok');
    // two hello retries, then one reconnection after the lost read (one retry loop, not per item)
    expect(summary.retries).toBe(3);
    const retries = recording.of('retry') as DeputyRetryEvent[];
    expect(retries.map((r) => [r.operation, r.attempt, r.delayMs, r.code])).toEqual([
      ['hello', 1, 100, 'PEER_UNREACHABLE'],
      ['hello', 2, 200, 'PEER_UNREACHABLE'],
    ]);
    const lost = (recording.of('syncState') as SyncStateMessage[]).filter((m) =>
      m.message.startsWith('Lost the connection'),
    );
    expect(lost.map((m) => [m.level, m.code])).toEqual([['warning', 'PEER_UNAVAILABLE']]);
    expect(clock.now()).toBe(1_300);
    expect(summary.lastUpToDate).toBe(1_300);
    expect(arrows(recording)).toEqual(['0→1', '1→2', '2→3', '3→4', '4→2', '2→3', '3→4', '4→5']);
    expect((await dump(local)).points.a).toEqual(pts([1, 1], [2, 2]));
  });

  it('a peer that dies mid-run stops every item at once: one retry loop, not one per item', async () => {
    const items = Array.from({ length: 40 }, (_, i) => `item-${String(i).padStart(2, '0')}`);
    const remote = await memory(Object.fromEntries(items.map((item) => [item, pts([1, 1])])));
    const { clock, peer: inner } = linked(remote, 0);
    let dead = false;
    const peer = faultPeer(inner, (call) => {
      if (call.op === 'readPoints' && call.n === 3) dead = true;
      return dead ? unreachable() : undefined;
    });
    const local = await memory({}, [], items);
    const deputy = new TimeSeriesDeputy({
      storage: local,
      peer,
      clock,
      retry: { retries: 3, backoff: () => 1_000 },
    });
    const recording = recordEvents(deputy, ['transition', 'itemError']);
    const summary = await clock.runUntilSettled(deputy.run({ from: 0, to: 5 }));
    expect(summary.state).toBe('finished_with_error');
    expect(summary.errors.map((e) => [e.item, e.code])).toEqual([[null, 'PEER_UNREACHABLE']]);
    expect(recording.of('itemError')).toEqual([]);
    // at most the reads in flight when it died (concurrency 4), then only hellos
    const reads = peer.calls.filter((c) => c.op === 'readPoints').length;
    expect(reads).toBeLessThanOrEqual(2 + 4);
    expect(peer.calls.filter((c) => c.op === 'hello').length).toBe(1 + 4);
    expect(arrows(recording)).toEqual(['0→1', '1→2', '2→3', '3→4', '4→2', '2→6']);
    // the two items applied before the peer died stay committed; the gap stays for the others
    expect(Object.keys((await dump(local)).points).length).toBeGreaterThanOrEqual(2);
    expect(deputy.gaps).toHaveLength(1);
    expect(clock.now()).toBe(3_000);
  });

  it('giveUpAfterMs bounds the time a run keeps trying to reach the remote', async () => {
    const { clock, peer: inner } = linked(await memory(), 0);
    const peer = faultPeer(inner, unreachable);
    const deputy = new EventDeputy({
      storage: await memory(),
      peer,
      clock,
      retry: { retries: 100, backoff: () => 1_000, giveUpAfterMs: 3_500 },
    });
    const summary = await clock.runUntilSettled(deputy.run({ from: 0, to: 5 }));
    expect(summary.state).toBe('finished_with_error');
    expect(peer.calls).toHaveLength(4);
    expect(clock.now()).toBe(3_000);
    expect(summary.errors[0]?.message).toMatch(
      /gave up after 4 attempts \(giveUpAfterMs 3500 ms reached\)/,
    );
  });

  it('gives up when retries are exhausted, with a clear message', async () => {
    const { clock, peer: inner } = linked(await memory(), 0);
    const peer = faultPeer(inner, unreachable);
    const deputy = new EventDeputy({
      storage: await memory(),
      peer,
      clock,
      retry: { retries: 2, backoff: () => 10 },
    });
    const recording = recordEvents(deputy, ['transition']);
    const summary = await clock.runUntilSettled(deputy.run({ from: 0, to: 5 }));
    expect(arrows(recording)).toEqual(['0→1', '1→2', '2→6']);
    expect(peer.calls).toHaveLength(3);
    expect(summary.errors).toHaveLength(1);
    expect(summary.errors[0]?.code).toBe('PEER_UNREACHABLE');
    expect(summary.errors[0]?.message).toMatch(/gave up after 3 attempts \(retries exhausted\)/);
    expect(summary.lastUpToDate).toBeNull();
  });

  it('does not retry a permanent error', async () => {
    const { clock, peer: inner } = linked(await memory());
    const peer = faultPeer(inner, () => new PeerError('PEER_AUTH', 'bad secret'));
    const deputy = new EventDeputy({
      storage: await memory(),
      peer,
      clock,
      retry: { retries: 5, backoff: () => 0 },
    });
    const recording = recordEvents(deputy, ['retry']);
    const summary = await deputy.run({ from: 0, to: 5 });
    expect(peer.calls).toHaveLength(1);
    expect(recording.events).toEqual([]);
    expect(summary.errors[0]?.code).toBe('PEER_AUTH');
    expect(summary.errors[0]?.message).toContain('permanent');
  });

  it('a call without a reply times out with PEER_TIMEOUT and the deputy reconnects', async () => {
    const remote = await memory({}, [{ id: 'e', t: 1, body: null }]);
    const { clock, peer: inner } = linked(remote, 0);
    const peer = faultPeer(inner, (call) =>
      call.op === 'readEvents' && call.n === 1 ? 'hang' : undefined,
    );
    const deputy = new EventDeputy({
      storage: await memory(),
      peer,
      clock,
      replyTimeoutMs: 5_000,
      retry: { retries: 1, backoff: () => 0 },
    });
    const recording = recordEvents(deputy, ['retry', 'transition']);
    const summary = await clock.runUntilSettled(deputy.run({ from: 0, to: 5 }));
    expect(summary.state).toBe('finished_ok');
    expect(summary.retries).toBe(1);
    expect(recording.of('retry')).toEqual([]);
    expect(
      (recording.of('transition') as DeputyTransitionEvent[])
        .filter((e) => e.to === 'waiting_for_connection')
        .map((e) => [e.from, e.reason.split(':')[0]]),
    ).toEqual([
      ['started', 'contacting the remote'],
      ['waiting_for_reply', 'PEER_TIMEOUT'],
    ]);
    expect(clock.now()).toBe(5_000);
  });

  it('uses the first peer that answers hello, in configured order, and reports it', async () => {
    const remote = await memory({}, [{ id: 'e', t: 1, body: null }]);
    const { clock, peer: inner } = linked(remote);
    const down = faultPeer(inner, unreachable, 'http://a');
    const denied = faultPeer(inner, () => new PeerError('PEER_AUTH', 'no'), 'http://b');
    const up = faultPeer(inner, undefined, 'http://c');
    const deputy = new EventDeputy({
      storage: await memory(),
      peer: [down, denied, up],
      clock,
      retry: noWait,
    });
    const summary = await deputy.run({ from: 0, to: 5 });
    expect(summary).toMatchObject({ state: 'finished_ok', peer: 'http://c', eventsInserted: 1 });
    expect(deputy.snapshot().peer).toBe('http://c');
    expect(down.calls.filter((c) => c.op !== 'hello')).toEqual([]);
  });
});

describe('hostile replies', () => {
  const cases: [string, unknown][] = [
    ['a point outside the window', { items: [{ t: 50, v: 1 }], next: null }],
    [
      'unsorted points',
      {
        items: [
          { t: 3, v: 1 },
          { t: 2, v: 1 },
        ],
        next: null,
      },
    ],
    [
      'a repeated timestamp',
      {
        items: [
          { t: 2, v: 1 },
          { t: 2, v: 2 },
        ],
        next: null,
      },
    ],
    ['a non-finite value', { items: [{ t: 2, v: Number.NaN }], next: null }],
    [
      'more points than the limit',
      {
        items: [
          { t: 1, v: 1 },
          { t: 2, v: 1 },
          { t: 3, v: 1 },
        ],
        next: null,
      },
    ],
    ['not a page', 'hello'],
    ['an empty page looping on its cursor', { items: [], next: 'c1' }],
  ];
  for (const [name, reply] of cases) {
    it(`${name} fails the item with PEER_BAD_REPLY and leaves local data intact`, async () => {
      const remote = await memory({ a: pts([1, 1]), b: pts([1, 'b']) });
      const { clock, peer: inner } = linked(remote);
      const peer = faultPeer(inner, (call) => {
        if (call.op !== 'readPoints' || call.args[0] !== 'a') return undefined;
        const page = call.args[2] as { cursor?: string };
        return name.includes('looping') && page.cursor === undefined
          ? { reply: { items: [], next: 'c1' } }
          : { reply };
      });
      const local = await memory({ a: pts([1, 'mine'], [4, 'mine']) }, [], ['b']);
      const deputy = new TimeSeriesDeputy({ storage: local, peer, clock, pageSize: 2 });
      const summary = await deputy.run({ from: 0, to: 10 }, overwrite);
      expect(summary.state).toBe('finished_with_error');
      expect(summary.errors.map((e) => [e.item, e.code])).toEqual([['a', 'PEER_BAD_REPLY']]);
      const state = await dump(local);
      expect(state.points.a).toEqual(pts([1, 'mine'], [4, 'mine']));
      expect(state.points.b).toEqual(pts([1, 'b']));
    });
  }

  it('unsorted events fail the run with PEER_BAD_REPLY and insert nothing', async () => {
    const { clock, peer: inner } = linked(await memory());
    const peer = faultPeer(inner, (call) =>
      call.op === 'readEvents'
        ? {
            reply: {
              items: [
                { id: 'b', t: 2, body: null },
                { id: 'a', t: 2, body: null },
              ],
              next: null,
            },
          }
        : undefined,
    );
    const local = await memory();
    const summary = await new EventDeputy({ storage: local, peer, clock }).run({ from: 0, to: 5 });
    expect(summary.errors.map((e) => e.code)).toEqual(['PEER_BAD_REPLY']);
    expect((await dump(local)).events).toEqual([]);
  });

  it('endless empty pages with fresh cursors end after maxShortPages short pages', async () => {
    const { clock, peer: inner } = linked(await memory());
    const peer = faultPeer(inner, (call) =>
      call.op === 'readEvents' ? { reply: { items: [], next: `c${call.n}` } } : undefined,
    );
    const summary = await new EventDeputy({ storage: await memory(), peer, clock }).run({
      from: 0,
      to: 5,
    });
    expect(summary.errors.map((e) => e.code)).toEqual(['PEER_BAD_REPLY']);
    expect(summary.errors[0]?.message).toContain('101 short pages');
    expect(peer.calls.filter((c) => c.op === 'readEvents')).toHaveLength(101);
  });

  it('a peer speaking another protocol version is refused', async () => {
    const { clock, peer: inner } = linked(await memory());
    const peer = faultPeer(inner, (call) =>
      call.op === 'hello' ? { reply: { instanceId: 'x', protocolVersion: 99, now: 0 } } : undefined,
    );
    const summary = await new EventDeputy({
      storage: await memory(),
      peer,
      clock,
      retry: noWait,
    }).run({ from: 0, to: 5 });
    expect(summary.errors.map((e) => e.code)).toEqual(['PEER_PROTOCOL']);
  });
});

describe('robustness and misuse', () => {
  it('a listener that throws cannot corrupt the run; it is reported in SyncState', async () => {
    const remote = await memory({ a: pts([1, 1]) });
    const local = await memory({}, [], ['a']);
    const deputy = new TimeSeriesDeputy({ storage: local, ...linked(remote) });
    deputy.on('transition', () => {
      throw new Error('listener bug');
    });
    deputy.on('progress', () => {
      throw new Error('listener bug');
    });
    deputy.on('syncState', () => {
      throw new Error('listener bug');
    });
    const summary = await deputy.run({ from: 0, to: 5 });
    expect(summary.state).toBe('finished_ok');
    expect(deputy.state).toBe('finished_ok');
    const failures = deputy.snapshot().syncState.filter((m) => m.code === 'SYNC_LISTENER_FAILED');
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]?.message).toContain('listener bug');
    expect((await dump(local)).points.a).toEqual(pts([1, 1]));
  });

  it('rejects a second concurrent run, an invalid window or mode, and runs after close', async () => {
    const { clock, peer: inner } = linked(await memory(), 0);
    const peer = faultPeer(inner, (call) => (call.op === 'hello' ? 'hang' : undefined));
    const deputy = new EventDeputy({ storage: await memory(), peer, clock });
    const run = deputy.run({ from: 0, to: 5 });
    await expect(deputy.run({ from: 0, to: 5 })).rejects.toSatisfy((e) =>
      isEdgeHaError(e, 'SYNC_BUSY'),
    );
    await deputy.close();
    expect((await run).errors[0]?.code).toBe('SYNC_CANCELLED');
    await expect(deputy.run({ from: 0, to: 5 })).rejects.toSatisfy((e) =>
      isEdgeHaError(e, 'SYNC_CLOSED'),
    );
    await expect(
      deputy.addGap({ from: 0, to: 5, mode: 'merge', reason: 'reported' }),
    ).rejects.toSatisfy((e) => isEdgeHaError(e, 'SYNC_CLOSED'));
    const other = new EventDeputy({ storage: await memory(), peer, clock });
    for (const window of [{ from: 5, to: 1 }, { from: 0.5, to: 1 }, null]) {
      await expect(other.run(window as never)).rejects.toSatisfy((e) =>
        isEdgeHaError(e, 'SYNC_INVALID_WINDOW'),
      );
      await expect(
        other.addGap({ ...(window ?? {}), mode: 'merge', reason: 'reported' } as never),
      ).rejects.toSatisfy((e) => isEdgeHaError(e, 'SYNC_INVALID_WINDOW'));
    }
    await expect(other.run({ from: 0, to: 1 }, { mode: 'remote' as never })).rejects.toSatisfy(
      (e) => isEdgeHaError(e, 'SYNC_INVALID_OPTION'),
    );
    await expect(
      other.addGap({ from: 0, to: 1, mode: 'replace' as never, reason: 'reported' }),
    ).rejects.toSatisfy((e) => isEdgeHaError(e, 'SYNC_INVALID_OPTION'));
    expect(other.gaps).toEqual([]);
  });

  it('rejects invalid options with SYNC_INVALID_OPTION', async () => {
    const storage = await memory();
    const { peer } = linked(storage);
    for (const bad of [
      { storage, peer: [] },
      { storage, peer, pageSize: 0 },
      { storage, peer, concurrency: 1.5 },
      { storage, peer, retry: { retries: -1 } },
      { storage, peer, key: '' },
      { storage, peer, key: 'k'.repeat(513) },
      { storage, peer, items: 'all' },
      { storage, peer, overlapMs: -1 },
      { storage, peer, maxClockSkewMs: 0 },
      { storage, peer, maxRecoveryMs: 0 },
      { storage, peer, maxShortPages: -1 },
    ]) {
      expect(() => new TimeSeriesDeputy(bad as never)).toThrow(
        expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }),
      );
    }
  });

  it('snapshot() is JSON with state, code, LastUpToDate, gaps, SyncState, progress and items', async () => {
    const remote = await memory({ a: pts([1, 1], [2, 2]) });
    const deputy = new TimeSeriesDeputy({
      storage: await memory({}, [], ['a']),
      ...linked(remote, 3_000, 'b'),
    });
    await deputy.run({ from: 0, to: 5 });
    const snapshot = deputy.snapshot();
    expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
    expect(snapshot).toMatchObject({
      kind: 'timeSeries',
      state: 'finished_ok',
      code: 5,
      running: false,
      lastUpToDate: 3_000,
      window: { from: 0, to: 5 },
      gaps: [],
      unrecoverable: [],
      caughtUp: true,
      peer: 'local:b',
      clockSkewMs: 0,
      progress: { gapsTotal: 1, itemsTotal: 1, itemsDone: 1, points: 2, pointsReceived: 2 },
      items: {
        a: { state: 'ok', gapsDone: 1, gap: null, through: null, points: 2, pages: 1, error: null },
      },
    });
    expect(snapshot.lastRun?.state).toBe('finished_ok');
  });

  it('bounds the SyncState history', async () => {
    const items = Array.from({ length: 30 }, (_, i) => `i${i}`);
    const remote = await memory({}, [], items);
    const { clock, peer: inner } = linked(remote);
    const peer = faultPeer(inner, (call) =>
      call.op === 'readPoints' ? new PeerError('PEER_BAD_REPLY', 'garbage (injected)') : undefined,
    );
    const deputy = new TimeSeriesDeputy({
      storage: await memory({}, [], items),
      peer,
      clock,
      syncStateLimit: 10,
    });
    const summary = await deputy.run({ from: 0, to: 5 });
    expect(summary.errors).toHaveLength(30);
    const snapshot = deputy.snapshot();
    expect(snapshot.syncState).toHaveLength(10);
    expect(snapshot.droppedMessages).toBeGreaterThan(0);
    expect(snapshot.syncState.at(-1)?.message).toContain('30 errors');
  });
});

/**
 * The fault-injection harness itself (edge-ha/testing): seeded replay, each fault kind behaves as
 * documented, crash points before/after commit, coded option errors.
 */

import { describe, expect, it } from 'vitest';
import { TimeSeriesDeputy } from '../../src/deputy/deputy.js';
import { isEdgeHaError, type PeerError } from '../../src/errors.js';
import { localPeer } from '../../src/peer/local.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type { StorageAdapter } from '../../src/storage/types.js';
import {
  faultyPeer,
  faultyStorage,
  generateFaultSchedule,
  isInjectedFault,
  type PeerFault,
  seededRandom,
} from '../../src/testing/faults/index.js';
import { ManualClock } from '../../src/testing/manual-clock.js';
import { dump } from './helpers.js';

const W = { from: 0, to: 100 };

function remoteStore(): MemoryStorageAdapter {
  return new MemoryStorageAdapter({
    points: { a: [1, 2, 3, 4, 5].map((t) => ({ t, v: t })) },
    events: [
      { id: 'e1', t: 1, body: 1 },
      { id: 'e2', t: 2, body: 2 },
    ],
  });
}

async function settle<T>(promise: Promise<T>): Promise<{ ok: T } | { error: unknown }> {
  try {
    return { ok: await promise };
  } catch (error) {
    return { error };
  }
}

describe('seededRandom', () => {
  it('replays the same sequence for the same seed and differs for another seed', () => {
    const a = seededRandom(123);
    const b = seededRandom(123);
    const c = seededRandom(124);
    const seqA = Array.from({ length: 20 }, () => a.next());
    const seqB = Array.from({ length: 20 }, () => b.next());
    const seqC = Array.from({ length: 20 }, () => c.next());
    expect(seqA).toEqual(seqB);
    expect(seqA).not.toEqual(seqC);
    for (const x of seqA) expect(x >= 0 && x < 1).toBe(true);
    const r = seededRandom(5);
    for (let i = 0; i < 200; i++) {
      const n = r.int(-3, 3);
      expect(Number.isInteger(n) && n >= -3 && n <= 3).toBe(true);
    }
    expect(r.shuffle([1, 2, 3, 4, 5]).sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('rejects a seed that is not a safe integer with a coded error', () => {
    for (const seed of [1.5, Number.NaN, 2 ** 60, '7' as unknown as number]) {
      expect(() => seededRandom(seed)).toThrow(
        expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }),
      );
    }
  });
});

describe('generateFaultSchedule', () => {
  it('is a pure function of its seed and options, and carries the seed', () => {
    const one = generateFaultSchedule({ seed: 42, calls: 300 });
    const two = generateFaultSchedule({ seed: 42, calls: 300 });
    expect(one).toEqual(two);
    expect(one.seed).toBe(42);
    expect(one.faults).toHaveLength(300);
    expect(one.faults.some((f) => f !== null)).toBe(true);
    expect(generateFaultSchedule({ seed: 43, calls: 300 }).faults).not.toEqual(one.faults);
    const only = generateFaultSchedule({ seed: 1, calls: 200, rates: { transient: 1 } });
    expect(only.faults.every((f) => f?.kind === 'transient')).toBe(true);
    const none = generateFaultSchedule({ seed: 1, calls: 50, rates: {} });
    expect(none.faults.every((f) => f === null)).toBe(true);
  });

  it('rejects bad rates and counts with SYNC_INVALID_OPTION', () => {
    const bad = [
      { seed: 1, calls: -1 },
      { seed: 1, calls: 10, rates: { drop: 0.8, delay: 0.8 } },
      { seed: 1, calls: 10, rates: { explode: 0.1 } },
      { seed: 1, calls: 10, rates: { drop: -0.1 } },
      { seed: 1, calls: 10, maxDelayMs: 0 },
    ];
    for (const options of bad) {
      expect(() => generateFaultSchedule(options as never)).toThrow(
        expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }),
      );
    }
  });
});

describe('faultyPeer', () => {
  it('replays the same faults for the same seed (and reports its seed)', async () => {
    const runOnce = async (seed: number) => {
      const clock = new ManualClock(1000);
      const peer = faultyPeer(localPeer(remoteStore(), { clock }), { seed, clock });
      const outcomes: string[] = [];
      for (let i = 0; i < 40; i++) {
        const controller = new AbortController();
        const call = settle(peer.readPoints('a', W, { limit: 2 }, { signal: controller.signal }));
        clock.setTimeout(() => controller.abort(), 5000);
        const result = await clock.runUntilSettled(call);
        outcomes.push(
          'ok' in result
            ? JSON.stringify(result.ok)
            : ((result.error as { code?: string }).code ?? '?'),
        );
      }
      return { outcomes, injected: peer.injected, seed: peer.seed, text: peer.describe() };
    };
    const a = await runOnce(2024);
    const b = await runOnce(2024);
    expect(a.seed).toBe(2024);
    expect(a.outcomes).toEqual(b.outcomes);
    expect(a.injected).toEqual(b.injected);
    expect(a.injected.length).toBeGreaterThan(0);
    expect(a.text).toContain('seed 2024');
    const fresh = faultyPeer(localPeer(remoteStore()));
    expect(Number.isSafeInteger(fresh.seed)).toBe(true);
  });

  it('applies each scheduled fault as documented, then heals', async () => {
    const clock = new ManualClock(1000);
    const schedule: (PeerFault | null)[] = [
      { kind: 'transient', code: 'PEER_TIMEOUT' },
      { kind: 'permanent', code: 'PEER_AUTH' },
      { kind: 'truncate' },
      { kind: 'reorder' },
      { kind: 'duplicate' },
      { kind: 'short', limit: 1 },
      { kind: 'delay', ms: 700 },
      { kind: 'drop' },
      { kind: 'disappear', calls: 2 },
      null,
      null,
    ];
    const peer = faultyPeer(localPeer(remoteStore(), { clock }), { schedule, clock, skewMs: -250 });
    const read = () => peer.readPoints('a', W, { limit: 5 });
    const error = async (promise: Promise<unknown>) => {
      const result = await settle(promise);
      expect('error' in result).toBe(true);
      return (result as { error: PeerError }).error;
    };
    const transient = await error(read());
    expect([transient.code, transient.transient, isInjectedFault(transient)]).toEqual([
      'PEER_TIMEOUT',
      true,
      true,
    ]);
    const permanent = await error(read());
    expect([permanent.code, permanent.transient]).toEqual(['PEER_AUTH', false]);
    const truncated = await error(read());
    expect([truncated.code, truncated.transient]).toEqual(['PEER_BAD_REPLY', false]);
    const reordered = (await read()).items.map((p) => p.t);
    expect(reordered).not.toEqual([1, 2, 3, 4, 5]);
    expect([...reordered].sort()).toEqual([1, 2, 3, 4, 5]);
    const duplicated = (await read()).items.map((p) => p.t);
    expect(duplicated).toHaveLength(6);
    expect(new Set(duplicated).size).toBe(5);
    const short = await read();
    expect(short.items).toHaveLength(1);
    expect(short.next).not.toBeNull();
    // delay: nothing before 700 ms of the manual clock have passed
    let delayed = false;
    const late = read().then((page) => {
      delayed = true;
      return page;
    });
    await clock.advanceAsync(699);
    expect(delayed).toBe(false);
    await clock.advanceAsync(1);
    expect((await late).items).toHaveLength(5);
    // drop: never answers until the signal aborts
    const controller = new AbortController();
    let dropped = false;
    const lost = settle(peer.readPoints('a', W, { limit: 5 }, { signal: controller.signal })).then(
      (r) => {
        dropped = true;
        return r;
      },
    );
    await clock.advanceAsync(60_000);
    expect(dropped).toBe(false);
    controller.abort();
    const abortedResult = await lost;
    expect((abortedResult as { error: PeerError }).error.code).toBe('PEER_ABORTED');
    // disappear for 2 calls
    expect((await error(read())).code).toBe('PEER_UNREACHABLE');
    expect((await error(read())).code).toBe('PEER_UNREACHABLE');
    expect((await read()).items).toHaveLength(5);
    // skew
    expect((await peer.hello()).now).toBe(clock.now() - 250);
    expect(peer.injected.map((entry) => entry.fault.kind)).toEqual([
      'transient',
      'permanent',
      'truncate',
      'reorder',
      'duplicate',
      'short',
      'delay',
      'drop',
      'disappear',
      'disappear',
    ]);
    expect(peer.describe()).toContain('hand-written schedule');
  });

  it('heal() stops every fault (a vanished remote is back), skew stays', async () => {
    const clock = new ManualClock(0);
    const peer = faultyPeer(localPeer(remoteStore(), { clock }), {
      schedule: [{ kind: 'disappear', calls: 1000 }],
      clock,
      skewMs: 10,
    });
    await expect(peer.listItems()).rejects.toMatchObject({ code: 'PEER_UNREACHABLE' });
    await expect(peer.listItems()).rejects.toMatchObject({ code: 'PEER_UNREACHABLE' });
    peer.heal();
    expect(peer.healed).toBe(true);
    await expect(peer.listItems()).resolves.toEqual(['a']);
    expect((await peer.hello()).now).toBe(10);
  });

  it('rejects malformed options with coded errors', () => {
    const inner = localPeer(remoteStore());
    const cases: [unknown, unknown, string][] = [
      [null, {}, 'PEER_INVALID_OPTION'],
      [inner, { schedule: [{ kind: 'explode' }] }, 'SYNC_INVALID_OPTION'],
      [inner, { schedule: [{ kind: 'delay', ms: -1 }] }, 'SYNC_INVALID_OPTION'],
      [inner, { schedule: 'nope' }, 'PEER_INVALID_OPTION'],
      [inner, { seed: 0.5 }, 'SYNC_INVALID_OPTION'],
      [inner, { skewMs: Number.NaN }, 'PEER_INVALID_OPTION'],
      [inner, { rates: { drop: 2 } }, 'SYNC_INVALID_OPTION'],
    ];
    for (const [peer, options, code] of cases) {
      let caught: unknown;
      try {
        faultyPeer(peer as never, options as never);
      } catch (error) {
        caught = error;
      }
      expect(isEdgeHaError(caught, code), `${JSON.stringify(options)} → ${code}`).toBe(true);
    }
  });

  it('drives a deputy through faults deterministically (same seed, same summary)', async () => {
    const once = async () => {
      const clock = new ManualClock(10_000);
      const peer = faultyPeer(localPeer(remoteStore(), { clock }), {
        seed: 77,
        clock,
        rates: { transient: 0.3, delay: 0.2, short: 0.2 },
      });
      const local = new MemoryStorageAdapter();
      await local.registerItems(['a']);
      const deputy = new TimeSeriesDeputy({
        storage: local,
        peer,
        clock,
        pageSize: 2,
        retry: { retries: 8, backoff: (n) => 100 * n },
        replyTimeoutMs: 1000,
      });
      const summary = await clock.runUntilSettled(deputy.run(W));
      return { summary, faults: peer.injected.length, now: clock.now() };
    };
    const a = await once();
    const b = await once();
    expect(a).toEqual(b);
    expect(a.faults).toBeGreaterThan(0);
  });
});

describe('faultyPeer skewMs', () => {
  it('a deputy measures the remote clock as clock.now() + skewMs and merges by default', async () => {
    for (const skewMs of [-4321, 0, 2500]) {
      const clock = new ManualClock(50_000);
      const peer = faultyPeer(localPeer(remoteStore(), { clock }), { clock, skewMs, rates: {} });
      const local = new MemoryStorageAdapter({ points: { a: [{ t: 3, v: 'mine' }] } });
      const deputy = new TimeSeriesDeputy({ storage: local, peer, clock, overlapMs: 3000 });
      const summary = await clock.runUntilSettled(deputy.run(W));
      expect([summary.state, summary.clockSkewMs]).toEqual(['finished_ok', skewMs]);
      const warned = deputy
        .snapshot()
        .syncState.some((m) => m.level === 'warning' && m.code === 'SYNC_CLOCK_SKEW');
      expect(warned, String(skewMs)).toBe(Math.abs(skewMs) > 3000);
      // run(window) merges: the local point at t=3 stays, the others arrive.
      expect((await dump(local)).points.a).toEqual([
        { t: 1, v: 1 },
        { t: 2, v: 2 },
        { t: 3, v: 'mine' },
        { t: 4, v: 4 },
        { t: 5, v: 5 },
      ]);
    }
  });
});

describe('faultyStorage', () => {
  it('counts calls and records the largest batch without crashing', async () => {
    const storage = faultyStorage(new MemoryStorageAdapter());
    await storage.appendPoints('x', [
      { t: 1, v: 1 },
      { t: 2, v: 2 },
    ]);
    await storage.listItems();
    expect(storage.calls).toBe(2);
    expect(storage.log).toEqual(['appendPoints', 'listItems']);
    expect(storage.maxBatch).toBe(2);
    expect(storage.crashed).toBeNull();
  });

  it('crash before commit: the call does not reach the store; after: it does; then dead', async () => {
    for (const mode of ['before', 'after'] as const) {
      const inner = new MemoryStorageAdapter();
      const storage = faultyStorage(inner, { crashAt: 2, mode });
      await storage.registerItems(['x']);
      const crash = await settle(storage.appendPoints('x', [{ t: 1, v: 1 }]));
      const error = (crash as { error: unknown }).error;
      expect(isEdgeHaError(error, 'STORAGE_BACKEND')).toBe(true);
      expect(isInjectedFault(error)).toBe(true);
      expect(storage.crashed).toEqual({ call: 2, operation: 'appendPoints', mode });
      const stored = await inner.readPoints('x', W, { limit: 10 });
      expect(stored.items).toEqual(mode === 'after' ? [{ t: 1, v: 1 }] : []);
      await expect(storage.listItems()).rejects.toMatchObject({ code: 'STORAGE_BACKEND' });
      await expect(inner.listItems()).resolves.toEqual(['x']);
    }
  });

  it("counts mergePoints and passes the sync writes' syncState through: after commit both, before neither", async () => {
    const progress = { key: 'p', value: { done: 1 } };
    const writes = [
      [
        'mergePoints',
        (s: StorageAdapter) =>
          s.mergePoints('x', W, [{ t: 5, v: 'remote' }], { syncState: progress }),
      ],
      [
        'replacePoints',
        (s: StorageAdapter) =>
          s.replacePoints('x', W, [{ t: 5, v: 'remote' }], { syncState: progress }),
      ],
      [
        'insertEventsIfAbsent',
        (s: StorageAdapter) =>
          s.insertEventsIfAbsent([{ id: 'e', t: 5, body: 1 }], { syncState: progress }),
      ],
    ] as const;
    for (const [operation, write] of writes) {
      // Healthy: counted, the data and the record are written, mergePoints reports its count.
      const counting = faultyStorage(
        new MemoryStorageAdapter({ points: { x: [{ t: 1, v: 'local' }] } }),
      );
      const result = await write(counting);
      if (operation === 'mergePoints') expect(result).toBe(1);
      expect(counting.log).toEqual([operation]);
      expect(counting.maxBatch).toBe(1);
      expect(await counting.readSyncState('p')).toEqual({ done: 1 });
      for (const mode of ['before', 'after'] as const) {
        const inner = new MemoryStorageAdapter({ points: { x: [{ t: 1, v: 'local' }] } });
        const storage = faultyStorage(inner, { crashAt: 1, mode, operations: [operation] });
        await expect(write(storage), `${operation} ${mode}`).rejects.toMatchObject({
          code: 'STORAGE_BACKEND',
        });
        expect(storage.crashed).toEqual({ call: 1, operation, mode });
        const data = await dump(inner);
        const written =
          operation === 'insertEventsIfAbsent'
            ? data.events.length === 1
            : (data.points.x ?? []).some((p) => p.t === 5);
        expect([written, await inner.readSyncState('p')], `${operation} ${mode}`).toEqual(
          mode === 'after' ? [true, { done: 1 }] : [false, undefined],
        );
        // A merge never touched the local point, and a crash before it changed nothing.
        if (operation !== 'replacePoints' || mode === 'before') {
          expect(data.points.x?.[0], `${operation} ${mode}`).toEqual({ t: 1, v: 'local' });
        }
      }
    }
  });

  it('only counts the listed operations', async () => {
    const storage = faultyStorage(new MemoryStorageAdapter(), {
      crashAt: 1,
      operations: ['writeSyncState'],
    });
    await storage.listItems();
    await storage.readSyncState('k');
    await expect(storage.writeSyncState('k', { any: 'record' })).rejects.toMatchObject({
      code: 'STORAGE_BACKEND',
    });
    expect(storage.crashed?.operation).toBe('writeSyncState');
  });

  it('rejects bad options with SYNC_INVALID_OPTION', () => {
    const inner = new MemoryStorageAdapter();
    for (const [adapter, options] of [
      [null, {}],
      [inner, { crashAt: 0 }],
      [inner, { crashAt: 1.5 }],
      [inner, { mode: 'during' }],
      [inner, { operations: ['drop'] }],
    ] as const) {
      expect(() => faultyStorage(adapter as never, options as never)).toThrow(
        expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }),
      );
    }
  });
});

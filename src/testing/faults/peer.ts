/**
 * `faultyPeer`: wraps a {@link RemotePeer} and injects seeded, replayable faults into its calls.
 */

import { type Clock, systemClock } from '../../clock.js';
import { PeerError } from '../../errors.js';
import type { PeerCallOptions, PeerHello, RemotePeer } from '../../peer/types.js';
import type { EventRecord, Page, PageRequest, Point, TimeWindow } from '../../storage/types.js';
import { markInjected } from './injected.js';
import { assertSeed, newSeed, seededRandom } from './random.js';
import {
  assertFaultRates,
  assertPeerFault,
  DEFAULT_PEER_FAULT_RATES,
  describePeerFault,
  drawPeerFault,
  type FaultSchedule,
  type PeerFault,
  type PeerFaultLimits,
  type PeerFaultRates,
  resolveFaultLimits,
} from './schedule.js';

/** The remote calls a {@link FaultyPeer} sees. */
export type FaultyPeerOperation = 'hello' | 'listItems' | 'readPoints' | 'readEvents';

/** Options of {@link faultyPeer}. */
export interface FaultyPeerOptions extends PeerFaultLimits {
  /**
   * Seed of the fault draws when no `schedule` is given (each call draws its fault from `rates`).
   * Print it when a run fails and pass it back to replay the run exactly.
   * @default a fresh random seed (read it back from `peer.seed`)
   */
  readonly seed?: number;
  /**
   * Fault probabilities per call, used with `seed`.
   * @default DEFAULT_PEER_FAULT_RATES
   */
  readonly rates?: PeerFaultRates;
  /**
   * An explicit schedule (from {@link generateFaultSchedule}, a property-testing library, or
   * written by hand): call `n` (0-based, counting every call) gets `faults[n]`; later calls are
   * healthy. Overrides `seed` and `rates`.
   */
  readonly schedule?: FaultSchedule | readonly (PeerFault | null)[];
  /**
   * Clock on which `delay` faults wait (inject a `ManualClock` so delays cost no real time).
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Clock skew of the remote: added to the `now` of every `hello()` reply, in ms (may be
   * negative): over `localPeer(remote, { clock })` the remote's clock reads `clock.now() + skewMs`.
   * A deputy measures it at hello (a `delay` fault on that call shifts the estimate by half the
   * delay). Stays after {@link FaultyPeer.heal} (it is a property of the remote's clock).
   * @default 0
   */
  readonly skewMs?: number;
  /**
   * Label of the wrapped peer.
   * @default the inner peer's label
   */
  readonly label?: string;
}

/** One fault that actually changed a call, as logged by a {@link FaultyPeer}. */
export interface InjectedPeerFault {
  /** Number of the call, 0-based, counting every call of the wrapper. */
  readonly call: number;
  /** The remote operation. */
  readonly operation: FaultyPeerOperation;
  /** The item of a `readPoints`, otherwise `null`. */
  readonly item: string | null;
  /** The fault. */
  readonly fault: PeerFault;
}

/** A {@link RemotePeer} with injected faults, returned by {@link faultyPeer}. */
export interface FaultyPeer extends RemotePeer {
  /** The seed of the run: `options.seed`, the schedule's seed, or the fresh seed drawn. */
  readonly seed: number | null;
  /** The schedule given, or `null` when faults are drawn from the seed. */
  readonly schedule: FaultSchedule | null;
  /** Calls made so far (every operation counts). */
  readonly calls: number;
  /** Every fault that changed a call, in call order (a live, read-only view). */
  readonly injected: readonly InjectedPeerFault[];
  /** Whether {@link FaultyPeer.heal} was called. */
  readonly healed: boolean;
  /**
   * Stops injecting: from now on every call goes straight to the inner peer (a vanished remote
   * is back). Calls already waiting on a fault (a delay, a drop) are not released early.
   */
  heal(): void;
  /**
   * A one-paragraph description of the run for a failure message: seed, number of calls, and
   * the injected faults.
   */
  describe(): string;
}

function aborted(label: string, options: PeerCallOptions | undefined): PeerError {
  return markInjected(
    new PeerError('PEER_ABORTED', `The call to ${label} was aborted.`, {
      cause: options?.signal?.reason,
      transient: false,
    }),
  );
}

/** Resolves after `ms` on `clock`, or rejects when the call's signal aborts. */
function wait(
  clock: Clock,
  ms: number,
  options: PeerCallOptions | undefined,
  label: string,
): Promise<void> {
  const signal = options?.signal;
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(aborted(label, options));
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(aborted(label, options));
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Never settles, unless the call's signal aborts (then rejects with `PEER_ABORTED`). */
function lost(options: PeerCallOptions | undefined, label: string): Promise<never> {
  return new Promise<never>((_, reject) => {
    const signal = options?.signal;
    if (signal === undefined) return;
    if (signal.aborted) reject(aborted(label, options));
    else signal.addEventListener('abort', () => reject(aborted(label, options)), { once: true });
  });
}

function normalizeSchedule(schedule: FaultSchedule | readonly (PeerFault | null)[]): FaultSchedule {
  const value: FaultSchedule = Array.isArray(schedule)
    ? { seed: null, faults: schedule as readonly (PeerFault | null)[] }
    : (schedule as FaultSchedule);
  if (typeof value !== 'object' || value === null || !Array.isArray(value.faults)) {
    throw new PeerError(
      'PEER_INVALID_OPTION',
      'faultyPeer: schedule must be a FaultSchedule { seed, faults } or an array of faults.',
    );
  }
  if (value.seed !== null) assertSeed(value.seed, 'faultyPeer schedule');
  value.faults.forEach((fault, i) => {
    if (fault !== null) assertPeerFault(fault, `faultyPeer: schedule.faults[${i}]`);
  });
  return { seed: value.seed, faults: [...value.faults] };
}

/**
 * Wraps `peer` so its calls suffer seeded, replayable faults: lost, late, reordered, duplicated,
 * truncated and short replies, transient and permanent errors, a remote that vanishes for a few
 * calls (in the middle of a window), and a skewed remote clock (`hello().now`). See
 * {@link PeerFault} for what each fault looks like to the caller.
 *
 * Faults come from an explicit `schedule`, or are drawn per call from `seed` with `rates`. The
 * same seed (or schedule), inner data and call order replay the same faults: drive the caller with
 * a `ManualClock` (also passed here as `clock`) and the whole run is deterministic. Injected
 * errors are `PeerError`s whose message names the seed and the call number; recognise them with
 * {@link isInjectedFault}.
 *
 * @param peer - The peer to wrap (e.g. `localPeer(remoteStorage)`).
 * @param options - Seed or schedule, rates, clock, skew.
 * @returns The faulty peer: a `RemotePeer` plus `seed`, `injected`, `heal()` and `describe()`.
 * @throws {PeerError} `PEER_INVALID_OPTION` when `peer` is not a RemotePeer or the schedule is
 * malformed; `SyncError` `SYNC_INVALID_OPTION` for a bad seed, rate or limit.
 *
 * @example
 * ```ts
 * import { localPeer, MemoryStorageAdapter, type TimeWindow, TimeSeriesDeputy } from 'edge-ha';
 * import { faultyPeer, ManualClock } from 'edge-ha/testing';
 *
 * declare const remote: MemoryStorageAdapter;
 * declare const local: MemoryStorageAdapter;
 * declare const window: TimeWindow;
 * const clock = new ManualClock(Date.UTC(2024, 0, 1));
 * const peer = faultyPeer(localPeer(remote), { seed: 1234, clock });
 * const deputy = new TimeSeriesDeputy({ storage: local, peer, clock });
 * const faulty = await clock.runUntilSettled(deputy.run(window)); // merge by default
 * peer.heal();
 * const healed = await clock.runUntilSettled(deputy.run()); // the gap stayed in the ledger
 * if (healed.state !== 'finished_ok') throw new Error(peer.describe());
 * ```
 */
export function faultyPeer(peer: RemotePeer, options: FaultyPeerOptions = {}): FaultyPeer {
  if (typeof peer !== 'object' || peer === null || typeof peer.hello !== 'function') {
    throw new PeerError(
      'PEER_INVALID_OPTION',
      'faultyPeer: the first argument must be a RemotePeer.',
    );
  }
  const schedule = options.schedule === undefined ? null : normalizeSchedule(options.schedule);
  const seed = schedule !== null ? schedule.seed : (options.seed ?? newSeed());
  if (schedule === null) assertSeed(seed, 'faultyPeer');
  const rates = options.rates ?? DEFAULT_PEER_FAULT_RATES;
  assertFaultRates(rates);
  const limits = resolveFaultLimits(options);
  const clock = options.clock ?? systemClock;
  const skewMs = options.skewMs ?? 0;
  if (!Number.isSafeInteger(skewMs)) {
    throw new PeerError(
      'PEER_INVALID_OPTION',
      `faultyPeer: skewMs must be a safe integer (ms); got ${String(skewMs)}.`,
    );
  }
  const label = options.label ?? peer.label;
  const random = seededRandom(seed ?? 0);
  const injected: InjectedPeerFault[] = [];
  let calls = 0;
  let goneUntil = -1;
  let healed = false;

  const where = (call: number): string =>
    `${seed === null ? 'schedule' : `seed ${seed}`}, call #${call}`;

  const fail = (error: PeerError): never => {
    throw markInjected(error);
  };

  /** The fault of the next call (drawing from the seed or reading the schedule). */
  const faultOf = (call: number): PeerFault | null => {
    if (schedule !== null) return schedule.faults[call] ?? null;
    return drawPeerFault(random, rates, limits);
  };

  /** Reorders or duplicates records; returns `null` when the fault changes nothing. */
  function mangle<T>(records: readonly T[], fault: PeerFault): T[] | null {
    if (fault.kind === 'reorder') {
      if (records.length < 2) return null;
      const shuffled = random.shuffle(records);
      if (shuffled.every((record, i) => record === records[i])) shuffled.reverse();
      return shuffled;
    }
    if (fault.kind === 'duplicate') {
      if (records.length === 0) return null;
      const i = random.int(0, records.length - 1);
      const copy = [...records];
      copy.splice(i, 0, records[i] as T);
      return copy;
    }
    return null;
  }

  async function run<T>(
    operation: FaultyPeerOperation,
    item: string | null,
    callOptions: PeerCallOptions | undefined,
    call: (page: ((request: PageRequest) => PageRequest) | null) => Promise<T>,
    records: { get: (reply: T) => readonly unknown[]; set: (reply: T, r: unknown[]) => T } | null,
  ): Promise<T> {
    const n = calls++;
    if (callOptions?.signal?.aborted) fail(aborted(label, callOptions));
    // Draw even when healed or gone, so the draws of later calls do not depend on them.
    const drawn = faultOf(n);
    if (healed) return call(null);
    const log = (fault: PeerFault): void => {
      injected.push({ call: n, operation, item, fault });
    };
    if (n < goneUntil) {
      log({ kind: 'disappear', calls: goneUntil - n });
      fail(
        new PeerError(
          'PEER_UNREACHABLE',
          `${label} is gone (injected fault: ${where(n)}); retry later.`,
        ),
      );
    }
    if (drawn === null) return call(null);
    switch (drawn.kind) {
      case 'disappear':
        goneUntil = n + drawn.calls;
        log(drawn);
        return fail(
          new PeerError(
            'PEER_UNREACHABLE',
            `${label} disappeared (injected fault: ${where(n)}); retry later.`,
          ),
        );
      case 'transient':
        log(drawn);
        return fail(
          new PeerError(drawn.code, `${label}: injected transient ${drawn.code} (${where(n)}).`, {
            transient: true,
          }),
        );
      case 'permanent':
        log(drawn);
        return fail(
          new PeerError(drawn.code, `${label}: injected permanent ${drawn.code} (${where(n)}).`, {
            transient: false,
          }),
        );
      case 'truncate':
        log(drawn);
        return fail(
          new PeerError(
            'PEER_BAD_REPLY',
            `${label}: the reply was cut off in transit, it is not complete JSON (injected fault: ${where(n)}).`,
            { transient: false },
          ),
        );
      case 'drop':
        log(drawn);
        return lost(callOptions, label);
      case 'delay': {
        log(drawn);
        const reply = await call(null);
        await wait(clock, drawn.ms, callOptions, label);
        return reply;
      }
      case 'short': {
        if (operation !== 'readPoints' && operation !== 'readEvents') return call(null);
        log(drawn);
        return call((request) => ({
          limit: Math.min(request.limit, drawn.limit),
          ...(request.cursor === undefined ? {} : { cursor: request.cursor }),
        }));
      }
      default: {
        const reply = await call(null);
        if (records === null) return reply;
        const changed = mangle(records.get(reply), drawn);
        if (changed === null) return reply;
        log(drawn);
        return records.set(reply, changed);
      }
    }
  }

  const pageRecords = {
    get: (reply: Page<unknown>) => reply.items,
    set: (reply: Page<unknown>, items: unknown[]) => ({ items, next: reply.next }),
  };
  const listRecords = {
    get: (reply: string[]) => reply,
    set: (_reply: string[], items: unknown[]) => items as string[],
  };

  const wrapper: FaultyPeer = {
    label,
    get seed() {
      return seed;
    },
    get schedule() {
      return schedule;
    },
    get calls() {
      return calls;
    },
    get injected() {
      return injected;
    },
    get healed() {
      return healed;
    },
    heal(): void {
      healed = true;
      goneUntil = -1;
    },
    describe(): string {
      const list = injected
        .slice(0, 50)
        .map(
          (entry) =>
            `#${entry.call} ${entry.operation}${entry.item === null ? '' : `(${entry.item})`}: ${describePeerFault(entry.fault)}`,
        )
        .join('; ');
      const more = injected.length > 50 ? `; and ${injected.length - 50} more` : '';
      return `faultyPeer ${label} (${seed === null ? 'hand-written schedule' : `seed ${seed}`}${skewMs === 0 ? '' : `, skew ${skewMs} ms`}): ${calls} call(s), ${injected.length} fault(s) injected${injected.length === 0 ? '' : `: ${list}${more}`}.`;
    },
    hello: (callOptions?: PeerCallOptions): Promise<PeerHello> =>
      run(
        'hello',
        null,
        callOptions,
        async () => {
          const hello = await peer.hello(callOptions);
          return skewMs === 0 ? hello : { ...hello, now: hello.now + skewMs };
        },
        null,
      ),
    listItems: (callOptions?: PeerCallOptions): Promise<string[]> =>
      run('listItems', null, callOptions, () => peer.listItems(callOptions), listRecords),
    readPoints: (
      item: string,
      window: TimeWindow,
      page: PageRequest,
      callOptions?: PeerCallOptions,
    ): Promise<Page<Point>> =>
      run(
        'readPoints',
        item,
        callOptions,
        (shorten) =>
          peer.readPoints(item, window, shorten === null ? page : shorten(page), callOptions),
        pageRecords as never,
      ),
    readEvents: (
      window: TimeWindow,
      page: PageRequest,
      callOptions?: PeerCallOptions,
    ): Promise<Page<EventRecord>> =>
      run(
        'readEvents',
        null,
        callOptions,
        (shorten) => peer.readEvents(window, shorten === null ? page : shorten(page), callOptions),
        pageRecords as never,
      ),
  };
  return wrapper;
}

/**
 * Fault schedules for {@link faultyPeer}: which fault hits which remote call. A schedule is plain
 * data, so it can be printed, stored next to a bug report, generated from a seed
 * ({@link generateFaultSchedule}) or by a property-testing library (and shrunk by it).
 */

import { SyncError } from '../../errors.js';
import { assertSeed, type SeededRandom, seededRandom } from './random.js';

/** Transient peer error codes a `transient` fault injects (a deputy retries them). */
export type TransientFaultCode = 'PEER_UNREACHABLE' | 'PEER_TIMEOUT' | 'PEER_UNAVAILABLE';

/** Permanent peer error codes a `permanent` fault injects (a deputy does not retry them). */
export type PermanentFaultCode = 'PEER_AUTH' | 'PEER_BAD_REQUEST' | 'PEER_BAD_REPLY';

/**
 * One fault injected into one remote call.
 *
 * | kind | what the caller sees |
 * |---|---|
 * | `drop` | the reply is lost: the call never settles until its `signal` aborts (then `PEER_ABORTED`) |
 * | `delay` | the reply arrives `ms` later on the injected clock (replies of concurrent calls arrive out of order) |
 * | `reorder` | the records of a page (or the item list) arrive out of order |
 * | `duplicate` | one record of a page (or one item id) arrives twice |
 * | `truncate` | the reply is cut off in transit: `PEER_BAD_REPLY` (permanent, as `httpPeer` reports it) |
 * | `short` | the remote serves at most `limit` records (a legal short page; paging must go on) |
 * | `transient` | the call fails with a transient `PeerError` of `code` |
 * | `permanent` | the call fails with a permanent `PeerError` of `code` |
 * | `disappear` | the remote vanishes: this call and the next `calls - 1` fail with `PEER_UNREACHABLE` |
 */
export type PeerFault =
  | {
      /** The reply is lost. */
      readonly kind: 'drop';
    }
  | {
      /** The reply is late. */
      readonly kind: 'delay';
      /** How late, in ms of the injected clock (a positive integer). */
      readonly ms: number;
    }
  | {
      /** Records out of order. */
      readonly kind: 'reorder';
    }
  | {
      /** A record repeated. */
      readonly kind: 'duplicate';
    }
  | {
      /** The reply is cut off in transit. */
      readonly kind: 'truncate';
    }
  | {
      /** A shorter page than asked for. */
      readonly kind: 'short';
      /** Most records served (a positive integer). */
      readonly limit: number;
    }
  | {
      /** A transient error. */
      readonly kind: 'transient';
      /** Its code. */
      readonly code: TransientFaultCode;
    }
  | {
      /** A permanent error. */
      readonly kind: 'permanent';
      /** Its code. */
      readonly code: PermanentFaultCode;
    }
  | {
      /** The remote disappears for a while. */
      readonly kind: 'disappear';
      /** Number of calls (this one included) that find the remote gone (a positive integer). */
      readonly calls: number;
    };

/** The kinds of {@link PeerFault}. */
export type PeerFaultKind = PeerFault['kind'];

/** Every {@link PeerFaultKind}, in a stable order. */
export const PEER_FAULT_KINDS: readonly PeerFaultKind[] = Object.freeze([
  'drop',
  'delay',
  'reorder',
  'duplicate',
  'truncate',
  'short',
  'transient',
  'permanent',
  'disappear',
]);

/**
 * Probability, per remote call, of each fault kind (each in `[0, 1]`, the sum at most 1). A kind
 * left out never happens.
 */
export type PeerFaultRates = Readonly<Partial<Record<PeerFaultKind, number>>>;

/**
 * The rates used when none are given: about one call in three is hit, mostly by faults a deputy
 * recovers from by retrying.
 */
export const DEFAULT_PEER_FAULT_RATES: PeerFaultRates = Object.freeze({
  drop: 0.03,
  delay: 0.08,
  reorder: 0.02,
  duplicate: 0.02,
  truncate: 0.02,
  short: 0.06,
  transient: 0.08,
  permanent: 0.01,
  disappear: 0.02,
});

/** Bounds of the parameters drawn for a fault. */
export interface PeerFaultLimits {
  /**
   * Longest `delay` drawn, ms.
   * @default 2000
   */
  readonly maxDelayMs?: number;
  /**
   * Longest `disappear` drawn, in calls.
   * @default 8
   */
  readonly maxGoneCalls?: number;
  /**
   * Largest `short` page limit drawn.
   * @default 3
   */
  readonly maxShortLimit?: number;
}

/** A fault schedule: `faults[n]` hits the `n`-th call (0-based); calls past the end are healthy. */
export interface FaultSchedule {
  /** The seed the schedule was generated from, or `null` for a hand-written schedule. */
  readonly seed: number | null;
  /** The fault of each call, `null` for a healthy call. */
  readonly faults: readonly (PeerFault | null)[];
}

/** Options of {@link generateFaultSchedule}. */
export interface FaultScheduleOptions extends PeerFaultLimits {
  /** Seed of the generator; the same seed and options always give the same schedule. */
  readonly seed: number;
  /** Number of calls the schedule covers (calls after them are healthy). */
  readonly calls: number;
  /**
   * Fault probabilities per call.
   * @default DEFAULT_PEER_FAULT_RATES
   */
  readonly rates?: PeerFaultRates;
}

const TRANSIENT_CODES: readonly TransientFaultCode[] = [
  'PEER_UNREACHABLE',
  'PEER_TIMEOUT',
  'PEER_UNAVAILABLE',
];
const PERMANENT_CODES: readonly PermanentFaultCode[] = [
  'PEER_AUTH',
  'PEER_BAD_REQUEST',
  'PEER_BAD_REPLY',
];

function invalid(message: string): SyncError {
  return new SyncError('SYNC_INVALID_OPTION', message);
}

function limit(name: string, value: number | undefined, fallback: number): number {
  const result = value ?? fallback;
  if (!Number.isSafeInteger(result) || result < 1) {
    throw invalid(`Fault option ${name} must be a positive integer; got ${String(value)}.`);
  }
  return result;
}

/** Validated limits with defaults applied. */
export interface ResolvedFaultLimits {
  /** Longest delay. */
  readonly maxDelayMs: number;
  /** Longest disappearance. */
  readonly maxGoneCalls: number;
  /** Largest short page. */
  readonly maxShortLimit: number;
}

/** Applies the defaults of {@link PeerFaultLimits}; throws `SYNC_INVALID_OPTION`. */
export function resolveFaultLimits(limits: PeerFaultLimits = {}): ResolvedFaultLimits {
  return {
    maxDelayMs: limit('maxDelayMs', limits.maxDelayMs, 2000),
    maxGoneCalls: limit('maxGoneCalls', limits.maxGoneCalls, 8),
    maxShortLimit: limit('maxShortLimit', limits.maxShortLimit, 3),
  };
}

/** Checks fault rates; throws `SYNC_INVALID_OPTION`. */
export function assertFaultRates(rates: unknown): asserts rates is PeerFaultRates {
  if (typeof rates !== 'object' || rates === null) {
    throw invalid('Fault rates must be an object such as { transient: 0.1, drop: 0.02 }.');
  }
  let sum = 0;
  for (const [kind, rate] of Object.entries(rates)) {
    if (!PEER_FAULT_KINDS.includes(kind as PeerFaultKind)) {
      throw invalid(
        `Unknown fault kind ${JSON.stringify(kind)}; use one of ${PEER_FAULT_KINDS.join(', ')}.`,
      );
    }
    if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
      throw invalid(`Fault rate ${kind} must be a number in [0, 1]; got ${String(rate)}.`);
    }
    sum += rate;
  }
  if (sum > 1 + 1e-9) {
    throw invalid(`Fault rates must add up to at most 1; they add up to ${sum}.`);
  }
}

/** Checks one hand-written fault; throws `SYNC_INVALID_OPTION`. */
export function assertPeerFault(fault: unknown, where: string): asserts fault is PeerFault {
  const f = fault as Partial<Record<string, unknown>> | null;
  const positive = (value: unknown): boolean =>
    Number.isSafeInteger(value) && (value as number) > 0;
  let ok = false;
  if (typeof f === 'object' && f !== null) {
    switch (f.kind) {
      case 'drop':
      case 'reorder':
      case 'duplicate':
      case 'truncate':
        ok = true;
        break;
      case 'delay':
        ok = positive(f.ms);
        break;
      case 'short':
        ok = positive(f.limit);
        break;
      case 'disappear':
        ok = positive(f.calls);
        break;
      case 'transient':
        ok = TRANSIENT_CODES.includes(f.code as TransientFaultCode);
        break;
      case 'permanent':
        ok = PERMANENT_CODES.includes(f.code as PermanentFaultCode);
        break;
    }
  }
  if (!ok) {
    throw invalid(
      `${where} is not a valid fault: ${JSON.stringify(fault)}. See PeerFault for the shapes (e.g. { kind: 'delay', ms: 500 }).`,
    );
  }
}

/**
 * Draws the fault of one call from `random` (or `null` for a healthy call). {@link faultyPeer}
 * draws this way when it has a seed but no schedule.
 */
export function drawPeerFault(
  random: SeededRandom,
  rates: PeerFaultRates,
  limits: ResolvedFaultLimits,
): PeerFault | null {
  let roll = random.next();
  for (const kind of PEER_FAULT_KINDS) {
    const rate = rates[kind] ?? 0;
    if (roll >= rate) {
      roll -= rate;
      continue;
    }
    switch (kind) {
      case 'delay':
        return { kind, ms: random.int(1, limits.maxDelayMs) };
      case 'short':
        return { kind, limit: random.int(1, limits.maxShortLimit) };
      case 'disappear':
        return { kind, calls: random.int(1, limits.maxGoneCalls) };
      case 'transient':
        return { kind, code: random.pick(TRANSIENT_CODES) };
      case 'permanent':
        return { kind, code: random.pick(PERMANENT_CODES) };
      default:
        return { kind };
    }
  }
  return null;
}

/**
 * Generates a fault schedule from a seed: the same seed and options always give the same
 * schedule. Pass it to {@link faultyPeer} (`{ schedule }`); print `schedule.seed` (or the whole
 * schedule, it is JSON) when a run fails.
 *
 * @param options - Seed, number of calls, rates and limits.
 * @returns The schedule.
 * @throws {SyncError} `SYNC_INVALID_OPTION` for a bad seed, count, rate or limit.
 *
 * @example
 * ```ts
 * import { localPeer, MemoryStorageAdapter } from 'edge-ha';
 * import { faultyPeer, generateFaultSchedule, ManualClock } from 'edge-ha/testing';
 *
 * const remote = new MemoryStorageAdapter();
 * const clock = new ManualClock(0);
 * const schedule = generateFaultSchedule({ seed: 7, calls: 100, rates: { transient: 0.2 } });
 * const peer = faultyPeer(localPeer(remote), { schedule, clock });
 * ```
 */
export function generateFaultSchedule(options: FaultScheduleOptions): FaultSchedule {
  assertSeed(options?.seed, 'generateFaultSchedule');
  const calls = options.calls;
  if (!Number.isSafeInteger(calls) || calls < 0 || calls > 10_000_000) {
    throw invalid(
      `generateFaultSchedule: calls must be an integer from 0 to 10000000; got ${String(calls)}.`,
    );
  }
  const rates = options.rates ?? DEFAULT_PEER_FAULT_RATES;
  assertFaultRates(rates);
  const limits = resolveFaultLimits(options);
  const random = seededRandom(options.seed);
  const faults: (PeerFault | null)[] = [];
  for (let i = 0; i < calls; i++) faults.push(drawPeerFault(random, rates, limits));
  return { seed: options.seed, faults };
}

/** A short human-readable form of a fault, e.g. `delay 250 ms` or `transient PEER_TIMEOUT`. */
export function describePeerFault(fault: PeerFault): string {
  switch (fault.kind) {
    case 'delay':
      return `delay ${fault.ms} ms`;
    case 'short':
      return `short page (limit ${fault.limit})`;
    case 'disappear':
      return `disappear for ${fault.calls} call(s)`;
    case 'transient':
    case 'permanent':
      return `${fault.kind} ${fault.code}`;
    default:
      return fault.kind;
  }
}

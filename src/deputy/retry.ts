/**
 * Back-off, abortable waits on an injected clock, reply timeouts and the p-retry wrapper the
 * deputies use for every remote call.
 */

import pRetry from 'p-retry';
import type { Clock } from '../clock.js';
import { isEdgeHaError, PeerError, SyncAbortError, SyncError } from '../errors.js';
import type { DeputyRunSummary } from './types.js';

/**
 * A pure back-off policy: the delay in milliseconds before retry number `attempt` (1 for the first
 * retry). Plug your own into `DeputyOptions.retry.backoff`.
 *
 * @group Sync
 */
export type BackoffFunction = (attempt: number) => number;

/**
 * Options of {@link exponentialBackoff}.
 *
 * @group Sync
 */
export interface ExponentialBackoffOptions {
  /**
   * Delay before the first retry, in ms.
   * @default 500
   */
  readonly initialDelayMs?: number;
  /**
   * Growth factor between two retries.
   * @default 2
   */
  readonly factor?: number;
  /**
   * Upper bound of one delay, in ms (applied after jitter).
   * @default 30000
   */
  readonly maxDelayMs?: number;
  /**
   * Relative jitter in `[0, 1]`: each delay is multiplied by a factor drawn uniformly from
   * `[1 - jitter, 1 + jitter]`, so several deputies do not retry in lock-step.
   * @default 0.2
   */
  readonly jitter?: number;
  /**
   * Source of randomness in `[0, 1)`; inject a fixed function for a deterministic (pure) policy.
   * @default Math.random
   */
  readonly random?: () => number;
}

function checkNumber(name: string, value: number, min: number, max = Number.POSITIVE_INFINITY) {
  if (typeof value !== 'number' || Number.isNaN(value) || value < min || value > max) {
    throw new SyncError(
      'SYNC_INVALID_OPTION',
      `Option ${name} must be a number between ${min} and ${max}; got ${String(value)}.`,
    );
  }
}

/**
 * Exponential back-off with jitter and a ceiling:
 * `min(maxDelayMs, initialDelayMs × factor^(attempt − 1) × (1 ± jitter))`.
 *
 * @example
 * ```ts
 * import { exponentialBackoff } from 'edge-ha';
 *
 * const backoff = exponentialBackoff({ initialDelayMs: 100, jitter: 0 });
 * backoff(1); // 100
 * backoff(3); // 400
 * ```
 *
 * @group Sync
 */
export function exponentialBackoff(options: ExponentialBackoffOptions = {}): BackoffFunction {
  const initial = options.initialDelayMs ?? 500;
  const factor = options.factor ?? 2;
  const max = options.maxDelayMs ?? 30_000;
  const jitter = options.jitter ?? 0.2;
  const random = options.random ?? Math.random;
  checkNumber('initialDelayMs', initial, 0);
  checkNumber('factor', factor, 1);
  checkNumber('maxDelayMs', max, 0);
  checkNumber('jitter', jitter, 0, 1);
  return (attempt: number): number => {
    const base = initial * factor ** Math.max(0, attempt - 1);
    const spread = 1 + jitter * (2 * random() - 1);
    const delay = Math.round(Math.min(max, base * spread));
    return Number.isFinite(delay) && delay > 0 ? delay : 0;
  };
}

/**
 * Retry settings of a deputy.
 *
 * @group Sync
 */
export interface RetryOptions {
  /**
   * How many times a failed connection attempt or transient remote error is retried (so at most
   * `retries + 1` attempts per call). `0` disables retries.
   * @default 5
   */
  readonly retries?: number;
  /**
   * Longest time one run keeps trying to reach the remote after a failure, ms (each time the
   * connection is lost the clock starts again). When a retry would start later, the run ends
   * `finished_with_error` with the last error.
   * @default 120000
   */
  readonly giveUpAfterMs?: number;
  /**
   * Delay before each retry.
   * @default exponentialBackoff()
   */
  readonly backoff?: BackoffFunction;
}

/** The error a cancelled run reports. */
export function cancelledError(signal: AbortSignal): SyncError {
  const reason: unknown = signal.reason;
  const detail =
    reason instanceof Error && reason.name !== 'AbortError' ? `: ${reason.message}` : '';
  return new SyncError('SYNC_CANCELLED', `The sync run was cancelled${detail}.`, { cause: reason });
}

/**
 * The rejection of a call whose caller's `signal` aborted (name `AbortError`, `cause` the
 * signal's reason, code `SYNC_CANCELLED`), with the summaries of the runs it ended.
 */
export function abortError(
  signal: AbortSignal,
  message: string,
  summaries: readonly DeputyRunSummary[] = [],
): SyncAbortError {
  return new SyncAbortError(message, { cause: signal.reason, summaries });
}

/** Waits `ms` on `clock`; rejects with `SYNC_CANCELLED` as soon as `signal` aborts. */
export function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(cancelledError(signal));
      return;
    }
    const onAbort = (): void => {
      timer.cancel();
      reject(cancelledError(signal));
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `call` with its own signal that aborts when `signal` aborts or after `timeoutMs` on
 * `clock`; rejects with `PEER_TIMEOUT` (transient) on timeout and `SYNC_CANCELLED` on abort, even
 * if the callee ignores its signal.
 */
export function withTimeout<T>(
  clock: Clock,
  timeoutMs: number,
  signal: AbortSignal,
  what: string,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  if (signal.aborted) return Promise.reject(cancelledError(signal));
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    // The listener below sits on the long-lived run signal: once removed, a dead Listener in
    // the old generation may still point at it until the next full GC (Node's listener list is
    // linked both ways), and everything it reaches survives every scavenge meanwhile. So it
    // reaches the call's settle functions, and through them the reply, only until it is done.
    let settle: { resolve: (value: T) => void; reject: (error: unknown) => void } | undefined = {
      resolve,
      reject,
    };
    const finish = (): typeof settle => {
      const s = settle;
      if (s === undefined) return undefined;
      settle = undefined;
      timer.cancel();
      signal.removeEventListener('abort', onAbort);
      return s;
    };
    const onAbort = (): void => {
      const s = finish();
      if (s === undefined) return;
      controller.abort(signal.reason);
      s.reject(cancelledError(signal));
    };
    const timer = clock.setTimeout(() => {
      const s = finish();
      if (s === undefined) return;
      const error = new PeerError(
        'PEER_TIMEOUT',
        `${what} got no reply within ${timeoutMs} ms; the remote is slow or unreachable (raise replyTimeoutMs if it is just slow).`,
      );
      controller.abort(error);
      s.reject(error);
    }, timeoutMs);
    signal.addEventListener('abort', onAbort, { once: true });
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(call(controller.signal));
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (value) => finish()?.resolve(value),
      (error: unknown) => finish()?.reject(signal.aborted ? cancelledError(signal) : error),
    );
  });
}

/** Whether an error is worth retrying: a `PeerError` flagged transient. */
export function isTransient(error: unknown): boolean {
  return error instanceof PeerError
    ? error.transient
    : isEdgeHaError(error) && (error as { transient?: unknown }).transient === true;
}

/** Details given to {@link retrying}'s `onRetry` before each wait. */
export interface RetryNotice {
  /** Number of the attempt that failed, 1-based. */
  readonly attempt: number;
  /** Delay before the next attempt, ms. */
  readonly delayMs: number;
  /** The error of the failed attempt. */
  readonly error: Error;
}

/**
 * Calls `attempt` until it succeeds, retrying transient errors (see {@link isTransient}) up to
 * `retries` times. The back-off waits are done on `clock` (p-retry's own timer is disabled with
 * `minTimeout: 0`) so a `ManualClock` drives them, and every wait aborts with `signal`.
 */
export async function retrying<T>(
  attempt: (attemptNumber: number) => Promise<T>,
  options: {
    readonly clock: Clock;
    readonly signal: AbortSignal;
    readonly retries: number;
    readonly backoff: BackoffFunction;
    readonly shouldRetry?: (error: unknown) => boolean;
    readonly onRetry?: (notice: RetryNotice) => void;
    /** No retry starts after this time on `clock` (epoch ms). */
    readonly deadline?: number;
  },
): Promise<T> {
  const shouldRetry = options.shouldRetry ?? isTransient;
  const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
  try {
    return await pRetry(attempt, {
      retries: options.retries,
      minTimeout: 0,
      maxTimeout: 0,
      randomize: false,
      signal: options.signal,
      shouldRetry: ({ error }) => !options.signal.aborted && shouldRetry(error),
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        if (options.signal.aborted || retriesLeft <= 0 || !shouldRetry(error)) return;
        const delayMs = Math.max(0, options.backoff(attemptNumber));
        // Past the deadline: give up with this attempt's error instead of waiting again.
        if (options.clock.now() + delayMs > deadline) throw error;
        options.onRetry?.({ attempt: attemptNumber, delayMs, error });
        await sleep(options.clock, delayMs, options.signal);
      },
    });
  } catch (error) {
    if (options.signal.aborted) throw cancelledError(options.signal);
    throw error;
  }
}

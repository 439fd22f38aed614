/**
 * A hand-driven {@link Clock} for deterministic tests of deputies, governors and anything else
 * that takes a `clock` option.
 */

import type { Clock, TimerHandle } from '../clock.js';
import { SyncError } from '../errors.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
}

/** Lets pending promise callbacks (microtasks and already-queued I/O callbacks) run. */
async function flushPromises(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * A clock whose time only moves when the test says so. Timers run in order of due time (then of
 * creation), each with `now()` set to its due time.
 *
 * @example
 * ```ts
 * import { type RemotePeer, type StorageAdapter, TimeSeriesDeputy } from 'edge-ha';
 * import { ManualClock } from 'edge-ha/testing';
 *
 * declare const storage: StorageAdapter;
 * declare const peer: RemotePeer;
 * const clock = new ManualClock(1_000);
 * const deputy = new TimeSeriesDeputy({ storage, peer, clock });
 * const run = deputy.run({ from: 0, to: 1_000 });
 * await clock.runAllAsync(); // drives retries and back-off waits instantly
 * const summary = await run;
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  /**
   * @param start - Initial time, epoch ms.
   * @throws {SyncError} `SYNC_INVALID_OPTION` when `start` is not a safe integer.
   */
  constructor(start = 0) {
    ManualClock.#check('start', start);
    this.#now = start;
  }

  static #check(name: string, value: number): void {
    if (!Number.isSafeInteger(value)) {
      throw new SyncError(
        'SYNC_INVALID_OPTION',
        `ManualClock: ${name} must be a safe integer (ms); got ${String(value)}.`,
      );
    }
  }

  /** The current manual time, epoch ms. */
  now(): number {
    return this.#now;
  }

  /** Schedules `callback` at `now() + ms` (negative or non-finite `ms` counts as 0). */
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const delay = Number.isFinite(ms) && ms > 0 ? Math.ceil(ms) : 0;
    const timer: Timer = { at: this.#now + delay, seq: this.#seq++, callback };
    this.#timers.push(timer);
    return {
      cancel: () => {
        this.#timers = this.#timers.filter((candidate) => candidate !== timer);
      },
    };
  }

  /** Number of timers scheduled and not yet run or cancelled. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  /** Due time of the next timer, or `null` when none is scheduled. */
  nextTimerAt(): number | null {
    return this.#next()?.at ?? null;
  }

  #next(): Timer | undefined {
    let best: Timer | undefined;
    for (const timer of this.#timers) {
      if (
        best === undefined ||
        timer.at < best.at ||
        (timer.at === best.at && timer.seq < best.seq)
      ) {
        best = timer;
      }
    }
    return best;
  }

  #runNext(until: number): boolean {
    const timer = this.#next();
    if (timer === undefined || timer.at > until) return false;
    this.#timers = this.#timers.filter((candidate) => candidate !== timer);
    this.#now = Math.max(this.#now, timer.at);
    timer.callback();
    return true;
  }

  /**
   * Moves time forward by `ms`, synchronously running every timer that falls due (also timers
   * scheduled by those timers), in order.
   */
  advance(ms: number): void {
    ManualClock.#check('ms', ms);
    const until = this.#now + Math.max(0, ms);
    while (this.#runNext(until)) {
      // keep running due timers
    }
    this.#now = Math.max(this.#now, until);
  }

  /**
   * Sets the time. Moving forward runs the timers that fall due (like {@link ManualClock.advance});
   * moving backward (a clock jump) runs nothing.
   */
  set(t: number): void {
    ManualClock.#check('t', t);
    if (t >= this.#now) this.advance(t - this.#now);
    else this.#now = t;
  }

  /**
   * Like {@link ManualClock.advance}, but lets pending promises settle before and after each
   * timer, so async code awaiting a timer continues (and can schedule more) before the next one.
   */
  async advanceAsync(ms: number): Promise<void> {
    ManualClock.#check('ms', ms);
    const until = this.#now + Math.max(0, ms);
    await flushPromises();
    while (this.#runNext(until)) await flushPromises();
    this.#now = Math.max(this.#now, until);
    await flushPromises();
  }

  /**
   * Runs timers one by one, advancing time to each and letting promises settle in between, until
   * none is left (or `maxTimers` ran, a guard against code that re-arms a timer forever).
   * Returns how many timers ran.
   */
  async runAllAsync(maxTimers = 10_000): Promise<number> {
    let ran = 0;
    await flushPromises();
    while (ran < maxTimers && this.#runNext(Number.POSITIVE_INFINITY)) {
      ran++;
      await flushPromises();
    }
    return ran;
  }

  /**
   * Drives timers (as {@link ManualClock.runAllAsync}) until `promise` settles, then returns it.
   * Stops early when no timer is left; the returned promise then settles on its own (or never).
   *
   * @example
   * ```ts
   * import type { TimeSeriesDeputy, TimeWindow } from 'edge-ha';
   * import type { ManualClock } from 'edge-ha/testing';
   *
   * declare const clock: ManualClock;
   * declare const deputy: TimeSeriesDeputy;
   * declare const window: TimeWindow;
   * const summary = await clock.runUntilSettled(deputy.run(window));
   * ```
   */
  async runUntilSettled<T>(promise: Promise<T>, maxTimers = 10_000): Promise<T> {
    let settled = false;
    promise.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await flushPromises();
    let ran = 0;
    while (!settled && ran < maxTimers && this.#runNext(Number.POSITIVE_INFINITY)) {
      ran++;
      await flushPromises();
    }
    return promise;
  }
}

/**
 * The clock every time-dependent part of edge-ha reads, so tests and simulations can replace it
 * (see `ManualClock` in `edge-ha/testing`).
 *
 * @module
 */

/**
 * A handle returned by {@link Clock.setTimeout}.
 *
 * @group Sync
 */
export interface TimerHandle {
  /** Cancels the timer; calling it twice is harmless. */
  cancel(): void;
}

/**
 * Source of time and timers. All times are integer epoch milliseconds, UTC.
 *
 * @group Sync
 */
export interface Clock {
  /** Current time in epoch milliseconds (UTC). */
  now(): number;
  /**
   * Calls `callback` once after `ms` milliseconds. Real-clock timers are `unref`'d: they never
   * keep a host process alive.
   */
  setTimeout(callback: () => void, ms: number): TimerHandle;
}

/**
 * The real clock: `Date.now()` and `unref`'d `setTimeout`.
 *
 * @group Sync
 */
export const systemClock: Clock = Object.freeze({
  now: (): number => Date.now(),
  setTimeout(callback: () => void, ms: number): TimerHandle {
    const timer = setTimeout(callback, ms);
    timer.unref?.();
    return { cancel: () => clearTimeout(timer) };
  },
});

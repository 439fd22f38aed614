/**
 * The downtime window rule (SPEC §4.2), as a pure function.
 */

import { SyncError } from '../errors.js';
import type { TimeWindow } from '../storage/types.js';

/** Inputs of {@link computeRecoveryWindow}. */
export interface RecoveryWindowInput {
  /** The deputy's LastUpToDate, or `null`. */
  readonly lastUpToDate: number | null;
  /** The last heartbeat ("running through T") before this start, or `null`. */
  readonly heartbeat: number | null;
  /** Window of an interrupted run still pending in storage, or `null`. */
  readonly pending: TimeWindow | null;
  /** This start-up time, epoch ms. The window ends here. */
  readonly startup: number;
  /** Subtracted from the start of the window to absorb clock skew. */
  readonly overlapMs: number;
  /** The window never starts before `startup - maxRecoveryMs`. */
  readonly maxRecoveryMs: number;
  /** Window length on a first-ever start (nothing recorded). */
  readonly firstStartLookbackMs: number;
}

/** Why the window starts where it does. */
export type RecoveryBasis = 'pending' | 'lastUpToDate' | 'heartbeat' | 'firstStart';

/** Result of {@link computeRecoveryWindow}. */
export interface RecoveryWindow {
  /** The window to sync, ending at start-up. */
  readonly window: TimeWindow;
  /** The part before the maximum recovery window, which will not be recovered; or `null`. */
  readonly unrecoverable: TimeWindow | null;
  /** What the start of the window was derived from. */
  readonly basis: RecoveryBasis;
}

function check(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new SyncError(
      'SYNC_INVALID_OPTION',
      `${name} must be an integer >= ${min} (ms); got ${String(value)}.`,
    );
  }
}

/**
 * The window a restarted instance must recover:
 * `[min(LastUpToDate, heartbeat) − overlap, startup)`, extended back to the start of an
 * interrupted run still pending (so it resumes instead of being lost), and capped so it never
 * starts before `startup − maxRecoveryMs` — the part before is returned as `unrecoverable`.
 * With nothing recorded (a first-ever start) the window is
 * `[startup − firstStartLookbackMs, startup)` (empty by default: nothing was missed).
 * A start in the future of `startup` (a clock jump backwards) yields an empty window.
 *
 * @example
 * ```ts
 * computeRecoveryWindow({
 *   lastUpToDate: 1_000, heartbeat: 5_000, pending: null, startup: 9_000,
 *   overlapMs: 100, maxRecoveryMs: 86_400_000, firstStartLookbackMs: 0,
 * }).window; // { from: 900, to: 9000 }
 * ```
 */
export function computeRecoveryWindow(input: RecoveryWindowInput): RecoveryWindow {
  check('startup', input.startup, Number.MIN_SAFE_INTEGER);
  check('overlapMs', input.overlapMs, 0);
  check('maxRecoveryMs', input.maxRecoveryMs, 0);
  check('firstStartLookbackMs', input.firstStartLookbackMs, 0);
  const { startup } = input;
  const known = [input.lastUpToDate, input.heartbeat].filter((t): t is number => t !== null);
  let from: number;
  let basis: RecoveryBasis;
  if (known.length > 0) {
    from = Math.min(...known) - input.overlapMs;
    basis =
      input.lastUpToDate !== null && input.lastUpToDate === Math.min(...known)
        ? 'lastUpToDate'
        : 'heartbeat';
  } else {
    from = startup - input.firstStartLookbackMs;
    basis = 'firstStart';
  }
  if (input.pending !== null && input.pending.from < from) {
    from = input.pending.from;
    basis = 'pending';
  }
  from = Math.min(from, startup);
  const earliest = startup - input.maxRecoveryMs;
  let unrecoverable: TimeWindow | null = null;
  if (from < earliest) {
    unrecoverable = { from, to: earliest };
    from = earliest;
  }
  return { window: { from, to: startup }, unrecoverable, basis };
}

/** Shared helpers of the reliability suites. */

import type { TimeWindow } from '../../src/storage/types.js';

/**
 * Runs of a property suite: `EDGE_HA_RELIABILITY_RUNS` when set (long runs), else the CI default.
 */
export function runs(ciDefault: number): number {
  const raw = process.env.EDGE_HA_RELIABILITY_RUNS;
  const n = raw === undefined || raw === '' ? ciDefault : Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new Error(`EDGE_HA_RELIABILITY_RUNS must be a positive integer, got ${raw}`);
  }
  return n;
}

/** fast-check parameters: run count, plus `EDGE_HA_SEED` / `EDGE_HA_PATH` to replay a failure. */
export function fcParams(ciDefault: number): { numRuns: number; seed?: number; path?: string } {
  const seed = process.env.EDGE_HA_SEED;
  const path = process.env.EDGE_HA_PATH;
  return {
    numRuns: runs(ciDefault),
    ...(seed === undefined || seed === '' ? {} : { seed: Number(seed) }),
    ...(path === undefined || path === '' ? {} : { path }),
  };
}

export { dump } from '../deputy/helpers.js';

/** Points of `points` with `from <= t < to`. */
export function within<T extends { t: number }>(points: readonly T[], window: TimeWindow): T[] {
  return points.filter((p) => p.t >= window.from && p.t < window.to);
}

/** Points of `points` outside `[from, to)`. */
export function outside<T extends { t: number }>(points: readonly T[], window: TimeWindow): T[] {
  return points.filter((p) => p.t < window.from || p.t >= window.to);
}

/**
 * A small seeded pseudo-random generator (mulberry32) for reproducible simulations: the same seed
 * always yields the same sequence, on every platform.
 */

import { SyncError } from '../../errors.js';

/** A deterministic source of randomness created by {@link seededRandom}. */
export interface SeededRandom {
  /** The seed the sequence started from (print it; pass it back to replay). */
  readonly seed: number;
  /** The next number in `[0, 1)`. */
  next(): number;
  /** An integer in `[min, max]` (both inclusive). */
  int(min: number, max: number): number;
  /** `true` with probability `p` (`p <= 0` never, `p >= 1` always). */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** A shuffled copy of `items` (Fisher–Yates). */
  shuffle<T>(items: readonly T[]): T[];
}

/** Throws `SYNC_INVALID_OPTION` unless `seed` is a safe integer. */
export function assertSeed(seed: unknown, where: string): asserts seed is number {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
    throw new SyncError(
      'SYNC_INVALID_OPTION',
      `${where}: seed must be a safe integer (print the seed of a failing run and pass it back to replay it); got ${String(seed)}.`,
    );
  }
}

/**
 * Creates a seeded generator. Two generators with the same seed produce the same sequence, so a
 * failing simulation replays exactly from its printed seed.
 *
 * @param seed - Any safe integer.
 * @returns The generator.
 * @throws {SyncError} `SYNC_INVALID_OPTION` when `seed` is not a safe integer.
 *
 * @example
 * ```ts
 * import { seededRandom } from 'edge-ha/testing';
 *
 * const random = seededRandom(42);
 * random.int(1, 6); // always the same roll for seed 42
 * ```
 */
export function seededRandom(seed: number): SeededRandom {
  assertSeed(seed, 'seededRandom');
  // Fold the (up to 53-bit) seed into 32 bits of state.
  let state = (seed ^ Math.floor(seed / 0x1_0000_0000)) >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const int = (min: number, max: number): number => {
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || min > max) {
      throw new SyncError(
        'SYNC_INVALID_OPTION',
        `SeededRandom.int needs safe integers with min <= max; got ${min}, ${max}.`,
      );
    }
    return min + Math.floor(next() * (max - min + 1));
  };
  return Object.freeze({
    seed,
    next,
    int,
    chance: (p: number): boolean => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) {
        throw new SyncError('SYNC_INVALID_OPTION', 'SeededRandom.pick needs a non-empty list.');
      }
      return items[int(0, items.length - 1)] as T;
    },
    shuffle<T>(items: readonly T[]): T[] {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = int(0, i);
        [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
      }
      return copy;
    },
  });
}

/**
 * A fresh seed for a new simulation run (from `Math.random`). Print it with the run's result so a
 * failure can be replayed with {@link seededRandom}.
 *
 * @returns A non-negative safe integer below 2^32.
 */
export function newSeed(): number {
  return Math.floor(Math.random() * 4_294_967_296);
}

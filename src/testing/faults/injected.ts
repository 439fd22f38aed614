/**
 * Tells injected faults apart from real ones.
 */

const INJECTED: WeakSet<object> = new WeakSet();

/** Marks `error` as injected by the fault harness and returns it. */
export function markInjected<E extends object>(error: E): E {
  INJECTED.add(error);
  return error;
}

/**
 * Whether `error` was injected by {@link faultyPeer} or {@link faultyStorage} (and not raised by
 * the code under test). Errors that wrap an injected error (`cause`) count too, so a deputy's
 * `Could not connect …` error around an injected `PEER_UNREACHABLE` is recognised.
 *
 * @param error - Any thrown value.
 * @returns `true` for an injected fault or an error caused by one.
 *
 * @example
 * ```ts
 * import { isInjectedFault } from 'edge-ha/testing';
 *
 * declare const error: unknown;
 * if (!isInjectedFault(error)) throw error; // a real bug, not the simulation
 * ```
 */
export function isInjectedFault(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 16; depth++) {
    if (typeof current !== 'object' || current === null) return false;
    if (INJECTED.has(current)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

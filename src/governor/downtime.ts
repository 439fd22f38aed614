/**
 * The heartbeat record and the downtime rule (when was this node not running?), as pure
 * functions.
 */

import { SyncError } from '../errors.js';
import type { JsonObject } from '../storage/types.js';

/**
 * What the heartbeat record says about the previous run of the node.
 *
 * @group Sync
 */
export interface HeartbeatInfo {
  /** The node was running through this time, epoch ms. */
  readonly at: number;
  /**
   * `true` when `at` is the exact stop time written by a clean `close()`; `false` when it is a
   * periodic heartbeat (the node may have run on for a while before it died).
   */
  readonly clean: boolean;
  /** Heartbeat interval of that run, ms, or `null` when unknown (a 0.1.0 record). */
  readonly intervalMs: number | null;
}

/**
 * Inputs of {@link computeDowntime}.
 *
 * @group Sync
 */
export interface DowntimeInput {
  /** The previous run's heartbeat, or `null` when the node never ran (or nothing was recorded). */
  readonly heartbeat: HeartbeatInfo | null;
  /** This start-up time, epoch ms. */
  readonly startup: number;
  /** The heartbeat interval to assume when the record does not say, ms. */
  readonly intervalMs: number;
}

/**
 * The downtime of a node: it was not running in `[overwriteFrom, to)`.
 *
 * @group Sync
 */
export interface Downtime {
  /** The last heartbeat: the node was certainly running until here. */
  readonly heartbeat: number;
  /**
   * Where the node was certainly down: the millisecond after a clean stop (a point stamped in
   * the very millisecond of the stop was recorded while running); after a crash, two heartbeat
   * intervals after the last heartbeat (the next heartbeat was due one interval later, and its
   * write may have been under way when the node died). Capped at `to`.
   * `[heartbeat, overwriteFrom)` is merged, never overwritten.
   */
  readonly overwriteFrom: number;
  /** The start-up: the node runs again from here. */
  readonly to: number;
  /** Whether the previous run ended with a clean `close()`. */
  readonly clean: boolean;
}

/**
 * The downtime between the previous run's heartbeat and this start-up, or `null` when there is
 * none (first start, or a heartbeat at or after the start-up: the clock was set back).
 *
 * @example
 * ```ts
 * import { computeDowntime } from 'edge-ha';
 *
 * computeDowntime({ heartbeat: { at: 1_000, clean: false, intervalMs: 100 }, startup: 5_000, intervalMs: 100 });
 * // { heartbeat: 1000, overwriteFrom: 1200, to: 5000, clean: false }
 * ```
 *
 * @group Sync
 */
export function computeDowntime(input: DowntimeInput): Downtime | null {
  const { heartbeat, startup } = input;
  if (!Number.isSafeInteger(startup) || !Number.isSafeInteger(input.intervalMs)) {
    throw new SyncError(
      'SYNC_INVALID_OPTION',
      `computeDowntime needs safe-integer startup and intervalMs; got ${String(startup)}, ${String(input.intervalMs)}.`,
    );
  }
  if (heartbeat === null || heartbeat.at >= startup) return null;
  const slack = heartbeat.clean ? 1 : 2 * (heartbeat.intervalMs ?? input.intervalMs);
  return {
    heartbeat: heartbeat.at,
    overwriteFrom: Math.min(startup, heartbeat.at + slack),
    to: startup,
    clean: heartbeat.clean,
  };
}

const HEARTBEAT_FORMAT = 'edge-ha.heartbeat';

/**
 * Reads the heartbeat record: format version 2, or the 0.1.0 record
 * `{ lastUpToDate, heartbeat, run }`. `undefined` (never written) is `null`.
 *
 * @throws {SyncError} `SYNC_STATE_FORMAT` for a record this version does not understand.
 */
export function readHeartbeat(value: JsonObject | undefined, key: string): HeartbeatInfo | null {
  if (value === undefined) return null;
  if (value.format === undefined && 'heartbeat' in value) {
    const at = value.heartbeat;
    if (at === null) return null;
    if (Number.isSafeInteger(at)) return { at: at as number, clean: false, intervalMs: null };
  } else if (value.format === HEARTBEAT_FORMAT && value.version === 2) {
    const { at, clean, intervalMs } = value;
    if (
      Number.isSafeInteger(at) &&
      typeof clean === 'boolean' &&
      (intervalMs === null || (Number.isSafeInteger(intervalMs) && (intervalMs as number) > 0))
    ) {
      return { at: at as number, clean, intervalMs: intervalMs as number | null };
    }
  }
  throw new SyncError(
    'SYNC_STATE_FORMAT',
    `The heartbeat record "${key}" is not in a format this edge-ha reads (${JSON.stringify(value).slice(0, 200)}); it was left as it is.`,
  );
}

/** The heartbeat record of `info` (format version 2). */
export function writeHeartbeatRecord(info: HeartbeatInfo): JsonObject {
  return {
    format: HEARTBEAT_FORMAT,
    version: 2,
    at: info.at,
    clean: info.clean,
    intervalMs: info.intervalMs,
  };
}

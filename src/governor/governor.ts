/**
 * The HA governor: heartbeat, downtime gaps, deputies, status (docs/sync.md, "The governor").
 */

import { EventEmitter } from 'eventemitter3';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import {
  assertSyncWindow,
  type Deputy,
  EventDeputy,
  observeDeputyCounters,
  TimeSeriesDeputy,
} from '../deputy/deputy.js';
import type { SyncGap, SyncGapMode } from '../deputy/ledger.js';
import { abortError, type RetryOptions } from '../deputy/retry.js';
import type {
  DeputyEvents,
  DeputyKind,
  DeputyOptions,
  DeputyRecord,
  DeputyRunSummary,
  DeputySnapshot,
  SyncStateLevel,
  SyncStateMessage,
} from '../deputy/types.js';
import { SyncAbortError, SyncError } from '../errors.js';
import { type Logger, logGovernorEvents } from '../ops/logger.js';
import type { MeterLike, MetricsSnapshot } from '../ops/metrics.js';
import { bindMeter, type MeterBinding } from '../ops/otel.js';
import { serviceLevel } from '../ops/service-level.js';
import { unionWindows } from '../peer/gaps.js';
import type { RemotePeer } from '../peer/types.js';
import type { StorageAdapter, TimeWindow } from '../storage/types.js';
import {
  computeDowntime,
  type Downtime,
  type HeartbeatInfo,
  readHeartbeat,
  writeHeartbeatRecord,
} from './downtime.js';

/**
 * Options of {@link HAGovernor}.
 *
 * @group Sync
 */
export interface HAGovernorOptions {
  /** The local store. */
  readonly storage: StorageAdapter;
  /**
   * Remotes to pull from, in order of preference: each run uses the first that answers, and
   * takes the parts of a gap it lacks (its hello `gaps`) from the next one that has them.
   */
  readonly peers: readonly RemotePeer[];
  /**
   * Source of time and timers.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Prefix of the sync-state keys: `<key>:heartbeat`, `<key>:timeSeries`, `<key>:events`.
   * @default 'edge-ha'
   */
  readonly key?: string;
  /**
   * How often the heartbeat ("running through T") is written while running. After a crash the
   * node may have run on past its last heartbeat, so two intervals after it are merged, never
   * overwritten (a heartbeat write that stalls for longer is reported as a SyncState error).
   * @default 10000
   */
  readonly heartbeatIntervalMs?: number;
  /**
   * Whether this store records data while the governor runs (a node). `false` for a one-shot
   * catch-up of a store that records nothing itself (`edge-ha sync` on a file): the heartbeat is
   * then written once, at start-up, as a clean stop at that time, and neither periodically nor by
   * `close()`, so the next start-up treats everything after the start-up as downtime (what the
   * peer recorded after the sync's merge margin was never pulled).
   * @default true
   */
  readonly recordsWhileRunning?: boolean;
  /**
   * Smallest clock-skew margin on each side of a downtime, ms (see `DeputyOptions.overlapMs`):
   * margins are `max(overlapMs, |skew| + 1000)` and are merged.
   * @default 60000
   */
  readonly overlapMs?: number;
  /**
   * Largest clock difference to the peer accepted (see `DeputyOptions.maxClockSkewMs`).
   * @default 300000 (5 minutes)
   */
  readonly maxClockSkewMs?: number;
  /**
   * Oldest data recovered, ms before now; anything older is recorded as unrecoverable.
   * @default 604800000 (7 days)
   */
  readonly maxRecoveryMs?: number;
  /**
   * On a first-ever start (no heartbeat and no deputy record), how far back to pull from the
   * peer, in merge mode. `0` means nothing was missed: the deputies finish at once.
   * @default 0
   */
  readonly firstStartLookbackMs?: number;
  /**
   * Whose item list the time-series deputy syncs (see `DeputyOptions.items`).
   * @default 'local'
   */
  readonly items?: 'local' | 'remote' | 'union';
  /**
   * Short pages one read may receive before the remote counts as trickling (see
   * `DeputyOptions.maxShortPages`).
   * @default 100
   */
  readonly maxShortPages?: number;
  /**
   * Run the time-series deputy.
   * @default true
   */
  readonly timeSeries?: boolean;
  /**
   * Run the event deputy.
   * @default true
   */
  readonly events?: boolean;
  /**
   * Records per page (see `DeputyOptions.pageSize`).
   * @default 5000
   */
  readonly pageSize?: number;
  /**
   * Time-series items in parallel (see `DeputyOptions.concurrency`).
   * @default 4
   */
  readonly concurrency?: number;
  /**
   * Retries (see `DeputyOptions.retry`).
   * @default { retries: 5, backoff: exponentialBackoff() }
   */
  readonly retry?: RetryOptions;
  /**
   * Reply timeout of one remote call, ms.
   * @default 30000
   */
  readonly replyTimeoutMs?: number;
  /**
   * SyncState messages kept per deputy (and for the governor).
   * @default 100
   */
  readonly syncStateLimit?: number;
  /**
   * Retry until caught up: after a sync that leaves the node behind (a failed run, or gaps left
   * in a ledger), the governor syncs again after a back-off that doubles from `min` up to `max`
   * ms and starts over at `min` once caught up; it keeps trying until caught up or closed. Each
   * attempt is visible as transitions, SyncState and a `scheduled` event. The waits never keep
   * the process alive (see {@link HAGovernor.whenCaughtUp}). `false` turns it off.
   * @default { min: 5000, max: 300000 }
   */
  readonly retryEveryMs?:
    | {
        /** First wait after a sync that left the node behind, ms. @default 5000 */
        readonly min?: number;
        /** Longest wait, ms (the wait doubles up to it). @default 300000 */
        readonly max?: number;
      }
    | false;
  /**
   * Follow mode (off by default): every `followEveryMs` while running, the governor adds the
   * trailing window `[now − followWindowMs, now)` as a merge gap (reason `follow`) and syncs, so
   * a node that stayed up but missed writes (a partition between it and the writer) converges
   * without a restart. Merge only: it never overwrites a local point.
   * @default undefined (off)
   */
  readonly followEveryMs?: number;
  /**
   * The trailing window follow mode merges, ms.
   * @default 2 × followEveryMs
   */
  readonly followWindowMs?: number;
  /**
   * Where the governor logs what its deputies do (pino-compatible: `info(fields, message)`): every
   * transition and SyncState message, every finished run with its counts and error codes
   * (`error` level when it failed), the scheduled syncs; retries, progress and heartbeats at
   * `debug`. A throwing logger is ignored.
   * @default undefined (no logging; the events are still emitted)
   * @example
   * ```ts
   * import { HAGovernor, jsonLogger, type RemotePeer, type StorageAdapter } from 'edge-ha';
   *
   * declare const storage: StorageAdapter;
   * declare const peers: RemotePeer[];
   *
   * new HAGovernor({ storage, peers, logger: jsonLogger({ write: (line) => process.stdout.write(line) }) });
   * ```
   */
  readonly logger?: Logger;
  /**
   * An OpenTelemetry `Meter` (`metrics.getMeter('edge-ha')` from `@opentelemetry/api`, an
   * optional peer dependency edge-ha never imports) on which the metrics of
   * {@link HAGovernor.metrics} are recorded: counters as `Counter`s (named as in Prometheus,
   * without `_total`), gauges as `ObservableGauge`s. The
   * [operations guide](../../docs/operations.md#metrics) lists them.
   * @default undefined
   * @example
   * ```ts
   * import { metrics } from '@opentelemetry/api';
   * import { HAGovernor, type RemotePeer, type StorageAdapter } from 'edge-ha';
   *
   * declare const storage: StorageAdapter;
   * declare const peers: RemotePeer[];
   *
   * new HAGovernor({ storage, peers, meter: metrics.getMeter('edge-ha') });
   * ```
   */
  readonly meter?: MeterLike;
}

/**
 * What `start()` learnt about the previous run of the node.
 *
 * @group Sync
 */
export interface GovernorDowntime {
  /** The heartbeat record found at start-up, or `null` (first start). */
  readonly heartbeat: HeartbeatInfo | null;
  /** The downtime added to the gap ledgers, or `null` when there was none. */
  readonly downtime: Downtime | null;
}

/**
 * What `start()` and `resync()` resolve to: one summary per enabled deputy.
 *
 * @group Sync
 */
export interface GovernorRunResult {
  /** Summary of the time-series deputy's run, or `null` when disabled. */
  readonly timeSeries: DeputyRunSummary | null;
  /** Summary of the event deputy's run, or `null` when disabled. */
  readonly events: DeputyRunSummary | null;
}

/**
 * The governor's state as JSON (`status()`).
 *
 * @group Sync
 */
export interface GovernorStatus {
  /** Start-up time, or `null` before `start()`. */
  readonly startedAt: number | null;
  /** Whether a deputy run is in progress. */
  readonly running: boolean;
  /** Whether `close()` was called. */
  readonly closed: boolean;
  /**
   * True when the governor was started and every enabled deputy's gap ledger is empty and its
   * most recent run ended `finished_ok`: the instance has every record the peer had for the
   * time it was down. Map it to a readiness probe (or an OPC UA ServiceLevel).
   */
  readonly caughtUp: boolean;
  /** Last heartbeat written, or `null`. */
  readonly heartbeat: number | null;
  /** The previous run's heartbeat and the downtime found at start-up. */
  readonly startup: GovernorDowntime | null;
  /** The gap ledger per deputy kind: what is still missing (`null` when disabled). */
  readonly gaps: {
    /** Time-series gaps. */
    readonly timeSeries: readonly SyncGap[] | null;
    /** Event gaps. */
    readonly events: readonly SyncGap[] | null;
  };
  /** Windows recorded as not recoverable (older than `maxRecoveryMs`), per deputy kind. */
  readonly unrecoverable: {
    /** Time series. */
    readonly timeSeries: readonly TimeWindow[] | null;
    /** Events. */
    readonly events: readonly TimeWindow[] | null;
  };
  /** Per-deputy snapshot (`null` when that deputy is disabled). */
  readonly deputies: {
    /** Time-series deputy. */
    readonly timeSeries: DeputySnapshot | null;
    /** Event deputy. */
    readonly events: DeputySnapshot | null;
  };
  /** The governor's own SyncState messages (downtime, retries, heartbeat failures). */
  readonly syncState: readonly SyncStateMessage[];
  /** When the next sync the governor scheduled by itself runs, epoch ms, or `null`. */
  readonly nextSyncAt: number | null;
  /** Consecutive syncs that left the node behind (reset to 0 once caught up). */
  readonly failedAttempts: number;
}

/**
 * Payload of the governor's `heartbeat` event.
 *
 * @group Sync
 */
export interface GovernorHeartbeat {
  /** The "running through" time written. */
  readonly at: number;
}

/**
 * The governor's typed events: every deputy event (with its `kind`), plus `heartbeat` and
 * `scheduled`. Every event, when it is emitted and its payload, is in one table: the Events
 * section of the [sync guide](../../docs/sync.md#events).
 *
 * @group Sync
 */
export interface GovernorEvents extends DeputyEvents {
  /** A heartbeat was written. */
  heartbeat: [heartbeat: GovernorHeartbeat];
  /** The governor scheduled a sync by itself (retry until caught up, follow mode, reported gap). */
  scheduled: [sync: GovernorScheduledSync];
}

/**
 * Payload of the governor's `scheduled` event.
 *
 * @group Sync
 */
export interface GovernorScheduledSync {
  /** Why: `retry` (not caught up), `follow` (follow mode) or `reported` (a host reported a gap). */
  readonly reason: 'retry' | 'follow' | 'reported';
  /** Consecutive syncs that left the node behind (0 for follow and reported syncs). */
  readonly attempt: number;
  /** Wait before the sync, ms. */
  readonly delayMs: number;
  /** When it runs, epoch ms. */
  readonly at: number;
}

const FORWARDED: readonly (keyof DeputyEvents)[] = [
  'transition',
  'progress',
  'syncState',
  'retry',
  'itemError',
  'finished',
];

function keepAliveTick(): void {
  // holds the event loop while a caller awaits whenCaughtUp()
}

function nonNegative(name: string, value: number | undefined, fallback: number, min = 0): number {
  const result = value ?? fallback;
  if (!Number.isSafeInteger(result) || result < min) {
    throw new SyncError(
      'SYNC_INVALID_OPTION',
      `HAGovernor option ${name} must be an integer >= ${min} (ms); got ${String(value)}.`,
    );
  }
  return result;
}

/**
 * Owns the deputies of one local instance: writes a heartbeat while running, and at `start()`
 * adds the downtime (`[last heartbeat, start-up)`) to every deputy's gap ledger and syncs the
 * ledgers from the first reachable peer: the remote wins only where this node was
 * down; around it, and for gaps a host reports, the sync merges. The
 * [sync guide](../../docs/sync.md#the-governor) has the whole lifecycle.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { HAGovernor, httpPeer } from 'edge-ha';
 * import { openSqliteStorage } from 'edge-ha/sqlite';
 *
 * const storage = openSqliteStorage('./edge-ha.db');
 * const governor = new HAGovernor({
 *   storage,
 *   peers: [httpPeer({ url: 'http://b:7070/edge-ha/v1', token: process.env.EDGE_HA_TOKEN! })],
 * });
 * governor.on('transition', (e) => console.log(e.kind, `${e.fromCode}→${e.toCode}`, e.reason));
 * await governor.start();
 *
 * const app = express();
 * app.get('/ready', (_req, res) => res.sendStatus(governor.status().caughtUp ? 200 : 503));
 * app.listen(8080);
 * process.on('SIGTERM', () => void governor.close());
 * ```
 *
 * @group Sync
 */
export class HAGovernor extends EventEmitter<GovernorEvents> {
  /** Sync-state key of the heartbeat record. */
  readonly heartbeatKey: string;
  readonly #storage: StorageAdapter;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #lookbackMs: number;
  readonly #records: boolean;
  readonly #messageLimit: number;
  readonly #deputies: Deputy[] = [];
  #startedAt: number | null = null;
  #heartbeat: number | null = null;
  #timer: TimerHandle | null = null;
  #watchdog: TimerHandle | null = null;
  #pendingBeat: Promise<void> | null = null;
  #closed = false;
  #busy = false;
  #controller: AbortController | null = null;
  #startup: GovernorDowntime | null = null;
  #messages: SyncStateMessage[] = [];
  readonly #retryMin: number | null;
  readonly #retryMax: number;
  readonly #followEveryMs: number | null;
  readonly #followWindowMs: number;
  #syncTimer: TimerHandle | null = null;
  #followTimer: TimerHandle | null = null;
  #nextSyncAt: number | null = null;
  #failedAttempts = 0;
  readonly #waiters = new Set<{
    resolve: () => void;
    reject: (error: unknown) => void;
  }>();
  #meter: MeterBinding | null = null;
  #unlog: (() => void) | null = null;

  /**
   * @param options - See {@link HAGovernorOptions}.
   * @throws {SyncError} `SYNC_INVALID_OPTION` when an option is invalid (e.g. no peers).
   */
  constructor(options: HAGovernorOptions) {
    super();
    if (typeof options !== 'object' || options === null || typeof options.storage !== 'object') {
      throw new SyncError('SYNC_INVALID_OPTION', 'HAGovernor needs { storage, peers } options.');
    }
    if (!Array.isArray(options.peers) || options.peers.length === 0) {
      throw new SyncError(
        'SYNC_INVALID_OPTION',
        'HAGovernor option peers must be a non-empty array of RemotePeers (in order of preference).',
      );
    }
    const key = options.key ?? 'edge-ha';
    if (typeof key !== 'string' || key.length === 0) {
      throw new SyncError(
        'SYNC_INVALID_OPTION',
        'HAGovernor option key must be a non-empty string.',
      );
    }
    this.heartbeatKey = `${key}:heartbeat`;
    this.#storage = options.storage;
    this.#clock = options.clock ?? systemClock;
    this.#intervalMs = nonNegative('heartbeatIntervalMs', options.heartbeatIntervalMs, 10_000, 1);
    const overlapMs = nonNegative('overlapMs', options.overlapMs, 60_000);
    const maxClockSkewMs = nonNegative('maxClockSkewMs', options.maxClockSkewMs, 300_000, 1);
    const maxRecoveryMs = nonNegative('maxRecoveryMs', options.maxRecoveryMs, 7 * 86_400_000, 1);
    this.#lookbackMs = nonNegative('firstStartLookbackMs', options.firstStartLookbackMs, 0);
    this.#records = options.recordsWhileRunning ?? true;
    if (typeof this.#records !== 'boolean') {
      throw new SyncError(
        'SYNC_INVALID_OPTION',
        'HAGovernor option recordsWhileRunning must be a boolean.',
      );
    }
    this.#messageLimit = nonNegative('syncStateLimit', options.syncStateLimit, 100, 1);
    const retry = options.retryEveryMs ?? {};
    if (retry === false) {
      this.#retryMin = null;
      this.#retryMax = 0;
    } else if (typeof retry === 'object' && retry !== null) {
      this.#retryMin = nonNegative('retryEveryMs.min', retry.min, 5_000, 1);
      this.#retryMax = nonNegative('retryEveryMs.max', retry.max, 300_000, this.#retryMin);
    } else {
      throw new SyncError(
        'SYNC_INVALID_OPTION',
        'HAGovernor option retryEveryMs must be { min?, max? } (ms) or false.',
      );
    }
    this.#followEveryMs =
      options.followEveryMs === undefined
        ? null
        : nonNegative('followEveryMs', options.followEveryMs, 0, 1);
    this.#followWindowMs =
      this.#followEveryMs === null
        ? 0
        : nonNegative('followWindowMs', options.followWindowMs, 2 * this.#followEveryMs, 1);
    const deputyOptions = (kind: DeputyKind): DeputyOptions => ({
      storage: options.storage,
      peer: options.peers,
      key: `${key}:${kind}`,
      clock: this.#clock,
      overlapMs,
      maxClockSkewMs,
      maxRecoveryMs,
      ...(options.items === undefined ? {} : { items: options.items }),
      ...(options.maxShortPages === undefined ? {} : { maxShortPages: options.maxShortPages }),
      ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.replyTimeoutMs === undefined ? {} : { replyTimeoutMs: options.replyTimeoutMs }),
      ...(options.syncStateLimit === undefined ? {} : { syncStateLimit: options.syncStateLimit }),
    });
    if (options.timeSeries ?? true)
      this.#deputies.push(new TimeSeriesDeputy(deputyOptions('timeSeries')));
    if (options.events ?? true) this.#deputies.push(new EventDeputy(deputyOptions('events')));
    if (this.#deputies.length === 0) {
      throw new SyncError(
        'SYNC_INVALID_OPTION',
        'HAGovernor: enable at least one of timeSeries, events.',
      );
    }
    for (const deputy of this.#deputies) {
      for (const name of FORWARDED) {
        const forward = (payload: unknown): void => {
          (this.emit as (event: string, payload: unknown) => boolean)(name, payload);
        };
        (deputy.on as (event: string, listener: (payload: unknown) => void) => unknown).call(
          deputy,
          name,
          forward,
        );
      }
    }
    const logger = options.logger;
    if (
      logger !== undefined &&
      (typeof logger !== 'object' || logger === null || typeof logger.error !== 'function')
    ) {
      throw new SyncError(
        'SYNC_INVALID_OPTION',
        'HAGovernor option logger must be a logger with info, warn and error methods (pino, console, jsonLogger()).',
      );
    }
    if (options.meter !== undefined) {
      const binding = bindMeter(options.meter, () => this.metrics());
      for (const deputy of this.#deputies) observeDeputyCounters(deputy, binding.count);
      this.#meter = binding;
    }
    if (logger !== undefined) this.#unlog = logGovernorEvents(this, logger);
  }

  #deputy(kind: DeputyKind): Deputy | undefined {
    return this.#deputies.find((deputy) => deputy.kind === kind);
  }

  #report(level: SyncStateLevel, message: string, code: string | null = null): void {
    const entry: SyncStateMessage = {
      kind: 'governor',
      at: this.#clock.now(),
      level,
      code,
      item: null,
      message,
    };
    this.#messages.push(entry);
    if (this.#messages.length > this.#messageLimit) this.#messages.shift();
    try {
      this.emit('syncState', entry);
    } catch {
      // a throwing listener must not break the governor; the message is kept in status()
    }
  }

  #check(): void {
    if (this.#closed) {
      throw new SyncError('SYNC_CLOSED', 'This governor is closed; create a new one.');
    }
    if (this.#busy) {
      throw new SyncError('SYNC_BUSY', 'A sync is already running; wait for it or cancel() it.');
    }
  }

  async #writeHeartbeat(at: number, clean: boolean): Promise<void> {
    try {
      await this.#storage.writeSyncState(
        this.heartbeatKey,
        writeHeartbeatRecord({ at, clean, intervalMs: this.#intervalMs }),
      );
      this.#heartbeat = at;
      try {
        this.emit('heartbeat', { at });
      } catch {
        // listener errors never stop the heartbeat
      }
    } catch (error) {
      this.#report(
        'error',
        `Could not write the heartbeat: ${error instanceof Error ? error.message : String(error)}; after a crash the next start-up would take this node for down since its last heartbeat (${String(this.#heartbeat)}).`,
        'SYNC_FAILED',
      );
    }
  }

  #scheduleHeartbeat(): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      if (this.#closed) return;
      const at = this.#clock.now();
      // A write still pending one interval later weakens the crash rule (two intervals after the
      // last committed heartbeat are merged, the rest of a downtime overwritten): say so.
      this.#watchdog = this.#clock.setTimeout(() => {
        this.#watchdog = null;
        const last = this.#heartbeat;
        this.#report(
          'error',
          `The heartbeat write of ${at} has not completed after ${this.#intervalMs} ms; if this node crashes now, the next start-up takes it for down since its last committed heartbeat (${String(last)}), and points it records from ${last === null ? '?' : last + 2 * this.#intervalMs} on may be overwritten by that sync. Check the storage.`,
          'SYNC_FAILED',
        );
      }, this.#intervalMs);
      this.#pendingBeat = this.#writeHeartbeat(at, false).finally(() => {
        this.#watchdog?.cancel();
        this.#watchdog = null;
        this.#pendingBeat = null;
        if (!this.#closed) this.#scheduleHeartbeat();
      });
    }, this.#intervalMs);
  }

  async #runAll(signal: AbortSignal | undefined): Promise<GovernorRunResult> {
    this.#busy = true;
    const controller = new AbortController();
    this.#controller = controller;
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      controller.abort(signal?.reason);
    };
    try {
      if (signal?.aborted) {
        throw abortError(signal, 'The sync was not started: its signal is aborted.');
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      const summaries = await Promise.all(
        this.#deputies.map((deputy) =>
          deputy.run(undefined, { signal: controller.signal }).catch((error: unknown) => {
            // The governor's own signal (cancel(), close(), the caller's): the run's summary.
            const summary = error instanceof SyncAbortError ? error.summaries[0] : undefined;
            if (summary === undefined) throw error;
            return summary;
          }),
        ),
      );
      if (aborted && signal !== undefined && summaries.some((s) => s.state !== 'finished_ok')) {
        throw abortError(
          signal,
          'The sync was aborted by its signal (the runs ended finished_with_error, SYNC_CANCELLED; the gaps stay in the ledgers).',
          summaries,
        );
      }
      const byKind = (kind: DeputyKind): DeputyRunSummary | null =>
        summaries.find((summary) => summary.kind === kind) ?? null;
      return { timeSeries: byKind('timeSeries'), events: byKind('events') };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#controller = null;
      this.#busy = false;
      this.#afterSync();
    }
  }

  /** Caught up: started, and every deputy's last run ok with no gap left (follow gaps aside). */
  #isCaughtUp(): boolean {
    // deputy.caughtUp, not a snapshot: this runs after every sync and on every readiness probe.
    return this.#startedAt !== null && this.#deputies.every((deputy) => deputy.caughtUp);
  }

  /** After every sync: settle `whenCaughtUp()`, or schedule the next attempt. */
  #afterSync(): void {
    if (this.#closed || this.#startedAt === null) return;
    if (this.#isCaughtUp()) {
      if (this.#failedAttempts > 0) {
        this.#report('info', `Caught up after ${this.#failedAttempts + 1} sync attempts.`);
      }
      this.#failedAttempts = 0;
      for (const waiter of this.#waiters) waiter.resolve();
      this.#waiters.clear();
      return;
    }
    if (this.#retryMin === null) return;
    this.#failedAttempts++;
    const delayMs = Math.min(this.#retryMax, this.#retryMin * 2 ** (this.#failedAttempts - 1));
    this.#schedule('retry', delayMs);
  }

  /** Runs a sync of the ledgers in `delayMs` (a sooner one already scheduled is kept). */
  #schedule(reason: GovernorScheduledSync['reason'], delayMs: number): void {
    if (this.#closed) return;
    const at = this.#clock.now() + delayMs;
    if (this.#syncTimer !== null && this.#nextSyncAt !== null && this.#nextSyncAt <= at) return;
    this.#syncTimer?.cancel();
    this.#nextSyncAt = at;
    const attempt = reason === 'retry' ? this.#failedAttempts : 0;
    if (reason === 'retry') {
      this.#report(
        'warning',
        `Not caught up after sync attempt ${attempt}: syncing the gap ledgers again in ${delayMs} ms.`,
      );
    }
    try {
      this.emit('scheduled', { reason, attempt, delayMs, at });
    } catch {
      // a throwing listener must not break the schedule
    }
    this.#syncTimer = this.#clock.setTimeout(() => {
      this.#syncTimer = null;
      this.#nextSyncAt = null;
      if (this.#closed) return;
      if (this.#busy) {
        // A sync is running: its end decides what comes next (#afterSync).
        return;
      }
      void this.#runAll(undefined).catch((error: unknown) => {
        this.#report(
          'error',
          `A scheduled sync failed to run: ${error instanceof Error ? error.message : String(error)}.`,
          'SYNC_FAILED',
        );
      });
    }, delayMs);
  }

  #scheduleFollow(): void {
    const every = this.#followEveryMs;
    if (every === null || this.#closed) return;
    this.#followTimer = this.#clock.setTimeout(() => {
      this.#followTimer = null;
      if (this.#closed) return;
      const now = this.#clock.now();
      const window = { from: now - this.#followWindowMs, to: now };
      void (async () => {
        try {
          for (const deputy of this.#deputies) {
            await deputy.addGap({ ...window, mode: 'merge', reason: 'follow' });
          }
          this.#schedule('follow', 0);
        } catch (error) {
          this.#report(
            'error',
            `Follow mode could not add [${window.from}, ${window.to}): ${error instanceof Error ? error.message : String(error)}.`,
            'SYNC_FAILED',
          );
        } finally {
          this.#scheduleFollow();
        }
      })();
    }, every);
  }

  /**
   * Resolves once the governor is caught up (see {@link GovernorStatus.caughtUp}): at once if it
   * is, otherwise after the sync that catches it up (retry until caught up keeps trying). While
   * a caller waits, the process is kept alive, so a one-shot script can
   * `await governor.start(); await governor.whenCaughtUp()`.
   *
   * @throws {SyncError} `SYNC_CLOSED` when the governor is (or gets) closed first,
   * `SYNC_BUSY` before `start()`; {@link SyncAbortError} (`name` `'AbortError'`, code
   * `SYNC_CANCELLED`, `cause` the signal's reason) when `signal` aborts.
   */
  whenCaughtUp(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new SyncError('SYNC_CLOSED', 'This governor is closed.'));
    }
    if (this.#startedAt === null) {
      return Promise.reject(
        new SyncError('SYNC_BUSY', 'whenCaughtUp() needs a started governor: call start() first.'),
      );
    }
    if (this.#isCaughtUp() && !this.#busy) return Promise.resolve();
    const { signal } = options;
    return new Promise<void>((resolve, reject) => {
      const keepAlive = setInterval(keepAliveTick, 2 ** 30);
      const waiter = {
        resolve: () => {
          done();
          resolve();
        },
        reject: (error: unknown) => {
          done();
          reject(error);
        },
      };
      const onAbort = (): void => {
        this.#waiters.delete(waiter);
        // only registered with a signal
        waiter.reject(
          abortError(signal as AbortSignal, 'whenCaughtUp() was aborted by its signal.'),
        );
      };
      const done = (): void => {
        clearInterval(keepAlive);
        signal?.removeEventListener('abort', onAbort);
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /**
   * Starts the instance's HA duties: reads the previous heartbeat, adds the downtime
   * `[heartbeat, start-up)` to every deputy's gap ledger (durably, before the new heartbeat is
   * written, so a crash here loses nothing), starts writing the heartbeat every
   * `heartbeatIntervalMs`, and syncs the ledgers. On a first start (no heartbeat, no deputy
   * record) with `firstStartLookbackMs`, the look-back is added as a merge gap. Resolves with the
   * deputies' summaries; a failed sync resolves too (check `state` or `status().caughtUp`); the
   * gaps stay in the ledgers for the next `sync()`.
   *
   * `signal` aborts the first sync, not the governor: a signal already aborted at the call
   * starts nothing; one that aborts later rejects the call with a {@link SyncAbortError} once
   * the runs have ended (the governor is started then: heartbeats and retries go on until
   * `close()`).
   *
   * @throws {SyncError} `SYNC_BUSY` when already started, `SYNC_CLOSED` after `close()`,
   * `SYNC_STATE_FORMAT` when a stored record cannot be read (nothing is changed then);
   * {@link SyncAbortError} when `signal` aborts.
   */
  async start(options: { readonly signal?: AbortSignal } = {}): Promise<GovernorRunResult> {
    this.#check();
    if (this.#startedAt !== null) {
      throw new SyncError(
        'SYNC_BUSY',
        'This governor was already started; use sync() to sync again.',
      );
    }
    if (options.signal?.aborted) {
      throw abortError(options.signal, 'The governor was not started: its signal is aborted.');
    }
    this.#busy = true;
    const startup = this.#clock.now();
    try {
      const heartbeat = readHeartbeat(
        await this.#storage.readSyncState(this.heartbeatKey),
        this.heartbeatKey,
      );
      const downtime = computeDowntime({ heartbeat, startup, intervalMs: this.#intervalMs });
      if (heartbeat !== null && downtime === null) {
        this.#report(
          'warning',
          `The last heartbeat (${heartbeat.at}) is not before this start-up (${startup}): the clock was set back; no downtime is assumed.`,
        );
      }
      // Read every deputy record before changing any: a record this version cannot read fails
      // start() with nothing changed.
      const records: DeputyRecord[] = [];
      for (const deputy of this.#deputies) records.push(await deputy.load());
      for (const [i, deputy] of this.#deputies.entries()) {
        const record = records[i] as DeputyRecord;
        if (downtime !== null) {
          await deputy.addGap({
            from: downtime.overwriteFrom,
            to: downtime.to,
            mode: 'overwrite',
            reason: 'downtime',
            pendingMargins: { heartbeat: downtime.heartbeat },
          });
        } else if (
          heartbeat === null &&
          record.lastUpToDate === null &&
          record.gaps.length === 0 &&
          this.#lookbackMs > 0
        ) {
          await deputy.addGap({
            from: startup - this.#lookbackMs,
            to: startup,
            mode: 'merge',
            reason: 'firstStart',
          });
        }
      }
      this.#startup = { heartbeat, downtime };
      this.#startedAt = startup;
      if (downtime !== null) {
        this.#report(
          'info',
          `Down in [${downtime.overwriteFrom}, ${downtime.to}) (last heartbeat ${downtime.heartbeat}, ${downtime.clean ? 'clean stop' : 'no clean stop: two heartbeat intervals after it are merged'}); added to the gap ledgers.`,
        );
      } else if (heartbeat === null) {
        this.#report('info', 'First start: no heartbeat recorded.');
      }
      await this.#writeHeartbeat(startup, !this.#records);
      if (!this.#closed) {
        if (this.#records) this.#scheduleHeartbeat();
        this.#scheduleFollow();
      }
    } finally {
      this.#busy = false;
    }
    this.#check();
    return this.#runAll(options.signal);
  }

  /**
   * Syncs every deputy's gap ledger now (for example after `reportGap()`, or to retry after a
   * failed run). Resolves with the summaries, also of failed runs; `cancel()` and `close()`
   * end the runs (`SYNC_CANCELLED`) and it resolves.
   *
   * @throws {SyncError} `SYNC_BUSY` while a sync runs, `SYNC_CLOSED` after `close()`;
   * {@link SyncAbortError} (`name` `'AbortError'`, code `SYNC_CANCELLED`, `cause` the signal's
   * reason, `summaries` the runs it ended) when `signal` aborts: already aborted, nothing runs;
   * aborted during the sync, the runs end `finished_with_error` and the gaps stay.
   */
  async sync(options: { readonly signal?: AbortSignal } = {}): Promise<GovernorRunResult> {
    this.#check();
    if (options.signal?.aborted) {
      throw abortError(options.signal, 'The sync was not started: its signal is aborted.');
    }
    return this.#runAll(options.signal);
  }

  /**
   * Adds a gap a host knows of (for example a write that could not be delivered to this node)
   * to every deputy's ledger, in merge mode: the next sync pulls the peer's records of it
   * without changing any local point. Resolves once the gap is durable.
   *
   * @throws {SyncError} `SYNC_INVALID_WINDOW`, `SYNC_LEDGER_FULL`, `SYNC_CLOSED`.
   */
  async reportGap(window: TimeWindow): Promise<void> {
    if (this.#closed)
      throw new SyncError('SYNC_CLOSED', 'This governor is closed; create a new one.');
    assertSyncWindow(window);
    for (const deputy of this.#deputies) {
      await deputy.addGap({ from: window.from, to: window.to, mode: 'merge', reason: 'reported' });
    }
    this.#report('info', `Gap [${window.from}, ${window.to}) reported (merge).`);
    if (this.#startedAt !== null && this.#retryMin !== null) this.#schedule('reported', 0);
  }

  /**
   * Adds `window` to every deputy's ledger as a requested gap and syncs the ledgers: `merge`
   * (the default: local points stay) or `overwrite` (the remote wins in the window, Apis
   * "ExpertMode").
   *
   * @throws {SyncError} `SYNC_BUSY` while a sync runs, `SYNC_CLOSED` after `close()`,
   * `SYNC_INVALID_WINDOW` for a bad window; {@link SyncAbortError} when `signal` aborts (as
   * for {@link HAGovernor.sync}; already aborted, the window is not added).
   */
  async resync(
    window: TimeWindow,
    options: { readonly signal?: AbortSignal; readonly mode?: SyncGapMode } = {},
  ): Promise<GovernorRunResult> {
    this.#check();
    assertSyncWindow(window);
    if (options.signal?.aborted) {
      throw abortError(options.signal, 'The resync was not started: its signal is aborted.');
    }
    const mode = options.mode ?? 'merge';
    this.#busy = true;
    try {
      for (const deputy of this.#deputies) {
        await deputy.addGap({ from: window.from, to: window.to, mode, reason: 'requested' });
      }
    } finally {
      this.#busy = false;
    }
    return this.#runAll(options.signal);
  }

  /**
   * The windows this node is missing: the union (sorted, overlapping and touching windows
   * joined) of every deputy's gap ledger, all reasons but `follow` (the trailing window of follow
   * mode is a routine re-check, not known to be missing), a pending downtime from its last
   * heartbeat, plus the windows recorded as unrecoverable. It is what this node's peer handler
   * lists in hello (`createPeerHandler({ gaps })`), so the deputies of its peers take those
   * windows from another peer. Read from memory (the ledgers as last loaded or written; empty
   * before `start()`), cheap enough to call per hello.
   *
   * @example
   * ```ts
   * import { createPeerHandler, HAGovernor, type RemotePeer, type StorageAdapter } from 'edge-ha';
   *
   * declare const storage: StorageAdapter;
   * declare const peers: RemotePeer[];
   *
   * const governor = new HAGovernor({ storage, peers });
   * const handler = createPeerHandler({
   *   storage,
   *   instanceId: 'a',
   *   token: process.env.EDGE_HA_TOKEN!,
   *   gaps: () => governor.missingWindows(),
   * });
   * await governor.start();
   * ```
   */
  missingWindows(): TimeWindow[] {
    const windows: TimeWindow[] = [];
    for (const deputy of this.#deputies) {
      for (const gap of deputy.gaps) {
        if (gap.reason === 'follow') continue;
        const from =
          gap.pendingMargins === null ? gap.from : Math.min(gap.from, gap.pendingMargins.heartbeat);
        windows.push({ from, to: gap.to });
      }
      windows.push(...deputy.unrecoverable);
    }
    return unionWindows(windows);
  }

  /**
   * The governor's metrics as plain data (cumulative counters since it was created, current
   * gauges): see {@link MetricsSnapshot}. Read from memory, cheap enough for every scrape;
   * `formatMetrics()` turns it into the Prometheus text format, and
   * `createPeerHandler({ metrics: { collect: () => governor.metrics() } })` serves it at
   * `GET /metrics`.
   *
   * @example
   * ```ts
   * import type { HAGovernor } from 'edge-ha';
   *
   * declare const governor: HAGovernor;
   *
   * const { caughtUp, deputies } = governor.metrics();
   * console.log(caughtUp, deputies.timeSeries?.gaps, deputies.timeSeries?.sinceLastFinishedOkMs);
   * ```
   */
  metrics(): MetricsSnapshot {
    const deputy = (kind: DeputyKind) => this.#deputy(kind)?.metrics() ?? null;
    const status = {
      closed: this.#closed,
      startedAt: this.#startedAt,
      caughtUp: this.#isCaughtUp(),
      failedAttempts: this.#failedAttempts,
    };
    return {
      at: this.#clock.now(),
      startedAt: status.startedAt,
      closed: status.closed,
      caughtUp: status.caughtUp,
      serviceLevel: serviceLevel(status),
      failedAttempts: status.failedAttempts,
      heartbeat: this.#heartbeat,
      deputies: { timeSeries: deputy('timeSeries'), events: deputy('events') },
    };
  }

  /** Cancels the runs in progress (they end `finished_with_error`, `SYNC_CANCELLED`). */
  cancel(): void {
    this.#controller?.abort(new SyncError('SYNC_CANCELLED', 'The governor cancelled the sync.'));
  }

  /** The governor's state as JSON: see {@link GovernorStatus}. */
  status(): GovernorStatus {
    const startedAt = this.#startedAt;
    const snapshot = (kind: DeputyKind): DeputySnapshot | null =>
      this.#deputy(kind)?.snapshot() ?? null;
    const timeSeries = snapshot('timeSeries');
    const events = snapshot('events');
    const caughtUp = this.#isCaughtUp();
    return {
      startedAt,
      running: this.#deputies.some((deputy) => deputy.running),
      closed: this.#closed,
      caughtUp,
      heartbeat: this.#heartbeat,
      startup: this.#startup,
      gaps: { timeSeries: timeSeries?.gaps ?? null, events: events?.gaps ?? null },
      unrecoverable: {
        timeSeries: timeSeries?.unrecoverable ?? null,
        events: events?.unrecoverable ?? null,
      },
      deputies: { timeSeries, events },
      syncState: [...this.#messages],
      nextSyncAt: this.#nextSyncAt,
      failedAttempts: this.#failedAttempts,
    };
  }

  /**
   * Stops the heartbeat timer, cancels and awaits any run, writes a last, clean heartbeat (the
   * instance ran exactly until now) and refuses further use. Does not close the storage.
   * Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = null;
    this.#watchdog?.cancel();
    this.#watchdog = null;
    this.#syncTimer?.cancel();
    this.#syncTimer = null;
    this.#nextSyncAt = null;
    this.#followTimer?.cancel();
    this.#followTimer = null;
    const closed = new SyncError('SYNC_CLOSED', 'The governor was closed before it caught up.');
    for (const waiter of this.#waiters) waiter.reject(closed);
    this.#waiters.clear();
    this.cancel();
    await Promise.all(this.#deputies.map((deputy) => deputy.close()));
    // A periodic heartbeat still being written must not land after the clean one.
    await this.#pendingBeat;
    if (this.#startedAt !== null && this.#records) {
      await this.#writeHeartbeat(this.#clock.now(), true);
    }
    this.#meter?.detach();
    this.#meter = null;
    this.#unlog?.();
    this.#unlog = null;
  }

  /** Same as {@link HAGovernor.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

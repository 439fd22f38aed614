/**
 * The HA governor (SPEC §4.2): heartbeat, downtime window, deputies, status.
 */

import { EventEmitter } from 'eventemitter3';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import { type Deputy, EventDeputy, TimeSeriesDeputy } from '../deputy/deputy.js';
import type { RetryOptions } from '../deputy/retry.js';
import type {
  DeputyEvents,
  DeputyKind,
  DeputyOptions,
  DeputyRunSummary,
  DeputySnapshot,
  SyncStateLevel,
  SyncStateMessage,
} from '../deputy/types.js';
import { SyncError } from '../errors.js';
import type { RemotePeer } from '../peer/types.js';
import type { StorageAdapter, TimeWindow } from '../storage/types.js';
import { computeRecoveryWindow, type RecoveryBasis } from './window.js';

/** Options of {@link HAGovernor}. */
export interface HAGovernorOptions {
  /** The local store. */
  readonly storage: StorageAdapter;
  /** Remotes to pull from, in order of preference: each run uses the first that answers. */
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
   * How often the heartbeat ("running through T") is written while running.
   * @default 10000
   */
  readonly heartbeatIntervalMs?: number;
  /**
   * Subtracted from the start of the downtime window to absorb clock skew between instances.
   * @default 60000
   */
  readonly overlapMs?: number;
  /**
   * Longest downtime recovered; anything older is reported as unrecoverable.
   * @default 604800000 (7 days)
   */
  readonly maxRecoveryMs?: number;
  /**
   * On a first-ever start (no LastUpToDate, heartbeat or pending run recorded), how far back to
   * pull from the peer. `0` means nothing was missed: the deputies finish at once and
   * LastUpToDate becomes the start-up time.
   * @default 0
   */
  readonly firstStartLookbackMs?: number;
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
}

/** The window one deputy recovers at start-up. */
export interface GovernorRecovery {
  /** The window synced. */
  readonly window: TimeWindow;
  /** Part of the downtime not recovered (older than `maxRecoveryMs`), or `null`. */
  readonly unrecoverable: TimeWindow | null;
  /** What the start of the window was derived from. */
  readonly basis: RecoveryBasis;
}

/** What `start()` and `resync()` resolve to: one summary per enabled deputy. */
export interface GovernorRunResult {
  /** Summary of the time-series deputy's run, or `null` when disabled. */
  readonly timeSeries: DeputyRunSummary | null;
  /** Summary of the event deputy's run, or `null` when disabled. */
  readonly events: DeputyRunSummary | null;
}

/** The governor's state as JSON (`status()`). */
export interface GovernorStatus {
  /** Start-up time, or `null` before `start()`. */
  readonly startedAt: number | null;
  /** Whether a deputy run is in progress. */
  readonly running: boolean;
  /** Whether `close()` was called. */
  readonly closed: boolean;
  /**
   * True when every enabled deputy's most recent finished run ended `finished_ok` and its
   * LastUpToDate reaches the start-up time: the instance has every record the peer had for its
   * downtime. Map it to a readiness probe (or an OPC UA ServiceLevel).
   */
  readonly caughtUp: boolean;
  /** Last heartbeat written, or `null`. */
  readonly heartbeat: number | null;
  /** The recovery computed at start-up per deputy kind. */
  readonly recovery: {
    /** Time-series recovery, or `null`. */
    readonly timeSeries: GovernorRecovery | null;
    /** Event recovery, or `null`. */
    readonly events: GovernorRecovery | null;
  };
  /** Per-deputy snapshot (`null` when that deputy is disabled). */
  readonly deputies: {
    /** Time-series deputy. */
    readonly timeSeries: DeputySnapshot | null;
    /** Event deputy. */
    readonly events: DeputySnapshot | null;
  };
  /** The governor's own SyncState messages (window, unrecoverable data, heartbeat failures). */
  readonly syncState: readonly SyncStateMessage[];
}

/** Payload of the governor's `heartbeat` event. */
export interface GovernorHeartbeat {
  /** The "running through" time written. */
  readonly at: number;
}

/** The governor's typed events: every deputy event (with its `kind`), plus `heartbeat`. */
export interface GovernorEvents extends DeputyEvents {
  /** A heartbeat was written. */
  heartbeat: [heartbeat: GovernorHeartbeat];
}

const FORWARDED: readonly (keyof DeputyEvents)[] = [
  'transition',
  'progress',
  'syncState',
  'retry',
  'itemError',
  'finished',
];

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
 * recovers the downtime window from the first reachable peer (SPEC §4.2).
 *
 * @example
 * ```ts
 * const governor = new HAGovernor({ storage, peers: [httpPeer({ url: 'http://b:8080/ha' })] });
 * governor.on('transition', (e) => console.log(e.kind, `${e.fromCode}→${e.toCode}`, e.reason));
 * await governor.start();
 * app.get('/ready', (_req, res) => res.sendStatus(governor.status().caughtUp ? 200 : 503));
 * process.on('SIGTERM', () => governor.close());
 * ```
 */
export class HAGovernor extends EventEmitter<GovernorEvents> {
  /** Sync-state key of the heartbeat record. */
  readonly heartbeatKey: string;
  readonly #storage: StorageAdapter;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #overlapMs: number;
  readonly #maxRecoveryMs: number;
  readonly #lookbackMs: number;
  readonly #messageLimit: number;
  readonly #deputies: Deputy[] = [];
  #startedAt: number | null = null;
  #heartbeat: number | null = null;
  #timer: TimerHandle | null = null;
  #closed = false;
  #busy = false;
  #controller: AbortController | null = null;
  #recovery: Partial<Record<DeputyKind, GovernorRecovery>> = {};
  #messages: SyncStateMessage[] = [];

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
    this.#overlapMs = nonNegative('overlapMs', options.overlapMs, 60_000);
    this.#maxRecoveryMs = nonNegative('maxRecoveryMs', options.maxRecoveryMs, 7 * 86_400_000);
    this.#lookbackMs = nonNegative('firstStartLookbackMs', options.firstStartLookbackMs, 0);
    this.#messageLimit = nonNegative('syncStateLimit', options.syncStateLimit, 100, 1);
    const deputyOptions = (kind: DeputyKind): DeputyOptions => ({
      storage: options.storage,
      peer: options.peers,
      key: `${key}:${kind}`,
      clock: this.#clock,
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

  async #writeHeartbeat(at: number): Promise<void> {
    try {
      await this.#storage.writeSyncState(this.heartbeatKey, {
        lastUpToDate: null,
        heartbeat: at,
        run: null,
      });
      this.#heartbeat = at;
      try {
        this.emit('heartbeat', { at });
      } catch {
        // listener errors never stop the heartbeat
      }
    } catch (error) {
      this.#report(
        'error',
        `Could not write the heartbeat: ${error instanceof Error ? error.message : String(error)}; the next downtime window may start earlier than needed.`,
        'SYNC_FAILED',
      );
    }
  }

  #scheduleHeartbeat(): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      if (this.#closed) return;
      void this.#writeHeartbeat(this.#clock.now()).finally(() => {
        if (!this.#closed) this.#scheduleHeartbeat();
      });
    }, this.#intervalMs);
  }

  async #runAll(
    windows: ReadonlyMap<Deputy, { window: TimeWindow; unrecoverable: TimeWindow | null }>,
    signal: AbortSignal | undefined,
  ): Promise<GovernorRunResult> {
    this.#busy = true;
    const controller = new AbortController();
    this.#controller = controller;
    const onAbort = (): void => controller.abort(signal?.reason);
    if (signal?.aborted) controller.abort(signal.reason);
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const summaries = await Promise.all(
        [...windows].map(([deputy, { window, unrecoverable }]) =>
          deputy.run(window, { signal: controller.signal, unrecoverable }),
        ),
      );
      const byKind = (kind: DeputyKind): DeputyRunSummary | null =>
        summaries.find((summary) => summary.kind === kind) ?? null;
      return { timeSeries: byKind('timeSeries'), events: byKind('events') };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.#controller = null;
      this.#busy = false;
    }
  }

  /**
   * Starts the instance's HA duties: reads the previous heartbeat, writes a new one (and keeps
   * writing it every `heartbeatIntervalMs`), computes each deputy's downtime window (see
   * `computeRecoveryWindow`) and runs the deputies on it. Resolves with their summaries; a
   * failed recovery resolves too (check `state` or `status().caughtUp`).
   *
   * @throws {SyncError} `SYNC_BUSY` when already started, `SYNC_CLOSED` after `close()`.
   */
  async start(options: { readonly signal?: AbortSignal } = {}): Promise<GovernorRunResult> {
    this.#check();
    if (this.#startedAt !== null) {
      throw new SyncError(
        'SYNC_BUSY',
        'This governor was already started; use resync() to sync again.',
      );
    }
    this.#busy = true;
    const startup = this.#clock.now();
    this.#startedAt = startup;
    const windows = new Map<Deputy, { window: TimeWindow; unrecoverable: TimeWindow | null }>();
    try {
      const previous = (await this.#storage.readSyncState(this.heartbeatKey))?.heartbeat ?? null;
      await this.#writeHeartbeat(startup);
      if (!this.#closed) this.#scheduleHeartbeat();
      for (const deputy of this.#deputies) {
        const record = await deputy.load();
        const recovery = computeRecoveryWindow({
          lastUpToDate: record.lastUpToDate,
          heartbeat: previous,
          pending: record.run?.window ?? null,
          startup,
          overlapMs: this.#overlapMs,
          maxRecoveryMs: this.#maxRecoveryMs,
          firstStartLookbackMs: this.#lookbackMs,
        });
        this.#recovery[deputy.kind] = recovery;
        const { window, unrecoverable, basis } = recovery;
        this.#report(
          'info',
          `${deputy.kind}: recovering [${window.from}, ${window.to}) (from ${basis}).`,
        );
        if (unrecoverable !== null) {
          this.#report(
            'warning',
            `${deputy.kind}: data in [${unrecoverable.from}, ${unrecoverable.to}) is older than maxRecoveryMs (${this.#maxRecoveryMs} ms) and is not recovered.`,
            'SYNC_UNRECOVERABLE',
          );
        }
        windows.set(deputy, { window, unrecoverable });
      }
    } finally {
      this.#busy = false;
    }
    this.#check();
    return this.#runAll(windows, options.signal);
  }

  /**
   * Runs every deputy on `window` (for example after a peer reported a gap).
   *
   * @throws {SyncError} `SYNC_BUSY` while a sync runs, `SYNC_CLOSED` after `close()`,
   * `SYNC_INVALID_WINDOW` for a bad window.
   */
  async resync(
    window: TimeWindow,
    options: { readonly signal?: AbortSignal } = {},
  ): Promise<GovernorRunResult> {
    this.#check();
    const windows = new Map(
      this.#deputies.map((deputy) => [deputy, { window, unrecoverable: null }] as const),
    );
    return this.#runAll(windows, options.signal);
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
    const caughtUp =
      startedAt !== null &&
      this.#deputies.every((deputy) => {
        const { lastRun, lastUpToDate } = deputy.snapshot();
        return (
          lastRun?.state === 'finished_ok' && lastUpToDate !== null && lastUpToDate >= startedAt
        );
      });
    return {
      startedAt,
      running: this.#deputies.some((deputy) => deputy.running),
      closed: this.#closed,
      caughtUp,
      heartbeat: this.#heartbeat,
      recovery: {
        timeSeries: this.#recovery.timeSeries ?? null,
        events: this.#recovery.events ?? null,
      },
      deputies: { timeSeries: snapshot('timeSeries'), events: snapshot('events') },
      syncState: [...this.#messages],
    };
  }

  /**
   * Stops the heartbeat timer, cancels and awaits any run, writes a last heartbeat (the instance
   * ran until now) and refuses further use. Does not close the storage. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer?.cancel();
    this.#timer = null;
    this.cancel();
    await Promise.all(this.#deputies.map((deputy) => deputy.close()));
    if (this.#startedAt !== null) await this.#writeHeartbeat(this.#clock.now());
  }
}

/**
 * The deputy driver: runs the state machine of {@link DEPUTY_TRANSITIONS} against a
 * remote peer over the gaps of its ledger, applies pages to the local storage (one durable
 * commit per page: the data and that item's progress together), retries and reports.
 *
 * The rules are elsewhere, as data and pure functions: the ledger and its margins in
 * `ledger.ts`, the progress rule of a read in `pages.ts`, the states in `states.ts`.
 */

import { EventEmitter } from 'eventemitter3';
import { type Clock, systemClock } from '../clock.js';
import { isEdgeHaError, PeerError, type SyncAbortError, SyncError } from '../errors.js';
import { type DeputyCounterKey, type DeputyMetrics, SYNC_METRICS } from '../ops/metrics.js';
import { isHelloGaps, isTimeWindow, MAX_HELLO_GAPS, unionWindows } from '../peer/gaps.js';
import { PEER_PROTOCOL_VERSION, type PeerHello, type RemotePeer } from '../peer/types.js';
import type { EventRecord, StorageAdapter, SyncStateWrite, TimeWindow } from '../storage/types.js';
import { compareCodePoints, MAX_PAGE_LIMIT } from '../storage/validate.js';
import {
  addGap,
  applyMargins,
  copyGap,
  EMPTY_LEDGER,
  type GapLedger,
  hull,
  readLedger,
  readProgress,
  removeGaps,
  type SyncGap,
  type SyncGapInput,
  skewMargin,
  writeLedger,
  writeProgress,
} from './ledger.js';
import { approxEventsJsonBytes, approxPointsJsonBytes, PageGuard, pool } from './pages.js';
import {
  abortError,
  type BackoffFunction,
  cancelledError,
  exponentialBackoff,
  isTransient,
  retrying,
  withTimeout,
} from './retry.js';
import { routeWindow } from './sources.js';
import {
  DEPUTY_STATES,
  type DeputyEventType,
  type DeputyStateName,
  isFinishedState,
  stepOrThrow,
} from './states.js';
import { SyncStateLog } from './sync-state-log.js';
import type {
  DeputyEvents,
  DeputyItemStatus,
  DeputyKind,
  DeputyOperation,
  DeputyOptions,
  DeputyProgress,
  DeputyRecord,
  DeputyRunError,
  DeputyRunOptions,
  DeputyRunSummary,
  DeputySnapshot,
  SyncStateLevel,
} from './types.js';
import { type EventPosition, validateEventsPage, validatePointsPage } from './validate.js';

/** Progress name of the event deputy (its progress record is `<key>:progress:@events`). */
export const EVENTS_PROGRESS_NAME = '@events';

/** Longest deputy key (progress keys append `:progress:` and an item id of up to 1024). */
const MAX_DEPUTY_KEY_LENGTH = 512;

function formatWindow(window: TimeWindow): string {
  return `[${window.from}, ${window.to})`;
}

function formatGap(gap: SyncGap): string {
  return `${formatWindow(gap)} ${gap.mode} (${gap.reason})`;
}

function errorCode(error: unknown): string {
  return isEdgeHaError(error) ? error.code : 'SYNC_FAILED';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function positiveInteger(
  name: string,
  value: number | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
  min = 1,
): number {
  const result = value ?? fallback;
  if (!Number.isSafeInteger(result) || result < min || result > max) {
    throw new SyncError(
      'SYNC_INVALID_OPTION',
      `Deputy option ${name} must be an integer from ${min} to ${max}; got ${String(value)}.`,
    );
  }
  return result;
}

/** Validates a sync window; throws `SYNC_INVALID_WINDOW`. */
export function assertSyncWindow(window: unknown): asserts window is TimeWindow {
  if (!isTimeWindow(window)) {
    throw new SyncError(
      'SYNC_INVALID_WINDOW',
      `A sync window must be { from, to } with safe-integer epoch ms and from <= to; got ${JSON.stringify(window)}.`,
    );
  }
}

interface Counters {
  itemsTotal: number;
  itemsDone: number;
  itemsSkipped: number;
  itemsFailed: number;
  pointsReceived: number;
  points: number;
  events: number;
  eventsInserted: number;
  pages: number;
  bytes: number;
}

function zeroCounters(): Counters {
  return {
    itemsTotal: 0,
    itemsDone: 0,
    itemsSkipped: 0,
    itemsFailed: 0,
    pointsReceived: 0,
    points: 0,
    events: 0,
    eventsInserted: 0,
    pages: 0,
    bytes: 0,
  };
}

/** What a deputy counted since it was created (the counters of {@link Deputy.metrics}). */
interface Lifetime {
  runsStarted: number;
  finishedOk: number;
  finishedWithError: number;
  pointsReceived: number;
  pointsApplied: { merge: number; overwrite: number };
  eventsReceived: number;
  eventsApplied: { merge: number; overwrite: number };
  pages: number;
  bytesReceived: number;
  retries: number;
  failedItems: number;
  readonly errors: Map<string, number>;
}

/**
 * Receives every counter increment of a deputy, with its Prometheus labels (the governor
 * forwards them to an OpenTelemetry meter).
 */
export type DeputyCounterSink = (
  key: DeputyCounterKey,
  value: number,
  labels: Readonly<Record<string, string>>,
) => void;

const SINKS = new WeakMap<Deputy, DeputyCounterSink>();

/** Forwards every counter increment of `deputy` to `sink` (one sink per deputy). @internal */
export function observeDeputyCounters(deputy: Deputy, sink: DeputyCounterSink): void {
  SINKS.set(deputy, sink);
}

/** A part of a gap and the peer it is read from. */
interface RoutedPart {
  readonly from: number;
  readonly to: number;
  readonly peer: RemotePeer;
}

/** Per-run mutable data. */
/** What a paged read of (part of) a gap reads, from where, and what it keeps up to date. */
interface GapRead {
  readonly gap: SyncGap;
  /** The part of the gap this read covers. */
  readonly read: TimeWindow;
  readonly source: RemotePeer;
  /** The run's progress per gap id, moved with every page applied. */
  readonly progress: Map<number, number>;
  readonly guard: PageGuard;
  /** The read, in words, for error messages. */
  readonly what: string;
}

/** Where a paged read of one item's gap stands: the first timestamp not yet applied, and the cursor. */
interface PagePosition {
  readonly current: number;
  readonly cursor: string | undefined;
}

/** Where a paged read of events stands: the cursor, the last event applied, the progress. */
interface EventsPosition {
  readonly cursor: string | undefined;
  readonly after: EventPosition | null;
  readonly through: number;
}

interface RunContext {
  readonly signal: AbortSignal;
  readonly startedAt: number;
  readonly errors: DeputyRunError[];
  /** The gaps this run works on, sorted by start (margins applied). */
  plan: readonly SyncGap[];
  planIds: ReadonlySet<number>;
  resumed: boolean;
  peer: RemotePeer | null;
  retries: number;
  /** Event id → timestamp of every event received in this run (duplicate detection). */
  readonly eventIds: Map<string, number>;
  /** Aborts the remote calls of the current connection (run cancelled, or connection lost). */
  session: AbortController;
  /** The transient error that lost the current connection, or `null`. */
  lost: unknown;
  /**
   * Gap id → its parts and their peers, for the gaps of the plan not read whole from
   * `peer` (decided at each connection from the peers' hello gaps).
   */
  routes: Map<number, readonly RoutedPart[]>;
  /** Labels of the peers records were read from, in order of first use. */
  readonly served: Set<string>;
}

/**
 * The deputy state machine driver; {@link TimeSeriesDeputy} and {@link EventDeputy} fix its
 * `kind`.
 *
 * A deputy keeps a durable **gap ledger**: the windows its node is missing (a downtime, the
 * unfinished part of an earlier run, a gap a host reported). A run walks
 * `idle(0) → started(1) → waiting_for_connection(2) → sending_sync_request(3) →
 * waiting_for_reply(4) → finished_ok(5) | finished_with_error(6)` and syncs every gap of the
 * ledger: in a downtime the remote wins (overwrite), everywhere else it merges (a remote point
 * is written only where the local has none). A gap leaves the ledger when the run commits it.
 * Each state is committed, then the `transition` event is emitted; a listener that throws is
 * reported as a `SYNC_LISTENER_FAILED` SyncState error and never reaches the run.
 *
 * @group Sync
 */
export class Deputy extends EventEmitter<DeputyEvents> {
  /** Which kind of deputy this is. */
  readonly kind: DeputyKind;
  /** Key of this deputy's record in the storage's sync state. */
  readonly key: string;

  readonly #storage: StorageAdapter;
  readonly #clock: Clock;
  readonly #pageSize: number;
  readonly #concurrency: number;
  readonly #peers: readonly RemotePeer[];
  readonly #retries: number;
  readonly #giveUpAfterMs: number;
  readonly #backoff: BackoffFunction;
  readonly #replyTimeoutMs: number;
  readonly #log: SyncStateLog;
  readonly #itemList: 'local' | 'remote' | 'union';
  readonly #overlapMs: number;
  readonly #maxSkewMs: number;
  readonly #maxRecoveryMs: number;
  readonly #maxShortPages: number;

  #state: DeputyStateName = 'idle';
  #ledger: GapLedger = EMPTY_LEDGER;
  #loaded: Promise<void> | null = null;
  #ledgerChain: Promise<unknown> = Promise.resolve();
  #running: Promise<DeputyRunSummary> | null = null;
  #controller: AbortController | null = null;
  #closed = false;
  #plan: readonly SyncGap[] = [];
  #currentGap: SyncGap | null = null;
  #peerLabel: string | null = null;
  #clockSkewMs: number | null = null;
  /** The skew of the last connection of any run (kept across runs, for `metrics()`). */
  #lastSkewMs: number | null = null;
  #lastRun: DeputyRunSummary | null = null;
  readonly #itemStatus = new Map<string, DeputyItemStatus>();
  #counters: Counters = zeroCounters();
  #remoteItems: ReadonlySet<string> = new Set();
  #runItems: readonly string[] = [];
  readonly #lifetime: Lifetime = {
    runsStarted: 0,
    finishedOk: 0,
    finishedWithError: 0,
    pointsReceived: 0,
    pointsApplied: { merge: 0, overwrite: 0 },
    eventsReceived: 0,
    eventsApplied: { merge: 0, overwrite: 0 },
    pages: 0,
    bytesReceived: 0,
    retries: 0,
    failedItems: 0,
    errors: new Map(),
  };

  /**
   * @param kind - `timeSeries` (remote wins in a downtime) or `events` (local wins).
   * @param options - See {@link DeputyOptions}.
   * @throws {SyncError} `SYNC_INVALID_OPTION` when an option is invalid.
   */
  constructor(kind: DeputyKind, options: DeputyOptions) {
    super();
    if (typeof options !== 'object' || options === null || typeof options.storage !== 'object') {
      throw new SyncError('SYNC_INVALID_OPTION', 'A deputy needs { storage, peer } options.');
    }
    const peers: readonly RemotePeer[] = Array.isArray(options.peer)
      ? options.peer
      : [options.peer as RemotePeer];
    if (peers.length === 0 || peers.some((peer) => typeof peer?.hello !== 'function')) {
      throw new SyncError(
        'SYNC_INVALID_OPTION',
        'Deputy option peer must be a RemotePeer or a non-empty array of RemotePeers.',
      );
    }
    this.kind = kind;
    this.key = options.key ?? `edge-ha:${kind}`;
    if (
      typeof this.key !== 'string' ||
      this.key.length === 0 ||
      this.key.length > MAX_DEPUTY_KEY_LENGTH
    ) {
      throw new SyncError(
        'SYNC_INVALID_OPTION',
        `Deputy option key must be a non-empty string of at most ${MAX_DEPUTY_KEY_LENGTH} characters.`,
      );
    }
    this.#storage = options.storage;
    this.#clock = options.clock ?? systemClock;
    this.#peers = peers;
    this.#pageSize = positiveInteger('pageSize', options.pageSize, 5000, MAX_PAGE_LIMIT);
    this.#concurrency = positiveInteger('concurrency', options.concurrency, 4);
    this.#replyTimeoutMs = positiveInteger('replyTimeoutMs', options.replyTimeoutMs, 30_000);
    this.#log = new SyncStateLog(
      kind,
      this.#clock,
      positiveInteger('syncStateLimit', options.syncStateLimit, 100),
    );
    this.#overlapMs = positiveInteger('overlapMs', options.overlapMs, 60_000, undefined, 0);
    this.#maxSkewMs = positiveInteger('maxClockSkewMs', options.maxClockSkewMs, 300_000);
    this.#maxRecoveryMs = positiveInteger('maxRecoveryMs', options.maxRecoveryMs, 7 * 86_400_000);
    this.#maxShortPages = positiveInteger(
      'maxShortPages',
      options.maxShortPages,
      100,
      undefined,
      0,
    );
    const items = options.items ?? 'local';
    if (items !== 'local' && items !== 'remote' && items !== 'union') {
      throw new SyncError(
        'SYNC_INVALID_OPTION',
        `Deputy option items must be 'local', 'remote' or 'union'; got ${JSON.stringify(items)}.`,
      );
    }
    this.#itemList = items;
    const retries = options.retry?.retries ?? 5;
    if (!Number.isSafeInteger(retries) || retries < 0) {
      throw new SyncError(
        'SYNC_INVALID_OPTION',
        `Deputy option retry.retries must be a non-negative integer; got ${String(retries)}.`,
      );
    }
    this.#retries = retries;
    this.#giveUpAfterMs = positiveInteger(
      'retry.giveUpAfterMs',
      options.retry?.giveUpAfterMs,
      120_000,
      undefined,
      0,
    );
    this.#backoff = options.retry?.backoff ?? exponentialBackoff();
  }

  /** Current state name. */
  get state(): DeputyStateName {
    return this.#state;
  }

  /** Current Apis `DeputyState` code. */
  get code(): (typeof DEPUTY_STATES)[DeputyStateName] {
    return DEPUTY_STATES[this.#state];
  }

  /** LastUpToDate: the time of the last transition to finished_ok (as last loaded or written). */
  get lastUpToDate(): number | null {
    return this.#ledger.lastUpToDate;
  }

  /** The gap ledger as last loaded or written: what this deputy is missing (copies). */
  get gaps(): readonly SyncGap[] {
    return this.#ledger.gaps.map(copyGap);
  }

  /** Windows recorded as not recoverable (older than `maxRecoveryMs`), as last loaded or written. */
  get unrecoverable(): readonly TimeWindow[] {
    return this.#ledger.unrecoverable.map(copyWindow);
  }

  /** Whether a run is in progress. */
  get running(): boolean {
    return this.#running !== null;
  }

  /** The ledger holds no gap (follow-mode gaps aside) and the last run ended finished_ok. */
  get caughtUp(): boolean {
    return (
      this.#lastRun?.state === 'finished_ok' &&
      this.#ledger.gaps.every((gap) => gap.reason === 'follow')
    );
  }

  #progressKey(name: string): string {
    return `${this.key}:progress:${name}`;
  }

  /**
   * Reads this deputy's durable record (gap ledger, LastUpToDate) from storage, the first time
   * it is needed. A record written by edge-ha 0.1.0 is migrated: its pending run becomes a merge
   * gap and its checkpoints become progress records, so the interrupted sync resumes and never
   * overwrites what the node recorded.
   *
   * @throws {SyncError} `SYNC_STATE_FORMAT` for a record this version does not understand.
   */
  async load(): Promise<DeputyRecord> {
    this.#loaded ??= this.#exclusive(async () => {
      const value = await this.#storage.readSyncState(this.key);
      const { ledger, migrated } = readLedger(value, this.key, this.#clock.now());
      if (migrated !== null) {
        for (const [name, through] of migrated.checkpoints) {
          await this.#storage.writeSyncState(
            this.#progressKey(name),
            writeProgress(new Map([[migrated.gapId, through]]), null),
          );
        }
        await this.#storage.writeSyncState(this.key, writeLedger(ledger));
      }
      this.#ledger = ledger;
    }).catch((error: unknown) => {
      this.#loaded = null;
      throw error;
    });
    await this.#loaded;
    return this.#record();
  }

  #record(): DeputyRecord {
    const { lastUpToDate, gaps, unrecoverable } = this.#ledger;
    return { lastUpToDate, gaps: gaps.map(copyGap), unrecoverable: unrecoverable.map(copyWindow) };
  }

  /** Runs `task` after every earlier ledger change (ledger writes never interleave). */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#ledgerChain.then(task, task);
    this.#ledgerChain = result.catch(() => undefined);
    return result;
  }

  /** Writes the ledger `change` makes of the current one; the memory copy follows the store. */
  async #changeLedger(change: (ledger: GapLedger) => GapLedger): Promise<GapLedger> {
    await this.load();
    return this.#exclusive(async () => {
      const next = change(this.#ledger);
      if (next !== this.#ledger) {
        await this.#storage.writeSyncState(this.key, writeLedger(next));
        this.#ledger = next;
      }
      return next;
    });
  }

  #cutoff(): number {
    return this.#clock.now() - this.#maxRecoveryMs;
  }

  /**
   * Adds a gap to the durable ledger (it is synced by the next run). The part older than
   * `maxRecoveryMs` is recorded as unrecoverable; a gap already covered by one of the same mode
   * is not added twice. Resolves with the gap now covering it, or `null` when nothing of it is
   * left to sync.
   *
   * @example
   * ```ts
   * import type { TimeSeriesDeputy } from 'edge-ha';
   *
   * declare const deputy: TimeSeriesDeputy;
   * declare const from: number, to: number; // a write of [from, to) missed this node
   *
   * await deputy.addGap({ from, to, mode: 'merge', reason: 'reported' }); // merge it from the peer
   * await deputy.run();
   * ```
   * @throws {SyncError} `SYNC_INVALID_WINDOW`, `SYNC_INVALID_OPTION` (mode, reason),
   * `SYNC_LEDGER_FULL`, `SYNC_CLOSED`.
   */
  async addGap(input: SyncGapInput): Promise<SyncGap | null> {
    if (this.#closed) {
      throw new SyncError('SYNC_CLOSED', 'This deputy is closed; create a new one to sync again.');
    }
    assertSyncWindow(input);
    if (input.mode !== 'merge' && input.mode !== 'overwrite') {
      throw new SyncError(
        'SYNC_INVALID_OPTION',
        `A gap's mode must be 'merge' or 'overwrite'; got ${JSON.stringify(input.mode)}.`,
      );
    }
    let added: SyncGap | null = null;
    let lost: TimeWindow | null = null;
    await this.#changeLedger((ledger) => {
      const busy = this.#running === null ? undefined : new Set(this.#plan.map((gap) => gap.id));
      const result = addGap(ledger, input, this.#clock.now(), this.#cutoff(), busy);
      added = result.gap;
      lost = result.unrecoverable;
      return result.ledger;
    });
    if (lost !== null) this.#reportUnrecoverable([lost]);
    return added;
  }

  #reportUnrecoverable(windows: readonly TimeWindow[]): void {
    for (const window of windows) {
      this.#report(
        'warning',
        `Data in ${formatWindow(window)} is older than maxRecoveryMs (${this.#maxRecoveryMs} ms) and is not recovered.`,
        { code: 'SYNC_UNRECOVERABLE' },
      );
    }
  }

  /**
   * Syncs every gap of the ledger from the remote. With a `window`, first adds it as a
   * `requested` gap (in `options.mode`: `merge` by default, `overwrite` to let the remote win).
   * Resolves with the run's summary whether it finished ok or with an error (check
   * `summary.state`); rejects for misuse: `SYNC_INVALID_WINDOW`, `SYNC_BUSY` (a run is in
   * progress), `SYNC_CLOSED`; and when `options.signal` aborts, like Node.js APIs, with a
   * {@link SyncAbortError} (`name` `'AbortError'`, `cause` the signal's reason, code
   * `SYNC_CANCELLED`): an already aborted signal starts nothing; one aborting the run ends it
   * `finished_with_error` (a `SYNC_CANCELLED` SyncState error, `finished` is emitted, the gaps
   * stay) and the error's `summaries` holds its summary. `cancel()` and `close()` end a run the
   * same way, but the run then resolves with its summary.
   *
   * Progress is committed per item with each page, so a run interrupted by a crash resumes where
   * it stopped. An empty ledger finishes ok at once (nothing to sync).
   *
   * @example
   * ```ts
   * import { type RemotePeer, type StorageAdapter, TimeSeriesDeputy } from 'edge-ha';
   *
   * declare const storage: StorageAdapter;
   * declare const peer: RemotePeer;
   * declare const downSince: number; // when this instance went down (ms since the epoch)
   *
   * const deputy = new TimeSeriesDeputy({ storage, peer });
   * const summary = await deputy.run({ from: downSince, to: Date.now() }, { mode: 'overwrite' });
   * if (summary.state === 'finished_with_error') console.error(summary.errors);
   * ```
   */
  run(window?: TimeWindow, options: DeputyRunOptions = {}): Promise<DeputyRunSummary> {
    if (this.#closed) {
      return Promise.reject(
        new SyncError('SYNC_CLOSED', 'This deputy is closed; create a new one to sync again.'),
      );
    }
    if (this.#running !== null) {
      return Promise.reject(
        new SyncError(
          'SYNC_BUSY',
          `The ${this.kind} deputy is already running; wait for its run to finish or cancel it.`,
        ),
      );
    }
    const mode = options.mode ?? 'merge';
    try {
      if (window !== undefined) assertSyncWindow(window);
      if (mode !== 'merge' && mode !== 'overwrite') {
        throw new SyncError(
          'SYNC_INVALID_OPTION',
          `Run option mode must be 'merge' or 'overwrite'; got ${JSON.stringify(mode)}.`,
        );
      }
    } catch (error) {
      return Promise.reject(error);
    }
    const external = options.signal;
    if (external?.aborted) {
      return Promise.reject(
        abortError(external, `The ${this.kind} run was not started: its signal is aborted.`),
      );
    }
    const controller = new AbortController();
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      controller.abort(external?.reason);
    };
    external?.addEventListener('abort', onAbort, { once: true });
    this.#controller = controller;
    const requested: SyncGapInput | null =
      window === undefined ? null : { from: window.from, to: window.to, mode, reason: 'requested' };
    // While a run is in flight, its (unref'd) back-off and timeout timers must not let the
    // process exit under it: a one-shot script awaiting the run gets its result.
    const keepAlive = setInterval(noop, 2 ** 30);
    const running = this.#execute(requested, controller.signal).finally(() => {
      clearInterval(keepAlive);
      external?.removeEventListener('abort', onAbort);
      this.#running = null;
      this.#controller = null;
    });
    this.#running = running;
    return running.then((summary) => {
      if (aborted && summary.state !== 'finished_ok' && external !== undefined) {
        throw abortError(
          external,
          `The ${this.kind} run was aborted by its signal (it ended finished_with_error, SYNC_CANCELLED; the gaps stay in the ledger).`,
          [summary],
        );
      }
      return summary;
    });
  }

  /** Cancels the run in progress, if any (it ends `finished_with_error`, `SYNC_CANCELLED`). */
  cancel(reason?: unknown): void {
    this.#controller?.abort(reason);
  }

  /** Cancels any run, waits for it to end, and refuses further runs (`SYNC_CLOSED`). */
  async close(): Promise<void> {
    this.#closed = true;
    const running = this.#running;
    this.cancel(new SyncError('SYNC_CLOSED', 'The deputy was closed.'));
    if (running !== null) await running.catch(() => undefined);
    await this.#ledgerChain;
  }

  /** Same as {@link Deputy.close}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Cumulative counters (since this deputy was created) and current gauges, as plain data: see
   * {@link DeputyMetrics}. Cheap: read from memory.
   */
  metrics(): DeputyMetrics {
    const life = this.#lifetime;
    const now = this.#clock.now();
    let oldest: number | null = null;
    for (const gap of this.#ledger.gaps) oldest = Math.min(oldest ?? gap.addedAt, gap.addedAt);
    let behind = 0;
    for (const status of this.#itemStatus.values()) {
      if (status.state === 'pending' || status.state === 'running' || status.state === 'failed') {
        behind++;
      }
    }
    const lastUpToDate = this.#ledger.lastUpToDate;
    return {
      kind: this.kind,
      state: this.#state,
      code: DEPUTY_STATES[this.#state],
      running: this.#running !== null,
      caughtUp: this.caughtUp,
      runs: {
        started: life.runsStarted,
        finishedOk: life.finishedOk,
        finishedWithError: life.finishedWithError,
      },
      pointsReceived: life.pointsReceived,
      pointsApplied: { ...life.pointsApplied },
      eventsReceived: life.eventsReceived,
      eventsApplied: { ...life.eventsApplied },
      pages: life.pages,
      bytesReceived: life.bytesReceived,
      retries: life.retries,
      failedItems: life.failedItems,
      errors: Object.fromEntries(life.errors),
      gaps: this.#ledger.gaps.length,
      oldestGapAgeMs: oldest === null ? null : Math.max(0, now - oldest),
      unrecoverableWindows: this.#ledger.unrecoverable.length,
      itemsBehind: behind,
      lastUpToDate,
      sinceLastFinishedOkMs: lastUpToDate === null ? null : Math.max(0, now - lastUpToDate),
      clockSkewMs: this.#clockSkewMs ?? this.#lastSkewMs,
    };
  }

  /** Adds to a lifetime counter and forwards the increment (see {@link observeDeputyCounters}). */
  #count(
    key: DeputyCounterKey,
    value: number,
    labels: Readonly<Record<string, string>> = {},
  ): void {
    if (value <= 0) return;
    const life = this.#lifetime;
    switch (key) {
      case 'runsStarted':
        life.runsStarted += value;
        break;
      case 'runsFinished':
        if (labels.outcome === 'finished_ok') life.finishedOk += value;
        else life.finishedWithError += value;
        break;
      case 'pointsApplied':
      case 'eventsApplied':
        life[key][labels.mode === 'overwrite' ? 'overwrite' : 'merge'] += value;
        break;
      case 'errors': {
        const code = labels.code ?? 'SYNC_FAILED';
        life.errors.set(code, (life.errors.get(code) ?? 0) + value);
        break;
      }
      default:
        life[key] += value;
    }
    const sink = SINKS.get(this);
    if (sink === undefined) return;
    try {
      sink(
        key,
        value,
        SYNC_METRICS[key].labels.includes('deputy') ? { deputy: this.kind, ...labels } : labels,
      );
    } catch {
      // a failing meter never reaches the run
    }
  }

  /** The deputy's state as JSON-safe data. */
  snapshot(): DeputySnapshot {
    return {
      kind: this.kind,
      state: this.#state,
      code: DEPUTY_STATES[this.#state],
      running: this.#running !== null,
      lastUpToDate: this.#ledger.lastUpToDate,
      window: hull(this.#plan),
      gaps: this.#ledger.gaps.map(copyGap),
      unrecoverable: this.#ledger.unrecoverable.map(copyWindow),
      caughtUp: this.caughtUp,
      peer: this.#peerLabel,
      clockSkewMs: this.#clockSkewMs,
      syncState: this.#log.messages,
      droppedMessages: this.#log.dropped,
      progress: this.#progress(),
      items: Object.fromEntries(this.#itemStatus),
      lastRun: this.#lastRun,
    };
  }

  // ---- reporting -------------------------------------------------------------------------

  /** Emits without letting a listener's exception reach the run. */
  #safeEmit<K extends keyof DeputyEvents>(name: K, ...args: DeputyEvents[K]): void {
    try {
      (this.emit as (event: K, ...rest: DeputyEvents[K]) => boolean)(name, ...args);
    } catch (error) {
      const text = `A "${name}" listener threw (${errorMessage(error)}); the run continues.`;
      if (name === 'syncState') this.#log.add('error', 'SYNC_LISTENER_FAILED', text, null);
      else this.#report('error', text, { code: 'SYNC_LISTENER_FAILED' });
    }
  }

  /** Adds a SyncState message and emits it. */
  #report(
    level: SyncStateLevel,
    message: string,
    extra: { code?: string; item?: string } = {},
  ): void {
    const entry = this.#log.add(level, extra.code ?? null, message, extra.item ?? null);
    this.#safeEmit('syncState', entry);
  }

  #progress(): DeputyProgress {
    return {
      kind: this.kind,
      window: hull(this.#plan),
      gapsTotal: this.#plan.length,
      gap: this.#currentGap === null ? null : copyGap(this.#currentGap),
      ...this.#counters,
    };
  }

  /** Emits the current progress. */
  #emitProgress(): void {
    this.#safeEmit('progress', this.#progress());
  }

  #transition(event: DeputyEventType, reason: string, at = this.#clock.now()): void {
    const from = this.#state;
    const to = stepOrThrow(from, event);
    this.#state = to;
    this.#safeEmit('transition', {
      kind: this.kind,
      from,
      to,
      fromCode: DEPUTY_STATES[from],
      toCode: DEPUTY_STATES[to],
      at,
      reason,
    });
  }

  /** Records an error of the run (and of an item). */
  #fail(context: RunContext, error: unknown, item: string | null): void {
    const code = errorCode(error);
    const message = errorMessage(error);
    context.errors.push({ item, code, message });
    this.#count('errors', 1, { code });
    if (item !== null) {
      this.#count('failedItems', 1);
      const status = this.#itemStatus.get(item);
      if (status !== undefined) {
        this.#itemStatus.set(item, { ...status, state: 'failed', error: { code, message } });
      }
      this.#counters.itemsFailed++;
      this.#report('error', `Item ${item}: ${message}`, { code, item });
      this.#safeEmit('itemError', { kind: this.kind, item, code, message });
    } else {
      this.#report('error', message, { code });
    }
  }

  // ---- remote calls ----------------------------------------------------------------------

  /**
   * Calls `peer` (the connected peer, or the one serving a part of a gap) with a reply timeout,
   * on the current connection. A transient failure is not retried here: it loses the connection
   * for every item (see {@link Deputy.run}), and the run reconnects in one retry loop.
   */
  #callPeer<T>(
    context: RunContext,
    peer: RemotePeer,
    operation: Exclude<DeputyOperation, 'hello'>,
    item: string | null,
    call: (peer: RemotePeer, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const what = `${operation}${item === null ? '' : ` of item ${item}`} from ${peer.label}`;
    return withTimeout(this.#clock, this.#replyTimeoutMs, context.session.signal, what, (signal) =>
      call(peer, signal),
    );
  }

  /** The connection failed with a transient error: stop every item, reconnect. */
  #lose(context: RunContext, error: unknown): void {
    if (context.lost !== null) return;
    context.lost = error;
    context.session.abort(error);
  }

  /** Whether `error` ends only the current connection (and the run reconnects). */
  #losesConnection(context: RunContext, error: unknown): boolean {
    if (context.signal.aborted) return false;
    if (context.lost !== null) return true;
    if (!isTransient(error)) return false;
    this.#lose(context, error);
    return true;
  }

  #onRetry(
    context: RunContext,
    operation: DeputyOperation,
    item: string | null,
    notice: { attempt: number; delayMs: number; error: Error },
  ): void {
    context.retries++;
    this.#count('retries', 1);
    const code = errorCode(notice.error);
    this.#report(
      'warning',
      `${operation}${item === null ? '' : ` of ${item}`} failed (attempt ${notice.attempt}: ${notice.error.message}); retrying in ${notice.delayMs} ms.`,
      item === null ? { code } : { code, item },
    );
    this.#safeEmit('retry', {
      kind: this.kind,
      operation,
      item,
      attempt: notice.attempt,
      delayMs: notice.delayMs,
      code,
      message: notice.error.message,
    });
  }

  /** Connects to the first peer that answers hello and measures the clock skew. */
  async #connect(context: RunContext): Promise<{ hello: PeerHello; skew: number }> {
    let attempts = 0;
    let hello: PeerHello;
    let skew: number;
    try {
      const result = await retrying(
        async () => {
          attempts++;
          return this.#helloFirstPeer(context.signal);
        },
        {
          clock: this.#clock,
          signal: context.signal,
          retries: this.#retries,
          backoff: this.#backoff,
          deadline: this.#clock.now() + this.#giveUpAfterMs,
          onRetry: (notice) => this.#onRetry(context, 'hello', null, notice),
        },
      );
      context.peer = result.peer;
      hello = result.hello;
      skew = result.skew;
    } catch (error) {
      if (context.signal.aborted || !(error instanceof PeerError)) throw error;
      const why = error.transient
        ? `gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} (${attempts > this.#retries ? 'retries exhausted' : `giveUpAfterMs ${this.#giveUpAfterMs} ms reached`})`
        : 'the error is permanent, not retried';
      throw new PeerError(
        error.code,
        `Could not connect to the remote: ${error.message}; ${why}.`,
        {
          transient: error.transient,
          cause: error,
        },
      );
    }
    this.#peerLabel = context.peer.label;
    this.#clockSkewMs = skew;
    this.#lastSkewMs = skew;
    this.#report(
      'info',
      `Connected to ${context.peer.label} (instance ${hello.instanceId}, clock skew ${skew} ms).`,
    );
    if (Math.abs(skew) > this.#maxSkewMs) {
      throw new SyncError(
        'SYNC_CLOCK_SKEW',
        `The clock of ${context.peer.label} differs from this node's by ${skew} ms, more than maxClockSkewMs (${this.#maxSkewMs} ms); nothing was changed. Synchronise the clocks (NTP) or raise maxClockSkewMs.`,
      );
    }
    if (Math.abs(skew) > this.#overlapMs) {
      this.#report(
        'warning',
        `The clock of ${context.peer.label} differs from this node's by ${skew} ms, more than overlapMs (${this.#overlapMs} ms): downtime margins are widened to ${skewMargin(this.#overlapMs, skew)} ms.`,
        { code: 'SYNC_CLOCK_SKEW' },
      );
    }
    return { hello, skew };
  }

  async #helloFirstPeer(
    signal: AbortSignal,
  ): Promise<{ peer: RemotePeer; hello: PeerHello; skew: number }> {
    const failures: { peer: RemotePeer; error: unknown }[] = [];
    for (const peer of this.#peers) {
      try {
        return { peer, ...(await this.#hello(peer, signal)) };
      } catch (error) {
        if (signal.aborted) throw cancelledError(signal);
        failures.push({ peer, error });
      }
    }
    const [only] = failures;
    if (failures.length === 1 && only !== undefined && only.error instanceof PeerError) {
      throw only.error;
    }
    const transient = failures.some((failure) => isTransient(failure.error));
    const list = failures
      .map(({ peer, error }) => `${peer.label}: ${errorCode(error)} ${errorMessage(error)}`)
      .join('; ');
    throw new PeerError('PEER_UNREACHABLE', `No peer answered hello (${list})`, { transient });
  }

  /** One hello to `peer` (no retry), checked, with the clock skew it shows. */
  async #hello(peer: RemotePeer, signal: AbortSignal): Promise<{ hello: PeerHello; skew: number }> {
    const sent = this.#clock.now();
    const hello = await withTimeout(
      this.#clock,
      this.#replyTimeoutMs,
      signal,
      `hello to ${peer.label}`,
      (s) => peer.hello({ signal: s }),
    );
    const received = this.#clock.now();
    checkHello(hello, peer.label);
    // The remote read its clock about half-way through the round trip.
    return { hello, skew: Math.round(hello.now - (sent + received) / 2) };
  }

  /**
   * Decides which peer serves which part of the plan (the rule is `routeWindow`): the parts the
   * connected peer says at hello it lacks are read from the next configured peer after it that
   * answers hello and does not lack them; the parts no peer has are read from the connected peer
   * all the same (best effort), with a `SYNC_NO_SOURCE` warning naming the window. The other
   * peers are asked only when the plan needs them.
   */
  async #route(context: RunContext, hello: PeerHello): Promise<void> {
    context.routes = new Map();
    const primary = context.peer as RemotePeer;
    const sources: { peer: RemotePeer; missing: readonly TimeWindow[] }[] = [
      { peer: primary, missing: unionWindows(hello.gaps ?? []) },
    ];
    const routes = () => {
      const missing = sources.map((source) => source.missing);
      return context.plan.map((gap) => ({ gap, route: routeWindow(gap, missing) }));
    };
    let routed = routes();
    const lacking = (): boolean => routed.some(({ route }) => route.uncovered.length > 0);
    const silent: string[] = [];
    for (const peer of this.#peers.slice(this.#peers.indexOf(primary) + 1)) {
      if (!lacking()) break;
      try {
        const other = await this.#hello(peer, context.session.signal);
        if (Math.abs(other.skew) > this.#maxSkewMs) {
          throw new SyncError(
            'SYNC_CLOCK_SKEW',
            `its clock differs from this node's by ${other.skew} ms, more than maxClockSkewMs (${this.#maxSkewMs} ms)`,
          );
        }
        sources.push({ peer, missing: unionWindows(other.hello.gaps ?? []) });
        routed = routes();
      } catch (error) {
        this.#throwIfCancelled(context.signal);
        silent.push(peer.label);
        this.#report(
          'warning',
          `${peer.label} cannot serve the windows ${primary.label} lacks (${errorCode(error)}: ${errorMessage(error)}).`,
          { code: errorCode(error) },
        );
      }
    }
    for (const { gap, route } of routed) {
      const [only] = route.parts;
      if (route.parts.length > 1 || (only !== undefined && only.source !== 0)) {
        const parts = route.parts.map((part) => ({
          from: part.from,
          to: part.to,
          peer: sources[part.source]?.peer ?? primary,
        }));
        context.routes.set(gap.id, parts);
        this.#report(
          'info',
          `Gap ${gap.id} ${formatWindow(gap)} is read in parts: ${parts
            .map((part) => `${formatWindow(part)} from ${part.peer.label}`)
            .join(', ')}.`,
        );
      }
      for (const window of route.uncovered) {
        const lack = sources.map((source) => source.peer.label).join(', ');
        this.#report(
          'warning',
          `Gap ${gap.id}: no peer has ${formatWindow(window)} (lacking it at hello: ${lack}${silent.length === 0 ? '' : `; unusable: ${silent.join(', ')}`}); it is read from ${primary.label} all the same (best effort).`,
          { code: 'SYNC_NO_SOURCE' },
        );
      }
    }
  }

  /** The parts of `gap` and their peers: the whole gap from the connected peer unless routed. */
  #partsOf(context: RunContext, gap: SyncGap): readonly RoutedPart[] {
    return (
      context.routes.get(gap.id) ?? [
        { from: gap.from, to: gap.to, peer: context.peer as RemotePeer },
      ]
    );
  }

  // ---- the run ---------------------------------------------------------------------------

  async #execute(requested: SyncGapInput | null, signal: AbortSignal): Promise<DeputyRunSummary> {
    if (isFinishedState(this.#state)) this.#transition('RESET', 'new run requested');
    // Messages reported between runs (a gap added, data found unrecoverable) open the next run's.
    this.#log.startRun();
    this.#itemStatus.clear();
    this.#runItems = [];
    this.#counters = zeroCounters();
    this.#plan = [];
    this.#currentGap = null;
    this.#peerLabel = null;
    this.#clockSkewMs = null;
    const context: RunContext = {
      signal,
      startedAt: this.#clock.now(),
      errors: [],
      plan: [],
      planIds: new Set(),
      resumed: false,
      peer: null,
      retries: 0,
      eventIds: new Map(),
      session: new AbortController(),
      lost: null,
      routes: new Map(),
      served: new Set(),
    };
    this.#count('runsStarted', 1);
    this.#transition(
      'START',
      requested === null
        ? 'sync of the gap ledger requested'
        : `sync of ${formatWindow(requested)} (${requested.mode}) requested`,
    );
    try {
      if (requested !== null) await this.addGap(requested);
      else await this.load();
      this.#throwIfCancelled(signal);
      this.#setPlan(context, this.#ledger.gaps);
      if (context.plan.length === 0) {
        await this.#finishOk(context, 'NOTHING_TO_DO', 'the gap ledger is empty: nothing to sync');
        return this.#summary(context);
      }
      this.#transition('CONNECT', 'contacting the remote');
      await this.#connectAndReceive(context);
      this.#throwIfCancelled(signal);
      if (context.errors.length === 0) {
        await this.#finishOk(context, 'SUCCEED', 'every item and event of the gaps applied');
        return this.#summary(context);
      }
    } catch (error) {
      if (signal.aborted) {
        this.#fail(context, cancelledError(signal), null);
      } else {
        this.#fail(context, error, null);
      }
    }
    this.#finishWithError(context);
    return this.#summary(context);
  }

  /**
   * Connects, requests and receives; when the connection is lost (a transient error of any
   * remote call), every item stops and the deputy goes back to waiting_for_connection and tries
   * again, resuming from the committed progress. Connections that lose again before any page is
   * applied count against `retry.retries`.
   */
  async #connectAndReceive(context: RunContext): Promise<void> {
    const { signal } = context;
    let fruitless = 0;
    for (let session = 0; ; session++) {
      context.lost = null;
      context.session = new AbortController();
      const onAbort = (): void => context.session.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        const { hello, skew } = await this.#connect(context);
        this.#throwIfCancelled(signal);
        if (session === 0) await this.#applyMargins(context, skew);
        this.#throwIfCancelled(signal);
        await this.#route(context, hello);
        this.#throwIfCancelled(signal);
        this.#transition('CONNECTED', `connected to ${this.#peerLabel ?? '?'}`);
        const pagesBefore = this.#counters.pages;
        try {
          const request =
            this.kind === 'timeSeries'
              ? await this.#requestTimeSeries(context)
              : `requested the events of ${context.plan.length} gap(s) from ${context.peer?.label ?? '?'}`;
          this.#throwIfCancelled(signal);
          this.#transition('REQUEST_SENT', request);
          if (this.kind === 'timeSeries') await this.#receiveTimeSeries(context);
          else await this.#receiveEvents(context);
        } catch (error) {
          if (!this.#losesConnection(context, error)) throw error;
        }
        this.#throwIfCancelled(signal);
        if (context.lost === null) return;
        const lost = context.lost;
        fruitless = this.#counters.pages > pagesBefore ? 0 : fruitless + 1;
        if (fruitless > this.#retries) throw lost;
        context.retries++;
        this.#count('retries', 1);
        this.#report(
          'warning',
          `Lost the connection to ${context.peer?.label ?? 'the remote'} (${errorCode(lost)}: ${errorMessage(lost)}); every item stops and the deputy reconnects, resuming from what is committed.`,
          { code: errorCode(lost) },
        );
        this.#transition('CONNECTION_LOST', `${errorCode(lost)}: ${errorMessage(lost)}`);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    }
  }

  #throwIfCancelled(signal: AbortSignal): void {
    if (signal.aborted) throw cancelledError(signal);
  }

  #setPlan(context: RunContext, gaps: readonly SyncGap[]): void {
    context.plan = [...gaps].sort((a, b) => a.from - b.from || a.id - b.id);
    context.planIds = new Set(context.plan.map((gap) => gap.id));
    this.#plan = context.plan;
  }

  /** Adds the clock-skew margins of pending downtimes (durably, before any data is applied). */
  async #applyMargins(context: RunContext, skew: number): Promise<void> {
    const margin = skewMargin(this.#overlapMs, skew);
    let lost: readonly TimeWindow[] = [];
    let added: ReadonlySet<number> = new Set();
    const ledger = await this.#changeLedger((current) => {
      const result = applyMargins(current, margin, this.#clock.now(), this.#cutoff());
      lost = result.unrecoverable;
      added = new Set(result.added.map((gap) => gap.id));
      return result.ledger;
    });
    this.#reportUnrecoverable(lost);
    // The plan: the gaps planned at the start, and the margins of those that had them pending.
    const planned = context.planIds;
    this.#setPlan(
      context,
      ledger.gaps.filter((gap) => planned.has(gap.id) || added.has(gap.id)),
    );
    for (const gap of context.plan) this.#report('info', `Gap ${gap.id}: ${formatGap(gap)}.`);
  }

  async #finishOk(context: RunContext, event: DeputyEventType, reason: string): Promise<void> {
    const at = this.#clock.now();
    const ledger = await this.#changeLedger((current) => {
      const previous = current.lastUpToDate;
      return {
        ...removeGaps(current, context.planIds),
        lastUpToDate: previous === null ? at : Math.max(previous, at),
      };
    });
    const left = ledger.gaps.length;
    this.#report(
      'info',
      `Sync of ${context.plan.length} gap(s) finished ok; LastUpToDate is ${String(ledger.lastUpToDate)}${left === 0 ? '' : `; ${left} gap(s) added meanwhile are left for the next run`}.`,
    );
    this.#transition(event, reason, at);
  }

  #finishWithError(context: RunContext): void {
    const count = context.errors.length;
    const listed = context.errors
      .slice(0, 20)
      .map((error) => `${error.item === null ? '' : `${error.item}: `}${error.code}`)
      .join(', ');
    const more = count > 20 ? `, and ${count - 20} more` : '';
    this.#report(
      'error',
      `Sync of ${context.plan.length} gap(s) finished with ${count} error${count === 1 ? '' : 's'} (${listed}${more}); the gaps stay in the ledger and LastUpToDate stays ${String(this.#ledger.lastUpToDate)}.`,
      { code: 'SYNC_FAILED' },
    );
    const first = context.errors[0];
    this.#transition('FAIL', first === undefined ? 'failed' : `${first.code}: ${first.message}`);
  }

  #summary(context: RunContext): DeputyRunSummary {
    const finishedAt = this.#clock.now();
    const ok = this.#state === 'finished_ok';
    const summary: DeputyRunSummary = {
      kind: this.kind,
      state: ok ? 'finished_ok' : 'finished_with_error',
      code: ok ? 5 : 6,
      window: hull(context.plan),
      gaps: context.plan.map(copyGap),
      resumed: context.resumed,
      clockSkewMs: this.#clockSkewMs,
      peer: context.peer?.label ?? null,
      peers: [...context.served],
      startedAt: context.startedAt,
      finishedAt,
      durationMs: finishedAt - context.startedAt,
      items: {
        total: this.#counters.itemsTotal,
        ok: this.#counters.itemsDone,
        skipped: this.#counters.itemsSkipped,
        failed: this.#counters.itemsFailed,
      },
      pointsReceived: this.#counters.pointsReceived,
      points: this.#counters.points,
      events: this.#counters.events,
      eventsInserted: this.#counters.eventsInserted,
      pages: this.#counters.pages,
      retries: context.retries,
      errors: [...context.errors],
      lastUpToDate: this.#ledger.lastUpToDate,
      unrecoverable: this.#ledger.unrecoverable.map(copyWindow),
    };
    this.#lastRun = summary;
    this.#count('runsFinished', 1, { outcome: summary.state });
    this.#log.endRun();
    this.#safeEmit('finished', summary);
    return summary;
  }

  /** Reads a progress record and keeps what concerns the run's plan. */
  async #readProgress(context: RunContext, name: string): Promise<Map<number, number>> {
    const progress = readProgress(await this.#storage.readSyncState(this.#progressKey(name)));
    for (const id of progress.keys()) {
      if (!context.planIds.has(id)) progress.delete(id);
    }
    if (progress.size > 0) context.resumed = true;
    return progress;
  }

  #progressWrite(context: RunContext, name: string, progress: Map<number, number>): SyncStateWrite {
    return { key: this.#progressKey(name), value: writeProgress(progress, context.planIds) };
  }

  // ---- time series ---------------------------------------------------------------------

  async #requestTimeSeries(context: RunContext): Promise<string> {
    const local = this.#itemList === 'remote' ? [] : await this.#storage.listItems();
    const remote = await this.#callPeer(
      context,
      context.peer as RemotePeer,
      'listItems',
      null,
      (peer, signal) => peer.listItems({ signal }),
    );
    if (!Array.isArray(remote) || remote.some((item) => typeof item !== 'string')) {
      throw new PeerError(
        'PEER_BAD_REPLY',
        'The remote answered listItems with something that is not a list of item ids.',
      );
    }
    this.#remoteItems = new Set(remote);
    const items =
      this.#itemList === 'local'
        ? local
        : [...new Set([...local, ...remote])].sort(compareCodePoints);
    if (this.#itemList !== 'local') {
      // Adopted from the remote's list: trended locally from now on, even with nothing to pull.
      const known = new Set(local);
      const adopted = remote.filter((item) => !known.has(item));
      if (adopted.length > 0) await this.#storage.registerItems(adopted);
    }
    if (this.#itemList === 'local' && this.#runItems.length === 0) {
      const known = new Set(local);
      const untracked = remote.filter((item) => !known.has(item));
      if (untracked.length > 0) {
        this.#report(
          'warning',
          `The remote trends ${untracked.length} item(s) this node does not (${untracked
            .slice(0, 5)
            .map((item) => JSON.stringify(item))
            .join(
              ', ',
            )}${untracked.length > 5 ? ', …' : ''}); they are not synced. Register them locally, or use items: 'union' to adopt them.`,
          { code: 'SYNC_UNTRACKED_ITEMS' },
        );
      }
    }
    this.#runItems = items;
    this.#counters.itemsTotal = items.length;
    for (const item of items) {
      // After a reconnect, items already finished (or interrupted) keep their status.
      if (this.#itemStatus.has(item)) continue;
      this.#itemStatus.set(item, {
        state: 'pending',
        gapsDone: 0,
        gap: null,
        through: null,
        points: 0,
        pages: 0,
        error: null,
      });
    }
    return `requested ${items.length} item(s) in ${context.plan.length} gap(s) from ${context.peer?.label ?? '?'}`;
  }

  async #receiveTimeSeries(context: RunContext): Promise<void> {
    // After a lost connection: the items not finished yet (an interrupted one resumes).
    const todo = this.#runItems.filter((item) => {
      const state = this.#itemStatus.get(item)?.state;
      return state === 'pending' || state === 'running';
    });
    await pool(todo, this.#concurrency, async (item) => {
      if (context.signal.aborted || context.lost !== null) return;
      try {
        await this.#syncItem(context, item);
      } catch (error) {
        if (context.signal.aborted || this.#losesConnection(context, error)) return;
        this.#fail(context, error, item);
      }
      this.#emitProgress();
    });
  }

  #updateItem(item: string, patch: Partial<DeputyItemStatus>): DeputyItemStatus {
    const status = { ...(this.#itemStatus.get(item) as DeputyItemStatus), ...patch };
    this.#itemStatus.set(item, status);
    return status;
  }

  /** An item the remote does not trend: a warning, nothing to pull (not a failure). */
  #skip(context: RunContext, item: string): void {
    this.#updateItem(item, { state: 'skipped', gap: null, through: null });
    this.#counters.itemsSkipped++;
    this.#report(
      'warning',
      `Item ${item}: the remote ${context.peer?.label ?? ''} does not trend it; nothing to pull, nothing changed locally.`,
      { code: 'PEER_UNKNOWN_ITEM', item },
    );
  }

  async #syncItem(context: RunContext, item: string): Promise<void> {
    if (!this.#remoteItems.has(item)) {
      this.#skip(context, item);
      return;
    }
    const progress = await this.#readProgress(context, item);
    let done = 0;
    for (const gap of context.plan) {
      if ((progress.get(gap.id) ?? gap.from) >= gap.to) done++;
    }
    this.#updateItem(item, { state: 'running', gapsDone: done });
    for (const gap of context.plan) {
      if (context.signal.aborted || context.lost !== null) return;
      if ((progress.get(gap.id) ?? gap.from) >= gap.to) continue;
      try {
        await this.#syncItemGap(context, item, gap, progress);
      } catch (error) {
        if (!isEdgeHaError(error, 'PEER_UNKNOWN_ITEM')) throw error;
        this.#skip(context, item);
        return;
      }
      if (context.signal.aborted || context.lost !== null) return;
      this.#updateItem(item, { gapsDone: ++done });
    }
    this.#updateItem(item, { state: 'ok', gap: null, through: null });
    this.#counters.itemsDone++;
  }

  /**
   * Syncs one item in one gap from its progress, part by part in time order, each part from its
   * peer; the gap's one progress moves through the parts. A part whose other peer does not trend
   * the item is read from the connected peer instead (best effort, a warning).
   */
  async #syncItemGap(
    context: RunContext,
    item: string,
    gap: SyncGap,
    progress: Map<number, number>,
  ): Promise<void> {
    for (const part of this.#partsOf(context, gap)) {
      if (context.signal.aborted || context.lost !== null) return;
      const start = progress.get(gap.id) ?? gap.from;
      if (start >= part.to) continue;
      const read = { from: Math.max(start, part.from), to: part.to };
      try {
        await this.#syncItemRead(context, item, gap, read, part.peer, progress);
      } catch (error) {
        const primary = context.peer as RemotePeer;
        if (part.peer === primary || !isEdgeHaError(error, 'PEER_UNKNOWN_ITEM')) throw error;
        const rest = { from: Math.max(progress.get(gap.id) ?? gap.from, part.from), to: part.to };
        this.#report(
          'warning',
          `Item ${item}: ${part.peer.label} does not trend it; ${formatWindow(rest)} of gap ${gap.id} is read from ${primary.label} instead (best effort).`,
          { code: 'PEER_UNKNOWN_ITEM', item },
        );
        await this.#syncItemRead(context, item, gap, rest, primary, progress);
      }
    }
  }

  /**
   * Reads one item in `read` (part of `gap`) from `source` and applies it in the gap's mode:
   * one durable commit per page, the data and the item's progress through the gap together (at
   * most one: a page with nothing to merge commits nothing).
   */
  async #syncItemRead(
    context: RunContext,
    item: string,
    gap: SyncGap,
    read: TimeWindow,
    source: RemotePeer,
    progress: Map<number, number>,
  ): Promise<void> {
    const what = `readPoints of item ${item} in gap ${gap.id} ${formatWindow(read)} from ${source.label}`;
    const guard = new PageGuard(this.#pageSize, this.#maxShortPages, what);
    let position: PagePosition | undefined = { current: read.from, cursor: undefined };
    while (position !== undefined) {
      // One page per call: its records live in that call's frame only, not in this loop's,
      // which stays suspended (holding what it last saw) while the next page is fetched.
      position = await this.#syncPointsPage(
        context,
        { item, gap, read, source, progress, guard, what },
        position,
      );
    }
  }

  /**
   * Reads, checks and applies one page of an item's gap from `position`; resolves with the
   * position of the next page, or `undefined` when the read is complete or the run cancelled.
   */
  async #syncPointsPage(
    context: RunContext,
    at: GapRead & { readonly item: string },
    position: PagePosition,
  ): Promise<PagePosition | undefined> {
    const { item, gap, read, source, progress, guard, what } = at;
    const mode = gap.mode;
    let current = position.current;
    const cursor = position.cursor;
    const request =
      cursor === undefined ? { limit: this.#pageSize } : { limit: this.#pageSize, cursor };
    const raw = await this.#callPeer(context, source, 'readPoints', item, (peer, signal) =>
      peer.readPoints(item, read, request, { signal }),
    );
    if (context.signal.aborted) return undefined;
    const page = validatePointsPage(raw, { from: current, to: read.to }, this.#pageSize, what);
    context.served.add(source.label);
    const final = page.next === null;
    const bytes = approxPointsJsonBytes(page.items);
    const last = page.items[page.items.length - 1];
    const through = final ? read.to : last === undefined ? current : last.t + 1;
    let written = 0;
    if (mode === 'merge' && page.items.length === 0) {
      // Nothing to write: the progress rides on the item's next commit (after a crash this
      // empty read is simply repeated), so an empty margin costs a read, not a commit.
      progress.set(gap.id, through);
      current = through;
    } else if (through > current || page.items.length > 0) {
      const next = new Map(progress).set(gap.id, through);
      const options = { syncState: this.#progressWrite(context, item, next) };
      const window = { from: current, to: through };
      if (mode === 'overwrite') {
        await this.#storage.replacePoints(item, window, page.items, options);
        written = page.items.length;
      } else {
        written = await this.#storage.mergePoints(item, window, page.items, options);
      }
      progress.set(gap.id, through);
      current = through;
    }
    this.#counters.pointsReceived += page.items.length;
    this.#counters.points += written;
    this.#counters.pages++;
    this.#counters.bytes += bytes;
    this.#count('pointsReceived', page.items.length);
    this.#count('pointsApplied', written, { mode });
    this.#count('pages', 1);
    this.#count('bytesReceived', bytes);
    this.#currentGap = gap;
    const status = this.#itemStatus.get(item) as DeputyItemStatus;
    this.#updateItem(item, {
      gap: gap.id,
      through: current,
      points: status.points + written,
      pages: status.pages + 1,
    });
    this.#emitProgress();
    if (final) return undefined;
    guard.check(page.items.length, bytes, page.next, cursor);
    return { current, cursor: page.next as string };
  }

  // ---- events ----------------------------------------------------------------------------

  async #receiveEvents(context: RunContext): Promise<void> {
    const progress = await this.#readProgress(context, EVENTS_PROGRESS_NAME);
    for (const gap of context.plan) {
      // Part by part in time order, each from its peer; the gap's progress moves through them.
      for (const part of this.#partsOf(context, gap)) {
        if (context.signal.aborted) return;
        const start = progress.get(gap.id) ?? gap.from;
        if (start >= part.to) continue;
        const read = { from: Math.max(start, part.from), to: part.to };
        await this.#receiveEventsRead(context, gap, read, part.peer, progress);
      }
    }
  }

  /** Reads the events of `read` (part of `gap`) from `source`: one durable commit per page. */
  async #receiveEventsRead(
    context: RunContext,
    gap: SyncGap,
    read: TimeWindow,
    source: RemotePeer,
    progress: Map<number, number>,
  ): Promise<void> {
    const what = `readEvents of gap ${gap.id} ${formatWindow(read)} from ${source.label}`;
    const guard = new PageGuard(this.#pageSize, this.#maxShortPages, what);
    let position: EventsPosition | undefined = {
      cursor: undefined,
      after: null,
      through: read.from,
    };
    while (position !== undefined) {
      // One page per call, as for points: the waiting loop holds no page.
      position = await this.#receiveEventsPage(
        context,
        { gap, read, source, progress, guard, what },
        position,
      );
    }
  }

  /**
   * Reads, checks and applies one page of events from `position`; resolves with the position of
   * the next page, or `undefined` when the read is complete or the run cancelled.
   */
  async #receiveEventsPage(
    context: RunContext,
    at: GapRead,
    position: EventsPosition,
  ): Promise<EventsPosition | undefined> {
    const { gap, read, source, progress, guard, what } = at;
    const { cursor, through } = position;
    let after = position.after;
    const request =
      cursor === undefined ? { limit: this.#pageSize } : { limit: this.#pageSize, cursor };
    const raw = await this.#callPeer(context, source, 'readEvents', null, (peer, signal) =>
      peer.readEvents(read, request, { signal }),
    );
    if (context.signal.aborted) return undefined;
    const page = validateEventsPage(raw, read, this.#pageSize, after, what);
    const added = recordEventIds(context.eventIds, page.items, what);
    context.served.add(source.label);
    const final = page.next === null;
    const last = page.items[page.items.length - 1];
    // Events sharing the last timestamp may continue on the next page: resume at that time.
    const next = final ? read.to : last === undefined ? through : last.t;
    const write = this.#progressWrite(
      context,
      EVENTS_PROGRESS_NAME,
      new Map(progress).set(gap.id, next),
    );
    if (page.items.length > 0) {
      let inserted: number;
      try {
        inserted = await this.#storage.insertEventsIfAbsent(page.items, { syncState: write });
      } catch (error) {
        // Not applied: the run has not received these ids after all.
        for (const id of added) context.eventIds.delete(id);
        throw error;
      }
      this.#counters.eventsInserted += inserted;
      this.#count('eventsApplied', inserted, { mode: gap.mode });
    } else if (next > through) {
      await this.#storage.writeSyncState(write.key, write.value);
    }
    progress.set(gap.id, next);
    if (last !== undefined) after = { t: last.t, id: last.id };
    const bytes = approxEventsJsonBytes(page.items);
    this.#counters.events += page.items.length;
    this.#counters.pages++;
    this.#counters.bytes += bytes;
    this.#count('eventsReceived', page.items.length);
    this.#count('pages', 1);
    this.#count('bytesReceived', bytes);
    this.#currentGap = gap;
    this.#emitProgress();
    if (final) return undefined;
    guard.check(page.items.length, bytes, page.next, cursor);
    return { cursor: page.next as string, after, through: next };
  }
}

/**
 * Records the ids of a page in `seen` (the run's ids), and rejects a page that repeats an event
 * id already received in this run at another time, or twice in the page: one id is one event,
 * so the remote's data or paging is broken. The page is strictly ascending by `(t, id)`
 * (`validateEventsPage`), so an id twice in it has two times and the one map finds both cases
 * (a page-local map per page cost as much as storing the events in memory).
 * @returns The ids this page added to `seen`, to take back if the page is not applied.
 */
function recordEventIds(
  seen: Map<string, number>,
  events: readonly EventRecord[],
  what: string,
): string[] {
  const added: string[] = [];
  for (const event of events) {
    const earlier = seen.get(event.id);
    if (earlier === undefined) {
      seen.set(event.id, event.t);
      added.push(event.id);
    } else if (earlier !== event.t) {
      for (const id of added) seen.delete(id);
      throw new PeerError(
        'PEER_BAD_REPLY',
        `${what}: the remote sent event id ${JSON.stringify(event.id)} twice (t=${earlier} and t=${event.t}); an id names one event, so this page was not applied.`,
      );
    }
  }
  return added;
}

function noop(): void {
  // keeps the event loop alive while a run is in flight
}

function copyWindow(window: TimeWindow): TimeWindow {
  return { from: window.from, to: window.to };
}

function checkHello(hello: unknown, label: string): asserts hello is PeerHello {
  const h = hello as Partial<PeerHello> | null;
  if (
    typeof h !== 'object' ||
    h === null ||
    typeof h.instanceId !== 'string' ||
    !Number.isSafeInteger(h.now) ||
    typeof h.protocolVersion !== 'number'
  ) {
    throw new PeerError(
      'PEER_BAD_REPLY',
      `${label} answered hello with something that is not { instanceId, protocolVersion, now }.`,
    );
  }
  if (h.gaps !== undefined && !isHelloGaps(h.gaps)) {
    throw new PeerError(
      'PEER_BAD_REPLY',
      `${label} answered hello with gaps that are not a list of at most ${MAX_HELLO_GAPS} { from, to } windows (safe-integer epoch ms, from <= to).`,
    );
  }
  if (h.protocolVersion !== PEER_PROTOCOL_VERSION) {
    throw new PeerError(
      'PEER_PROTOCOL',
      `${label} speaks peer protocol ${h.protocolVersion}, this edge-ha speaks ${PEER_PROTOCOL_VERSION}; upgrade the older side.`,
    );
  }
}

/**
 * Time-series deputy: for every item in its item list and every gap of its ledger,
 * reads the remote points page by page and applies them: inside a downtime the remote wins
 * (the local points of the gap are replaced), everywhere else it merges (a remote point is
 * written only where the local item has none at that timestamp). An item the remote does not
 * trend is reported and skipped; a failing item does not stop the others (the run then ends
 * `finished_with_error` and the gaps stay in the ledger for that item).
 *
 * @example
 * ```ts
 * import { httpPeer, type StorageAdapter, TimeSeriesDeputy } from 'edge-ha';
 *
 * declare const storage: StorageAdapter;
 * declare const downSince: number; // when this instance went down (ms since the epoch)
 *
 * const peer = httpPeer({ url: 'http://10.0.0.6:7070/edge-ha/v1', token: process.env.EDGE_HA_TOKEN! });
 * const deputy = new TimeSeriesDeputy({ storage, peer, pageSize: 500 });
 * deputy.on('transition', (e) => console.log(`${e.fromCode} -> ${e.toCode} ${e.reason}`));
 * const summary = await deputy.run({ from: downSince, to: Date.now() }); // merge by default
 * ```
 *
 * @group Sync
 */
export class TimeSeriesDeputy extends Deputy {
  /**
   * @param options - See {@link DeputyOptions}.
   * @throws {SyncError} `SYNC_INVALID_OPTION` when an option is invalid.
   */
  constructor(options: DeputyOptions) {
    super('timeSeries', options);
  }
}

/**
 * Event deputy: reads the remote events of every gap page by page and inserts
 * those whose `id` is absent locally. A local event is never overwritten, re-running never
 * duplicates one, and a remote that sends one id twice is a bad reply.
 *
 * @example
 * ```ts
 * import { EventDeputy, type RemotePeer, type StorageAdapter } from 'edge-ha';
 *
 * declare const storage: StorageAdapter;
 * declare const peer: RemotePeer;
 * declare const downSince: number; // when this instance went down (ms since the epoch)
 *
 * const deputy = new EventDeputy({ storage, peer });
 * const { eventsInserted } = await deputy.run({ from: downSince, to: Date.now() });
 * ```
 *
 * @group Sync
 */
export class EventDeputy extends Deputy {
  /**
   * @param options - See {@link DeputyOptions}.
   * @throws {SyncError} `SYNC_INVALID_OPTION` when an option is invalid.
   */
  constructor(options: DeputyOptions) {
    super('events', options);
  }
}

/**
 * The deputy driver (SPEC §4): runs the state machine of {@link DEPUTY_TRANSITIONS} against a
 * remote peer, applies pages to the local storage, checkpoints, retries and reports.
 */

import { EventEmitter } from 'eventemitter3';
import { type Clock, systemClock } from '../clock.js';
import { isEdgeHaError, PeerError, SyncError } from '../errors.js';
import { PEER_PROTOCOL_VERSION, type PeerHello, type RemotePeer } from '../peer/types.js';
import type {
  EventRecord,
  JsonValue,
  Point,
  StorageAdapter,
  SyncStateRecord,
  TimeWindow,
} from '../storage/types.js';
import { MAX_PAGE_LIMIT } from '../storage/validate.js';
import {
  type BackoffFunction,
  cancelledError,
  exponentialBackoff,
  isTransient,
  retrying,
  withTimeout,
} from './retry.js';
import {
  DEPUTY_STATES,
  type DeputyEventType,
  type DeputyStateName,
  isFinishedState,
  stepOrThrow,
} from './states.js';
import type {
  DeputyEvents,
  DeputyItemStatus,
  DeputyKind,
  DeputyOperation,
  DeputyOptions,
  DeputyProgress,
  DeputyRunError,
  DeputyRunOptions,
  DeputyRunSummary,
  DeputySnapshot,
  SyncStateLevel,
  SyncStateMessage,
} from './types.js';
import { type EventPosition, validateEventsPage, validatePointsPage } from './validate.js';

/** Checkpoint key of the event deputy in its sync record. */
export const EVENTS_CHECKPOINT_KEY = '@events';

const EMPTY_RECORD: SyncStateRecord = Object.freeze({
  lastUpToDate: null,
  heartbeat: null,
  run: null,
});

function formatWindow(window: TimeWindow): string {
  return `[${window.from}, ${window.to})`;
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
): number {
  const result = value ?? fallback;
  if (!Number.isSafeInteger(result) || result < 1 || result > max) {
    throw new SyncError(
      'SYNC_INVALID_OPTION',
      `Deputy option ${name} must be an integer from 1 to ${max}; got ${String(value)}.`,
    );
  }
  return result;
}

/** Validates a sync window; throws `SYNC_INVALID_WINDOW`. */
export function assertSyncWindow(window: unknown): asserts window is TimeWindow {
  const w = window as Partial<TimeWindow> | null;
  if (
    typeof w !== 'object' ||
    w === null ||
    !Number.isSafeInteger(w.from) ||
    !Number.isSafeInteger(w.to) ||
    (w.from as number) > (w.to as number)
  ) {
    throw new SyncError(
      'SYNC_INVALID_WINDOW',
      `A sync window must be { from, to } with safe-integer epoch ms and from <= to; got ${JSON.stringify(window)}.`,
    );
  }
}

interface Counters {
  itemsTotal: number;
  itemsDone: number;
  itemsFailed: number;
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
    itemsFailed: 0,
    points: 0,
    events: 0,
    eventsInserted: 0,
    pages: 0,
    bytes: 0,
  };
}

/** Per-run mutable data. */
interface RunContext {
  readonly window: TimeWindow;
  readonly signal: AbortSignal;
  readonly startedAt: number;
  readonly checkpoints: Map<string, number>;
  readonly errors: DeputyRunError[];
  readonly unrecoverable: TimeWindow | null;
  resumed: boolean;
  heartbeat: number | null;
  peer: RemotePeer | null;
  retries: number;
}

/**
 * The deputy state machine driver; {@link TimeSeriesDeputy} and {@link EventDeputy} fix its
 * `kind`.
 *
 * A run walks `idle(0) → started(1) → waiting_for_connection(2) → sending_sync_request(3) →
 * waiting_for_reply(4) → finished_ok(5) | finished_with_error(6)`. Each state is committed, then
 * the `transition` event is emitted; a listener that throws is reported as a `SYNC_LISTENER_FAILED`
 * SyncState error and never reaches the run.
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
  readonly #backoff: BackoffFunction;
  readonly #replyTimeoutMs: number;
  readonly #messageLimit: number;

  #state: DeputyStateName = 'idle';
  #lastUpToDate: number | null = null;
  #running: Promise<DeputyRunSummary> | null = null;
  #controller: AbortController | null = null;
  #closed = false;
  #window: TimeWindow | null = null;
  #peerLabel: string | null = null;
  #clockSkewMs: number | null = null;
  #messages: SyncStateMessage[] = [];
  #dropped = 0;
  #lastRun: DeputyRunSummary | null = null;
  #persistChain: Promise<void> = Promise.resolve();
  readonly #itemStatus = new Map<string, DeputyItemStatus>();
  #counters: Counters = zeroCounters();
  #remoteItems: ReadonlySet<string> = new Set();
  #localItems: readonly string[] = [];

  /**
   * @param kind - `timeSeries` (remote wins) or `events` (local wins).
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
    if (typeof this.key !== 'string' || this.key.length === 0) {
      throw new SyncError('SYNC_INVALID_OPTION', 'Deputy option key must be a non-empty string.');
    }
    this.#storage = options.storage;
    this.#clock = options.clock ?? systemClock;
    this.#peers = peers;
    this.#pageSize = positiveInteger('pageSize', options.pageSize, 5000, MAX_PAGE_LIMIT);
    this.#concurrency = positiveInteger('concurrency', options.concurrency, 4);
    this.#replyTimeoutMs = positiveInteger('replyTimeoutMs', options.replyTimeoutMs, 30_000);
    this.#messageLimit = positiveInteger('syncStateLimit', options.syncStateLimit, 100);
    const retries = options.retry?.retries ?? 5;
    if (!Number.isSafeInteger(retries) || retries < 0) {
      throw new SyncError(
        'SYNC_INVALID_OPTION',
        `Deputy option retry.retries must be a non-negative integer; got ${String(retries)}.`,
      );
    }
    this.#retries = retries;
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

  /** LastUpToDate as last read or written by this deputy (see {@link Deputy.load}). */
  get lastUpToDate(): number | null {
    return this.#lastUpToDate;
  }

  /** Whether a run is in progress. */
  get running(): boolean {
    return this.#running !== null;
  }

  /**
   * Reads this deputy's durable record (LastUpToDate, pending run) from storage and caches
   * LastUpToDate for {@link Deputy.snapshot}.
   */
  async load(): Promise<SyncStateRecord> {
    const record = (await this.#storage.readSyncState(this.key)) ?? EMPTY_RECORD;
    this.#lastUpToDate = record.lastUpToDate;
    return record;
  }

  /**
   * Syncs `window` from the remote. Resolves with the run's summary whether it finished ok or
   * with an error (check `summary.state`); rejects only for misuse: `SYNC_INVALID_WINDOW`,
   * `SYNC_BUSY` (a run is in progress), `SYNC_CLOSED`.
   *
   * If an interrupted run of this deputy is pending in storage, its checkpoints are reused for
   * the part of `window` they cover, so a crash resumes instead of restarting.
   *
   * @example
   * ```ts
   * const deputy = new TimeSeriesDeputy({ storage, peer });
   * const summary = await deputy.run({ from: downSince, to: Date.now() });
   * if (summary.state === 'finished_with_error') console.error(summary.errors);
   * ```
   */
  run(window: TimeWindow, options: DeputyRunOptions = {}): Promise<DeputyRunSummary> {
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
    try {
      assertSyncWindow(window);
    } catch (error) {
      return Promise.reject(error);
    }
    const controller = new AbortController();
    const external = options.signal;
    const onAbort = (): void => controller.abort(external?.reason);
    if (external?.aborted) controller.abort(external.reason);
    else external?.addEventListener('abort', onAbort, { once: true });
    this.#controller = controller;
    const unrecoverable = options.unrecoverable ?? null;
    const running = this.#execute(
      { from: window.from, to: window.to },
      controller.signal,
      unrecoverable,
    ).finally(() => {
      external?.removeEventListener('abort', onAbort);
      this.#running = null;
      this.#controller = null;
    });
    this.#running = running;
    return running;
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
  }

  /** The deputy's state as JSON-safe data. */
  snapshot(): DeputySnapshot {
    return {
      kind: this.kind,
      state: this.#state,
      code: DEPUTY_STATES[this.#state],
      running: this.#running !== null,
      lastUpToDate: this.#lastUpToDate,
      window: this.#window,
      peer: this.#peerLabel,
      clockSkewMs: this.#clockSkewMs,
      syncState: [...this.#messages],
      droppedMessages: this.#dropped,
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
      if (name === 'syncState')
        this.#store(this.#makeMessage('error', 'SYNC_LISTENER_FAILED', text, null));
      else this.#report('error', text, { code: 'SYNC_LISTENER_FAILED' });
    }
  }

  #makeMessage(
    level: SyncStateLevel,
    code: string | null,
    message: string,
    item: string | null,
  ): SyncStateMessage {
    return { kind: this.kind, at: this.#clock.now(), level, code, item, message };
  }

  #store(message: SyncStateMessage): void {
    this.#messages.push(message);
    if (this.#messages.length > this.#messageLimit) {
      this.#messages.shift();
      this.#dropped++;
    }
  }

  /** Adds a SyncState message and emits it. */
  #report(
    level: SyncStateLevel,
    message: string,
    extra: { code?: string; item?: string } = {},
  ): void {
    const entry = this.#makeMessage(level, extra.code ?? null, message, extra.item ?? null);
    this.#store(entry);
    this.#safeEmit('syncState', entry);
  }

  #progress(): DeputyProgress {
    return { kind: this.kind, window: this.#window, ...this.#counters };
  }

  /** Emits the current progress. */
  #emitProgress(): void {
    this.#safeEmit('progress', this.#progress());
  }

  #transition(event: DeputyEventType, reason: string): void {
    const from = this.#state;
    const to = stepOrThrow(from, event);
    this.#state = to;
    this.#safeEmit('transition', {
      kind: this.kind,
      from,
      to,
      fromCode: DEPUTY_STATES[from],
      toCode: DEPUTY_STATES[to],
      at: this.#clock.now(),
      reason,
    });
  }

  /** Records an error of the run (and of an item). */
  #fail(context: RunContext, error: unknown, item: string | null): void {
    const code = errorCode(error);
    const message = errorMessage(error);
    context.errors.push({ item, code, message });
    if (item !== null) {
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

  // ---- persistence -----------------------------------------------------------------------

  /** Writes the record with the current checkpoints; writes are serialized, latest state wins. */
  #persist(context: RunContext): Promise<void> {
    const write = (): Promise<void> =>
      this.#storage.writeSyncState(this.key, {
        lastUpToDate: this.#lastUpToDate,
        heartbeat: context.heartbeat,
        run: {
          window: { from: context.window.from, to: context.window.to },
          checkpoints: Object.fromEntries(context.checkpoints),
        },
      });
    const result = this.#persistChain.then(write, write);
    this.#persistChain = result.catch(() => undefined);
    return result;
  }

  /** Commits a page's progress: sets the checkpoint of `key` and persists the record. */
  async #checkpoint(context: RunContext, key: string, through: number): Promise<void> {
    const previous = context.checkpoints.get(key) ?? context.window.from;
    context.checkpoints.set(key, Math.max(previous, through));
    await this.#persist(context);
  }

  // ---- remote calls ----------------------------------------------------------------------

  /** Calls the run's peer with a reply timeout and retries of transient errors. */
  #callPeer<T>(
    context: RunContext,
    operation: DeputyOperation,
    item: string | null,
    call: (peer: RemotePeer, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const peer = context.peer as RemotePeer;
    const what = `${operation}${item === null ? '' : ` of item ${item}`} from ${peer.label}`;
    return retrying(
      () =>
        withTimeout(this.#clock, this.#replyTimeoutMs, context.signal, what, (signal) =>
          call(peer, signal),
        ),
      {
        clock: this.#clock,
        signal: context.signal,
        retries: this.#retries,
        backoff: this.#backoff,
        onRetry: (notice) => this.#onRetry(context, operation, item, notice),
      },
    );
  }

  #onRetry(
    context: RunContext,
    operation: DeputyOperation,
    item: string | null,
    notice: { attempt: number; delayMs: number; error: Error },
  ): void {
    context.retries++;
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

  async #connect(context: RunContext): Promise<void> {
    let attempts = 0;
    let hello: PeerHello;
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
          onRetry: (notice) => this.#onRetry(context, 'hello', null, notice),
        },
      );
      context.peer = result.peer;
      hello = result.hello;
    } catch (error) {
      if (context.signal.aborted || !(error instanceof PeerError)) throw error;
      const why = error.transient
        ? `gave up after ${attempts} attempt${attempts === 1 ? '' : 's'} (retries exhausted)`
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
    this.#clockSkewMs = hello.now - this.#clock.now();
    this.#report(
      'info',
      `Connected to ${context.peer.label} (instance ${hello.instanceId}, clock skew ${this.#clockSkewMs} ms).`,
    );
  }

  async #helloFirstPeer(signal: AbortSignal): Promise<{ peer: RemotePeer; hello: PeerHello }> {
    const failures: { peer: RemotePeer; error: unknown }[] = [];
    for (const peer of this.#peers) {
      try {
        const hello = await withTimeout(
          this.#clock,
          this.#replyTimeoutMs,
          signal,
          `hello to ${peer.label}`,
          (s) => peer.hello({ signal: s }),
        );
        checkHello(hello, peer.label);
        return { peer, hello };
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

  // ---- the run ---------------------------------------------------------------------------

  async #execute(
    requested: TimeWindow,
    signal: AbortSignal,
    unrecoverable: TimeWindow | null,
  ): Promise<DeputyRunSummary> {
    if (isFinishedState(this.#state)) this.#transition('RESET', 'new run requested');
    this.#messages = [];
    this.#dropped = 0;
    this.#itemStatus.clear();
    this.#counters = zeroCounters();
    this.#window = requested;
    this.#peerLabel = null;
    this.#clockSkewMs = null;
    const context: RunContext = {
      window: requested,
      signal,
      startedAt: this.#clock.now(),
      checkpoints: new Map(),
      errors: [],
      unrecoverable,
      resumed: false,
      heartbeat: null,
      peer: null,
      retries: 0,
    };
    this.#transition('START', `sync of ${formatWindow(requested)} requested`);
    try {
      if (unrecoverable !== null && unrecoverable.from < unrecoverable.to) {
        this.#report(
          'warning',
          `Data in ${formatWindow(unrecoverable)} lies before the maximum recovery window and is not recovered.`,
          { code: 'SYNC_UNRECOVERABLE' },
        );
      }
      const record = await this.load();
      this.#throwIfCancelled(signal);
      this.#plan(context, record);
      if (requested.from === requested.to) {
        await this.#finishOk(context, 'NOTHING_TO_DO', 'empty window: nothing to sync');
        return this.#summary(context);
      }
      await this.#persist(context);
      this.#throwIfCancelled(signal);
      this.#transition('CONNECT', 'contacting the remote');
      await this.#connect(context);
      this.#throwIfCancelled(signal);
      this.#transition('CONNECTED', `connected to ${this.#peerLabel ?? '?'}`);
      const request =
        this.kind === 'timeSeries'
          ? await this.#requestTimeSeries(context)
          : await this.#requestEvents(context);
      this.#throwIfCancelled(signal);
      this.#transition('REQUEST_SENT', request);
      if (this.kind === 'timeSeries') await this.#receiveTimeSeries(context);
      else await this.#receiveEvents(context);
      this.#throwIfCancelled(signal);
      if (context.errors.length === 0) {
        await this.#finishOk(context, 'SUCCEED', 'every item and event of the window applied');
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

  #throwIfCancelled(signal: AbortSignal): void {
    if (signal.aborted) throw cancelledError(signal);
  }

  /** Chooses the checkpoints to reuse from a pending (interrupted) run. */
  #plan(context: RunContext, record: SyncStateRecord): void {
    context.heartbeat = record.heartbeat;
    const pending = record.run;
    if (pending === null) return;
    const { window } = context;
    const pendingWindow = pending.window;
    if (pendingWindow.from <= window.from && window.from < window.to) {
      for (const [key, through] of Object.entries(pending.checkpoints)) {
        const clamped = Math.min(window.to, Math.max(window.from, through));
        if (clamped > window.from) context.checkpoints.set(key, clamped);
      }
      context.resumed = context.checkpoints.size > 0;
      if (context.resumed) {
        this.#report(
          'info',
          `Resuming the interrupted run of ${formatWindow(pendingWindow)} (${context.checkpoints.size} checkpoint(s)).`,
        );
      }
    }
    const uncovered: string[] = [];
    if (pendingWindow.from < window.from) {
      uncovered.push(
        formatWindow({ from: pendingWindow.from, to: Math.min(window.from, pendingWindow.to) }),
      );
    }
    if (pendingWindow.to > window.to) {
      uncovered.push(
        formatWindow({ from: Math.max(window.to, pendingWindow.from), to: pendingWindow.to }),
      );
    }
    if (uncovered.length > 0) {
      this.#report(
        'warning',
        `The interrupted run of ${formatWindow(pendingWindow)} is replaced by this one; ${uncovered.join(' and ')} is not covered by it.`,
      );
    }
  }

  async #finishOk(context: RunContext, event: DeputyEventType, reason: string): Promise<void> {
    const previous = this.#lastUpToDate;
    const next = previous === null ? context.window.to : Math.max(previous, context.window.to);
    await this.#storage.writeSyncState(this.key, {
      lastUpToDate: next,
      heartbeat: context.heartbeat,
      run: null,
    });
    this.#lastUpToDate = next;
    this.#report(
      'info',
      `Sync of ${formatWindow(context.window)} finished ok; LastUpToDate is ${next}.`,
    );
    this.#transition(event, reason);
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
      `Sync of ${formatWindow(context.window)} finished with ${count} error${count === 1 ? '' : 's'} (${listed}${more}); LastUpToDate stays ${String(this.#lastUpToDate)}.`,
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
      window: context.window,
      resumed: context.resumed,
      peer: context.peer?.label ?? null,
      startedAt: context.startedAt,
      finishedAt,
      durationMs: finishedAt - context.startedAt,
      items: {
        total: this.#counters.itemsTotal,
        ok: this.#counters.itemsDone,
        failed: this.#counters.itemsFailed,
      },
      points: this.#counters.points,
      events: this.#counters.events,
      eventsInserted: this.#counters.eventsInserted,
      pages: this.#counters.pages,
      retries: context.retries,
      errors: [...context.errors],
      lastUpToDate: this.#lastUpToDate,
      unrecoverable: context.unrecoverable,
    };
    this.#lastRun = summary;
    this.#safeEmit('finished', summary);
    return summary;
  }

  // ---- time series ---------------------------------------------------------------------

  async #requestTimeSeries(context: RunContext): Promise<string> {
    this.#localItems = await this.#storage.listItems();
    const remote = await this.#callPeer(context, 'listItems', null, (peer, signal) =>
      peer.listItems({ signal }),
    );
    if (!Array.isArray(remote) || remote.some((item) => typeof item !== 'string')) {
      throw new PeerError(
        'PEER_BAD_REPLY',
        'The remote answered listItems with something that is not a list of item ids.',
      );
    }
    this.#remoteItems = new Set(remote);
    this.#counters.itemsTotal = this.#localItems.length;
    for (const item of this.#localItems) {
      const checkpoint = context.checkpoints.get(item) ?? context.window.from;
      const done = checkpoint >= context.window.to;
      if (done) this.#counters.itemsDone++;
      this.#itemStatus.set(item, {
        state: done ? 'ok' : 'pending',
        checkpoint,
        points: 0,
        pages: 0,
        error: null,
      });
    }
    return `requested ${this.#localItems.length} item(s) of ${formatWindow(context.window)} from ${context.peer?.label ?? '?'}`;
  }

  async #receiveTimeSeries(context: RunContext): Promise<void> {
    const todo = this.#localItems.filter((item) => this.#itemStatus.get(item)?.state === 'pending');
    await pool(todo, this.#concurrency, async (item) => {
      if (context.signal.aborted) return;
      try {
        await this.#syncItem(context, item);
      } catch (error) {
        if (context.signal.aborted) return;
        this.#fail(context, error, item);
      }
      this.#emitProgress();
    });
  }

  async #syncItem(context: RunContext, item: string): Promise<void> {
    if (!this.#remoteItems.has(item)) {
      throw new PeerError(
        'PEER_UNKNOWN_ITEM',
        `the remote ${context.peer?.label ?? ''} does not trend this item; nothing was changed locally`,
      );
    }
    const { window } = context;
    const start = context.checkpoints.get(item) ?? window.from;
    const read: TimeWindow = { from: start, to: window.to };
    let status = this.#itemStatus.get(item) as DeputyItemStatus;
    const update = (patch: Partial<DeputyItemStatus>): void => {
      status = { ...status, ...patch };
      this.#itemStatus.set(item, status);
    };
    update({ state: 'running' });
    let current = start;
    let cursor: string | undefined;
    let empty = 0;
    const what = `readPoints of item ${item}`;
    for (;;) {
      const request =
        cursor === undefined ? { limit: this.#pageSize } : { limit: this.#pageSize, cursor };
      const raw = await this.#callPeer(context, 'readPoints', item, (peer, signal) =>
        peer.readPoints(item, read, request, { signal }),
      );
      if (context.signal.aborted) return;
      const page = validatePointsPage(raw, { from: current, to: window.to }, this.#pageSize, what);
      const final = page.next === null;
      empty = final || page.items.length > 0 ? 0 : empty + 1;
      checkPagingLoop(page.next, cursor, empty, what);
      const last = page.items[page.items.length - 1];
      const through = final ? window.to : last === undefined ? current : last.t + 1;
      if (through > current || page.items.length > 0) {
        await this.#storage.replacePoints(item, { from: current, to: through }, page.items);
        current = through;
        await this.#checkpoint(context, item, current);
      }
      this.#counters.points += page.items.length;
      this.#counters.pages++;
      this.#counters.bytes += approxPointsJsonBytes(page.items);
      update({
        checkpoint: current,
        points: status.points + page.items.length,
        pages: status.pages + 1,
      });
      this.#emitProgress();
      if (final) break;
      cursor = page.next as string;
    }
    update({ state: 'ok' });
    this.#counters.itemsDone++;
  }

  // ---- events ----------------------------------------------------------------------------

  async #requestEvents(context: RunContext): Promise<string> {
    return `requested the events of ${formatWindow(context.window)} from ${context.peer?.label ?? '?'}`;
  }

  async #receiveEvents(context: RunContext): Promise<void> {
    const { window } = context;
    const start = context.checkpoints.get(EVENTS_CHECKPOINT_KEY) ?? window.from;
    if (start >= window.to) return;
    const read: TimeWindow = { from: start, to: window.to };
    let cursor: string | undefined;
    let empty = 0;
    let after: EventPosition | null = null;
    const what = 'readEvents';
    for (;;) {
      const request =
        cursor === undefined ? { limit: this.#pageSize } : { limit: this.#pageSize, cursor };
      const raw = await this.#callPeer(context, 'readEvents', null, (peer, signal) =>
        peer.readEvents(read, request, { signal }),
      );
      if (context.signal.aborted) return;
      const page = validateEventsPage(raw, read, this.#pageSize, after, what);
      const final = page.next === null;
      empty = final || page.items.length > 0 ? 0 : empty + 1;
      checkPagingLoop(page.next, cursor, empty, what);
      const last = page.items[page.items.length - 1];
      if (page.items.length > 0) {
        this.#counters.eventsInserted += await this.#storage.insertEventsIfAbsent(page.items);
      }
      if (last !== undefined) after = { t: last.t, id: last.id };
      const through = final ? window.to : last === undefined ? start : last.t;
      await this.#checkpoint(context, EVENTS_CHECKPOINT_KEY, through);
      this.#counters.events += page.items.length;
      this.#counters.pages++;
      this.#counters.bytes += approxEventsJsonBytes(page.items);
      this.#emitProgress();
      if (final) break;
      cursor = page.next as string;
    }
  }
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
  if (h.protocolVersion !== PEER_PROTOCOL_VERSION) {
    throw new PeerError(
      'PEER_PROTOCOL',
      `${label} speaks peer protocol ${h.protocolVersion}, this edge-ha speaks ${PEER_PROTOCOL_VERSION}; upgrade the older side.`,
    );
  }
}

/** Decimal digits of an integer (with its sign). */
function integerDigits(n: number): number {
  const a = Math.abs(n);
  let digits = n < 0 ? 2 : 1;
  for (let x = 10; x <= a && digits < 20; x *= 10) digits++;
  return digits;
}

/**
 * About the size of `JSON.stringify(points)` without building it (serializing every page only to
 * count it was the largest cost of an in-process sync): exact for integers, strings without
 * escapes, booleans and null; 18 characters for a fractional number.
 */
function approxPointsJsonBytes(points: readonly Point[]): number {
  let bytes = points.length === 0 ? 2 : points.length + 1;
  for (const { t, v, q } of points) {
    bytes += 11 + integerDigits(t);
    if (typeof v === 'number') bytes += Number.isInteger(v) ? integerDigits(v) : 18;
    else if (typeof v === 'string') bytes += v.length + 2;
    else bytes += v === false ? 5 : 4;
    if (q !== undefined) bytes += 5 + integerDigits(q);
  }
  return bytes;
}

/** About the length of `JSON.stringify(value)`, by the rules of {@link approxPointsJsonBytes}. */
function approxJsonBytes(value: JsonValue): number {
  if (value === null) return 4;
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) ? integerDigits(value) : 18;
    case 'string':
      return value.length + 2;
    case 'boolean':
      return value ? 4 : 5;
  }
  if (Array.isArray(value)) {
    let bytes = value.length === 0 ? 2 : value.length + 1;
    for (let i = 0; i < value.length; i++) bytes += approxJsonBytes(value[i] as JsonValue);
    return bytes;
  }
  const keys = Object.keys(value);
  let bytes = keys.length === 0 ? 2 : keys.length + 1;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    bytes += key.length + 3 + approxJsonBytes(value[key] as JsonValue);
  }
  return bytes;
}

/**
 * About the size of `JSON.stringify(events)` without building it (it cost as much as storing
 * the events): see {@link approxPointsJsonBytes}.
 */
function approxEventsJsonBytes(events: readonly EventRecord[]): number {
  let bytes = events.length === 0 ? 2 : events.length + 1;
  for (const { id, t, body } of events) {
    bytes += 22 + id.length + integerDigits(t) + approxJsonBytes(body);
  }
  return bytes;
}

/** Most empty pages in a row a remote may send before the read is considered a loop. */
const MAX_EMPTY_PAGES = 100;

/** Rejects a reply that keeps paging without progress (same cursor, or endless empty pages). */
function checkPagingLoop(
  next: string | null,
  cursor: string | undefined,
  emptyInARow: number,
  what: string,
): void {
  if (emptyInARow > 0 && (next === cursor || emptyInARow > MAX_EMPTY_PAGES)) {
    throw new PeerError(
      'PEER_BAD_REPLY',
      `${what}: the remote keeps returning empty pages without finishing (a paging loop); nothing more was applied.`,
    );
  }
}

/** Runs `task` over `items` with at most `limit` in flight. */
async function pool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Time-series deputy (SPEC §4.3): for every item trended locally, reads the remote points of the
 * window page by page and replaces the local points of the window with them (the remote wins;
 * outside the window nothing is touched). An item unknown to the remote, or failing, is reported
 * and the others continue; the run then ends `finished_with_error`.
 *
 * @example
 * ```ts
 * const deputy = new TimeSeriesDeputy({ storage, peer: httpPeer({ url }), pageSize: 500 });
 * deputy.on('transition', (e) => console.log(`${e.fromCode} -> ${e.toCode} ${e.reason}`));
 * const summary = await deputy.run({ from: lastUpToDate, to: Date.now() });
 * ```
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
 * Event deputy (SPEC §4.4): reads the remote events of the window page by page and inserts
 * those whose `id` is absent locally. A local event is never overwritten and re-running never
 * duplicates one.
 *
 * @example
 * ```ts
 * const deputy = new EventDeputy({ storage, peer });
 * const { eventsInserted } = await deputy.run({ from: downSince, to: Date.now() });
 * ```
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

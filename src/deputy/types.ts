/**
 * Public types of the deputies: options, event payloads, run summary and snapshot.
 */

import type { Clock } from '../clock.js';
import type { RemotePeer } from '../peer/types.js';
import type { StorageAdapter, TimeWindow } from '../storage/types.js';
import type { RetryOptions } from './retry.js';
import type { DeputyStateCode, DeputyStateName } from './states.js';

/** The two kinds of deputy: time series (remote wins) and events (local wins). */
export type DeputyKind = 'timeSeries' | 'events';

/** Options shared by {@link TimeSeriesDeputy} and {@link EventDeputy}. */
export interface DeputyOptions {
  /** The local store being caught up. */
  readonly storage: StorageAdapter;
  /**
   * The remote(s) to pull from. With several, each run uses the first whose `hello()` succeeds,
   * in the given order, and reports which one served.
   */
  readonly peer: RemotePeer | readonly RemotePeer[];
  /**
   * Key of this deputy's durable record in the adapter's sync state (LastUpToDate, checkpoints).
   * Two deputies of the same kind on one storage need different keys.
   * @default 'edge-ha:timeSeries' or 'edge-ha:events'
   */
  readonly key?: string;
  /**
   * Source of time and timers (inject `ManualClock` from `edge-ha/testing` in tests).
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * Records asked per remote page, and so the most records handed to storage in one call
   * (1 to 100,000). Memory follows it: at most `concurrency` pages are in flight. A remote's
   * handler may serve shorter pages (its `limits.maxPageLimit`, 5000 records, and
   * `limits.maxReplyBytes`, 8 MiB, by default), so large records never overflow a reply.
   * @default 5000
   */
  readonly pageSize?: number;
  /**
   * Time-series items synced in parallel (at most one page in flight per item).
   * @default 4
   */
  readonly concurrency?: number;
  /**
   * Retries of connection attempts and transient remote errors.
   * @default { retries: 5, backoff: exponentialBackoff() }
   */
  readonly retry?: RetryOptions;
  /**
   * How long one remote call may take before it fails with `PEER_TIMEOUT` (transient).
   * @default 30000
   */
  readonly replyTimeoutMs?: number;
  /**
   * How many SyncState messages of the current run are kept (older ones are dropped and counted).
   * @default 100
   */
  readonly syncStateLimit?: number;
}

/** Options of one `run()`. */
export interface DeputyRunOptions {
  /** Cancels the run: it ends `finished_with_error` with `SYNC_CANCELLED` in SyncState. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Part of the downtime that will not be recovered (it lies before the maximum recovery
   * window); reported in SyncState and in the summary. Set by the governor.
   */
  readonly unrecoverable?: TimeWindow | null | undefined;
}

/** Payload of the `transition` event, emitted after the new state is committed. */
export interface DeputyTransitionEvent {
  /** Which deputy moved. */
  readonly kind: DeputyKind;
  /** The state left. */
  readonly from: DeputyStateName;
  /** The state entered. */
  readonly to: DeputyStateName;
  /** Apis code of `from`. */
  readonly fromCode: DeputyStateCode;
  /** Apis code of `to`. */
  readonly toCode: DeputyStateCode;
  /** When, epoch ms from the deputy's clock. */
  readonly at: number;
  /** Why, in words (e.g. `connected to http://b:8080`). */
  readonly reason: string;
}

/** Severity of a {@link SyncStateMessage}. */
export type SyncStateLevel = 'info' | 'warning' | 'error';

/** One SyncState message (Apis' `SyncState` state item, as data). */
export interface SyncStateMessage {
  /** Who wrote it: a deputy kind, or `governor`. */
  readonly kind: DeputyKind | 'governor';
  /** When, epoch ms. */
  readonly at: number;
  /** `info`, `warning` or `error`. */
  readonly level: SyncStateLevel;
  /** Error code (e.g. `PEER_UNKNOWN_ITEM`, `SYNC_CANCELLED`), or `null` for plain information. */
  readonly code: string | null;
  /** The item concerned, or `null`. */
  readonly item: string | null;
  /** Human-readable text. */
  readonly message: string;
}

/** Payload of the `progress` event and part of the snapshot. */
export interface DeputyProgress {
  /** Which deputy. */
  readonly kind: DeputyKind;
  /** The window of the current (or last) run, or `null` before the first run. */
  readonly window: TimeWindow | null;
  /** Items to sync in this run (time series; 0 for events). */
  readonly itemsTotal: number;
  /** Items finished successfully, including those already done by an interrupted run. */
  readonly itemsDone: number;
  /** Items that failed. */
  readonly itemsFailed: number;
  /** Points written locally. */
  readonly points: number;
  /** Events received from the remote. */
  readonly events: number;
  /** Events that were new locally and were inserted. */
  readonly eventsInserted: number;
  /** Pages received and applied. */
  readonly pages: number;
  /** Approximate JSON size of the records received, in bytes. */
  readonly bytes: number;
}

/** Remote operation a deputy retries. */
export type DeputyOperation = 'hello' | 'listItems' | 'readPoints' | 'readEvents';

/** Payload of the `retry` event, emitted before each back-off wait. */
export interface DeputyRetryEvent {
  /** Which deputy. */
  readonly kind: DeputyKind;
  /** The remote call that failed. */
  readonly operation: DeputyOperation;
  /** The item read, or `null`. */
  readonly item: string | null;
  /** Number of the attempt that failed (1 = the first try). */
  readonly attempt: number;
  /** Wait before the next attempt, ms. */
  readonly delayMs: number;
  /** Code of the error (e.g. `PEER_UNREACHABLE`). */
  readonly code: string;
  /** Message of the error. */
  readonly message: string;
}

/** Payload of the `itemError` event: one time-series item failed; the others continue. */
export interface DeputyItemError {
  /** Which deputy. */
  readonly kind: DeputyKind;
  /** The item. */
  readonly item: string;
  /** Error code, e.g. `PEER_UNKNOWN_ITEM`, `PEER_BAD_REPLY`, `STORAGE_BACKEND`. */
  readonly code: string;
  /** What went wrong. */
  readonly message: string;
}

/** State of one time-series item in the current (or last) run. */
export type DeputyItemState = 'pending' | 'running' | 'ok' | 'failed';

/** Status of one time-series item. */
export interface DeputyItemStatus {
  /** Where the item is. */
  readonly state: DeputyItemState;
  /** Everything in `[window.from, checkpoint)` is committed locally. */
  readonly checkpoint: number;
  /** Points written in this run. */
  readonly points: number;
  /** Pages applied in this run. */
  readonly pages: number;
  /** The error of a failed item, or `null`. */
  readonly error: {
    /** The error code, e.g. `PEER_UNKNOWN_ITEM`. */
    readonly code: string;
    /** What went wrong for this item. */
    readonly message: string;
  } | null;
}

/** One error of a run, as listed in its summary. */
export interface DeputyRunError {
  /** The item concerned, or `null` for a run-level error. */
  readonly item: string | null;
  /** Error code. */
  readonly code: string;
  /** Message. */
  readonly message: string;
}

/** What `run()` resolves to (also the payload of `finished`). */
export interface DeputyRunSummary {
  /** Which deputy. */
  readonly kind: DeputyKind;
  /** The finished state. */
  readonly state: 'finished_ok' | 'finished_with_error';
  /** Its Apis code, 5 or 6. */
  readonly code: 5 | 6;
  /** The window synced. */
  readonly window: TimeWindow;
  /** Whether the run resumed checkpoints of an interrupted run. */
  readonly resumed: boolean;
  /** Label of the peer that served, or `null` when none was reached (or none was needed). */
  readonly peer: string | null;
  /** Start, epoch ms. */
  readonly startedAt: number;
  /** End, epoch ms. */
  readonly finishedAt: number;
  /** `finishedAt - startedAt`. */
  readonly durationMs: number;
  /** Item counts (time series; all zero for events). */
  readonly items: {
    /** Items in the run. */
    readonly total: number;
    /** Items completed. */
    readonly ok: number;
    /** Items failed. */
    readonly failed: number;
  };
  /** Points written locally. */
  readonly points: number;
  /** Events received. */
  readonly events: number;
  /** Events inserted (new locally). */
  readonly eventsInserted: number;
  /** Pages applied. */
  readonly pages: number;
  /** Retries performed. */
  readonly retries: number;
  /** Every error of the run (empty when `finished_ok`). */
  readonly errors: readonly DeputyRunError[];
  /** LastUpToDate after the run. */
  readonly lastUpToDate: number | null;
  /** The part of the downtime reported as unrecoverable, or `null`. */
  readonly unrecoverable: TimeWindow | null;
}

/** The JSON state of a deputy (`snapshot()`). */
export interface DeputySnapshot {
  /** Which deputy. */
  readonly kind: DeputyKind;
  /** Current state. */
  readonly state: DeputyStateName;
  /** Its Apis `DeputyState` code. */
  readonly code: DeputyStateCode;
  /** Whether a run is in progress. */
  readonly running: boolean;
  /** End of the last window that finished_ok (Apis `LastUpToDate`), or `null`. */
  readonly lastUpToDate: number | null;
  /** Window of the current or last run. */
  readonly window: TimeWindow | null;
  /** Label of the peer serving the current or last run. */
  readonly peer: string | null;
  /** Remote clock minus local clock at `hello()`, ms, or `null`. */
  readonly clockSkewMs: number | null;
  /** SyncState messages of the current or last run, oldest first (bounded). */
  readonly syncState: readonly SyncStateMessage[];
  /** Messages dropped from `syncState` because of its bound. */
  readonly droppedMessages: number;
  /** Progress of the current or last run. */
  readonly progress: DeputyProgress;
  /** Per-item status (time series). */
  readonly items: Readonly<Record<string, DeputyItemStatus>>;
  /** Summary of the last finished run, or `null`. */
  readonly lastRun: DeputyRunSummary | null;
}

/** The typed events of a deputy (eventemitter3 event map). */
export interface DeputyEvents {
  /** A state change, after it is committed. */
  transition: [event: DeputyTransitionEvent];
  /** Progress after each applied page. */
  progress: [progress: DeputyProgress];
  /** A SyncState message. */
  syncState: [message: SyncStateMessage];
  /** A remote call failed and will be retried after a delay. */
  retry: [event: DeputyRetryEvent];
  /** A time-series item failed (the others continue). */
  itemError: [error: DeputyItemError];
  /** A run ended. */
  finished: [summary: DeputyRunSummary];
}

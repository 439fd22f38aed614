/**
 * Public types of the deputies: options, event payloads, run summary and snapshot.
 */

import type { Clock } from '../clock.js';
import type { RemotePeer } from '../peer/types.js';
import type { StorageAdapter, TimeWindow } from '../storage/types.js';
import type { SyncGap, SyncGapMode } from './ledger.js';
import type { RetryOptions } from './retry.js';
import type { DeputyStateCode, DeputyStateName } from './states.js';

/**
 * The two kinds of deputy: time series (remote wins) and events (local wins).
 *
 * @group Sync
 */
export type DeputyKind = 'timeSeries' | 'events';

/**
 * Options shared by {@link TimeSeriesDeputy} and {@link EventDeputy}.
 *
 * @group Sync
 */
export interface DeputyOptions {
  /** The local store being caught up. */
  readonly storage: StorageAdapter;
  /**
   * The remote(s) to pull from. With several, each connection uses the first whose `hello()`
   * succeeds, in the given order (after a lost connection, the next that answers); the parts of
   * a gap it says at hello it lacks (`PeerHello.gaps`) are read from the next peer after it that
   * has them. `summary.peers` and SyncState say which peer served what.
   */
  readonly peer: RemotePeer | readonly RemotePeer[];
  /**
   * Key of this deputy's durable record in the adapter's sync state (gap ledger, LastUpToDate);
   * per-item progress is kept under `<key>:progress:<item>`. Two deputies of the same kind on
   * one storage need different keys. At most 512 characters.
   * @default 'edge-ha:timeSeries' or 'edge-ha:events'
   */
  readonly key?: string;
  /**
   * Whose item list a time-series run syncs: the items trended locally (`local`, as Apis), the
   * items the remote trends (`remote`, e.g. a fresh replica), or both (`union`). Items synced from the
   * remote's list are registered locally.
   * @default 'local'
   */
  readonly items?: 'local' | 'remote' | 'union';
  /**
   * Smallest clock-skew margin on each side of a downtime, ms: the margins are
   * `max(overlapMs, |measured skew| + 1000)` and are merged, never overwritten.
   * @default 60000
   */
  readonly overlapMs?: number;
  /**
   * Largest clock difference to the peer accepted, ms: beyond it a run ends
   * `finished_with_error` with `SYNC_CLOCK_SKEW` and changes nothing.
   * @default 300000 (5 minutes)
   */
  readonly maxClockSkewMs?: number;
  /**
   * Oldest data recovered, ms before now: any part of a gap older than this is recorded as
   * unrecoverable (a `SYNC_UNRECOVERABLE` warning, and `unrecoverable` in the snapshot).
   * @default 604800000 (7 days)
   */
  readonly maxRecoveryMs?: number;
  /**
   * Short pages one read may receive before the remote counts as trickling (`PEER_BAD_REPLY`):
   * a page that is not the last is short with fewer than `min(pageSize, 100)` records and under
   * 1 MiB.
   * @default 100
   */
  readonly maxShortPages?: number;
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

/**
 * Options of one `run()`.
 *
 * @group Sync
 */
export interface DeputyRunOptions {
  /**
   * Aborts the run: it ends `finished_with_error` with `SYNC_CANCELLED` in SyncState, and `run()`
   * rejects with a `SyncAbortError` (`name` `'AbortError'`, `cause` the signal's reason). An
   * already aborted signal starts no run.
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * How the window given to `run(window)` is applied: `merge` (safe: local points stay) or
   * `overwrite` (the remote wins in the window: Apis "ExpertMode", for a host that knows the
   * node's data there is wrong or missing).
   * @default 'merge'
   */
  readonly mode?: SyncGapMode | undefined;
}

/**
 * A deputy's durable state, as `load()` returns it.
 *
 * @group Sync
 */
export interface DeputyRecord {
  /** Apis LastUpToDate: time of the last transition to finished_ok, or `null`. */
  readonly lastUpToDate: number | null;
  /** The gap ledger: the windows still missing. */
  readonly gaps: readonly SyncGap[];
  /** Windows recorded as not recoverable (older than `maxRecoveryMs`), newest last. */
  readonly unrecoverable: readonly TimeWindow[];
}

/**
 * Payload of the `transition` event, emitted after the new state is committed.
 *
 * @group Sync
 */
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

/**
 * Severity of a {@link SyncStateMessage}.
 *
 * @group Sync
 */
export type SyncStateLevel = 'info' | 'warning' | 'error';

/**
 * One SyncState message (Apis' `SyncState` state item, as data).
 *
 * @group Sync
 */
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

/**
 * Payload of the `progress` event and part of the snapshot.
 *
 * @group Sync
 */
export interface DeputyProgress {
  /** Which deputy. */
  readonly kind: DeputyKind;
  /** The smallest window holding the gaps of the current (or last) run, or `null`. */
  readonly window: TimeWindow | null;
  /** Gaps of the current (or last) run. */
  readonly gapsTotal: number;
  /** The gap of the page applied last, or `null`. */
  readonly gap: SyncGap | null;
  /** Items to sync in this run (time series; 0 for events). */
  readonly itemsTotal: number;
  /** Items finished successfully, including those already done by an interrupted run. */
  readonly itemsDone: number;
  /** Items the remote does not trend: reported as a warning, nothing to pull (not failures). */
  readonly itemsSkipped: number;
  /** Items that failed. */
  readonly itemsFailed: number;
  /** Points received from the remote. */
  readonly pointsReceived: number;
  /** Points written locally (in merge gaps, only those the local did not have). */
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

/**
 * Remote operation a deputy retries.
 *
 * @group Sync
 */
export type DeputyOperation = 'hello' | 'listItems' | 'readPoints' | 'readEvents';

/**
 * Payload of the `retry` event, emitted before each back-off wait.
 *
 * @group Sync
 */
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

/**
 * Payload of the `itemError` event: one time-series item failed; the others continue.
 *
 * @group Sync
 */
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

/**
 * State of one time-series item in the current (or last) run; `skipped` when the remote does
 * not trend it (nothing to pull).
 *
 * @group Sync
 */
export type DeputyItemState = 'pending' | 'running' | 'ok' | 'skipped' | 'failed';

/**
 * Status of one time-series item.
 *
 * @group Sync
 */
export interface DeputyItemStatus {
  /** Where the item is. */
  readonly state: DeputyItemState;
  /** Gaps of the run this item has committed completely (also in an interrupted earlier run). */
  readonly gapsDone: number;
  /** Id of the gap being synced, or `null`. */
  readonly gap: number | null;
  /** Within that gap, everything before this time is committed, or `null`. */
  readonly through: number | null;
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

/**
 * One error of a run, as listed in its summary.
 *
 * @group Sync
 */
export interface DeputyRunError {
  /** The item concerned, or `null` for a run-level error. */
  readonly item: string | null;
  /** Error code. */
  readonly code: string;
  /** Message. */
  readonly message: string;
}

/**
 * What `run()` resolves to (also the payload of `finished`).
 *
 * @group Sync
 */
export interface DeputyRunSummary {
  /** Which deputy. */
  readonly kind: DeputyKind;
  /** The finished state. */
  readonly state: 'finished_ok' | 'finished_with_error';
  /** Its Apis code, 5 or 6. */
  readonly code: 5 | 6;
  /** The smallest window holding the run's gaps, or `null` when the ledger was empty. */
  readonly window: TimeWindow | null;
  /** The gaps the run worked on (its plan, margins applied). */
  readonly gaps: readonly SyncGap[];
  /** Whether the run resumed progress committed by an interrupted run. */
  readonly resumed: boolean;
  /** Remote clock minus local clock measured at hello (half round trip corrected), or `null`. */
  readonly clockSkewMs: number | null;
  /**
   * Label of the peer the run was connected to last, or `null` when none was reached (or none
   * was needed).
   */
  readonly peer: string | null;
  /**
   * Labels of every peer records were read from, in order of first use: more than one when a
   * peer failed and the run reconnected to the next, or when parts of a gap the connected peer
   * lacks were read from another peer (SyncState says which part came from where).
   */
  readonly peers: readonly string[];
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
    /** Items the remote does not trend (a warning each, not a failure). */
    readonly skipped: number;
    /** Items failed. */
    readonly failed: number;
  };
  /** Points received from the remote. */
  readonly pointsReceived: number;
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
  /** LastUpToDate after the run (the time of its transition to finished_ok, if it did). */
  readonly lastUpToDate: number | null;
  /** Windows recorded as not recoverable (older than `maxRecoveryMs`), newest last. */
  readonly unrecoverable: readonly TimeWindow[];
}

/**
 * The JSON state of a deputy (`snapshot()`).
 *
 * @group Sync
 */
export interface DeputySnapshot {
  /** Which deputy. */
  readonly kind: DeputyKind;
  /** Current state. */
  readonly state: DeputyStateName;
  /** Its Apis `DeputyState` code. */
  readonly code: DeputyStateCode;
  /** Whether a run is in progress. */
  readonly running: boolean;
  /**
   * Apis `LastUpToDate`: the time of the last transition to finished_ok, or `null`. Never moves
   * backwards; a failed or partial run leaves it.
   */
  readonly lastUpToDate: number | null;
  /** The smallest window holding the gaps of the current or last run, or `null`. */
  readonly window: TimeWindow | null;
  /** The gap ledger: what this deputy is still missing (empty when caught up). */
  readonly gaps: readonly SyncGap[];
  /** Windows recorded as not recoverable (older than `maxRecoveryMs`), newest last. */
  readonly unrecoverable: readonly TimeWindow[];
  /** The ledger holds no gap (follow-mode gaps aside) and the last run ended finished_ok. */
  readonly caughtUp: boolean;
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

/**
 * The typed events of a deputy (eventemitter3 event map). Every event of the deputies and the
 * governor, when it is emitted and its payload, is in one table: the Events section of the
 * [sync guide](../../docs/sync.md#events).
 *
 * @group Sync
 */
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

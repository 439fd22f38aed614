/**
 * The gap ledger of a deputy, as data and pure functions: which windows the node is missing, in
 * which mode each is applied (overwrite only where the node was down, merge everywhere else),
 * the clock-skew margins of a downtime, the recovery bound, and the durable record formats
 * (with the migration of records written by edge-ha 0.1.0).
 *
 * Nothing here touches a clock, a peer or a store: the deputy driver reads and writes the
 * records, these functions decide what they mean.
 */

import { SyncError } from '../errors.js';
import { isTimeWindow, unionWindows } from '../peer/gaps.js';
import type { JsonObject, JsonValue, TimeWindow } from '../storage/types.js';

/**
 * How a gap is applied to the local time series:
 * - `overwrite`: the remote wins: local points of the window are replaced by the remote's (only
 *   where this node was down, or when a host asks for it explicitly: Apis "ExpertMode");
 * - `merge`: a remote point is written only where the local item has no point at that timestamp;
 *   local points stay.
 *
 * Events are always inserted only if absent, whatever the mode.
 *
 * @group Sync
 */
export type SyncGapMode = 'overwrite' | 'merge';

/**
 * Why a gap is in the ledger:
 * - `downtime`: the node was not running (`[last heartbeat, start-up)`), applied in `overwrite`;
 * - `margin`: the part around a downtime where the node may have been running (clock-skew
 *   margins, the time after its last heartbeat when it crashed), applied in `merge`;
 * - `reported`: a host reported it (`reportGap`, e.g. a write that missed this node): `merge`;
 * - `requested`: a host asked for it on demand (`run(window)`, `resync(window)`);
 * - `firstStart`: the look-back of a node that never ran before: `merge`;
 * - `migrated`: the pending run of a record written by edge-ha 0.1.0: `merge`;
 * - `follow`: the trailing window of the governor's follow mode: `merge`.
 *
 * @group Sync
 */
export type SyncGapReason =
  | 'downtime'
  | 'margin'
  | 'reported'
  | 'requested'
  | 'firstStart'
  | 'migrated'
  | 'follow';

/**
 * One window a deputy is missing.
 *
 * @group Sync
 */
export interface SyncGap {
  /** Ledger-unique id (never reused); per-item progress refers to it. */
  readonly id: number;
  /** Inclusive start, epoch ms. */
  readonly from: number;
  /** Exclusive end, epoch ms. */
  readonly to: number;
  /** Overwrite (the remote wins) or merge (local points stay). */
  readonly mode: SyncGapMode;
  /** Why the gap is in the ledger. */
  readonly reason: SyncGapReason;
  /** When it was added, epoch ms of the local clock. */
  readonly addedAt: number;
  /**
   * For a downtime whose clock-skew margins are not known yet: the node's last heartbeat. The
   * next run measures the skew at hello and then adds `merge` margins on both sides (from
   * `heartbeat − margin` to `from`, and from `to` to `to + margin`); `null` otherwise.
   */
  readonly pendingMargins: {
    /** The last heartbeat before the downtime, epoch ms. */
    readonly heartbeat: number;
  } | null;
}

/**
 * What is added to a ledger with `Deputy.addGap()` (the id and time are assigned there).
 *
 * @group Sync
 */
export interface SyncGapInput {
  /** Inclusive start, epoch ms. */
  readonly from: number;
  /** Exclusive end, epoch ms. */
  readonly to: number;
  /** See {@link SyncGapMode}. */
  readonly mode: SyncGapMode;
  /** See {@link SyncGapReason}. */
  readonly reason: SyncGapReason;
  /** See {@link SyncGap.pendingMargins}. */
  readonly pendingMargins?: {
    /** The last heartbeat before the downtime, epoch ms. */
    readonly heartbeat: number;
  } | null;
}

/** The durable state of one deputy (its sync-state record, format version 2). */
export interface GapLedger {
  /** Apis LastUpToDate: time of the last transition to finished_ok, or `null`. */
  readonly lastUpToDate: number | null;
  /** The id the next gap gets. */
  readonly nextGapId: number;
  /** The gaps still missing, in the order they were added. */
  readonly gaps: readonly SyncGap[];
  /**
   * Windows that were not recovered because they lie before the maximum recovery window
   * (in time order, overlapping ones joined, at most {@link MAX_UNRECOVERABLE} kept).
   */
  readonly unrecoverable: readonly TimeWindow[];
}

/** Most gaps a ledger holds; beyond it, a new merge gap is merged with its nearest merge gap. */
export const MAX_GAPS = 256;

/** Most unrecoverable windows a ledger remembers (the oldest are forgotten). */
export const MAX_UNRECOVERABLE = 20;

/** Format tag and version of the deputy record. */
const DEPUTY_FORMAT = 'edge-ha.deputy';
/** Format tag of the per-item progress record. */
const PROGRESS_FORMAT = 'edge-ha.progress';
/** Version of the sync-state formats this code writes. */
export const SYNC_STATE_VERSION = 2;

/** An empty ledger (a deputy that never ran). */
export const EMPTY_LEDGER: GapLedger = Object.freeze({
  lastUpToDate: null,
  nextGapId: 1,
  gaps: Object.freeze([]) as readonly SyncGap[],
  unrecoverable: Object.freeze([]) as readonly TimeWindow[],
});

/**
 * The clock-skew margin on each side of a downtime: `max(overlapMs, |skew| + 1 s)`, so the
 * remote's records of the downtime are covered whichever clock is ahead.
 */
export function skewMargin(overlapMs: number, skewMs: number): number {
  return Math.max(overlapMs, Math.abs(skewMs) + 1000);
}

/** Splits `window` at `cutoff`: the part before it (unrecoverable) and the part kept. */
function cut(
  from: number,
  to: number,
  cutoff: number,
): { lost: TimeWindow | null; from: number; to: number } {
  if (from >= cutoff) return { lost: null, from, to };
  const lostTo = Math.min(to, cutoff);
  return { lost: { from, to: lostTo }, from: Math.max(from, cutoff), to: Math.max(to, cutoff) };
}

/**
 * Adds `lost` to the unrecoverable windows: kept in time order, overlapping or touching windows
 * joined (the margin before a downtime that was cut at the bound overlaps the downtime's own lost
 * part), at most {@link MAX_UNRECOVERABLE} (the oldest are forgotten).
 */
function remember(list: readonly TimeWindow[], lost: readonly TimeWindow[]): TimeWindow[] {
  return unionWindows([...list, ...lost]).slice(-MAX_UNRECOVERABLE);
}

/** Result of {@link addGap}. */
export interface AddGapResult {
  /** The new ledger. */
  readonly ledger: GapLedger;
  /** The gap now covering the input (new, extended or an existing one), or `null` if nothing is left. */
  readonly gap: SyncGap | null;
  /** The part of the input before the recovery bound, or `null`. */
  readonly unrecoverable: TimeWindow | null;
}

/**
 * Adds a gap: the part before `cutoff` (now − maxRecoveryMs) is recorded as unrecoverable; an
 * empty remainder adds nothing; a gap already covered by one of the same mode is not added
 * twice; a pending downtime with the same heartbeat is extended (a start-up that crashed before
 * it wrote its heartbeat). When the ledger is full, a merge gap is merged with the nearest merge
 * gap (merge is idempotent, so syncing the time between them again is safe). Gaps in `busy` (the
 * plan of a run in progress, which may already have read past the new gap's data) are never
 * reused, extended or merged with: the new gap is added on its own and outlives that run.
 *
 * @throws {SyncError} `SYNC_LEDGER_FULL` when the ledger is full and the gap cannot be merged in.
 */
export function addGap(
  ledger: GapLedger,
  input: SyncGapInput,
  now: number,
  cutoff: number,
  busy: ReadonlySet<number> = new Set(),
): AddGapResult {
  const bounded = cut(input.from, input.to, cutoff);
  const unrecoverable = bounded.lost;
  const base: GapLedger =
    unrecoverable === null
      ? ledger
      : { ...ledger, unrecoverable: remember(ledger.unrecoverable, [unrecoverable]) };
  const pending = input.pendingMargins ?? null;
  const { from, to } = bounded;
  if (from >= to && pending === null) return { ledger: base, gap: null, unrecoverable };
  if (pending !== null) {
    const same = base.gaps.find(
      (g) => !busy.has(g.id) && g.pendingMargins?.heartbeat === pending.heartbeat,
    );
    if (same !== undefined) {
      const extended: SyncGap = { ...same, to: Math.max(same.to, to) };
      return {
        ledger: { ...base, gaps: base.gaps.map((g) => (g === same ? extended : g)) },
        gap: extended,
        unrecoverable,
      };
    }
  } else {
    const covering = base.gaps.find(
      (g) =>
        !busy.has(g.id) &&
        g.mode === input.mode &&
        g.pendingMargins === null &&
        g.from <= from &&
        to <= g.to,
    );
    if (covering !== undefined) return { ledger: base, gap: covering, unrecoverable };
  }
  const gap: SyncGap = {
    id: base.nextGapId,
    from,
    to: Math.max(from, to),
    mode: input.mode,
    reason: input.reason,
    addedAt: now,
    pendingMargins: pending,
  };
  if (base.gaps.length < MAX_GAPS) {
    return {
      ledger: { ...base, nextGapId: gap.id + 1, gaps: [...base.gaps, gap] },
      gap,
      unrecoverable,
    };
  }
  return { ...coalesce(base, gap, busy), unrecoverable };
}

function distance(a: { from: number; to: number }, b: { from: number; to: number }): number {
  return Math.max(0, Math.max(a.from, b.from) - Math.min(a.to, b.to));
}

function coalesce(
  ledger: GapLedger,
  gap: SyncGap,
  busy: ReadonlySet<number>,
): { ledger: GapLedger; gap: SyncGap } {
  let nearest: SyncGap | undefined;
  if (gap.mode === 'merge' && gap.pendingMargins === null) {
    for (const g of ledger.gaps) {
      if (g.mode !== 'merge' || g.pendingMargins !== null || busy.has(g.id)) continue;
      if (nearest === undefined || distance(g, gap) < distance(nearest, gap)) nearest = g;
    }
  }
  if (nearest === undefined) {
    throw new SyncError(
      'SYNC_LEDGER_FULL',
      `The gap ledger already holds ${MAX_GAPS} gaps and [${gap.from}, ${gap.to}) (${gap.mode}) cannot be merged into one of them; let a sync finish first.`,
    );
  }
  const hull: SyncGap = {
    ...gap,
    from: Math.min(nearest.from, gap.from),
    to: Math.max(nearest.to, gap.to),
    reason: nearest.reason === gap.reason ? gap.reason : 'reported',
  };
  return {
    ledger: {
      ...ledger,
      nextGapId: gap.id + 1,
      gaps: [...ledger.gaps.filter((g) => g !== nearest), hull],
    },
    gap: hull,
  };
}

/** Result of {@link applyMargins}. */
export interface ApplyMarginsResult {
  /** The new ledger (the same object when no gap had pending margins). */
  readonly ledger: GapLedger;
  /** Margins added. */
  readonly added: readonly SyncGap[];
  /** Parts of the margins before the recovery bound. */
  readonly unrecoverable: readonly TimeWindow[];
}

/**
 * Turns every downtime with pending margins into its three parts once the clock skew is known:
 * merge `[heartbeat − margin, from)`, overwrite `[from, to)`, merge `[to, to + margin)`. Empty
 * parts are left out; the recovery bound applies to the margins too.
 */
export function applyMargins(
  ledger: GapLedger,
  marginMs: number,
  now: number,
  cutoff: number,
): ApplyMarginsResult {
  if (!ledger.gaps.some((g) => g.pendingMargins !== null)) {
    return { ledger, added: [], unrecoverable: [] };
  }
  let nextGapId = ledger.nextGapId;
  const gaps: SyncGap[] = [];
  const added: SyncGap[] = [];
  const lost: TimeWindow[] = [];
  const margin = (from: number, to: number): void => {
    const bounded = cut(from, to, cutoff);
    if (bounded.lost !== null) lost.push(bounded.lost);
    if (bounded.from >= bounded.to) return;
    const gap: SyncGap = {
      id: nextGapId++,
      from: bounded.from,
      to: bounded.to,
      mode: 'merge',
      reason: 'margin',
      addedAt: now,
      pendingMargins: null,
    };
    gaps.push(gap);
    added.push(gap);
  };
  for (const gap of ledger.gaps) {
    if (gap.pendingMargins === null) {
      gaps.push(gap);
      continue;
    }
    margin(gap.pendingMargins.heartbeat - marginMs, gap.from);
    if (gap.from < gap.to) gaps.push({ ...gap, pendingMargins: null });
    margin(gap.to, gap.to + marginMs);
  }
  return {
    ledger: {
      ...ledger,
      nextGapId,
      gaps,
      unrecoverable:
        lost.length === 0 ? ledger.unrecoverable : remember(ledger.unrecoverable, lost),
    },
    added,
    unrecoverable: lost,
  };
}

/** A copy of `gap` (callers get copies: mutating one never changes the ledger). */
export function copyGap(gap: SyncGap): SyncGap {
  return {
    ...gap,
    pendingMargins:
      gap.pendingMargins === null ? null : { heartbeat: gap.pendingMargins.heartbeat },
  };
}

/** The ledger without the gaps whose ids are in `ids` (a finished run's plan). */
export function removeGaps(ledger: GapLedger, ids: ReadonlySet<number>): GapLedger {
  return { ...ledger, gaps: ledger.gaps.filter((g) => !ids.has(g.id)) };
}

/** The smallest window holding every gap, or `null` for none. */
export function hull(gaps: readonly SyncGap[]): TimeWindow | null {
  if (gaps.length === 0) return null;
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  for (const g of gaps) {
    from = Math.min(from, g.from);
    to = Math.max(to, g.to);
  }
  return { from, to };
}

// ---- durable formats -----------------------------------------------------------------------

function formatError(key: string, message: string): SyncError {
  return new SyncError(
    'SYNC_STATE_FORMAT',
    `The sync-state record "${key}" ${message}; it was left as it is. If it was written by a newer edge-ha, upgrade; otherwise remove the record to start over.`,
  );
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isTime(value: unknown): value is number {
  return Number.isSafeInteger(value);
}

function readWindow(value: unknown): TimeWindow | null {
  return isTimeWindow(value) ? { from: value.from, to: value.to } : null;
}

const MODES: ReadonlySet<string> = new Set(['overwrite', 'merge']);
const REASONS: ReadonlySet<string> = new Set([
  'downtime',
  'margin',
  'reported',
  'requested',
  'firstStart',
  'migrated',
  'follow',
]);

function readGap(value: unknown): SyncGap | null {
  if (!isObject(value)) return null;
  const { id, from, to, mode, reason, addedAt, pendingMargins } = value;
  if (!isTime(id) || id < 1 || !isTime(from) || !isTime(to) || from > to || !isTime(addedAt)) {
    return null;
  }
  if (typeof mode !== 'string' || !MODES.has(mode)) return null;
  if (typeof reason !== 'string' || !REASONS.has(reason)) return null;
  let pending: { heartbeat: number } | null = null;
  if (pendingMargins !== null && pendingMargins !== undefined) {
    if (!isObject(pendingMargins) || !isTime(pendingMargins.heartbeat)) return null;
    pending = { heartbeat: pendingMargins.heartbeat };
  }
  return {
    id,
    from,
    to,
    mode: mode as SyncGapMode,
    reason: reason as SyncGapReason,
    addedAt,
    pendingMargins: pending,
  };
}

/** What {@link readLedger} found. */
export interface ReadLedgerResult {
  /** The ledger. */
  readonly ledger: GapLedger;
  /**
   * For a record written by edge-ha 0.1.0 with a pending run: that run became gap
   * `gapId` (merge), and these are its checkpoints per progress name (an item id, or `@events`),
   * to be written as progress records before the ledger; `null` otherwise.
   */
  readonly migrated: {
    readonly gapId: number;
    readonly checkpoints: ReadonlyMap<string, number>;
  } | null;
}

/**
 * Reads a deputy record: format version 2, or the 0.1.0 record `{ lastUpToDate, heartbeat,
 * run }` (its pending run becomes a `migrated` merge gap, so nothing it would have recovered is
 * lost and nothing the node recorded is overwritten).
 *
 * @throws {SyncError} `SYNC_STATE_FORMAT` for a record this version does not understand.
 */
export function readLedger(
  value: JsonObject | undefined,
  key: string,
  now: number,
): ReadLedgerResult {
  if (value === undefined) return { ledger: EMPTY_LEDGER, migrated: null };
  if (value.format === undefined && 'run' in value && 'lastUpToDate' in value) {
    return migrateV1(value, key, now);
  }
  if (value.format !== DEPUTY_FORMAT) throw formatError(key, 'is not a deputy record');
  if (value.version !== SYNC_STATE_VERSION) {
    throw formatError(
      key,
      `has format version ${JSON.stringify(value.version)}, this edge-ha reads ${SYNC_STATE_VERSION}`,
    );
  }
  const { lastUpToDate, nextGapId, gaps, unrecoverable } = value;
  if (lastUpToDate !== null && !isTime(lastUpToDate))
    throw formatError(key, 'has a bad lastUpToDate');
  if (!isTime(nextGapId) || nextGapId < 1) throw formatError(key, 'has a bad nextGapId');
  if (!Array.isArray(gaps) || !Array.isArray(unrecoverable)) {
    throw formatError(key, 'has no gaps / unrecoverable lists');
  }
  const parsed: SyncGap[] = [];
  for (const raw of gaps) {
    const gap = readGap(raw);
    if (gap === null || gap.id >= nextGapId)
      throw formatError(key, `has a bad gap ${JSON.stringify(raw)}`);
    parsed.push(gap);
  }
  const lost: TimeWindow[] = [];
  for (const raw of unrecoverable) {
    const window = readWindow(raw);
    if (window === null)
      throw formatError(key, `has a bad unrecoverable window ${JSON.stringify(raw)}`);
    lost.push(window);
  }
  return {
    ledger: { lastUpToDate, nextGapId, gaps: parsed, unrecoverable: lost },
    migrated: null,
  };
}

function migrateV1(value: JsonObject, key: string, now: number): ReadLedgerResult {
  const { lastUpToDate, run } = value;
  if (lastUpToDate !== null && !isTime(lastUpToDate))
    throw formatError(key, 'has a bad lastUpToDate');
  if (run === null) {
    return { ledger: { ...EMPTY_LEDGER, lastUpToDate }, migrated: null };
  }
  const window = isObject(run) ? readWindow(run.window) : null;
  const checkpoints = isObject(run) ? run.checkpoints : undefined;
  if (window === null || !isObject(checkpoints)) throw formatError(key, 'has a bad pending run');
  const progress = new Map<string, number>();
  for (const [name, through] of Object.entries(checkpoints)) {
    if (!isTime(through))
      throw formatError(key, `has a bad checkpoint for ${JSON.stringify(name)}`);
    const clamped = Math.min(window.to, through);
    if (clamped > window.from) progress.set(name, clamped);
  }
  if (window.from === window.to) {
    return { ledger: { ...EMPTY_LEDGER, lastUpToDate }, migrated: null };
  }
  const gap: SyncGap = {
    id: 1,
    from: window.from,
    to: window.to,
    mode: 'merge',
    reason: 'migrated',
    addedAt: now,
    pendingMargins: null,
  };
  return {
    ledger: { lastUpToDate, nextGapId: 2, gaps: [gap], unrecoverable: [] },
    migrated: { gapId: 1, checkpoints: progress },
  };
}

/** The deputy record of `ledger` (format version 2). */
export function writeLedger(ledger: GapLedger): JsonObject {
  return {
    format: DEPUTY_FORMAT,
    version: SYNC_STATE_VERSION,
    lastUpToDate: ledger.lastUpToDate,
    nextGapId: ledger.nextGapId,
    gaps: ledger.gaps.map(
      (g): JsonObject => ({
        id: g.id,
        from: g.from,
        to: g.to,
        mode: g.mode,
        reason: g.reason,
        addedAt: g.addedAt,
        pendingMargins:
          g.pendingMargins === null ? null : { heartbeat: g.pendingMargins.heartbeat },
      }),
    ),
    unrecoverable: ledger.unrecoverable.map((w): JsonObject => ({ from: w.from, to: w.to })),
  };
}

/**
 * Progress of one item (or of the events) across the gaps of the ledger: gap id → everything of
 * that gap in `[gap.from, through)` is committed; `through >= gap.to` means done.
 */
export type GapProgress = ReadonlyMap<number, number>;

/**
 * Reads a progress record; an absent or unreadable one is no progress (the item is synced again
 * from the start of each gap, which is safe: replace and merge are idempotent).
 */
export function readProgress(value: JsonObject | undefined): Map<number, number> {
  const progress = new Map<number, number>();
  if (value === undefined || value.format !== PROGRESS_FORMAT || !isObject(value.done)) {
    return progress;
  }
  for (const [id, through] of Object.entries(value.done)) {
    const n = Number(id);
    if (Number.isSafeInteger(n) && isTime(through)) progress.set(n, through);
  }
  return progress;
}

/** The progress record of `progress`, keeping only gaps still in the ledger (`live`). */
export function writeProgress(progress: GapProgress, live: ReadonlySet<number> | null): JsonObject {
  const done: { [id: string]: JsonValue } = {};
  for (const [id, through] of progress) {
    if (live === null || live.has(id)) done[String(id)] = through;
  }
  return { format: PROGRESS_FORMAT, version: SYNC_STATE_VERSION, done };
}

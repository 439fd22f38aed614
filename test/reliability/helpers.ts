/**
 * Shared helpers of the reliability suites: run counts and replay, state dumps, the model of
 * what a sync must leave in the local store, the partial-state checks of a failed run, and a
 * peer wrapper that lets the node record live data while a sync runs.
 */

import { expect } from 'vitest';
import type { RemotePeer } from '../../src/peer/types.js';
import { collect, iterateEvents, iteratePoints } from '../../src/storage/iterate.js';
import type {
  EventRecord,
  JsonObject,
  Point,
  StorageAdapter,
  TimeWindow,
} from '../../src/storage/types.js';
import type { ManualClock } from '../../src/testing/manual-clock.js';

/**
 * Runs of a property suite: `EDGE_HA_RELIABILITY_RUNS` when set (long runs), else the CI default.
 */
export function runs(ciDefault: number): number {
  const raw = process.env.EDGE_HA_RELIABILITY_RUNS;
  const n = raw === undefined || raw === '' ? ciDefault : Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new Error(`EDGE_HA_RELIABILITY_RUNS must be a positive integer, got ${raw}`);
  }
  return n;
}

/**
 * fast-check parameters: run count, plus `EDGE_HA_SEED` / `EDGE_HA_PATH` to replay a failure
 * (fast-check prints both when a property fails).
 */
export function fcParams(ciDefault: number): { numRuns: number; seed?: number; path?: string } {
  const seed = process.env.EDGE_HA_SEED;
  const path = process.env.EDGE_HA_PATH;
  return {
    numRuns: runs(ciDefault),
    ...(seed === undefined || seed === '' ? {} : { seed: Number(seed) }),
    ...(path === undefined || path === '' ? {} : { path }),
  };
}

/** Every point per item and every event of a store. */
export interface Snapshot {
  readonly points: Record<string, Point[]>;
  readonly events: EventRecord[];
}

const ALL: TimeWindow = { from: Number.MIN_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER };

/** Every point of every item and every event, for state comparisons. */
export async function dump(storage: StorageAdapter): Promise<Snapshot> {
  const points: Record<string, Point[]> = {};
  for (const item of await storage.listItems()) {
    points[item] = await collect(iteratePoints(storage, item, ALL));
  }
  return { points, events: await collect(iterateEvents(storage, ALL)) };
}

/** Points of `points` with `from <= t < to`. */
export function within<T extends { t: number }>(points: readonly T[], window: TimeWindow): T[] {
  return points.filter((p) => p.t >= window.from && p.t < window.to);
}

/** Points of `points` outside `[from, to)`. */
export function outside<T extends { t: number }>(points: readonly T[], window: TimeWindow): T[] {
  return points.filter((p) => p.t < window.from || p.t >= window.to);
}

/** Whether `t` lies in one of `windows`. */
export function inAny(t: number, windows: readonly TimeWindow[]): boolean {
  return windows.some((w) => w.from <= t && t < w.to);
}

export const byTime = (a: { t: number }, b: { t: number }): number => a.t - b.t;
export const byEvent = (a: EventRecord, b: EventRecord): number =>
  a.t - b.t || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Points by timestamp. */
function index(points: readonly Point[] | undefined): Map<number, Point> {
  return new Map((points ?? []).map((p) => [p.t, p]));
}

/** What the node recorded itself while it was running (appended live, upserts by timestamp). */
export interface Live {
  /** Item → timestamp → the last live point written there. */
  readonly points: Map<string, Map<number, Point>>;
  /** Live events (ids that the remote never has). */
  readonly events: EventRecord[];
}

export function emptyLive(): Live {
  return { points: new Map(), events: [] };
}

/** Appends a live point to `storage` and remembers it in `live`. */
export async function recordLive(
  storage: StorageAdapter,
  live: Live,
  item: string,
  point: Point,
): Promise<void> {
  await storage.appendPoints(item, [point]);
  const points = live.points.get(item) ?? new Map<number, Point>();
  points.set(point.t, point);
  live.points.set(item, points);
}

/** Inserts a live event into `storage` and remembers it in `live`. */
export async function recordLiveEvent(
  storage: StorageAdapter,
  live: Live,
  event: EventRecord,
): Promise<void> {
  expect(await storage.insertEventsIfAbsent([event])).toBe(1);
  live.events.push(event);
}

/** The windows of one sync, by mode. */
export interface SyncPlan {
  /** Remote wins (downtime, or a window the test explicitly asked to overwrite). */
  readonly overwrite: readonly TimeWindow[];
  /** Local wins where it has a point, remote fills the rest. */
  readonly merge: readonly TimeWindow[];
  /** Items the time-series deputy syncs (local items the remote trends). */
  readonly items: readonly string[];
}

/**
 * The model: the local state a finished_ok sync of `plan` must leave, given the local state
 * before it, the remote, and what the node recorded live meanwhile. Per timestamp: a live point
 * stays; inside an overwrite window the remote's point (or none); inside a merge window the
 * local point if there is one, else the remote's; elsewhere the local point. Events: every local
 * event stays, remote events of any window are added when their id is absent.
 */
export function expectedState(
  before: Snapshot,
  remote: Snapshot,
  plan: SyncPlan,
  live: Live,
): Snapshot {
  const windows = [...plan.overwrite, ...plan.merge];
  // A synced item the node did not have yet appears once a gap of it is applied.
  const synced = windows.some((w) => w.from < w.to) ? plan.items : [];
  const items = new Set([...Object.keys(before.points), ...live.points.keys(), ...synced]);
  const points: Record<string, Point[]> = {};
  for (const item of [...items].sort()) {
    const local = index(before.points[item]);
    const mine = live.points.get(item) ?? new Map<number, Point>();
    const synced = plan.items.includes(item);
    const theirs = synced ? index(remote.points[item]) : new Map<number, Point>();
    const times = new Set([...local.keys(), ...mine.keys(), ...theirs.keys()]);
    const result: Point[] = [];
    for (const t of times) {
      let point: Point | undefined;
      if (mine.has(t)) point = mine.get(t);
      else if (synced && inAny(t, plan.overwrite)) point = theirs.get(t);
      else if (synced && inAny(t, plan.merge)) point = local.get(t) ?? theirs.get(t);
      else point = local.get(t);
      if (point !== undefined) result.push(point);
    }
    points[item] = result.sort(byTime);
  }
  const mineEvents = [...before.events, ...live.events];
  const ids = new Set(mineEvents.map((e) => e.id));
  const events = [
    ...mineEvents,
    ...remote.events.filter((e) => inAny(e.t, windows) && !ids.has(e.id)),
  ].sort(byEvent);
  return { points, events };
}

/**
 * What a failed or interrupted sync may leave (I2, I6, I9): every live point and every local
 * point outside the overwrite windows unchanged; every other point is a local or remote point
 * of a window (nothing invented, nothing changed outside the windows); every local and live event
 * unchanged; no event id twice; every other event a remote event of a window.
 */
export function checkPartial(
  before: Snapshot,
  remote: Snapshot,
  plan: SyncPlan,
  live: Live,
  now: Snapshot,
  context: string,
): void {
  const windows = [...plan.overwrite, ...plan.merge];
  const items = new Set([...Object.keys(before.points), ...live.points.keys()]);
  for (const item of Object.keys(now.points)) {
    expect(
      items.has(item) || plan.items.includes(item),
      `unexpected item ${item}: ${context}`,
    ).toBe(true);
  }
  for (const item of new Set([...items, ...Object.keys(now.points)])) {
    const local = index(before.points[item]);
    const mine = live.points.get(item) ?? new Map<number, Point>();
    const theirs = index(remote.points[item]);
    const stored = index(now.points[item]);
    for (const [t, point] of mine) {
      expect(stored.get(t), `I9 live point ${item}@${t}: ${context}`).toEqual(point);
    }
    for (const [t, point] of local) {
      if (mine.has(t) || inAny(t, plan.overwrite)) continue;
      expect(stored.get(t), `I2/I9 local point ${item}@${t} outside overwrite: ${context}`).toEqual(
        point,
      );
    }
    for (const [t, point] of stored) {
      if (mine.has(t)) continue;
      const candidates: (Point | undefined)[] = [local.get(t)];
      if (plan.items.includes(item) && inAny(t, windows)) candidates.push(theirs.get(t));
      expect(
        candidates.some((c) => c !== undefined && JSON.stringify(c) === JSON.stringify(point)),
        `${item}@${t}=${JSON.stringify(point)} is neither the local point nor a remote point of a window: ${context}`,
      ).toBe(true);
    }
  }
  const ids = now.events.map((e) => e.id);
  expect(new Set(ids).size, `I3 duplicate event ids ${ids.join(',')}: ${context}`).toBe(ids.length);
  const byId = new Map(now.events.map((e) => [e.id, e]));
  const mineEvents = [...before.events, ...live.events];
  for (const event of mineEvents) {
    expect(byId.get(event.id), `I2 local event ${event.id}: ${context}`).toEqual(event);
  }
  const mineIds = new Set(mineEvents.map((e) => e.id));
  const remoteById = new Map(remote.events.map((e) => [e.id, e]));
  for (const event of now.events) {
    if (mineIds.has(event.id)) continue;
    expect(inAny(event.t, windows), `event ${event.id} outside every window: ${context}`).toBe(
      true,
    );
    expect(remoteById.get(event.id), `event ${event.id} is not the remote's: ${context}`).toEqual(
      event,
    );
  }
}

/**
 * Runs `promise` on the manual clock (retries, back-off and reply timeouts cost no real time);
 * fails instead of hanging when it stalls with no timer left.
 */
export async function drive<T>(
  clock: ManualClock,
  promise: Promise<T>,
  context: () => string,
): Promise<T> {
  let settled = false;
  promise.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await clock.runUntilSettled(
    promise.catch(() => undefined),
    100_000,
  );
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (!settled) throw new Error(`the sync stalled with no timer pending: ${context()}`);
  return promise;
}

/**
 * Wraps a peer so the test can act between its calls: `before(n)` runs (and is awaited) before
 * call `n` (0-based, every operation counts) is forwarded. The node records live data there,
 * while its sync is in the middle of a run.
 */
export function interleavingPeer(
  inner: RemotePeer,
  before: (call: number) => Promise<void>,
): RemotePeer {
  let calls = 0;
  const step = async (): Promise<void> => before(calls++);
  return {
    label: inner.label,
    hello: async (options) => {
      await step();
      return inner.hello(options);
    },
    listItems: async (options) => {
      await step();
      return inner.listItems(options);
    },
    readPoints: async (item, window, page, options) => {
      await step();
      return inner.readPoints(item, window, page, options);
    },
    readEvents: async (window, page, options) => {
      await step();
      return inner.readEvents(window, page, options);
    },
  };
}

/** A deputy record (format version 2) as the tests seed it. */
export function ledgerRecord(lastUpToDate: number | null): JsonObject {
  return {
    format: 'edge-ha.deputy',
    version: 2,
    lastUpToDate,
    nextGapId: 1,
    gaps: [],
    unrecoverable: [],
  };
}

/** The LastUpToDate and gaps stored in a deputy record (`undefined` fields when absent). */
export async function readLedger(
  storage: StorageAdapter,
  key: string,
): Promise<{ lastUpToDate: number | null; gaps: JsonObject[] }> {
  const record = await storage.readSyncState(key);
  return {
    lastUpToDate: (record?.lastUpToDate as number | null | undefined) ?? null,
    gaps: (record?.gaps as JsonObject[] | undefined) ?? [],
  };
}

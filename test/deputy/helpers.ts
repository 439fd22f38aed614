/** Test helpers for deputies and the governor: a fault-injecting peer, a spying storage, dumps. */

import type { SyncGap } from '../../src/deputy/ledger.js';
import { PeerError } from '../../src/errors.js';
import { localPeer } from '../../src/peer/local.js';
import type { RemotePeer } from '../../src/peer/types.js';
import { collect, iterateEvents, iteratePoints } from '../../src/storage/iterate.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type {
  EventRecord,
  JsonObject,
  PageRequest,
  Point,
  StorageAdapter,
  SyncWriteOptions,
  TimeWindow,
} from '../../src/storage/types.js';
import { ManualClock } from '../../src/testing/manual-clock.js';

export type PeerOp = 'hello' | 'listItems' | 'readPoints' | 'readEvents';

export interface PeerCall {
  readonly op: PeerOp;
  readonly n: number;
  readonly args: readonly unknown[];
}

/** What a fault rule returns: an error to throw, `'hang'` (never answers), a reply, or nothing. */
export type Fault = Error | 'hang' | { readonly reply: unknown } | undefined;

export interface FaultPeer extends RemotePeer {
  readonly calls: PeerCall[];
  /** Highest number of readPoints/readEvents calls in flight at once. */
  readonly maxInFlight: () => number;
  /** Highest number of calls in flight at once for one item. */
  readonly maxInFlightPerItem: () => number;
}

/** Wraps a peer; `rule(call)` may inject an error, a hang or a forged reply for any call. */
export function faultPeer(
  inner: RemotePeer,
  rule: (call: PeerCall) => Fault = () => undefined,
  label: string = inner.label,
): FaultPeer {
  const calls: PeerCall[] = [];
  const counts = new Map<PeerOp, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  const perItem = new Map<string, number>();
  let maxPerItem = 0;
  const wrap = async (op: PeerOp, args: unknown[], call: () => Promise<unknown>) => {
    const n = (counts.get(op) ?? 0) + 1;
    counts.set(op, n);
    const record = { op, n, args };
    calls.push(record);
    const item = op === 'readPoints' ? String(args[0]) : op === 'readEvents' ? '@events' : null;
    if (item !== null) {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      perItem.set(item, (perItem.get(item) ?? 0) + 1);
      maxPerItem = Math.max(maxPerItem, perItem.get(item) ?? 0);
    }
    try {
      // let other workers interleave, so concurrency is observable
      await Promise.resolve();
      const fault = rule(record);
      if (fault === 'hang') return await new Promise<never>(() => {});
      if (fault instanceof Error) throw fault;
      if (fault !== undefined) return fault.reply;
      return await call();
    } finally {
      if (item !== null) {
        inFlight--;
        perItem.set(item, (perItem.get(item) ?? 1) - 1);
      }
    }
  };
  return {
    label,
    calls,
    maxInFlight: () => maxInFlight,
    maxInFlightPerItem: () => maxPerItem,
    hello: (options) => wrap('hello', [], () => inner.hello(options)) as never,
    listItems: (options) => wrap('listItems', [], () => inner.listItems(options)) as never,
    readPoints: (item, window, page, options) =>
      wrap('readPoints', [item, window, page], () =>
        inner.readPoints(item, window, page, options),
      ) as never,
    readEvents: (window, page, options) =>
      wrap('readEvents', [window, page], () => inner.readEvents(window, page, options)) as never,
  };
}

/** The windows read by the `readPoints` calls of `peer` for `item`. */
export function pointReads(peer: FaultPeer, item: string): TimeWindow[] {
  return peer.calls
    .filter((call) => call.op === 'readPoints' && call.args[0] === item)
    .map((call) => call.args[1] as TimeWindow);
}

export const unreachable = (): PeerError =>
  new PeerError('PEER_UNREACHABLE', 'connection refused (injected)');

/** A clock for the deputy and a local peer on `remote` reading the same clock (no skew). */
export function linked(
  remote: StorageAdapter,
  now = 1_000,
  instanceId?: string,
): { clock: ManualClock; peer: RemotePeer } {
  const clock = new ManualClock(now);
  return {
    clock,
    peer: localPeer(remote, instanceId === undefined ? { clock } : { clock, instanceId }),
  };
}

/** One storage call seen by {@link spyStorage}. */
export interface StorageCall {
  readonly op: 'replacePoints' | 'mergePoints' | 'insertEventsIfAbsent' | 'writeSyncState';
  /** The item of a point write, or `null`. */
  readonly item: string | null;
  /** The number of records handed over (0 for writeSyncState). */
  readonly records: number;
  /** The sync-state key written by the call (its `options.syncState`, or writeSyncState's key). */
  readonly key: string | null;
  /** The sync-state record written with it, or `null`. */
  readonly value: JsonObject | null;
}

/** Wraps a storage and records every write call (data writes and sync-state writes), in order. */
export function spyStorage(inner: StorageAdapter): StorageAdapter & { calls: StorageCall[] } {
  const calls: StorageCall[] = [];
  const state = (options: SyncWriteOptions | undefined) => ({
    key: options?.syncState?.key ?? null,
    value: options?.syncState?.value ?? null,
  });
  return {
    calls,
    get capabilities() {
      return inner.capabilities;
    },
    registerItems: (items: readonly string[]) => inner.registerItems(items),
    listItems: () => inner.listItems(),
    readPoints: (item: string, window: TimeWindow, page: PageRequest) =>
      inner.readPoints(item, window, page),
    replacePoints: (
      item: string,
      window: TimeWindow,
      points: readonly Point[],
      options?: SyncWriteOptions,
    ) => {
      calls.push({ op: 'replacePoints', item, records: points.length, ...state(options) });
      return inner.replacePoints(item, window, points, options);
    },
    mergePoints: (
      item: string,
      window: TimeWindow,
      points: readonly Point[],
      options?: SyncWriteOptions,
    ) => {
      calls.push({ op: 'mergePoints', item, records: points.length, ...state(options) });
      return inner.mergePoints(item, window, points, options);
    },
    appendPoints: (item: string, points: readonly Point[]) => inner.appendPoints(item, points),
    readEvents: (window: TimeWindow, page: PageRequest) => inner.readEvents(window, page),
    insertEventsIfAbsent: (events: readonly EventRecord[], options?: SyncWriteOptions) => {
      calls.push({
        op: 'insertEventsIfAbsent',
        item: null,
        records: events.length,
        ...state(options),
      });
      return inner.insertEventsIfAbsent(events, options);
    },
    readSyncState: (k: string) => inner.readSyncState(k),
    writeSyncState: (k: string, value: JsonObject) => {
      calls.push({ op: 'writeSyncState', item: null, records: 0, key: k, value });
      return inner.writeSyncState(k, value);
    },
    close: () => inner.close(),
    [Symbol.asyncDispose]: () => inner.close(),
  };
}

/** The gaps of a deputy record as written to storage. */
export function recordGaps(value: JsonObject | null | undefined): SyncGap[] {
  return ((value as { gaps?: unknown } | null | undefined)?.gaps ?? []) as SyncGap[];
}

const ALL: TimeWindow = { from: Number.MIN_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER };

/** Every point of every item and every event, for state comparisons. */
export async function dump(
  storage: StorageAdapter,
): Promise<{ points: Record<string, Point[]>; events: EventRecord[] }> {
  const points: Record<string, Point[]> = {};
  for (const item of await storage.listItems()) {
    points[item] = await collect(iteratePoints(storage, item, ALL));
  }
  return { points, events: await collect(iterateEvents(storage, ALL)) };
}

/** Builds a memory storage from plain data (items listed even without points). */
export async function memory(
  points: Record<string, readonly Point[]> = {},
  events: readonly EventRecord[] = [],
  items: readonly string[] = [],
): Promise<MemoryStorageAdapter> {
  const storage = new MemoryStorageAdapter({ points, events });
  if (items.length > 0) await storage.registerItems(items);
  return storage;
}

export const pts = (...pairs: [number, number | string | null][]): Point[] =>
  pairs.map(([t, v]) => ({ t, v }));

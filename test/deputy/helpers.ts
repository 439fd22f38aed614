/** Test helpers for deputies and the governor: fault-injecting peer/storage wrappers, dumps. */

import { PeerError, StorageError } from '../../src/errors.js';
import type { RemotePeer } from '../../src/peer/types.js';
import { collect, iterateEvents, iteratePoints } from '../../src/storage/iterate.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import type {
  EventRecord,
  Point,
  StorageAdapter,
  SyncStateRecord,
  TimeWindow,
} from '../../src/storage/types.js';

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

export const unreachable = (): PeerError =>
  new PeerError('PEER_UNREACHABLE', 'connection refused (injected)');

export type StorageOp = keyof Omit<StorageAdapter, 'capabilities' | typeof Symbol.asyncDispose>;

/**
 * Wraps a storage; from the `crashAt`-th call on (1-based, counting every call), every call
 * throws — a process that died inside (`after: true`: the call took effect) or before an adapter
 * call. Also records the largest batch handed to replacePoints / insertEventsIfAbsent.
 */
export function crashingStorage(
  inner: StorageAdapter,
  options: { crashAt?: number; after?: boolean; ops?: readonly StorageOp[] } = {},
): StorageAdapter & { calls: number; crashed: () => boolean; maxBatch: () => number } {
  let calls = 0;
  let crashed = false;
  let maxBatch = 0;
  const guard = async <T>(op: StorageOp, run: () => Promise<T>): Promise<T> => {
    const counted = options.ops === undefined || options.ops.includes(op);
    if (counted) calls++;
    if (crashed) throw new StorageError('STORAGE_BACKEND', `injected crash (dead) in ${op}`);
    if (counted && options.crashAt !== undefined && calls >= options.crashAt) {
      crashed = true;
      if (options.after) await run();
      throw new StorageError('STORAGE_BACKEND', `injected crash in ${op}`);
    }
    return run();
  };
  const wrapper = {
    capabilities: inner.capabilities,
    get calls() {
      return calls;
    },
    crashed: () => crashed,
    maxBatch: () => maxBatch,
    registerItems: (items: readonly string[]) =>
      guard('registerItems', () => inner.registerItems(items)),
    listItems: () => guard('listItems', () => inner.listItems()),
    readPoints: (item: string, window: TimeWindow, page: { limit: number; cursor?: string }) =>
      guard('readPoints', () => inner.readPoints(item, window, page)),
    replacePoints: (item: string, window: TimeWindow, points: readonly Point[]) => {
      maxBatch = Math.max(maxBatch, points.length);
      return guard('replacePoints', () => inner.replacePoints(item, window, points));
    },
    appendPoints: (item: string, points: readonly Point[]) =>
      guard('appendPoints', () => inner.appendPoints(item, points)),
    readEvents: (window: TimeWindow, page: { limit: number; cursor?: string }) =>
      guard('readEvents', () => inner.readEvents(window, page)),
    insertEventsIfAbsent: (events: readonly EventRecord[]) => {
      maxBatch = Math.max(maxBatch, events.length);
      return guard('insertEventsIfAbsent', () => inner.insertEventsIfAbsent(events));
    },
    readSyncState: (key: string) => guard('readSyncState', () => inner.readSyncState(key)),
    writeSyncState: (key: string, state: SyncStateRecord) =>
      guard('writeSyncState', () => inner.writeSyncState(key, state)),
    close: () => inner.close(),
    [Symbol.asyncDispose]: () => inner.close(),
  };
  return wrapper as never;
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

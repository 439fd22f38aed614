/**
 * `faultyStorage`: wraps a {@link StorageAdapter} and simulates a process crash inside the N-th
 * adapter call, before or after the call commits.
 */

import { StorageError, SyncError } from '../../errors.js';
import type {
  EventRecord,
  PageRequest,
  Point,
  StorageAdapter,
  SyncStateValue,
  SyncWriteOptions,
  TimeWindow,
} from '../../storage/types.js';
import { markInjected } from './injected.js';

/** The adapter methods a {@link FaultyStorage} counts (everything but `close`). */
export type FaultyStorageOperation =
  | 'registerItems'
  | 'listItems'
  | 'readPoints'
  | 'replacePoints'
  | 'mergePoints'
  | 'appendPoints'
  | 'readEvents'
  | 'insertEventsIfAbsent'
  | 'readSyncState'
  | 'writeSyncState';

/** Every {@link FaultyStorageOperation}. */
export const FAULTY_STORAGE_OPERATIONS: readonly FaultyStorageOperation[] = Object.freeze([
  'registerItems',
  'listItems',
  'readPoints',
  'replacePoints',
  'mergePoints',
  'appendPoints',
  'readEvents',
  'insertEventsIfAbsent',
  'readSyncState',
  'writeSyncState',
]);

/**
 * When the simulated crash happens relative to the inner call: `before` (the call never reached
 * the store) or `after` (the call committed, but the process died before it could return). For a
 * sync write with a `syncState` record, `after` means its data and the record are committed and
 * `before` means neither is.
 */
export type CrashMode = 'before' | 'after';

/** Options of {@link faultyStorage}. */
export interface FaultyStorageOptions {
  /**
   * Number (1-based) of the counted adapter call that crashes. From then on the adapter is dead:
   * every call rejects, as if the process had died. Without it, nothing crashes (the wrapper
   * only counts calls, e.g. to learn how many a run makes).
   */
  readonly crashAt?: number;
  /**
   * Crash before or after the inner call commits.
   * @default 'before'
   */
  readonly mode?: CrashMode;
  /**
   * Only these operations are counted (and can crash).
   * @default every operation
   */
  readonly operations?: readonly FaultyStorageOperation[];
}

/** Where a {@link FaultyStorage} crashed. */
export interface StorageCrash {
  /** Number (1-based) of the counted call that crashed. */
  readonly call: number;
  /** The operation. */
  readonly operation: FaultyStorageOperation;
  /** Before or after the inner call committed. */
  readonly mode: CrashMode;
}

/** A {@link StorageAdapter} that crashes on cue, returned by {@link faultyStorage}. */
export interface FaultyStorage extends StorageAdapter {
  /** The wrapped adapter (reopen or reuse it to "restart" after the crash). */
  readonly inner: StorageAdapter;
  /** Counted calls so far. */
  readonly calls: number;
  /** Operations of the counted calls, in order (a live, read-only view). */
  readonly log: readonly FaultyStorageOperation[];
  /** Where the crash happened, or `null` before it. */
  readonly crashed: StorageCrash | null;
  /**
   * Largest number of records handed to one `replacePoints`, `mergePoints`, `appendPoints` or
   * `insertEventsIfAbsent` call: a deputy keeps it at or below its page size (memory is bounded by the page size, never by the size of the gaps).
   */
  readonly maxBatch: number;
}

function invalid(message: string): SyncError {
  return new SyncError('SYNC_INVALID_OPTION', `faultyStorage: ${message}`);
}

/**
 * Wraps `adapter` to simulate a crash of the process inside an adapter call: the `crashAt`-th
 * counted call throws a coded `StorageError` (`STORAGE_BACKEND`, recognised by
 * {@link isInjectedFault}) either before it reaches `adapter` or after `adapter` committed it; every
 * later call rejects too (the process is dead). "Restart" by building new deputies or a new
 * governor on `storage.inner` (or on a reopened file), run again, and compare with an
 * uninterrupted run (a crash at any point of a sync loses nothing: the restarted run ends in the same state).
 *
 * Calls are counted in the order they are made, which is deterministic for a given run. Run once
 * without `crashAt` to learn the number of calls, then sweep `crashAt` over `1..calls`.
 *
 * @param adapter - The adapter to wrap.
 * @param options - Crash point and mode.
 * @returns The wrapper, with `calls`, `log`, `crashed` and `maxBatch`.
 * @throws {SyncError} `SYNC_INVALID_OPTION` for a bad option.
 *
 * @example
 * ```ts
 * import { MemoryStorageAdapter, type RemotePeer, type TimeWindow, TimeSeriesDeputy } from 'edge-ha';
 * import { faultyStorage } from 'edge-ha/testing';
 *
 * declare const local: MemoryStorageAdapter;
 * declare const peer: RemotePeer;
 * declare const window: TimeWindow;
 * const storage = faultyStorage(local, { crashAt: 7, mode: 'after' });
 * await new TimeSeriesDeputy({ storage, peer }).run(window); // finished_with_error
 * const summary = await new TimeSeriesDeputy({ storage: storage.inner, peer }).run(window);
 * // summary.state === 'finished_ok' and the data equals an uninterrupted run's
 * ```
 */
export function faultyStorage(
  adapter: StorageAdapter,
  options: FaultyStorageOptions = {},
): FaultyStorage {
  if (typeof adapter !== 'object' || adapter === null || typeof adapter.readPoints !== 'function') {
    throw invalid('the first argument must be a StorageAdapter.');
  }
  const { crashAt } = options;
  if (crashAt !== undefined && (!Number.isSafeInteger(crashAt) || crashAt < 1)) {
    throw invalid(
      `crashAt must be a positive integer (1-based call number); got ${String(crashAt)}.`,
    );
  }
  const mode = options.mode ?? 'before';
  if (mode !== 'before' && mode !== 'after') {
    throw invalid(`mode must be 'before' or 'after'; got ${String(mode)}.`);
  }
  const counted = options.operations ?? FAULTY_STORAGE_OPERATIONS;
  if (
    !Array.isArray(counted) ||
    counted.some((op) => !FAULTY_STORAGE_OPERATIONS.includes(op as FaultyStorageOperation))
  ) {
    throw invalid(
      `operations must list adapter methods (${FAULTY_STORAGE_OPERATIONS.join(', ')}).`,
    );
  }
  let calls = 0;
  let maxBatch = 0;
  let crashed: StorageCrash | null = null;
  const log: FaultyStorageOperation[] = [];

  const dead = (operation: FaultyStorageOperation): StorageError =>
    markInjected(
      new StorageError(
        'STORAGE_BACKEND',
        crashed === null
          ? `${operation}: injected crash`
          : `${operation}: the process crashed (injected) in ${crashed.operation}, call #${crashed.call}, ${crashed.mode} commit; restart on the inner adapter.`,
      ),
    );

  async function guard<T>(operation: FaultyStorageOperation, call: () => Promise<T>): Promise<T> {
    if (crashed !== null) throw dead(operation);
    if (!counted.includes(operation)) return call();
    calls++;
    log.push(operation);
    if (crashAt === undefined || calls !== crashAt) return call();
    if (mode === 'after') {
      // The call commits (its own failure, if any, is the real outcome), then the process dies.
      const result = call();
      crashed = { call: calls, operation, mode };
      await result;
    } else {
      crashed = { call: calls, operation, mode };
    }
    throw dead(operation);
  }

  const batch = (size: number): void => {
    maxBatch = Math.max(maxBatch, size);
  };

  const wrapper: FaultyStorage = {
    get capabilities() {
      return adapter.capabilities;
    },
    inner: adapter,
    get calls() {
      return calls;
    },
    get log() {
      return log;
    },
    get crashed() {
      return crashed;
    },
    get maxBatch() {
      return maxBatch;
    },
    registerItems: (items: readonly string[]) =>
      guard('registerItems', () => adapter.registerItems(items)),
    listItems: () => guard('listItems', () => adapter.listItems()),
    readPoints: (item: string, window: TimeWindow, page: PageRequest) =>
      guard('readPoints', () => adapter.readPoints(item, window, page)),
    replacePoints: (
      item: string,
      window: TimeWindow,
      points: readonly Point[],
      options?: SyncWriteOptions,
    ) => {
      if (Array.isArray(points)) batch(points.length);
      return guard('replacePoints', () => adapter.replacePoints(item, window, points, options));
    },
    mergePoints: (
      item: string,
      window: TimeWindow,
      points: readonly Point[],
      options?: SyncWriteOptions,
    ) => {
      if (Array.isArray(points)) batch(points.length);
      return guard('mergePoints', () => adapter.mergePoints(item, window, points, options));
    },
    appendPoints: (item: string, points: readonly Point[]) => {
      if (Array.isArray(points)) batch(points.length);
      return guard('appendPoints', () => adapter.appendPoints(item, points));
    },
    readEvents: (window: TimeWindow, page: PageRequest) =>
      guard('readEvents', () => adapter.readEvents(window, page)),
    insertEventsIfAbsent: (events: readonly EventRecord[], options?: SyncWriteOptions) => {
      if (Array.isArray(events)) batch(events.length);
      return guard('insertEventsIfAbsent', () => adapter.insertEventsIfAbsent(events, options));
    },
    readSyncState: (key: string) => guard('readSyncState', () => adapter.readSyncState(key)),
    writeSyncState: (key: string, value: SyncStateValue) =>
      guard('writeSyncState', () => adapter.writeSyncState(key, value)),
    close: () => adapter.close(),
    [Symbol.asyncDispose]: () => adapter.close(),
  };
  return wrapper;
}

/**
 * `localPeer`: serves a storage adapter as a {@link RemotePeer} and {@link PeerWriter} in the same
 * process (tests, simulations, two instances sharing one Node process).
 */

import { type Clock, systemClock } from '../clock.js';
import { isEdgeHaError, PeerError } from '../errors.js';
import type { StorageAdapter, TimeWindow } from '../storage/types.js';
import { helloGaps } from './gaps.js';
import {
  PEER_PROTOCOL_VERSION,
  type PeerCallOptions,
  type PeerWriter,
  type RemotePeer,
} from './types.js';

/**
 * Options of {@link localPeer}.
 *
 * @group Peer protocol
 */
export interface LocalPeerOptions {
  /**
   * The instance id `hello()` reports; also used in the label `local:<instanceId>`.
   * @default 'local'
   */
  readonly instanceId?: string;
  /**
   * Clock whose time `hello()` reports.
   * @default systemClock
   */
  readonly clock?: Clock;
  /**
   * The windows this instance is missing itself, listed as `gaps` by every `hello()` (called
   * per hello; see `PeerHandlerOptions.gaps`). A throwing hook counts as no gaps.
   * @default undefined (hello lists no gaps)
   * @example
   * ```ts
   * import { type HAGovernor, localPeer, type StorageAdapter } from 'edge-ha';
   *
   * declare const storage: StorageAdapter; // instance b's storage, in this process
   * declare const governor: HAGovernor; // instance b's governor
   *
   * const peer = localPeer(storage, { instanceId: 'b', gaps: () => governor.missingWindows() });
   * ```
   */
  readonly gaps?: () => readonly TimeWindow[];
}

/**
 * What {@link localPeer} returns: a {@link RemotePeer} (reads) that is also a {@link PeerWriter}.
 *
 * @group Peer protocol
 */
export interface LocalPeer extends RemotePeer, PeerWriter {}

const BAD_REQUEST_CODES: ReadonlySet<string> = new Set([
  'STORAGE_INVALID_WINDOW',
  'STORAGE_INVALID_CURSOR',
  'STORAGE_INVALID_PAGE',
  'STORAGE_INVALID_ITEM',
  'STORAGE_INVALID_RECORD',
  'STORAGE_VALUE_OUT_OF_RANGE',
]);

function toPeerError(error: unknown, label: string, what: string): PeerError {
  if (error instanceof PeerError) return error;
  const code = isEdgeHaError(error) ? error.code : 'UNKNOWN';
  const message = error instanceof Error ? error.message : String(error);
  if (BAD_REQUEST_CODES.has(code)) {
    return new PeerError('PEER_BAD_REQUEST', `${label} rejected ${what}: ${message}`, {
      cause: error,
    });
  }
  // STORAGE_CLOSED, STORAGE_SCHEMA, ... will not heal by retrying; STORAGE_BACKEND (I/O) may.
  const transient = code === 'STORAGE_BACKEND';
  return new PeerError('PEER_UNAVAILABLE', `${label} could not serve ${what}: ${message}`, {
    cause: error,
    transient,
  });
}

function checkSignal(options: PeerCallOptions | undefined, label: string): void {
  if (options?.signal?.aborted) {
    throw new PeerError('PEER_ABORTED', `The call to ${label} was aborted.`, {
      cause: options.signal.reason,
      transient: false,
    });
  }
}

/**
 * A {@link RemotePeer} and {@link PeerWriter} over `storage` directly. `readPoints` of an item not
 * in `storage.listItems()` rejects with `PEER_UNKNOWN_ITEM`; `writePoints` is
 * `storage.appendPoints`, `writeEvents` is `storage.insertEventsIfAbsent` (no permission check:
 * whoever holds the object may write). Storage errors become `PeerError`s (`PEER_BAD_REQUEST`
 * for invalid arguments or records, `PEER_UNAVAILABLE` otherwise, transient only for
 * `STORAGE_BACKEND`).
 *
 * @example
 * ```ts
 * import { localPeer, MemoryStorageAdapter, TimeSeriesDeputy } from 'edge-ha';
 *
 * const local = new MemoryStorageAdapter();
 * const remote = new MemoryStorageAdapter({ points: { 'plant/temp': [{ t: 1, v: 20 }] } });
 * const peer = localPeer(remote, { instanceId: 'b' });
 * await peer.writePoints('plant/temp', [{ t: 2, v: 21 }]);
 * const deputy = new TimeSeriesDeputy({ storage: local, peer });
 * await deputy.run({ from: 0, to: 10 }); // local now holds both points
 * ```
 *
 * @group Peer protocol
 */
export function localPeer(storage: StorageAdapter, options: LocalPeerOptions = {}): LocalPeer {
  const instanceId = options.instanceId ?? 'local';
  const clock = options.clock ?? systemClock;
  const gaps = options.gaps;
  const label = `local:${instanceId}`;
  const guard = async <T>(
    what: string,
    callOptions: PeerCallOptions | undefined,
    call: () => Promise<T>,
  ): Promise<T> => {
    checkSignal(callOptions, label);
    try {
      return await call();
    } catch (error) {
      throw toPeerError(error, label, what);
    }
  };
  // Items once trended stay trended (the contract has no removal): cache them, and list the
  // store again only for an id not seen yet, so a first page costs O(1), not O(items).
  let known: ReadonlySet<string> = new Set();
  const trends = async (item: string): Promise<boolean> => {
    if (known.has(item)) return true;
    known = new Set(await storage.listItems());
    return known.has(item);
  };
  return Object.freeze({
    label,
    hello: (callOptions?: PeerCallOptions) =>
      guard('hello', callOptions, async () => ({
        instanceId,
        protocolVersion: PEER_PROTOCOL_VERSION,
        now: clock.now(),
        ...(gaps === undefined ? {} : { gaps: helloGaps(gaps) }),
      })),
    listItems: (callOptions?: PeerCallOptions) =>
      guard('listItems', callOptions, () => storage.listItems()),
    readPoints: (item, window, page, callOptions) =>
      guard(`readPoints of item ${JSON.stringify(item)}`, callOptions, async () => {
        if (page?.cursor === undefined && !(await trends(item))) {
          throw new PeerError(
            'PEER_UNKNOWN_ITEM',
            `${label} does not trend item ${JSON.stringify(item)}.`,
          );
        }
        return storage.readPoints(item, window, page);
      }),
    readEvents: (window, page, callOptions) =>
      guard('readEvents', callOptions, () => storage.readEvents(window, page)),
    writePoints: (item, points, callOptions) =>
      guard(`writePoints of item ${JSON.stringify(item)}`, callOptions, () =>
        storage.appendPoints(item, points),
      ),
    writeEvents: (events, callOptions) =>
      guard('writeEvents', callOptions, () => storage.insertEventsIfAbsent(events)),
  } satisfies LocalPeer);
}

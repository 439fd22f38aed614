/**
 * The remote peer contracts: how a deputy reads from the instance it catches up from
 * ({@link RemotePeer}) and how data is delivered into an instance ({@link PeerWriter}). Both are
 * implemented in-process by `localPeer(storage)` and over HTTP by `httpPeer(options)`.
 */

import type { EventRecord, Page, PageRequest, Point, TimeWindow } from '../storage/types.js';

/**
 * Protocol version spoken by this release of edge-ha.
 *
 * @group Peer protocol
 */
export const PEER_PROTOCOL_VERSION = 1;

/**
 * Per-call options of a {@link RemotePeer}.
 *
 * @group Peer protocol
 */
export interface PeerCallOptions {
  /** Aborts the call; it then rejects with `PEER_ABORTED`. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * The remote's identity, returned by {@link RemotePeer.hello}.
 *
 * @group Peer protocol
 */
export interface PeerHello {
  /** The remote instance's id. */
  readonly instanceId: string;
  /** Protocol version the remote speaks. */
  readonly protocolVersion: number;
  /** The remote's current time, epoch ms (used to report clock skew). */
  readonly now: number;
  /**
   * Windows the remote is missing itself (its own gap ledger: it was down too, or has not caught
   * up yet), at most 1000 (edge-ha's peers send them sorted and disjoint). A deputy takes the
   * parts of its gaps that fall in them from another peer when one has them. Absent (a peer
   * that does not say, such as an older edge-ha) means no gaps.
   */
  readonly gaps?: readonly TimeWindow[];
}

/**
 * The remote side of a sync. Every method rejects with a `PeerError` whose `transient` flag tells
 * the deputy whether to retry.
 *
 * @group Peer protocol
 */
export interface RemotePeer {
  /** A human-readable label (e.g. the URL) used in status and messages. */
  readonly label: string;
  /** Checks the remote is there and returns its identity and clock. */
  hello(options?: PeerCallOptions): Promise<PeerHello>;
  /** The items the remote trends. */
  listItems(options?: PeerCallOptions): Promise<string[]>;
  /**
   * One page of an item's points in `window`, ascending by `t`. An item the remote does not know
   * rejects with `PEER_UNKNOWN_ITEM`.
   */
  readPoints(
    item: string,
    window: TimeWindow,
    page: PageRequest,
    options?: PeerCallOptions,
  ): Promise<Page<Point>>;
  /** One page of events in `window`, ascending by `(t, id)`. */
  readEvents(
    window: TimeWindow,
    page: PageRequest,
    options?: PeerCallOptions,
  ): Promise<Page<EventRecord>>;
}

/**
 * The write side of a peer: delivers live data into the remote's storage. Separate from
 * {@link RemotePeer} so that a reader need not implement it; `httpPeer` and `localPeer` implement
 * both. A method resolves only once the remote acknowledged the whole batch (stored it); every
 * failure rejects with a `PeerError` (same codes and `transient` flag as the reads). A batch
 * with one invalid record is rejected as a whole and stores nothing.
 *
 * Both writes are idempotent, so a batch whose acknowledgement was lost (e.g. `PEER_TIMEOUT`)
 * can be sent again.
 *
 * @example
 * ```ts
 * import { httpPeer, type PeerWriter } from 'edge-ha';
 *
 * const writer: PeerWriter = httpPeer({
 *   url: 'http://10.0.0.5:7070/edge-ha/v1',
 *   token: process.env.EDGE_HA_WRITE_TOKEN!, // the remote's writeToken
 * });
 * await writer.writePoints('boiler.temp', [{ t: Date.now(), v: 71.5 }]);
 * const inserted = await writer.writeEvents([{ id: 'alarm-17', t: Date.now(), body: { level: 2 } }]);
 * ```
 *
 * @group Peer protocol
 */
export interface PeerWriter {
  /** A human-readable label (e.g. the URL) used in messages. */
  readonly label: string;
  /**
   * Appends live points to `item` on the remote (its `storage.appendPoints`: a point at an
   * existing timestamp replaces it; within the batch the last point of a timestamp wins).
   */
  writePoints(item: string, points: readonly Point[], options?: PeerCallOptions): Promise<void>;
  /**
   * Inserts the events whose `id` the remote does not hold yet (its
   * `storage.insertEventsIfAbsent`: an existing event is never changed). Resolves with how many
   * were new.
   */
  writeEvents(events: readonly EventRecord[], options?: PeerCallOptions): Promise<number>;
}

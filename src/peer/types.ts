/**
 * The remote peer contract: how a deputy reads from the instance it catches up from. Implemented
 * in-process by `localPeer(storage)` and over HTTP by `httpPeer(options)`.
 */

import type { EventRecord, Page, PageRequest, Point, TimeWindow } from '../storage/types.js';

/** Protocol version spoken by this release of edge-ha. */
export const PEER_PROTOCOL_VERSION = 1;

/** Per-call options of a {@link RemotePeer}. */
export interface PeerCallOptions {
  /** Aborts the call; it then rejects with `PEER_ABORTED`. */
  readonly signal?: AbortSignal | undefined;
}

/** The remote's identity, returned by {@link RemotePeer.hello}. */
export interface PeerHello {
  /** The remote instance's id. */
  readonly instanceId: string;
  /** Protocol version the remote speaks. */
  readonly protocolVersion: number;
  /** The remote's current time, epoch ms (used to report clock skew). */
  readonly now: number;
}

/**
 * The remote side of a sync. Every method rejects with a `PeerError` whose `transient` flag tells
 * the deputy whether to retry.
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

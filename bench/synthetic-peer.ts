/**
 * A {@link RemotePeer} that generates its points on the fly (deterministically) instead of
 * storing them, so a benchmark that measures the memory of a sync does not count the remote's
 * data.
 */

import { PeerError } from '../src/errors.js';
import { PEER_PROTOCOL_VERSION, type RemotePeer } from '../src/peer/types.js';
import type { Page, PageRequest, Point, TimeWindow } from '../src/storage/types.js';
import { RECENT_START } from './lib.js';

/** Shape of the generated data. */
export interface SyntheticPeerOptions {
  /** Number of items, named `item-000`, `item-001`, … */
  readonly items: number;
  /** Points per item. */
  readonly pointsPerItem: number;
  /**
   * Timestamp of every item's first point, epoch ms (recent: a deputy recovers at most
   * `maxRecoveryMs`, 7 days by default, back).
   * @default RECENT_START (UTC midnight three days before the process started)
   */
  readonly start?: number;
  /**
   * Spacing of the points, ms.
   * @default 1000
   */
  readonly stepMs?: number;
}

/** A synthetic peer and the window that covers all its points. */
export interface SyntheticPeer {
  /** The peer. */
  readonly peer: RemotePeer;
  /** The item ids it trends. */
  readonly items: readonly string[];
  /** `[start, start + pointsPerItem * stepMs)`. */
  readonly window: TimeWindow;
}

/** The value of point `k` of item `index`: deterministic, varied, finite. */
function pointValue(index: number, k: number): number {
  return (((index + 1) * 2_654_435_761 + k * 40_503) % 100_000) / 100;
}

/**
 * Creates a peer serving `items × pointsPerItem` generated points (no events). Cursors are the
 * last timestamp served, as text. Its clock is the real one (`hello().now` is `Date.now()`), so
 * a deputy measures no clock skew.
 */
export function syntheticPeer(options: SyntheticPeerOptions): SyntheticPeer {
  const start = options.start ?? RECENT_START;
  const step = options.stepMs ?? 1000;
  const end = start + options.pointsPerItem * step;
  const items = Array.from(
    { length: options.items },
    (_, i) => `item-${String(i).padStart(3, '0')}`,
  );
  const indexOf = new Map(items.map((item, i) => [item, i]));
  const label = 'synthetic';
  const peer: RemotePeer = {
    label,
    hello: async () => ({
      instanceId: label,
      protocolVersion: PEER_PROTOCOL_VERSION,
      now: Date.now(),
    }),
    listItems: async () => [...items],
    readPoints: async (
      item: string,
      window: TimeWindow,
      page: PageRequest,
    ): Promise<Page<Point>> => {
      const index = indexOf.get(item);
      if (index === undefined) {
        throw new PeerError('PEER_UNKNOWN_ITEM', `${label} does not trend ${item}.`);
      }
      const after = page.cursor === undefined ? window.from : Number(page.cursor) + 1;
      const lo = Math.max(after, window.from, start);
      const hi = Math.min(window.to, end);
      // First grid point >= lo.
      let k = Math.max(0, Math.ceil((lo - start) / step));
      const points: Point[] = [];
      while (points.length < page.limit) {
        const t = start + k * step;
        if (t >= hi) break;
        points.push({ t, v: pointValue(index, k) });
        k++;
      }
      const last = points.at(-1);
      const more = last !== undefined && start + k * step < hi;
      return { items: points, next: more ? String(last.t) : null };
    },
    readEvents: async () => ({ items: [], next: null }),
  };
  return { peer, items, window: { from: start, to: end } };
}

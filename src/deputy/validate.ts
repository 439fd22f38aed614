/**
 * Checks of what a remote returns, before anything is applied locally: a bad reply
 * becomes a permanent `PEER_BAD_REPLY` and the local data stays untouched.
 *
 * @internal
 */

import { PeerError } from '../errors.js';
import type { EventRecord, Page, Point, TimeWindow } from '../storage/types.js';
import {
  assertEvent,
  assertPoint,
  compareCodePoints,
  isSealedEvents,
} from '../storage/validate.js';

function badReply(what: string, message: string, cause?: unknown): PeerError {
  return new PeerError(
    'PEER_BAD_REPLY',
    `${what}: the remote's reply is invalid (${message}); nothing of it was applied.`,
    cause === undefined ? {} : { cause },
  );
}

/** Checks the shape of a page and returns what it holds, each property read once. */
function checkPageShape(
  page: unknown,
  limit: number,
  what: string,
): { items: readonly unknown[]; next: string | null } {
  const items = typeof page === 'object' && page !== null ? (page as Page<unknown>).items : null;
  if (!Array.isArray(items)) {
    throw badReply(what, 'a page must be an object { items: [...], next }');
  }
  const { next } = page as Page<unknown>;
  if (next !== null && typeof next !== 'string') {
    throw badReply(what, 'next must be a cursor string or null');
  }
  if (items.length > limit) {
    throw badReply(what, `the page holds ${items.length} records but the limit was ${limit}`);
  }
  return { items, next };
}

/**
 * Validates one page of points read for `window` (where `window.from` is the part not yet
 * committed): valid points, inside the window, ascending, unique timestamps, at most `limit`.
 */
export function validatePointsPage(
  page: unknown,
  window: TimeWindow,
  limit: number,
  what: string,
): Page<Point> {
  const { items } = checkPageShape(page, limit, what);
  let previous = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < items.length; i++) {
    const point = items[i];
    try {
      assertPoint(point, `points[${i}]`);
    } catch (error) {
      throw badReply(what, (error as Error).message, error);
    }
    if (point.t < window.from || point.t >= window.to) {
      throw badReply(
        what,
        `points[${i}].t=${point.t} lies outside the requested window [${window.from}, ${window.to})`,
      );
    }
    if (point.t <= previous) {
      throw badReply(
        what,
        `points[${i}].t=${point.t} is not after the previous point; points must be ascending with unique timestamps`,
      );
    }
    previous = point.t;
  }
  return page as Page<Point>;
}

/** Position of the last event seen, to check that pages keep ascending across a read. */
export interface EventPosition {
  /** Timestamp of the last event. */
  readonly t: number;
  /** Id of the last event. */
  readonly id: string;
}

/**
 * Validates one page of events read for `window`: valid events inside the window, strictly
 * ascending by `(t, id)` (so ids are unique within the read), also after `after`, at most `limit`.
 */
export function validateEventsPage(
  page: unknown,
  window: TimeWindow,
  limit: number,
  after: EventPosition | null,
  what: string,
): Page<EventRecord> {
  // Read once: what is checked here is what the caller gets (a getter could answer differently).
  const { items, next } = checkPageShape(page, limit, what);
  // A sealed page (an HTTP reply checked and frozen by the client) holds valid, frozen records.
  const checked = isSealedEvents(items);
  let previous = after;
  for (let i = 0; i < items.length; i++) {
    const event = items[i] as EventRecord;
    if (!checked) {
      try {
        assertEvent(event, `events[${i}]`);
      } catch (error) {
        throw badReply(what, (error as Error).message, error);
      }
    }
    if (event.t < window.from || event.t >= window.to) {
      throw badReply(
        what,
        `events[${i}].t=${event.t} lies outside the requested window [${window.from}, ${window.to})`,
      );
    }
    if (
      previous !== null &&
      (event.t < previous.t ||
        (event.t === previous.t && compareCodePoints(event.id, previous.id) <= 0))
    ) {
      throw badReply(
        what,
        `events[${i}] (t=${event.t}, id=${JSON.stringify(event.id)}) is not after the previous event; events must be strictly ascending by (t, id)`,
      );
    }
    previous = event;
  }
  return { items: items as readonly EventRecord[], next };
}

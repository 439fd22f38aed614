/**
 * Page helpers of the deputies: the size estimate of a page, the rule that a remote must make
 * progress (no endless or trickling reads), and a small worker pool.
 *
 * @internal
 */

import { PeerError } from '../errors.js';
import type { EventRecord, JsonValue, Point } from '../storage/types.js';

/**
 * Decimal digits of an integer (with its sign), at most 20: a ladder of comparisons rather than
 * a loop (an event's timestamp alone has 13 digits).
 */
function integerDigits(n: number): number {
  const a = Math.abs(n);
  let digits: number;
  if (a < 1e10) {
    if (a < 1e5) digits = a < 10 ? 1 : a < 100 ? 2 : a < 1e3 ? 3 : a < 1e4 ? 4 : 5;
    else digits = a < 1e6 ? 6 : a < 1e7 ? 7 : a < 1e8 ? 8 : a < 1e9 ? 9 : 10;
  } else if (a < 1e15) {
    digits = a < 1e11 ? 11 : a < 1e12 ? 12 : a < 1e13 ? 13 : a < 1e14 ? 14 : 15;
  } else {
    digits = a < 1e16 ? 16 : a < 1e17 ? 17 : a < 1e18 ? 18 : a < 1e19 ? 19 : 20;
  }
  return n < 0 ? Math.min(20, digits + 1) : digits;
}

/**
 * About the size of `JSON.stringify(points)` without building it (serializing every page only to
 * count it was the largest cost of an in-process sync): exact for integers, strings without
 * escapes, booleans and null; 18 characters for a fractional number.
 */
export function approxPointsJsonBytes(points: readonly Point[]): number {
  let bytes = points.length === 0 ? 2 : points.length + 1;
  for (const { t, v, q } of points) {
    bytes += 11 + integerDigits(t);
    if (typeof v === 'number') bytes += Number.isInteger(v) ? integerDigits(v) : 18;
    else if (typeof v === 'string') bytes += v.length + 2;
    else bytes += v === false ? 5 : 4;
    if (q !== undefined) bytes += 5 + integerDigits(q);
  }
  return bytes;
}

/** About the length of `JSON.stringify(value)`, by the rules of {@link approxPointsJsonBytes}. */
function approxJsonBytes(value: JsonValue): number {
  if (value === null) return 4;
  switch (typeof value) {
    case 'number':
      return Number.isInteger(value) ? integerDigits(value) : 18;
    case 'string':
      return value.length + 2;
    case 'boolean':
      return value ? 4 : 5;
  }
  if (Array.isArray(value)) {
    let bytes = value.length === 0 ? 2 : value.length + 1;
    for (let i = 0; i < value.length; i++) bytes += approxJsonBytes(value[i] as JsonValue);
    return bytes;
  }
  // `for…in` rather than `Object.keys`: no array per object, and a JSON object has no
  // inherited enumerable keys (a polluted prototype would only skew the estimate).
  let keys = 0;
  let bytes = 1;
  for (const key in value) {
    keys++;
    bytes += key.length + 3 + approxJsonBytes(value[key] as JsonValue);
  }
  return keys === 0 ? 2 : bytes + keys;
}

/**
 * About the size of `JSON.stringify(events)` without building it (it cost as much as storing
 * the events): see {@link approxPointsJsonBytes}.
 */
export function approxEventsJsonBytes(events: readonly EventRecord[]): number {
  let bytes = events.length === 0 ? 2 : events.length + 1;
  for (const { id, t, body } of events) {
    bytes += 22 + id.length + integerDigits(t) + approxJsonBytes(body);
  }
  return bytes;
}

/** Runs `task` over `items` with at most `limit` in flight. */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** A page with fewer records than this (and less than {@link FULL_PAGE_BYTES}) is short. */
export const SHORT_PAGE_RECORDS = 100;
/** A page carrying at least this many bytes (estimated) is never short. */
export const FULL_PAGE_BYTES = 1_048_576;

/**
 * The progress rule of one read (one item in one gap, or the events of one gap): a page that is
 * not the last one is *short* when it carries fewer than `min(pageSize, 100)` records and less
 * than 1 MiB; a read may have at most `maxShortPages` short pages, and a page that repeats the
 * previous cursor without records is a loop. Either ends the read with `PEER_BAD_REPLY`, so a
 * remote that trickles one record per reply, or pages forever without records, cannot keep a
 * run going forever. A healthy handler serves full pages (its page cap, 5000 by default, or
 * 8 MiB), so it never comes near the limit.
 */
export class PageGuard {
  readonly #minRecords: number;
  readonly #maxShortPages: number;
  readonly #what: string;
  #short = 0;

  constructor(pageSize: number, maxShortPages: number, what: string) {
    this.#minRecords = Math.min(pageSize, SHORT_PAGE_RECORDS);
    this.#maxShortPages = maxShortPages;
    this.#what = what;
  }

  /** Checks one received page; throws `PEER_BAD_REPLY` when the read makes no progress. */
  check(records: number, bytes: number, next: string | null, cursor: string | undefined): void {
    if (next === null) return;
    if (records === 0 && next === cursor) {
      throw new PeerError(
        'PEER_BAD_REPLY',
        `${this.#what}: the remote returned an empty page with the same cursor again (a paging loop); nothing more was applied.`,
      );
    }
    if (records >= this.#minRecords || bytes >= FULL_PAGE_BYTES) return;
    this.#short++;
    if (this.#short > this.#maxShortPages) {
      throw new PeerError(
        'PEER_BAD_REPLY',
        `${this.#what}: the remote sent ${this.#short} short pages (fewer than ${this.#minRecords} records and under 1 MiB, without finishing); a trickling or looping remote is not followed further (maxShortPages ${this.#maxShortPages}). What was received is committed.`,
      );
    }
  }
}

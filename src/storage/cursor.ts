/**
 * The cursor codec of the adapter kit: opaque keyset cursors bound to one read.
 *
 * A cursor names the read it belongs to (a fingerprint of the kind of read, the item and the
 * window) and the key of the last record returned, so the next page starts strictly after that
 * key: nothing is skipped or repeated, also when records are written between pages. A cursor
 * minted for one read is rejected (`STORAGE_INVALID_CURSOR`) when presented to another: another
 * item, another window, or points instead of events.
 *
 * Decoding is strict: the only string a decoder accepts is exactly the one the encoder produced
 * (canonical numbers, unpadded base64url, the exact fingerprint length, a known version), and at
 * most {@link MAX_CURSOR_LENGTH} characters. The fingerprint also covers the position, so a
 * cursor altered anywhere is rejected too. Anything else is `STORAGE_INVALID_CURSOR`. A cursor is
 * not a secret: it proves nothing about who minted it.
 *
 * Format (version 1): `p.1.<lastT>.<fingerprint>` for points and
 * `e.1.<lastT>.<fingerprint>.<base64url(UTF-8 of lastId)>` for events. Cursors of edge-ha 0.1
 * (without the `1.`, whose fingerprint covers the read only) are still accepted, so a read that
 * spans an upgrade of the remote goes on. Callers must treat cursors as opaque.
 */

import { createHash } from 'node:crypto';
import { StorageError } from '../errors.js';
import type { TimeWindow } from './types.js';
import { isWellFormedString, MAX_CURSOR_LENGTH, MAX_EVENT_ID_LENGTH } from './validate.js';

/** The version this code writes. */
const VERSION = '1';
/** A canonical integer: no sign on zero, no leading zeros, no `+`. */
const CANONICAL_INTEGER = /^(?:0|-?[1-9]\d{0,15})$/;
/** Characters of unpadded base64url. */
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Length of a fingerprint: 22 base64url characters (132 bits of SHA-256). */
const FINGERPRINT_LENGTH = 22;

/**
 * The fingerprint of a cursor: a hash of the read (kind, window, item) and, from version 1 on, of
 * the position too, so that a cursor altered anywhere no longer matches. The unversioned cursors
 * of edge-ha 0.1 hashed the read only (`position` undefined).
 */
function fingerprint(kind: 'p' | 'e', item: string, window: TimeWindow, position?: string): string {
  const read = `${kind}\u0000${window.from}\u0000${window.to}\u0000${item}`;
  return createHash('sha256')
    .update(position === undefined ? read : `${VERSION}\u0000${read}\u0000${position}`)
    .digest('base64url')
    .slice(0, FINGERPRINT_LENGTH);
}

function shown(cursor: string): string {
  return cursor.length > 48
    ? `${JSON.stringify(cursor.slice(0, 48))}… (${cursor.length} characters)`
    : JSON.stringify(cursor);
}

function invalid(cursor: string, detail: string): StorageError {
  return new StorageError(
    'STORAGE_INVALID_CURSOR',
    `Invalid cursor ${shown(cursor)}: ${detail}. Pass the "next" string of the previous page of the same read (same item and window), or omit the cursor to start over.`,
  );
}

/** A cursor split into its parts after the kind and version (`undefined` parts are missing). */
interface CursorParts {
  /** An unversioned cursor of edge-ha 0.1. */
  readonly legacy: boolean;
  readonly parts: readonly (string | undefined)[];
}

function split(cursor: string, kind: 'p' | 'e', what: string): CursorParts {
  if (typeof cursor !== 'string') {
    throw new StorageError(
      'STORAGE_INVALID_CURSOR',
      `A cursor must be the string returned as "next" by the previous page, got ${typeof cursor}.`,
    );
  }
  if (cursor.length > MAX_CURSOR_LENGTH) {
    throw invalid(
      cursor,
      `it is longer than the ${MAX_CURSOR_LENGTH} characters a cursor may have`,
    );
  }
  const parts = cursor.split('.');
  const other = kind === 'p' ? 'e' : 'p';
  if (parts[0] === other) {
    throw invalid(cursor, `it is ${other === 'p' ? 'a point' : 'an event'} cursor, not ${what}`);
  }
  if (parts[0] !== kind) throw invalid(cursor, `it is not ${what}`);
  // Version 1 has one part more than the unversioned cursors of edge-ha 0.1.
  const legacyParts = kind === 'p' ? 3 : 4;
  if (parts.length === legacyParts) return { legacy: true, parts: parts.slice(1) };
  if (parts.length !== legacyParts + 1) throw invalid(cursor, 'it is malformed');
  const version = parts[1] ?? '';
  if (version !== VERSION) {
    throw invalid(
      cursor,
      CANONICAL_INTEGER.test(version)
        ? `its version ${version} is not understood by this edge-ha (it understands version ${VERSION})`
        : 'its version is malformed',
    );
  }
  return { legacy: false, parts: parts.slice(2) };
}

function checkTime(cursor: string, text: string | undefined): asserts text is string {
  if (text === undefined || !CANONICAL_INTEGER.test(text)) {
    throw invalid(cursor, 'its position is not a canonical integer');
  }
}

function timeIn(cursor: string, text: string, window: TimeWindow): number {
  const t = Number(text);
  if (!Number.isSafeInteger(t) || t < window.from || t >= window.to) {
    throw invalid(cursor, 'its position lies outside the window of this read');
  }
  return t;
}

function checkFingerprint(cursor: string, text: string | undefined, expected: string): void {
  if (text === undefined || text.length !== FINGERPRINT_LENGTH || !BASE64URL.test(text)) {
    throw invalid(cursor, 'its read fingerprint is malformed');
  }
  if (text !== expected) {
    throw invalid(cursor, 'it belongs to another read (another item or window) or was altered');
  }
}

/**
 * The cursor after the point at `lastT` of the read of `item` in `window` (what `readPoints`
 * returns as `next` when more points follow). At most {@link MAX_CURSOR_LENGTH} characters.
 *
 * @example
 * ```ts
 * import { encodePointCursor, type Page, type Point, type TimeWindow } from 'edge-ha';
 *
 * // In your readPoints(item, window, page): `rows` are up to page.limit + 1 points after the cursor.
 * function toPage(item: string, window: TimeWindow, rows: Point[], limit: number): Page<Point> {
 *   const items = rows.slice(0, limit);
 *   const last = items.at(-1);
 *   const more = rows.length > limit;
 *   return { items, next: more && last ? encodePointCursor(item, window, last.t) : null };
 * }
 * ```
 *
 * @group Storage
 */
export function encodePointCursor(item: string, window: TimeWindow, lastT: number): string {
  return `p.${VERSION}.${lastT}.${fingerprint('p', item, window, String(lastT))}`;
}

/**
 * The timestamp after which the next page of the read of `item` in `window` starts (the next page
 * holds the points with `t > ` the result). Throws `STORAGE_INVALID_CURSOR` for a cursor of
 * another read (another item or window, an event cursor), a corrupt or tampered cursor, and one
 * longer than {@link MAX_CURSOR_LENGTH} characters.
 *
 * @example
 * ```ts
 * import { decodePointCursor, type PageRequest, type TimeWindow } from 'edge-ha';
 *
 * declare const item: string;
 * declare const window: TimeWindow;
 * declare const page: PageRequest;
 * const after = page.cursor === undefined ? undefined : decodePointCursor(page.cursor, item, window);
 * // SELECT … WHERE item = $1 AND t >= $from AND t < $to [AND t > $after] ORDER BY t LIMIT $limit + 1
 * ```
 *
 * @group Storage
 */
export function decodePointCursor(cursor: string, item: string, window: TimeWindow): number {
  const { legacy, parts } = split(cursor, 'p', 'a point cursor');
  const [t, print] = parts;
  checkTime(cursor, t);
  checkFingerprint(cursor, print, fingerprint('p', item, window, legacy ? undefined : t));
  return timeIn(cursor, t, window);
}

/**
 * The key of the last event of a page, which a page of events starts strictly after.
 *
 * @group Storage
 */
export interface EventCursorKey {
  /** Timestamp of the last event returned, epoch ms. */
  readonly t: number;
  /** Id of the last event returned (events of the same `t` follow in code-point order of ids). */
  readonly id: string;
}

/**
 * The cursor after the event `(lastT, lastId)` of the read of events in `window` (what
 * `readEvents` returns as `next` when more events follow). At most {@link MAX_CURSOR_LENGTH}
 * characters (an event id of 256 code units takes at most 1024).
 *
 * @group Storage
 */
export function encodeEventCursor(window: TimeWindow, lastT: number, lastId: string): string {
  const id = Buffer.from(lastId, 'utf8').toString('base64url');
  const print = fingerprint('e', '', window, `${lastT}\u0000${id}`);
  return `e.${VERSION}.${lastT}.${print}.${id}`;
}

/**
 * The `(t, id)` key after which the next page of the read of events in `window` starts (the next
 * page holds the events after it in `(t, id)` order, ids compared by code point). Throws
 * `STORAGE_INVALID_CURSOR` like {@link decodePointCursor}; the id part must be canonical
 * unpadded base64url of a valid event id.
 *
 * @group Storage
 */
export function decodeEventCursor(cursor: string, window: TimeWindow): EventCursorKey {
  const { legacy, parts } = split(cursor, 'e', 'an event cursor');
  const [t, print, encoded] = parts;
  checkTime(cursor, t);
  // Buffer's base64url decoder skips characters outside the alphabet and ignores stray bits:
  // only a string that re-encodes to itself is the encoder's output.
  if (encoded === undefined || !BASE64URL.test(encoded)) {
    throw invalid(cursor, 'its event id is not unpadded base64url');
  }
  checkFingerprint(
    cursor,
    print,
    fingerprint('e', '', window, legacy ? undefined : `${t}\u0000${encoded}`),
  );
  const after = timeIn(cursor, t, window);
  const id = Buffer.from(encoded, 'base64url').toString('utf8');
  if (
    Buffer.from(id, 'utf8').toString('base64url') !== encoded ||
    id.length === 0 ||
    id.length > MAX_EVENT_ID_LENGTH ||
    !isWellFormedString(id)
  ) {
    throw invalid(cursor, 'its event id is not the canonical encoding of a valid event id');
  }
  return { t: after, id };
}

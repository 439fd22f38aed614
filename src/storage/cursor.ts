/**
 * Opaque keyset cursors of the bundled adapters. A cursor names the read it belongs to (a
 * fingerprint of the item and window) and the key of the last record returned, so the next page
 * starts strictly after that key: nothing is skipped or repeated, also when records are written
 * between pages.
 *
 * Format: `p.<lastT>.<fingerprint>` for points, `e.<lastT>.<fingerprint>.<base64url(id)>` for
 * events. Callers must treat cursors as opaque.
 *
 * @internal
 */

import { createHash } from 'node:crypto';
import { StorageError } from '../errors.js';
import type { TimeWindow } from './types.js';
import { isWellFormedString, MAX_EVENT_ID_LENGTH } from './validate.js';

const INTEGER = /^-?\d{1,16}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function fingerprint(kind: string, item: string, window: TimeWindow): string {
  return createHash('sha256')
    .update(`${kind}\u0000${window.from}\u0000${window.to}\u0000${item}`)
    .digest('base64url')
    .slice(0, 22);
}

function invalid(detail: string): StorageError {
  return new StorageError(
    'STORAGE_INVALID_CURSOR',
    `Invalid cursor: ${detail}. Pass the "next" string of the previous page of the same read (same item and window), or omit the cursor to start over.`,
  );
}

function parseTime(text: string | undefined, window: TimeWindow): number {
  if (text === undefined || !INTEGER.test(text)) throw invalid('it is malformed');
  const t = Number(text);
  if (!Number.isSafeInteger(t) || t < window.from || t >= window.to) {
    throw invalid('its position lies outside the window of this read');
  }
  return t;
}

/** The cursor after the point at `lastT` of a read of `item` in `window`. */
export function encodePointCursor(item: string, window: TimeWindow, lastT: number): string {
  return `p.${lastT}.${fingerprint('p', item, window)}`;
}

/** The timestamp after which the next page of points starts; throws `STORAGE_INVALID_CURSOR`. */
export function decodePointCursor(cursor: string, item: string, window: TimeWindow): number {
  const parts = cursor.split('.');
  if (parts.length !== 3 || parts[0] !== 'p') throw invalid('it is not a point cursor');
  if (parts[2] !== fingerprint('p', item, window)) {
    throw invalid('it belongs to a different read');
  }
  return parseTime(parts[1], window);
}

/** The cursor after the event `(lastT, lastId)` of a read of events in `window`. */
export function encodeEventCursor(window: TimeWindow, lastT: number, lastId: string): string {
  return `e.${lastT}.${fingerprint('e', '', window)}.${Buffer.from(lastId, 'utf8').toString('base64url')}`;
}

/** The `(t, id)` key after which the next page of events starts; throws `STORAGE_INVALID_CURSOR`. */
export function decodeEventCursor(
  cursor: string,
  window: TimeWindow,
): { readonly t: number; readonly id: string } {
  const parts = cursor.split('.');
  if (parts.length !== 4 || parts[0] !== 'e') throw invalid('it is not an event cursor');
  if (parts[2] !== fingerprint('e', '', window)) throw invalid('it belongs to a different read');
  const t = parseTime(parts[1], window);
  const encoded = parts[3] ?? '';
  if (!BASE64URL.test(encoded)) throw invalid('it is malformed');
  const id = Buffer.from(encoded, 'base64url').toString('utf8');
  if (
    id.length === 0 ||
    id.length > MAX_EVENT_ID_LENGTH ||
    !isWellFormedString(id) ||
    Buffer.from(id, 'utf8').toString('base64url') !== encoded
  ) {
    throw invalid('it is malformed');
  }
  return { t, id };
}

/**
 * The validators of the adapter kit, shared by the bundled storage adapters, the HTTP peer and
 * integrators' own adapters (exported from `edge-ha`). Every `assert…` function throws the
 * contract's coded {@link StorageError}, with a message naming what is wrong and how to fix it.
 */

import { StorageError, type StorageErrorCode } from '../errors.js';
import type {
  EventRecord,
  JsonValue,
  PageRequest,
  Point,
  PointValue,
  SyncStateValue,
  TimeWindow,
} from './types.js';

/**
 * Largest page limit a read accepts.
 *
 * @group Storage
 */
export const MAX_PAGE_LIMIT: number = 100_000;
/**
 * Longest item id, in UTF-16 code units.
 *
 * @group Storage
 */
export const MAX_ITEM_ID_LENGTH: number = 1024;
/**
 * Longest event id, in UTF-16 code units.
 *
 * @group Storage
 */
export const MAX_EVENT_ID_LENGTH: number = 256;
/**
 * Largest point quality.
 *
 * @group Storage
 */
export const MAX_QUALITY: number = 4_294_967_295;
/**
 * Deepest nesting accepted in an event body or a sync-state value. The value itself is at depth
 * 0 and everything inside an array or object at depth `d` is at depth `d + 1`; an array or object
 * may sit at depth at most 64. So 65 nested arrays (`[[…[]…]]`, the innermost at depth 64) are
 * accepted and 66 are rejected; a string, number, boolean or `null` may sit at depth 65.
 *
 * @group Storage
 */
export const MAX_BODY_DEPTH: number = 64;
/**
 * Longest sync-state key, in UTF-16 code units (room for `<prefix>:item:<item id>`).
 *
 * @group Storage
 */
export const MAX_SYNC_KEY_LENGTH: number = 2048;
/**
 * Longest sync-state value, in UTF-16 code units of its JSON text (`JSON.stringify`).
 *
 * @group Storage
 */
export const MAX_SYNC_STATE_LENGTH: number = 65_536;
/**
 * Longest cursor, in characters: a `next` cursor an adapter returns must not be longer (the HTTP
 * peer protocol rejects longer ones), and a longer `cursor` in a page request is
 * `STORAGE_INVALID_CURSOR`.
 *
 * @group Storage
 */
export const MAX_CURSOR_LENGTH: number = 4096;

const LONE_SURROGATE = /\p{Cs}/u;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') {
    return value.length > 40 ? `a string of length ${value.length}` : JSON.stringify(value);
  }
  return typeof value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether `value` is a well-formed string (no lone UTF-16 surrogate, which no store round-trips).
 *
 * @group Storage
 */
export function isWellFormedString(value: string): boolean {
  // `isWellFormed` is several times faster than the pattern, which stays for a non-string
  // passed from JavaScript (tested as its text, as before).
  return typeof value === 'string' ? value.isWellFormed() : !LONE_SURROGATE.test(value);
}

/**
 * Compares two strings by Unicode code point, which is also the byte order of their UTF-8 form
 * (SQLite's BINARY collation). JavaScript's `<` compares UTF-16 code units, which differs for
 * characters above U+FFFF versus U+E000..U+FFFF. Every ordering of ids uses this function.
 *
 * @group Storage
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      // Move surrogates (D800..DFFF) above E000..FFFF, which is code point order.
      if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      return x - y;
    }
  }
  return a.length - b.length;
}

/**
 * Asserts a half-open window `[from, to)` with safe-integer bounds and `from <= to`.
 *
 * @group Storage
 */
export function assertWindow(window: unknown): asserts window is TimeWindow {
  if (!isRecord(window)) {
    throw new StorageError(
      'STORAGE_INVALID_WINDOW',
      `A window must be an object { from, to } in epoch ms, got ${describe(window)}.`,
    );
  }
  const { from, to } = window;
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) {
    throw new StorageError(
      'STORAGE_INVALID_WINDOW',
      `A window's from and to must be safe integers (epoch ms), got from=${describe(from)}, to=${describe(to)}.`,
    );
  }
  if ((from as number) > (to as number)) {
    throw new StorageError(
      'STORAGE_INVALID_WINDOW',
      `A window must have from <= to, got from=${from as number} > to=${to as number}. Swap the bounds.`,
    );
  }
}

/**
 * Asserts a page request: `limit` an integer 1..{@link MAX_PAGE_LIMIT} (else
 * `STORAGE_INVALID_PAGE`), `cursor` absent or a string of at most {@link MAX_CURSOR_LENGTH}
 * characters (else `STORAGE_INVALID_CURSOR`). Whether the cursor belongs to the read is for the
 * cursor codec to decide (`decodePointCursor`, `decodeEventCursor`).
 *
 * @group Storage
 */
export function assertPageRequest(page: unknown): asserts page is PageRequest {
  if (!isRecord(page)) {
    throw new StorageError(
      'STORAGE_INVALID_PAGE',
      `A page request must be an object { limit, cursor? }, got ${describe(page)}.`,
    );
  }
  const { limit, cursor } = page;
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_PAGE_LIMIT) {
    throw new StorageError(
      'STORAGE_INVALID_PAGE',
      `A page limit must be an integer from 1 to ${MAX_PAGE_LIMIT}, got ${describe(limit)}.`,
    );
  }
  if (cursor !== undefined && typeof cursor !== 'string') {
    throw new StorageError(
      'STORAGE_INVALID_CURSOR',
      `A cursor must be the string returned as "next" by the previous page, got ${describe(cursor)}.`,
    );
  }
  if (typeof cursor === 'string' && cursor.length > MAX_CURSOR_LENGTH) {
    throw new StorageError(
      'STORAGE_INVALID_CURSOR',
      `A cursor is at most ${MAX_CURSOR_LENGTH} characters, got ${cursor.length}; pass the "next" string of the previous page.`,
    );
  }
}

/**
 * Asserts an item id: a non-empty, well-formed string of at most {@link MAX_ITEM_ID_LENGTH} code units.
 *
 * @group Storage
 */
export function assertItemId(item: unknown): asserts item is string {
  if (typeof item !== 'string' || item.length === 0 || item.length > MAX_ITEM_ID_LENGTH) {
    throw new StorageError(
      'STORAGE_INVALID_ITEM',
      `An item id must be a non-empty string of at most ${MAX_ITEM_ID_LENGTH} characters, got ${describe(item)}.`,
    );
  }
  if (!isWellFormedString(item)) {
    throw new StorageError(
      'STORAGE_INVALID_ITEM',
      'An item id must not contain a lone UTF-16 surrogate (it cannot be stored faithfully).',
    );
  }
}

/**
 * Asserts an array of item ids.
 *
 * @group Storage
 */
export function assertItemIds(items: unknown): asserts items is readonly string[] {
  if (!Array.isArray(items)) {
    throw new StorageError(
      'STORAGE_INVALID_ITEM',
      `Expected an array of item ids, got ${describe(items)}.`,
    );
  }
  for (const item of items) assertItemId(item);
}

/**
 * Asserts a point value: a finite number, a well-formed string, a boolean or null.
 *
 * @group Storage
 */
export function assertPointValue(value: unknown, where: string): asserts value is PointValue {
  if (value === null || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new StorageError(
        'STORAGE_VALUE_OUT_OF_RANGE',
        `${where}: a number value must be finite, got ${value}. Store a gap as null instead.`,
      );
    }
    return;
  }
  if (typeof value === 'string') {
    if (!isWellFormedString(value)) {
      throw new StorageError(
        'STORAGE_VALUE_OUT_OF_RANGE',
        `${where}: a string value must not contain a lone UTF-16 surrogate.`,
      );
    }
    return;
  }
  throw new StorageError(
    'STORAGE_INVALID_RECORD',
    `${where}: a value must be a number, string, boolean or null, got ${describe(value)}.`,
  );
}

/**
 * Asserts one point `{ t, v, q? }`.
 *
 * @group Storage
 */
export function assertPoint(point: unknown, where = 'point'): asserts point is Point {
  if (!isRecord(point)) {
    throw new StorageError(
      'STORAGE_INVALID_RECORD',
      `${where} must be an object { t, v, q? }, got ${describe(point)}.`,
    );
  }
  if (!Number.isSafeInteger(point.t)) {
    throw new StorageError(
      'STORAGE_INVALID_RECORD',
      `${where}: t must be a safe integer (epoch ms), got ${describe(point.t)}.`,
    );
  }
  if (!('v' in point)) {
    throw new StorageError(
      'STORAGE_INVALID_RECORD',
      `${where}: v is missing (use null for no value).`,
    );
  }
  assertPointValue(point.v, where);
  const q = point.q;
  if (
    q !== undefined &&
    (!Number.isInteger(q) || (q as number) < 0 || (q as number) > MAX_QUALITY)
  ) {
    throw new StorageError(
      'STORAGE_INVALID_RECORD',
      `${where}: q (quality) must be an integer from 0 to ${MAX_QUALITY} or absent, got ${describe(q)}.`,
    );
  }
}

/**
 * Asserts an array of points (no ordering or uniqueness requirement).
 *
 * @group Storage
 */
export function assertPoints(points: unknown): asserts points is readonly Point[] {
  if (!Array.isArray(points)) {
    throw new StorageError(
      'STORAGE_INVALID_RECORD',
      `Expected an array of points, got ${describe(points)}.`,
    );
  }
  for (let i = 0; i < points.length; i++) assertPoint(points[i], `points[${i}]`);
}

/**
 * Asserts the points given to `replacePoints` or `mergePoints` (named by `method` in the
 * message): valid, each inside `window` (`STORAGE_POINT_OUTSIDE_WINDOW`) and with unique
 * timestamps (`STORAGE_INVALID_RECORD`). `window` must already be valid.
 *
 * @group Storage
 */
export function assertPointsInWindow(
  points: unknown,
  window: TimeWindow,
  method: 'replacePoints' | 'mergePoints',
): asserts points is readonly Point[] {
  assertPoints(points);
  // Pages usually arrive strictly ascending, which proves the timestamps unique without a Set.
  let ascending = true;
  let previous = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < points.length; i++) {
    const { t } = points[i] as Point;
    if (t < window.from || t >= window.to) {
      throw new StorageError(
        'STORAGE_POINT_OUTSIDE_WINDOW',
        `${method}: points[${i}].t=${t} lies outside the window [${window.from}, ${window.to}); every point must satisfy from <= t < to.`,
      );
    }
    if (t <= previous) ascending = false;
    previous = t;
  }
  if (ascending) return;
  const seen = new Set<number>();
  for (let i = 0; i < points.length; i++) {
    const { t } = points[i] as Point;
    if (seen.has(t)) {
      throw new StorageError(
        'STORAGE_INVALID_RECORD',
        `${method}: points[${i}].t=${t} repeats an earlier timestamp; an item has at most one point per timestamp.`,
      );
    }
    seen.add(t);
  }
}

/**
 * Whether `node` (at nesting `depth`, below `ancestors`) is a JSON value by the rules of
 * {@link assertJsonValue}, without building any path text: the fast pass over valid bodies.
 * `ancestors` is left as it was given.
 */
function isJsonNode(node: unknown, depth: number, ancestors: unknown[]): boolean {
  if (node === null) return true;
  switch (typeof node) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(node);
    case 'object':
      break;
    default:
      return false;
  }
  if (depth > MAX_BODY_DEPTH || ancestors.includes(node)) return false;
  ancestors.push(node);
  let ok = true;
  if (Array.isArray(node)) {
    for (let i = 0; ok && i < node.length; i++) {
      ok = i in node && isJsonNode(node[i], depth + 1, ancestors);
    }
  } else {
    const proto = Object.getPrototypeOf(node);
    if (proto !== Object.prototype && proto !== null) ok = false;
    else {
      const keys = Object.keys(node as object);
      for (let i = 0; ok && i < keys.length; i++) {
        ok = isJsonNode((node as Record<string, unknown>)[keys[i] as string], depth + 1, ancestors);
      }
    }
  }
  ancestors.pop();
  return ok;
}

/**
 * Whether `value` is a JSON value by the rules of {@link assertJsonValue} (plain objects, arrays
 * without holes, finite numbers, strings, booleans, null; no cycles; at most
 * {@link MAX_BODY_DEPTH} levels), without throwing or copying.
 *
 * @group Storage
 */
export function isJsonValue(value: unknown): value is JsonValue {
  return isJsonNode(value, 0, []);
}

/**
 * Asserts a JSON value: plain objects, arrays, finite numbers, strings, booleans, null; no
 * cycles; at most {@link MAX_BODY_DEPTH} levels. Throws `code` naming the offending path.
 *
 * @group Storage
 */
export function assertJsonValue(
  value: unknown,
  where: string,
  code: StorageErrorCode = 'STORAGE_INVALID_RECORD',
): asserts value is JsonValue {
  // Fast pass for the usual, valid value; the walk below finds and names the problem otherwise.
  if (isJsonNode(value, 0, [])) return;
  const ancestors: unknown[] = [];
  const visit = (node: unknown, path: string, depth: number): void => {
    if (node === null || typeof node === 'string' || typeof node === 'boolean') return;
    if (typeof node === 'number') {
      if (Number.isFinite(node)) return;
      throw new StorageError(
        code,
        `${path} is ${node}, which is not JSON; use a finite number or null.`,
      );
    }
    if (typeof node !== 'object') {
      throw new StorageError(code, `${path} is ${describe(node)}, which is not a JSON value.`);
    }
    if (depth > MAX_BODY_DEPTH) {
      throw new StorageError(code, `${path} nests deeper than ${MAX_BODY_DEPTH} levels.`);
    }
    if (ancestors.includes(node)) {
      throw new StorageError(code, `${path} is a circular reference.`);
    }
    ancestors.push(node);
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        if (!(i in node)) {
          throw new StorageError(code, `${path}[${i}] is a hole in an array.`);
        }
        visit(node[i], `${path}[${i}]`, depth + 1);
      }
    } else {
      const proto = Object.getPrototypeOf(node);
      if (proto !== Object.prototype && proto !== null) {
        throw new StorageError(
          code,
          `${path} is a ${(node as object).constructor?.name ?? 'non-plain'} object; only plain objects are JSON.`,
        );
      }
      for (const [key, child] of Object.entries(node)) visit(child, `${path}.${key}`, depth + 1);
    }
    ancestors.pop();
  };
  visit(value, where, 0);
}

/**
 * Asserts one event `{ id, t, body }`.
 *
 * @group Storage
 */
export function assertEvent(event: unknown, where = 'event'): asserts event is EventRecord {
  if (!isRecord(event)) {
    throw new StorageError(
      'STORAGE_INVALID_RECORD',
      `${where} must be an object { id, t, body }, got ${describe(event)}.`,
    );
  }
  const { id, t } = event;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_EVENT_ID_LENGTH) {
    throw new StorageError(
      'STORAGE_INVALID_RECORD',
      `${where}: id must be a non-empty string of at most ${MAX_EVENT_ID_LENGTH} characters, got ${describe(id)}.`,
    );
  }
  if (!isWellFormedString(id)) {
    throw new StorageError(
      'STORAGE_INVALID_RECORD',
      `${where}: id must not contain a lone UTF-16 surrogate.`,
    );
  }
  if (!Number.isSafeInteger(t)) {
    throw new StorageError(
      'STORAGE_INVALID_RECORD',
      `${where}: t must be a safe integer (epoch ms), got ${describe(t)}.`,
    );
  }
  if (!('body' in event)) {
    throw new StorageError('STORAGE_INVALID_RECORD', `${where}: body is missing (use null).`);
  }
  assertJsonValue(event.body, `${where}.body`);
}

/**
 * Asserts an array of events.
 *
 * @group Storage
 */
export function assertEvents(events: unknown): asserts events is readonly EventRecord[] {
  // A sealed batch was checked when it was sealed and nobody can have changed it since.
  if (isSealedEvents(events)) return;
  if (!Array.isArray(events)) {
    throw new StorageError(
      'STORAGE_INVALID_RECORD',
      `Expected an array of events, got ${describe(events)}.`,
    );
  }
  for (let i = 0; i < events.length; i++) assertEvent(events[i], `events[${i}]`);
}

/**
 * The event arrays {@link sealParsedEvents} built: frozen arrays of frozen, valid events whose
 * bodies are deeply frozen. Only that function adds to it (right after checking and freezing
 * every record), and nothing it holds can change afterwards, so membership proves validity.
 */
const sealedEvents = new WeakSet<object>();

/** A plain object without own keys: `for…in` over it lists what `Object.prototype` adds. */
const EMPTY: object = Object.freeze({});

/**
 * Whether `events` is an array {@link sealParsedEvents} returned: every record in it is valid by
 * the rules of {@link assertEvent}, has exactly the own keys `id`, `t` and `body`, holds no `-0`,
 * and is deeply frozen, as is the array. A store may keep such records as they are (no copy) and
 * a validator may skip them. Internal (not exported from the package).
 */
export function isSealedEvents(events: unknown): boolean {
  return typeof events === 'object' && events !== null && sealedEvents.has(events);
}

/**
 * Checks a JSON value by the rules of {@link assertJsonValue} and freezes it in place, turning
 * `-0` into `0` on the way (as JSON text and every store do). Returns `false`, possibly after
 * freezing part of it, when the value breaks a rule. A cycle cannot pass: it would nest deeper
 * than {@link MAX_BODY_DEPTH}.
 */
function sealJsonNode(node: unknown, depth: number): boolean {
  if (typeof node !== 'object') {
    return (
      typeof node === 'string' ||
      typeof node === 'boolean' ||
      (typeof node === 'number' && Number.isFinite(node))
    );
  }
  if (node === null) return true;
  if (depth > MAX_BODY_DEPTH) return false;
  // Already frozen (not from JSON.parse, or met twice): a `-0` in it cannot be rewritten.
  const frozen = Object.isFrozen(node);
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const child: unknown = node[i];
      if (Object.is(child, -0)) {
        if (frozen) return false;
        node[i] = 0;
      } else if (!sealJsonNode(child, depth + 1)) return false;
    }
  } else {
    const proto = Object.getPrototypeOf(node);
    if (proto !== Object.prototype && proto !== null) return false;
    const record = node as Record<string, unknown>;
    // `for…in` is `Object.keys` without an array per object here: the caller made sure no
    // enumerable key is inherited from `Object.prototype`.
    for (const key in record) {
      const child = record[key];
      if (Object.is(child, -0)) {
        if (frozen) return false;
        record[key] = 0;
      } else if (!sealJsonNode(child, depth + 1)) return false;
    }
  }
  if (!frozen) Object.freeze(node);
  return true;
}

/**
 * Checks records fresh from `JSON.parse` (a reply's page of events) by the read rules of the
 * wire, which are those of {@link assertEvent} with no key other than `id`, `t` and `body`, and
 * returns them sealed (see {@link isSealedEvents}): `records` itself, frozen, each record
 * frozen in place with its body (`-0` read as `0`). Returns `undefined` when a record breaks a
 * rule (the caller then finds and names the problem the slow way); the records may then be
 * partly frozen.
 *
 * Only for values straight from `JSON.parse` that nothing else holds: their objects are plain,
 * with data properties only (no getters, no proxies), which is what makes freezing them in place
 * final. Anything else must go through {@link assertEvents} and be copied.
 */
export function sealParsedEvents(records: unknown[]): readonly EventRecord[] | undefined {
  // An enumerable key on `Object.prototype` (a polluted prototype) would show in every `for…in`
  // below: leave such a page to the slow path.
  for (const _ in EMPTY) return undefined;
  if (sealedEvents.has(records)) return records as readonly unknown[] as readonly EventRecord[];
  // A frozen array is not JSON.parse's: its records could not be replaced by copies below.
  if (Object.isFrozen(records)) return undefined;
  for (let i = 0; i < records.length; i++) {
    const record: unknown = records[i];
    if (!isRecord(record)) return undefined;
    // `for…in` sees an own `__proto__` key too (JSON.parse makes one), as the strict schema does.
    for (const key in record) {
      if (key !== 'id' && key !== 't' && key !== 'body') return undefined;
    }
    const { id, t, body } = record;
    if (
      typeof id !== 'string' ||
      id.length < 1 ||
      id.length > MAX_EVENT_ID_LENGTH ||
      !id.isWellFormed() ||
      !Number.isSafeInteger(t) ||
      !sealJsonNode(body, 0)
    ) {
      return undefined;
    }
    if (Object.getPrototypeOf(record) === Object.prototype && !Object.isFrozen(record)) {
      // The record itself becomes the event (no copy): it has exactly these keys; `-0` is 0.
      if (Object.is(t, -0)) record.t = 0;
      if (Object.is(body, -0)) record.body = 0;
      Object.freeze(record);
    } else {
      records[i] = Object.freeze({
        id,
        t: (t as number) + 0,
        body: (body === 0 ? 0 : body) as JsonValue,
      });
    }
  }
  // The array itself (JSON.parse's, nobody else's) becomes the sealed page.
  Object.freeze(records);
  sealedEvents.add(records);
  return records as readonly unknown[] as readonly EventRecord[];
}

function syncError(message: string): StorageError {
  return new StorageError('STORAGE_INVALID_SYNC_STATE', message);
}

/**
 * Asserts a sync-state key: a non-empty, well-formed string of at most
 * {@link MAX_SYNC_KEY_LENGTH} code units. `where` starts the message (e.g. `readSyncState: key`).
 *
 * @group Storage
 */
export function assertSyncKey(key: unknown, where = 'A sync-state key'): asserts key is string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_SYNC_KEY_LENGTH) {
    throw syncError(
      `${where} must be a non-empty string of at most ${MAX_SYNC_KEY_LENGTH} characters, got ${describe(key)}.`,
    );
  }
  if (!isWellFormedString(key)) {
    throw syncError(
      `${where} must not contain a lone UTF-16 surrogate (it cannot be stored faithfully).`,
    );
  }
}

/**
 * Validates a sync-state value and returns its JSON text: a plain JSON object (the rules of
 * {@link assertJsonValue}) of at most {@link MAX_SYNC_STATE_LENGTH} code units as JSON text.
 * Throws `STORAGE_INVALID_SYNC_STATE`; `where` starts the message (e.g. `writeSyncState: value`).
 *
 * @group Storage
 */
export function syncStateText(value: unknown, where = 'A sync-state value'): string {
  if (!isRecord(value)) {
    throw syncError(`${where} must be a JSON object, got ${describe(value)}.`);
  }
  assertJsonValue(value, where, 'STORAGE_INVALID_SYNC_STATE');
  const text = JSON.stringify(value);
  if (text.length > MAX_SYNC_STATE_LENGTH) {
    throw syncError(
      `${where} is ${text.length} characters as JSON text, more than the ${MAX_SYNC_STATE_LENGTH} allowed; keep sync state small.`,
    );
  }
  return text;
}

/**
 * A validated sync-state record, ready to store: its key and the JSON text of its value.
 *
 * @group Storage
 */
export interface EncodedSyncState {
  /** The record's key. */
  readonly key: string;
  /** The value as JSON text (what a store keeps; parse it to read the value back). */
  readonly text: string;
}

/**
 * Validates a sync-state record (key by {@link assertSyncKey}, value by {@link syncStateText})
 * and returns it encoded. `prefix` starts the names in messages, e.g. `writeSyncState: ` or
 * `mergePoints: options.syncState.` (then followed by `key` or `value`).
 *
 * @group Storage
 */
export function encodeSyncState(key: unknown, value: unknown, prefix: string): EncodedSyncState {
  assertSyncKey(key, `${prefix}key`);
  return { key, text: syncStateText(value, `${prefix}value`) };
}

/**
 * Validates the options of a sync write (`replacePoints`, `mergePoints`, `insertEventsIfAbsent`):
 * `undefined`, or an object whose `syncState` is `undefined` or a record `{ key, value }`. Returns
 * the record encoded, or `undefined` when there is none. Call it before storing anything: a bad
 * record rejects the whole call with `STORAGE_INVALID_SYNC_STATE`.
 *
 * @group Storage
 */
export function encodeSyncWriteOptions(
  options: unknown,
  method: 'replacePoints' | 'mergePoints' | 'insertEventsIfAbsent',
): EncodedSyncState | undefined {
  if (options === undefined) return undefined;
  if (!isRecord(options)) {
    throw syncError(
      `${method}: options must be an object { syncState? } or undefined, got ${describe(options)}.`,
    );
  }
  const record = options.syncState;
  if (record === undefined) return undefined;
  if (!isRecord(record)) {
    throw syncError(
      `${method}: options.syncState must be an object { key, value } or undefined, got ${describe(record)}.`,
    );
  }
  return encodeSyncState(record.key, record.value, `${method}: options.syncState.`);
}

/**
 * Parses the JSON text of a sync-state record read back from a store. Text that does not parse
 * as a JSON object was not written by an adapter: `STORAGE_BACKEND` (the store is corrupt or was
 * written by another program). `where` names the record in the message.
 *
 * @group Storage
 */
export function decodeSyncState(text: unknown, where: string): SyncStateValue {
  let value: unknown;
  try {
    value = typeof text === 'string' ? JSON.parse(text) : text;
  } catch (error) {
    throw new StorageError(
      'STORAGE_BACKEND',
      `${where} is not valid JSON text; the store is corrupt or was written by another program. Rewrite the record with writeSyncState.`,
      { cause: error },
    );
  }
  if (!isRecord(value)) {
    throw new StorageError(
      'STORAGE_BACKEND',
      `${where} is ${describe(value)}, not a JSON object; the store is corrupt or was written by another program. Rewrite the record with writeSyncState.`,
    );
  }
  return value as SyncStateValue;
}

/** `n` with `-0` turned into `0` (as JSON, SQLite and most stores do). */
function noNegativeZero<T>(n: T): T {
  return (typeof n === 'number' ? n + 0 : n) as T;
}

/**
 * A frozen point equal to `point` (already validated): `point` itself when it is already one of
 * ours (frozen, with exactly the fields of a point), otherwise a frozen copy. Frozen points can
 * be shared between the store and its callers: nobody can alter them.
 */
export function frozenPoint(point: Point): Point {
  if (
    Object.isFrozen(point) &&
    !Object.is(point.v, -0) &&
    Object.getPrototypeOf(point) === Object.prototype
  ) {
    let keys = 0;
    for (const _ in point) keys++;
    if (keys === (point.q === undefined ? 2 : 3)) return point;
  }
  return Object.freeze(copyPoint(point));
}

/**
 * A fresh copy of a valid point with only `t`, `v` and (when present) `q`. `-0` becomes `0`, as
 * it would through JSON or SQLite.
 */
export function copyPoint(point: Point): Point {
  const t = point.t + 0;
  const v = noNegativeZero(point.v);
  return point.q === undefined ? { t, v } : { t, v, q: point.q + 0 };
}

/** A deep copy of a JSON value, through JSON text (so `-0` becomes `0`, as in any JSON store). */
export function copyJson<T extends JsonValue>(value: T): T {
  return typeof value === 'object' && value !== null
    ? (JSON.parse(JSON.stringify(value)) as T)
    : noNegativeZero(value);
}

/** A deep copy of a valid event with only `id`, `t` and `body`. */
export function copyEvent(event: EventRecord): EventRecord {
  return { id: event.id, t: event.t + 0, body: copyJson(event.body) };
}

/**
 * The HTTP peer wire format shared by `createPeerHandler` (server) and `httpPeer` (client):
 * routes, JSON shapes, limits and the byte-capped body reader. Internal: the zod schemas here
 * never appear in a public type.
 *
 * Protocol v1 (all bodies JSON, `content-type: application/json`, every request carries
 * `authorization: Bearer <token>`), under a base path (default `/edge-ha/v1`):
 *
 * | route | method | request body | reply |
 * |---|---|---|---|
 * | `/hello` | GET | – | `{ instanceId, protocolVersion, now, gaps? }` |
 * | `/items` | GET | – | `{ items: string[] }` |
 * | `/points` | POST | `{ item, window: { from, to }, limit, cursor? }` | `{ items: Point[], next }` |
 * | `/events` | POST | `{ window: { from, to }, limit, cursor? }` | `{ items: EventRecord[], next }` |
 * | `/write/points` | POST | `{ item, points: Point[] }` | `{ written }` |
 * | `/write/events` | POST | `{ events: EventRecord[] }` | `{ inserted }` |
 *
 * The `/write/*` routes need the write token. Errors: a non-2xx status with
 * `{ error: { code, message } }`.
 */

import * as z from 'zod/mini';
import { StorageError } from '../errors.js';
import type { EventRecord, JsonValue } from '../storage/types.js';
import {
  assertEvents,
  isJsonValue,
  isWellFormedString,
  MAX_EVENT_ID_LENGTH,
  MAX_ITEM_ID_LENGTH,
  MAX_QUALITY,
  MAX_CURSOR_LENGTH as STORAGE_MAX_CURSOR_LENGTH,
  sealParsedEvents,
} from '../storage/validate.js';
import { MAX_HELLO_GAPS } from './gaps.js';

/**
 * Default base path of the peer routes; the `v1` is the protocol version.
 *
 * @group Peer protocol
 */
export const DEFAULT_PEER_BASE_PATH = '/edge-ha/v1';

/** Route names under the base path. */
export const ROUTES: {
  readonly hello: '/hello';
  readonly items: '/items';
  readonly points: '/points';
  readonly events: '/events';
  readonly writePoints: '/write/points';
  readonly writeEvents: '/write/events';
} = {
  hello: '/hello',
  items: '/items',
  points: '/points',
  events: '/events',
  writePoints: '/write/points',
  writeEvents: '/write/events',
};

/** The routes that need the write permission. */
export const WRITE_ROUTES: ReadonlySet<string> = new Set([ROUTES.writePoints, ROUTES.writeEvents]);

/** Longest cursor accepted on the wire: the storage contract's cap (cursors are opaque, but small). */
export const MAX_CURSOR_LENGTH: number = STORAGE_MAX_CURSOR_LENGTH;

/** The codes a peer handler puts in `{ error: { code } }`. */
export type WireErrorCode =
  | 'PEER_AUTH'
  | 'PEER_FORBIDDEN'
  | 'PEER_BAD_REQUEST'
  | 'PEER_NOT_FOUND'
  | 'PEER_METHOD_NOT_ALLOWED'
  | 'PEER_UNSUPPORTED_MEDIA_TYPE'
  | 'PEER_PAYLOAD_TOO_LARGE'
  | 'PEER_UNKNOWN_ITEM'
  | 'PEER_UNAVAILABLE'
  | 'PEER_INTERNAL';

/** Integer epoch-ms timestamp (a safe integer). */
const timestamp = z.int();

const windowSchema = z
  .strictObject({ from: timestamp, to: timestamp })
  .check(z.refine((w) => w.from <= w.to, { message: 'window.from must be <= window.to' }));

const wellFormed = (value: string): boolean => isWellFormedString(value);
/** A non-empty id of at most `max` characters without a lone UTF-16 surrogate. */
function idSchema(max: number): z.ZodMiniString {
  return z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(max),
      z.refine(wellFormed, { message: 'must not contain a lone UTF-16 surrogate' }),
    );
}
const itemId = idSchema(MAX_ITEM_ID_LENGTH);
const eventId = idSchema(MAX_EVENT_ID_LENGTH);
const cursor = z.string().check(z.minLength(1), z.maxLength(MAX_CURSOR_LENGTH));

/** Body of `POST /points`. */
export const pointsRequestSchema: z.ZodMiniType<PointsRequest> = z.strictObject({
  item: itemId,
  window: windowSchema,
  limit: z.int().check(z.minimum(1)),
  cursor: z.optional(cursor),
});

/** Body of `POST /events`. */
export const eventsRequestSchema: z.ZodMiniType<EventsRequest> = z.strictObject({
  window: windowSchema,
  limit: z.int().check(z.minimum(1)),
  cursor: z.optional(cursor),
});

/** Parsed body of `POST /points`. */
export interface PointsRequest {
  /** The item id. */
  item: string;
  /** The window `[from, to)`. */
  window: { from: number; to: number };
  /** Requested page size (the server may serve fewer). */
  limit: number;
  /** Cursor from the previous page. */
  cursor?: string | undefined;
}

/** Parsed body of `POST /events`. */
export interface EventsRequest {
  /** The window `[from, to)`. */
  window: { from: number; to: number };
  /** Requested page size (the server may serve fewer). */
  limit: number;
  /** Cursor from the previous page. */
  cursor?: string | undefined;
}

const pointSchema: z.ZodMiniType<WirePoint> = z.strictObject({
  t: timestamp,
  v: z.union([z.number(), z.string().check(z.refine(wellFormed)), z.boolean(), z.null()]),
  q: z.optional(z.int().check(z.minimum(0), z.maximum(MAX_QUALITY))),
});

const eventSchema: z.ZodMiniType<WireEvent> = z.strictObject({
  id: eventId,
  t: timestamp,
  body: z.custom<JsonValue>((value) => isJsonValue(value), {
    message: 'must be a JSON value (finite numbers, bounded nesting)',
  }),
});

/**
 * Whether every string and every key inside a JSON value is well-formed (no lone UTF-16
 * surrogate). `value` must already be a JSON value (no cycles, bounded depth, see `isJsonValue`).
 */
export function isWellFormedJson(value: JsonValue): boolean {
  if (typeof value === 'string') return isWellFormedString(value);
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) return value.every(isWellFormedJson);
  for (const key of Object.keys(value)) {
    if (!isWellFormedString(key) || !isWellFormedJson(value[key] as JsonValue)) return false;
  }
  return true;
}

/**
 * Asserts a batch of events a write may send: the storage rules (`assertEvents`) plus
 * well-formed strings and keys inside each body, which the write route requires. Throws a
 * `StorageError` naming the record.
 */
export function assertWritableEvents(events: unknown): asserts events is readonly EventRecord[] {
  assertEvents(events);
  for (let i = 0; i < events.length; i++) {
    if (!isWellFormedJson((events[i] as EventRecord).body)) {
      throw new StorageError(
        'STORAGE_VALUE_OUT_OF_RANGE',
        `events[${i}].body: a string or key contains a lone UTF-16 surrogate, which cannot be sent as JSON faithfully.`,
      );
    }
  }
}

/** An event as a write accepts it: the read rules plus well-formed strings inside the body. */
const writableEventSchema: z.ZodMiniType<WireEvent> = z.strictObject({
  id: eventId,
  t: timestamp,
  body: z.custom<JsonValue>((value) => isJsonValue(value) && isWellFormedJson(value), {
    message:
      'must be a JSON value (finite numbers, bounded nesting, no lone UTF-16 surrogate in strings or keys)',
  }),
});

/** Body of `POST /write/points`. */
export const writePointsRequestSchema: z.ZodMiniType<WritePointsRequest> = z.strictObject({
  item: itemId,
  points: z.array(pointSchema),
});

/** Body of `POST /write/events`. */
export const writeEventsRequestSchema: z.ZodMiniType<WriteEventsRequest> = z.strictObject({
  events: z.array(writableEventSchema),
});

/** Parsed body of `POST /write/points`. */
export interface WritePointsRequest {
  /** The item id. */
  item: string;
  /** The points to append (a point at an existing timestamp replaces it). */
  points: WirePoint[];
}

/** Parsed body of `POST /write/events`. */
export interface WriteEventsRequest {
  /** The events to insert if absent. */
  events: WireEvent[];
}

/** Reply of `POST /write/points`: how many points were stored. */
export const writePointsReplySchema: z.ZodMiniType<{ written: number }> = z.object({
  written: z.int().check(z.minimum(0)),
});

/** Reply of `POST /write/events`: how many events were new. */
export const writeEventsReplySchema: z.ZodMiniType<{ inserted: number }> = z.object({
  inserted: z.int().check(z.minimum(0)),
});

/**
 * Reply of `GET /hello`. `gaps` (the windows the remote is missing itself) is optional: a peer
 * that does not send it, such as an older edge-ha of the same protocol, has none.
 */
export const helloReplySchema: z.ZodMiniType<{
  instanceId: string;
  protocolVersion: number;
  now: number;
  gaps?: { from: number; to: number }[] | undefined;
}> = z.object({
  instanceId: z.string().check(z.minLength(1), z.maxLength(MAX_ITEM_ID_LENGTH)),
  protocolVersion: z.int().check(z.minimum(0)),
  now: timestamp,
  gaps: z.optional(
    z
      .array(
        z
          .object({ from: timestamp, to: timestamp })
          .check(z.refine((w) => w.from <= w.to, { message: 'gap.from must be <= gap.to' })),
      )
      .check(z.maxLength(MAX_HELLO_GAPS)),
  ),
});

/** Reply of `GET /items`. */
export const itemsReplySchema: z.ZodMiniType<{ items: string[] }> = z.object({
  items: z.array(itemId),
});

/** A point as validated from the wire. */
export interface WirePoint {
  /** Timestamp, epoch ms. */
  t: number;
  /** The value. */
  v: number | string | boolean | null;
  /** Quality code. */
  q?: number | undefined;
}

/** An event as validated from the wire. */
export interface WireEvent {
  /** Event id. */
  id: string;
  /** Timestamp, epoch ms. */
  t: number;
  /** The event's content. */
  body: JsonValue;
}

/** Reply of `POST /points`. */
export const pointsReplySchema: z.ZodMiniType<{ items: WirePoint[]; next: string | null }> =
  z.object({
    items: z.array(pointSchema),
    next: z.nullable(cursor),
  });

/** Reply of `POST /events`. */
export const eventsReplySchema: z.ZodMiniType<{
  items: readonly WireEvent[];
  next: string | null;
}> = z.object({
  items: z.array(eventSchema),
  next: z.nullable(cursor),
});

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCursorOrNull(value: unknown): value is string | null {
  return (
    value === null ||
    (typeof value === 'string' && value.length >= 1 && value.length <= MAX_CURSOR_LENGTH)
  );
}

/**
 * The fast path of {@link pointsReplySchema}: the same rules written out by hand for the page
 * arrays (zod costs several times more per record). Returns the parsed reply (fresh point objects
 * with only `t`, `v` and, when present, `q`) when `json` is valid, or `undefined` when it is not
 * or when in doubt; the caller then parses with the schema, which names the problem.
 */
export function parsePointsReplyFast(
  json: unknown,
): { items: WirePoint[]; next: string | null } | undefined {
  if (!isPlainRecord(json)) return undefined;
  const { items, next } = json;
  if (!Array.isArray(items) || !isCursorOrNull(next)) return undefined;
  const out: WirePoint[] = new Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const point: unknown = items[i];
    if (!isPlainRecord(point)) return undefined;
    // Same key rule as the strict schema: `for…in` sees an own `__proto__` key too.
    for (const key in point) {
      if (key !== 't' && key !== 'v' && key !== 'q') return undefined;
    }
    const { t, v, q } = point;
    if (!Number.isSafeInteger(t)) return undefined;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return undefined;
    } else if (typeof v === 'string') {
      if (!isWellFormedString(v)) return undefined;
    } else if (v !== null && typeof v !== 'boolean') {
      return undefined;
    }
    if (q === undefined) {
      out[i] = { t: t as number, v };
    } else {
      if (!Number.isSafeInteger(q) || (q as number) < 0 || (q as number) > MAX_QUALITY) {
        return undefined;
      }
      out[i] = { t: t as number, v, q: q as number };
    }
  }
  return { items: out, next };
}

/**
 * The fast path of {@link eventsReplySchema}, like {@link parsePointsReplyFast}, for a reply
 * straight from `JSON.parse` that nothing else holds: its page is sealed in place
 * (`sealParsedEvents`: each record, with only `id`, `t` and `body`, checked and frozen where it
 * is with its body, `-0` read as `0`, in a frozen array), so the deputy and the store need
 * neither check nor copy it again. `undefined` when the reply is not valid or in doubt.
 */
export function parseEventsReplyFast(
  json: unknown,
): { items: readonly WireEvent[]; next: string | null } | undefined {
  if (!isPlainRecord(json)) return undefined;
  const { items, next } = json;
  if (!Array.isArray(items) || !isCursorOrNull(next)) return undefined;
  const sealed = sealParsedEvents(items);
  return sealed === undefined ? undefined : { items: sealed, next };
}

/** An error reply `{ error: { code, message } }` (read leniently: it only improves a message). */
export const errorReplySchema: z.ZodMiniType<{ error: { code: string; message: string } }> =
  z.object({
    error: z.object({ code: z.string().check(z.maxLength(100)), message: z.string() }),
  });

/** One zod issue in words: its own message when a check gave one, else a sentence from its code. */
function describeIssue(issue: z.core.$ZodIssue): string {
  // zod/mini loads no locale (and setting one is global to the host's zod): every built-in
  // check reports "Invalid input", so the sentence is made here from the issue's data.
  if (issue.message !== '' && issue.message !== 'Invalid input') return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'too_small':
      return issue.origin === 'string' || issue.origin === 'array'
        ? `must have at least ${String(issue.minimum)} ${issue.origin === 'string' ? 'characters' : 'entries'}`
        : `must be ${issue.inclusive === false ? '>' : '>='} ${String(issue.minimum)}`;
    case 'too_big':
      return issue.origin === 'string' || issue.origin === 'array'
        ? `must have at most ${String(issue.maximum)} ${issue.origin === 'string' ? 'characters' : 'entries'}`
        : `must be ${issue.inclusive === false ? '<' : '<='} ${String(issue.maximum)}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length === 1 ? '' : 's'} ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`;
    case 'invalid_union':
      return 'matches none of the allowed types';
    case 'invalid_value':
      return 'is not one of the allowed values';
    default:
      return 'is invalid';
  }
}

/**
 * Describes the first few problems of a failed zod parse as `path: message; …`, for an error
 * message. Never includes the offending values.
 */
export function describeIssues(error: z.core.$ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${path}: ${describeIssue(issue)}`;
  });
  if (error.issues.length > max) parts.push(`and ${error.issues.length - max} more`);
  return parts.join('; ');
}

/** Thrown by {@link readCapped} when the body is larger than the cap. */
export class BodyTooLargeError extends Error {
  /** The cap that was exceeded, in bytes. */
  readonly limit: number;
  constructor(limit: number) {
    super(`body is larger than ${limit} bytes`);
    this.limit = limit;
  }
}

/**
 * Reads a byte stream to the end, but never buffers more than `maxBytes`: past the cap it cancels
 * the stream and throws {@link BodyTooLargeError}. Other stream errors propagate as they are.
 */
export async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  maxBytes: number,
): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw new BodyTooLargeError(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** Whether a `content-type` header value denotes JSON (`application/json`, any parameters). */
export function isJsonContentType(value: string | null): boolean {
  if (value === null) return false;
  const [type] = value.split(';');
  return type?.trim().toLowerCase() === 'application/json';
}

/** Decodes UTF-8 strictly (a malformed byte sequence throws a `TypeError`). */
export function decodeUtf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
}

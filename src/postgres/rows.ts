/**
 * Points and events as rows: the `VALUES` tuples and `COPY` text lines the adapter writes, and
 * the decoding of the rows it reads back (every column arrives as its text form).
 *
 * @internal
 */

import { StorageError } from '../errors.js';
import type { EventRecord, JsonValue, Point, PointValue } from '../storage/types.js';
import { COPY_NULL, copyField, fromDbText, quoteLiteral, toDbText } from './text.js';

/** Size from which a chunk of COPY lines is sent (UTF-16 code units, ~64 KiB of ASCII). */
const CHUNK_CHARS = 65_536;

/** The columns of a point after `item`, in table order. */
export const POINT_COLUMNS = 't, vn, vs, vb, q';

/**
 * A point of the item `itemId` as a SQL tuple `(item_id, t, vn, vs, vb, q)` of literals (for
 * `INSERT … VALUES`, where untyped literals take the column types). `-0` is written as `0`.
 */
export function pointTuple(itemId: number, point: Point): string {
  const v = point.v;
  const q = point.q === undefined ? 'NULL' : String(point.q);
  const head = `(${itemId},${point.t}`;
  if (v === null) return `${head},NULL,NULL,NULL,${q})`;
  if (typeof v === 'number') return `${head},'${String(v)}',NULL,NULL,${q})`;
  if (typeof v === 'string') return `${head},NULL,${quoteLiteral(toDbText(v))},NULL,${q})`;
  return `${head},NULL,NULL,${v ? 'TRUE' : 'FALSE'},${q})`;
}

/** A point as one line of COPY text format, `prefix` (e.g. the item's field and a tab) first. */
function pointLine(prefix: string, point: Point): string {
  const v = point.v;
  const q = point.q === undefined ? COPY_NULL : String(point.q);
  if (v === null) return `${prefix}${point.t}\t\\N\t\\N\t\\N\t${q}\n`;
  if (typeof v === 'number') return `${prefix}${point.t}\t${String(v)}\t\\N\t\\N\t${q}\n`;
  if (typeof v === 'string') {
    return `${prefix}${point.t}\t\\N\t${copyField(toDbText(v))}\t\\N\t${q}\n`;
  }
  return `${prefix}${point.t}\t\\N\t\\N\t${v ? 't' : 'f'}\t${q}\n`;
}

/**
 * The COPY text lines of `points`, in chunks: columns `item_id, t, vn, vs, vb, q` when
 * `itemId` is given, else `t, vn, vs, vb, q`.
 */
export function* pointChunks(points: readonly Point[], itemId?: number): Generator<string> {
  const prefix = itemId === undefined ? '' : `${itemId}\t`;
  let chunk = '';
  for (let i = 0; i < points.length; i++) {
    chunk += pointLine(prefix, points[i] as Point);
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** An event as a SQL tuple `(t, id, body)` of literals; `body` is its JSON text. */
export function eventTuple(event: EventRecord): string {
  return `(${event.t},${quoteLiteral(toDbText(event.id))},${quoteLiteral(JSON.stringify(event.body))})`;
}

/** The COPY text lines (`t, id, body`) of `events`, in chunks. */
export function* eventChunks(events: readonly EventRecord[]): Generator<string> {
  let chunk = '';
  for (let i = 0; i < events.length; i++) {
    const event = events[i] as EventRecord;
    chunk += `${event.t}\t${copyField(toDbText(event.id))}\t${copyField(JSON.stringify(event.body))}\n`;
    if (chunk.length >= CHUNK_CHARS) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk.length > 0) yield chunk;
}

function corrupt(what: string): StorageError {
  return new StorageError(
    'STORAGE_BACKEND',
    `${what}; the table was changed by another program or the connection does not use the text protocol (pg's binary mode is not supported).`,
  );
}

/** A point read back as `[t, vn, vs, vb, q]` text columns. */
export function pointFromRow(row: readonly unknown[]): Point {
  const [t, vn, vs, vb, q] = row;
  if (typeof t !== 'string') throw corrupt(`A stored point has t=${String(t)}`);
  const time = Number(t);
  let v: PointValue;
  if (vn !== null) {
    v = Number(vn) + 0;
    if (typeof vn !== 'string' || !Number.isFinite(v)) {
      throw corrupt(`The stored point at t=${t} has the number ${String(vn)}`);
    }
  } else if (vs !== null) {
    if (typeof vs !== 'string') throw corrupt(`The stored point at t=${t} has a non-text string`);
    v = fromDbText(vs);
  } else if (vb !== null) {
    if (vb !== 't' && vb !== 'f')
      throw corrupt(`The stored point at t=${t} has the boolean ${String(vb)}`);
    v = vb === 't';
  } else {
    v = null;
  }
  if (q === null || q === undefined) return { t: time, v };
  return { t: time, v, q: Number(q) };
}

/** An event read back as `[t, id, body]` text columns. */
export function eventFromRow(row: readonly unknown[]): EventRecord {
  const [t, id, body] = row;
  if (typeof t !== 'string' || typeof id !== 'string' || typeof body !== 'string') {
    throw corrupt(`A stored event (t=${String(t)}) has non-text columns`);
  }
  let parsed: JsonValue;
  try {
    parsed = JSON.parse(body) as JsonValue;
  } catch (error) {
    throw new StorageError(
      'STORAGE_BACKEND',
      `The stored event ${JSON.stringify(fromDbText(id))} has a body that is not JSON text; the table was changed by another program.`,
      { cause: error },
    );
  }
  return { id: fromDbText(id), t: Number(t), body: parsed };
}

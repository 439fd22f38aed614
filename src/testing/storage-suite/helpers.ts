/**
 * Shared pieces of the storage conformance suite: the case shape, record builders and the
 * assertion helpers. Every failure message names the method, its input (abbreviated when long),
 * what the contract expects (a value or an error code) and what the adapter did (the value it
 * resolved with, or the code and message it rejected with).
 *
 * @internal
 */

import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { isEdgeHaError } from '../../errors.js';
import type {
  EventRecord,
  JsonValue,
  Page,
  PageRequest,
  Point,
  StorageAdapter,
  StorageCapabilities,
  TimeWindow,
} from '../../storage/types.js';
import { MAX_CURSOR_LENGTH } from '../../storage/validate.js';
import { FAULTY_STORAGE_OPERATIONS, type FaultyStorageOperation } from '../faults/storage.js';

/** What a case gets: a fresh adapter and a way to reopen the same store. */
export interface CaseHarness {
  /** The adapter under test (fresh, empty store), wrapped by {@link observed}. */
  readonly adapter: StorageAdapter;
  /** Closes the current adapter and opens the same store again (same factory key). */
  reopen(): Promise<StorageAdapter>;
  /** Capabilities the caller expects, if declared. */
  readonly expected: Partial<StorageCapabilities> | undefined;
  /** Size of the large-page case. */
  readonly largePage: number;
}

/** One conformance case. */
export interface SuiteCase {
  /** Group (describe block) name. */
  readonly group: string;
  /** Test name. */
  readonly name: string;
  /** The check. */
  readonly run: (harness: CaseHarness) => Promise<void>;
}

/** A list of cases and the function that adds one (each case file builds its own). */
export function caseList(): {
  readonly cases: SuiteCase[];
  readonly add: (group: string, name: string, run: (harness: CaseHarness) => Promise<void>) => void;
} {
  const cases: SuiteCase[] = [];
  return { cases, add: (group, name, run) => cases.push({ group, name, run }) };
}

/** The widest window: every safe-integer timestamp. */
export const ALL: TimeWindow = { from: Number.MIN_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER };

/** A point `{ t, v }` (`v` defaults to `t`). */
export const point = (t: number, v: Point['v'] = t): Point => ({ t, v });

/** The integers `from, from + 1, …, to - 1`. */
export const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from }, (_, i) => from + i);

/** An event `{ id, t, body }` (`body` defaults to `{ id }`). */
export const ev = (id: string, t: number, body: JsonValue = { id }): EventRecord => ({
  id,
  t,
  body,
});

// ---------------------------------------------------------------------------------------------
// Showing values in messages

/**
 * A value as JavaScript-like text for messages, abbreviated: long strings and arrays are cut
 * (saying how much was left out) and the whole text is cut to `max` characters. Unlike JSON it
 * shows `NaN`, `undefined`, `-0`, bigints, functions, class instances and cycles as what they are.
 */
export function show(value: unknown, max = 160): string {
  const text = inspect(value, {
    depth: 4,
    breakLength: Number.POSITIVE_INFINITY,
    compact: true,
    maxArrayLength: 8,
    maxStringLength: 60,
  });
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/** A window as `[from, to)`, for messages. */
export function showWindow(window: TimeWindow): string {
  return `[${window.from}, ${window.to})`;
}

/** Points as `[t=v, t=v q, …]` (first 8), for messages. */
export function showPoints(points: readonly Point[]): string {
  if (!Array.isArray(points)) return show(points);
  const shown = points
    .slice(0, 8)
    .map((p) => `${p?.t}=${show(p?.v, 40)}${p?.q === undefined ? '' : ` q${p.q}`}`);
  if (points.length > 8) shown.push(`… ${points.length} points`);
  return `[${shown.join(', ')}]`;
}

/** A call as `method(arg, arg, …)`, arguments abbreviated, for messages. */
export function showCall(method: string, args: readonly unknown[]): string {
  return `${method}(${args.map((arg) => show(arg, 100)).join(', ')})`;
}

/** What a rejection was: `CODE: message` (or the thrown value when it has no code). */
export function showError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = (error as { message?: unknown } | null)?.message;
  if (typeof message !== 'string') return `a non-error value ${show(error)}`;
  const text = message.length > 300 ? `${message.slice(0, 300)}…` : message;
  return typeof code === 'string' ? `${code}: ${text}` : `an error without code: ${text}`;
}

// ---------------------------------------------------------------------------------------------
// The observed adapter: unexpected rejections name the call

/** The adapter methods the suite calls: every storage operation, and `close`. */
export type AdapterMethod = FaultyStorageOperation | 'close';

const METHODS: ReadonlySet<PropertyKey> = new Set<PropertyKey>([
  ...FAULTY_STORAGE_OPERATIONS,
  'readPointsJson',
  'readEventsJson',
  'close',
  Symbol.asyncDispose,
]);

/**
 * A call of the adapter rejected where the contract expects it to resolve. Its message names
 * the call and what it rejected with; `cause` is the adapter's error.
 */
export class UnexpectedRejection extends Error {
  /** The call, as `method(args…)`. */
  readonly call: string;
  constructor(call: string, error: unknown) {
    super(
      `${call} must resolve (the contract allows this call), but it rejected with ${showError(error)}`,
      { cause: error },
    );
    this.name = 'UnexpectedRejection';
    this.call = call;
  }
}

/** The adapter's error behind an {@link UnexpectedRejection} (or `error` itself). */
export function original(error: unknown): unknown {
  return error instanceof UnexpectedRejection ? error.cause : error;
}

/**
 * Wraps an adapter so that every rejection of one of its methods becomes an
 * {@link UnexpectedRejection} naming the call and its arguments. Methods run on the adapter
 * itself (private fields keep working); a synchronous throw or a non-promise result passes
 * through unchanged, for {@link rejectsWith} to report.
 */
export function observed(adapter: StorageAdapter): StorageAdapter {
  return new Proxy(adapter, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (!METHODS.has(property) || typeof value !== 'function') return value;
      const name = typeof property === 'symbol' ? '[Symbol.asyncDispose]' : property;
      return (...args: unknown[]) => {
        const result: unknown = Reflect.apply(value, target, args);
        if (result === null || typeof (result as { then?: unknown }).then !== 'function') {
          return result;
        }
        return (result as Promise<unknown>).then(undefined, (error: unknown) => {
          throw new UnexpectedRejection(showCall(name, args), error);
        });
      };
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Assertions

/**
 * `value` with its arrays and plain objects rebuilt in this realm. Records an adapter returns may
 * come from another realm (jest runs test files in a `vm` context, while a native driver such as
 * better-sqlite3 builds its rows in the main one): `assert.deepStrictEqual` compares prototypes,
 * so equal records of two realms would differ. Other objects (a Map, a class instance) are kept.
 */
function inThisRealm(value: unknown, ancestors: unknown[] = []): unknown {
  if (typeof value !== 'object' || value === null || ancestors.includes(value)) return value;
  ancestors.push(value);
  let copy: unknown = value;
  if (Array.isArray(value)) {
    // Array.from of this realm (`value.map` would build an array of the value's realm).
    copy = Array.from(value, (element: unknown) => inThisRealm(element, ancestors));
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    const plain =
      proto === null ||
      (Object.getPrototypeOf(proto) === null &&
        (proto as { constructor?: { name?: unknown } }).constructor?.name === 'Object');
    if (plain) {
      const object: Record<string, unknown> = proto === null ? Object.create(null) : {};
      for (const key of Object.keys(value)) {
        object[key] = inThisRealm((value as Record<string, unknown>)[key], ancestors);
      }
      copy = object;
    }
  }
  ancestors.pop();
  return copy;
}

/**
 * `assert.deepStrictEqual` of what an adapter returned and what the contract expects, both
 * rebuilt in this realm (`structuredClone` builds in the main realm under jest, too); `message`
 * says which call and what was expected.
 */
export function deepEqual(actual: unknown, expected: unknown, message: string): void {
  assert.deepStrictEqual(inThisRealm(actual), inThisRealm(expected), message);
}

/** Asserts `actual` deep-equals `expected`; the message says what was read and both values. */
export function expectEqual<T>(actual: unknown, expected: T, what: string): asserts actual is T {
  deepEqual(actual, expected, `${what} must be ${show(expected)}, got ${show(actual)}`);
}

/**
 * Calls `adapter[method](...args)` and asserts it returns a promise (no synchronous throw) that
 * rejects with `code` and a `StorageError`. `why` says what is wrong with the input. The failure
 * message names the call, its arguments, the expected code and what happened instead.
 */
export async function rejectsWith(
  adapter: StorageAdapter,
  method: AdapterMethod,
  args: readonly unknown[],
  code: string,
  why: string,
): Promise<void> {
  const call = showCall(method, args);
  const expectation = `${call} (${why}) must reject with ${code}`;
  let promise: unknown;
  try {
    promise = Reflect.apply(adapter[method], adapter, args);
  } catch (error) {
    assert.fail(
      `${expectation}, but it threw synchronously (${showError(error)}); every method must return a promise and reject it instead (write the method as async)`,
    );
  }
  if (promise === null || typeof (promise as { then?: unknown }).then !== 'function') {
    assert.fail(`${expectation}, but it returned ${show(promise)} instead of a promise`);
  }
  let value: unknown;
  try {
    value = await promise;
  } catch (caught) {
    const error = original(caught);
    const actual = (error as { code?: unknown } | null)?.code;
    if (actual !== code) {
      assert.fail(`${expectation}, but it rejected with ${showError(error)}`);
    }
    if (!isEdgeHaError(error, code)) {
      assert.fail(
        `${expectation}, but it rejected with a ${show(error, 60)} carrying that code that is not a StorageError: throw new StorageError(code, message) (exported by edge-ha)`,
      );
    }
    return;
  }
  assert.fail(`${expectation}, but it resolved with ${show(value)}`);
}

// ---------------------------------------------------------------------------------------------
// Paged reads

/** Most pages a full read may take before the suite calls it an endless loop. */
const MAX_PAGES = 200_000;

function checkPage<T>(page: unknown, request: PageRequest, what: string): asserts page is Page<T> {
  const got = `got ${show(page)}`;
  assert.ok(
    page !== null && typeof page === 'object',
    `${what} must resolve with a page { items, next }, ${got}`,
  );
  const { items, next } = page as Partial<Page<T>>;
  assert.ok(Array.isArray(items), `${what} must resolve with page.items an array, ${got}`);
  assert.ok(
    items.length <= request.limit,
    `${what} returned ${items.length} records, more than the limit ${request.limit}`,
  );
  assert.ok(
    next === null || typeof next === 'string',
    `${what} must resolve with page.next a string cursor or null, got ${show(next)}`,
  );
  if (typeof next === 'string') {
    assert.ok(
      next.length >= 1 && next.length <= MAX_CURSOR_LENGTH,
      `${what} returned a next cursor of ${next.length} characters; a cursor is 1 to ${MAX_CURSOR_LENGTH} characters (the HTTP peer protocol rejects longer ones): ${show(next, 80)}`,
    );
    assert.ok(
      next !== request.cursor,
      `${what} returned next equal to the request's cursor ${show(next, 80)}: paging would never end`,
    );
  }
}

/**
 * Reads every page of a read and returns the records; asserts the shape of each page, the cursor
 * length limit and termination. `describe(request)` names one call for messages.
 */
export async function readAll<T>(
  read: (page: PageRequest) => Promise<Page<T>>,
  limit: number,
  describe: (request: PageRequest) => string,
  between?: (pageIndex: number) => Promise<void>,
): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const request: PageRequest = cursor === undefined ? { limit } : { limit, cursor };
    const page = await read(request);
    checkPage<T>(page, request, `${describe(request)} (page ${pages + 1} of a paged read)`);
    all.push(...page.items);
    if (page.next === null) return all;
    cursor = page.next;
    if (between !== undefined) await between(pages);
  }
  assert.fail(
    `${describe({ limit })}: still returning a next cursor after ${MAX_PAGES} pages (endless loop?)`,
  );
}

/** `readPoints(item, window, …)` page by page with `limit`, as text for messages. */
export function pointsRead(item: string, window: TimeWindow, limit = 1000): string {
  return `readPoints(${show(item, 60)}, ${showWindow(window)}, …) read page by page (limit ${limit})`;
}

/** `readEvents(window, …)` page by page with `limit`, as text for messages. */
export function eventsRead(window: TimeWindow, limit = 1000): string {
  return `readEvents(${showWindow(window)}, …) read page by page (limit ${limit})`;
}

/** Every point of `item` in `window`, read with page size `limit`. */
export function readAllPoints(
  adapter: StorageAdapter,
  item: string,
  window: TimeWindow,
  limit = 1000,
  between?: (pageIndex: number) => Promise<void>,
): Promise<Point[]> {
  return readAll(
    (page) => adapter.readPoints(item, window, page),
    limit,
    (page) => showCall('readPoints', [item, window, page]),
    between,
  );
}

/** Every event in `window`, read with page size `limit`. */
export function readAllEvents(
  adapter: StorageAdapter,
  window: TimeWindow,
  limit = 1000,
  between?: (pageIndex: number) => Promise<void>,
): Promise<EventRecord[]> {
  return readAll(
    (page) => adapter.readEvents(window, page),
    limit,
    (page) => showCall('readEvents', [window, page]),
    between,
  );
}

/**
 * Reads every point of `item` in `window` and asserts they equal `expected` (`after` says what
 * was done before, for the message).
 */
export async function expectPoints(
  adapter: StorageAdapter,
  item: string,
  window: TimeWindow,
  expected: readonly Point[],
  after: string,
  limit = 1000,
): Promise<void> {
  const actual = await readAllPoints(adapter, item, window, limit);
  deepEqual(
    actual,
    expected,
    `after ${after}, ${pointsRead(item, window, limit)} must return ${showPoints(expected)}, got ${showPoints(actual)}`,
  );
}

/** Reads every point of `item` in `window` and asserts their timestamps equal `expected`. */
export async function expectTimes(
  adapter: StorageAdapter,
  item: string,
  window: TimeWindow,
  expected: readonly number[],
  after: string,
  limit = 1000,
): Promise<void> {
  const actual = times(await readAllPoints(adapter, item, window, limit));
  deepEqual(
    actual,
    expected,
    `after ${after}, ${pointsRead(item, window, limit)} must return the points at t = ${show(expected, 200)}, got t = ${show(actual, 200)}`,
  );
}

/** Reads every event in `window` and asserts they equal `expected`. */
export async function expectEvents(
  adapter: StorageAdapter,
  window: TimeWindow,
  expected: readonly EventRecord[],
  after: string,
  limit = 1000,
): Promise<void> {
  const actual = await readAllEvents(adapter, window, limit);
  deepEqual(
    actual,
    expected,
    `after ${after}, ${eventsRead(window, limit)} must return ${show(expected, 300)}, got ${show(actual, 300)}`,
  );
}

/** Reads every event in `window` and asserts their `t:id` keys equal `expected`. */
export async function expectEventKeys(
  adapter: StorageAdapter,
  window: TimeWindow,
  expected: readonly string[],
  after: string,
  limit = 1000,
): Promise<void> {
  const actual = eventKeys(await readAllEvents(adapter, window, limit));
  deepEqual(
    actual,
    expected,
    `after ${after}, ${eventsRead(window, limit)} must return the events (t:id) ${show(expected, 300)}, got ${show(actual, 300)}`,
  );
}

/** Timestamps of points or events, for compact assertion messages. */
export function times(records: readonly { readonly t: number }[]): number[] {
  return records.map((r) => r.t);
}

/** Keys `t:id` of events, for compact assertion messages. */
export function eventKeys(events: readonly EventRecord[]): string[] {
  return events.map((e) => `${e.t}:${e.id}`);
}

/** Code-point comparison (the order the contract requires for ids). */
export function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Sorts events by `(t, id)` as the contract requires. */
export function sortEvents(events: readonly EventRecord[]): EventRecord[] {
  return [...events].sort((a, b) => a.t - b.t || byCodePoint(a.id, b.id));
}

/** A deterministic pseudo-random generator (mulberry32). */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let r = Math.imul(s ^ (s >>> 15), 1 | s);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Shared pieces of the storage conformance suite: the case shape, record builders and assertion
 * helpers.
 *
 * @internal
 */

import assert from 'node:assert/strict';
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

/** What a case gets: a fresh adapter and a way to reopen the same store. */
export interface CaseHarness {
  /** The adapter under test (fresh, empty store). */
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

/** A window as `[from, to)`, for messages. */
export function showWindow(window: TimeWindow): string {
  return `[${window.from}, ${window.to})`;
}

/** Points as `[t=v, t=v q, …]` (first 8), for messages. */
export function showPoints(points: readonly Point[]): string {
  const shown = points
    .slice(0, 8)
    .map((p) => `${p.t}=${JSON.stringify(p.v)}${p.q === undefined ? '' : ` q${p.q}`}`);
  if (points.length > 8) shown.push(`… ${points.length} points`);
  return `[${shown.join(', ')}]`;
}

/** A value as JSON text cut to `max` characters (saying how long it was), for messages. */
export function show(value: unknown, max = 80): string {
  const text = JSON.stringify(value) ?? String(value);
  if (text.length <= max) return text;
  const length =
    typeof value === 'string' ? `${value.length} characters` : `${text.length} characters of JSON`;
  return `${text.slice(0, max)}… (${length})`;
}

/** Most pages a full read may take before the suite calls it an endless loop. */
const MAX_PAGES = 200_000;

/** Asserts that `call` returns a promise (no synchronous throw) that rejects with `code`. */
export async function rejectsWith(
  call: () => Promise<unknown>,
  code: string,
  what: string,
): Promise<void> {
  let promise: Promise<unknown>;
  try {
    promise = call();
  } catch (error) {
    assert.fail(
      `${what} threw synchronously (${String(error)}); every method must return a rejected promise instead`,
    );
  }
  assert.ok(
    promise !== null && typeof (promise as { then?: unknown }).then === 'function',
    `${what} must return a promise`,
  );
  let settled = false;
  try {
    await promise;
    settled = true;
  } catch (error) {
    const actual = (error as { code?: unknown } | null)?.code;
    assert.equal(
      actual,
      code,
      `${what} must reject with code ${code}, got ${String(actual)} (${String((error as Error)?.message ?? error)})`,
    );
    assert.ok(
      isEdgeHaError(error, code),
      `${what} must reject with a StorageError (an edge-ha error), got ${String(error)}`,
    );
  }
  assert.ok(!settled, `${what} must reject with ${code}, but it resolved`);
}

function checkPage<T>(page: Page<T>, request: PageRequest, what: string): void {
  assert.ok(
    page !== null && typeof page === 'object',
    `${what}: a page must be an object { items, next }`,
  );
  assert.ok(Array.isArray(page.items), `${what}: page.items must be an array`);
  assert.ok(
    page.items.length <= request.limit,
    `${what}: a page returned ${page.items.length} records for limit ${request.limit}`,
  );
  assert.ok(
    page.next === null || typeof page.next === 'string',
    `${what}: page.next must be a string cursor or null, got ${String(page.next)}`,
  );
}

/** Reads every page of a read; asserts page shape and termination. */
export async function readAll<T>(
  read: (page: PageRequest) => Promise<Page<T>>,
  limit: number,
  what: string,
  between?: (pageIndex: number) => Promise<void>,
): Promise<T[]> {
  const all: T[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < MAX_PAGES; pages++) {
    const request: PageRequest = cursor === undefined ? { limit } : { limit, cursor };
    const page = await read(request);
    checkPage(page, request, what);
    all.push(...page.items);
    if (page.next === null) return all;
    cursor = page.next;
    if (between !== undefined) await between(pages);
  }
  assert.fail(`${what}: still returning a next cursor after ${MAX_PAGES} pages (endless loop?)`);
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
    `readPoints(${JSON.stringify(item)}, [${window.from}, ${window.to}), limit ${limit})`,
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
    `readEvents([${window.from}, ${window.to}), limit ${limit})`,
    between,
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

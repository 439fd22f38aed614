/**
 * The demo's final check: do two instances hold exactly the same data in a window? Reads both
 * stores page by page (the storage contract's order), compares every item's points and the
 * events by id, and looks for duplicate event ids.
 */

import { collect, iterateEvents, iteratePoints } from '../../storage/iterate.js';
import type { EventRecord, Point, StorageAdapter, TimeWindow } from '../../storage/types.js';

/** Outcome of {@link verifyReplicas}. */
export interface VerificationResult {
  /** Whether the two stores hold identical data in the window. */
  readonly ok: boolean;
  /** Items compared. */
  readonly items: number;
  /** Points compared (in the reference store). */
  readonly points: number;
  /** Events compared (in the reference store). */
  readonly events: number;
  /** Every difference found, as readable sentences (empty when `ok`). */
  readonly problems: readonly string[];
}

function readAllPoints(
  storage: StorageAdapter,
  item: string,
  window: TimeWindow,
): Promise<Point[]> {
  return collect(iteratePoints(storage, item, window));
}

function readAllEvents(storage: StorageAdapter, window: TimeWindow): Promise<EventRecord[]> {
  return collect(iterateEvents(storage, window));
}

function samePoint(a: Point, b: Point): boolean {
  return a.t === b.t && Object.is(a.v, b.v) && (a.q ?? null) === (b.q ?? null);
}

function duplicates(events: readonly EventRecord[]): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const event of events) {
    if (seen.has(event.id)) repeated.add(event.id);
    seen.add(event.id);
  }
  return [...repeated];
}

/**
 * Compares `local` with `reference` inside `window`: for each of `items` the points must be
 * equal one for one (timestamp, value, quality); the events must be the same set by id with
 * equal timestamps and bodies; neither store may hold an event id twice.
 *
 * @param names - Labels of the two stores in the problem messages.
 */
export async function verifyReplicas(
  local: StorageAdapter,
  reference: StorageAdapter,
  window: TimeWindow,
  items: readonly string[],
  names: { local: string; reference: string } = { local: 'local', reference: 'reference' },
): Promise<VerificationResult> {
  const problems: string[] = [];
  let pointCount = 0;
  for (const item of items) {
    const [mine, theirs] = await Promise.all([
      readAllPoints(local, item, window),
      readAllPoints(reference, item, window),
    ]);
    pointCount += theirs.length;
    if (mine.length !== theirs.length) {
      problems.push(
        `${item}: ${names.local} has ${mine.length} points, ${names.reference} has ${theirs.length}`,
      );
      continue;
    }
    const index = mine.findIndex((point, i) => !samePoint(point, theirs[i] as Point));
    if (index >= 0) {
      problems.push(
        `${item}: point ${index} differs (${names.local} ${JSON.stringify(mine[index])}, ` +
          `${names.reference} ${JSON.stringify(theirs[index])})`,
      );
    }
  }
  const [myEvents, theirEvents] = await Promise.all([
    readAllEvents(local, window),
    readAllEvents(reference, window),
  ]);
  for (const [name, events] of [
    [names.local, myEvents],
    [names.reference, theirEvents],
  ] as const) {
    const repeated = duplicates(events);
    if (repeated.length > 0)
      problems.push(`${name} holds duplicate events: ${repeated.slice(0, 5).join(', ')}`);
  }
  const mineById = new Map(myEvents.map((event) => [event.id, event]));
  const theirsById = new Map(theirEvents.map((event) => [event.id, event]));
  const missing = [...theirsById.keys()].filter((id) => !mineById.has(id));
  const extra = [...mineById.keys()].filter((id) => !theirsById.has(id));
  if (missing.length > 0) {
    problems.push(
      `${names.local} is missing ${missing.length} event(s): ${missing.slice(0, 5).join(', ')}`,
    );
  }
  if (extra.length > 0) {
    problems.push(
      `${names.local} has ${extra.length} event(s) ${names.reference} lacks: ${extra.slice(0, 5).join(', ')}`,
    );
  }
  for (const [id, theirs] of theirsById) {
    const mine = mineById.get(id);
    if (
      mine &&
      (mine.t !== theirs.t || JSON.stringify(mine.body) !== JSON.stringify(theirs.body))
    ) {
      problems.push(`event ${id} differs between ${names.local} and ${names.reference}`);
    }
  }
  return {
    ok: problems.length === 0,
    items: items.length,
    points: pointCount,
    events: theirEvents.length,
    problems,
  };
}

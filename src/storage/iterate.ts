/**
 * Async iteration over paged reads, for anything with the storage adapter's read methods
 * (a {@link StorageAdapter}, or a `RemotePeer`).
 */

import type { EventRecord, Page, PageRequest, Point, StorageAdapter, TimeWindow } from './types.js';

/**
 * Options of {@link iteratePoints} and {@link iterateEvents}.
 *
 * @group Storage
 */
export interface IterateOptions {
  /**
   * Records per page requested from the source. Memory stays bounded by one page.
   * @default 1000
   */
  readonly pageSize?: number;
}

async function* pages<T>(
  read: (page: PageRequest) => Promise<Page<T>>,
  pageSize: number,
): AsyncGenerator<T, void, undefined> {
  let cursor: string | undefined;
  do {
    const page = await read(
      cursor === undefined ? { limit: pageSize } : { limit: pageSize, cursor },
    );
    yield* page.items;
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
}

/**
 * Every point of `item` in `window`, ascending by `t`, read page by page.
 *
 * @example
 * ```ts
 * import { iteratePoints, type StorageAdapter } from 'edge-ha';
 *
 * declare const storage: StorageAdapter;
 * for await (const point of iteratePoints(storage, 'plant/temp', { from: 0, to: Date.now() })) {
 *   console.log(point.t, point.v);
 * }
 * ```
 *
 * @group Storage
 */
export function iteratePoints(
  source: Pick<StorageAdapter, 'readPoints'>,
  item: string,
  window: TimeWindow,
  options: IterateOptions = {},
): AsyncGenerator<Point, void, undefined> {
  return pages((page) => source.readPoints(item, window, page), options.pageSize ?? 1000);
}

/**
 * Every event in `window`, ascending by `(t, id)`, read page by page.
 *
 * @example
 * ```ts
 * import { type EventRecord, iterateEvents, type StorageAdapter } from 'edge-ha';
 *
 * declare const storage: StorageAdapter;
 * const alarms: EventRecord[] = [];
 * for await (const event of iterateEvents(storage, { from: 0, to: Date.now() })) alarms.push(event);
 * ```
 *
 * @group Storage
 */
export function iterateEvents(
  source: Pick<StorageAdapter, 'readEvents'>,
  window: TimeWindow,
  options: IterateOptions = {},
): AsyncGenerator<EventRecord, void, undefined> {
  return pages((page) => source.readEvents(window, page), options.pageSize ?? 1000);
}

/**
 * Collects an async iterable into an array.
 *
 * @group Storage
 */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const value of iterable) out.push(value);
  return out;
}

/**
 * A record page as a {@link JsonPage}: what a peer serves from an adapter without the optional
 * JSON reads, and what an adapter with them falls back to.
 *
 * @internal
 */

import type { JsonPage, Page } from './types.js';

/** `page` with its records encoded here (`JSON.stringify`). */
export function jsonPageOf<T>(page: Page<T>): JsonPage {
  return { json: JSON.stringify(page.items), count: page.items.length, next: page.next };
}

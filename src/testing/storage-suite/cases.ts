/**
 * The example-based cases of the storage conformance suite, one file per contract area, to be
 * read as the integrator's documentation of the contract:
 *
 * | Group | File |
 * | --- | --- |
 * | `capabilities`, `close`, `persistence` | `cases-lifecycle.ts` |
 * | `items` | `cases-items.ts` |
 * | `points` (reading, paging, cursors) | `cases-paging.ts` |
 * | `points` (`replacePoints`, `appendPoints`) | `cases-replace.ts` |
 * | `merge` | `cases-merge.ts` |
 * | `events` | `cases-events.ts` |
 * | `json pages` (the optional `readPointsJson`, `readEventsJson`) | `cases-json-pages.ts` |
 * | `sync state`, `sync writes` | `cases-sync-state.ts` |
 * | `invalid input` | `cases-invalid-input.ts` |
 *
 * {@link SUITE_CASES} joins them in a fixed group order.
 *
 * @internal
 */

import { EVENT_CASES } from './cases-events.js';
import { INVALID_INPUT_CASES } from './cases-invalid-input.js';
import { ITEM_CASES } from './cases-items.js';
import { JSON_PAGE_CASES } from './cases-json-pages.js';
import { LIFECYCLE_CASES } from './cases-lifecycle.js';
import { MERGE_CASES } from './cases-merge.js';
import { PAGING_CASES } from './cases-paging.js';
import { REPLACE_CASES } from './cases-replace.js';
import { SYNC_STATE_CASES } from './cases-sync-state.js';
import type { SuiteCase } from './helpers.js';

/** The order of the groups (describe blocks); cases keep their order within a group. */
const GROUP_ORDER: readonly string[] = [
  'capabilities',
  'items',
  'points',
  'merge',
  'events',
  'json pages',
  'sync state',
  'sync writes',
  'invalid input',
  'close',
  'persistence',
];

/** Every example-based case, grouped in {@link GROUP_ORDER} (the sort is stable). */
export const SUITE_CASES: readonly SuiteCase[] = [
  ...LIFECYCLE_CASES,
  ...ITEM_CASES,
  ...PAGING_CASES,
  ...REPLACE_CASES,
  ...MERGE_CASES,
  ...EVENT_CASES,
  ...JSON_PAGE_CASES,
  ...SYNC_STATE_CASES,
  ...INVALID_INPUT_CASES,
].sort((a, b) => GROUP_ORDER.indexOf(a.group) - GROUP_ORDER.indexOf(b.group));

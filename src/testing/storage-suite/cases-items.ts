/**
 * Conformance cases of items (group `items`): `registerItems` declares items as trended locally,
 * `listItems` lists every registered item and every item with points, once each, sorted by code
 * point; the point writes register their item.
 *
 * @internal
 */

import {
  ALL,
  byCodePoint,
  caseList,
  expectEqual,
  point,
  type SuiteCase,
  show,
  showCall,
} from './helpers.js';

const { add, cases } = caseList();

add('items', 'a fresh store lists no items and reads empty pages', async ({ adapter }) => {
  expectEqual(await adapter.listItems(), [], 'listItems() of a fresh store');
  const points = ['nope', ALL, { limit: 10 }] as const;
  expectEqual(
    await adapter.readPoints(...points),
    { items: [], next: null },
    `${showCall('readPoints', points)} of a fresh store`,
  );
  const events = [ALL, { limit: 10 }] as const;
  expectEqual(
    await adapter.readEvents(...events),
    { items: [], next: null },
    `${showCall('readEvents', events)} of a fresh store`,
  );
});

add('items', 'registerItems lists items once each, sorted by code point', async ({ adapter }) => {
  const ids = ['b', 'a', 'B', 'ä', '\u{E000}', '\u{1F600}', 'a/b', 'a b'];
  await adapter.registerItems(ids);
  await adapter.registerItems(['a', 'b']);
  await adapter.registerItems([]);
  expectEqual(
    await adapter.listItems(),
    [...new Set(ids)].sort(byCodePoint),
    `after registerItems(${show(ids)}), registerItems(["a", "b"]) and registerItems([]), listItems() (sorted by code point: U+E000 before U+1F600, unlike JavaScript's <)`,
  );
});

add('items', 'appendPoints and replacePoints register their item', async ({ adapter }) => {
  await adapter.appendPoints('x/appended', [point(1)]);
  await adapter.replacePoints('x/replaced', { from: 0, to: 10 }, []);
  await adapter.appendPoints('x/empty-append', []);
  expectEqual(
    await adapter.listItems(),
    ['x/appended', 'x/empty-append', 'x/replaced'],
    'after appendPoints("x/appended", [1=1]), replacePoints("x/replaced", [0, 10), []) and appendPoints("x/empty-append", []), listItems()',
  );
});

add('items', 'a registered item without points reads an empty page', async ({ adapter }) => {
  await adapter.registerItems(['lonely']);
  const request = ['lonely', ALL, { limit: 5 }] as const;
  expectEqual(
    await adapter.readPoints(...request),
    { items: [], next: null },
    `after registerItems(["lonely"]), ${showCall('readPoints', request)}`,
  );
});

/** The cases of the `items` group. */
export const ITEM_CASES: readonly SuiteCase[] = cases;

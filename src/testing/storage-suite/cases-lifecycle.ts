/**
 * Conformance cases of an adapter's life (groups `capabilities`, `close`, `persistence`): static
 * capabilities, `close()` and `[Symbol.asyncDispose]()` (idempotent; afterwards every method
 * rejects with `STORAGE_CLOSED`, whatever its arguments), and for persistent adapters data,
 * sync state and the `syncState` records of the sync writes surviving a reopen.
 *
 * @internal
 */

import type { JsonObject, SyncWriteOptions } from '../../storage/types.js';
import {
  type AdapterMethod,
  ALL,
  caseList,
  ev,
  expectEqual,
  expectEvents,
  expectPoints,
  point,
  rejectsWith,
  type SuiteCase,
} from './helpers.js';

const { add, cases } = caseList();

// ---------------------------------------------------------------------------------------------
// capabilities
add('capabilities', 'declares every flag as a boolean, and what the caller expects', async (h) => {
  const caps = h.adapter.capabilities;
  expectEqual(
    caps !== null && typeof caps === 'object',
    true,
    'whether adapter.capabilities is an object { persistent, atomicReplace, atomicInsert, multiProcess }',
  );
  for (const flag of ['persistent', 'atomicReplace', 'atomicInsert', 'multiProcess'] as const) {
    expectEqual(typeof caps[flag], 'boolean', `typeof adapter.capabilities.${flag}`);
    const expected = h.expected?.[flag];
    if (expected !== undefined) {
      expectEqual(
        caps[flag],
        expected,
        `adapter.capabilities.${flag} (the suite was told to expect it)`,
      );
    }
  }
  expectEqual(
    h.adapter.capabilities,
    caps,
    'adapter.capabilities read a second time (capabilities are static)',
  );
});

// ---------------------------------------------------------------------------------------------
// close
add('close', 'after close every method rejects with STORAGE_CLOSED', async ({ adapter }) => {
  await adapter.appendPoints('i', [point(1)]);
  await adapter.close();
  const sync = { syncState: { key: 'k', value: {} } };
  const calls: [AdapterMethod, unknown[], string][] = [
    ['registerItems', [['i']], 'valid arguments'],
    ['listItems', [], 'no arguments'],
    ['readPoints', ['i', ALL, { limit: 1 }], 'valid arguments'],
    ['readPoints', ['', { from: 2, to: 1 }, { limit: 0 }], 'invalid arguments'],
    ['replacePoints', ['i', ALL, []], 'valid arguments'],
    ['replacePoints', ['i', ALL, [point(2)], sync], 'with a syncState record'],
    ['mergePoints', ['i', ALL, [point(2)]], 'valid arguments'],
    ['mergePoints', ['i', ALL, [point(2)], sync], 'with a syncState record'],
    ['mergePoints', ['', { from: 2, to: 1 }, []], 'invalid arguments'],
    ['appendPoints', ['i', [point(2)]], 'valid arguments'],
    ['readEvents', [ALL, { limit: 1 }], 'valid arguments'],
    ['insertEventsIfAbsent', [[ev('a', 1)]], 'valid arguments'],
    ['insertEventsIfAbsent', [[ev('a', 1)], sync], 'with a syncState record'],
    ['readSyncState', ['k'], 'valid arguments'],
    ['writeSyncState', ['k', { v: 1 }], 'valid arguments'],
    ['writeSyncState', ['', []], 'invalid arguments'],
  ];
  for (const [method, args, label] of calls) {
    await rejectsWith(
      adapter,
      method,
      args,
      'STORAGE_CLOSED',
      `after close(), ${label}; check "closed" before validating`,
    );
  }
});

add('close', 'close and Symbol.asyncDispose are idempotent', async ({ adapter }) => {
  await adapter.close();
  await adapter.close();
  await adapter[Symbol.asyncDispose]();
  await rejectsWith(
    adapter,
    'listItems',
    [],
    'STORAGE_CLOSED',
    'after close(), close() and [Symbol.asyncDispose]()',
  );
});

add('close', 'Symbol.asyncDispose closes the adapter', async ({ adapter }) => {
  await adapter[Symbol.asyncDispose]();
  await rejectsWith(adapter, 'listItems', [], 'STORAGE_CLOSED', 'after [Symbol.asyncDispose]()');
  await adapter.close();
});

// ---------------------------------------------------------------------------------------------
// persistence
add('persistence', 'data survives close and reopen (persistent adapters)', async (h) => {
  const persistent = h.expected?.persistent ?? h.adapter.capabilities.persistent;
  if (!persistent) {
    // Nothing to check for a non-persistent adapter beyond opening a working store again.
    const again = await h.reopen();
    expectEqual(
      await again.listItems(),
      [],
      'listItems() of a non-persistent store opened again with the same key',
    );
    return;
  }
  const { adapter } = h;
  const record: JsonObject = {
    v: 2,
    lastUpToDate: 100,
    run: { window: { from: 100, to: 200 }, items: { i: 150 }, note: 'h\u00e9llo \u{1F600}' },
  };
  const progress = (through: number): SyncWriteOptions => ({
    syncState: { key: `progress:${through}`, value: { v: 1, through } },
  });
  await adapter.registerItems(['registered']);
  await adapter.appendPoints('i', [point(1, 'one'), { t: 2, v: true, q: 3 }, point(3, null)]);
  await adapter.replacePoints('i', { from: 3, to: 4 }, [point(3, 3.25)], progress(4));
  await adapter.mergePoints(
    'i',
    { from: 0, to: 10 },
    [point(3, 'no'), point(5, 'five')],
    progress(10),
  );
  await adapter.insertEventsIfAbsent([ev('a', 1, { n: 1 })], progress(2));
  await adapter.writeSyncState('deputy', record);
  const reopened = await h.reopen();
  const after =
    'registerItems, appendPoints, replacePoints, mergePoints, insertEventsIfAbsent, writeSyncState, close() and opening the store again with the same key';
  expectEqual(await reopened.listItems(), ['i', 'registered'], `after ${after}, listItems()`);
  await expectPoints(
    reopened,
    'i',
    ALL,
    [point(1, 'one'), { t: 2, v: true, q: 3 }, point(3, 3.25), point(5, 'five')],
    after,
  );
  await expectEvents(reopened, ALL, [ev('a', 1, { n: 1 })], after);
  expectEqual(
    await reopened.readSyncState('deputy'),
    record,
    `after ${after}, readSyncState("deputy") (the record of writeSyncState)`,
  );
  for (const [through, method] of [
    [4, 'replacePoints'],
    [10, 'mergePoints'],
    [2, 'insertEventsIfAbsent'],
  ] as const) {
    expectEqual(
      await reopened.readSyncState(`progress:${through}`),
      { v: 1, through },
      `after ${after}, readSyncState("progress:${through}") (the syncState record of ${method})`,
    );
  }
  expectEqual(
    await reopened.insertEventsIfAbsent([ev('a', 1, 'other')]),
    0,
    `after ${after}, insertEventsIfAbsent([a@1 "other"]) (event ids survive a reopen) resolves with`,
  );
});

/** The cases of the `capabilities`, `close` and `persistence` groups. */
export const LIFECYCLE_CASES: readonly SuiteCase[] = cases;

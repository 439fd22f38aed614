import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as FastCheck from 'fast-check';
import type { StorageAdapter, StorageCapabilities } from '../../storage/types.js';
import { SUITE_CASES } from './cases.js';
import { type CaseHarness, observed } from './helpers.js';
import { runModelCheck } from './model.js';

/** Identifies the store of one test; passed to the factory and to `teardown`. */
export interface StorageSuiteContext {
  /**
   * A key unique to this test (letters, digits and `-`, safe in a file or table name). The
   * factory must return a fresh, empty store the first time it sees a key, and the *same* store
   * when called again with that key (the suite does so, after closing the first adapter, to
   * check persistence).
   */
  readonly key: string;
  /** The full name of the test, for diagnostics. */
  readonly testName: string;
}

/** A test-registration function such as `test`/`it` of node:test, vitest, jest or mocha. */
export type SuiteTestFunction = (name: string, fn: () => Promise<void>) => unknown;

/** A grouping function such as `describe` of node:test, vitest, jest or mocha. */
export type SuiteDescribeFunction = (name: string, fn: () => void) => unknown;

/** Options of {@link runStorageAdapterSuite}. */
export interface StorageAdapterSuiteOptions {
  /**
   * Registers one test: `test` / `it` of your runner. Called with a name and a zero-argument async
   * function. Wrap it to pass a timeout, e.g. `(name, fn) => it(name, fn, 60_000)` for jest.
   */
  readonly test: SuiteTestFunction;
  /**
   * Groups tests: `describe` of your runner. Without it, group names prefix the test names.
   * @default undefined
   */
  readonly describe?: SuiteDescribeFunction;
  /**
   * Returns the adapter under test (or a promise of it) for the store named by `context.key`: a
   * fresh, empty store for a new key; the same store again for a key already seen (persistent
   * adapters). The suite closes every adapter it opens.
   */
  readonly factory: (context: StorageSuiteContext) => StorageAdapter | Promise<StorageAdapter>;
  /**
   * Called after each test (and each model-based run), once its adapters are closed, to delete
   * what the store left behind (a file, a schema, a table).
   * @default undefined
   */
  readonly teardown?: (context: StorageSuiteContext) => void | Promise<void>;
  /**
   * The capabilities your adapter is expected to declare. The suite asserts that
   * `adapter.capabilities` matches every flag given here. `persistent: false` also leaves out the
   * reopen test; without it the suite reads `adapter.capabilities.persistent` at run time.
   * @default undefined
   */
  readonly capabilities?: Partial<StorageCapabilities>;
  /**
   * Seed of the model-based group: the same seed replays the same operation sequences (a failing
   * run prints its seed).
   * @default a random seed
   */
  readonly seed?: number;
  /**
   * The model-based group (random operation sequences compared against a simple model). Needs the
   * optional peer dependency `fast-check` (>= 4); if it is missing, one failing test says so.
   * `false` leaves the group out; `{ runs }` sets the number of sequences.
   * @default true (25 runs)
   */
  readonly modelBased?:
    | boolean
    | {
        /** Number of random operation sequences. @default 25 */
        readonly runs?: number;
      };
  /**
   * Number of points of the large-page test.
   * @default 20000
   */
  readonly largePage?: number;
  /**
   * Name of the outer `describe` block (or the test-name prefix).
   * @default 'StorageAdapter conformance'
   */
  readonly name?: string;
}

const DEFAULT_RUNS = 25;

function loadFastCheck(): typeof FastCheck | Error {
  try {
    return createRequire(import.meta.url)('fast-check') as typeof FastCheck;
  } catch (error) {
    return error as Error;
  }
}

/**
 * Registers the storage adapter conformance suite with your test runner: one test per clause of
 * the `StorageAdapter` contract (windows, paging ties, replace, merge, append, insert-if-absent,
 * sync state, the `syncState` record of the sync writes, invalid input with error codes, close,
 * persistence, large pages) plus a seeded model-based group. Each test opens a fresh adapter through `factory`, asserts with
 * `node:assert/strict` and checks error *codes*.
 *
 * Works with any runner whose `test(name, asyncFn)` and `describe(name, fn)` have the usual
 * shape: node:test, vitest, jest, mocha.
 *
 * @example
 * ```ts
 * // my-adapter.test.ts (node --test, vitest or jest)
 * import { describe, test } from 'node:test';
 * import { runStorageAdapterSuite } from 'edge-ha/testing';
 * import type { StorageAdapter } from 'edge-ha';
 *
 * // Your adapter and a way to drop what a test left behind:
 * declare const MyAdapter: { open(options: { database: string }): Promise<StorageAdapter> };
 * declare function dropDatabase(name: string): Promise<void>;
 *
 * runStorageAdapterSuite({
 *   test,
 *   describe,
 *   factory: ({ key }) => MyAdapter.open({ database: `test_${key}` }),
 *   teardown: ({ key }) => dropDatabase(`test_${key}`),
 *   capabilities: { persistent: true },
 * });
 * ```
 */
export function runStorageAdapterSuite(options: StorageAdapterSuiteOptions): void {
  const { test, describe, factory, teardown } = options;
  const title = options.name ?? 'StorageAdapter conformance';
  const largePage = options.largePage ?? 20_000;
  const prefix = randomUUID().slice(0, 8);
  let counter = 0;
  const newContext = (testName: string): StorageSuiteContext => ({
    key: `${prefix}-${++counter}`,
    testName,
  });

  const register = (group: string, name: string, fn: () => Promise<void>): void => {
    const fullName = describe === undefined ? `${title} > ${group} > ${name}` : name;
    test(fullName, fn);
  };

  const caseTest = (run: (harness: CaseHarness) => Promise<void>, testName: string) => async () => {
    const context = newContext(testName);
    const opened: StorageAdapter[] = [];
    try {
      const first = await factory(context);
      opened.push(first);
      const harness: CaseHarness = {
        adapter: observed(first),
        expected: options.capabilities,
        largePage,
        reopen: async () => {
          for (const adapter of opened) await adapter.close();
          const again = await factory(context);
          opened.push(again);
          return observed(again);
        },
      };
      await run(harness);
    } finally {
      for (const adapter of opened) await adapter.close().catch(() => undefined);
      await teardown?.(context);
    }
  };

  const groups = new Map<string, (typeof SUITE_CASES)[number][]>();
  for (const c of SUITE_CASES) {
    if (c.group === 'persistence' && options.capabilities?.persistent === false) continue;
    const list = groups.get(c.group) ?? [];
    list.push(c);
    groups.set(c.group, list);
  }

  const modelBased = options.modelBased ?? true;
  const registerModelBased = (): void => {
    if (modelBased === false) return;
    const runs = typeof modelBased === 'object' ? (modelBased.runs ?? DEFAULT_RUNS) : DEFAULT_RUNS;
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    const fc = loadFastCheck();
    const name = `random operation sequences match a simple model (seed ${seed}, ${runs} runs)`;
    register('model-based', name, async () => {
      if (fc instanceof Error) {
        throw new Error(
          'The model-based group of runStorageAdapterSuite needs the optional peer dependency "fast-check" (>= 4): run `npm install --save-dev fast-check`, or pass `modelBased: false`.',
          { cause: fc },
        );
      }
      await runModelCheck({
        fc,
        seed,
        runs,
        open: async () => {
          const context = newContext(name);
          const adapter = await factory(context);
          return {
            adapter: observed(adapter),
            dispose: async () => {
              await adapter.close().catch(() => undefined);
              await teardown?.(context);
            },
          };
        },
      });
    });
  };

  const body = (): void => {
    for (const [group, list] of groups) {
      const registerGroup = (): void => {
        for (const c of list) register(group, c.name, caseTest(c.run, `${group} > ${c.name}`));
      };
      if (describe === undefined) registerGroup();
      else describe(group, registerGroup);
    }
    if (describe === undefined) registerModelBased();
    else describe('model-based', registerModelBased);
  };

  if (describe === undefined) body();
  else describe(title, body);
}

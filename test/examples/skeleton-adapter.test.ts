import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { SkeletonStorageAdapter } from '../../examples/skeleton-adapter.js';
import { isEdgeHaError } from '../../src/errors.js';
import { runStorageAdapterSuite } from '../../src/testing/index.js';

const METHODS = [
  'registerItems',
  'listItems',
  'readPoints',
  'replacePoints',
  'mergePoints',
  'appendPoints',
  'readEvents',
  'insertEventsIfAbsent',
  'readSyncState',
  'writeSyncState',
] as const;

/** Runs the suite against the skeleton; returns every test's name and failure message. */
async function runSuite(): Promise<{ passed: string[]; failed: Map<string, string> }> {
  const tests: { name: string; fn: () => Promise<void> }[] = [];
  runStorageAdapterSuite({
    test: (name, fn) => tests.push({ name, fn }),
    factory: () => new SkeletonStorageAdapter(),
    seed: 1,
    modelBased: { runs: 3 },
    largePage: 100,
  });
  const passed: string[] = [];
  const failed = new Map<string, string>();
  for (const { name, fn } of tests) {
    try {
      await fn();
      passed.push(name);
    } catch (error) {
      failed.set(name, String((error as Error).message));
    }
  }
  return { passed, failed };
}

/** The headings of docs/adapters.md as GitHub anchors. */
function docAnchors(): Set<string> {
  const text = readFileSync(new URL('../../docs/adapters.md', import.meta.url), 'utf8');
  const anchors = new Set<string>();
  for (const line of text.split('\n')) {
    const heading = /^#{1,6} (.+)$/.exec(line)?.[1];
    if (heading === undefined) continue;
    anchors.add(
      heading
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    );
  }
  return anchors;
}

describe('examples/skeleton-adapter.ts', () => {
  test('validates with the kit and rejects with STORAGE_CLOSED after close', async () => {
    const adapter = new SkeletonStorageAdapter();
    await expect(adapter.readPoints('', { from: 0, to: 1 }, { limit: 1 })).rejects.toMatchObject({
      code: 'STORAGE_INVALID_ITEM',
    });
    await expect(
      adapter.readEvents({ from: 0, to: 10 }, { limit: 1, cursor: 'nope' }),
    ).rejects.toMatchObject({ code: 'STORAGE_INVALID_CURSOR' });
    await expect(adapter.writeSyncState('k', [] as never)).rejects.toMatchObject({
      code: 'STORAGE_INVALID_SYNC_STATE',
    });
    const error = await adapter.listItems().catch((e: unknown) => e);
    expect(isEdgeHaError(error, 'STORAGE_NOT_IMPLEMENTED')).toBe(true);
    await adapter.close();
    await expect(adapter.listItems()).rejects.toMatchObject({ code: 'STORAGE_CLOSED' });
  });

  test('the suite against it fails naming the method to implement and where the docs say how', async () => {
    const { passed, failed } = await runSuite();
    // Whatever the kit does alone passes: closing twice, and disposal.
    expect(passed).toContainEqual(expect.stringContaining('close and Symbol.asyncDispose'));
    expect(failed.size).toBeGreaterThan(40);
    const anchors = docAnchors();
    const named = new Set<string>();
    for (const [name, message] of failed) {
      // Every failure is instructive: the call that rejected, the method to write, the docs.
      const match = /(\w+) is not implemented yet: .+ See docs\/adapters\.md#([\w-]+)\./.exec(
        message,
      );
      expect(match, `${name}: ${message}`).not.toBeNull();
      const [, method, anchor] = match as unknown as [string, string, string];
      expect(message.startsWith(`${method}(`), `${name}: ${message}`).toBe(true);
      expect(message).toContain('but it rejected with STORAGE_NOT_IMPLEMENTED');
      expect(anchors, `docs/adapters.md has no heading for #${anchor}`).toContain(anchor);
      named.add(method);
    }
    expect([...named].sort()).toEqual([...METHODS].sort());
    const fresh = failed.get(
      'StorageAdapter conformance > items > a fresh store lists no items and reads empty pages',
    );
    expect(fresh).toBe(
      'listItems() must resolve (the contract allows this call), but it rejected with STORAGE_NOT_IMPLEMENTED: listItems is not implemented yet: resolve with every registered item and every item that has points, each once, sorted by code point (UTF-8 byte order). See docs/adapters.md#registeritems-and-listitems.',
    );
  });
});

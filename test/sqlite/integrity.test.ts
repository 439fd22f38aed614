/**
 * The integrity check of the SQLite adapter: at open (`integrityCheck`), on demand
 * (`checkSqliteIntegrity`), and through the real `edge-ha` bin (`serve` refuses a damaged file,
 * `check` reports it). The files are damaged for real: bytes of a table page are overwritten.
 */

import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { isEdgeHaError } from '../../src/errors.js';
import { checkSqliteIntegrity, openSqliteStorage } from '../../src/sqlite/index.js';
import { spawnCli, startCli } from '../cli/helpers.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
const ALL = { from: 0, to: 1_000_000 };

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edge-ha-sqlite-integrity-'));
  file = join(dir, 'node.sqlite');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A closed edge-ha file holding 3000 points of item `a` and 200 events. */
async function writeStore(path: string): Promise<void> {
  const storage = openSqliteStorage(path);
  await storage.appendPoints(
    'a',
    Array.from({ length: 3000 }, (_, t) => ({ t, v: t / 2 })),
  );
  await storage.insertEventsIfAbsent(
    Array.from({ length: 200 }, (_, k) => ({ id: `e${k}`, t: k, body: { k } })),
  );
  await storage.close();
}

/**
 * Overwrites the cell-pointer array of the second leaf page of the `points` table (found with
 * `dbstat` and `PRAGMA page_size`) with 0xff bytes, and returns that page's number.
 */
function damagePointsPage(path: string): number {
  const raw = new Database(path, { readonly: true });
  const pageSize = raw.pragma('page_size', { simple: true }) as number;
  const leaves = raw
    .prepare(
      "SELECT pageno FROM dbstat WHERE name = 'points' AND pagetype = 'leaf' ORDER BY pageno",
    )
    .pluck()
    .all() as number[];
  raw.close();
  const page = leaves[1];
  if (page === undefined) throw new Error('the store has fewer than two leaf pages of points');
  const fd = openSync(path, 'r+');
  try {
    // A leaf page: 8 header bytes, then the cell pointers.
    writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, (page - 1) * pageSize + 8);
  } finally {
    closeSync(fd);
  }
  return page;
}

/** What SQLite itself says of the file (the precondition: the damage is real). */
function rawQuickCheck(path: string): string {
  const raw = new Database(path, { readonly: true });
  try {
    return (raw.pragma('quick_check(5)', { simple: false }) as { quick_check: string }[])
      .map((row) => row.quick_check)
      .join('\n');
  } finally {
    raw.close();
  }
}

function openError(path: string, options?: Parameters<typeof openSqliteStorage>[1]): unknown {
  try {
    openSqliteStorage(path, options).close();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('the integrity check at open', () => {
  test('a damaged table page fails the open with STORAGE_CORRUPT naming the file and the problem', async () => {
    await writeStore(file);
    const page = damagePointsPage(file);
    expect(rawQuickCheck(file)).toMatch(new RegExp(`page ${page}`));

    const error = openError(file);
    expect(isEdgeHaError(error, 'STORAGE_CORRUPT')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain(file);
    expect(message).toContain('quick_check');
    expect(message).toMatch(new RegExp(`page ${page}`));
    // One line: it is printed as `edge-ha: STORAGE_CORRUPT: …` and logged.
    expect(message).not.toContain('\n');

    // With the check off the file opens; the damaged page is then met by a read, as a coded
    // STORAGE_CORRUPT, not an anonymous backend failure.
    const storage = openSqliteStorage(file, { integrityCheck: 'off' });
    try {
      let code: string | undefined;
      try {
        await storage.readPoints('a', ALL, { limit: 5000 });
      } catch (caught) {
        code = (caught as { code?: string }).code;
      }
      expect(code).toBe('STORAGE_CORRUPT');
    } finally {
      await storage.close();
    }
  });

  test('a sound file opens with every check mode', async () => {
    await writeStore(file);
    for (const integrityCheck of ['quick', 'full', 'off'] as const) {
      await using storage = openSqliteStorage(file, { integrityCheck });
      expect((await storage.readPoints('a', ALL, { limit: 10 })).items).toHaveLength(10);
    }
  });

  test("the full check (integrityCheck: 'full') also finds an index that does not match its table", async () => {
    await writeStore(file);
    // Declare the events index over another column than the one it was built from: every page
    // is sound (quick_check passes), but the index no longer holds the rows of its table.
    const raw = new Database(file);
    raw.unsafeMode(true);
    raw.pragma('writable_schema = ON');
    raw
      .prepare(
        "UPDATE sqlite_master SET sql = 'CREATE UNIQUE INDEX events_by_id ON events (body)' WHERE name = 'events_by_id'",
      )
      .run();
    raw.close();
    expect(openError(file, { integrityCheck: 'quick' })).toBeUndefined();
    const error = openError(file, { integrityCheck: 'full' });
    expect(isEdgeHaError(error, 'STORAGE_CORRUPT')).toBe(true);
    expect((error as Error).message).toMatch(/integrity_check found .*events_by_id/);
  });

  test('an invalid integrityCheck is STORAGE_INVALID_OPTIONS', () => {
    const error = openError(file, { integrityCheck: 'fast' as unknown as 'quick' });
    expect(isEdgeHaError(error, 'STORAGE_INVALID_OPTIONS')).toBe(true);
  });
});

describe('checkSqliteIntegrity', () => {
  test('reports a sound file ok and a damaged one with the problems, changing neither', async () => {
    await writeStore(file);
    const sound = checkSqliteIntegrity(file);
    expect(sound).toMatchObject({ filename: file, check: 'quick', ok: true, problems: [] });
    expect(sound.durationMs).toBeGreaterThanOrEqual(0);
    expect(checkSqliteIntegrity(file, { check: 'full' }).ok).toBe(true);

    const page = damagePointsPage(file);
    const damaged = checkSqliteIntegrity(file, { maxProblems: 3 });
    expect(damaged.ok).toBe(false);
    expect(damaged.problems.length).toBeGreaterThan(0);
    expect(damaged.problems.length).toBeLessThanOrEqual(3);
    expect(damaged.problems[0]).toMatch(new RegExp(`page ${page}`));
    expect(checkSqliteIntegrity(file, { check: 'full' }).ok).toBe(false);
  });

  test('a missing file or a file that is not a database is STORAGE_BACKEND; bad options are STORAGE_INVALID_OPTIONS', () => {
    const codeOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (error) {
        return (error as { code?: string }).code;
      }
      return undefined;
    };
    expect(codeOf(() => checkSqliteIntegrity(join(dir, 'missing.sqlite')))).toBe('STORAGE_BACKEND');
    const text = join(dir, 'text.sqlite');
    const fd = openSync(text, 'w');
    writeSync(fd, 'not a database at all '.repeat(300));
    closeSync(fd);
    expect(codeOf(() => checkSqliteIntegrity(text))).toBe('STORAGE_BACKEND');
    expect(codeOf(() => checkSqliteIntegrity(':memory:'))).toBe('STORAGE_BACKEND');
    expect(codeOf(() => checkSqliteIntegrity(file, { maxProblems: 0 }))).toBe(
      'STORAGE_INVALID_OPTIONS',
    );
  });
});

describe('the edge-ha bin on a damaged file', () => {
  const env = { EDGE_HA_TOKEN: 'integrity-test-token' };

  test('serve exits 1 with STORAGE_CORRUPT before serving; --integrity-check off starts it', async () => {
    await writeStore(file);
    damagePointsPage(file);
    const refused = await spawnCli(['serve', '--db', file, '--port', '0'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stdout).not.toContain('serving');
    expect(refused.stderr).toMatch(
      /^edge-ha: STORAGE_CORRUPT: .*node\.sqlite is damaged: PRAGMA quick_check found /m,
    );

    const unchecked = startCli(['serve', '--db', file, '--port', '0', '--integrity-check', 'off'], {
      env,
    });
    await unchecked.waitFor(/running; heartbeats/);
    expect((await unchecked.interrupt()).code).toBe(0);

    const bad = await spawnCli(['serve', '--db', file, '--port', '0', '--integrity-check', 'no'], {
      env,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/CLI_USAGE: --integrity-check must be quick, full or off/);
  });

  test('check prints ok for a sound file (exit 0) and the problems of a damaged one (exit 1)', async () => {
    await writeStore(file);
    const sound = await spawnCli(['check', '--db', file]);
    expect(sound.code).toBe(0);
    expect(sound.stdout).toMatch(/node\.sqlite: ok \(PRAGMA quick_check, \d+ ms\)/);
    const full = await spawnCli(['check', '--db', file, '--full', '--format', 'json']);
    expect(full.code).toBe(0);
    expect(JSON.parse(full.stdout)).toMatchObject({ check: 'full', ok: true, problems: [] });

    const page = damagePointsPage(file);
    const damaged = await spawnCli(['check', '--db', file]);
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toMatch(
      /node\.sqlite: DAMAGED \(PRAGMA quick_check found \d+\+? problem/,
    );
    expect(damaged.stdout).toMatch(new RegExp(`\\n  .*page ${page}`));

    const missing = await spawnCli(['check', '--db', join(dir, 'missing.sqlite')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^edge-ha: CLI_FILE: Cannot read ".*missing\.sqlite": no such file/,
    );
  });
});

import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { isEdgeHaError, StorageError } from '../../src/errors.js';
import { openSqliteStorage } from '../../src/sqlite/index.js';
import { loadBetterSqlite3 } from '../../src/sqlite/load.js';
import { SCHEMA_VERSION } from '../../src/sqlite/schema.js';
import type { SyncWriteOptions } from '../../src/storage/types.js';

const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
const ALL = { from: 0, to: 1_000_000 };

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edge-ha-sqlite-'));
  file = join(dir, 'store.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Number of committed transactions in the WAL file of `path` since it was last reset: frames of
 * the current WAL generation (same salts as the header) whose commit field is set.
 */
function walCommits(path: string): number {
  const wal = readFileSync(`${path}-wal`);
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salt1 || wal.readUInt32BE(at + 12) !== salt2) break;
    if (wal.readUInt32BE(at + 4) !== 0) commits++;
  }
  return commits;
}

async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    expect(isEdgeHaError(error)).toBe(true);
    return (error as StorageError).code;
  }
  throw new Error('expected a rejection');
}

describe('openSqliteStorage', () => {
  test('data written by one adapter is read after the file is reopened', async () => {
    const first = openSqliteStorage(file);
    await first.appendPoints('plant/temp', [
      { t: 1, v: 21.5 },
      { t: 2, v: 'on', q: 192 },
      { t: 3, v: false },
      { t: 4, v: null },
      { t: 5, v: 1 },
      { t: 6, v: '1' },
      { t: 7, v: true },
    ]);
    await first.insertEventsIfAbsent([{ id: 'a', t: 1, body: { level: 'high' } }]);
    await first.writeSyncState('deputy', { v: 2, lastUpToDate: 10, items: { 'plant/temp': 7 } });
    await first.close();

    await using second = openSqliteStorage(file);
    expect((await second.readPoints('plant/temp', ALL, { limit: 100 })).items).toEqual([
      { t: 1, v: 21.5 },
      { t: 2, v: 'on', q: 192 },
      { t: 3, v: false },
      { t: 4, v: null },
      { t: 5, v: 1 },
      { t: 6, v: '1' },
      { t: 7, v: true },
    ]);
    expect((await second.readEvents(ALL, { limit: 10 })).items).toEqual([
      { id: 'a', t: 1, body: { level: 'high' } },
    ]);
    expect(await second.readSyncState('deputy')).toEqual({
      v: 2,
      lastUpToDate: 10,
      items: { 'plant/temp': 7 },
    });
  });

  test('a replace that fails inside its transaction leaves the old data intact', async () => {
    await using storage = openSqliteStorage(file);
    const old = Array.from({ length: 10 }, (_, t) => ({ t, v: `old-${t}` }));
    await storage.appendPoints('i', old);
    // Inject a failure after the DELETE of the window: the insert of t = 5 aborts the statement.
    const raw = new Database(file);
    raw.exec(`CREATE TRIGGER fail_t5 BEFORE INSERT ON points WHEN NEW.t = 5
              BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    raw.close();

    const replace = storage.replacePoints('i', { from: 2, to: 8 }, [
      { t: 2, v: 'new' },
      { t: 3, v: 'new' },
      { t: 5, v: 'new' },
    ]);
    const error = await replace.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe('STORAGE_BACKEND');
    expect(String((error as StorageError).cause)).toContain('injected failure');
    expect((await storage.readPoints('i', ALL, { limit: 100 })).items).toEqual(old);

    // The adapter keeps working after the failed transaction.
    await storage.replacePoints('i', { from: 2, to: 4 }, [{ t: 2, v: 'new' }]);
    expect((await storage.readPoints('i', { from: 0, to: 5 }, { limit: 100 })).items).toEqual([
      { t: 0, v: 'old-0' },
      { t: 1, v: 'old-1' },
      { t: 2, v: 'new' },
      { t: 4, v: 'old-4' },
    ]);
  });

  test('an insert batch that fails inside its transaction inserts nothing', async () => {
    await using storage = openSqliteStorage(file);
    const raw = new Database(file);
    raw.exec(`CREATE TRIGGER fail_bad BEFORE INSERT ON events WHEN NEW.id = 'bad'
              BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    raw.close();
    const batch = [
      { id: 'a', t: 1, body: null },
      { id: 'bad', t: 2, body: null },
    ];
    expect(await codeOf(storage.insertEventsIfAbsent(batch))).toBe('STORAGE_BACKEND');
    expect((await storage.readEvents(ALL, { limit: 10 })).items).toEqual([]);
  });

  test('each sync write commits its data and its syncState record in one transaction', async () => {
    await using storage = openSqliteStorage(file);
    const progress = (through: number): SyncWriteOptions => ({
      syncState: { key: 'deputy:item:i', value: { v: 1, through } },
    });
    const calls: [string, () => Promise<unknown>][] = [
      [
        'replacePoints',
        () => storage.replacePoints('i', { from: 0, to: 10 }, [{ t: 1, v: 1 }], progress(10)),
      ],
      [
        'mergePoints',
        () => storage.mergePoints('i', { from: 10, to: 20 }, [{ t: 11, v: 1 }], progress(20)),
      ],
      [
        'insertEventsIfAbsent',
        () => storage.insertEventsIfAbsent([{ id: 'e', t: 1, body: null }], progress(30)),
      ],
    ];
    for (const [method, call] of calls) {
      const before = walCommits(file);
      await call();
      expect(walCommits(file) - before, `${method}: commits`).toBe(1);
    }
    expect(await storage.readSyncState('deputy:item:i')).toEqual({ v: 1, through: 30 });
    expect((await storage.readPoints('i', ALL, { limit: 10 })).items).toEqual([
      { t: 1, v: 1 },
      { t: 11, v: 1 },
    ]);
  });

  test('a failure writing the syncState record rolls back the data of the same call', async () => {
    await using storage = openSqliteStorage(file);
    const old = [
      { t: 1, v: 'old' },
      { t: 3, v: 'old' },
    ];
    await storage.appendPoints('i', old);
    await storage.writeSyncState('progress', { v: 1, through: 0 });
    // The record is written after the data, inside the transaction: fail there.
    const raw = new Database(file);
    raw.exec(`CREATE TRIGGER fail_progress BEFORE INSERT ON sync_state WHEN NEW.key = 'progress'
              BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    raw.close();
    const options = { syncState: { key: 'progress', value: { v: 1, through: 10 } } };
    const window = { from: 0, to: 10 };
    const fresh = [{ t: 2, v: 'new' }];
    for (const call of [
      storage.replacePoints('i', window, fresh, options),
      storage.mergePoints('i', window, fresh, options),
      storage.insertEventsIfAbsent([{ id: 'e', t: 2, body: null }], options),
    ]) {
      expect(await codeOf(call)).toBe('STORAGE_BACKEND');
    }
    expect((await storage.readPoints('i', ALL, { limit: 10 })).items).toEqual(old);
    expect((await storage.readEvents(ALL, { limit: 10 })).items).toEqual([]);
    expect(await storage.readSyncState('progress')).toEqual({ v: 1, through: 0 });
    // Another key is written together with its data.
    await storage.mergePoints('i', window, fresh, { syncState: { key: 'other', value: { v: 1 } } });
    expect(await storage.readSyncState('other')).toEqual({ v: 1 });
  });

  test('a failure writing the data leaves the syncState record of the call unwritten', async () => {
    await using storage = openSqliteStorage(file);
    const raw = new Database(file);
    raw.exec(`CREATE TRIGGER fail_t5 BEFORE INSERT ON points WHEN NEW.t = 5
              BEGIN SELECT RAISE(ABORT, 'injected failure'); END;
              CREATE TRIGGER fail_bad BEFORE INSERT ON events WHEN NEW.id = 'bad'
              BEGIN SELECT RAISE(ABORT, 'injected failure'); END`);
    raw.close();
    const options = { syncState: { key: 'progress', value: { v: 1 } } };
    const points = [
      { t: 4, v: 'new' },
      { t: 5, v: 'new' },
    ];
    for (const call of [
      storage.replacePoints('i', ALL, points, options),
      storage.mergePoints('i', ALL, points, options),
      storage.insertEventsIfAbsent(
        [
          { id: 'a', t: 1, body: null },
          { id: 'bad', t: 2, body: null },
        ],
        options,
      ),
    ]) {
      expect(await codeOf(call)).toBe('STORAGE_BACKEND');
    }
    expect(await storage.readSyncState('progress')).toBeUndefined();
    expect(await storage.listItems()).toEqual([]);
  });

  test('a stored sync-state row that is not a JSON object is STORAGE_BACKEND', async () => {
    await using storage = openSqliteStorage(file);
    await storage.writeSyncState('k', { v: 1 });
    const raw = new Database(file);
    const update = raw.prepare("UPDATE sync_state SET state = ? WHERE key = 'k'");
    for (const text of ['[1, 2]', '"text"', 'null', '{"v": 1', '']) {
      update.run(text);
      expect(await codeOf(storage.readSyncState('k')), text).toBe('STORAGE_BACKEND');
    }
    raw.close();
  });

  test('a file written by edge-ha 0.1.0 opens; its sync records read back as the JSON objects they are', async () => {
    copyFileSync(new URL('../fixtures/sqlite/v0.1.0-interrupted.sqlite', import.meta.url), file);
    const before = new Database(file, { readonly: true });
    const rows = before.prepare('SELECT key, state FROM sync_state').all() as {
      key: string;
      state: string;
    }[];
    before.close();
    expect(rows.length).toBeGreaterThan(0);
    await using storage = openSqliteStorage(file);
    for (const { key, state } of rows) {
      expect(await storage.readSyncState(key)).toEqual(JSON.parse(state));
    }
    expect(await storage.listItems()).toEqual(['a', 'b', 'c']);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    check.close();
  });

  test('creates a versioned WAL database whose paged reads search the primary keys', async () => {
    const storage = openSqliteStorage(file);
    await storage.close();
    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      const plan = (sql: string): string =>
        (
          raw
            .prepare(`EXPLAIN QUERY PLAN ${sql}`)
            .all(...Array.from(sql.matchAll(/\?/g), () => 0)) as { detail: string }[]
        )
          .map((row) => row.detail)
          .join('; ');
      expect(
        plan('SELECT t FROM points WHERE item = ? AND t >= ? AND t < ? ORDER BY t LIMIT ?'),
      ).toMatch(/^SEARCH points USING PRIMARY KEY \(item=\? AND t>\? AND t<\?\)$/);
      expect(
        plan('SELECT t FROM events WHERE (t, id) > (?, ?) AND t < ? ORDER BY t, id LIMIT ?'),
      ).toMatch(/^SEARCH events USING PRIMARY KEY/);
      expect(plan('SELECT t FROM events WHERE id = ?')).toMatch(
        /USING COVERING INDEX events_by_id/,
      );
    } finally {
      raw.close();
    }
  });

  test('a file written by a newer schema fails with STORAGE_SCHEMA and is left alone', async () => {
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    expect(await codeOf(() => openSqliteStorage(file))).toBe('STORAGE_SCHEMA');
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 1);
    check.close();
  });

  test('a file that is not a database fails with STORAGE_BACKEND', async () => {
    writeFileSync(file, 'this is not a SQLite database, just text '.repeat(100));
    expect(await codeOf(() => openSqliteStorage(file))).toBe('STORAGE_BACKEND');
  });

  test('a corrupt value type tag is reported as STORAGE_BACKEND', async () => {
    await using storage = openSqliteStorage(file);
    await storage.appendPoints('i', [{ t: 1, v: 1 }]);
    const raw = new Database(file);
    raw.exec('UPDATE points SET vt = 9');
    raw.close();
    expect(await codeOf(storage.readPoints('i', ALL, { limit: 1 }))).toBe('STORAGE_BACKEND');
  });

  test('the JSON page reads report a corrupt value tag or body as the record reads do', async () => {
    await using storage = openSqliteStorage(file, { readChunkRows: 2 });
    await storage.appendPoints('i', [
      { t: 1, v: 1 },
      { t: 2, v: 2 },
      { t: 3, v: 3 },
    ]);
    await storage.insertEventsIfAbsent([
      { id: 'a', t: 1, body: 'a' },
      { id: 'b', t: 1, body: { ok: true } },
      { id: 'c', t: 2, body: 'c' },
    ]);
    const raw = new Database(file);
    raw.exec(
      "UPDATE points SET vt = 9 WHERE t = 3; UPDATE events SET body = '{not json' WHERE id = 'c'",
    );
    raw.close();
    for (const limit of [1, 10]) {
      // In one step (limit 1) and in chunks on the reader connection (limit 10).
      const points = storage.readPointsJson('i', ALL, { limit });
      const events = storage.readEventsJson(ALL, { limit });
      if (limit === 1) {
        expect(JSON.parse((await points).json)).toEqual([{ t: 1, v: 1 }]);
        expect(JSON.parse((await events).json)).toEqual([{ id: 'a', t: 1, body: 'a' }]);
        continue;
      }
      const pointsError = await points.catch((error: unknown) => error);
      expect(pointsError).toMatchObject({ code: 'STORAGE_BACKEND' });
      expect((pointsError as Error).message).toMatch(/t=3 has an unknown value type tag 9/);
      expect(await codeOf(events)).toBe('STORAGE_BACKEND');
      expect(await codeOf(storage.readEvents(ALL, { limit }))).toBe('STORAGE_BACKEND');
    }
  });

  test('two adapters on one file see each other’s writes', async () => {
    await using a = openSqliteStorage(file);
    await using b = openSqliteStorage(file, { synchronous: 'FULL', busyTimeoutMs: 1000 });
    await a.appendPoints('i', [{ t: 1, v: 'from a' }]);
    expect(await b.insertEventsIfAbsent([{ id: 'x', t: 1, body: 'b' }])).toBe(1);
    expect(await a.insertEventsIfAbsent([{ id: 'x', t: 1, body: 'a' }])).toBe(0);
    expect((await b.readPoints('i', ALL, { limit: 5 })).items).toEqual([{ t: 1, v: 'from a' }]);
    expect(await a.listItems()).toEqual(['i']);
  });

  test('an empty file name or an invalid option is STORAGE_INVALID_OPTIONS', async () => {
    expect(await codeOf(() => openSqliteStorage(''))).toBe('STORAGE_INVALID_OPTIONS');
    expect(await codeOf(() => openSqliteStorage(file, { busyTimeoutMs: -1 }))).toBe(
      'STORAGE_INVALID_OPTIONS',
    );
    expect(
      await codeOf(() => openSqliteStorage(file, { synchronous: 'OFF' as unknown as 'FULL' })),
    ).toBe('STORAGE_INVALID_OPTIONS');
  });

  test("':memory:' opens a private, non-persistent store", async () => {
    await using storage = openSqliteStorage(':memory:');
    expect(storage.capabilities.persistent).toBe(false);
    await storage.registerItems(['x']);
    expect(await storage.listItems()).toEqual(['x']);
  });
});

describe('loadBetterSqlite3', () => {
  test('a missing better-sqlite3 is STORAGE_DEPENDENCY_MISSING with an install hint', () => {
    const missing = Object.assign(new Error("Cannot find module 'better-sqlite3'"), {
      code: 'MODULE_NOT_FOUND',
    });
    try {
      loadBetterSqlite3(() => {
        throw missing;
      });
      expect.unreachable();
    } catch (error) {
      expect(isEdgeHaError(error, 'STORAGE_DEPENDENCY_MISSING')).toBe(true);
      expect((error as Error).message).toContain('npm install better-sqlite3');
      expect((error as Error).cause).toBe(missing);
    }
  });

  test('a broken install is STORAGE_DEPENDENCY_MISSING with a rebuild hint', () => {
    expect(() =>
      loadBetterSqlite3(() => {
        throw new Error('Could not locate the bindings file');
      }),
    ).toThrow(/npm rebuild better-sqlite3/);
  });
});

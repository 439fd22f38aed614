/**
 * What `edge-ha/postgres` promises beyond the conformance suite: options and their codes, the
 * stored form of values (exact JSON text, COPY escaping, U+0000), COPY versus INSERT by batch
 * size, rollback of a failed write with its sync state, broken connections, the per-item lock
 * under concurrent writers, and independence from the application's type parsers.
 */

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { isEdgeHaError, type StorageError } from '../../src/errors.js';
import {
  openPostgresStorage,
  type PostgresClientLike,
  type PostgresPoolLike,
  type PostgresStorageAdapter,
  type PostgresStorageOptions,
} from '../../src/postgres/index.js';
import { loadPg } from '../../src/postgres/load.js';
import { openWith } from '../../src/postgres/open.js';
import { fromDbText, toDbText } from '../../src/postgres/text.js';
import { collect, iterateEvents, iteratePoints } from '../../src/storage/iterate.js';
import type { Point } from '../../src/storage/types.js';
import { compareCodePoints } from '../../src/storage/validate.js';
import { dropSchema, postgresUrl, testPool } from './helpers.js';

const ALL = { from: Number.MIN_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER };
const pool = testPool(8);
const schemas: string[] = [];
const opened: PostgresStorageAdapter[] = [];

afterEach(async () => {
  for (const adapter of opened.splice(0)) await adapter.close().catch(() => undefined);
  for (const schema of schemas.splice(0)) await dropSchema(pool, schema);
});
afterAll(() => pool.end());

/** A fresh schema name, dropped after the test. */
function freshSchema(): string {
  const schema = `pt_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
  schemas.push(schema);
  return schema;
}

async function open(
  options: Partial<PostgresStorageOptions> = {},
): Promise<PostgresStorageAdapter> {
  const adapter = await openPostgresStorage({ pool, schema: freshSchema(), ...options });
  opened.push(adapter);
  return adapter;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(isEdgeHaError(error), String(error)).toBe(true);
    return (error as StorageError).code;
  }
  throw new Error('expected a rejection');
}

async function sql(text: string, values: unknown[] = []): Promise<Record<string, unknown>[]> {
  return (await pool.query(text, values)).rows as Record<string, unknown>[];
}

/** A pool wrapper recording the SQL of every query and script its clients run. */
function recordingPool(inner: PostgresPoolLike): { pool: PostgresPoolLike; texts: string[] } {
  const texts: string[] = [];
  const wrap = (client: PostgresClientLike): PostgresClientLike =>
    ({
      query(config: { text: string }) {
        texts.push(config.text);
        return (client.query as (c: unknown) => unknown)(config);
      },
      release: (destroy?: boolean | Error) => client.release(destroy),
    }) as PostgresClientLike;
  return {
    texts,
    pool: {
      connect: async () => wrap(await inner.connect()),
      end: () => inner.end(),
    },
  };
}

describe('options', () => {
  test('exactly one of pool and connectionString, else STORAGE_INVALID_OPTIONS', async () => {
    expect(await codeOf(openPostgresStorage({}))).toBe('STORAGE_INVALID_OPTIONS');
    expect(await codeOf(openPostgresStorage({ pool, connectionString: postgresUrl() }))).toBe(
      'STORAGE_INVALID_OPTIONS',
    );
    expect(await codeOf(openPostgresStorage({ pool: {} as unknown as PostgresPoolLike }))).toBe(
      'STORAGE_INVALID_OPTIONS',
    );
    expect(await codeOf(openPostgresStorage({ connectionString: '' }))).toBe(
      'STORAGE_INVALID_OPTIONS',
    );
    expect(await codeOf(openPostgresStorage(null as unknown as PostgresStorageOptions))).toBe(
      'STORAGE_INVALID_OPTIONS',
    );
  });

  test('schema names that are not safe identifiers are refused before connecting', async () => {
    const bad = ['', 'Upper', 'a-b', 'a"b', 'a b', '1abc', 'pg_mine', 'x'.repeat(64), 'é', 'a;b'];
    for (const schema of bad) {
      expect(await codeOf(openPostgresStorage({ pool, schema })), schema).toBe(
        'STORAGE_INVALID_OPTIONS',
      );
    }
    const [row] = await sql(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = ANY($1)`, [
      bad,
    ]);
    expect(row?.n).toBe(0);
  });

  test('a 63-character schema name is accepted and used as it is', async () => {
    const schema = `s${randomUUID().replaceAll('-', '')}`.padEnd(63, '_');
    expect(schema).toHaveLength(63);
    schemas.push(schema);
    const adapter = await openPostgresStorage({ pool, schema });
    opened.push(adapter);
    await adapter.registerItems(['x']);
    const rows = await sql(`SELECT item FROM "${schema}".items`);
    expect(rows).toEqual([{ item: 'x' }]);
  });

  test('other invalid options are STORAGE_INVALID_OPTIONS', async () => {
    const cases: Partial<Record<keyof PostgresStorageOptions, unknown>>[] = [
      { timescale: 'yes' },
      { migrate: 'no' },
      { copyThreshold: -1 },
      { copyThreshold: 1.5 },
      { copyThreshold: Number.NaN },
      { maxConnections: 0 },
    ];
    for (const extra of cases) {
      expect(
        await codeOf(openPostgresStorage({ pool, ...extra } as PostgresStorageOptions)),
        JSON.stringify(extra),
      ).toBe('STORAGE_INVALID_OPTIONS');
    }
  });

  test('the default schema is edge_ha', async () => {
    const before = await sql(`SELECT 1 FROM pg_namespace WHERE nspname = 'edge_ha'`);
    schemas.push('edge_ha');
    const adapter = await openPostgresStorage({ pool });
    opened.push(adapter);
    expect(adapter.schema).toBe('edge_ha');
    expect(before).toEqual([]);
    expect(await sql(`SELECT 1 AS one FROM pg_namespace WHERE nspname = 'edge_ha'`)).toEqual([
      { one: 1 },
    ]);
  });

  test('an unreachable server is STORAGE_BACKEND, and the pool it made is ended', async () => {
    const url = new URL(postgresUrl());
    url.port = '1'; // nothing listens on port 1 of 127.0.0.1
    const error = await openPostgresStorage({ connectionString: url.href }).catch(
      (e: unknown) => e as StorageError,
    );
    expect(isEdgeHaError(error, 'STORAGE_BACKEND')).toBe(true);
    expect((error as Error).message).toMatch(/cannot connect to PostgreSQL/);
  });
});

describe('the optional dependency pg', () => {
  test('missing pg is STORAGE_DEPENDENCY_MISSING with the install command', async () => {
    const missing = (): never => {
      throw Object.assign(new Error("Cannot find module 'pg'"), { code: 'MODULE_NOT_FOUND' });
    };
    const error = await openWith({ connectionString: postgresUrl() }, () => loadPg(missing)).catch(
      (e: unknown) => e as StorageError,
    );
    expect(isEdgeHaError(error, 'STORAGE_DEPENDENCY_MISSING')).toBe(true);
    expect((error as Error).message).toContain('npm install pg');
    expect(() => loadPg(() => ({}))).toThrowError(/no Pool class/);
    const broken = (): never => {
      throw new Error('boom');
    };
    expect(() => loadPg(broken)).toThrowError(/failed to load/);
  });

  test('with a pool given, pg is never loaded', async () => {
    let loads = 0;
    const adapter = await openWith({ pool, schema: freshSchema() }, () => {
      loads++;
      throw new Error('must not be called');
    });
    opened.push(adapter);
    await adapter.registerItems(['a']);
    expect(loads).toBe(0);
  });

  test('the real loader finds pg', () => {
    expect(typeof loadPg().Pool).toBe('function');
  });
});

describe('pools', () => {
  test('close() leaves a pool that was passed in open', async () => {
    const mine = testPool(2);
    try {
      const adapter = await openPostgresStorage({ pool: mine, schema: freshSchema() });
      await adapter.appendPoints('a', [{ t: 1, v: 1 }]);
      await adapter.close();
      expect(await codeOf(adapter.listItems())).toBe('STORAGE_CLOSED');
      expect((await mine.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(mine.ended).toBe(false);
    } finally {
      await mine.end();
    }
  });

  test('close() ends the pool the adapter made from connectionString', async () => {
    const name = `edge-ha-close-${randomUUID()}`;
    const url = new URL(postgresUrl());
    url.searchParams.set('application_name', name);
    const adapter = await openPostgresStorage({
      connectionString: url.href,
      schema: freshSchema(),
    });
    await adapter.appendPoints('a', [{ t: 1, v: 1 }]);
    const connections = async (): Promise<number> => {
      const [row] = await sql(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
        [name],
      );
      return row?.n as number;
    };
    expect(await connections()).toBeGreaterThan(0);
    await adapter.close();
    await adapter.close();
    // A backend leaves pg_stat_activity shortly after its client hung up: wait for that.
    let left = await connections();
    for (let i = 0; i < 100 && left > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      left = await connections();
    }
    expect(left).toBe(0);
  });

  test('the type parsers of the application pool never change what the adapter reads', async () => {
    const odd = new pg.Pool({
      connectionString: postgresUrl(),
      max: 2,
      types: { getTypeParser: () => (value: string) => `parsed:${value}` },
    });
    try {
      const adapter = await openPostgresStorage({ pool: odd, schema: freshSchema() });
      await adapter.appendPoints('a', [
        { t: 5, v: 1.5, q: 192 },
        { t: 6, v: true },
      ]);
      await adapter.insertEventsIfAbsent([{ id: 'e', t: 7, body: { n: 1 } }]);
      await adapter.writeSyncState('k', { x: 1 });
      expect((await adapter.readPoints('a', ALL, { limit: 10 })).items).toEqual([
        { t: 5, v: 1.5, q: 192 },
        { t: 6, v: true },
      ]);
      expect((await adapter.readEvents(ALL, { limit: 10 })).items).toEqual([
        { id: 'e', t: 7, body: { n: 1 } },
      ]);
      expect(await adapter.readSyncState('k')).toEqual({ x: 1 });
      expect(await adapter.listItems()).toEqual(['a']);
      await adapter.close();
    } finally {
      await odd.end();
    }
  });
});

describe('stored form', () => {
  const tricky = [
    'back\\slash',
    'tab\there',
    'new\nline',
    'carriage\rreturn',
    '\\N',
    'N',
    '\\.',
    '\\\\N',
    '\n\\.\n',
    'quote \' and "double"',
    '$$dollar$$',
    "E'\\x00'",
    '\u0001',
    '\u0001\u0002',
    '\u0002',
    '\u0000',
    '\u0000\u0000\u0001\u0000',
    '\u{1F600} 日本',
    '',
  ];

  for (const copyThreshold of [0, Number.POSITIVE_INFINITY]) {
    const path = copyThreshold === 0 ? 'COPY' : 'INSERT';
    test(`strings with COPY and SQL metacharacters, U+0000 and U+0001 round-trip (${path})`, async () => {
      const adapter = await open({ copyThreshold });
      const points: Point[] = tricky.map((v, i) => ({ t: i, v }));
      await adapter.replacePoints('r', { from: 0, to: 100 }, points);
      expect(await adapter.mergePoints('m', { from: 0, to: 100 }, points)).toBe(points.length);
      await adapter.appendPoints('a', points);
      for (const item of ['r', 'm', 'a']) {
        expect(await collect(iteratePoints(adapter, item, ALL, { pageSize: 4 })), item).toEqual(
          points,
        );
      }
      const events = tricky.map((s, i) => ({ id: `id${s}`, t: i, body: { s, [s]: i } }));
      expect(await adapter.insertEventsIfAbsent(events)).toBe(events.length);
      expect(await collect(iterateEvents(adapter, ALL, { pageSize: 3 }))).toEqual(events);
      // What PostgreSQL holds: the string itself (U+0000/U+0001 escaped), not COPY escapes.
      const rows = await sql(
        `SELECT p.vs FROM "${adapter.schema}".points p JOIN "${adapter.schema}".items i ON i.id = p.item_id WHERE i.item = 'a' ORDER BY p.t`,
      );
      expect(rows.map((row) => row.vs)).toEqual(tricky.map(toDbText));
    });

    test(`item ids, event ids and sync keys with U+0000 are stored and sorted by code point (${path})`, async () => {
      const adapter = await open({ copyThreshold });
      const ids = [
        'a',
        'a\u0000',
        'a\u0000\u0000',
        'a\u0001',
        'a\u0001\u0000',
        'a\u0002',
        '\u0000',
        'b',
        '\u{1F600}',
        '\uFFFD',
      ];
      const sorted = [...ids].sort(compareCodePoints);
      for (const id of ids) await adapter.appendPoints(id, [{ t: 1, v: id }]);
      expect(await adapter.listItems()).toEqual(sorted);
      for (const id of ids) {
        expect((await adapter.readPoints(id, ALL, { limit: 5 })).items).toEqual([{ t: 1, v: id }]);
      }
      expect(await adapter.insertEventsIfAbsent(ids.map((id) => ({ id, t: 1, body: id })))).toBe(
        ids.length,
      );
      // Paging one by one goes through the (t, id) cursor of every id.
      expect(
        (await collect(iterateEvents(adapter, ALL, { pageSize: 1 }))).map((e) => e.id),
      ).toEqual(sorted);
      expect(await adapter.insertEventsIfAbsent([{ id: 'a\u0000', t: 2, body: 'again' }])).toBe(0);
      for (const key of ids) await adapter.writeSyncState(key, { key });
      for (const key of ids) expect(await adapter.readSyncState(key)).toEqual({ key });
    });
  }

  test('the escape of U+0000 and U+0001 is lossless and keeps code-point order', () => {
    const alphabet = ['\u0000', '\u0001', '\u0002', 'a', '\u{10000}'];
    const strings: string[] = [''];
    for (let length = 1; length <= 3; length++) {
      for (const prefix of strings.filter((s) => [...s].length === length - 1)) {
        for (const c of alphabet) strings.push(prefix + c);
      }
    }
    const byCodePoint = [...strings].sort(compareCodePoints);
    const byStoredBytes = [...strings].sort((a, b) =>
      Buffer.compare(Buffer.from(toDbText(a)), Buffer.from(toDbText(b))),
    );
    expect(byStoredBytes).toEqual(byCodePoint);
    for (const s of strings) {
      expect(toDbText(s)).not.toContain('\u0000');
      expect(fromDbText(toDbText(s))).toBe(s);
    }
    expect(new Set(strings.map(toDbText)).size).toBe(strings.length);
  });

  test('the longest valid ids and keys of any characters are stored (no btree entry limit)', async () => {
    const adapter = await open();
    const wide = (n: number, seed: number): string =>
      Array.from({ length: n }, (_, i) =>
        String.fromCodePoint(0x4e00 + ((i * 7919 + seed) % 20_000)),
      ).join('');
    const item = wide(1024, 1);
    const other = `${item.slice(0, 1023)}x`;
    const eventId = wide(256, 2);
    const key = wide(2048, 3);
    expect(Buffer.byteLength(item)).toBeGreaterThan(3000);
    await adapter.registerItems([item, other]);
    await adapter.replacePoints(item, { from: 0, to: 10 }, [{ t: 1, v: 'long' }], {
      syncState: { key, value: { item } },
    });
    await adapter.insertEventsIfAbsent([{ id: eventId, t: 1, body: null }]);
    expect(await adapter.listItems()).toEqual([item, other].sort(compareCodePoints));
    expect((await adapter.readPoints(item, ALL, { limit: 5 })).items).toEqual([
      { t: 1, v: 'long' },
    ]);
    expect((await adapter.readPoints(other, ALL, { limit: 5 })).items).toEqual([]);
    expect(await adapter.readSyncState(key)).toEqual({ item });
    expect(await adapter.insertEventsIfAbsent([{ id: eventId, t: 2, body: 1 }])).toBe(0);
  });

  test('event bodies and sync state are stored as their exact JSON text', async () => {
    const adapter = await open();
    const body = { z: 1, a: [0.1, 1e21, -2.5e-7, 2 ** 53 - 1], m: { y: null, b: 'x\ny' } };
    await adapter.insertEventsIfAbsent([{ id: 'e', t: 1, body }]);
    await adapter.writeSyncState('s', { z: 2, a: 1 });
    const [event] = await sql(`SELECT body FROM "${adapter.schema}".events`);
    expect(event?.body).toBe(JSON.stringify(body));
    const [state] = await sql(`SELECT state FROM "${adapter.schema}".sync_state`);
    expect(state?.state).toBe('{"z":2,"a":1}');
    const [read] = (await adapter.readEvents(ALL, { limit: 1 })).items;
    expect(Object.keys(read?.body as object)).toEqual(['z', 'a', 'm']);
  });

  test('a point is one typed column: vn, vs, vb, or none for null; q a bigint', async () => {
    const adapter = await open();
    await adapter.appendPoints('i', [
      { t: 1, v: -0 },
      { t: 2, v: 'text' },
      { t: 3, v: false },
      { t: 4, v: null, q: 4_294_967_295 },
      { t: 5, v: Number.MIN_VALUE },
    ]);
    const rows = await sql(
      `SELECT t::int, vn, vs, vb, q::text FROM "${adapter.schema}".points ORDER BY t`,
    );
    expect(rows).toEqual([
      { t: 1, vn: 0, vs: null, vb: null, q: null },
      { t: 2, vn: null, vs: 'text', vb: null, q: null },
      { t: 3, vn: null, vs: null, vb: false, q: null },
      { t: 4, vn: null, vs: null, vb: null, q: '4294967295' },
      { t: 5, vn: Number.MIN_VALUE, vs: null, vb: null, q: null },
    ]);
    expect((await adapter.readPoints('i', ALL, { limit: 10 })).items[0]).toEqual({ t: 1, v: 0 });
    expect(Object.is((await adapter.readPoints('i', ALL, { limit: 1 })).items[0]?.v, 0)).toBe(true);
  });

  test('a row changed by another program into something unreadable is STORAGE_BACKEND', async () => {
    const adapter = await open();
    await adapter.insertEventsIfAbsent([{ id: 'e', t: 1, body: 1 }]);
    await adapter.writeSyncState('s', { a: 1 });
    await sql(`UPDATE "${adapter.schema}".events SET body = 'not json'`);
    await sql(`UPDATE "${adapter.schema}".sync_state SET state = '[1]'`);
    expect(await codeOf(adapter.readEvents(ALL, { limit: 1 }))).toBe('STORAGE_BACKEND');
    expect(await codeOf(adapter.readSyncState('s'))).toBe('STORAGE_BACKEND');
  });
});

describe('COPY or INSERT by batch size', () => {
  test('writes of copyThreshold rows or more stream them with COPY, smaller ones do not', async () => {
    const recorder = recordingPool(pool);
    const schema = freshSchema();
    const adapter = await openPostgresStorage({ pool: recorder.pool, schema, copyThreshold: 10 });
    opened.push(adapter);
    const points = (n: number, offset = 0): Point[] =>
      Array.from({ length: n }, (_, i) => ({ t: offset + i, v: i }));
    const copies = async (write: () => Promise<unknown>): Promise<boolean> => {
      recorder.texts.length = 0;
      await write();
      return recorder.texts.some((text) => /\bCOPY\b/.test(text));
    };
    const w = { from: 0, to: 1000 };
    expect(await copies(() => adapter.replacePoints('a', w, points(9)))).toBe(false);
    expect(await copies(() => adapter.replacePoints('a', w, points(10)))).toBe(true);
    expect(await copies(() => adapter.mergePoints('a', w, points(9, 100)))).toBe(false);
    expect(await copies(() => adapter.mergePoints('a', w, points(10, 200)))).toBe(true);
    expect(await copies(() => adapter.appendPoints('a', points(9, 300)))).toBe(false);
    expect(await copies(() => adapter.appendPoints('a', points(10, 400)))).toBe(true);
    const events = (n: number, offset: number) =>
      Array.from({ length: n }, (_, i) => ({ id: `e${offset + i}`, t: i, body: i }));
    expect(await copies(() => adapter.insertEventsIfAbsent(events(9, 0)))).toBe(false);
    expect(await copies(() => adapter.insertEventsIfAbsent(events(10, 100)))).toBe(true);
    expect((await collect(iteratePoints(adapter, 'a', ALL))).length).toBe(10 + 9 + 10 + 9 + 10);
  });

  test('by default replace copies from 64 points, the writes through a temp table from 256', async () => {
    const recorder = recordingPool(pool);
    const adapter = await openPostgresStorage({ pool: recorder.pool, schema: freshSchema() });
    opened.push(adapter);
    const points = (n: number): Point[] => Array.from({ length: n }, (_, t) => ({ t, v: t }));
    const copies = async (write: () => Promise<unknown>): Promise<boolean> => {
      recorder.texts.length = 0;
      await write();
      return recorder.texts.some((text) => /\bCOPY\b/.test(text));
    };
    const w = { from: 0, to: 1000 };
    expect(await copies(() => adapter.replacePoints('a', w, points(63)))).toBe(false);
    expect(await copies(() => adapter.replacePoints('a', w, points(64)))).toBe(true);
    expect(await copies(() => adapter.mergePoints('b', w, points(255)))).toBe(false);
    expect(await copies(() => adapter.mergePoints('c', w, points(256)))).toBe(true);
    expect(await copies(() => adapter.appendPoints('d', points(255)))).toBe(false);
    expect(await copies(() => adapter.appendPoints('d', points(256)))).toBe(true);
  });

  test('a large back-fill page through COPY merges exactly the absent points and counts them', async () => {
    const adapter = await open();
    const window = { from: 0, to: 50_000 };
    await adapter.appendPoints(
      'big',
      Array.from({ length: 500 }, (_, i) => ({ t: i * 100, v: 'local' })),
    );
    const page = Array.from({ length: 50_000 }, (_, t) => ({ t, v: t % 7 === 0 ? null : t / 3 }));
    expect(
      await adapter.mergePoints('big', window, page, {
        syncState: { key: 'progress', value: { at: 50_000 } },
      }),
    ).toBe(49_500);
    const stored = await collect(iteratePoints(adapter, 'big', ALL, { pageSize: 10_000 }));
    expect(stored).toHaveLength(50_000);
    expect(stored.filter((p) => p.v === 'local')).toHaveLength(500);
    expect(stored[1]).toEqual({ t: 1, v: 1 / 3 });
    expect(await adapter.readSyncState('progress')).toEqual({ at: 50_000 });
  });
});

describe('failures', () => {
  test('a write the server rejects stores nothing, not even its syncState, and the connection stays usable', async () => {
    const own = testPool(1);
    try {
      for (const copyThreshold of [0, Number.POSITIVE_INFINITY]) {
        const adapter = await open({ copyThreshold, pool: own });
        const s = `"${adapter.schema}"`;
        await adapter.replacePoints('i', { from: 0, to: 10 }, [{ t: 1, v: 'old' }]);
        await adapter.writeSyncState('progress', { at: 0 });
        // A trigger standing in for any server-side failure in the middle of a write.
        await sql(`CREATE FUNCTION ${s}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.vs = 'refused' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`);
        await sql(
          `CREATE TRIGGER refuse BEFORE INSERT ON ${s}.points FOR EACH ROW EXECUTE FUNCTION ${s}.refuse()`,
        );
        const points: Point[] = [
          { t: 2, v: 'new' },
          { t: 3, v: 'refused' },
          { t: 4, v: 'new' },
        ];
        const options = { syncState: { key: 'progress', value: { at: 10 } } };
        const error = await adapter
          .replacePoints('i', { from: 0, to: 10 }, points, options)
          .catch((e: unknown) => e as StorageError);
        expect(isEdgeHaError(error, 'STORAGE_BACKEND'), String(error)).toBe(true);
        expect((error as Error).message).toMatch(/refused by the test.*SQLSTATE P0001/);
        expect(await codeOf(adapter.mergePoints('i', { from: 0, to: 10 }, points, options))).toBe(
          'STORAGE_BACKEND',
        );
        expect(await codeOf(adapter.appendPoints('i', points))).toBe('STORAGE_BACKEND');
        expect((await adapter.readPoints('i', ALL, { limit: 10 })).items).toEqual([
          { t: 1, v: 'old' },
        ]);
        expect(await adapter.readSyncState('progress')).toEqual({ at: 0 });
        // The one connection of the pool is fine: the next write commits.
        await adapter.replacePoints('i', { from: 0, to: 10 }, [{ t: 5, v: 'ok' }], options);
        expect((await adapter.readPoints('i', ALL, { limit: 10 })).items).toEqual([
          { t: 5, v: 'ok' },
        ]);
        expect(await adapter.readSyncState('progress')).toEqual({ at: 10 });
        await adapter.close();
      }
    } finally {
      await own.end();
    }
  });

  test('a connection killed in the middle of a COPY stores nothing and the pool recovers', async () => {
    const own = testPool(1);
    try {
      const adapter = await openPostgresStorage({
        pool: own,
        schema: freshSchema(),
        copyThreshold: 0,
      });
      const s = `"${adapter.schema}"`;
      await sql(`CREATE FUNCTION ${s}.die() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.t = 30000 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF; RETURN NEW; END $$`);
      await sql(
        `CREATE TRIGGER die BEFORE INSERT ON ${s}.points FOR EACH ROW EXECUTE FUNCTION ${s}.die()`,
      );
      const page = Array.from({ length: 60_000 }, (_, t) => ({ t, v: t }));
      const error = await adapter
        .replacePoints('i', { from: 0, to: 60_000 }, page, {
          syncState: { key: 'p', value: { at: 1 } },
        })
        .catch((e: unknown) => e as StorageError);
      expect(isEdgeHaError(error, 'STORAGE_BACKEND'), String(error)).toBe(true);
      expect((await adapter.readPoints('i', ALL, { limit: 10 })).items).toEqual([]);
      expect(await adapter.readSyncState('p')).toBeUndefined();
      await sql(`DROP TRIGGER die ON ${s}.points`);
      await adapter.replacePoints('i', { from: 0, to: 60_000 }, page);
      expect((await collect(iteratePoints(adapter, 'i', ALL, { pageSize: 100_000 }))).length).toBe(
        60_000,
      );
      await adapter.close();
    } finally {
      await own.end();
    }
  });

  test('writers of one item in several processes serialise instead of failing', async () => {
    const schema = freshSchema();
    const pools = [testPool(4), testPool(4)];
    try {
      const [a, b] = await Promise.all(
        pools.map((p) => openPostgresStorage({ pool: p, schema, copyThreshold: 50 })),
      );
      if (a === undefined || b === undefined) throw new Error('unreachable');
      const window = { from: 0, to: 200 };
      const writes: Promise<unknown>[] = [];
      for (let round = 0; round < 12; round++) {
        const points = Array.from({ length: 100 + round }, (_, i) => ({ t: i, v: round }));
        const one = round % 2 === 0 ? a : b;
        const other = round % 2 === 0 ? b : a;
        writes.push(one.replacePoints('shared', window, points.slice(0, 100)));
        writes.push(other.appendPoints('shared', points));
        writes.push(one.mergePoints('shared', window, points.slice(0, 120)));
      }
      const results = await Promise.allSettled(writes);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      const stored = await collect(iteratePoints(a, 'shared', ALL));
      expect(stored.map((p) => p.t)).toEqual(Array.from({ length: stored.length }, (_, i) => i));
      await a.close();
      await b.close();
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});

test('data survives a new pool and a new adapter (connectionString)', async () => {
  const schema = freshSchema();
  const first = await openPostgresStorage({ connectionString: postgresUrl(), schema });
  await first.appendPoints('plant/temp', [
    { t: 1, v: 21.5 },
    { t: 2, v: 'on', q: 192 },
    { t: 3, v: false },
    { t: 4, v: null },
  ]);
  await first.insertEventsIfAbsent([{ id: 'a', t: 1, body: { level: 'high' } }]);
  await first.writeSyncState('deputy', { v: 2, lastUpToDate: 10 });
  await first.close();
  const second = await openPostgresStorage({ connectionString: postgresUrl(), schema });
  try {
    expect((await second.readPoints('plant/temp', ALL, { limit: 10 })).items).toEqual([
      { t: 1, v: 21.5 },
      { t: 2, v: 'on', q: 192 },
      { t: 3, v: false },
      { t: 4, v: null },
    ]);
    expect((await second.readEvents(ALL, { limit: 10 })).items).toEqual([
      { id: 'a', t: 1, body: { level: 'high' } },
    ]);
    expect(await second.readSyncState('deputy')).toEqual({ v: 2, lastUpToDate: 10 });
    expect(second.capabilities).toEqual({
      persistent: true,
      atomicReplace: true,
      atomicInsert: true,
      multiProcess: true,
    });
  } finally {
    await second.close();
  }
});

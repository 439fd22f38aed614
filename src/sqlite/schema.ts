/**
 * The SQLite schema, versioned with `PRAGMA user_version`: step `i` of {@link MIGRATIONS} moves
 * a database from version `i` to `i + 1`. Never edit a released step; append a new one.
 *
 * @internal
 */

import type BetterSqlite3 from 'better-sqlite3';
import { StorageError } from '../errors.js';

/** Migration steps; the schema version is `MIGRATIONS.length`. */
export const MIGRATIONS: readonly string[] = [
  // 0 -> 1: items, points keyed by (item, t), events keyed by (t, id) + unique id, sync state.
  `
  CREATE TABLE items (
    item TEXT NOT NULL PRIMARY KEY
  ) WITHOUT ROWID;

  -- vt: 0 null, 1 number (vn), 2 string (vs), 3 boolean (vn = 0 or 1)
  CREATE TABLE points (
    item TEXT NOT NULL,
    t INTEGER NOT NULL,
    vt INTEGER NOT NULL,
    vn REAL,
    vs TEXT,
    q INTEGER,
    PRIMARY KEY (item, t)
  ) WITHOUT ROWID;

  CREATE TABLE events (
    t INTEGER NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (t, id)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX events_by_id ON events (id);

  CREATE TABLE sync_state (
    key TEXT NOT NULL PRIMARY KEY,
    state TEXT NOT NULL
  ) WITHOUT ROWID;
  `,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION: number = MIGRATIONS.length;

/**
 * Brings the database to {@link SCHEMA_VERSION}, one transaction per step. A database written by
 * a newer edge-ha fails with `STORAGE_SCHEMA` and is not touched.
 */
export function migrate(db: BetterSqlite3.Database, filename: string): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new StorageError(
      'STORAGE_SCHEMA',
      `${filename} has schema version ${current}, newer than ${SCHEMA_VERSION} understood by this edge-ha; upgrade edge-ha or use another file.`,
    );
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    const step = MIGRATIONS[version] as string;
    db.transaction(() => {
      // Another process may have migrated meanwhile; the immediate transaction serialises us.
      if ((db.pragma('user_version', { simple: true }) as number) !== version) return;
      db.exec(step);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}

/**
 * `edge-ha/sqlite`: a persistent `StorageAdapter` over a SQLite file.
 *
 * Needs the optional peer dependency `better-sqlite3` (>= 12): `npm install better-sqlite3`.
 * It is loaded when {@link openSqliteStorage} is first called, so importing this module never
 * fails; a missing dependency is reported as `StorageError` `STORAGE_DEPENDENCY_MISSING`.
 *
 * @example
 * ```ts
 * import { openSqliteStorage } from 'edge-ha/sqlite';
 *
 * await using storage = openSqliteStorage('./edge-ha.db');
 * await storage.insertEventsIfAbsent([{ id: 'a1', t: Date.now(), body: { alarm: 'high' } }]);
 * ```
 *
 * @module edge-ha/sqlite
 */

export type { SqliteStorageOptions } from './adapter.js';
export { openSqliteStorage, SqliteStorageAdapter } from './adapter.js';
export type {
  SqliteIntegrityCheck,
  SqliteIntegrityOptions,
  SqliteIntegrityReport,
} from './integrity.js';
export { checkSqliteIntegrity } from './integrity.js';

/**
 * `edge-ha/postgres`: a persistent `StorageAdapter` over a PostgreSQL schema.
 *
 * Give it your own pool (any `pg.Pool`, pg >= 8.11), or a connection string: then it needs the
 * optional peer dependency `pg` (`npm install pg`), loaded when {@link openPostgresStorage} is
 * first called, so importing this module never fails; a missing dependency is reported as
 * `StorageError` `STORAGE_DEPENDENCY_MISSING`. The types here do not depend on `@types/pg`.
 *
 * @example
 * ```ts
 * import { openPostgresStorage } from 'edge-ha/postgres';
 *
 * await using storage = await openPostgresStorage({
 *   connectionString: 'postgres://edge:secret@127.0.0.1:5432/plant',
 *   schema: 'edge_ha',
 * });
 * await storage.insertEventsIfAbsent([{ id: 'a1', t: Date.now(), body: { alarm: 'high' } }]);
 * ```
 *
 * @module edge-ha/postgres
 */

export { PostgresStorageAdapter } from './adapter.js';
export { openPostgresStorage } from './open.js';
export type {
  PostgresClientLike,
  PostgresPoolLike,
  PostgresQueryConfig,
  PostgresQueryResultLike,
  PostgresStorageOptions,
  PostgresSubmittable,
  PostgresTimescaleMode,
  PostgresTypeParsers,
} from './types.js';

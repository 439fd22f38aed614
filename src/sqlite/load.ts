/**
 * Lazy loading of the optional peer dependency `better-sqlite3`.
 *
 * @internal
 */

import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { StorageError } from '../errors.js';

/** The `better-sqlite3` constructor. */
export type DatabaseConstructor = typeof BetterSqlite3;

const INSTALL_HINT =
  'The SQLite adapter needs the optional peer dependency "better-sqlite3" (>= 12): run `npm install better-sqlite3`.';

/**
 * Loads `better-sqlite3` through `require` (default: a `createRequire` of this module), mapping a
 * missing module to `STORAGE_DEPENDENCY_MISSING`.
 */
export function loadBetterSqlite3(
  load: (id: string) => unknown = createRequire(import.meta.url),
): DatabaseConstructor {
  try {
    return load('better-sqlite3') as DatabaseConstructor;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw new StorageError('STORAGE_DEPENDENCY_MISSING', INSTALL_HINT, { cause: error });
    }
    throw new StorageError(
      'STORAGE_DEPENDENCY_MISSING',
      `"better-sqlite3" is installed but failed to load (${(error as Error)?.message ?? String(error)}); rebuild it with \`npm rebuild better-sqlite3\`.`,
      { cause: error },
    );
  }
}

/** Whether `error` says the native binding of `better-sqlite3` is missing (not built). */
export function isMissingBinding(error: unknown): boolean {
  return (
    error instanceof Error && /bindings file|Could not locate the bindings/i.test(error.message)
  );
}

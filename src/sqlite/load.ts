/**
 * Lazy loading of the optional peer dependency `better-sqlite3`.
 *
 * @internal
 */

import { createRequire } from 'node:module';
import type BetterSqlite3 from 'better-sqlite3';
import { StorageError } from '../errors.js';
import { loadOptionalPeer } from '../optional-peer.js';

/** The `better-sqlite3` constructor. */
export type DatabaseConstructor = typeof BetterSqlite3;

/** npm 11 runs a dependency's install script (better-sqlite3's native build) only when approved. */
const NPM_APPROVAL =
  'with npm 11, also `npm install-scripts approve better-sqlite3` so its native build runs';

const INSTALL_HINT = `The SQLite adapter needs the optional peer dependency "better-sqlite3" (>= 12): run \`npm install better-sqlite3\` (${NPM_APPROVAL}).`;

/**
 * Loads `better-sqlite3` through `require` (default: a `createRequire` of this module), mapping a
 * missing module to `STORAGE_DEPENDENCY_MISSING`.
 */
export function loadBetterSqlite3(
  load: (id: string) => unknown = createRequire(import.meta.url),
): DatabaseConstructor {
  return loadOptionalPeer(
    load,
    'better-sqlite3',
    INSTALL_HINT,
    (message) =>
      `"better-sqlite3" is installed but failed to load (${message}); rebuild it with \`npm rebuild better-sqlite3\`.`,
  ) as DatabaseConstructor;
}

/** Whether `error` says the native binding of `better-sqlite3` is missing (not built). */
export function isMissingBinding(error: unknown): boolean {
  return (
    error instanceof Error && /bindings file|Could not locate the bindings/i.test(error.message)
  );
}

/**
 * Opens `filename` with better-sqlite3 (loaded with {@link loadBetterSqlite3}): a native binding
 * that was never built is `STORAGE_DEPENDENCY_MISSING`, any other failure `STORAGE_BACKEND`
 * ("SQLite cannot <verb> <file>: …").
 */
export function openDatabase(
  filename: string,
  options: BetterSqlite3.Options,
  verb: string,
): BetterSqlite3.Database {
  const Database = loadBetterSqlite3();
  try {
    return new Database(filename, options);
  } catch (error) {
    if (isMissingBinding(error)) {
      throw new StorageError(
        'STORAGE_DEPENDENCY_MISSING',
        `"better-sqlite3" is installed but its native binding is missing: run \`npm rebuild better-sqlite3\` (${NPM_APPROVAL}).`,
        { cause: error },
      );
    }
    throw new StorageError(
      'STORAGE_BACKEND',
      `SQLite cannot ${verb} ${filename}: ${(error as Error)?.message ?? String(error)}`,
      { cause: error },
    );
  }
}

/**
 * Loading an optional peer dependency (`better-sqlite3`, `pg`) on first use, with the one error
 * a missing or broken install gets: `STORAGE_DEPENDENCY_MISSING`, with the fix in its message.
 *
 * @internal
 */

import { StorageError } from './errors.js';

/**
 * `load(id)`, or `STORAGE_DEPENDENCY_MISSING` when it throws: `missing` when the module is not
 * installed, `broken(message)` when it is but fails to load (e.g. an unbuilt native binding).
 */
export function loadOptionalPeer(
  load: (id: string) => unknown,
  id: string,
  missing: string,
  broken: (message: string) => string,
): unknown {
  try {
    return load(id);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND') {
      throw new StorageError('STORAGE_DEPENDENCY_MISSING', missing, { cause: error });
    }
    throw new StorageError(
      'STORAGE_DEPENDENCY_MISSING',
      broken((error as Error)?.message ?? String(error)),
      { cause: error },
    );
  }
}

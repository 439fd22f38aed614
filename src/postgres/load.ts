/**
 * Lazy loading of the optional peer dependency `pg`, only when the adapter has to create its own
 * pool (`connectionString`): a caller that passes a pool never loads it.
 *
 * @internal
 */

import { createRequire } from 'node:module';
import { StorageError } from '../errors.js';
import { loadOptionalPeer } from '../optional-peer.js';
import type { PostgresPoolLike } from './types.js';

/** The part of the `pg` module the adapter uses. */
export interface PgModule {
  /** `pg.Pool`. */
  readonly Pool: new (config: {
    connectionString: string;
    max: number;
    fallback_application_name: string;
  }) => PostgresPoolLike & {
    on(event: 'error', listener: (error: Error) => void): unknown;
  };
}

const INSTALL_HINT =
  'The PostgreSQL adapter needs the optional peer dependency "pg" (>= 8.11) to connect with a connectionString: run `npm install pg`, or pass your own pool as `pool`.';

/**
 * Loads `pg` through `require` (default: a `createRequire` of this module), mapping a missing
 * module to `STORAGE_DEPENDENCY_MISSING`.
 */
export function loadPg(load: (id: string) => unknown = createRequire(import.meta.url)): PgModule {
  const loaded = loadOptionalPeer(
    load,
    'pg',
    INSTALL_HINT,
    (message) =>
      `"pg" is installed but failed to load (${message}); reinstall it with \`npm install pg\`.`,
  );
  const module = loaded as { Pool?: unknown; default?: { Pool?: unknown } } | null;
  const Pool = module?.Pool ?? module?.default?.Pool;
  if (typeof Pool !== 'function') {
    throw new StorageError(
      'STORAGE_DEPENDENCY_MISSING',
      `The module "pg" has no Pool class; install pg >= 8.11 (\`npm install pg\`).`,
    );
  }
  return { Pool: Pool as PgModule['Pool'] };
}

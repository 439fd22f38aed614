/**
 * Pooled connections of the PostgreSQL adapter: checking one out, listening for its errors,
 * returning or destroying it, and describing what failed.
 *
 * @internal
 */

import type { PostgresClientLike, PostgresPoolLike } from './types.js';

/** The SQLSTATE of an error the server reported, or `undefined`. */
export function sqlState(error: unknown): string | undefined {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string'
    ? code
    : undefined;
}

/**
 * Whether `error` was reported by the server for one statement, leaving the session usable
 * (severity `ERROR`: the implicit transaction is rolled back). A `FATAL` error (the backend was
 * terminated), a broken socket or a timeout may leave the connection unusable.
 */
export function isStatementError(error: unknown): boolean {
  return sqlState(error) !== undefined && (error as { severity?: unknown }).severity === 'ERROR';
}

export function describeError(error: unknown): string {
  const message = (error as Error | null)?.message ?? String(error);
  const code = sqlState(error);
  return code === undefined ? message : `${message} (SQLSTATE ${code})`;
}

/** `pool.connect()` failed (with `cause`): no connection, nothing was sent. */
export class ConnectFailure extends Error {
  constructor(cause: unknown) {
    super(`cannot get a connection: ${describeError(cause)}`, { cause });
  }
}

/**
 * Checks a connection out of `pool` and runs `fn` with it, listening for the connection's
 * `'error'` events meanwhile (pg emits them on a checked-out client whose socket breaks). The
 * connection goes back to the pool after a success or a statement error, and is destroyed after
 * anything else. `fn`'s error is rethrown as it is.
 */
export async function withConnection<T>(
  pool: PostgresPoolLike,
  fn: (client: PostgresClientLike) => Promise<T>,
): Promise<T> {
  let client: PostgresClientLike;
  try {
    client = await pool.connect();
  } catch (error) {
    throw new ConnectFailure(error);
  }
  let broken = false;
  const onError = (): void => {
    broken = true;
  };
  client.on?.('error', onError);
  let result: T;
  try {
    result = await fn(client);
  } catch (error) {
    client.removeListener?.('error', onError);
    client.release(broken || !isStatementError(error) ? true : undefined);
    throw error;
  }
  client.removeListener?.('error', onError);
  client.release(broken ? true : undefined);
  return result;
}

/**
 * The integrity check of a SQLite file: `PRAGMA quick_check(N)` (every page and record format,
 * no index-vs-table cross-check; linear in the file size) or `PRAGMA integrity_check(N)` (also
 * checks that every index matches its table; slower).
 */

import type BetterSqlite3 from 'better-sqlite3';
import { isEdgeHaError, StorageError } from '../errors.js';
import { openDatabase } from './load.js';

/** Which check {@link checkSqliteIntegrity} and `openSqliteStorage` run. */
export type SqliteIntegrityCheck = 'quick' | 'full';

/** Options of {@link checkSqliteIntegrity}. */
export interface SqliteIntegrityOptions {
  /**
   * `'quick'` runs `PRAGMA quick_check`: the structure of every page and record, in time linear
   * in the file size. `'full'` runs `PRAGMA integrity_check`, which also verifies that every
   * index holds exactly the rows of its table (slower: it looks up every row in every index).
   * @default 'quick'
   */
  readonly check?: SqliteIntegrityCheck;
  /**
   * The most problems reported (the `N` of `quick_check(N)`): the check stops collecting once
   * it has found this many. From 1 to 10000.
   * @default 10
   */
  readonly maxProblems?: number;
  /**
   * How long to wait for a lock held by another connection, ms.
   * @default 5000
   */
  readonly busyTimeoutMs?: number;
}

/** The result of {@link checkSqliteIntegrity}. */
export interface SqliteIntegrityReport {
  /** The file checked. */
  readonly filename: string;
  /** The check that ran. */
  readonly check: SqliteIntegrityCheck;
  /** Whether SQLite found no problem. */
  readonly ok: boolean;
  /**
   * The problems SQLite reported, in its words (e.g. `Tree 4 page 7: btreeInitPage() returns
   * error code 11`), at most `maxProblems`; empty when `ok`.
   */
  readonly problems: readonly string[];
  /** How long the check took, ms. */
  readonly durationMs: number;
}

/** Default of {@link SqliteIntegrityOptions.maxProblems}. */
export const DEFAULT_MAX_PROBLEMS = 10;
const MAX_PROBLEMS_LIMIT = 10_000;

/** Whether `error` is SQLite's "database disk image is malformed" (any `SQLITE_CORRUPT*` code). */
export function isCorruptionError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_CORRUPT');
}

/** Validates `maxProblems` (an integer from 1 to 10000). */
export function checkMaxProblems(value: number | undefined): number {
  const max = value ?? DEFAULT_MAX_PROBLEMS;
  if (!Number.isInteger(max) || max < 1 || max > MAX_PROBLEMS_LIMIT) {
    throw new StorageError(
      'STORAGE_INVALID_OPTIONS',
      `maxProblems must be an integer from 1 to ${MAX_PROBLEMS_LIMIT}, got ${String(value)}.`,
    );
  }
  return max;
}

/** The problems in the rows of one run of the pragma (`[]` for `ok`). */
function problemsOf(rows: readonly unknown[]): string[] {
  // One problem per row, or (some SQLite versions) several in one row, one per line, under a
  // "*** in database main ***" heading.
  const problems = rows
    .flatMap((row) => String(Object.values(row as object)[0]).split('\n'))
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^\*\*\* in database \w+ \*\*\*$/.test(line));
  return problems.length === 1 && problems[0] === 'ok' ? [] : problems;
}

/**
 * Runs the check on an open connection and returns what SQLite reported: `[]` when the file is
 * sound. SQLite aborts the whole check (`SQLITE_CORRUPT`, "database disk image is malformed")
 * when it meets a page it cannot walk at all, losing what it had found; the check is then run
 * again with smaller limits, which stop before that page, so the first problems are still
 * named, followed by the reason the check stopped.
 *
 * @internal Used by the adapter at open; the public API is {@link checkSqliteIntegrity}.
 */
export function runIntegrityCheck(
  db: BetterSqlite3.Database,
  check: SqliteIntegrityCheck,
  maxProblems: number,
): string[] {
  const pragma = check === 'full' ? 'integrity_check' : 'quick_check';
  let stopped: string | undefined;
  for (const limit of [maxProblems, 10, 1].filter((n, i) => i === 0 || n < maxProblems)) {
    try {
      const problems = problemsOf(db.pragma(`${pragma}(${limit})`, { simple: false }) as unknown[]);
      if (stopped === undefined) return problems.slice(0, maxProblems);
      return [...problems.slice(0, maxProblems - 1), `the check stopped early: ${stopped}`];
    } catch (error) {
      if (!isCorruptionError(error)) throw error;
      stopped ??= (error as Error).message;
    }
  }
  return [stopped as string];
}

/** The `STORAGE_CORRUPT` error for `problems` found in `filename`. */
export function corruptionError(
  filename: string,
  check: SqliteIntegrityCheck,
  problems: readonly string[],
  maxProblems: number,
): StorageError {
  const shown = problems.slice(0, 3).join('; ');
  const more =
    problems.length > 3
      ? ` (and ${problems.length >= maxProblems ? 'at least ' : ''}${problems.length - 3} more)`
      : '';
  return new StorageError(
    'STORAGE_CORRUPT',
    `${filename} is damaged: PRAGMA ${check === 'full' ? 'integrity_check' : 'quick_check'} found ${shown}${more}. ` +
      'Stop every process using it, keep a copy, and restore it from a backup or move it aside and ' +
      're-sync the node from a peer (see "Integrity check" in docs/operations.md).',
  );
}

/**
 * Checks a SQLite file for damage without changing it: opens it read-only, runs
 * `PRAGMA quick_check` (or `integrity_check` with `check: 'full'`) and closes it. Safe while
 * other processes use the file (the check reads one consistent snapshot). `openSqliteStorage`
 * runs the quick check at every open (option `integrityCheck`); run this one, with
 * `check: 'full'`, when a node reports `STORAGE_CORRUPT` or after a crash of the machine.
 * On the command line: `edge-ha check --db <file> [--full]`.
 *
 * Synchronous, like the rest of the SQLite adapter: it takes about as long as reading the file.
 *
 * @returns The report; `ok: false` with SQLite's own words in `problems` when the file is damaged.
 * @throws {StorageError} `STORAGE_DEPENDENCY_MISSING` without `better-sqlite3`; `STORAGE_BACKEND`
 *   when the file does not exist, cannot be opened or is not a SQLite database at all.
 *
 * @example
 * ```ts
 * import { checkSqliteIntegrity } from 'edge-ha/sqlite';
 *
 * const report = checkSqliteIntegrity('/var/lib/edge-ha/a.sqlite', { check: 'full' });
 * if (!report.ok) console.error(`damaged: ${report.problems.join('\n')}`);
 * ```
 */
export function checkSqliteIntegrity(
  filename: string,
  options: SqliteIntegrityOptions = {},
): SqliteIntegrityReport {
  if (typeof filename !== 'string' || filename.length === 0 || filename === ':memory:') {
    throw new StorageError(
      'STORAGE_BACKEND',
      `checkSqliteIntegrity needs the path of a database file, got ${JSON.stringify(filename)}.`,
    );
  }
  const check = options.check ?? 'quick';
  if (check !== 'quick' && check !== 'full') {
    throw new StorageError(
      'STORAGE_BACKEND',
      `check must be 'quick' or 'full', got ${JSON.stringify(check)}.`,
    );
  }
  const maxProblems = checkMaxProblems(options.maxProblems);
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new StorageError(
      'STORAGE_BACKEND',
      `busyTimeoutMs must be a non-negative integer (ms), got ${String(busyTimeoutMs)}.`,
    );
  }
  const started = performance.now();
  const db = openDatabase(
    filename,
    { readonly: true, fileMustExist: true, timeout: busyTimeoutMs },
    'check',
  );
  try {
    const problems = runIntegrityCheck(db, check, maxProblems);
    return {
      filename,
      check,
      ok: problems.length === 0,
      problems,
      durationMs: performance.now() - started,
    };
  } catch (error) {
    if (isEdgeHaError(error)) throw error;
    throw new StorageError(
      'STORAGE_BACKEND',
      `SQLite cannot check ${filename}: ${(error as Error)?.message ?? String(error)}`,
      { cause: error },
    );
  } finally {
    db.close();
  }
}

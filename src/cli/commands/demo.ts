/** `edge-ha demo`: runs the end-to-end demo and exits 0 only if its verification passed. */

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEdgeHaError, StorageError } from '../../errors.js';
import { isMissingBinding, loadBetterSqlite3 } from '../../sqlite/load.js';
import { integerOption, stringOption } from '../args.js';
import type { CommandRun } from '../command.js';
import { runDemo } from '../demo/run.js';
import { CliError, EXIT } from '../errors.js';
import { println } from '../io.js';

/**
 * Checks before the first step that `better-sqlite3` (an optional peer dependency: the demo keeps
 * its operators in SQLite files) loads, so a project that installed edge-ha alone gets one clear
 * `STORAGE_DEPENDENCY_MISSING` up front instead of a failure in the middle of the demo.
 */
function requireSqlite(): void {
  const advice =
    'With npm 11, approve its native build too: `npm install-scripts approve better-sqlite3`, ' +
    'then `npm rebuild better-sqlite3`.';
  let Database: ReturnType<typeof loadBetterSqlite3>;
  try {
    Database = loadBetterSqlite3();
  } catch (error) {
    if (!isEdgeHaError(error, 'STORAGE_DEPENDENCY_MISSING')) throw error;
    throw new StorageError(
      'STORAGE_DEPENDENCY_MISSING',
      `The demo keeps its two operators in SQLite files. ${error.message} ${advice}`,
      { cause: error },
    );
  }
  try {
    new Database(':memory:').close();
  } catch (error) {
    if (!isMissingBinding(error)) throw error;
    throw new StorageError(
      'STORAGE_DEPENDENCY_MISSING',
      `The demo keeps its two operators in SQLite files, but the native binding of "better-sqlite3" is not built (npm 11 skips install scripts it was not told to run). ${advice}`,
      { cause: error },
    );
  }
}

/** `edge-ha demo`. */
export const runDemoCommand: CommandRun = async (args, io) => {
  const downtimeMs = integerOption(stringOption(args, 'downtime-ms'), 'downtime-ms', {
    min: 100,
    max: 600_000,
  });
  requireSqlite();
  const keep = args.values.keep === true;
  const directory = keep ? await mkdtemp(join(tmpdir(), 'edge-ha-demo-')) : undefined;
  println(io.stdout, 'edge-ha demo: two operators on loopback, one goes down and catches up.');
  const result = await runDemo({
    out: io.stdout,
    signal: io.signal,
    ...(directory === undefined ? {} : { directory }),
    ...(downtimeMs === undefined ? {} : { downtimeMs }),
  });
  if (directory !== undefined) println(io.stdout, `SQLite files kept in ${directory}`);
  if (io.signal?.aborted) throw new CliError('CLI_ABORTED', 'The demo was interrupted.');
  if (!result.ok) {
    throw new CliError('CLI_VERIFY_FAILED', 'The demo did not verify: see the problems above.');
  }
  return EXIT.ok;
};

/** `edge-ha demo`: runs the end-to-end demo and exits 0 only if its verification passed. */

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isEdgeHaError, StorageError } from '../../errors.js';
import { openSqliteStorage } from '../../sqlite/adapter.js';
import { integerOption, stringOption } from '../args.js';
import type { CommandRun } from '../command.js';
import { runDemo } from '../demo/run.js';
import { CliError, EXIT } from '../errors.js';
import { println } from '../io.js';

/**
 * Checks before the first step that the SQLite adapter opens (`better-sqlite3` is an optional peer
 * dependency: the demo keeps its operators in SQLite files), so a project that installed edge-ha
 * alone gets the adapter's `STORAGE_DEPENDENCY_MISSING` up front, not in the middle of the demo.
 */
async function requireSqlite(): Promise<void> {
  try {
    await openSqliteStorage(':memory:').close();
  } catch (error) {
    if (!isEdgeHaError(error, 'STORAGE_DEPENDENCY_MISSING')) throw error;
    throw new StorageError(
      'STORAGE_DEPENDENCY_MISSING',
      `The demo keeps its two operators in SQLite files. ${error.message}`,
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
  await requireSqlite();
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

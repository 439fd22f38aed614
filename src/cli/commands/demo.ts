/** `edge-ha demo`: runs the end-to-end demo and exits 0 only if its verification passed. */

import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { integerOption, stringOption } from '../args.js';
import type { CommandRun } from '../command.js';
import { runDemo } from '../demo/run.js';
import { CliError, EXIT } from '../errors.js';
import { println } from '../io.js';

/** `edge-ha demo`. */
export const runDemoCommand: CommandRun = async (args, io) => {
  const downtimeMs = integerOption(stringOption(args, 'downtime-ms'), 'downtime-ms', {
    min: 100,
    max: 600_000,
  });
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

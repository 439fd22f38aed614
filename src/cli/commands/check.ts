/** `edge-ha check --db <file> [--full]`: the integrity check of a node's SQLite file. */

import { existsSync } from 'node:fs';
import { checkSqliteIntegrity } from '../../sqlite/integrity.js';
import { formatOption, requiredOption, resolvePath } from '../args.js';
import type { CommandRun } from '../command.js';
import { CliError, EXIT } from '../errors.js';
import { println } from '../io.js';
import { CHECK } from '../specs.js';

/** `edge-ha check`: exit 0 when the file is sound, 1 when it is damaged or cannot be read. */
export const runCheck: CommandRun = async (args, io) => {
  const db = requiredOption(args, CHECK, 'db');
  const format = formatOption(args);
  const check = args.values.full === true ? 'full' : 'quick';
  const file = resolvePath(io, db);
  // Opening a missing file read-only fails too, but this says which file in the CLI's words.
  if (!existsSync(file)) throw new CliError('CLI_FILE', `Cannot read "${db}": no such file.`);
  const report = checkSqliteIntegrity(file, { check, maxProblems: 100 });
  if (format === 'json') {
    println(io.stdout, JSON.stringify({ ...report, filename: db }, null, 2));
  } else {
    const pragma = check === 'full' ? 'integrity_check' : 'quick_check';
    const took = `${Math.round(report.durationMs)} ms`;
    if (report.ok) {
      println(io.stdout, `${db}: ok (PRAGMA ${pragma}, ${took})`);
    } else {
      println(
        io.stdout,
        `${db}: DAMAGED (PRAGMA ${pragma} found ${report.problems.length}${report.problems.length >= 100 ? '+' : ''} problem(s), ${took})`,
      );
      for (const problem of report.problems) println(io.stdout, `  ${problem}`);
    }
  }
  return report.ok ? EXIT.ok : EXIT.failure;
};

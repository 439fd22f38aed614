/**
 * `edge-ha nodes <file>` and `edge-ha status <file>`: the topology reports of a policy file.
 * Like AnyLog's `get data nodes`, they load a ledger leniently: invalid policies (and what
 * depends on them) are skipped and every issue is printed on stderr with its code.
 */

import { formatTable, type TableColumn } from '../../topology/format.js';
import { DATA_NODES_COLUMNS, HA_STATUS_COLUMNS } from '../../topology/reports.js';
import { Topology } from '../../topology/topology.js';
import { formatOption, stringOption, stringsOption } from '../args.js';
import type { CommandRun } from '../command.js';
import { EXIT, usageError } from '../errors.js';
import { type CliIo, println } from '../io.js';
import { loadPolicies } from '../policies.js';
import { formatIssue } from './policy.js';

/** Loads `file` leniently and prints the load's issues (skipped policies, warnings) on stderr. */
async function loadTopology(io: CliIo, file: string): Promise<Topology> {
  const policies = await loadPolicies(io, file);
  const topology = Topology.fromPolicies(policies, { invalid: 'skip' });
  for (const issue of topology.issues) println(io.stderr, `edge-ha: ${formatIssue(issue)}`);
  const skipped = topology.skipped.length;
  if (skipped > 0) {
    println(
      io.stderr,
      `edge-ha: ${file}: skipped ${skipped} of ${policies.length} ${policies.length === 1 ? 'policy' : 'policies'} (invalid, or depending on an invalid one); the report covers the rest. Run "edge-ha policy validate ${file}" for the details.`,
    );
  }
  return topology;
}

function markDown(topology: Topology, addresses: readonly string[]): void {
  for (const address of addresses) {
    if (!/^.+:\d+$/.test(address)) throw usageError(`--down expects ip:port, got "${address}".`);
    topology.reportFailure(address);
  }
}

function printRows<Row extends object>(
  io: CliIo,
  rows: readonly Row[],
  columns: readonly TableColumn<Row>[],
  format: 'table' | 'json',
  empty: string,
): void {
  if (format === 'json') println(io.stdout, JSON.stringify(rows, null, 2));
  else if (rows.length === 0) println(io.stdout, empty);
  else println(io.stdout, formatTable(rows, columns));
}

/** `edge-ha nodes`. */
export const runNodes: CommandRun = async (args, io) => {
  const format = formatOption(args);
  const topology = await loadTopology(io, args.positionals[0] as string);
  markDown(topology, stringsOption(args, 'down'));
  const filter: { dbms?: string; table?: string; company?: string } = {};
  const dbms = stringOption(args, 'dbms');
  const table = stringOption(args, 'table');
  const company = stringOption(args, 'company');
  if (dbms !== undefined) filter.dbms = dbms;
  if (table !== undefined) filter.table = table;
  if (company !== undefined) filter.company = company;
  printRows(io, topology.dataNodes(filter), DATA_NODES_COLUMNS, format, 'No data nodes match.');
  return EXIT.ok;
};

/** `edge-ha status`. */
export const runStatus: CommandRun = async (args, io) => {
  const format = formatOption(args);
  const topology = await loadTopology(io, args.positionals[0] as string);
  markDown(topology, stringsOption(args, 'down'));
  printRows(io, topology.haStatus(), HA_STATUS_COLUMNS, format, 'No clusters.');
  return EXIT.ok;
};

/** `edge-ha nodes <file>` and `edge-ha status <file>`: the topology reports of a policy file. */

import { formatTable, type TableColumn } from '../../topology/format.js';
import { DATA_NODES_COLUMNS, HA_STATUS_COLUMNS } from '../../topology/reports.js';
import { Topology } from '../../topology/topology.js';
import { formatOption, stringOption, stringsOption } from '../args.js';
import type { CommandRun } from '../command.js';
import { EXIT, usageError } from '../errors.js';
import { type CliIo, println } from '../io.js';
import { loadPolicies } from '../policies.js';

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
  const policies = await loadPolicies(io, args.positionals[0] as string);
  const topology = Topology.fromPolicies(policies);
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
  const policies = await loadPolicies(io, args.positionals[0] as string);
  const topology = Topology.fromPolicies(policies);
  markDown(topology, stringsOption(args, 'down'));
  printRows(io, topology.haStatus(), HA_STATUS_COLUMNS, format, 'No clusters.');
  return EXIT.ok;
};

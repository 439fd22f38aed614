/** The shape of an `edge-ha` command. */

import type { CommandSpec, ParsedArgs } from './args.js';
import type { CliIo } from './io.js';

/** Implementation of a command: resolves with the exit code, or throws an edge-ha error. */
export type CommandRun = (args: ParsedArgs, io: CliIo) => Promise<number>;

/**
 * A command: its declaration, and a loader of its implementation. Loading lazily keeps
 * `edge-ha --help` and the policy commands fast and free of the SQLite binding.
 */
export interface Command {
  /** Declaration: name, options, help. */
  readonly spec: CommandSpec;
  /** Loads the implementation. */
  load(): Promise<CommandRun>;
}

/**
 * The `edge-ha` command line as a function: `runCli(argv, io)` parses, dispatches, prints errors
 * as `edge-ha: <CODE>: <message>` on stderr and resolves with the exit code (0 ok, 1 failure,
 * 2 usage). The bin (`main.ts`) only wires it to the process.
 */

import { createRequire } from 'node:module';
import { formatHelp, parseCommand, wrap } from './args.js';
import type { Command } from './command.js';
import { EXIT, exitCodeOf, formatError, usageError } from './errors.js';
import { type CliIo, println } from './io.js';
import { CHECK, DEMO, NODES, POLICY_ID, POLICY_VALIDATE, SERVE, STATUS, SYNC } from './specs.js';
import { didYouMean } from './suggest.js';

/** Every command, by its full name. */
export const COMMANDS: readonly Command[] = [
  {
    spec: POLICY_VALIDATE,
    load: async () => (await import('./commands/policy.js')).runPolicyValidate,
  },
  { spec: POLICY_ID, load: async () => (await import('./commands/policy.js')).runPolicyId },
  { spec: NODES, load: async () => (await import('./commands/topology.js')).runNodes },
  { spec: STATUS, load: async () => (await import('./commands/topology.js')).runStatus },
  { spec: SERVE, load: async () => (await import('./commands/serve.js')).runServe },
  { spec: SYNC, load: async () => (await import('./commands/sync.js')).runSync },
  { spec: CHECK, load: async () => (await import('./commands/check.js')).runCheck },
  { spec: DEMO, load: async () => (await import('./commands/demo.js')).runDemoCommand },
];

function version(): string {
  try {
    const pkg = createRequire(import.meta.url)('../../package.json') as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The top-level help text. */
export function mainHelp(): string {
  const width = Math.max(
    ...COMMANDS.map((command) => command.spec.name.length + (command.spec.args?.length ?? 0)),
  );
  const lines = [
    'Usage: edge-ha <command> [options]',
    '',
    'High availability for edge time-series and event data.',
    '',
    'Commands:',
    ...COMMANDS.map((command) => {
      const left = `${command.spec.name}${command.spec.args ? ` ${command.spec.args}` : ''}`;
      return listing(left, width + 1, command.spec.summary);
    }),
    '',
    'Run `edge-ha <command> --help` for the options of a command.',
    'Exit codes: 0 ok, 1 failure (invalid policies, failed sync or verification), 2 usage error.',
  ];
  return `${lines.join('\n')}\n`;
}

/** The first sentence of a summary (up to the first `. ` — never cut at a colon). */
export function firstSentence(summary: string): string {
  return summary.split(/(?<=\.)\s/)[0] ?? summary;
}

/**
 * One command in a listing: its name padded to `width`, then the first sentence of its summary
 * wrapped at 100 columns, continuation lines indented under the summary.
 */
function listing(left: string, width: number, summary: string): string {
  const indent = 2 + width + 2;
  const text = wrap(firstSentence(summary), Math.max(40, 100 - indent));
  return `  ${left.padEnd(width)}  ${text.split('\n').join(`\n${' '.repeat(indent)}`)}`;
}

/** The words a user may type first: the commands, their groups and the global flags. */
function firstWords(): Set<string> {
  return new Set([
    ...COMMANDS.map((command) => command.spec.name.split(' ')[0] ?? ''),
    'help',
    '--help',
    '--version',
  ]);
}

function findCommand(
  argv: readonly string[],
): { command: Command; rest: readonly string[] } | undefined {
  for (const command of COMMANDS) {
    const words = command.spec.name.split(' ');
    if (words.every((word, index) => argv[index] === word)) {
      return { command, rest: argv.slice(words.length) };
    }
  }
  return undefined;
}

/**
 * Runs the `edge-ha` command line in-process.
 *
 * @param argv - The arguments after the program name (`process.argv.slice(2)`).
 * @param io - Output streams, environment and shutdown signal.
 * @returns The exit code: 0 ok, 1 failure, 2 usage error.
 *
 * @example
 * ```ts
 * const code = await runCli(['policy', 'validate', 'policies.json'], {
 *   stdout: process.stdout,
 *   stderr: process.stderr,
 *   env: process.env,
 * });
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const first = argv[0];
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      io.stdout.write(mainHelp());
      return first === undefined ? EXIT.usage : EXIT.ok;
    }
    if (first === '--version' || first === '-v') {
      println(io.stdout, version());
      return EXIT.ok;
    }
    const found = findCommand(argv);
    if (!found) {
      const group = COMMANDS.filter((command) => command.spec.name.startsWith(`${first} `));
      if (group.length > 0 && (argv[1] === undefined || argv[1] === '--help' || argv[1] === '-h')) {
        const lefts = group.map(
          (command) =>
            `edge-ha ${command.spec.name}${command.spec.args ? ` ${command.spec.args}` : ''}`,
        );
        const width = Math.max(...lefts.map((left) => left.length));
        io.stdout.write(
          `Usage: edge-ha ${first} <${group.map((command) => command.spec.name.split(' ')[1]).join('|')}> ...\n\n${group
            .map((command, i) => listing(lefts[i] ?? '', width, command.spec.summary))
            .join('\n')}\n`,
        );
        return argv[1] === undefined ? EXIT.usage : EXIT.ok;
      }
      const typed = argv.slice(0, group.length > 0 ? 2 : 1).join(' ');
      const hint =
        group.length > 0
          ? didYouMean(
              argv[1] ?? '',
              group.map((command) => command.spec.name.split(' ')[1] ?? ''),
              (word) => `"${first} ${word}"`,
            )
          : didYouMean(first, firstWords());
      throw usageError(`Unknown command "${typed}".${hint} Run \`edge-ha --help\`.`);
    }
    const args = parseCommand(found.command.spec, found.rest);
    if (args.help) {
      io.stdout.write(formatHelp(found.command.spec));
      return EXIT.ok;
    }
    const run = await found.command.load();
    return await run(args, io);
  } catch (error) {
    println(io.stderr, formatError(error));
    const issues = (error as { issues?: unknown }).issues;
    if (Array.isArray(issues)) {
      for (const issue of issues.slice(0, 20) as { code?: unknown; message?: unknown }[]) {
        println(io.stderr, `  ${String(issue.code)}: ${String(issue.message)}`);
      }
      if (issues.length > 20) println(io.stderr, `  … and ${issues.length - 20} more`);
    }
    if (io.env.EDGE_HA_DEBUG && error instanceof Error && error.stack)
      println(io.stderr, error.stack);
    return exitCodeOf(error);
  }
}

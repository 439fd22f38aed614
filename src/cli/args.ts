/**
 * Argument parsing for the `edge-ha` commands, on `node:util` `parseArgs` (strict: unknown options
 * are usage errors), plus the generated `--help` text.
 */

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CliError, usageError } from './errors.js';
import type { CliIo } from './io.js';
import { didYouMean } from './suggest.js';

/** One option of a command. */
export interface OptionSpec {
  /** `string` takes a value, `boolean` is a flag. */
  readonly type: 'string' | 'boolean';
  /** One-letter alias. */
  readonly short?: string;
  /** Whether the option may be repeated (values collected in order). */
  readonly multiple?: boolean;
  /** Placeholder shown in help, e.g. `<file>`. */
  readonly placeholder?: string;
  /** One-line description for `--help`. */
  readonly description: string;
}

/** A command's declaration: what it accepts and how it is described. */
export interface CommandSpec {
  /** Full command name, e.g. `policy validate`. */
  readonly name: string;
  /** One-line summary. */
  readonly summary: string;
  /** Positional arguments in the usage line, e.g. `<file>`. */
  readonly args?: string;
  /** Minimum and maximum number of positional arguments. */
  readonly positionals: readonly [min: number, max: number];
  /** The options (without `--help`, which every command has). */
  readonly options: Readonly<Record<string, OptionSpec>>;
  /** Extra paragraphs for `--help`. */
  readonly details?: readonly string[];
  /** Example invocations for `--help`. */
  readonly examples?: readonly string[];
}

/** The parsed command line of one command. */
export interface ParsedArgs {
  /** Option values by name. */
  readonly values: Readonly<Record<string, string | boolean | string[] | undefined>>;
  /** Positional arguments. */
  readonly positionals: readonly string[];
  /** Whether `--help` / `-h` was given. */
  readonly help: boolean;
}

/** Parses `argv` (the arguments after the command name) against `spec`. */
export function parseCommand(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const options: Record<
    string,
    { type: 'string' | 'boolean'; short?: string; multiple?: boolean }
  > = { help: { type: 'boolean', short: 'h' } };
  for (const [name, option] of Object.entries(spec.options)) {
    options[name] = {
      type: option.type,
      ...(option.short === undefined ? {} : { short: option.short }),
      ...(option.multiple === undefined ? {} : { multiple: option.multiple }),
    };
  }
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options, strict: true, allowPositionals: true });
  } catch (error) {
    throw usageError(`${describeParseError(spec, error)} Run \`edge-ha ${spec.name} --help\`.`);
  }
  const help = parsed.values.help === true;
  const [min, max] = spec.positionals;
  if (!help && (parsed.positionals.length < min || parsed.positionals.length > max)) {
    const expected = spec.args ? `expected ${spec.args}` : 'expected no arguments';
    throw usageError(
      `\`edge-ha ${spec.name}\` got ${parsed.positionals.length} argument(s), ${expected}. ` +
        `Run \`edge-ha ${spec.name} --help\`.`,
    );
  }
  return {
    values: parsed.values as ParsedArgs['values'],
    positionals: parsed.positionals,
    help,
  };
}

/**
 * A sentence for an error of `parseArgs`, in the command's own terms: the option as the user
 * typed it, what was wrong, and the closest known option for a typo. `parseArgs`'s own messages
 * (quoting, advice about `--`) are used only for an error this does not know.
 */
function describeParseError(spec: CommandSpec, error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  // parseArgs names the option in single quotes: '--fromat', '-x' or '--format <value>'.
  const option = /'(?:-\w, )?(-{1,2}[^'\s,]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) {
    const name = option.replace(/^-+/, '').split('=')[0] ?? '';
    const known = ['help', ...Object.keys(spec.options)];
    const hint = didYouMean(name, known, (word) => `--${word}`);
    return `\`edge-ha ${spec.name}\` has no option ${option.split('=')[0]}.${hint}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) {
    const name = option.replace(/^-+/, '');
    const options: [string, Pick<OptionSpec, 'type' | 'short' | 'placeholder'>][] = [
      ['help', { type: 'boolean', short: 'h' }],
      ...Object.entries(spec.options),
    ];
    const long = options.find(([key, value]) => key === name || value.short === name);
    if (long !== undefined && long[1].type === 'string') {
      return `--${long[0]} needs a value: --${long[0]} ${long[1].placeholder ?? '<value>'}.`;
    }
    if (long !== undefined) return `--${long[0]} is a flag and takes no value.`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    return `\`edge-ha ${spec.name}\` takes no arguments.`;
  }
  return `${message.replace(/\.$/, '')}.`;
}

/** Wraps text at `width` columns on word boundaries. */
export function wrap(text: string, width = 100): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines.join('\n');
}

/** The `--help` text of a command. */
export function formatHelp(spec: CommandSpec): string {
  const lines = [
    `Usage: edge-ha ${spec.name}${spec.args ? ` ${spec.args}` : ''}${
      Object.keys(spec.options).length > 0 ? ' [options]' : ''
    }`,
    '',
    wrap(spec.summary),
  ];
  for (const paragraph of spec.details ?? []) lines.push('', wrap(paragraph));
  const rows: [string, string][] = Object.entries(spec.options).map(([name, option]) => [
    `${option.short ? `-${option.short}, ` : ''}--${name}${
      option.type === 'string' ? ` ${option.placeholder ?? '<value>'}` : ''
    }`,
    `${option.description}${option.multiple ? ' (repeatable)' : ''}`,
  ]);
  rows.push(['-h, --help', 'Show this help']);
  const width = Math.max(...rows.map(([left]) => left.length));
  lines.push('', 'Options:');
  for (const [left, right] of rows) lines.push(`  ${left.padEnd(width)}  ${right}`);
  if (spec.examples && spec.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const example of spec.examples) lines.push(`  ${example}`);
  }
  return `${lines.join('\n')}\n`;
}

/** A string option's value, or `undefined`. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** A repeatable string option's values (empty when absent). */
export function stringsOption(args: ParsedArgs, name: string): string[] {
  const value = args.values[name];
  if (Array.isArray(value)) return value;
  return typeof value === 'string' ? [value] : [];
}

/** A required string option's value. */
export function requiredOption(args: ParsedArgs, spec: CommandSpec, name: string): string {
  const value = stringOption(args, name);
  if (value === undefined || value === '') {
    throw usageError(
      `\`edge-ha ${spec.name}\` needs --${name}. Run \`edge-ha ${spec.name} --help\`.`,
    );
  }
  return value;
}

/** Parses an integer option within `[min, max]`. */
export function integerOption(
  value: string | undefined,
  name: string,
  range: { min: number; max: number },
): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (
    !/^\d+$/.test(value) ||
    !Number.isSafeInteger(number) ||
    number < range.min ||
    number > range.max
  ) {
    throw usageError(
      `--${name} must be an integer from ${range.min} to ${range.max}, got "${value}".`,
    );
  }
  return number;
}

/** The output format option shared by the report commands. */
export type OutputFormat = 'table' | 'json';

/** Reads `--format` (`table` by default). */
export function formatOption(args: ParsedArgs): OutputFormat {
  const value = stringOption(args, 'format') ?? 'table';
  if (value !== 'table' && value !== 'json') {
    throw usageError(`--format must be "table" or "json", got "${value}".`);
  }
  return value;
}

/** Resolves a file name against the command's working directory. */
export function resolvePath(io: CliIo, file: string): string {
  return resolve(io.cwd ?? process.cwd(), file);
}

/** Reads a text file named on the command line; a failure is a `CLI_FILE` error. */
export async function readTextFile(io: CliIo, file: string): Promise<string> {
  try {
    return await readFile(resolvePath(io, file), 'utf8');
  } catch (error) {
    const reason = (error as { code?: unknown }).code === 'ENOENT' ? 'no such file' : String(error);
    throw new CliError('CLI_FILE', `Cannot read "${file}": ${reason}.`, { cause: error });
  }
}

/** Where one secret can come from: an option, a file option and an environment variable. */
interface SecretSource {
  /** The option with the secret itself, e.g. `token`. */
  readonly option: string;
  /** The option naming a file whose first line is the secret, e.g. `token-file`. */
  readonly fileOption: string;
  /** The environment variable, e.g. `EDGE_HA_TOKEN`. */
  readonly env: string;
}

/**
 * A secret: `--<option>`, else the first line of `--<fileOption>`, else the environment variable;
 * `undefined` when none is given. An empty file is a `CLI_NO_TOKEN` error (a misconfiguration,
 * not "no secret").
 */
async function secretOption(
  io: CliIo,
  args: ParsedArgs,
  source: SecretSource,
): Promise<string | undefined> {
  const direct = stringOption(args, source.option);
  if (direct !== undefined && direct !== '') return direct;
  const file = stringOption(args, source.fileOption);
  if (file !== undefined) {
    const token = (await readTextFile(io, file)).split(/\r?\n/, 1)[0]?.trim() ?? '';
    if (token === '') throw new CliError('CLI_NO_TOKEN', `The token file "${file}" is empty.`);
    return token;
  }
  const env = io.env[source.env];
  return env !== undefined && env !== '' ? env : undefined;
}

/**
 * The bearer token: `--token`, else the first line of `--token-file`, else `EDGE_HA_TOKEN`.
 * Prefer the environment variable or a file: a token in `argv` is visible to other users of the
 * machine in the process list.
 */
export async function tokenOption(io: CliIo, args: ParsedArgs): Promise<string> {
  const token = await secretOption(io, args, {
    option: 'token',
    fileOption: 'token-file',
    env: 'EDGE_HA_TOKEN',
  });
  if (token !== undefined) return token;
  throw new CliError(
    'CLI_NO_TOKEN',
    'No token given: set EDGE_HA_TOKEN (preferred), or pass --token-file <file> or --token <t>.',
  );
}

/**
 * The write token of `serve`: `--write-token`, else the first line of `--write-token-file`, else
 * `EDGE_HA_WRITE_TOKEN`; `undefined` when none is given (the node then refuses writes). Same
 * rules as {@link tokenOption}, and it must differ from the read token `token`.
 */
export async function writeTokenOption(
  io: CliIo,
  args: ParsedArgs,
  token: string,
): Promise<string | undefined> {
  const writeToken = await secretOption(io, args, {
    option: 'write-token',
    fileOption: 'write-token-file',
    env: 'EDGE_HA_WRITE_TOKEN',
  });
  if (writeToken === token) {
    throw usageError(
      'The write token must differ from the read token: reading and writing are separate ' +
        'permissions (a peer that back-fills from this node must not be able to write into it).',
    );
  }
  return writeToken;
}

/** The token options shared by `serve` and `sync`. */
export const TOKEN_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  token: {
    type: 'string',
    placeholder: '<token>',
    description: 'Shared secret of the peers (prefer EDGE_HA_TOKEN or --token-file)',
  },
  'token-file': {
    type: 'string',
    placeholder: '<file>',
    description: 'Read the token from the first line of this file',
  },
};

/** The write token options of `serve`. */
export const WRITE_TOKEN_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'write-token': {
    type: 'string',
    placeholder: '<token>',
    description:
      'Secret that grants writes (/write/points, /write/events); without one writes are refused ' +
      '(prefer EDGE_HA_WRITE_TOKEN or --write-token-file)',
  },
  'write-token-file': {
    type: 'string',
    placeholder: '<file>',
    description: 'Read the write token from the first line of this file',
  },
};

/** The governor tuning options shared by `serve` and `sync`, as `HAGovernor` options. */
export interface GovernorTuning {
  /** `--heartbeat-ms`. */
  heartbeatIntervalMs?: number;
  /** `--overlap-ms`. */
  overlapMs?: number;
  /** `--max-clock-skew-ms`. */
  maxClockSkewMs?: number;
  /** `--max-recovery-ms`. */
  maxRecoveryMs?: number;
  /** `--lookback-ms`. */
  firstStartLookbackMs?: number;
  /** `--retries`. */
  retry?: { retries: number };
}

/**
 * Reads `--heartbeat-ms`, `--overlap-ms`, `--max-clock-skew-ms`, `--max-recovery-ms`,
 * `--lookback-ms` and `--retries` (when given).
 */
export function governorTuning(args: ParsedArgs): GovernorTuning {
  const tuning: GovernorTuning = {};
  const day = 86_400_000;
  const read = (name: string, min: number, max: number): number | undefined =>
    integerOption(stringOption(args, name), name, { min, max });
  const heartbeat = read('heartbeat-ms', 10, day);
  const overlap = read('overlap-ms', 0, day);
  const maxSkew = read('max-clock-skew-ms', 1, Number.MAX_SAFE_INTEGER);
  const maxRecovery = read('max-recovery-ms', 1, Number.MAX_SAFE_INTEGER);
  const lookback = read('lookback-ms', 0, Number.MAX_SAFE_INTEGER);
  const retries = read('retries', 0, 100);
  if (heartbeat !== undefined) tuning.heartbeatIntervalMs = heartbeat;
  if (overlap !== undefined) tuning.overlapMs = overlap;
  if (maxSkew !== undefined) tuning.maxClockSkewMs = maxSkew;
  if (maxRecovery !== undefined) tuning.maxRecoveryMs = maxRecovery;
  if (lookback !== undefined) tuning.firstStartLookbackMs = lookback;
  if (retries !== undefined) tuning.retry = { retries };
  return tuning;
}

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryStream } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/run.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  signal?: AbortSignal;
  stdout?: MemoryStream;
  stderr?: MemoryStream;
}

/** Runs the CLI in-process and captures its output. */
export async function cli(argv: readonly string[], options: CliOptions = {}): Promise<CliRun> {
  const stdout = options.stdout ?? new MemoryStream();
  const stderr = options.stderr ?? new MemoryStream();
  const code = await runCli(argv, {
    stdout,
    stderr,
    env: options.env ?? {},
    cwd: options.cwd,
    signal: options.signal,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Runs the real `edge-ha` bin (`src/cli/main.ts`, through tsx, so it is never a stale build) in
 * a child process, the way a user does: argv, environment, stdio and the process exit code.
 * Killed after `timeoutMs`.
 */
export function spawnCli(
  argv: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliRun> {
  return startCli(argv, options).exited;
}

/** A running `edge-ha` child process (see {@link spawnCli}). */
export interface CliProcess {
  /** Output so far. */
  readonly stdout: () => string;
  /** Resolves with the first match of `pattern` in stdout; rejects if the process ends first. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Sends SIGINT (Ctrl-C) and resolves when the process has exited. */
  interrupt(): Promise<CliRun>;
  /** Sends `signal` (e.g. `SIGKILL`: a crash); `exited` then rejects, as for any signal death. */
  kill(signal: NodeJS.Signals): void;
  /** Settles when the process exits (rejects when it was killed by a signal or the timeout). */
  readonly exited: Promise<CliRun>;
}

/** Starts the real `edge-ha` bin in a child process; killed after `timeoutMs`. */
export function startCli(
  argv: readonly string[],
  options: {
    env?: Record<string, string>;
    timeoutMs?: number;
    /** Extra Node options before the script, e.g. `['--import', preload]`. */
    nodeArgs?: readonly string[];
  } = {},
): CliProcess {
  const node = [...(options.nodeArgs ?? []), '--import', 'tsx', 'src/cli/main.ts', ...argv];
  const child = spawn(process.execPath, node, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    for (const wake of waiters) wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  const exited = new Promise<CliRun>((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const wake of waiters) wake();
      if (code === null) {
        reject(new Error(`edge-ha ${argv.join(' ')} was killed (${signal}):\n${stdout}${stderr}`));
      } else {
        resolve({ code, stdout, stderr });
      }
    });
  });
  exited.catch(() => undefined);
  const ended = (): boolean => child.exitCode !== null || child.signalCode !== null;
  return {
    stdout: () => stdout,
    exited,
    waitFor(pattern) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = stdout.match(pattern);
          if (match) {
            waiters.delete(check);
            resolve(match);
          } else if (ended()) {
            waiters.delete(check);
            reject(new Error(`edge-ha ended before printing ${pattern}:\n${stdout}${stderr}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
    interrupt() {
      child.kill('SIGINT');
      return exited;
    },
    kill(signal) {
      child.kill(signal);
    },
  };
}

/** A fresh temp directory with helpers to write files into it; `cleanup()` removes it. */
export async function tempDir(): Promise<{
  dir: string;
  write(name: string, content: unknown): Promise<string>;
  cleanup(): Promise<void>;
}> {
  const dir = await mkdtemp(join(tmpdir(), 'edge-ha-cli-'));
  return {
    dir,
    async write(name, content) {
      const file = join(dir, name);
      await writeFile(
        file,
        typeof content === 'string' ? content : JSON.stringify(content, null, 2),
      );
      return file;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

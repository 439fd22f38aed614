import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

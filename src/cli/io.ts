/**
 * What a command talks to: output streams, environment, working directory and a shutdown signal.
 * Injectable so tests run commands in-process.
 */

/** A text output stream (a subset of `process.stdout`). */
export interface CliStream {
  /** Writes text. */
  write(chunk: string): unknown;
  /** Whether the stream is a terminal (enables the live progress bar). */
  readonly isTTY?: boolean | undefined;
  /** Terminal width in characters, when known. */
  readonly columns?: number | undefined;
}

/** The environment a command runs in. */
export interface CliIo {
  /** Normal output. */
  readonly stdout: CliStream;
  /** Errors, warnings and progress. */
  readonly stderr: CliStream;
  /** Environment variables (`EDGE_HA_TOKEN`, `NO_COLOR`, …). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Directory relative file names are resolved against. @default process.cwd() */
  readonly cwd?: string | undefined;
  /**
   * Aborted when the process is asked to stop (SIGINT/SIGTERM); long-running commands (`serve`,
   * `sync`, `demo`) shut down cleanly when it fires.
   */
  readonly signal?: AbortSignal | undefined;
}

/** Writes one line to a stream. */
export function println(stream: CliStream, line = ''): void {
  stream.write(`${line}\n`);
}

/** A stream that keeps what is written, for tests and for capturing output. */
export class MemoryStream implements CliStream {
  /** Everything written so far. */
  text = '';
  /** Whether to pretend to be a terminal. */
  readonly isTTY: boolean;
  /** Pretended terminal width. */
  readonly columns: number;
  readonly #waiters: { pattern: RegExp; resolve: (match: RegExpMatchArray) => void }[] = [];

  constructor(options: { isTTY?: boolean; columns?: number } = {}) {
    this.isTTY = options.isTTY ?? false;
    this.columns = options.columns ?? 100;
  }

  /** Appends `chunk`. */
  write(chunk: string): true {
    this.text += chunk;
    for (const waiter of [...this.#waiters]) {
      const match = this.text.match(waiter.pattern);
      if (match) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
    return true;
  }

  /** Resolves with the first match of `pattern` in what is (or will be) written. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    const match = this.text.match(pattern);
    if (match) return Promise.resolve(match);
    return new Promise((resolve) => this.#waiters.push({ pattern, resolve }));
  }
}

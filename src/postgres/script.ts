/**
 * A write script on one round trip: a simple-protocol query of several `;`-separated statements
 * (PostgreSQL runs them as one implicit transaction: all or nothing), of which at most one is a
 * `COPY … FROM STDIN` whose rows are streamed from here. Built on pg's documented Submittable
 * interface (`client.query(submittable)`: pg calls `submit(connection)`, then one `handle…`
 * method per backend message), without pg-copy-streams.
 *
 * @internal
 */

/** The parts of pg's `Connection` a script uses (checked when the script is submitted). */
interface WireConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
  sendCopyFail(message: string): void;
  readonly stream?: WireStream | undefined;
}

/** The socket under the connection (for back-pressure). */
interface WireStream {
  readonly writableNeedDrain?: boolean;
  once(event: 'drain' | 'close', listener: () => void): unknown;
  removeListener(event: 'drain' | 'close', listener: () => void): unknown;
}

function isWireConnection(value: unknown): value is WireConnection {
  const c = value as Partial<Record<keyof WireConnection, unknown>> | null;
  return (
    typeof c === 'object' &&
    c !== null &&
    typeof c.query === 'function' &&
    typeof c.sendCopyFromChunk === 'function' &&
    typeof c.endCopyFrom === 'function' &&
    typeof c.sendCopyFail === 'function'
  );
}

/** Resolves when `stream` can take more data (or closed). */
function drained(stream: WireStream): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      stream.removeListener('drain', done);
      stream.removeListener('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}

/** The command tags of a script's statements, in order (e.g. `INSERT 0 12`, `COPY 40`). */
export type CommandTags = readonly string[];

/** The number at the end of a command tag (`INSERT 0 12` → 12), or 0. */
export function tagCount(tag: string | undefined): number {
  if (tag === undefined) return 0;
  const n = Number(tag.slice(tag.lastIndexOf(' ') + 1));
  return Number.isSafeInteger(n) ? n : 0;
}

/**
 * One script, submitted with `client.query(script)` and awaited through {@link Script.done}.
 * Rows for its `COPY … FROM STDIN` statement come from `copyChunks`: each string is one or more
 * complete lines of COPY text format. A script without COPY must pass no chunks.
 */
export class Script {
  /** Settles when the backend is ready for the next query: the command tags, or the error. */
  readonly done: Promise<CommandTags>;
  /**
   * Set by pg when the client has a `query_timeout` (a wrapper that clears its timer); called
   * once when the script settles.
   */
  callback: ((error: Error | null, tags?: CommandTags) => void) | undefined;

  readonly #sql: string;
  readonly #chunks: Iterable<string> | undefined;
  readonly #tags: string[] = [];
  #copying = false;
  #settled = false;
  #error: Error | undefined;
  #resolve!: (tags: CommandTags) => void;
  #reject!: (error: Error) => void;

  constructor(sql: string, copyChunks?: Iterable<string>) {
    this.#sql = sql;
    this.#chunks = copyChunks;
    this.done = new Promise<CommandTags>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** The script's SQL text (for diagnostics). */
  get text(): string {
    return this.#sql;
  }

  #settle(error: Error | undefined): void {
    if (this.#settled) return;
    this.#settled = true;
    const callback = this.callback;
    if (error === undefined) {
      this.#resolve(this.#tags);
      callback?.(null, this.#tags);
    } else {
      this.#reject(error);
      callback?.(error);
    }
  }

  /** pg: send the query. A returned error fails the script without sending anything. */
  submit(connection: unknown): Error | undefined {
    if (!isWireConnection(connection)) {
      return new Error(
        'This client cannot stream COPY data (its connection lacks sendCopyFromChunk/endCopyFrom); use a pg >= 8.11 Pool or Client.',
      );
    }
    connection.query(this.#sql);
    return undefined;
  }

  /** pg: a statement of the script finished. */
  handleCommandComplete(message: { readonly text?: string }): void {
    this.#tags.push(message.text ?? '');
  }

  /** pg: a statement returns rows (the advisory lock's `SELECT`): ignored. */
  handleRowDescription(): void {}

  /** pg: a row of a statement: ignored. */
  handleDataRow(): void {}

  /** pg: an empty statement. */
  handleEmptyQuery(): void {}

  /** pg: a portal suspended (never with the simple protocol). */
  handlePortalSuspended(): void {}

  /** pg: `COPY … TO STDOUT` data (never sent by a script). */
  handleCopyData(): void {}

  /** pg: the backend waits for the rows of the script's `COPY … FROM STDIN`. */
  handleCopyInResponse(connection: unknown): void {
    const con = connection as WireConnection;
    if (this.#chunks === undefined || this.#copying) {
      con.sendCopyFail('edge-ha: no COPY data for this statement');
      return;
    }
    this.#copying = true;
    void this.#pump(con, this.#chunks);
  }

  async #pump(connection: WireConnection, chunks: Iterable<string>): Promise<void> {
    try {
      for (const chunk of chunks) {
        // After an error the backend drops further copy messages; stop sending at once.
        if (this.#settled) return;
        connection.sendCopyFromChunk(Buffer.from(chunk, 'utf8'));
        const stream = connection.stream;
        if (stream?.writableNeedDrain === true) await drained(stream);
      }
      if (!this.#settled) connection.endCopyFrom();
    } catch (error) {
      // Building the rows failed: abort the COPY (the backend answers with an error and rolls
      // the script back); report our error, not the backend's echo of it.
      this.#error = error instanceof Error ? error : new Error(String(error));
      if (!this.#settled) connection.sendCopyFail(`edge-ha: ${this.#error.message}`);
    }
  }

  /** pg: the statement failed (the backend skips the rest and rolls the script back). */
  handleError(error: Error): void {
    this.#settle(this.#error ?? error);
  }

  /** pg: the backend is ready for the next query: the script committed. */
  handleReadyForQuery(): void {
    this.#settle(this.#error);
  }
}

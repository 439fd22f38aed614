/**
 * The logger shape edge-ha writes to (pino-compatible: `logger.info(fields, message)`), what the
 * governor logs of its deputies' events, and a JSON-lines logger (one object per line) for hosts
 * without a logging library, used by `edge-ha serve --log-format json`.
 */

import type { EventEmitter } from 'eventemitter3';
import { SyncError } from '../errors.js';
import type { GovernorEvents } from '../governor/governor.js';

/**
 * Structured fields of one log entry.
 *
 * @group Operations
 */
export type LogFields = Readonly<Record<string, unknown>>;

/**
 * One logging method: structured fields first, then the message (pino's order).
 *
 * @group Operations
 */
export type LogMethod = (fields: LogFields, message: string) => void;

/**
 * What edge-ha logs to: a pino logger (or a child of one) fits as it is, so does `console`, and
 * so does {@link jsonLogger}. `debug` is optional. A logger that throws is ignored: logging never
 * changes what edge-ha does.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { createPeerHandler, HAGovernor, type RemotePeer, type StorageAdapter } from 'edge-ha';
 *
 * declare const storage: StorageAdapter;
 * declare const peers: RemotePeer[];
 *
 * const app = Fastify({ logger: true });
 * const logger = app.log.child({ component: 'edge-ha' }); // a pino logger, as pino() returns
 * const governor = new HAGovernor({ storage, peers, logger });
 * const handler = createPeerHandler({ storage, instanceId: 'a', token: process.env.EDGE_HA_TOKEN!, logger });
 * ```
 *
 * @group Operations
 */
export interface Logger {
  /** Detail (per page, per request); optional. */
  debug?: LogMethod;
  /** Normal operation: transitions, runs that finished ok, schedules. */
  info: LogMethod;
  /** Something went wrong and is retried or worked around. */
  warn: LogMethod;
  /** A failure: a run, an item or a request failed; fields carry the error code. */
  error: LogMethod;
}

/**
 * Level of a log entry.
 *
 * @group Operations
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Readonly<Record<LogLevel, number>> = { debug: 10, info: 20, warn: 30, error: 40 };

/** Calls `logger[level]` if it exists; a throwing logger is ignored. */
export function safeLog(
  logger: Logger | undefined,
  level: LogLevel,
  fields: LogFields,
  message: string,
): void {
  if (logger === undefined) return;
  try {
    const method = logger[level];
    if (typeof method === 'function') method.call(logger, fields, message);
  } catch {
    // logging never changes what edge-ha does
  }
}

/**
 * The fields of an error for a log entry: its name, code, message and stack, and the same for
 * its `cause` (one level deep).
 */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as { code?: unknown }).code;
  const fields: Record<string, unknown> = {
    name: error.name,
    ...(typeof code === 'string' ? { code } : {}),
    message: error.message,
    ...(error.stack === undefined ? {} : { stack: error.stack }),
  };
  if (error.cause !== undefined) {
    const cause = error.cause;
    const causeCode = (cause as { code?: unknown } | null)?.code;
    fields.cause =
      cause instanceof Error
        ? {
            name: cause.name,
            ...(typeof causeCode === 'string' ? { code: causeCode } : {}),
            message: cause.message,
          }
        : String(cause);
  }
  return fields;
}

/**
 * Logs what a governor's deputies do: every transition (`info`), every SyncState message at its
 * level (`info`, `warn`, `error`, with its `code` and `item`), every finished run (`info`, or
 * `error` with its error codes), the retries and the progress (`debug`), the governor's
 * scheduled syncs (`info`) and heartbeats (`debug`). Returns a function that detaches it.
 */
export function logGovernorEvents(
  emitter: EventEmitter<GovernorEvents>,
  logger: Logger,
): () => void {
  const listeners: { [K in keyof GovernorEvents]?: (...args: GovernorEvents[K]) => void } = {
    transition: (event) =>
      safeLog(
        logger,
        'info',
        {
          event: 'transition',
          kind: event.kind,
          from: event.from,
          to: event.to,
          fromCode: event.fromCode,
          toCode: event.toCode,
          reason: event.reason,
        },
        `${event.kind} deputy ${event.fromCode} ${event.from} -> ${event.toCode} ${event.to}`,
      ),
    syncState: (message) =>
      safeLog(
        logger,
        message.level === 'warning' ? 'warn' : message.level,
        {
          event: 'syncState',
          kind: message.kind,
          code: message.code,
          ...(message.item === null ? {} : { item: message.item }),
        },
        message.message,
      ),
    finished: (summary) =>
      safeLog(
        logger,
        summary.state === 'finished_ok' ? 'info' : 'error',
        {
          event: 'finished',
          kind: summary.kind,
          state: summary.state,
          code: summary.code,
          durationMs: summary.durationMs,
          gaps: summary.gaps.length,
          items: summary.items,
          pointsReceived: summary.pointsReceived,
          points: summary.points,
          events: summary.events,
          eventsInserted: summary.eventsInserted,
          pages: summary.pages,
          retries: summary.retries,
          peer: summary.peer,
          errorCodes: [...new Set(summary.errors.map((error) => error.code))],
          lastUpToDate: summary.lastUpToDate,
        },
        `${summary.kind} sync run ${summary.state}`,
      ),
    retry: (event) =>
      safeLog(
        logger,
        'debug',
        {
          event: 'retry',
          kind: event.kind,
          operation: event.operation,
          item: event.item,
          attempt: event.attempt,
          delayMs: event.delayMs,
          code: event.code,
        },
        `${event.kind} deputy retries ${event.operation} in ${event.delayMs} ms: ${event.message}`,
      ),
    progress: (progress) =>
      safeLog(logger, 'debug', { event: 'progress', ...progress }, `${progress.kind} progress`),
    scheduled: (sync) =>
      safeLog(
        logger,
        'info',
        { event: 'scheduled', ...sync },
        `governor schedules a sync (${sync.reason}) in ${sync.delayMs} ms`,
      ),
    heartbeat: (beat) =>
      safeLog(logger, 'debug', { event: 'heartbeat', at: beat.at }, 'heartbeat written'),
  };
  const names = Object.keys(listeners) as (keyof GovernorEvents)[];
  const on = emitter.on as (name: string, listener: (...args: never[]) => void) => unknown;
  const off = emitter.off as (name: string, listener: (...args: never[]) => void) => unknown;
  for (const name of names) on.call(emitter, name, listeners[name] as (...args: never[]) => void);
  return () => {
    for (const name of names) {
      off.call(emitter, name, listeners[name] as (...args: never[]) => void);
    }
  };
}

/**
 * Options of {@link jsonLogger}.
 *
 * @group Operations
 */
export interface JsonLoggerOptions {
  /**
   * Writes one line (a JSON object and `\n`), e.g. `(line) => process.stdout.write(line)`.
   */
  readonly write: (line: string) => void;
  /**
   * Lowest level written.
   * @default 'info'
   */
  readonly level?: LogLevel;
  /**
   * Source of the `time` field, epoch ms.
   * @default Date.now
   */
  readonly now?: () => number;
  /** Fields added to every line (e.g. `{ instanceId: 'a' }`). */
  readonly base?: LogFields;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Error) return errorFields(value);
  return value;
}

/**
 * A {@link Logger} writing one JSON object per line: `time` (ISO 8601), `level`, `msg`, then
 * the base fields and the entry's fields (a field named `time`, `level` or `msg` is dropped, so
 * every line keeps its shape). Error values become `{ name, code, message, stack, cause }`.
 *
 * @throws {SyncError} `SYNC_INVALID_OPTION` when `write` is not a function or `level` is not a
 * log level.
 *
 * @example
 * ```ts
 * import { jsonLogger } from 'edge-ha';
 *
 * const logger = jsonLogger({ write: (line) => process.stdout.write(line) });
 * logger.info({ port: 7070 }, 'serving');
 * // {"time":"2025-01-01T00:00:00.000Z","level":"info","msg":"serving","port":7070}
 * ```
 *
 * @group Operations
 */
export function jsonLogger(options: JsonLoggerOptions): Required<Logger> {
  const { write } = options;
  const threshold = LEVELS[options.level ?? 'info'];
  if (typeof write !== 'function' || threshold === undefined) {
    throw new SyncError(
      'SYNC_INVALID_OPTION',
      "jsonLogger needs { write: (line) => void } and a level of 'debug', 'info', 'warn' or 'error'.",
    );
  }
  const now = options.now ?? Date.now;
  const base = options.base ?? {};
  const entry =
    (level: LogLevel): LogMethod =>
    (fields, message) => {
      if (LEVELS[level] < threshold) return;
      const line: Record<string, unknown> = {
        time: new Date(now()).toISOString(),
        level,
        msg: String(message),
      };
      for (const source of [base, fields]) {
        for (const [key, value] of Object.entries(source ?? {})) {
          if (key === 'time' || key === 'level' || key === 'msg') continue;
          // before JSON.stringify: an edge-ha error's toJSON() would drop the stack
          line[key] = value instanceof Error ? errorFields(value) : value;
        }
      }
      let text: string;
      try {
        text = JSON.stringify(line, jsonReplacer);
      } catch {
        // a cycle or a throwing toJSON: keep the entry, drop the fields
        text = JSON.stringify({ time: line.time, level, msg: line.msg, fieldsDropped: true });
      }
      write(`${text}\n`);
    };
  return { debug: entry('debug'), info: entry('info'), warn: entry('warn'), error: entry('error') };
}

/** A leading `12:00:01.123Z ` clock time (the text output's stamp; JSON lines have `time`). */
const CLOCK_PREFIX = /^\d{2}:\d{2}:\d{2}(?:\.\d+)?Z? /;

/**
 * A text stream whose every complete line becomes one log entry of `logger` (the CLI's
 * `--log-format json`: the lines a command prints keep their words, and become JSON). Lines
 * starting with `edge-ha: warning:` are logged at `warn`, other lines at `level`; empty lines
 * are dropped. @internal
 */
export function logLines(
  logger: Logger,
  level: LogLevel,
): { write(chunk: string): true; readonly isTTY: false } {
  let pending = '';
  return {
    isTTY: false,
    write(chunk: string): true {
      pending += chunk;
      let end = pending.indexOf('\n');
      while (end !== -1) {
        const line = pending.slice(0, end).replace(CLOCK_PREFIX, '').trimEnd();
        pending = pending.slice(end + 1);
        if (line !== '') {
          safeLog(logger, line.startsWith('edge-ha: warning:') ? 'warn' : level, {}, line);
        }
        end = pending.indexOf('\n');
      }
      return true;
    },
  };
}

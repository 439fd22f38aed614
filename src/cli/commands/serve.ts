/** `edge-ha serve`: one node serving its storage to peers, catching up at start-up. */

import { hostname } from 'node:os';
import { writeHeartbeatRecord } from '../../governor/downtime.js';
import { HAGovernor } from '../../governor/governor.js';
import { jsonLogger, type Logger, logLines } from '../../ops/logger.js';
import { httpPeer } from '../../peer/http-client.js';
import { openSqliteStorage } from '../../sqlite/adapter.js';
import type { StorageAdapter } from '../../storage/types.js';
import {
  governorTuning,
  integerOption,
  type ParsedArgs,
  requiredOption,
  resolvePath,
  stringOption,
  stringsOption,
  tokenOption,
  writeTokenOption,
} from '../args.js';
import type { CommandRun } from '../command.js';
import { clockTime } from '../demo/report.js';
import { EXIT, usageError } from '../errors.js';
import { type CliIo, println } from '../io.js';
import { ProgressPrinter } from '../progress.js';
import { normalizePeerUrl, type PeerServer, startPeerServer } from '../server.js';
import { SERVE } from '../specs.js';
import {
  attachSyncOutput,
  formatGaps,
  formatGapsLeft,
  formatSummary,
  runOutcome,
} from '../sync-output.js';
import { peerTlsOption, serverTlsOption } from '../tls.js';

/** The governor's default heartbeat period and sync-state key (`<key>:heartbeat`, key `edge-ha`). */
const DEFAULT_HEARTBEAT_MS = 10_000;
const HEARTBEAT_KEY = 'edge-ha:heartbeat';

/**
 * Writes the heartbeat record the governor reads at its next start-up, for a node that runs
 * without peers (`HAGovernor` needs at least one). Same key and record shape as the governor.
 */
function startHeartbeat(
  storage: StorageAdapter,
  intervalMs: number,
  io: CliIo,
): { stop(): Promise<void> } {
  const write = async (clean = false): Promise<void> => {
    try {
      await storage.writeSyncState(
        HEARTBEAT_KEY,
        writeHeartbeatRecord({ at: Date.now(), clean, intervalMs }),
      );
    } catch (error) {
      println(
        io.stderr,
        `edge-ha: heartbeat not written: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  };
  let pending: Promise<void> = write();
  const timer = setInterval(() => {
    pending = pending.then(() => write());
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      await write(true);
    },
  };
}

function waitForAbort(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise(() => undefined);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(), { once: true }),
  );
}

/**
 * `--log-format`: `text` (the default) prints as before; `json` turns every line into one JSON
 * object on stdout (stderr lines at `error`, `edge-ha: warning:` lines at `warn`) and gives the
 * governor, the peer handler and the peer clients a JSON logger, so their entries carry fields.
 */
function serveOutput(args: ParsedArgs, io: CliIo): { io: CliIo; logger: Logger | undefined } {
  const format = stringOption(args, 'log-format') ?? 'text';
  if (format !== 'text' && format !== 'json') {
    throw usageError(`--log-format must be text or json, not ${JSON.stringify(format)}.`);
  }
  if (format === 'text') return { io, logger: undefined };
  const debug = io.env.EDGE_HA_DEBUG !== undefined && io.env.EDGE_HA_DEBUG !== '';
  const logger = jsonLogger({
    write: (line) => io.stdout.write(line),
    level: debug ? 'debug' : 'info',
  });
  return {
    io: { ...io, stdout: logLines(logger, 'info'), stderr: logLines(logger, 'error') },
    logger,
  };
}

/** A 5xx cause as `CODE: message` for the text log line. */
function causeText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return `${typeof code === 'string' ? `${code}: ` : ''}${error.message}`;
}

/** `edge-ha serve`: runs until `io.signal` aborts (SIGINT/SIGTERM in the bin). */
export const runServe: CommandRun = async (args, cliIo) => {
  const { io, logger } = serveOutput(args, cliIo);
  const metricsPublic = args.values['metrics-public'] === true;
  const db = requiredOption(args, SERVE, 'db');
  const port = integerOption(requiredOption(args, SERVE, 'port'), 'port', {
    min: 0,
    max: 65_535,
  }) as number;
  const host = stringOption(args, 'host') ?? '127.0.0.1';
  const peers = stringsOption(args, 'peer').map(normalizePeerUrl);
  const tuning = governorTuning(args);
  const token = await tokenOption(io, args);
  const writeToken = await writeTokenOption(io, args, token);
  // Certificates are read and checked before the storage opens: a wrong file serves nothing.
  const serverTls = await serverTlsOption(io, args);
  const peerTls = await peerTlsOption(io, args, peers);

  const integrityCheck = stringOption(args, 'integrity-check') ?? 'quick';
  if (integrityCheck !== 'quick' && integrityCheck !== 'full' && integrityCheck !== 'off') {
    throw usageError(
      `--integrity-check must be quick, full or off, not ${JSON.stringify(integrityCheck)}.`,
    );
  }

  // A damaged file fails here with STORAGE_CORRUPT (exit 1), before anything is served.
  const storage = openSqliteStorage(resolvePath(io, db), { integrityCheck });
  let server: PeerServer | undefined;
  let governor: HAGovernor | undefined;
  let heartbeat: { stop(): Promise<void> } | undefined;
  let output: ReturnType<typeof attachSyncOutput> | undefined;
  const onAbort = (): void => governor?.cancel();
  try {
    server = await startPeerServer({
      storage,
      token,
      writeToken,
      // Peers learn from hello which windows this node lacks, and take them elsewhere.
      gaps: () => governor?.missingWindows() ?? [],
      // GET /readyz: ready once caught up (a node without --peer is ready while it serves).
      readiness: () => {
        const status = governor?.status();
        if (status === undefined) {
          return peers.length === 0 ? { ready: true } : { ready: false, reason: 'starting' };
        }
        if (status.caughtUp) return { ready: true };
        const left = formatGapsLeft(status.gaps);
        return {
          ready: false,
          reason:
            status.startedAt === null
              ? 'catching up (start-up)'
              : `not caught up${left === null ? '' : `: gaps left ${left}`}`,
        };
      },
      instanceId: stringOption(args, 'id') ?? ((bound) => `${hostname()}:${bound}`),
      host,
      port,
      tls: serverTls,
      // A refused handshake (mutual TLS without a trusted client certificate) is logged like a 401.
      onTlsError: (failure) =>
        println(
          io.stderr,
          `${clockTime(Date.now())} tls handshake from ${failure.remoteAddress} failed: ${failure.reason}`,
        ),
      // GET /metrics: the server's own figures and the governor's (none before it exists).
      metrics: { public: metricsPublic, collect: () => governor?.metrics() ?? null },
      ...(logger === undefined ? {} : { logger }),
      log: (entry) => {
        // --log-format json: the handler's logger has every entry, with fields.
        if (logger !== undefined) return;
        // Failed authentications, refused writes and server failures (not the other 4xx), a
        // failure with its cause (the client only ever sees PEER_INTERNAL).
        if (entry.status === 401 || entry.status === 403 || entry.status >= 500) {
          println(
            io.stderr,
            `${clockTime(Date.now())} peer request ${entry.method} ${entry.path}: ${entry.status} ${entry.code}${
              entry.error === undefined ? '' : ` (${causeText(entry.error)})`
            }`,
          );
        }
      },
    });
    println(io.stdout, `edge-ha: serving ${db} at ${server.url} (instance ${server.instanceId})`);
    if (serverTls !== undefined) println(io.stdout, `tls: ${serverTls.summary}`);
    if (serverTls?.warning !== undefined) {
      println(io.stderr, `edge-ha: warning: ${serverTls.warning}`);
    }
    println(
      io.stdout,
      writeToken === undefined
        ? 'writes: refused (no write token; set EDGE_HA_WRITE_TOKEN to accept them)'
        : `writes: accepted with the write token at ${server.url}/write/points and /write/events`,
    );
    if (peers.length > 0) {
      const follow = integerOption(stringOption(args, 'follow-ms'), 'follow-ms', {
        min: 100,
        max: 86_400_000,
      });
      governor = new HAGovernor({
        storage,
        peers: peers.map((url) =>
          httpPeer({ url, token, ...peerTls(url), ...(logger === undefined ? {} : { logger }) }),
        ),
        ...tuning,
        ...(follow === undefined ? {} : { followEveryMs: follow }),
        ...(args.values['all-items'] === true ? { items: 'union' as const } : {}),
        ...(logger === undefined ? {} : { logger }),
      });
      io.signal?.addEventListener('abort', onAbort, { once: true });
      // The output stays attached while the node runs: every retry until caught up is printed
      // (with --log-format json the governor's logger has the transitions, messages and retries).
      output =
        logger === undefined
          ? attachSyncOutput(governor, io.stdout, { timestamps: true })
          : undefined;
      const printer = output?.progress ?? new ProgressPrinter(io.stdout);
      governor.on('scheduled', (next) => {
        if (next.reason !== 'retry' || logger !== undefined) return;
        printer.line(
          `${clockTime(Date.now())} not caught up after sync attempt ${next.attempt}: retrying in ${next.delayMs} ms`,
        );
      });
      governor.on('syncState', (message) => {
        // Heartbeat failures and other governor errors also go to stderr, for the service log.
        if (message.kind === 'governor' && message.level === 'error' && logger === undefined) {
          println(
            io.stderr,
            `${clockTime(message.at)} edge-ha: ${message.code ?? 'error'}: ${message.message}`,
          );
        }
      });
      governor.on('finished', (summary) => {
        if (summary.state === 'finished_ok' && governor?.status().caughtUp === true) {
          printer.line(`${clockTime(Date.now())} caught up`);
        }
      });
      println(io.stdout, `catching up from ${peers.join(', ')}`);
      const outcome = runOutcome(await governor.start());
      for (const line of formatGaps(outcome.gaps)) printer.line(line);
      for (const summary of outcome.summaries) printer.line(formatSummary(summary));
      const missing = formatGapsLeft(governor.status().gaps);
      if (missing !== null) {
        printer.line(`${clockTime(Date.now())} not caught up; gaps left in the ledger: ${missing}`);
      }
      if (follow !== undefined) {
        printer.line(
          `follow mode: merging the last ${2 * follow} ms from the peers every ${follow} ms`,
        );
      }
    } else {
      // No peer to catch up from: nothing to sync, but the heartbeat still records how long this
      // node runs, so a later start with --peer knows its downtime.
      heartbeat = startHeartbeat(storage, tuning.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_MS, io);
    }
    println(
      io.stdout,
      `${clockTime(Date.now())} running; heartbeats written to ${db}. Ctrl-C to stop.`,
    );
    await waitForAbort(io.signal);
    println(io.stdout, `${clockTime(Date.now())} stopping`);
    const status = governor?.status();
    if (status !== undefined && !status.caughtUp) {
      // A node stopped with a hole in its data must not look like a clean run.
      println(
        io.stderr,
        `edge-ha: stopped while not caught up (gaps left: ${formatGapsLeft(status.gaps) ?? 'none'}, last runs ${[status.deputies.timeSeries, status.deputies.events].map((d) => d?.lastRun?.state ?? 'none').join(', ')}); the next start resumes them.`,
      );
      return EXIT.failure;
    }
    return EXIT.ok;
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    output?.detach();
    await governor?.close();
    await heartbeat?.stop();
    await server?.close();
    await storage.close();
    println(io.stdout, 'edge-ha: stopped');
  }
};

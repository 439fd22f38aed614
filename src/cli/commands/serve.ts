/** `edge-ha serve`: one node serving its storage to peers, catching up at start-up. */

import { hostname } from 'node:os';
import { writeHeartbeatRecord } from '../../governor/downtime.js';
import { HAGovernor } from '../../governor/governor.js';
import { httpPeer } from '../../peer/http-client.js';
import { openSqliteStorage } from '../../sqlite/adapter.js';
import type { StorageAdapter } from '../../storage/types.js';
import {
  governorTuning,
  integerOption,
  requiredOption,
  resolvePath,
  stringOption,
  stringsOption,
  tokenOption,
  writeTokenOption,
} from '../args.js';
import type { CommandRun } from '../command.js';
import { clockTime } from '../demo/report.js';
import { EXIT } from '../errors.js';
import { type CliIo, println } from '../io.js';
import { normalizePeerUrl, type PeerServer, startPeerServer } from '../server.js';
import { SERVE } from '../specs.js';
import {
  attachSyncOutput,
  formatGaps,
  formatGapsLeft,
  formatSummary,
  runOutcome,
} from '../sync-output.js';

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

/** `edge-ha serve`: runs until `io.signal` aborts (SIGINT/SIGTERM in the bin). */
export const runServe: CommandRun = async (args, io) => {
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

  const storage = openSqliteStorage(resolvePath(io, db));
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
      log: (entry) => {
        // Failed authentications, refused writes and server failures (not the other 4xx).
        if (entry.status === 401 || entry.status === 403 || entry.status >= 500) {
          println(
            io.stderr,
            `${clockTime(Date.now())} peer request ${entry.method} ${entry.path}: ${entry.status} ${entry.code}`,
          );
        }
      },
    });
    println(io.stdout, `edge-ha: serving ${db} at ${server.url} (instance ${server.instanceId})`);
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
        peers: peers.map((url) => httpPeer({ url, token })),
        ...tuning,
        ...(follow === undefined ? {} : { followEveryMs: follow }),
      });
      io.signal?.addEventListener('abort', onAbort, { once: true });
      // The output stays attached while the node runs: every retry until caught up is printed.
      output = attachSyncOutput(governor, io.stdout, { timestamps: true });
      const printer = output.progress;
      governor.on('scheduled', (next) => {
        if (next.reason !== 'retry') return;
        printer.line(
          `${clockTime(Date.now())} not caught up after sync attempt ${next.attempt}: retrying in ${next.delayMs} ms`,
        );
      });
      governor.on('syncState', (message) => {
        // Heartbeat failures and other governor errors also go to stderr, for the service log.
        if (message.kind === 'governor' && message.level === 'error') {
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

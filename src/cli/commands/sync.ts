/** `edge-ha sync --db <file> --peer <url>`: one catch-up run against a peer over HTTP. */

import { isEdgeHaError } from '../../errors.js';
import { HAGovernor } from '../../governor/governor.js';
import { httpPeer } from '../../peer/http-client.js';
import type { RemotePeer } from '../../peer/types.js';
import { openSqliteStorage } from '../../sqlite/adapter.js';
import type { TimeWindow } from '../../storage/types.js';
import {
  formatOption,
  governorTuning,
  requiredOption,
  resolvePath,
  stringOption,
  stringsOption,
  tokenOption,
} from '../args.js';
import type { CommandRun } from '../command.js';
import { EXIT, usageError } from '../errors.js';
import { println } from '../io.js';
import { normalizePeerUrl } from '../server.js';
import { SYNC } from '../specs.js';
import {
  attachSyncOutput,
  formatGaps,
  formatGapsLeft,
  formatSummary,
  runOutcome,
} from '../sync-output.js';
import { parseTime } from '../time.js';
import { peerTlsOption } from '../tls.js';

const DAY_MS = 86_400_000;
/** The governor's default `maxRecoveryMs` (7 days). */
const DEFAULT_MAX_RECOVERY_MS = 7 * DAY_MS;

/** `edge-ha sync`: exit 0 when every deputy finished_ok, 1 otherwise. */
export const runSync: CommandRun = async (args, io) => {
  const db = requiredOption(args, SYNC, 'db');
  const peers = stringsOption(args, 'peer').map(normalizePeerUrl);
  if (peers.length === 0)
    throw usageError('`edge-ha sync` needs --peer <url>. Run `edge-ha sync --help`.');
  const format = formatOption(args);
  const fromText = stringOption(args, 'from');
  const toText = stringOption(args, 'to');
  let window: TimeWindow | undefined;
  if (fromText !== undefined || toText !== undefined) {
    if (fromText === undefined || toText === undefined)
      throw usageError('--from and --to go together.');
    window = { from: parseTime(fromText, 'from'), to: parseTime(toText, 'to') };
    if (window.from > window.to) throw usageError('--from must not be after --to.');
  }
  const modeText = stringOption(args, 'mode');
  if (modeText !== undefined && modeText !== 'merge' && modeText !== 'overwrite')
    throw usageError(`--mode must be merge or overwrite, not ${JSON.stringify(modeText)}.`);
  if (modeText !== undefined && window === undefined)
    throw usageError('--mode applies to --from/--to; without them the ledger decides.');
  const mode = modeText ?? 'merge';
  const tuning = governorTuning(args);
  // A window asked for explicitly is recovered in full: the recovery bound (7 days by default)
  // reaches back to --from unless --max-recovery-ms says otherwise (a day of slack for the time
  // between now and the moment the gap is added).
  if (window !== undefined && tuning.maxRecoveryMs === undefined) {
    tuning.maxRecoveryMs = Math.max(DEFAULT_MAX_RECOVERY_MS, Date.now() - window.from + DAY_MS);
  }
  const token = await tokenOption(io, args);
  const peerTls = await peerTlsOption(io, args, peers);
  // Progress and transitions go to stderr with --format json, so stdout stays machine-readable.
  const log = format === 'json' ? io.stderr : io.stdout;

  const storage = openSqliteStorage(resolvePath(io, db));
  const remotes = peers.map((url) => httpPeer({ url, token, ...peerTls(url) }));
  let governor: HAGovernor | undefined;
  const onAbort = (): void => governor?.cancel();
  try {
    if (args.values['all-items'] === true) {
      const first = remotes[0];
      if (first) {
        const items = await first.listItems();
        await storage.registerItems(items);
        println(log, `registered ${items.length} item(s) of ${first.label}`);
      }
    }
    governor = new HAGovernor({
      storage,
      peers: remotes,
      ...tuning,
      // A file being caught up records nothing itself: its heartbeat stays at the start-up, so the
      // next start takes everything after it as downtime (a long sync leaves no hole).
      recordsWhileRunning: false,
    });
    const output = attachSyncOutput(governor, log);
    io.signal?.addEventListener('abort', onAbort, { once: true });
    let outcome: ReturnType<typeof runOutcome>;
    try {
      if (window) {
        const span = `[${new Date(window.from).toISOString()}, ${new Date(window.to).toISOString()})`;
        println(log, `sync ${db} from ${peers.join(', ')} for ${span} (${mode})`);
        outcome = runOutcome(await governor.resync(window, { mode }));
      } else {
        println(log, `sync ${db} from ${peers.join(', ')} (downtime and gap ledger)`);
        outcome = runOutcome(await governor.start());
      }
    } finally {
      output.detach();
    }
    const { summaries, gaps, window: ranWindow } = outcome;
    let { ok } = outcome;
    // Nothing to sync contacts no peer; a sync must still not report success against a peer
    // that does not answer: check that one of them does.
    if (ok && summaries.every((summary) => summary.peer === null)) {
      const unreachable = await firstUnanswered(remotes, io.signal);
      if (unreachable !== null) {
        ok = false;
        println(io.stderr, `edge-ha: nothing to sync, but no peer answered: ${unreachable}`);
      }
    }
    const left = governor.status().gaps;
    if (format === 'json') {
      println(
        io.stdout,
        JSON.stringify({ ok, window: ranWindow, gaps, summaries, ledger: left }, null, 2),
      );
    } else {
      for (const line of formatGaps(gaps)) println(io.stdout, line);
      for (const summary of summaries) {
        println(io.stdout, formatSummary(summary));
        for (const error of summary.errors) {
          println(
            io.stdout,
            `  ${error.code}${error.item ? ` ${error.item}` : ''}: ${error.message}`,
          );
        }
      }
      const missing = formatGapsLeft(left);
      if (missing !== null)
        println(io.stdout, `gaps left in the ledger for the next sync: ${missing}`);
      println(io.stdout, ok ? 'sync finished_ok' : 'sync finished_with_error');
    }
    return ok ? EXIT.ok : EXIT.failure;
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    await governor?.close();
    await storage.close();
  }
};

/** `null` when one of `peers` answers hello, else the reasons (code: message) of each. */
async function firstUnanswered(
  peers: readonly RemotePeer[],
  signal: AbortSignal | undefined,
): Promise<string | null> {
  const reasons: string[] = [];
  for (const peer of peers) {
    try {
      await peer.hello(signal === undefined ? {} : { signal });
      return null;
    } catch (error) {
      reasons.push(
        `${peer.label}: ${isEdgeHaError(error) ? `${error.code}: ` : ''}${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
  return reasons.join('; ');
}

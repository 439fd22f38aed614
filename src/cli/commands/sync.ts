/** `edge-ha sync --db <file> --peer <url>`: one catch-up run against a peer over HTTP. */

import { HAGovernor } from '../../governor/governor.js';
import { httpPeer } from '../../peer/http-client.js';
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
import { formatWindow } from '../demo/report.js';
import { EXIT, usageError } from '../errors.js';
import { println } from '../io.js';
import { normalizePeerUrl } from '../server.js';
import { SYNC } from '../specs.js';
import { attachSyncOutput, formatSummary, runOutcome } from '../sync-output.js';
import { parseTime } from '../time.js';

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
  const tuning = governorTuning(args);
  const token = await tokenOption(io, args);
  // Progress and transitions go to stderr with --format json, so stdout stays machine-readable.
  const log = format === 'json' ? io.stderr : io.stdout;

  const storage = openSqliteStorage(resolvePath(io, db));
  const remotes = peers.map((url) => httpPeer({ url, token }));
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
    });
    const output = attachSyncOutput(governor, log);
    io.signal?.addEventListener('abort', onAbort, { once: true });
    let outcome: ReturnType<typeof runOutcome>;
    try {
      if (window) {
        println(log, `sync ${db} from ${peers.join(', ')} for ${formatWindow(window)}`);
        outcome = runOutcome(await governor.resync(window));
      } else {
        println(log, `sync ${db} from ${peers.join(', ')} (downtime window)`);
        outcome = runOutcome(await governor.start());
      }
    } finally {
      output.detach();
    }
    const { ok, summaries, window: ranWindow } = outcome;
    if (format === 'json') {
      println(io.stdout, JSON.stringify({ ok, window: ranWindow, summaries }, null, 2));
    } else {
      println(
        io.stdout,
        ranWindow ? `window ${formatWindow(ranWindow)}` : 'window: nothing to sync',
      );
      for (const summary of summaries) {
        println(io.stdout, formatSummary(summary));
        for (const error of summary.errors) {
          println(
            io.stdout,
            `  ${error.code}${error.item ? ` ${error.item}` : ''}: ${error.message}`,
          );
        }
      }
      println(io.stdout, ok ? 'sync finished_ok' : 'sync finished_with_error');
    }
    return ok ? EXIT.ok : EXIT.failure;
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
    await governor?.close();
    await storage.close();
  }
};

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyReplicas } from '../../src/cli/demo/verify.js';
import { MemoryStream } from '../../src/cli/io.js';
import { runCli } from '../../src/cli/run.js';
import { openSqliteStorage } from '../../src/sqlite/adapter.js';
import { cli, tempDir } from './helpers.js';

const TOKEN = 'serve-sync-test-token';
const ITEMS = ['plant/boiler/temperature', 'plant/pump/flow'];
const WINDOW = { from: 1_700_000_000_000, to: 1_700_000_600_000 };

let tmp: Awaited<ReturnType<typeof tempDir>>;
let remoteFile: string;
let url: string;
let stopServe: AbortController;
let serveDone: Promise<number>;
let serveOut: MemoryStream;

beforeAll(async () => {
  tmp = await tempDir();
  remoteFile = join(tmp.dir, 'b.sqlite');
  const remote = openSqliteStorage(remoteFile);
  for (const [index, item] of ITEMS.entries()) {
    const points = Array.from({ length: 1_500 }, (_, i) => ({
      t: WINDOW.from + i * 400,
      v: index * 100 + i,
    }));
    await remote.appendPoints(item, points);
  }
  await remote.insertEventsIfAbsent(
    Array.from({ length: 120 }, (_, i) => ({
      id: `alarm-${i}`,
      t: WINDOW.from + i * 5_000,
      body: { n: i },
    })),
  );
  await remote.close();

  stopServe = new AbortController();
  serveOut = new MemoryStream();
  serveDone = runCli(['serve', '--db', remoteFile, '--port', '0', '--id', 'node-b'], {
    stdout: serveOut,
    stderr: new MemoryStream(),
    env: { EDGE_HA_TOKEN: TOKEN },
    signal: stopServe.signal,
  });
  const match = await Promise.race([
    serveOut.waitFor(/serving .* at (http:\/\/127\.0\.0\.1:\d+\/edge-ha\/v1)/),
    serveDone.then((code) => {
      throw new Error(`serve exited early with ${code}: ${serveOut.text}`);
    }),
  ]);
  url = match[1] as string;
});

afterAll(async () => {
  stopServe?.abort();
  await serveDone;
  await tmp.cleanup();
});

describe('edge-ha serve + edge-ha sync over loopback', () => {
  it('syncs a window from the served node: exit 0, transitions, summary, identical data', async () => {
    const localFile = join(tmp.dir, 'a.sqlite');
    const local = openSqliteStorage(localFile);
    await local.registerItems(ITEMS);
    await local.close();

    const run = await cli(
      [
        'sync',
        '--db',
        localFile,
        '--peer',
        url,
        '--from',
        String(WINDOW.from),
        '--to',
        String(WINDOW.to),
      ],
      { env: { EDGE_HA_TOKEN: TOKEN } },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    for (const kind of ['series', 'events']) {
      expect(run.stdout).toContain(`[${kind}] 0 idle -> 1 started`);
      expect(run.stdout).toContain(`[${kind}] 3 sending_sync_request -> 4 waiting_for_reply`);
      expect(run.stdout).toContain(`[${kind}] 4 waiting_for_reply -> 5 finished_ok`);
    }
    expect(run.stdout).toMatch(/^progress series +\[/m);
    expect(run.stdout).toContain(
      `for [${new Date(WINDOW.from).toISOString()}, ${new Date(WINDOW.to).toISOString()}) (merge)`,
    );
    // A window given on the command line is synced however old it is (here: years).
    expect(run.stdout).toContain(
      `gap 1 [${new Date(WINDOW.from).toISOString()}, ${new Date(WINDOW.to).toISOString()}) 600 s merge (requested)`,
    );
    expect(run.stdout).not.toContain('SYNC_UNRECOVERABLE');
    expect(run.stdout).not.toContain('left in the ledger');
    expect(run.stdout).toContain('[series] finished_ok (5)');
    expect(run.stdout).toContain('3000 points');
    expect(run.stdout).toContain('120 of 120 events inserted');
    expect(run.stdout.trimEnd().endsWith('sync finished_ok')).toBe(true);

    const [a, b] = [openSqliteStorage(localFile), openSqliteStorage(remoteFile)];
    try {
      const verification = await verifyReplicas(a, b, WINDOW, ITEMS);
      expect(verification.problems).toEqual([]);
      expect(verification.points).toBe(3_000);
      expect(verification.events).toBe(120);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('adopts the items of the peer with --all-items and prints JSON with --format json', async () => {
    const localFile = join(tmp.dir, 'fresh.sqlite');
    const run = await cli(
      [
        'sync',
        '--db',
        localFile,
        '--peer',
        url.replace('/edge-ha/v1', ''),
        '--all-items',
        '--from',
        new Date(WINDOW.from).toISOString(),
        '--to',
        new Date(WINDOW.to).toISOString(),
        '--format',
        'json',
      ],
      { env: { EDGE_HA_TOKEN: TOKEN } },
    );
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as {
      ok: boolean;
      window: { from: number; to: number };
      gaps: { from: number; to: number; mode: string; reason: string }[];
      ledger: { timeSeries: unknown[]; events: unknown[] };
      summaries: { kind: string; points: number }[];
    };
    expect(report.ok).toBe(true);
    expect(report.window).toEqual(WINDOW);
    expect(report.gaps).toEqual([
      expect.objectContaining({ ...WINDOW, mode: 'merge', reason: 'requested' }),
    ]);
    expect(report.ledger).toEqual({ timeSeries: [], events: [] });
    expect(report.summaries.find((summary) => summary.kind === 'timeSeries')?.points).toBe(3_000);
    expect(run.stderr).toContain('registered 2 item(s)');
  });

  it('pulls the start-up window of a fresh file with --lookback-ms (no --from/--to)', async () => {
    const localFile = join(tmp.dir, 'lookback.sqlite');
    const back = String(Date.now() - WINDOW.from + 60_000);
    const run = await cli(
      [
        'sync',
        '--db',
        localFile,
        '--peer',
        url,
        '--all-items',
        '--lookback-ms',
        back,
        '--max-recovery-ms',
        back,
      ],
      { env: { EDGE_HA_TOKEN: TOKEN } },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('(downtime and gap ledger)');
    expect(run.stdout).toMatch(
      /^gap 1 \[\d{4}-\d\d-\d\dT[\d:.]+Z, \d{4}-\d\d-\d\dT[\d:.]+Z\) [\d.]+ s merge \(firstStart\)$/m,
    );
    expect(run.stdout).toContain('2/2 items, 3000 points');
    expect(run.stdout).toContain('120 of 120 events inserted');
  });

  it('leaves a synced file stopped at the start-up of the sync, so the next sync starts there', async () => {
    const localFile = join(tmp.dir, 'offline.sqlite');
    const local = openSqliteStorage(localFile);
    await local.registerItems(ITEMS);
    const stoppedAt = Date.now() - 30_000;
    await local.writeSyncState('edge-ha:heartbeat', {
      format: 'edge-ha.heartbeat',
      version: 2,
      at: stoppedAt,
      clean: true,
      intervalMs: 10_000,
    });
    await local.close();
    const sync = async () => {
      const run = await cli(['sync', '--db', localFile, '--peer', url, '--format', 'json'], {
        env: { EDGE_HA_TOKEN: TOKEN },
      });
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as {
        gaps: { from: number; to: number; mode: string; reason: string }[];
      };
      const downtime = report.gaps.find((gap) => gap.reason === 'downtime');
      expect(downtime?.mode).toBe('overwrite');
      return downtime as { from: number; to: number };
    };
    // a clean stop: the file ran through stoppedAt itself, the overwrite starts 1 ms after it
    const first = await sync();
    expect(first.from).toBe(stoppedAt + 1);
    const after = openSqliteStorage(localFile);
    try {
      expect(await after.readSyncState('edge-ha:heartbeat')).toMatchObject({
        at: first.to,
        clean: true,
      });
    } finally {
      await after.close();
    }
    // Whatever the peer recorded while the first sync ran is in the next one's downtime (the
    // start-up millisecond itself is in its merge margin).
    expect((await sync()).from).toBe(first.to + 1);
  });

  it('exits 1 with PEER_AUTH when the token is wrong, and leaves the local data alone', async () => {
    const localFile = join(tmp.dir, 'wrong-token.sqlite');
    const local = openSqliteStorage(localFile);
    await local.appendPoints(ITEMS[0] as string, [{ t: WINDOW.from + 1, v: 'mine' }]);
    await local.close();
    const run = await cli(
      [
        'sync',
        '--db',
        localFile,
        '--peer',
        url,
        '--from',
        String(WINDOW.from),
        '--to',
        String(WINDOW.to),
      ],
      { env: { EDGE_HA_TOKEN: 'not-the-token' } },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('PEER_AUTH');
    expect(run.stdout).toContain('gaps left in the ledger for the next sync: series 1, events 1');
    expect(run.stdout.trimEnd().endsWith('sync finished_with_error')).toBe(true);
    const after = openSqliteStorage(localFile);
    try {
      const page = await after.readPoints(ITEMS[0] as string, WINDOW, { limit: 10 });
      expect(page.items).toEqual([{ t: WINDOW.from + 1, v: 'mine' }]);
    } finally {
      await after.close();
    }
  });

  it('rejects bad input with usage errors (exit 2) or a missing token (exit 1)', async () => {
    const db = join(tmp.dir, 'x.sqlite');
    const env = { EDGE_HA_TOKEN: TOKEN };
    expect((await cli(['sync', '--db', db], { env })).code).toBe(2);
    expect((await cli(['sync', '--peer', url], { env })).code).toBe(2);
    const noZone = await cli(
      ['sync', '--db', db, '--peer', url, '--from', '2025-01-01T00:00:00', '--to', '1'],
      { env },
    );
    expect(noZone.code).toBe(2);
    expect(noZone.stderr).toContain('with a zone');
    expect((await cli(['sync', '--db', db, '--peer', url, '--from', '10'], { env })).code).toBe(2);
    expect((await cli(['sync', '--db', db, '--peer', 'not a url'], { env })).code).toBe(2);
    expect((await cli(['serve', '--db', db], { env })).code).toBe(2);
    expect((await cli(['serve', '--db', db, '--port', '70000'], { env })).code).toBe(2);
    const noToken = await cli(['sync', '--db', db, '--peer', url]);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/^edge-ha: CLI_NO_TOKEN: /);
  });

  it('serve --peer catches up at start-up, prints transitions and summaries, then serves', async () => {
    const localFile = join(tmp.dir, 'serve-a.sqlite');
    const local = openSqliteStorage(localFile);
    await local.registerItems(ITEMS);
    await local.close();
    const back = String(Date.now() - WINDOW.from + 60_000);
    const controller = new AbortController();
    const out = new MemoryStream();
    const done = runCli(
      [
        'serve',
        '--db',
        localFile,
        '--port',
        '0',
        '--peer',
        url,
        '--lookback-ms',
        back,
        '--max-recovery-ms',
        back,
      ],
      {
        stdout: out,
        stderr: new MemoryStream(),
        env: { EDGE_HA_TOKEN: TOKEN },
        signal: controller.signal,
      },
    );
    await out.waitFor(/running; heartbeats/);
    controller.abort();
    expect(await done).toBe(0);
    expect(out.text).toContain(`catching up from ${url}`);
    expect(out.text).toMatch(
      /^gap 1 \[\d{4}-\d\d-\d\dT[\d:.]+Z, \d{4}-\d\d-\d\dT[\d:.]+Z\) [\d.]+ s merge \(firstStart\)$/m,
    );
    expect(out.text).not.toContain('not caught up');
    expect(out.text).toMatch(/\[series\] 4 waiting_for_reply -> 5 finished_ok/);
    expect(out.text).toContain('[series] finished_ok (5)');
    expect(out.text).toContain('2/2 items, 3000 points');
    expect(out.text).toContain('120 of 120 events inserted');
  });

  it('serve stops cleanly when its signal fires', async () => {
    const controller = new AbortController();
    const out = new MemoryStream();
    const done = runCli(['serve', '--db', join(tmp.dir, 'c.sqlite'), '--port', '0'], {
      stdout: out,
      stderr: new MemoryStream(),
      env: { EDGE_HA_TOKEN: TOKEN },
      signal: controller.signal,
    });
    const [, serverUrl] = await out.waitFor(/at (http:\S+)/);
    await out.waitFor(/running; heartbeats/);
    controller.abort();
    expect(await done).toBe(0);
    expect(out.text).toContain('edge-ha: stopped');
    await expect(fetch(`${serverUrl}/hello`)).rejects.toThrow();
  });
});

/**
 * The real `edge-ha` bin in a child process, against a peer served over HTTP on 127.0.0.1: what a
 * user sees of the sync modes and of a restart of `edge-ha serve` (exit codes, output, data).
 */

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PeerServer, startPeerServer } from '../../src/cli/server.js';
import { openSqliteStorage } from '../../src/sqlite/adapter.js';
import type { Point, StorageAdapter } from '../../src/storage/types.js';
import { spawnCli, startCli, tempDir } from './helpers.js';

const ROOT_DIR = fileURLToPath(new URL('../../', import.meta.url));
const TOKEN = 'bin-test-token';
const ENV = { EDGE_HA_TOKEN: TOKEN };
const ITEM = 'plant/boiler/temperature';
const FROM = Date.UTC(2025, 0, 1);
const TO = FROM + 60_000;

let tmp: Awaited<ReturnType<typeof tempDir>>;
let remote: StorageAdapter;
let server: PeerServer;

beforeAll(async () => {
  tmp = await tempDir();
  remote = openSqliteStorage(join(tmp.dir, 'peer.sqlite'));
  await remote.appendPoints(
    ITEM,
    Array.from({ length: 60 }, (_, i) => ({ t: FROM + i * 1_000, v: i })),
  );
  server = await startPeerServer({ storage: remote, token: TOKEN, instanceId: 'peer', port: 0 });
});

afterAll(async () => {
  await server?.close();
  await remote?.close();
  await tmp?.cleanup();
});

async function pointsOf(file: string, item = ITEM): Promise<readonly Point[]> {
  const storage = openSqliteStorage(file);
  try {
    return (
      await storage.readPoints(item, { from: 0, to: Number.MAX_SAFE_INTEGER }, { limit: 1_000 })
    ).items;
  } finally {
    await storage.close();
  }
}

describe('edge-ha sync --mode (the real bin)', () => {
  it('merges by default (local points stay); --mode overwrite lets the peer win', async () => {
    const file = join(tmp.dir, 'local.sqlite');
    const local = openSqliteStorage(file);
    await local.appendPoints(ITEM, [
      { t: FROM + 5_000, v: 'mine' }, // the peer has 5 here
      { t: FROM + 5_500, v: 'only-mine' }, // the peer has nothing here
    ]);
    await local.close();
    const window = ['--from', new Date(FROM).toISOString(), '--to', String(TO)];

    const merged = await spawnCli(['sync', '--db', file, '--peer', server.url, ...window], {
      env: ENV,
    });
    expect(merged.stderr).toBe('');
    expect(merged.code).toBe(0);
    expect(merged.stdout).toContain('(merge)');
    expect(merged.stdout).toContain(
      `gap 1 [${new Date(FROM).toISOString()}, ${new Date(TO).toISOString()}) 60 s merge (requested)`,
    );
    expect(merged.stdout).toContain('[series] finished_ok (5)');
    expect(merged.stdout).toContain('1/1 items, 59 points'); // all but the one A already had
    let points = await pointsOf(file);
    expect(points).toHaveLength(61);
    expect(points.find((p) => p.t === FROM + 5_000)?.v).toBe('mine');
    expect(points.find((p) => p.t === FROM + 5_500)?.v).toBe('only-mine');
    expect(points.find((p) => p.t === FROM + 6_000)?.v).toBe(6);

    const overwritten = await spawnCli(
      ['sync', '--db', file, '--peer', server.url, ...window, '--mode', 'overwrite'],
      { env: ENV },
    );
    expect(overwritten.stderr).toBe('');
    expect(overwritten.code).toBe(0);
    expect(overwritten.stdout).toContain('(overwrite)');
    expect(overwritten.stdout).toMatch(
      /^gap \d+ \[\d{4}-\d\d-\d\dT[\d:.]+Z, \d{4}-\d\d-\d\dT[\d:.]+Z\) 60 s overwrite \(requested\)$/m,
    );
    expect(overwritten.stdout.trimEnd().endsWith('sync finished_ok')).toBe(true);
    points = await pointsOf(file);
    expect(points).toEqual(Array.from({ length: 60 }, (_, i) => ({ t: FROM + i * 1_000, v: i })));
  });

  it('rejects --mode bogus as a usage error (exit 2) before touching anything', async () => {
    const file = join(tmp.dir, 'never-created.sqlite');
    const run = await spawnCli(
      ['sync', '--db', file, '--peer', server.url, '--from', '0', '--to', '1', '--mode', 'bogus'],
      { env: ENV },
    );
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'edge-ha: CLI_USAGE: --mode must be merge or overwrite, not "bogus".\n',
    );
    expect(existsSync(file)).toBe(false);

    const noWindow = await spawnCli(
      ['sync', '--db', file, '--peer', server.url, '--mode', 'merge'],
      {
        env: ENV,
      },
    );
    expect(noWindow.code).toBe(2);
    expect(noWindow.stderr).toContain('--mode applies to --from/--to');
    expect(existsSync(file)).toBe(false);
  });
});

describe('edge-ha serve, stopped with Ctrl-C and started again (the real bin)', () => {
  it('prints the downtime (overwrite) and its margins (merge); keeps its live point, gets the peer’s', async () => {
    const file = join(tmp.dir, 'serve-a.sqlite');
    const setup = openSqliteStorage(file);
    await setup.registerItems(['line/x']);
    await setup.close();
    const argv = ['serve', '--db', file, '--port', '0', '--peer', server.url];
    const tuning = ['--heartbeat-ms', '200', '--overlap-ms', '500'];

    const first = startCli([...argv, ...tuning], { env: ENV });
    await first.waitFor(/running; heartbeats/);
    expect(first.stdout()).toContain('gaps: nothing to sync');
    // While A runs it records a point; B holds another value at the same timestamp.
    const live = Date.now() - 5;
    const a = openSqliteStorage(file);
    await a.appendPoints('line/x', [{ t: live, v: 'a-live' }]);
    await a.close();
    await remote.appendPoints('line/x', [{ t: live, v: 'b-other' }]);
    const stopped = await first.interrupt();
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toContain('edge-ha: stopped');

    // A is down: B records.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const down = Date.now();
    await remote.appendPoints('line/x', [{ t: down, v: 'b-down' }]);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const second = startCli([...argv, ...tuning], { env: ENV });
    await second.waitFor(/running; heartbeats/);
    const run = await second.interrupt();
    expect(run.code).toBe(0);
    const gapLines = run.stdout.split('\n').filter((line) => line.startsWith('gap '));
    expect(gapLines).toEqual([
      expect.stringMatching(
        /^gap \d+ \[\d{4}-\d\d-\d\dT[\d:.]+Z, \d{4}-\d\d-\d\dT[\d:.]+Z\) [\d.]+ s merge \(margin\)$/,
      ),
      expect.stringMatching(
        /^gap \d+ \[\d{4}-\d\d-\d\dT[\d:.]+Z, \d{4}-\d\d-\d\dT[\d:.]+Z\) [\d.]+ s overwrite \(downtime\)$/,
      ),
      expect.stringMatching(
        /^gap \d+ \[\d{4}-\d\d-\d\dT[\d:.]+Z, \d{4}-\d\d-\d\dT[\d:.]+Z\) [\d.]+ s merge \(margin\)$/,
      ),
    ]);
    expect(run.stdout).toContain('[series] finished_ok (5)');
    expect(run.stdout).not.toContain('not caught up');
    const points = await pointsOf(file, 'line/x');
    expect(points.find((p) => p.t === live)?.v).toBe('a-live');
    expect(points.find((p) => p.t === down)?.v).toBe('b-down');
  });

  it('with its clock 30 s ahead of the peer’s: loses none of what the peer recorded while it was down, changes none of its own points', async () => {
    const SKEW = 30_000;
    const file = join(tmp.dir, 'serve-skewed.sqlite');
    const setup = openSqliteStorage(file);
    await setup.registerItems(['line/skew']);
    await setup.close();
    const argv = ['serve', '--db', file, '--port', '0', '--peer', server.url];
    const options = {
      env: { ...ENV, EDGE_HA_TEST_CLOCK_OFFSET_MS: String(SKEW) },
      nodeArgs: ['--import', pathToFileURL(join(ROOT_DIR, 'test/support/clock-offset.mjs')).href],
    };
    const tuning = ['--heartbeat-ms', '200', '--overlap-ms', '500'];

    const first = startCli([...argv, ...tuning], options);
    await first.waitFor(/running; heartbeats/);
    // A stamps with its own (skewed) clock; the peer holds another value at that timestamp.
    const live = Date.now() + SKEW - 5;
    const a = openSqliteStorage(file);
    await a.appendPoints('line/skew', [{ t: live, v: 'a-live' }]);
    await a.close();
    await remote.appendPoints('line/skew', [{ t: live, v: 'b-other' }]);
    expect((await first.interrupt()).code).toBe(0);

    // A is down; the peer records by its own clock: 30 s before A's stop as A's clock tells it.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const down = Date.now();
    await remote.appendPoints('line/skew', [{ t: down, v: 'b-down' }]);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const second = startCli([...argv, ...tuning], options);
    await second.waitFor(/running; heartbeats/);
    const run = await second.interrupt();
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('[series] finished_ok (5)');
    // The skew was measured at hello (above overlapMs: a warning) and widened the margins.
    expect(run.stdout).toMatch(/warning SYNC_CLOCK_SKEW/);
    const points = await pointsOf(file, 'line/skew');
    expect(points.find((p) => p.t === live)?.v).toBe('a-live');
    expect(points.find((p) => p.t === down)?.v).toBe('b-down');
  });
});

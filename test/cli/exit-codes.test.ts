/**
 * Exit codes as a shell or a service manager sees them: the real `edge-ha` bin in child
 * processes (never an in-process call), against a dead port, a live `edge-ha serve` with another
 * token, and an `edge-ha serve` killed with SIGKILL in the middle of the sync.
 */

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/cli/server.js';
import { writeHeartbeatRecord } from '../../src/governor/downtime.js';
import { openSqliteStorage } from '../../src/sqlite/adapter.js';
import { spawnCli, startCli, tempDir } from './helpers.js';

const TOKEN = 'exit-codes-token';
const ENV = { EDGE_HA_TOKEN: TOKEN };
const ITEM = 'plant/boiler/temperature';
/** One retry: each failing run gives up after a single short back-off instead of ~15 s. */
const RETRIES = ['--retries', '1'];

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  await tmp?.cleanup();
});

/**
 * A file that ran before and stopped a minute ago (clean heartbeat): its next sync has a
 * downtime to pull, so it must reach the peer (a file with nothing to sync never contacts it).
 */
async function stoppedNode(name: string): Promise<string> {
  const file = join(tmp.dir, name);
  const storage = openSqliteStorage(file);
  try {
    await storage.registerItems([ITEM]);
    await storage.writeSyncState(
      'edge-ha:heartbeat',
      writeHeartbeatRecord({ at: Date.now() - 60_000, clean: true, intervalMs: 10_000 }),
    );
  } finally {
    await storage.close();
  }
  return file;
}

/** Starts `edge-ha serve` on `file`; resolves with the process and its peer URL. */
async function serve(file: string) {
  const child = startCli(['serve', '--db', file, '--port', '0'], { env: ENV, timeoutMs: 60_000 });
  await child.waitFor(/running; heartbeats/);
  const url = /at (http:\/\/127\.0\.0\.1:\d+\/edge-ha\/v1)/.exec(child.stdout())?.[1] as string;
  return { child, url };
}

describe('edge-ha sync exit codes (child processes)', () => {
  it('exits 1 and prints PEER_UNREACHABLE when nothing listens on the peer port', async () => {
    const file = await stoppedNode('dead-peer.sqlite');
    const port = await freePort();
    const run = await spawnCli(
      ['sync', '--db', file, '--peer', `http://127.0.0.1:${port}`, ...RETRIES],
      { env: ENV },
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^\[series\] finished_with_error \(6\)/m);
    expect(run.stdout).toMatch(/^ {2}PEER_UNREACHABLE: .*ECONNREFUSED/m);
    expect(run.stdout).toContain('gaps left in the ledger for the next sync');
    expect(run.stdout.trimEnd().endsWith('sync finished_with_error')).toBe(true);
  });

  it('a fresh file with nothing to sync still exits 1 when no peer answers', async () => {
    const file = join(tmp.dir, 'fresh.sqlite');
    const port = await freePort();
    const run = await spawnCli(
      ['sync', '--db', file, '--peer', `http://127.0.0.1:${port}`, ...RETRIES],
      { env: ENV },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/nothing to sync, but no peer answered: .*PEER_UNREACHABLE/);
    expect(run.stdout.trimEnd().endsWith('sync finished_with_error')).toBe(true);
  });

  it('exits 1 and prints PEER_AUTH when the token is wrong (the server logs the 401)', async () => {
    const { child, url } = await serve(join(tmp.dir, 'auth-peer.sqlite'));
    try {
      const file = await stoppedNode('auth-local.sqlite');
      // --token on the command line wins over EDGE_HA_TOKEN (which is the right one here).
      const run = await spawnCli(
        ['sync', '--db', file, '--peer', url, '--token', 'wrong', ...RETRIES],
        {
          env: ENV,
        },
      );
      expect(run.code).toBe(1);
      expect(run.stdout).toMatch(/^ {2}PEER_AUTH: /m);
      expect(run.stdout).not.toContain('retrying'); // a wrong token is permanent: no retry
      expect(run.stdout.trimEnd().endsWith('sync finished_with_error')).toBe(true);
    } finally {
      const stopped = await child.interrupt();
      expect(stopped.code).toBe(0);
      expect(stopped.stderr).toMatch(/GET \/edge-ha\/v1\/hello: 401 PEER_AUTH/);
    }
  });

  it('exits 1 with the reason when the peer is killed (SIGKILL) in the middle of the sync', async () => {
    // Enough data for many pages (5000 points a page): the sync is still running when the first
    // progress line appears, which is when the peer is killed.
    const peerFile = join(tmp.dir, 'killed-peer.sqlite');
    const peer = openSqliteStorage(peerFile);
    const items = Array.from({ length: 20 }, (_, i) => `plant/line-${i}/value`);
    const from = Date.UTC(2025, 0, 1);
    try {
      for (const item of items) {
        await peer.appendPoints(
          item,
          Array.from({ length: 20_000 }, (_, i) => ({ t: from + i * 100, v: i })),
        );
      }
    } finally {
      await peer.close();
    }
    const { child: peerProcess, url } = await serve(peerFile);
    const file = join(tmp.dir, 'killed-local.sqlite');
    const sync = startCli(
      [
        ...['sync', '--db', file, '--peer', url, '--all-items'],
        ...['--from', String(from), '--to', String(from + 2_000_000), ...RETRIES],
      ],
      { env: ENV, timeoutMs: 60_000 },
    );
    try {
      await sync.waitFor(/^progress series /m);
    } finally {
      peerProcess.kill('SIGKILL');
    }
    await expect(peerProcess.exited).rejects.toThrow(/killed \(SIGKILL\)/);
    const run = await sync.exited;
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^\[series\] finished_with_error \(6\)/m);
    // The reason: the connection was lost, or the peer could not be reached again.
    expect(run.stdout).toMatch(/^ {2}PEER_(UNREACHABLE|UNAVAILABLE|TIMEOUT)\b/m);
    expect(run.stdout).toMatch(/gaps left in the ledger for the next sync: series \d/);
    expect(run.stdout.trimEnd().endsWith('sync finished_with_error')).toBe(true);
  });
});

describe('edge-ha serve that cannot catch up (child process)', () => {
  it('prints every retry, answers 503 on /readyz, and exits 1 on SIGTERM while not caught up', async () => {
    const file = await stoppedNode('serve-behind.sqlite');
    const port = await freePort();
    const child = startCli(
      [
        'serve',
        '--db',
        file,
        '--port',
        '0',
        '--peer',
        `http://127.0.0.1:${port}`,
        '--retries',
        '0',
      ],
      { env: ENV, timeoutMs: 60_000 },
    );
    await child.waitFor(/not caught up after sync attempt 1: retrying in 5000 ms/);
    await child.waitFor(/running; heartbeats/);
    const origin = /at (http:\/\/127\.0\.0\.1:\d+)\/edge-ha\/v1/.exec(
      child.stdout(),
    )?.[1] as string;
    // the process serves (healthz) but is not ready (readyz: 503 with the reason)
    expect((await fetch(`${origin}/healthz`)).status).toBe(200);
    const ready = await fetch(`${origin}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { reason: string }).reason).toMatch(
      /^not caught up: gaps left series \d+/,
    );
    child.kill('SIGTERM');
    const run = await child.exited;
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/stopped while not caught up \(gaps left: series \d+, events \d+/);
    expect(run.stdout).toMatch(/PEER_UNREACHABLE/);
  });
});

// Runs the BUILT `edge-ha` bin (dist/cli/main.js) the way a user does, against another instance
// of it serving a SQLite file on 127.0.0.1. Run after `npm run build`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openSqliteStorage } from 'edge-ha/sqlite';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const ENV = { PATH: process.env.PATH ?? '', EDGE_HA_TOKEN: 'smoke-cli-token' };
const ITEM = 'plant/temp';
const FROM = Date.UTC(2025, 0, 1);
const dir = mkdtempSync(join(tmpdir(), 'edge-ha-smoke-cli-'));

/** Starts the bin; `exited` resolves with { code, stdout, stderr }; killed after 20 s. */
function start(argv) {
  const child = spawn(process.execPath, [BIN, ...argv], { env: ENV });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const exited = new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, exited, stdout: () => stdout };
}

let serve;
let url;
before(async () => {
  const peer = openSqliteStorage(join(dir, 'peer.sqlite'));
  await peer.appendPoints(
    ITEM,
    Array.from({ length: 10 }, (_, i) => ({ t: FROM + i * 1_000, v: i })),
  );
  await peer.close();
  serve = start(['serve', '--db', join(dir, 'peer.sqlite'), '--port', '0']);
  for (let i = 0; i < 200 && !/running; heartbeats/.test(serve.stdout()); i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  url = /at (http:\/\/127\.0\.0\.1:\d+\/edge-ha\/v1)/.exec(serve.stdout())?.[1];
  assert.ok(url, `serve did not start:\n${serve.stdout()}`);
});

after(async () => {
  serve?.child.kill('SIGINT');
  const stopped = await serve?.exited;
  rmSync(dir, { recursive: true, force: true });
  assert.equal(stopped?.code, 0, stopped?.stdout);
});

async function readPoints(file) {
  const storage = openSqliteStorage(file);
  try {
    return (await storage.readPoints(ITEM, { from: 0, to: FROM + 60_000 }, { limit: 100 })).items;
  } finally {
    await storage.close();
  }
}

test('edge-ha sync merges by default and lets the peer win with --mode overwrite', async () => {
  const file = join(dir, 'local.sqlite');
  const local = openSqliteStorage(file);
  await local.appendPoints(ITEM, [{ t: FROM + 3_000, v: 'mine' }]);
  await local.close();
  const window = ['--from', new Date(FROM).toISOString(), '--to', String(FROM + 10_000)];

  const merged = await start(['sync', '--db', file, '--peer', url, ...window]).exited;
  assert.equal(merged.code, 0, merged.stdout + merged.stderr);
  assert.match(
    merged.stdout,
    /^gap 1 \[\d{4}-\d\d-\d\dT[\d:.]+Z, \d{4}-\d\d-\d\dT[\d:.]+Z\) 10 s merge \(requested\)$/m,
  );
  assert.equal((await readPoints(file)).find((p) => p.t === FROM + 3_000)?.v, 'mine');

  const overwritten = await start([
    ...['sync', '--db', file, '--peer', url],
    ...window,
    '--mode',
    'overwrite',
  ]).exited;
  assert.equal(overwritten.code, 0, overwritten.stdout + overwritten.stderr);
  assert.match(
    overwritten.stdout,
    /^gap \d+ \[\d{4}-\d\d-\d\dT[\d:.]+Z, \d{4}-\d\d-\d\dT[\d:.]+Z\) 10 s overwrite \(requested\)$/m,
  );
  assert.deepEqual(
    (await readPoints(file)).map((p) => p.v),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
});

test('edge-ha sync --mode bogus is a usage error (exit 2)', async () => {
  const file = join(dir, 'untouched.sqlite');
  const run = await start([
    'sync',
    '--db',
    file,
    '--peer',
    url,
    '--from',
    '0',
    '--to',
    '1',
    '--mode',
    'bogus',
  ]).exited;
  assert.equal(run.code, 2);
  assert.equal(run.stderr, 'edge-ha: CLI_USAGE: --mode must be merge or overwrite, not "bogus".\n');
  assert.equal(existsSync(file), false);
});

test('edge-ha sync exits 1 and names the reason when nothing listens on the peer port', async () => {
  const dead = await new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
  // --lookback-ms: a file with no history has nothing to pull otherwise (the peer is never asked).
  const run = await start([
    ...['sync', '--db', join(dir, 'dead-peer.sqlite'), '--peer', `http://127.0.0.1:${dead}`],
    ...['--lookback-ms', '60000', '--retries', '1'],
  ]).exited;
  assert.equal(run.code, 1, run.stdout + run.stderr);
  assert.match(run.stdout, /^ {2}PEER_UNREACHABLE: /m);
  assert.match(run.stdout, /sync finished_with_error\n$/);
});

/**
 * A peer in its own process, for the back-fill benchmarks: serves an existing SQLite file with
 * {@link createPeerHandler} over `node:http` on 127.0.0.1 (what `edge-ha serve` does, without
 * the CLI's start-up work), prints one line `{"url": …}` once it listens, and exits when its
 * stdin closes. Started by {@link startPeerProcess}.
 *
 * Run as `node --import tsx bench/peer-process.ts <file> <token> <maxPageLimit>`.
 */

import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createPeerHandler } from '../src/peer/http-handler.js';
import { toNodeListener } from '../src/peer/node-listener.js';
import { openSqliteStorage } from '../src/sqlite/adapter.js';
import { isMain } from './lib.js';

/** A running peer process. */
export interface PeerProcess {
  /** Base URL of its peer handler. */
  readonly url: string;
  /** Stops it (closes its stdin) and waits for it to exit. */
  stop(): Promise<void>;
}

const SELF = fileURLToPath(import.meta.url);
/** The repository root, so `--import tsx` resolves from its node_modules. */
const REPO = fileURLToPath(new URL('..', import.meta.url));
/** How long the child may take to listen. */
const START_TIMEOUT_MS = 30_000;

/** Starts a peer process serving `file` (SQLite, edge-ha schema) with read token `token`. */
export function startPeerProcess(
  file: string,
  token: string,
  maxPageLimit: number,
): Promise<PeerProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', SELF, file, token, String(maxPageLimit)],
      { stdio: ['pipe', 'pipe', 'inherit'], cwd: REPO },
    );
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`the peer process did not listen within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const line = out.indexOf('\n');
      if (line < 0) return;
      clearTimeout(timer);
      const { url } = JSON.parse(out.slice(0, line)) as { url: string };
      resolve({
        url,
        stop: async () => {
          child.stdin.end();
          await exited;
        },
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the peer process exited with code ${String(code)} before it listened`));
    });
  });
}

async function main(): Promise<void> {
  const [file, token, limit] = process.argv.slice(2);
  if (file === undefined || token === undefined || limit === undefined) {
    throw new Error('usage: peer-process.ts <file> <token> <maxPageLimit>');
  }
  const storage = openSqliteStorage(file);
  const server = createServer(
    toNodeListener(
      createPeerHandler({
        storage,
        token,
        instanceId: 'bench-remote',
        limits: { maxPageLimit: Number(limit) },
      }),
    ),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/edge-ha/v1` })}\n`);
  process.stdin.resume();
  process.stdin.once('end', () => {
    server.closeAllConnections();
    server.close(() => {
      storage.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    });
  });
}

if (isMain(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

// One-shot consumer scripts (ESM with top-level await, and CommonJS) that import the BUILT package
// by name and `await governor.start()` against a port nobody listens on: the process must stay
// alive through the back-off, print the summary state and exit 1. (If the run's back-off timers
// were all unref'd, Node would end the process first: exit 13 for the unsettled top-level await,
// exit 0 with nothing printed for CommonJS.) No SQLite: runs on every supported Node.
// Run after `npm run build`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** A loopback port that was free a moment ago (bound, then released). */
function deadPort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs `node <script> <args>`; resolves with { code, signal, stdout, stderr }; killed after 20 s. */
function run(script, args) {
  const file = fileURLToPath(new URL(`./fixtures/${script}`, import.meta.url));
  const child = spawn(process.execPath, [file, ...args], {
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve, reject) => {
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

for (const script of ['dead-peer.mjs', 'dead-peer.cjs']) {
  test(`${script}: await governor.start() against a dead port exits 1 with finished_with_error`, async () => {
    const result = await run(script, [String(await deadPort())]);
    const output = `exit ${result.code} (${result.signal})\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
    assert.equal(result.signal, null, output);
    assert.equal(result.code, 1, output);
    assert.match(result.stdout, /^timeSeries finished_with_error PEER_UNREACHABLE$/m, output);
    assert.match(result.stdout, /^events finished_with_error PEER_UNREACHABLE$/m, output);
    assert.match(result.stdout, /^state finished_with_error$/m, output);
    assert.equal(result.stderr, '', output);
  });
}

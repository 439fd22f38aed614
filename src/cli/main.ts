#!/usr/bin/env node
/**
 * The `edge-ha` bin: wires {@link runCli} to the process (argv, stdio, environment, SIGINT and
 * SIGTERM for a clean shutdown) and sets the exit code.
 */

import { runCli } from './run.js';

const controller = new AbortController();
let stopping = false;
const stop = (): void => {
  if (stopping) {
    // A second Ctrl-C while shutting down: give up waiting.
    process.exit(130);
  }
  stopping = true;
  controller.abort();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
}).then(
  (code) => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`edge-ha: INTERNAL: ${String(error)}\n`);
    process.exitCode = 1;
  },
);

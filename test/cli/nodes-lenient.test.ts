/**
 * `edge-ha nodes|status` on a ledger holding invalid policies, run as a user runs them (the real
 * bin in a child process): like AnyLog (EdgeLake `blockchain/metadata.py`, `load`, which passes
 * over a policy it cannot use), the reports cover what loads and the issues go to stderr with
 * their codes.
 */

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `src/cli/main.ts` through tsx in a child process (the pattern of helpers.ts). */
function edgeHa(argv: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...argv], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const CLUSTER = 'c0ffee00c0ffee00c0ffee00c0ffee00';
const op = (name: string, ip: string, extra: Record<string, unknown>) => ({
  operator: { company: 'Acme', name, ip, port: 7070, cluster: CLUSTER, ...extra },
});
const ledger = [
  { cluster: { company: 'Acme', name: 'plant', id: CLUSTER, table: [{ dbms: 'p', name: 's' }] } },
  op('operator-a', '10.0.0.5', { member: 1, id: 'a' }),
  op('operator-b', '10.0.0.6', { member: 300, id: 'b' }), // MEMBER_RANGE: skipped
  op('operator-c', '10.0.0.7', { id: 'c' }), // no member: loaded, not routed (warning)
  op('operator-d', 'not an ip!', { member: 4, id: 'd' }), // IP_INVALID: skipped
];

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edge-ha-lenient-'));
  file = join(dir, 'ledger.json');
  await writeFile(file, JSON.stringify(ledger));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('edge-ha nodes|status load a ledger leniently', () => {
  it('nodes reports what loads and prints each issue with its code on stderr', async () => {
    const run = await edgeHa(['nodes', file, '--format', 'json']);
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as { nodeName: string }[];
    expect(rows.map((row) => row.nodeName)).toEqual(['operator-a']);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines.filter((line) => /^edge-ha: (error|warning) /.test(line)).length).toBe(3);
    expect(run.stderr).toMatch(/^edge-ha: error +MEMBER_RANGE +policy #2 \(b\)/m);
    expect(run.stderr).toMatch(/^edge-ha: warning +OPERATOR_NO_MEMBER +policy #3 \(c\)/m);
    expect(run.stderr).toMatch(/^edge-ha: error +IP_INVALID +policy #4 \(d\)/m);
    expect(lines.at(-1)).toContain('skipped 2 of 5 policies');
  });

  it('status counts only the loaded copies', async () => {
    const run = await edgeHa(['status', file, '--format', 'json']);
    expect(run.code).toBe(0);
    const [row] = JSON.parse(run.stdout) as { copiesConfigured: number; state: string }[];
    expect(row).toMatchObject({ copiesConfigured: 1, state: 'ok' });
    expect(run.stderr).toContain('MEMBER_RANGE');
  });
});

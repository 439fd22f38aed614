/**
 * Runs the two-node walk-through of docs/getting-started.md as the guide says: every block
 * marked `<!-- guide-test: … -->` is run with bash, in order, in one temporary directory, with
 * the real `edge-ha` bin on the PATH (`src/cli/main.ts` through tsx, never a stale build):
 *
 * - `env`: the exports, run before every other block (the guide runs them "in every terminal");
 * - `start <node> [until "<text>"]`: a long-running `edge-ha serve` in the background (its own
 *   process group, as in its own terminal), optionally waiting for `<text>` on its stdout;
 * - `run`: commands run to completion; the block's `# …` lines are the stdout the guide shows
 *   (`…` stands for any timestamp) and must match the stdout, line by line;
 * - `stop <node>`: Ctrl-C (SIGINT) to the node; it must exit 0 and print `edge-ha: stopped`.
 *
 * The guide's ports (7071, 7072) are replaced by free ports, so the test runs next to anything.
 * Every wait is bounded. Afterwards the test checks the files: A holds B's data.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { openSqliteStorage } from '../../src/sqlite/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GUIDE = join(ROOT, 'docs/getting-started.md');
const GUIDE_PORTS = ['7071', '7072'] as const;
/** Longest wait for one block or one node, ms. */
const STEP_TIMEOUT_MS = 45_000;

/** One marked step of the guide. */
type Step =
  | { readonly kind: 'env'; readonly script: string }
  | { readonly kind: 'run'; readonly script: string; readonly expected: readonly string[] }
  | {
      readonly kind: 'start';
      readonly node: string;
      readonly script: string;
      readonly until: string | undefined;
    }
  | { readonly kind: 'stop'; readonly node: string };

/** The marked steps of the guide, in order. */
function guideSteps(text: string): Step[] {
  const steps: Step[] = [];
  const marker = /<!-- guide-test: ([^>]*?) -->\n(?:```sh\n([\s\S]*?)```)?/g;
  for (const match of text.matchAll(marker)) {
    const directive = (match[1] as string).trim();
    const script = match[2];
    const [kind, node] = directive.split(/\s+/);
    if (kind === 'stop') {
      steps.push({ kind, node: node as string });
      continue;
    }
    if (script === undefined) throw new Error(`"${directive}" is not followed by a sh block`);
    if (kind === 'env') steps.push({ kind, script });
    else if (kind === 'start') {
      const until = /until "([^"]+)"/.exec(directive)?.[1];
      steps.push({ kind, node: node as string, script, until });
    } else if (kind === 'run') {
      const expected = script
        .split('\n')
        .filter((line) => line.startsWith('# '))
        .map((line) => line.slice(2));
      steps.push({ kind, script, expected });
    } else throw new Error(`unknown guide-test directive "${directive}"`);
  }
  return steps;
}

/** A line the guide shows as a pattern: `…` is any timestamp-like run of characters. */
function linePattern(expected: string): RegExp {
  const parts = expected.split('…').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('[0-9]+')}$`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface Running {
  readonly child: ChildProcess;
  stdout: string;
  stderr: string;
  readonly exited: Promise<number | null>;
}

const dir = mkdtempSync(join(tmpdir(), 'edge-ha-guide-'));
const nodes = new Map<string, Running>();
afterAll(async () => {
  for (const running of nodes.values()) {
    if (running.child.exitCode === null && running.child.signalCode === null) {
      process.kill(-(running.child.pid as number), 'SIGKILL');
      await running.exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('docs/getting-started.md', () => {
  test('the two-node walk-through runs as written: B gets A’s data, A catches up after its downtime', async () => {
    const text = readFileSync(GUIDE, 'utf8');
    const steps = guideSteps(text);
    // The walk-through the guide promises, in this order.
    expect(
      steps.map((step) =>
        step.kind === 'start' || step.kind === 'stop' ? `${step.kind} ${step.node}` : step.kind,
      ),
    ).toEqual([
      'env',
      'start a',
      'run',
      'start b',
      'run',
      'stop a',
      'run',
      'start a',
      'run',
      'run',
      'run',
      'stop a',
      'stop b',
    ]);

    // `edge-ha` on the PATH: the real bin, from the sources.
    const bin = join(dir, 'bin');
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'edge-ha'),
      `#!/bin/sh\nexec "${process.execPath}" --import "${tsx}" "${join(ROOT, 'src/cli/main.ts')}" "$@"\n`,
    );
    chmodSync(join(bin, 'edge-ha'), 0o755);
    const work = join(dir, 'work');
    mkdirSync(work);

    // The guide needs curl; say so plainly if it is missing.
    const curl = spawnSync('curl', ['--version']);
    expect(curl.error, 'the guide runs curl: install it to run this test').toBeUndefined();

    const ports: string[] = [];
    while (ports.length < GUIDE_PORTS.length) {
      const port = String(await freePort());
      if (!ports.includes(port)) ports.push(port);
    }
    const localize = (script: string): string =>
      GUIDE_PORTS.reduce((s, port, i) => s.replaceAll(port, ports[i] as string), script);
    const env = { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: dir, NO_COLOR: '1' };
    let prelude = '';

    const spawnBash = (script: string): Running => {
      const child = spawn('bash', ['-e', '-c', `${prelude}\n${localize(script)}`], {
        cwd: work,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group, like a terminal of its own
      });
      const running: Running = {
        child,
        stdout: '',
        stderr: '',
        exited: new Promise((resolve) => child.on('close', (code) => resolve(code))),
      };
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        running.stdout += chunk;
      });
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        running.stderr += chunk;
      });
      return running;
    };
    /** Resolves once `check()` holds, polling every 50 ms; fails after the step timeout. */
    const waitFor = async (what: string, check: () => boolean, info: () => string) => {
      const deadline = Date.now() + STEP_TIMEOUT_MS;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${info()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const ended = (running: Running): boolean =>
      running.child.exitCode !== null || running.child.signalCode !== null;

    for (const [index, step] of steps.entries()) {
      const where = `step ${index + 1} (${step.kind}${'node' in step ? ` ${step.node}` : ''})`;
      if (step.kind === 'env') {
        prelude = step.script;
      } else if (step.kind === 'start') {
        const previous = nodes.get(step.node);
        if (previous !== undefined) expect(ended(previous), `${where}: already running`).toBe(true);
        const running = spawnBash(step.script);
        nodes.set(step.node, running);
        if (step.until !== undefined) {
          const until = step.until;
          await waitFor(
            `${where} to print "${until}"`,
            () => running.stdout.includes(until) || ended(running),
            () => running.stdout + running.stderr,
          );
          expect(ended(running), `${where} ended:\n${running.stdout}${running.stderr}`).toBe(false);
        }
      } else if (step.kind === 'stop') {
        const running = nodes.get(step.node);
        if (running === undefined) throw new Error(`${where}: node ${step.node} never started`);
        process.kill(-(running.child.pid as number), 'SIGINT');
        const timer = setTimeout(
          () => process.kill(-(running.child.pid as number), 'SIGKILL'),
          STEP_TIMEOUT_MS,
        );
        const code = await running.exited;
        clearTimeout(timer);
        expect(code, `${where}:\n${running.stdout}${running.stderr}`).toBe(0);
        expect(running.stdout).toContain('edge-ha: stopped');
      } else {
        const running = spawnBash(step.script);
        const timer = setTimeout(
          () => process.kill(-(running.child.pid as number), 'SIGKILL'),
          STEP_TIMEOUT_MS,
        );
        const code = await running.exited;
        clearTimeout(timer);
        const info = `${where}: exit ${code}\nstdout:\n${running.stdout}\nstderr:\n${running.stderr}\nnodes:\n${[...nodes].map(([name, node]) => `--- ${name}\n${node.stdout}${node.stderr}`).join('\n')}`;
        expect(code, info).toBe(0);
        const lines = running.stdout.split('\n').filter((line) => line !== '');
        expect(lines.length, info).toBe(step.expected.length);
        for (const [i, expected] of step.expected.entries()) {
          expect(lines[i], info).toMatch(linePattern(expected));
        }
      }
    }

    // What the guide claims, checked in the files: A holds everything B holds.
    const a = openSqliteStorage(join(work, 'a.sqlite'));
    const b = openSqliteStorage(join(work, 'b.sqlite'));
    try {
      const all = { from: 0, to: Number.MAX_SAFE_INTEGER };
      const pointsOf = async (storage: typeof a) =>
        (await storage.readPoints('boiler/temp', all, { limit: 100 })).items;
      expect((await pointsOf(b)).map((p) => p.v)).toEqual([71.5, 71.6, 72.4]);
      expect(await pointsOf(a)).toEqual(await pointsOf(b));
      expect((await a.readEvents(all, { limit: 100 })).items).toEqual(
        (await b.readEvents(all, { limit: 100 })).items,
      );
      expect(await a.listItems()).toEqual(['boiler/temp']);
    } finally {
      await a.close();
      await b.close();
    }
  }, 240_000);
});

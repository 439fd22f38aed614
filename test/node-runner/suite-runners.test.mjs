// Runs the conformance-suite snippets of docs/adapters.md under their runners (node:test, vitest,
// jest in ESM mode, mocha), exactly as written there, against the BUILT SQLite adapter: each
// snippet (the fenced blocks after a `<!-- suite-snippet: <runner> -->` comment) is written into a
// temporary project inside this repository, so that `edge-ha` resolves to dist/ through the
// package's own "exports" (package self-reference), and its "run with:" command runs in a child
// process. Each run must exit 0 having run and passed every test the suite registers.
// Node 20 only in CI: better-sqlite3 is compiled for the Node that ran `npm ci`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { runStorageAdapterSuite } from 'edge-ha/testing';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The snippets of docs/adapters.md by runner: `{ file, code, command? }` in document order. */
function snippets() {
  const text = readFileSync(join(repo, 'docs', 'adapters.md'), 'utf8');
  const found = new Map();
  const block = /<!-- suite-snippet: ([\w-]+) -->\n```\w*\n([\s\S]*?)```/g;
  for (const [, runner, code] of text.matchAll(block)) {
    const first = /^\/\/ (\S+)(?: — run with: (.+))?\n/.exec(code);
    assert.ok(first, `docs/adapters.md: the ${runner} snippet must start with "// <file>"`);
    const list = found.get(runner) ?? [];
    list.push({ file: first[1], code, command: first[2] });
    found.set(runner, list);
  }
  return found;
}

/** How many tests the suite registers for the snippets' options (persistent: the reopen test). */
function expectedTests() {
  let count = 0;
  runStorageAdapterSuite({
    test: () => {
      count++;
    },
    factory: () => {
      throw new Error('not called');
    },
    capabilities: { persistent: true },
  });
  return count;
}

/** The summary line of each runner: passed and failed counts, from its default output. */
const SUMMARIES = {
  'node-test': (out) => ({
    passed: Number(/^(?:#|ℹ) pass (\d+)$/m.exec(out)?.[1]),
    failed: Number(/^(?:#|ℹ) fail (\d+)$/m.exec(out)?.[1]),
  }),
  vitest: (out) => ({
    passed: Number(/Tests\s+(?:\d+ failed \| )?(\d+) passed/.exec(out)?.[1]),
    failed: Number(/Tests\s+(\d+) failed/.exec(out)?.[1] ?? 0),
  }),
  jest: (out) => ({
    passed: Number(/^Tests:\s+(?:\d+ failed, )?(\d+) passed/m.exec(out)?.[1]),
    failed: Number(/^Tests:\s+(\d+) failed/m.exec(out)?.[1] ?? 0),
  }),
  mocha: (out) => ({
    passed: Number(/^\s*(\d+) passing/m.exec(out)?.[1]),
    failed: Number(/^\s*(\d+) failing/m.exec(out)?.[1] ?? 0),
  }),
};

/** Runs `command` (a shell-free word list) in `cwd`; resolves with its exit code and output. */
function run(command, cwd) {
  const [program, ...args] = command.split(' ');
  const executable = program === 'node' ? process.execPath : program;
  return new Promise((resolve, reject) => {
    // Without NODE_TEST_CONTEXT, which would make a nested `node --test` report to this one.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const child = spawn(executable, args, {
      cwd,
      env: { ...env, NO_COLOR: '1', FORCE_COLOR: '0', CI: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output: stripVTControlCharacters(output) });
    });
  });
}

// coverage/ is git-ignored (so neither biome nor the repository's vitest sees the temporary
// projects) and lies inside the package, so `edge-ha` self-resolves to dist/.
mkdirSync(join(repo, 'coverage'), { recursive: true });
const root = mkdtempSync(join(repo, 'coverage', 'suite-runners-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('the conformance-suite snippets of docs/adapters.md, under their runners', () => {
  const all = snippets();
  const expected = expectedTests();

  test('docs/adapters.md has a snippet with a command for each of the four runners', () => {
    assert.deepEqual([...all.keys()].sort(), ['jest', 'mocha', 'node-test', 'vitest']);
    for (const [runner, list] of all) {
      assert.equal(list.filter((s) => s.command !== undefined).length, 1, runner);
    }
    assert.ok(expected > 50, `the suite registers ${expected} tests`);
  });

  for (const runner of ['node-test', 'vitest', 'jest', 'mocha']) {
    test(`${runner}: every suite test runs and passes`, async (t) => {
      const list = all.get(runner) ?? [];
      const dir = join(root, runner);
      mkdirSync(dir);
      // The project's node_modules (for `npx …` and `node_modules/jest/bin/jest.js`).
      symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
      // Stops vitest's upward search for a config at this project (it would find the repo's).
      if (runner === 'vitest')
        writeFileSync(join(dir, 'vitest.config.mjs'), 'export default {};\n');
      for (const { file, code } of list) writeFileSync(join(dir, file), code);
      const { command } = list.find((s) => s.command !== undefined) ?? {};
      const started = Date.now();
      const { code, signal, output } = await run(command, dir);
      t.diagnostic(
        `${runner}: \`${command}\` took ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      const tail = output.slice(-4000);
      assert.equal(signal, null, `${command} was killed (${signal}):\n${tail}`);
      assert.equal(code, 0, `${command} exited with ${code}:\n${tail}`);
      const summary = SUMMARIES[runner](output);
      assert.deepEqual(
        summary,
        { passed: expected, failed: 0 },
        `${command} must run and pass the ${expected} suite tests:\n${tail}`,
      );
    });
  }
});

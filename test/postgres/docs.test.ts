/**
 * Runs the examples of docs/postgres.md as the guide shows them, in order, against a database of
 * its own on the run's PostgreSQL server: every block marked `<!-- postgres-doc-test: ts -->` as
 * a program in a child process (`DATABASE_URL` set; the imports of `edge-ha/postgres` and `pg`
 * pointed at this checkout), every `<!-- postgres-doc-test: sql -->` block with pg. Each must
 * succeed; then the test checks what they left in the database.
 */

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, expect, test } from 'vitest';
import { postgresUrl } from './helpers.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GUIDE = join(ROOT, 'docs/postgres.md');
const TSX = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const STEP_TIMEOUT_MS = 30_000;

const database = `docs_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
const url = new URL(postgresUrl());
url.pathname = `/${database}`;
const dir = mkdtempSync(join(tmpdir(), 'edge-ha-pg-docs-'));
const admin = new pg.Pool({ connectionString: postgresUrl(), max: 1 });
admin.on('error', () => undefined);
afterAll(async () => {
  await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
});

interface Block {
  readonly kind: 'ts' | 'sql';
  readonly code: string;
}

function blocks(text: string): Block[] {
  const marker = /<!-- postgres-doc-test: (ts|sql) -->\n```(ts|sql)\n([\s\S]*?)```/g;
  return [...text.matchAll(marker)].map((m) => {
    if (m[1] !== m[2]) throw new Error(`a "${m[1]}" marker stands before a ${m[2]} block`);
    return { kind: m[1] as Block['kind'], code: m[3] as string };
  });
}

/** The block with its package imports pointed at this checkout (src/ through tsx, pg resolved). */
function localImports(code: string): string {
  const require = createRequire(join(ROOT, 'package.json'));
  const targets: Record<string, string> = {
    'edge-ha/postgres': pathToFileURL(join(ROOT, 'src/postgres/index.ts')).href,
    'edge-ha': pathToFileURL(join(ROOT, 'src/index.ts')).href,
    pg: pathToFileURL(require.resolve('pg')).href,
  };
  return code.replace(/from '([^']+)'/g, (whole, name: string) =>
    targets[name] === undefined ? whole : `from '${targets[name]}'`,
  );
}

function runProgram(
  file: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSX, file], {
      cwd: dir,
      env: { ...process.env, DATABASE_URL: url.href },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), STEP_TIMEOUT_MS);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('the examples of docs/postgres.md run as shown', async () => {
  await admin.query(`CREATE DATABASE "${database}"`);
  const steps = blocks(readFileSync(GUIDE, 'utf8'));
  expect(steps.filter((s) => s.kind === 'ts').length).toBeGreaterThanOrEqual(4);
  expect(steps.some((s) => s.kind === 'sql')).toBe(true);
  const db = new pg.Pool({ connectionString: url.href, max: 1 });
  // DROP DATABASE … WITH (FORCE) in afterAll ends any session still closing.
  db.on('error', () => undefined);
  const outputs: string[] = [];
  try {
    for (const [index, step] of steps.entries()) {
      if (step.kind === 'sql') {
        await db.query(step.code);
        continue;
      }
      const file = join(dir, `block-${index}.mts`);
      writeFileSync(file, localImports(step.code));
      const result = await runProgram(file);
      expect(result.code, `block ${index} of docs/postgres.md:\n${result.stderr}`).toBe(0);
      outputs.push(result.stdout);
    }
    // What the examples left: the default schema and plant_a, with their data and the view.
    const points = await db.query(
      'SELECT i.item, p.vn FROM edge_ha.points p JOIN edge_ha.items i ON i.id = p.item_id ORDER BY p.t',
    );
    expect(points.rows).toEqual([
      { item: 'plant/line-1/temp', vn: 21.5 },
      { item: 'plant/line-1/temp', vn: 21.6 },
    ]);
    expect(outputs.some((out) => out.includes("'plant/line-1/speed', 'plant/line-1/temp'"))).toBe(
      true,
    );
    const view = await db.query('SELECT count(*)::int AS n FROM plant_a.point_values');
    expect(view.rows).toEqual([{ n: 0 }]);
    const state = await db.query('SELECT state FROM plant_a.sync_state');
    expect(state.rows).toEqual([{ state: '{"checked":true}' }]);
    expect(outputs.at(-1)).toMatch(/hypertable|plain table/);
  } finally {
    await db.end();
  }
}, 120_000);

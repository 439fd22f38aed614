/**
 * `edge-ha serve --log-format json` and `GET /metrics`, on the real bin in child processes (the
 * way an operator runs it): every output line is one JSON object, /metrics needs the read token
 * unless --metrics-public, and a node that caught up says so in `edge_ha_caught_up`.
 */

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStorage } from '../../src/sqlite/adapter.js';
import { type CliProcess, spawnCli, startCli, tempDir } from './helpers.js';

const TOKEN = 'observability-test-token';
const ITEMS = ['plant/boiler/temperature', 'plant/pump/flow'];
const FROM = 1_700_000_000_000;

let tmp: Awaited<ReturnType<typeof tempDir>>;
const running: CliProcess[] = [];

beforeAll(async () => {
  tmp = await tempDir();
  const remote = openSqliteStorage(join(tmp.dir, 'b.sqlite'));
  for (const [index, item] of ITEMS.entries()) {
    await remote.appendPoints(
      item,
      Array.from({ length: 50 }, (_, i) => ({ t: FROM + i * 1_000, v: index * 100 + i })),
    );
  }
  await remote.close();
  const local = openSqliteStorage(join(tmp.dir, 'a.sqlite'));
  await local.registerItems(ITEMS);
  await local.close();
});

afterAll(async () => {
  for (const child of running) child.kill('SIGKILL');
  await tmp.cleanup();
});

interface LogLine {
  time: string;
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** Every stdout line as a JSON log entry (fails on a line that is not one). */
function jsonLines(stdout: string): LogLine[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const entry = JSON.parse(line) as LogLine;
      expect(entry.time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
      expect(new Date(entry.time).toISOString()).toBe(entry.time);
      expect(['debug', 'info', 'warn', 'error']).toContain(entry.level);
      expect(typeof entry.msg).toBe('string');
      return entry;
    });
}

function serve(args: readonly string[]): CliProcess {
  const child = startCli(['serve', '--port', '0', '--log-format', 'json', ...args], {
    env: { EDGE_HA_TOKEN: TOKEN },
    timeoutMs: 60_000,
  });
  running.push(child);
  return child;
}

async function urlOf(child: CliProcess): Promise<string> {
  const [, url] = await child.waitFor(
    /"msg":"edge-ha: serving \S+ at (http:\/\/127\.0\.0\.1:\d+\/edge-ha\/v1) /,
  );
  await child.waitFor(/running; heartbeats/);
  return url as string;
}

describe('edge-ha serve --log-format json, GET /metrics', () => {
  it('serves /metrics with the token (401 without), --metrics-public opens it; JSON log lines', async () => {
    const b = serve(['--db', join(tmp.dir, 'b.sqlite'), '--id', 'node-b']);
    const bUrl = await urlOf(b);
    const bOrigin = new URL(bUrl).origin;

    const anonymous = await fetch(`${bOrigin}/metrics`);
    expect(anonymous.status).toBe(401);
    await anonymous.body?.cancel();
    const scraped = await fetch(`${bUrl}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const bText = await scraped.text();
    expect(bText).toMatch(/^edge_ha_peer_info\{instance_id="node-b"\} 1$/m);
    expect(bText).toContain('# TYPE edge_ha_peer_requests_total counter');

    // A catches up from B, with /metrics open
    const back = String(Date.now() - FROM + 60_000);
    const a = serve([
      '--db',
      join(tmp.dir, 'a.sqlite'),
      '--id',
      'node-a',
      '--peer',
      bUrl,
      '--lookback-ms',
      back,
      '--max-recovery-ms',
      back,
      '--metrics-public',
    ]);
    const aUrl = await urlOf(a);
    const open = await fetch(`${new URL(aUrl).origin}/metrics`);
    expect(open.status).toBe(200);
    const aText = await open.text();
    expect(aText).toMatch(/^edge_ha_caught_up 1$/m);
    expect(aText).toMatch(/^edge_ha_gap_ledger_gaps\{deputy="timeSeries"\} 0$/m);
    expect(aText).toMatch(/^edge_ha_points_applied_total\{mode="merge"\} 100$/m);
    expect(aText).toMatch(/^edge_ha_deputy_state\{deputy="events"\} 5$/m);
    expect(aText).toMatch(/^edge_ha_last_finished_ok_age_seconds\{deputy="timeSeries"\} [\d.]+$/m);
    // the protocol routes of a --metrics-public node still need the token
    expect((await fetch(`${aUrl}/hello`)).status).toBe(401);

    const aRun = await a.interrupt();
    const bRun = await b.interrupt();
    expect(aRun.code).toBe(0);
    expect(bRun.code).toBe(0);
    expect(aRun.stderr).toBe('');
    expect(bRun.stderr).toBe('');
    const aLog = jsonLines(aRun.stdout);
    const bLog = jsonLines(bRun.stdout);
    expect(aLog.map((entry) => entry.msg)).toContain('edge-ha: stopped');
    // the governor's entries carry fields
    expect(aLog).toContainEqual(
      expect.objectContaining({
        level: 'info',
        event: 'transition',
        kind: 'timeSeries',
        fromCode: 4,
        toCode: 5,
      }),
    );
    expect(aLog).toContainEqual(
      expect.objectContaining({
        event: 'finished',
        kind: 'timeSeries',
        state: 'finished_ok',
        points: 100,
        errorCodes: [],
      }),
    );
    // B logged the refused scrape and the refused hello at warn, with their codes
    expect(bLog).toContainEqual(
      expect.objectContaining({ level: 'warn', status: 401, code: 'PEER_AUTH', path: '/metrics' }),
    );
  }, 90_000);

  it('rejects an unknown --log-format with a usage error (exit 2)', async () => {
    const run = await spawnCli(
      ['serve', '--db', join(tmp.dir, 'x.sqlite'), '--port', '0', '--log-format', 'xml'],
      { env: { EDGE_HA_TOKEN: TOKEN } },
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--log-format must be text or json');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLUSTER_ID, invalidPolicies, validPolicies } from './fixtures.js';
import { cli, tempDir } from './helpers.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let file: string;
beforeAll(async () => {
  tmp = await tempDir();
  file = await tmp.write('policies.json', validPolicies);
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('edge-ha nodes', () => {
  it('prints the data-nodes report: one row per table and operator', async () => {
    const run = await cli(['nodes', file]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^Company +DBMS +Table +Cluster ID/);
    expect(lines[0]).toContain('Node Name');
    const rows = lines.slice(2);
    expect(rows).toHaveLength(4); // 2 tables x 2 operators
    expect(rows.filter((row) => row.includes('operator-a'))).toHaveLength(2);
    expect(rows.filter((row) => row.includes('10.0.0.6:7070'))).toHaveLength(2);
  });

  it('filters by table and prints JSON rows', async () => {
    const run = await cli([
      'nodes',
      file,
      '--dbms',
      'plant',
      '--table',
      'alarms',
      '--format',
      'json',
    ]);
    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as { table: string; nodeName: string; clusterId: string }[];
    expect(rows.map((row) => row.nodeName).sort()).toEqual(['operator-a', 'operator-b']);
    expect(rows.every((row) => row.table === 'alarms' && row.clusterId === CLUSTER_ID)).toBe(true);
  });

  it('shows an operator named with --down as not responding', async () => {
    const run = await cli([
      'nodes',
      file,
      '--table',
      'sensors',
      '--down',
      '10.0.0.5:7070',
      '-f',
      'json',
    ]);
    const rows = JSON.parse(run.stdout) as { nodeName: string; nodeStatus: string }[];
    expect(rows.find((row) => row.nodeName === 'operator-a')?.nodeStatus).toBe('not_responding');
    expect(rows.find((row) => row.nodeName === 'operator-b')?.nodeStatus).toBe('active');
  });

  it('says so when nothing matches', async () => {
    const run = await cli(['nodes', file, '--table', 'nope']);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('No data nodes match.\n');
  });

  it('loads an invalid policy set leniently, as EdgeLake does: skips the bad operator, prints the issues (exit 0)', async () => {
    const bad = await tmp.write('invalid.json', invalidPolicies);
    const run = await cli(['nodes', bad, '-f', 'json']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/OPERATOR_DUPLICATE_ADDRESS|OPERATOR_CLUSTER_UNKNOWN/);
    expect(run.stderr).toMatch(/skipped 1 of 3 policies/);
    const rows = JSON.parse(run.stdout) as { nodeName: string }[];
    expect([...new Set(rows.map((row) => row.nodeName))]).toEqual(['operator-a']);
  });

  it('rejects a malformed --down address as a usage error', async () => {
    const run = await cli(['nodes', file, '--down', 'operator-a']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('CLI_USAGE: --down expects ip:port');
  });
});

describe('edge-ha status', () => {
  it('reports every copy live from a policy file', async () => {
    const run = await cli(['status', file, '-f', 'json']);
    expect(run.code).toBe(0);
    const [row] = JSON.parse(run.stdout) as {
      copiesConfigured: number;
      copiesLive: number;
      state: string;
    }[];
    expect(row).toMatchObject({ copiesConfigured: 2, copiesLive: 2, state: 'ok' });
  });

  it('reports under-replicated and unavailable tables for operators named down', async () => {
    const one = JSON.parse(
      (await cli(['status', file, '--down', '10.0.0.5:7070', '-f', 'json'])).stdout,
    ) as {
      copiesLive: number;
      state: string;
      underReplicated: string[];
    }[];
    expect(one[0]).toMatchObject({ copiesLive: 1, state: 'under_replicated' });
    expect([...(one[0]?.underReplicated ?? [])].sort()).toEqual(['plant.alarms', 'plant.sensors']);

    const run = await cli(['status', file, '--down', '10.0.0.5:7070', '--down', '10.0.0.6:7070']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Company +Cluster +Cluster ID/);
    expect(run.stdout).toContain('unavailable');
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invalidPolicies, validPolicies, warningPolicies } from './fixtures.js';
import { cli, tempDir } from './helpers.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('edge-ha policy validate', () => {
  it('exits 0 and says valid for a valid set', async () => {
    const file = await tmp.write('valid.json', validPolicies);
    const run = await cli(['policy', 'validate', file]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('3 policies, 0 errors, 0 warnings: valid');
  });

  it('prints every error with its code and path and exits 1', async () => {
    const file = await tmp.write('invalid.json', invalidPolicies);
    const run = await cli(['policy', 'validate', file]);
    expect(run.code).toBe(1);
    const errors = run.stdout.split('\n').filter((line) => line.startsWith('error'));
    // Two distinct problems: the duplicate address and the unknown cluster, both on policy #2.
    expect(errors.length).toBeGreaterThanOrEqual(2);
    for (const line of errors) expect(line).toMatch(/^error +[A-Z][A-Z_]+ {2}policy #\d/);
    expect(run.stdout).toMatch(
      /^error +OPERATOR_DUPLICATE_ADDRESS {2}policy #2 \(b{4}0{4}.*\) at operator\.ip: /m,
    );
    expect(run.stdout).toMatch(
      /^error +OPERATOR_CLUSTER_UNKNOWN {2}policy #2 .* at operator\.cluster: /m,
    );
    expect(run.stdout).toContain('INVALID');
  });

  it('prints warnings but exits 0 when there is no error', async () => {
    const file = await tmp.write('warning.json', warningPolicies);
    const run = await cli(['policy', 'validate', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^warning OPERATOR_MULTIPLE_MAINS {2}policy #\d/m);
    expect(run.stdout).toContain('0 errors, 1 warning: valid');
  });

  it('prints the issues as JSON with --format json', async () => {
    const file = await tmp.write('invalid2.json', invalidPolicies);
    const run = await cli(['policy', 'validate', file, '--format', 'json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as {
      valid: boolean;
      policies: number;
      errors: { code: string; index: number; path: unknown[]; severity: string }[];
    };
    expect(report.valid).toBe(false);
    expect(report.policies).toBe(3);
    expect(report.errors.every((issue) => issue.severity === 'error' && issue.index === 2)).toBe(
      true,
    );
    expect(report.errors.map((issue) => issue.code).sort()).toEqual([
      'OPERATOR_CLUSTER_UNKNOWN',
      'OPERATOR_DUPLICATE_ADDRESS',
    ]);
  });

  it('reads the Python-literal form AnyLog prints', async () => {
    const file = await tmp.write(
      'python.txt',
      `{'cluster' : {'company' : 'Smart City', 'name' : 'power-plant', 'table' : [{'name' : 'ping', 'dbms' : 'lsl', 'status' : 'active'},],}},`,
    );
    const run = await cli(['policy', 'validate', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('1 policy, 0 errors');
  });

  it('reports a syntax error with the file, line and column (exit 1)', async () => {
    const file = await tmp.write(
      'broken.json',
      '[\n  {"cluster": {"company": "Acme",, "name": "x"}}\n]',
    );
    const run = await cli(['policy', 'validate', file]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      new RegExp(
        `^edge-ha: POLICY_SYNTAX: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:2:\\d+: `,
      ),
    );
  });

  it('reports a missing file with CLI_FILE (exit 1)', async () => {
    const run = await cli(['policy', 'validate', 'no-such-file.json'], { cwd: tmp.dir });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^edge-ha: CLI_FILE: Cannot read "no-such-file.json": no such file/);
  });

  it('resolves relative paths against the working directory', async () => {
    await tmp.write('relative.json', validPolicies);
    const run = await cli(['policy', 'validate', 'relative.json'], { cwd: tmp.dir });
    expect(run.code).toBe(0);
  });

  it('is a usage error (exit 2) without a file or with a bad --format', async () => {
    expect((await cli(['policy', 'validate'])).code).toBe(2);
    const file = await tmp.write('valid-fmt.json', validPolicies);
    const run = await cli(['policy', 'validate', file, '--format', 'xml']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('CLI_USAGE: --format must be "table" or "json"');
  });
});

describe('edge-ha policy id', () => {
  it("prints AnyLog's id for a cluster without one", async () => {
    // SPEC §1.3 test vector: the id AnyLog gives this cluster.
    const file = await tmp.write('cluster.json', {
      cluster: { company: 'Smart City', name: 'power-plant' },
    });
    const run = await cli(['policy', 'id', file]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('2a5f83e1f2e63c16bbf5339988bf7489  cluster  power-plant  (computed)\n');
  });

  it('keeps a given id and prints JSON rows with --format json', async () => {
    const file = await tmp.write('ids.json', validPolicies);
    const run = await cli(['policy', 'id', file, '-f', 'json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([
      {
        index: 0,
        type: 'cluster',
        name: 'plant-cluster',
        id: 'c0ffee00c0ffee00c0ffee00c0ffee00',
        source: 'given',
      },
      {
        index: 1,
        type: 'operator',
        name: 'operator-a',
        id: 'aaaa0000aaaa0000aaaa0000aaaa0000',
        source: 'given',
      },
      {
        index: 2,
        type: 'operator',
        name: 'operator-b',
        id: 'bbbb0000bbbb0000bbbb0000bbbb0000',
        source: 'given',
      },
    ]);
  });
});

/**
 * What a person sees at a terminal when they mistype: "did you mean" for commands and options,
 * parse errors in the command's own terms, the command list; and the progress line's timing.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStream } from '../../src/cli/io.js';
import { formatDuration, formatRate, ProgressPrinter, renderBar } from '../../src/cli/progress.js';
import { firstSentence } from '../../src/cli/run.js';
import { closest, editDistance } from '../../src/cli/suggest.js';
import { spawnCli } from './helpers.js';

describe('did you mean (real process)', () => {
  it('suggests the command for a typo and exits 2', async () => {
    const run = await spawnCli(['nodse', 'x.json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'edge-ha: CLI_USAGE: Unknown command "nodse". Did you mean "nodes"? Run `edge-ha --help`.\n',
    );
  });

  it('suggests the subcommand of a group', async () => {
    const run = await spawnCli(['policy', 'valdate', 'x.json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      'Unknown command "policy valdate". Did you mean "policy validate"?',
    );
  });

  it('suggests nothing for a word that is no typo', async () => {
    const run = await spawnCli(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'edge-ha: CLI_USAGE: Unknown command "frobnicate". Run `edge-ha --help`.\n',
    );
  });

  it('suggests the option for a typo, in the command’s terms (no parseArgs wording)', async () => {
    const run = await spawnCli(['nodes', '--fromat', 'json', 'x.json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'edge-ha: CLI_USAGE: `edge-ha nodes` has no option --fromat. Did you mean --format? Run `edge-ha nodes --help`.\n',
    );
    const equals = await spawnCli(['nodes', '--fromat=json', 'x.json']);
    expect(equals.stderr).toContain('has no option --fromat. Did you mean --format?');
  });

  it('says which option needs a value, and which takes none', async () => {
    const missing = await spawnCli(['nodes', 'x.json', '--format']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      'edge-ha: CLI_USAGE: --format needs a value: --format table|json. Run `edge-ha nodes --help`.\n',
    );
    const flag = await spawnCli(['nodes', '--help=yes']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--help is a flag and takes no value.');
  });
});

describe('the command list', () => {
  it('shows the first sentence of each summary, never cut at a colon', async () => {
    const run = await spawnCli(['--help']);
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    const serve = lines.findIndex((line) => line.startsWith('  serve '));
    expect(lines[serve]).toMatch(/^ {2}serve +Run one node: serve its SQLite storage/);
    // The summary goes on, wrapped under itself, to its full stop.
    const continued = lines.slice(serve + 1).findIndex((line) => line.trimEnd().endsWith('.'));
    expect(continued).toBeGreaterThanOrEqual(0);
    expect(lines[serve + 1]).toMatch(/^ {20,}\S/);
    expect(firstSentence('Run one node: serve it. Exit 1 if not.')).toBe('Run one node: serve it.');
  });
});

describe('suggestions', () => {
  it('counts edits, a swap of neighbours as one', () => {
    expect(editDistance('format', 'format')).toBe(0);
    expect(editDistance('fromat', 'format')).toBe(1);
    expect(editDistance('formt', 'format')).toBe(1);
    expect(editDistance('formatt', 'format')).toBe(1);
    expect(editDistance('peer', 'token')).toBe(4);
    expect(editDistance('abcdef', 'uvwxyz', 2)).toBe(3);
  });

  it('only suggests close words', () => {
    expect(closest('sevre', ['serve', 'sync', 'status'])).toBe('serve');
    expect(closest('snyc', ['serve', 'sync', 'status'])).toBe('sync');
    expect(closest('x', ['serve', 'sync'])).toBeUndefined();
    expect(closest('deploy', ['demo', 'nodes'])).toBeUndefined();
  });
});

describe('progress timing on a terminal', () => {
  it('renders the rate, the elapsed time and the time left', () => {
    expect(
      renderBar({ label: 'series', done: 1, total: 4, points: 10_000, events: 0 }, 8, {
        elapsedMs: 20_000,
      }),
    ).toBe('series  [##------] 1/4 items  points 10000  events 0  500/s  elapsed 0:20  ETA 1:00');
    expect(formatDuration(3_725_000)).toBe('1:02:05');
    expect(formatRate(2_500_000)).toBe('2.5 M/s');
    expect(formatRate(12_500)).toBe('12.5 k/s');
  });

  it('measures from the first view of each label with the given clock', () => {
    let now = 1_000;
    const out = new MemoryStream({ isTTY: true });
    const progress = new ProgressPrinter(out, '', () => now);
    progress.update({ label: 'series', done: 0, total: 2, points: 0, events: 0 });
    now = 11_000;
    progress.update({ label: 'series', done: 1, total: 2, points: 50_000, events: 0 });
    progress.done();
    expect(out.text).toContain('1/2 items  points 50000  events 0  5000/s  elapsed 0:10  ETA 0:10');
  });

  it('keeps plain lines (logs, CI) free of timing', () => {
    const out = new MemoryStream({ isTTY: false });
    const progress = new ProgressPrinter(out, '', () => 5_000);
    progress.update({ label: 'series', done: 1, total: 2, points: 9, events: 0 });
    expect(out.text).toBe(
      'progress series  [############------------] 1/2 items  points 9  events 0\n',
    );
  });
});

import { describe, expect, it } from 'vitest';
import { formatHelp, parseCommand, tokenOption, writeTokenOption } from '../../src/cli/args.js';
import { formatError } from '../../src/cli/errors.js';
import { MemoryStream } from '../../src/cli/io.js';
import { ProgressPrinter, renderBar } from '../../src/cli/progress.js';
import { COMMANDS } from '../../src/cli/run.js';
import { normalizePeerUrl } from '../../src/cli/server.js';
import { StorageError } from '../../src/errors.js';
import { cli, tempDir } from './helpers.js';

describe('edge-ha (top level)', () => {
  it('prints the command list on --help and exits 0', async () => {
    const run = await cli(['--help']);
    expect(run.code).toBe(0);
    for (const command of COMMANDS) expect(run.stdout).toContain(command.spec.name);
  });

  it('exits 2 with usage on stdout when called without a command', async () => {
    const run = await cli([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain('Usage: edge-ha <command>');
  });

  it('rejects an unknown command with CLI_USAGE and exit code 2', async () => {
    const run = await cli(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^edge-ha: CLI_USAGE: Unknown command "frobnicate"/);
    expect(run.stdout).toBe('');
  });

  it('rejects an unknown sub-command of a group with exit code 2', async () => {
    const run = await cli(['policy', 'explode', 'x.json']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Unknown command "policy explode"');
  });

  it('lists the sub-commands of a group', async () => {
    const run = await cli(['policy', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('edge-ha policy validate');
    expect(run.stdout).toContain('edge-ha policy id');
  });

  it('rejects out-of-range numbers as usage errors', async () => {
    const run = await cli(['demo', '--downtime-ms', '5']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'edge-ha: CLI_USAGE: --downtime-ms must be an integer from 100 to 600000, got "5".\n',
    );
  });

  it('prints the version', async () => {
    const run = await cli(['--version']);
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('`serve --help` says where the write token comes from and what happens without one', async () => {
    const run = await cli(['serve', '--help']);
    expect(run.code).toBe(0);
    const help = run.stdout.replace(/\s+/g, ' ');
    expect(help).toContain('--write-token <token>');
    expect(help).toContain('--write-token-file <file>');
    expect(help).toContain('EDGE_HA_WRITE_TOKEN');
    expect(help).toContain('Without one every write is refused with 403 PEER_FORBIDDEN');
  });

  it.each(COMMANDS.map((command) => [command.spec.name]))(
    '`%s --help` documents every option',
    async (name) => {
      const command = COMMANDS.find((c) => c.spec.name === name);
      const run = await cli([...name.split(' '), '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: edge-ha ${name}`);
      for (const option of Object.keys(command?.spec.options ?? {}))
        expect(run.stdout).toContain(`--${option}`);
    },
  );

  it.each(COMMANDS.map((command) => [command.spec.name]))(
    '`%s` rejects an unknown option with exit 2',
    async (name) => {
      const run = await cli([...name.split(' '), '--no-such-option']);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^edge-ha: CLI_USAGE: .*--no-such-option/);
    },
  );
});

describe('argument helpers', () => {
  const spec = {
    name: 'thing',
    summary: 'Does a thing.',
    args: '<file>',
    positionals: [1, 1] as const,
    options: { level: { type: 'string' as const, description: 'The level' } },
  };

  it('parses options and positionals', () => {
    const args = parseCommand(spec, ['a.json', '--level', '3']);
    expect(args.positionals).toEqual(['a.json']);
    expect(args.values.level).toBe('3');
    expect(args.help).toBe(false);
  });

  it('counts positionals', () => {
    expect(() => parseCommand(spec, [])).toThrow(/expected <file>/);
    expect(() => parseCommand(spec, ['a', 'b'])).toThrow(/got 2 argument/);
  });

  it('renders help with options and --help', () => {
    const help = formatHelp(spec);
    expect(help).toContain('Usage: edge-ha thing <file> [options]');
    expect(help).toContain('--level <value>');
    expect(help).toContain('-h, --help');
  });

  it('takes the token from --token, then --token-file, then EDGE_HA_TOKEN', async () => {
    const tmp = await tempDir();
    try {
      const file = await tmp.write('token.txt', 'from-file\nignored\n');
      const io = {
        stdout: new MemoryStream(),
        stderr: new MemoryStream(),
        env: { EDGE_HA_TOKEN: 'from-env' },
      };
      const parse = (argv: string[]) =>
        parseCommand(
          {
            ...spec,
            positionals: [0, 0],
            options: {
              token: { type: 'string', description: '' },
              'token-file': { type: 'string', description: '' },
            },
          },
          argv,
        );
      expect(await tokenOption(io, parse(['--token', 'direct']))).toBe('direct');
      expect(await tokenOption(io, parse(['--token-file', file]))).toBe('from-file');
      expect(await tokenOption(io, parse([]))).toBe('from-env');
      await expect(tokenOption({ ...io, env: {} }, parse([]))).rejects.toMatchObject({
        code: 'CLI_NO_TOKEN',
      });
    } finally {
      await tmp.cleanup();
    }
  });

  it('takes the write token from --write-token, then --write-token-file, then EDGE_HA_WRITE_TOKEN', async () => {
    const tmp = await tempDir();
    try {
      const file = await tmp.write('write-token.txt', '  from-file  \r\nignored\n');
      const empty = await tmp.write('empty.txt', '\n');
      const io = {
        stdout: new MemoryStream(),
        stderr: new MemoryStream(),
        env: { EDGE_HA_WRITE_TOKEN: 'from-env', EDGE_HA_TOKEN: 'not-this-one' },
      };
      const parse = (argv: string[]) =>
        parseCommand(
          {
            ...spec,
            positionals: [0, 0],
            options: {
              'write-token': { type: 'string', description: '' },
              'write-token-file': { type: 'string', description: '' },
            },
          },
          argv,
        );
      const read = 'read-token';
      expect(
        await writeTokenOption(
          io,
          parse(['--write-token', 'direct', '--write-token-file', file]),
          read,
        ),
      ).toBe('direct');
      expect(await writeTokenOption(io, parse(['--write-token-file', file]), read)).toBe(
        'from-file',
      );
      expect(await writeTokenOption(io, parse([]), read)).toBe('from-env');
      // None at all is not an error: the node then refuses writes.
      expect(await writeTokenOption({ ...io, env: {} }, parse([]), read)).toBeUndefined();
      await expect(
        writeTokenOption(io, parse(['--write-token-file', empty]), read),
      ).rejects.toMatchObject({ code: 'CLI_NO_TOKEN' });
      await expect(
        writeTokenOption(io, parse(['--write-token-file', `${file}.missing`]), read),
      ).rejects.toMatchObject({ code: 'CLI_FILE' });
      await expect(writeTokenOption(io, parse([]), 'from-env')).rejects.toMatchObject({
        code: 'CLI_USAGE',
      });
    } finally {
      await tmp.cleanup();
    }
  });

  it('normalizes peer URLs', () => {
    expect(normalizePeerUrl('http://10.0.0.5:7070')).toBe('http://10.0.0.5:7070/edge-ha/v1');
    expect(normalizePeerUrl('http://10.0.0.5:7070/custom/v1')).toBe(
      'http://10.0.0.5:7070/custom/v1',
    );
    expect(() => normalizePeerUrl('10.0.0.5:7070')).toThrow(/http/);
    expect(() => normalizePeerUrl('ftp://host/x')).toThrow(/http/);
  });

  it('formats library errors with their code', () => {
    expect(formatError(new StorageError('STORAGE_CLOSED', 'closed'))).toBe(
      'edge-ha: STORAGE_CLOSED: closed',
    );
    expect(formatError(new Error('boom'))).toBe('edge-ha: INTERNAL: boom');
  });
});

describe('progress output', () => {
  it('renders a bar proportional to the work done', () => {
    expect(renderBar({ label: 'series', done: 1, total: 4, points: 10, events: 2 }, 8)).toBe(
      'series  [##------] 1/4 items  points 10  events 2',
    );
  });

  it('prints plain lines (one per change) when not a terminal', () => {
    const out = new MemoryStream({ isTTY: false });
    const progress = new ProgressPrinter(out);
    progress.update({ label: 'series', done: 0, total: 2, points: 0, events: 0 });
    progress.update({ label: 'series', done: 0, total: 2, points: 5, events: 0 });
    progress.update({ label: 'series', done: 1, total: 2, points: 9, events: 0 });
    progress.line('a transition');
    progress.done();
    expect(out.text).not.toContain('\r');
    expect(out.text.split('\n').filter(Boolean)).toEqual([
      'progress series  [------------------------] 0/2 items  points 0  events 0',
      'progress series  [############------------] 1/2 items  points 9  events 0',
      'a transition',
    ]);
  });

  it('redraws in place on a terminal and keeps other lines above the bar', () => {
    const out = new MemoryStream({ isTTY: true });
    const progress = new ProgressPrinter(out);
    progress.update({ label: 'series', done: 1, total: 2, points: 1, events: 0 });
    progress.line('transition');
    progress.done();
    expect(out.text).toContain('\r\x1b[2K');
    expect(out.text).toContain('transition\n');
    expect(out.text.endsWith('\n')).toBe(true);
  });
});

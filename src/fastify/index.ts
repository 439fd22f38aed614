/**
 * `edge-ha/fastify`: the peer protocol as a Fastify 5 plugin. {@link edgeHaPlugin} mounts the
 * routes of `createPeerHandler` (hello, items, paged reads, writes, `/healthz`, `/readyz`,
 * `/metrics`) in a Fastify app, under the `prefix` given to `register`.
 *
 * Mounting `toNodeListener` in a Fastify route does not work for the POST routes: Fastify's JSON
 * parser consumes the body before the route runs, and the handler then waits for a body that
 * never comes. The plugin instead replaces, in its own encapsulated context only, every content
 * type parser with one that hands the unread request stream to the handler, which reads it with
 * its own size cap (`limits.maxBodyBytes`). The host's other routes keep their parsers.
 *
 * Its types come from `fastify` (an optional peer dependency): only a consumer of this subpath,
 * who has Fastify, needs it. At run time the plugin imports nothing from `fastify`.
 *
 * @module edge-ha/fastify
 */

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { createPeerHandler, type PeerHandlerOptions } from '../peer/http-handler.js';
import { bodyStream } from '../peer/node-listener.js';
import { DEFAULT_PEER_BASE_PATH } from '../peer/wire.js';

/**
 * Options of {@link edgeHaPlugin}: those of `createPeerHandler`, plus where the routes go.
 *
 * @group Peer protocol
 */
export interface EdgeHaPluginOptions extends PeerHandlerOptions {
  /**
   * Also mount `GET /healthz`, `GET /readyz` and `GET /metrics` directly under the prefix (they
   * are always served under `basePath` too: `/edge-ha/v1/healthz`, …). Turn it off when the host
   * has routes of those names at the same prefix (Fastify refuses duplicate routes).
   * @default true
   */
  readonly rootRoutes?: boolean;
  /**
   * Fastify's `register` option: every route of the plugin is mounted under it, and the handler
   * sees paths relative to it (so the peer URL is `<origin><prefix>/edge-ha/v1`).
   * @default '' (the routes at `/edge-ha/v1/*`)
   */
  readonly prefix?: string;
}

/** Statuses whose reply has no body (`Response` carries none). */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([204, 205, 304]);

/** The web `Request` the peer handler gets for a Fastify request, with its path relative to the prefix. */
function toWebRequest(
  request: FastifyRequest,
  prefix: string,
  signal: AbortSignal,
): Request | undefined {
  try {
    const url = request.url;
    const relative =
      prefix !== '' && url.toLowerCase().startsWith(prefix.toLowerCase())
        ? url.slice(prefix.length)
        : url;
    const headers = new Headers();
    for (const [name, value] of Object.entries(request.headers)) {
      if (name.startsWith(':') || value === undefined) continue; // HTTP/2 pseudo-headers
      for (const entry of Array.isArray(value) ? value : [value]) headers.append(name, entry);
    }
    // The plugin's content type parser made the body the unread stream (absent without a body).
    const payload = request.body as Parameters<typeof bodyStream>[0] | undefined;
    const hasBody =
      payload !== undefined &&
      payload !== null &&
      typeof (payload as { on?: unknown }).on === 'function';
    return new Request(
      new URL(relative.startsWith('/') ? relative : `/${relative}`, 'http://localhost'),
      {
        method: request.method,
        headers,
        signal,
        ...(hasBody ? { body: bodyStream(payload), duplex: 'half' as const } : {}),
      },
    );
  } catch {
    return undefined;
  }
}

/**
 * The peer protocol as a Fastify 5 plugin: register it with the options of `createPeerHandler`
 * (and Fastify's `prefix`), and the app serves, under `<prefix><basePath>/` (default
 * `/edge-ha/v1/`), every route of the handler, the write routes included, plus `/healthz`,
 * `/readyz` and `/metrics` at the prefix (see `rootRoutes`). Peers reach it with
 * `httpPeer({ url: '<origin><prefix>/edge-ha/v1', token })`.
 *
 * Request bodies are read by the handler itself, with its limits (`limits.maxBodyBytes`, `413`
 * beyond), never by Fastify: inside the plugin (and only there) every content type goes to a
 * parser that passes the unread stream through, so Fastify's `bodyLimit` does not apply to these
 * routes and the host's parsers (JSON, your own) do not see them. What a host's `preParsing`
 * hook returns (e.g. a decompressed stream) is what the handler reads. Replies (bounded pages)
 * go through `reply.send`, so the host's `onSend` and `onResponse` hooks and its request log
 * see them.
 *
 * Encapsulation: the plugin is an ordinary encapsulated Fastify plugin (it does not set
 * `Symbol.for('skip-override')`): its parser and routes stay in its own context, and it adds no
 * decorators. Hooks the host registered before it (e.g. an authentication `onRequest`) apply to
 * its routes too, as for any child plugin; the peer protocol brings its own bearer-token check.
 *
 * @throws {PeerError} `PEER_INVALID_OPTION` (at `register`, i.e. `ready()`/`listen()`) when an
 *   option of the handler is invalid.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import type { HAGovernor, StorageAdapter } from 'edge-ha';
 * import { edgeHaPlugin } from 'edge-ha/fastify';
 *
 * declare const storage: StorageAdapter;
 * declare const governor: HAGovernor;
 *
 * const app = Fastify({ logger: true });
 * app.post('/ingest', async (request) => ({ received: request.body })); // JSON, as usual
 * await app.register(edgeHaPlugin, {
 *   prefix: '/peer',
 *   storage,
 *   token: process.env.EDGE_HA_TOKEN!,
 *   instanceId: 'a',
 *   readiness: () => (governor.status().caughtUp ? { ready: true } : { ready: false, reason: 'catching up' }),
 * });
 * await app.listen({ port: 8080, host: '0.0.0.0' });
 * // peers: httpPeer({ url: 'http://host:8080/peer/edge-ha/v1', token })
 * ```
 *
 * @group Peer protocol
 */
export const edgeHaPlugin: FastifyPluginAsync<EdgeHaPluginOptions> = async (fastify, options) => {
  const { rootRoutes = true, prefix: _prefix, ...handlerOptions } = options;
  const handler = createPeerHandler(handlerOptions);
  const basePath = (handlerOptions.basePath ?? DEFAULT_PEER_BASE_PATH).replace(/\/+$/, '');
  const prefix = fastify.prefix.replace(/\/+$/, '');

  // In this context only: no body is parsed by Fastify; the handler reads the raw stream.
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_request, payload, done) => {
    done(null, payload);
  });

  async function serve(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const aborted = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) aborted.abort();
    });
    const webRequest = toWebRequest(request, prefix, aborted.signal);
    if (webRequest === undefined) {
      return reply
        .code(400)
        .header('content-type', 'application/json; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(
          JSON.stringify({
            error: { code: 'PEER_BAD_REQUEST', message: 'The request could not be read.' },
          }),
        );
    }
    const response = await handler(webRequest);
    reply.code(response.status);
    response.headers.forEach((value, name) => {
      reply.header(name, value);
    });
    if (NULL_BODY_STATUSES.has(response.status)) return reply.send();
    return reply.send(Buffer.from(await response.arrayBuffer()));
  }

  fastify.all(`${basePath}/*`, serve);
  if (rootRoutes) {
    for (const probe of ['/healthz', '/readyz', '/metrics']) {
      if (`${basePath}${probe}` !== probe) fastify.get(probe, serve);
    }
  }
};

// Shown by Fastify in its plugin tree and errors; a Fastify other than 5 is refused at register.
Object.assign(edgeHaPlugin, {
  [Symbol.for('fastify.display-name')]: 'edge-ha',
  [Symbol.for('plugin-meta')]: { name: 'edge-ha', fastify: '5.x' },
});

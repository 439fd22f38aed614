/**
 * Adapts a fetch-style handler (such as the one `createPeerHandler` returns) to the
 * `(req, res)` listener of `node:http` and Express (Fastify: the `edge-ha/fastify` plugin).
 */

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';

/**
 * A `node:http` (or `node:https`) request listener; also usable as Express middleware.
 *
 * @group Peer protocol
 */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Streams a node request body into a web `ReadableStream`, with back-pressure. Reading stops (the
 * request is paused) when the consumer cancels, e.g. because the body exceeds its size cap; an
 * aborted request errors the stream. Also used by the Fastify plugin (`edge-ha/fastify`), whose
 * body may be a stream a `preParsing` hook returned instead of the request itself.
 */
export function bodyStream(
  req: Readable & { readonly complete?: boolean },
): ReadableStream<Uint8Array> {
  let finished = false;
  let onData: (chunk: Buffer) => void = () => undefined;
  let onEnd: () => void = () => undefined;
  let onError: (error: unknown) => void = () => undefined;
  let onClose: () => void = () => undefined;
  const detach = (): void => {
    finished = true;
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('error', onError);
    req.off('close', onClose);
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        onData = (chunk) => {
          if (finished) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) req.pause();
        };
        onEnd = () => {
          if (finished) return;
          detach();
          controller.close();
        };
        onError = (error) => {
          if (finished) return;
          detach();
          controller.error(error);
        };
        onClose = () => {
          if (finished || req.complete) return;
          detach();
          controller.error(new Error('The client aborted the request.'));
        };
        req.on('data', onData);
        req.on('end', onEnd);
        req.on('error', onError);
        req.on('close', onClose);
        req.pause();
      },
      pull() {
        req.resume();
      },
      cancel() {
        // Stop reading; the handler's reply (413) closes the connection.
        detach();
        req.pause();
      },
    },
    { highWaterMark: 1 },
  );
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent || res.destroyed) return;
  const body = Buffer.from(JSON.stringify({ error: { code, message } }));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.byteLength,
    'cache-control': 'no-store',
  });
  res.end(body);
}

async function serve(
  handler: (request: Request) => Promise<Response>,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const aborted = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) aborted.abort();
  });

  let request: Request;
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (name.startsWith(':') || value === undefined) continue; // HTTP/2 pseudo-headers
      for (const entry of Array.isArray(value) ? value : [value]) headers.append(name, entry);
    }
    const method = req.method ?? 'GET';
    const hasBody = method !== 'GET' && method !== 'HEAD';
    request = new Request(url, {
      method,
      headers,
      signal: aborted.signal,
      ...(hasBody ? { body: bodyStream(req), duplex: 'half' as const } : {}),
    });
  } catch {
    // An unparsable URL, a header value fetch rejects, or a forbidden method (CONNECT, TRACE).
    sendError(res, 400, 'PEER_BAD_REQUEST', 'The request could not be read.');
    return;
  }

  let response: Response;
  try {
    response = await handler(request);
  } catch {
    sendError(res, 500, 'PEER_INTERNAL', 'The server failed to answer; retry later.');
    return;
  }
  if (aborted.signal.aborted || res.headersSent || res.destroyed) {
    await response.body?.cancel().catch(() => undefined);
    return;
  }
  const body = Buffer.from(await response.arrayBuffer());
  if (res.headersSent || res.destroyed) return;
  res.statusCode = response.status;
  response.headers.forEach((value, name) => {
    res.setHeader(name, value);
  });
  res.setHeader('content-length', body.byteLength);
  res.end(body);
}

/**
 * Adapts a fetch-style handler (e.g. from `createPeerHandler`) to a `node:http` listener. The
 * request body is streamed to the handler (which reads it with its own byte cap); a client that
 * aborts mid-request is handled without writing a reply. The reply is buffered (peer replies are
 * bounded pages) and sent with a `content-length`.
 *
 * With Express, mount it before any body parser (a parser that consumed the body leaves nothing to
 * read); the path seen by the handler is the one relative to the mount point. With Fastify, use the
 * `edge-ha/fastify` plugin instead: called from a Fastify route, the POST routes would wait for a
 * body Fastify's JSON parser has already consumed.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import express from 'express';
 * import { createPeerHandler, type StorageAdapter, toNodeListener } from 'edge-ha';
 *
 * declare const storage: StorageAdapter;
 * const handler = createPeerHandler({ storage, token: process.env.EDGE_HA_TOKEN!, instanceId: 'a' });
 *
 * // node:http: routes at /edge-ha/v1/*
 * createServer(toNodeListener(handler)).listen(7070);
 *
 * // Express 5: routes at /peer/edge-ha/v1/*
 * const app = express();
 * app.use('/peer', toNodeListener(handler));
 * app.listen(8080);
 * ```
 *
 * @group Peer protocol
 */
export function toNodeListener(handler: (request: Request) => Promise<Response>): NodeListener {
  return (req, res) => {
    serve(handler, req, res).catch(() => {
      sendError(res, 500, 'PEER_INTERNAL', 'The server failed to answer; retry later.');
    });
  };
}

/**
 * Adapts a fetch-style handler (such as the one `createPeerHandler` returns) to the
 * `(req, res)` listener of `node:http`, Express and Fastify.
 */

import type { IncomingMessage, ServerResponse } from 'node:http';

/** A `node:http` request listener; also usable as Express middleware or a Fastify raw handler. */
export type NodeListener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Streams a node request body into a web `ReadableStream`, with back-pressure. Reading stops (the
 * request is paused) when the consumer cancels, e.g. because the body exceeds its size cap; an
 * aborted request errors the stream.
 */
function bodyStream(req: IncomingMessage): ReadableStream<Uint8Array> {
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
 * read); the path seen by the handler is the one relative to the mount point. With Fastify, call
 * it from a route with `reply.hijack()` and pass `request.raw` and `reply.raw`.
 *
 * @example
 * ```ts
 * // node:http
 * createServer(toNodeListener(createPeerHandler({ storage, token, instanceId: 'a' }))).listen(7070);
 *
 * // Express 5: routes at /peer/edge-ha/v1/*
 * app.use('/peer', toNodeListener(handler));
 * ```
 */
export function toNodeListener(handler: (request: Request) => Promise<Response>): NodeListener {
  return (req, res) => {
    serve(handler, req, res).catch(() => {
      sendError(res, 500, 'PEER_INTERNAL', 'The server failed to answer; retry later.');
    });
  };
}

/**
 * The transport `httpPeer` uses when it is given `tls` options: a `fetch`-shaped function over
 * `node:https` (and `node:http`), because Node's global `fetch` cannot take a CA or a client
 * certificate without undici's `Agent`. It keeps exactly what the client relies on from `fetch`:
 * status and headers, a body streamed with back-pressure (so the client's reply cap stops a large
 * reply early), the `AbortSignal` (timeout and the caller's signal) ending the request at any
 * point, no redirects followed, and connections kept alive between calls. Internal: only the
 * {@link PeerTlsOptions} type is public.
 */

import { X509Certificate } from 'node:crypto';
import type { ClientRequest, Agent as HttpAgent, IncomingMessage } from 'node:http';
import * as http from 'node:http';
import * as https from 'node:https';
import { createSecureContext } from 'node:tls';
import { PeerError } from '../errors.js';

/**
 * PEM text or its bytes.
 *
 * @group Peer protocol
 */
export type PemInput = string | Buffer;

/**
 * TLS settings of `httpPeer` (`https:` URLs only): which certificate authorities to trust for the
 * remote's certificate and, for mutual TLS, the client certificate to present. Values are PEM
 * text or bytes, e.g. `readFileSync('ca.pem')`; they are checked when `httpPeer` is called.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { httpPeer } from 'edge-ha';
 *
 * const peer = httpPeer({
 *   url: 'https://10.0.0.6:7070/edge-ha/v1',
 *   token: process.env.EDGE_HA_TOKEN!,
 *   tls: {
 *     ca: readFileSync('/etc/edge-ha/ca.pem'),
 *     cert: readFileSync('/etc/edge-ha/node-a.pem'), // mutual TLS only
 *     key: readFileSync('/etc/edge-ha/node-a.key'),
 *   },
 * });
 * ```
 *
 * @group Peer protocol
 */
export interface PeerTlsOptions {
  /**
   * Certificate authorities trusted for the remote's certificate (one PEM may hold several). When
   * given they **replace** Node's built-in list of public CAs, as in `node:tls`.
   * @default Node's built-in public CAs
   */
  readonly ca?: PemInput | readonly PemInput[];
  /**
   * Client certificate (PEM, optionally followed by its intermediate certificates) presented to a
   * remote that requires one (`edge-ha serve --require-client-cert`). Needs `key`.
   * @default none
   */
  readonly cert?: PemInput;
  /**
   * Private key of `cert` (PEM). Needs `cert`.
   * @default none
   */
  readonly key?: PemInput;
  /**
   * Passphrase of an encrypted `key`.
   * @default none
   */
  readonly passphrase?: string;
  /**
   * The name sent for SNI and checked against the remote's certificate, instead of the URL's host
   * (for a URL with an IP address whose certificate names a DNS name).
   * @default the URL's host
   */
  readonly servername?: string;
  /**
   * Whether a remote certificate that does not verify (unknown CA, wrong name, expired) is
   * refused. `false` turns off the protection TLS gives against a man in the middle: for a
   * throw-away test only, never in production.
   * @default true
   */
  readonly rejectUnauthorized?: boolean;
}

/** The `fetch` shape the client calls (same as `PeerFetch`). */
type Fetch = (input: string, init: RequestInit) => Promise<Response>;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function invalid(message: string): PeerError {
  return new PeerError('PEER_INVALID_OPTION', `httpPeer: tls.${message}`);
}

function isPem(value: unknown): value is PemInput {
  return typeof value === 'string' || Buffer.isBuffer(value);
}

/**
 * Checks `tls` (types, cert with key, PEM that parses, key matching the certificate) and returns
 * it unchanged; every problem is `PEER_INVALID_OPTION`. Called by `httpPeer` at creation, so a
 * wrong file is reported at start-up rather than at the first sync.
 */
export function checkTlsOptions(tls: PeerTlsOptions): PeerTlsOptions {
  if (typeof tls !== 'object' || tls === null) throw invalid('must be an object.');
  const { ca, cert, key, passphrase, servername, rejectUnauthorized } = tls;
  if (ca !== undefined && !isPem(ca) && !(Array.isArray(ca) && ca.every(isPem))) {
    throw invalid('ca must be PEM text, a Buffer, or an array of them.');
  }
  if (cert !== undefined && !isPem(cert)) throw invalid('cert must be PEM text or a Buffer.');
  if (key !== undefined && !isPem(key)) throw invalid('key must be PEM text or a Buffer.');
  if ((cert === undefined) !== (key === undefined)) {
    throw invalid(
      'cert and key go together: pass both to present a client certificate, or neither.',
    );
  }
  if (passphrase !== undefined && typeof passphrase !== 'string') {
    throw invalid('passphrase must be a string.');
  }
  if (servername !== undefined && (typeof servername !== 'string' || servername === '')) {
    throw invalid('servername must be a non-empty host name.');
  }
  if (rejectUnauthorized !== undefined && typeof rejectUnauthorized !== 'boolean') {
    throw invalid('rejectUnauthorized must be a boolean.');
  }
  const problem = tlsMaterialProblem(tls);
  if (problem !== undefined) {
    throw new PeerError('PEER_INVALID_OPTION', `httpPeer: tls.${problem.message}`, {
      cause: problem.cause,
    });
  }
  return tls;
}

/** What is wrong with TLS material (see {@link tlsMaterialProblem}). */
export interface TlsMaterialProblem {
  /** Which part: `ca`, `cert` or `key`. */
  readonly field: 'ca' | 'cert' | 'key';
  /** What is wrong, starting with the field name (e.g. `key does not belong to cert: …`). */
  readonly message: string;
  /** The error of `node:crypto` / `node:tls`, if any. */
  readonly cause?: unknown;
}

/**
 * Checks PEM material the way Node's TLS will use it: every `ca` and `cert` holds at least one
 * certificate and each parses, and `key` parses (with `passphrase`) and belongs to `cert`.
 * `undefined` when it is fine. Shared by `httpPeer` and `edge-ha serve`.
 */
export function tlsMaterialProblem(material: {
  readonly ca?: PemInput | readonly PemInput[] | undefined;
  readonly cert?: PemInput | undefined;
  readonly key?: PemInput | undefined;
  readonly passphrase?: string | undefined;
}): TlsMaterialProblem | undefined {
  const { ca, cert, key, passphrase } = material;
  for (const [field, value] of [
    ['ca', ca],
    ['cert', cert],
  ] as const) {
    if (value === undefined) continue;
    for (const pem of Array.isArray(value) ? value : [value]) {
      const blocks = String(pem).match(PEM_CERTIFICATE) ?? [];
      if (blocks.length === 0) {
        return {
          field,
          message: `${field} holds no PEM certificate (-----BEGIN CERTIFICATE-----).`,
        };
      }
      for (const block of blocks) {
        try {
          new X509Certificate(block);
        } catch (error) {
          return {
            field,
            message: `${field} holds a certificate that does not parse: ${reasonOf(error)}`,
            cause: error,
          };
        }
      }
    }
  }
  try {
    createSecureContext({
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      ...(passphrase === undefined ? {} : { passphrase }),
    });
  } catch (error) {
    const reason = reasonOf(error);
    return {
      field: 'key',
      message: /mismatch/i.test(reason)
        ? `key does not belong to cert (${reason})`
        : `key is not a valid PEM private key, or its passphrase is wrong (${reason})`,
      cause: error,
    };
  }
  return undefined;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What went wrong in a TLS handshake, from a Node error code and message. */
export type TlsFailure = 'untrusted' | 'refused' | 'plaintext' | 'handshake';

/** The codes Node's TLS gives a certificate that does not verify (OpenSSL's X509 verify codes). */
const UNTRUSTED =
  /^(?:ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH|.*CERT.*|.*SELF_SIGNED.*|UNABLE_TO_.*|INVALID_CA|INVALID_PURPOSE|PATH_LENGTH_EXCEEDED)$/;

/** The alerts a server sends when it refuses the client's certificate (or its absence). */
const CLIENT_CERT_ALERT =
  /ALERT_(?:CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|ACCESS_DENIED)|alert (?:certificate required|bad certificate|unknown ca)/i;

/**
 * Classifies a connection error as a TLS failure, or `undefined` when it is none (refused, reset,
 * DNS, a handshake timeout: network trouble). `untrusted`: the remote's certificate does not
 * verify; `refused`: the remote refused our client certificate, or its absence, with an alert;
 * `plaintext`: no TLS on the other side (e.g. an `https:` URL to a plain HTTP port);
 * `handshake`: any other handshake failure (no common TLS version or cipher, …).
 */
export function classifyTlsError(code: unknown, message: string): TlsFailure | undefined {
  if (typeof code !== 'string') return undefined;
  const openssl =
    code.startsWith('ERR_SSL_') || (code === 'EPROTO' && /SSL routines/.test(message));
  if (openssl) {
    if (CLIENT_CERT_ALERT.test(code) || CLIENT_CERT_ALERT.test(message)) return 'refused';
    if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number/.test(message)) {
      return 'plaintext';
    }
    return 'handshake';
  }
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return undefined;
  if (UNTRUSTED.test(code)) return 'untrusted';
  return undefined;
}

/**
 * The message of a `PEER_TLS` error (after `<method> <url>: `), saying what to fix, or
 * `undefined` when the error is no TLS failure.
 */
export function describeTlsError(cause: unknown): string | undefined {
  const { code, message } = (cause ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : '';
  const failure = classifyTlsError(code, text);
  if (failure === undefined) return undefined;
  // OpenSSL's own messages carry source paths; its code says it all.
  const detail =
    /SSL routines/.test(text) || text === '' ? `(${String(code)})` : `(${String(code)}: ${text})`;
  switch (failure) {
    case 'untrusted':
      return `the remote's TLS certificate is not trusted ${detail}; pass the CA that signed it as tls.ca (edge-ha: --peer-ca), and check that it names the URL's host (or set tls.servername).`;
    case 'refused':
      return `the remote refused the TLS handshake ${detail}: it requires a client certificate signed by its CA; pass tls.cert and tls.key (edge-ha: --peer-cert, --peer-key).`;
    case 'plaintext':
      return `the TLS handshake failed ${detail}: the remote does not speak TLS on that port; use an http: URL for a plain HTTP peer.`;
    default:
      return `the TLS handshake failed ${detail}: the two sides agree on no TLS version or cipher; check both TLS configurations.`;
  }
}

/** The statuses whose reply has no body (`Response` refuses one). */
const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 204, 205, 304]);

/** Errors a reused keep-alive connection gives when the server had just closed it. */
const STALE_SOCKET_CODES: ReadonlySet<string> = new Set(['ECONNRESET', 'EPIPE']);

/** A transport error, shaped like `fetch`'s: the Node error (with its `code`) is the `cause`. */
function failed(message: string, cause: unknown): Error {
  return new Error(message, { cause });
}

function requestBody(body: RequestInit['body']): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new TypeError('the edge-ha node transport sends string or byte bodies only');
}

/**
 * The reply body as a web stream with back-pressure: the socket is paused while the consumer
 * does not pull; cancelling (the client's size cap) destroys the reply, and with it the
 * connection, so the rest is never downloaded.
 */
function replyStream(res: IncomingMessage, done: () => void): ReadableStream<Uint8Array> {
  let settled = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        const settle = (): boolean => {
          if (settled) return false;
          settled = true;
          done();
          return true;
        };
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if ((controller.desiredSize ?? 0) <= 0) res.pause();
        });
        res.on('end', () => {
          if (settle()) controller.close();
        });
        res.on('error', (error) => {
          if (settle())
            controller.error(failed('the connection failed while reading the reply', error));
        });
        res.on('close', () => {
          if (settle()) {
            const reset = Object.assign(new Error('the connection closed mid-reply'), {
              code: 'ECONNRESET',
            });
            controller.error(failed('the reply ended before it was complete', reset));
          }
        });
        res.pause();
      },
      pull() {
        res.resume();
      },
      cancel() {
        if (!settled) {
          settled = true;
          done();
        }
        res.destroy();
      },
    },
    { highWaterMark: 1 },
  );
}

/**
 * Creates the `fetch`-shaped transport over `node:https` / `node:http` with `tls` applied to
 * every `https:` connection. One keep-alive agent per transport (idle sockets do not keep the
 * process alive). A request that fails on a reused connection before any reply (the server
 * closed it while idle) is sent once more on a new connection: every peer route is idempotent.
 */
export function createNodeTransport(tls: PeerTlsOptions = {}): Fetch {
  const httpsAgent = new https.Agent({
    keepAlive: true,
    ...(tls.ca === undefined ? {} : { ca: tls.ca as PemInput | PemInput[] }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    ...(tls.passphrase === undefined ? {} : { passphrase: tls.passphrase }),
    ...(tls.servername === undefined ? {} : { servername: tls.servername }),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
  });
  const httpAgent = new http.Agent({ keepAlive: true });

  function send(url: URL, init: RequestInit, body: Buffer | undefined, retry: boolean) {
    return new Promise<Response>((resolve, reject) => {
      const signal = init.signal ?? undefined;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const secure = url.protocol === 'https:';
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => {
        headers[name] = value;
      });
      if (body !== undefined) headers['content-length'] = String(body.byteLength);
      const agent: HttpAgent = secure ? httpsAgent : httpAgent;
      let req: ClientRequest;
      let reply: IncomingMessage | undefined;
      const onAbort = (): void => {
        req.destroy();
        reply?.destroy();
        reject(signal?.reason);
      };
      const detach = (): void => signal?.removeEventListener('abort', onAbort);
      try {
        req = (secure ? https : http).request(url, {
          method: init.method ?? 'GET',
          headers,
          agent,
        });
      } catch (error) {
        reject(failed('the request could not be sent', error));
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (error: Error & { code?: string }) => {
        if (reply !== undefined) return; // reported through the body stream
        detach();
        if (
          retry &&
          req.reusedSocket &&
          typeof error.code === 'string' &&
          STALE_SOCKET_CODES.has(error.code) &&
          !signal?.aborted
        ) {
          send(url, init, body, false).then(resolve, reject);
          return;
        }
        reject(failed(`the request failed: ${error.message}`, error));
      });
      req.on('response', (res) => {
        reply = res;
        const status = res.statusCode ?? 0;
        if (status < 200 || status > 599) {
          detach();
          res.destroy();
          reject(
            new PeerError(
              'PEER_BAD_REPLY',
              `${init.method ?? 'GET'} ${url.href}: the remote answered with HTTP status ${status}, which is not a valid final status.`,
              { status },
            ),
          );
          return;
        }
        const replyHeaders = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          try {
            replyHeaders.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
          } catch {
            // A header `fetch` would refuse too; the client reads only a few known ones.
          }
        }
        const empty = NULL_BODY_STATUSES.has(status) || init.method === 'HEAD';
        if (empty) {
          detach();
          res.resume();
        }
        resolve(
          new Response(empty ? null : replyStream(res, detach), {
            status,
            statusText: res.statusMessage ?? '',
            headers: replyHeaders,
          }),
        );
      });
      req.end(body);
    });
  }

  return (input, init) => {
    let url: URL;
    let body: Buffer | undefined;
    try {
      url = new URL(input);
      body = requestBody(init.body);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return Promise.reject(failed(`the request could not be built: ${reason}`, error));
    }
    return send(url, init, body, true);
  };
}

/**
 * TLS of the `edge-ha` commands: `serve`'s HTTPS listener (`--tls-cert`, `--tls-key`, and for
 * mutual TLS `--tls-ca` with `--require-client-cert`) and the client side towards `https://`
 * peers (`--peer-ca`, `--peer-cert`, `--peer-key`) of `serve` and `sync`.
 */

import { X509Certificate } from 'node:crypto';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { type PeerTlsOptions, tlsMaterialProblem } from '../peer/https-transport.js';
import { type ParsedArgs, readTextFile, stringOption } from './args.js';
import { CliError, usageError } from './errors.js';
import type { CliIo } from './io.js';

/** `serve`'s HTTPS settings, read and checked. */
export interface ServerTls {
  /** Certificate chain (PEM). */
  readonly cert: string;
  /** Its private key (PEM). */
  readonly key: string;
  /** CA of the client certificates (PEM); set together with `requireClientCert`. */
  readonly ca?: string;
  /** Mutual TLS: the handshake fails without a client certificate signed by `ca`. */
  readonly requireClientCert: boolean;
  /** The certificate's subject, validity and names, for the start-up line. */
  readonly summary: string;
  /** Why the certificate will not be accepted by peers (expired, not yet valid), if it will not. */
  readonly warning?: string;
}

async function readPem(io: CliIo, args: ParsedArgs, name: string): Promise<string | undefined> {
  const file = stringOption(args, name);
  if (file === undefined) return undefined;
  if (file === '') throw usageError(`--${name} needs a file name.`);
  return readTextFile(io, file);
}

/** Turns a problem of the material into a `CLI_TLS` error naming the option and its file. */
function checkMaterial(
  args: ParsedArgs,
  names: { readonly ca: string; readonly cert: string; readonly key: string },
  material: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined },
): void {
  const problem = tlsMaterialProblem(material);
  if (problem === undefined) return;
  const option = names[problem.field];
  const message = problem.message
    .replace(/^ca /, '')
    .replace(/^cert /, '')
    .replace(/^key does not belong to cert/, `does not belong to --${names.cert}`)
    .replace(/^key /, '');
  throw new CliError(
    'CLI_TLS',
    `--${option} "${stringOption(args, option) ?? ''}" ${message}`,
    problem.cause === undefined ? undefined : { cause: problem.cause },
  );
}

/**
 * `serve`'s `--tls-*` options: `undefined` for plain HTTP. Usage errors (exit 2) for a
 * certificate without a key (or the reverse) and for mutual TLS options without their partner;
 * `CLI_FILE` for a file that cannot be read; `CLI_TLS` for a file that is no PEM certificate or
 * key, or a key that does not belong to the certificate.
 */
export async function serverTlsOption(io: CliIo, args: ParsedArgs): Promise<ServerTls | undefined> {
  const given = (name: string): boolean => stringOption(args, name) !== undefined;
  const requireClientCert = args.values['require-client-cert'] === true;
  if (given('tls-cert') !== given('tls-key')) {
    throw usageError(
      given('tls-cert')
        ? '--tls-cert needs --tls-key (the private key of the certificate).'
        : '--tls-key needs --tls-cert (the certificate of the key).',
    );
  }
  if (requireClientCert && !given('tls-ca')) {
    throw usageError(
      '--require-client-cert needs --tls-ca: the CA that signs the client certificates to accept.',
    );
  }
  if (given('tls-ca') && !requireClientCert) {
    throw usageError(
      '--tls-ca names the CA of client certificates and goes with --require-client-cert (mutual TLS); put the chain of the server certificate into the --tls-cert file instead.',
    );
  }
  if (!given('tls-cert')) {
    if (requireClientCert) {
      throw usageError('--require-client-cert needs HTTPS: add --tls-cert and --tls-key.');
    }
    return undefined;
  }
  const cert = (await readPem(io, args, 'tls-cert')) as string;
  const key = (await readPem(io, args, 'tls-key')) as string;
  const ca = await readPem(io, args, 'tls-ca');
  checkMaterial(args, { ca: 'tls-ca', cert: 'tls-cert', key: 'tls-key' }, { ca, cert, key });
  const leaf = new X509Certificate(cert);
  const validTo = new Date(leaf.validTo);
  const validFrom = new Date(leaf.validFrom);
  const now = Date.now();
  const names = leaf.subjectAltName ?? leaf.subject.replace(/\n/g, ', ');
  const warning =
    validTo.getTime() < now
      ? `the certificate expired on ${validTo.toISOString()}: peers will refuse it`
      : validFrom.getTime() > now
        ? `the certificate is valid only from ${validFrom.toISOString()}: peers will refuse it until then`
        : undefined;
  return {
    cert,
    key,
    ...(ca === undefined ? {} : { ca }),
    requireClientCert,
    summary: `certificate for ${names}, valid until ${validTo.toISOString()}${requireClientCert ? '; client certificates required (mutual TLS)' : ''}`,
    ...(warning === undefined ? {} : { warning }),
  };
}

/**
 * The `--peer-*` options as a function giving each peer URL its `httpPeer` TLS options (only
 * `https:` peers get them). Usage errors for `--peer-cert` without `--peer-key` (or the reverse)
 * and for `--peer-*` options when no peer is `https:`; `CLI_FILE` and `CLI_TLS` as for `serve`.
 */
export async function peerTlsOption(
  io: CliIo,
  args: ParsedArgs,
  peers: readonly string[],
): Promise<(url: string) => { tls?: PeerTlsOptions }> {
  const given = (name: string): boolean => stringOption(args, name) !== undefined;
  const none = (): { tls?: PeerTlsOptions } => ({});
  if (!given('peer-ca') && !given('peer-cert') && !given('peer-key')) return none;
  if (given('peer-cert') !== given('peer-key')) {
    throw usageError(
      given('peer-cert')
        ? '--peer-cert needs --peer-key (the private key of the client certificate).'
        : '--peer-key needs --peer-cert (the client certificate of the key).',
    );
  }
  if (!peers.some((url) => url.startsWith('https:'))) {
    throw usageError(
      '--peer-ca, --peer-cert and --peer-key apply to https:// peers, and no --peer is https://.',
    );
  }
  const ca = await readPem(io, args, 'peer-ca');
  const cert = await readPem(io, args, 'peer-cert');
  const key = await readPem(io, args, 'peer-key');
  checkMaterial(args, { ca: 'peer-ca', cert: 'peer-cert', key: 'peer-key' }, { ca, cert, key });
  const tls: PeerTlsOptions = {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
  };
  return (url) => (url.startsWith('https:') ? { tls } : {});
}

/** A refused TLS handshake, as given to {@link createNodeServer}'s `onTlsError`. */
export interface TlsClientFailure {
  /** The client's address, when known. */
  readonly remoteAddress: string;
  /** Why: the verification error of its certificate, or the handshake error's code. */
  readonly reason: string;
}

/**
 * A `node:http` server, or a `node:https` one with `tls` (mutual TLS with `requireClientCert`:
 * the handshake fails without a client certificate signed by `ca`). `onTlsError` hears every
 * handshake that failed.
 */
export function createNodeServer(
  tls: ServerTls | undefined,
  listener: RequestListener,
  onTlsError?: (failure: TlsClientFailure) => void,
): Server {
  if (tls === undefined) return createHttpServer(listener);
  const server = createHttpsServer(
    {
      cert: tls.cert,
      key: tls.key,
      ...(tls.requireClientCert ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}),
    },
    listener,
  );
  if (onTlsError !== undefined) {
    server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
      onTlsError({
        remoteAddress: socket.remoteAddress ?? 'unknown',
        reason:
          socket.authorizationError?.toString() ??
          (typeof error.code === 'string' ? error.code : error.message),
      });
    });
  }
  return server;
}

/**
 * The TLS options of `serve` and `sync` (declarations only, for the specs and `--help`; reading
 * and checking them is `tls.ts`, loaded when a command runs).
 */

import type { OptionSpec } from './args.js';

/** `serve`'s listener options. */
export const SERVER_TLS_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'tls-cert': {
    type: 'string',
    placeholder: '<file>',
    description: 'Serve HTTPS with this certificate (PEM, followed by its chain); needs --tls-key',
  },
  'tls-key': {
    type: 'string',
    placeholder: '<file>',
    description: 'Private key of --tls-cert (PEM, unencrypted; keep it chmod 600)',
  },
  'tls-ca': {
    type: 'string',
    placeholder: '<file>',
    description: 'CA certificate(s) the client certificates must be signed by (PEM)',
  },
  'require-client-cert': {
    type: 'boolean',
    description:
      'Mutual TLS: refuse at the handshake every client without a certificate signed by --tls-ca',
  },
};

/** The client options towards `https://` peers (`serve --peer`, `sync --peer`). */
export const PEER_TLS_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'peer-ca': {
    type: 'string',
    placeholder: '<file>',
    description:
      "CA certificate(s) the https:// peers' certificates are signed by (PEM; replaces the public CAs)",
  },
  'peer-cert': {
    type: 'string',
    placeholder: '<file>',
    description: 'Client certificate for peers that require one (PEM); needs --peer-key',
  },
  'peer-key': {
    type: 'string',
    placeholder: '<file>',
    description: 'Private key of --peer-cert (PEM, unencrypted)',
  },
};

/**
 * The errors of the `edge-ha` command line. They never escape {@link runCli}: it prints them as
 * `edge-ha: <CODE>: <message>` on stderr and turns them into an exit code.
 */

import { EdgeHaError, type EdgeHaErrorOptions, isEdgeHaError } from '../errors.js';

/** Codes of {@link CliError}. */
export type CliErrorCode =
  /** The command line is malformed: unknown command or option, missing or invalid argument. */
  | 'CLI_USAGE'
  /** A file named on the command line cannot be read or written. */
  | 'CLI_FILE'
  /** No bearer token: pass `--token`, `--token-file` or set `EDGE_HA_TOKEN`. */
  | 'CLI_NO_TOKEN'
  /**
   * A TLS file given to `serve`/`sync` (`--tls-cert`, `--tls-key`, `--tls-ca`, `--peer-*`) is no
   * PEM certificate or key, or the key does not belong to the certificate.
   */
  | 'CLI_TLS'
  /** The demo's final check found a difference between the two instances. */
  | 'CLI_VERIFY_FAILED'
  /** The command was interrupted (SIGINT/SIGTERM) before it finished. */
  | 'CLI_ABORTED';

/** An error of the command line itself (as opposed to the library's errors it reports). */
export class CliError extends EdgeHaError {
  declare readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, options?: EdgeHaErrorOptions) {
    super(code, message, options);
  }
}

/** Exit codes of the `edge-ha` command. */
export const EXIT: { readonly ok: 0; readonly failure: 1; readonly usage: 2 } = Object.freeze({
  ok: 0,
  failure: 1,
  usage: 2,
});

/** Shorthand for a usage error. */
export function usageError(message: string): CliError {
  return new CliError('CLI_USAGE', message);
}

/**
 * The one-line form of any error: `edge-ha: <CODE>: <message>`. Unknown errors get the code
 * `INTERNAL` and their message (never a stack trace unless `EDGE_HA_DEBUG` is set by the caller).
 */
export function formatError(error: unknown): string {
  if (isEdgeHaError(error)) return `edge-ha: ${error.code}: ${error.message}`;
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `edge-ha: ${typeof code === 'string' ? code : 'INTERNAL'}: ${error.message}`;
  }
  return `edge-ha: INTERNAL: ${String(error)}`;
}

/** Exit code for an error: 2 for usage errors, 1 for everything else. */
export function exitCodeOf(error: unknown): number {
  return isEdgeHaError(error, 'CLI_USAGE') ? EXIT.usage : EXIT.failure;
}

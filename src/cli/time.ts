/** Parsing times given on the command line (UTC only: no local time zone anywhere). */

import { usageError } from './errors.js';

/**
 * Parses `value` as epoch milliseconds (digits) or an ISO 8601 date/time. A date-time must
 * carry `Z` or an offset (`+02:00`): local times are ambiguous and rejected.
 */
export function parseTime(value: string, option: string): number {
  if (/^\d+$/.test(value)) {
    const t = Number(value);
    if (Number.isSafeInteger(t)) return t;
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(value) || /T.*(Z|[+-]\d{2}:?\d{2})$/i.test(value)) {
    const t = Date.parse(value);
    if (Number.isFinite(t)) return t;
  }
  throw usageError(
    `--${option} must be epoch milliseconds or an ISO 8601 time with a zone (e.g. 2025-01-01T00:00:00Z), got "${value}".`,
  );
}

/**
 * How the PostgreSQL adapter writes values into SQL text and `COPY` text: identifier and literal
 * quoting, the lossless, order-preserving escape of U+0000 (which PostgreSQL `text` cannot hold),
 * and the escaping of `COPY … FROM STDIN` text format.
 *
 * @internal
 */

import { createHash } from 'node:crypto';
import { StorageError } from '../errors.js';

/** Longest identifier PostgreSQL keeps (NAMEDATALEN - 1), in bytes. */
export const MAX_IDENTIFIER_BYTES = 63;

const SAFE_IDENTIFIER = /^[a-z_][a-z0-9_$]*$/;

/**
 * Asserts a schema name this adapter may create and quote: lower-case ASCII letters, digits,
 * `_` and `$`, starting with a letter or `_`, at most {@link MAX_IDENTIFIER_BYTES} bytes, and not
 * starting with `pg_` (reserved by PostgreSQL). Throws `STORAGE_INVALID_OPTIONS`.
 */
export function assertSchemaName(schema: unknown): asserts schema is string {
  if (
    typeof schema !== 'string' ||
    schema.length === 0 ||
    schema.length > MAX_IDENTIFIER_BYTES ||
    !SAFE_IDENTIFIER.test(schema) ||
    schema.startsWith('pg_')
  ) {
    throw new StorageError(
      'STORAGE_INVALID_OPTIONS',
      `schema must be 1 to ${MAX_IDENTIFIER_BYTES} characters of a-z, 0-9, _ and $, starting with a letter or _, and not starting with pg_; got ${JSON.stringify(schema)}.`,
    );
  }
}

/** `name` as a quoted SQL identifier (`"name"`, inner quotes doubled). */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * `text` as a SQL string literal that means the same whatever `standard_conforming_strings` says:
 * `E'…'` with backslashes and quotes doubled. `text` must hold no U+0000 (see {@link toDbText}).
 */
export function quoteLiteral(text: string): string {
  return `E'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 and U+0001 are what we escape
const NEEDS_ESCAPE = /[\u0000\u0001]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 and U+0001 are what we escape
const ESCAPE = /[\u0000\u0001]/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the escape pairs start with U+0001
const ESCAPED = /\u0001[\u0001\u0002]/g;

/**
 * The stored form of a string: PostgreSQL `text` cannot hold U+0000, so U+0001 becomes
 * U+0001 U+0002 and U+0000 becomes U+0001 U+0001. The code is prefix-free and monotone, so the
 * stored forms sort (`COLLATE "C"`, byte order) exactly as the strings do by code point, and two
 * strings are equal exactly when their stored forms are. Any other string is stored as it is.
 */
export function toDbText(text: string): string {
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(ESCAPE, (c) => (c === '\u0000' ? '\u0001\u0001' : '\u0001\u0002'));
}

/** The string whose stored form is `stored` (the inverse of {@link toDbText}). */
export function fromDbText(stored: string): string {
  if (!stored.includes('\u0001')) return stored;
  return stored.replace(ESCAPED, (pair) => (pair === '\u0001\u0001' ? '\u0000' : '\u0001'));
}

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_SPECIAL_ALL = /[\\\n\r\t]/g;
const COPY_ESCAPES: Readonly<Record<string, string>> = {
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/**
 * A field of `COPY … FROM STDIN` text format for the string `text` (already in stored form, so no
 * U+0000): backslash, newline, carriage return and tab escaped. A field is never `\N` by accident
 * (a backslash becomes `\\`).
 */
export function copyField(text: string): string {
  if (!COPY_SPECIAL.test(text)) return text;
  return text.replace(COPY_SPECIAL_ALL, (c) => COPY_ESCAPES[c] as string);
}

/** The `COPY` text-format field of SQL NULL. */
export const COPY_NULL = '\\N';

/**
 * The SHA-256 of the UTF-8 form of `text`, as hex: how item ids and sync-state keys are unique
 * in the schema (a btree entry cannot hold the longest valid ones).
 */
export function keyHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** {@link keyHash} of `text` as a SQL `bytea` expression. */
export function keyHashSql(text: string): string {
  return `decode('${keyHash(text)}', 'hex')`;
}

/** Loading a policy file for the policy/topology commands, with file-qualified errors. */

import { isEdgeHaError, PolicyError, type PolicyErrorDetails } from '../errors.js';
import { parsePolicies } from '../policy/parse.js';
import type { Policy } from '../policy/types.js';
import { readTextFile } from './args.js';
import type { CliIo } from './io.js';

/**
 * Reads and parses a policy file (JSON, NDJSON or AnyLog's Python-literal form). A syntax error
 * is re-thrown with the file name and `line:column` in front of its message.
 */
export async function loadPolicies(io: CliIo, file: string): Promise<Policy[]> {
  const text = await readTextFile(io, file);
  try {
    return parsePolicies(text);
  } catch (error) {
    if (error instanceof PolicyError || isEdgeHaError(error)) {
      const policyError = error as PolicyError;
      const where =
        policyError.line === undefined
          ? file
          : `${file}:${policyError.line}${policyError.column === undefined ? '' : `:${policyError.column}`}`;
      const details: PolicyErrorDetails = { cause: error };
      if (policyError.line !== undefined) details.line = policyError.line;
      if (policyError.column !== undefined) details.column = policyError.column;
      if (policyError.index !== undefined) details.index = policyError.index;
      throw new PolicyError(policyError.code, `${where}: ${policyError.message}`, details);
    }
    throw error;
  }
}

/** Renders an attribute path like `operator.table[0].name`. */
export function formatPath(path: readonly (string | number)[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? part : `.${part}`;
  }
  return text;
}

/** The type (root key) of a policy and its `name`, for display. */
export function describePolicy(policy: Policy): { type: string; name: string } {
  const type = Object.keys(policy)[0] ?? '?';
  const body = policy[type];
  const name = body && typeof body.name === 'string' ? body.name : '';
  return { type, name };
}

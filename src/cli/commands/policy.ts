/** `edge-ha policy validate <file>` and `edge-ha policy id <file>`. */

import type { PolicyIssue } from '../../errors.js';
import { computePolicyId } from '../../policy/id.js';
import { validatePolicies } from '../../policy/validate.js';
import { formatOption } from '../args.js';
import type { CommandRun } from '../command.js';
import { EXIT } from '../errors.js';
import { println } from '../io.js';
import { describePolicy, formatPath, loadPolicies } from '../policies.js';

/** One issue as a line: `error   CODE  policy #i (id) at path: message`. */
export function formatIssue(issue: PolicyIssue): string {
  const where = formatPath(issue.path);
  const id = issue.policyId === undefined ? '' : ` (${issue.policyId})`;
  return `${issue.severity.padEnd(7)} ${issue.code}  policy #${issue.index}${id}${
    where === '' ? '' : ` at ${where}`
  }: ${issue.message}`;
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

/** `edge-ha policy validate`: exit 1 when the set has an error. */
export const runPolicyValidate: CommandRun = async (args, io) => {
  const file = args.positionals[0] as string;
  const format = formatOption(args);
  const policies = await loadPolicies(io, file);
  const result = validatePolicies(policies);
  if (format === 'json') {
    println(
      io.stdout,
      JSON.stringify(
        {
          file,
          policies: policies.length,
          valid: result.valid,
          errors: result.errors,
          warnings: result.warnings,
        },
        null,
        2,
      ),
    );
  } else {
    for (const issue of result.issues) println(io.stdout, formatIssue(issue));
    println(
      io.stdout,
      `${file}: ${plural(policies.length, 'policy', 'policies')}, ${plural(result.errors.length, 'error')}, ${plural(
        result.warnings.length,
        'warning',
      )}: ${result.valid ? 'valid' : 'INVALID'}`,
    );
  }
  return result.valid ? EXIT.ok : EXIT.failure;
};

/** `edge-ha policy id`. */
export const runPolicyId: CommandRun = async (args, io) => {
  const file = args.positionals[0] as string;
  const format = formatOption(args);
  const policies = await loadPolicies(io, file);
  const rows = policies.map((policy, index) => {
    const { type, name } = describePolicy(policy);
    const body = policy[type];
    return {
      index,
      type,
      name,
      id: computePolicyId(policy),
      source: body && typeof body.id === 'string' ? 'given' : 'computed',
    };
  });
  if (format === 'json') {
    println(io.stdout, JSON.stringify(rows, null, 2));
  } else {
    for (const row of rows) {
      println(
        io.stdout,
        `${row.id}  ${row.type.padEnd(8)} ${row.name}${row.source === 'given' ? '' : '  (computed)'}`,
      );
    }
  }
  return EXIT.ok;
};

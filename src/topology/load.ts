/**
 * Ledger loading (docs/routing.md, "Ledger loading"): strict (the set must be valid) or lenient
 * (drop each invalid policy and whatever depends on it, keep the rest, report every issue). Pure.
 */

import type { PolicyIssue } from '../errors.js';
import type { Policy } from '../policy/types.js';
import { POLICY_ISSUE_CODES, validatePolicies } from '../policy/validate.js';

/** What a lenient load keeps, and why it dropped the rest. */
export interface LoadablePolicies {
  /** The policies kept, in input order: a valid set (warnings allowed). */
  readonly policies: Policy[];
  /** Input indices of the policies dropped, ascending. */
  readonly skipped: number[];
  /**
   * The errors of the dropped policies and the warnings of the kept set, with input indices,
   * ordered by index.
   */
  readonly issues: PolicyIssue[];
}

const POLICY_SCOPE: ReadonlySet<string> = new Set(
  POLICY_ISSUE_CODES.filter((info) => info.scope === 'policy').map((info) => info.code),
);

/**
 * Keeps the largest part of a ledger that a strict load would accept, the way EdgeLake loads a
 * ledger (`blockchain/metadata.py`: a policy it cannot use is passed over, the rest loads).
 *
 * Rounds: validate what is left; when some policies are wrong by themselves (a `policy`-scope
 * code such as `PORT_RANGE`), drop only those, so that a policy whose only fault was to clash
 * with a broken one survives; otherwise drop every policy with an error (duplicates, unknown
 * references). Dropping a cluster turns its operators and children into unknown references,
 * which the next round drops. Each round drops at least one policy, so this ends.
 */
export function loadablePolicies(policies: readonly Policy[]): LoadablePolicies {
  let kept: number[] = policies.map((_, index) => index);
  const skipped: number[] = [];
  const issues: PolicyIssue[] = [];
  for (;;) {
    const result = validatePolicies(kept.map((index) => policies[index] as Policy));
    const at = (issue: PolicyIssue): PolicyIssue => ({
      ...issue,
      index: kept[issue.index] as number,
    });
    if (result.valid) {
      for (const warning of result.warnings) issues.push(at(warning));
      break;
    }
    const own = result.errors.filter((issue) => POLICY_SCOPE.has(issue.code));
    const drop = new Set((own.length > 0 ? own : result.errors).map((issue) => issue.index));
    for (const issue of result.errors) if (drop.has(issue.index)) issues.push(at(issue));
    for (const local of drop) skipped.push(kept[local] as number);
    kept = kept.filter((_, local) => !drop.has(local));
  }
  skipped.sort((a, b) => a - b);
  const ordered = issues
    .map((issue, order) => ({ issue, order }))
    .sort((a, b) => a.issue.index - b.issue.index || a.order - b.order)
    .map(({ issue }) => issue);
  return { policies: kept.map((index) => policies[index] as Policy), skipped, issues: ordered };
}

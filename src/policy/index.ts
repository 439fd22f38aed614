/**
 * AnyLog-compatible policies (the policies guide, docs/policies.md): parse them from JSON,
 * NDJSON or the Python-literal text AnyLog prints, compute their ids exactly as AnyLog does,
 * stamp new ones, validate a set, and write them back.
 *
 * @module
 */

export { computePolicyId } from './id.js';
export { type ParsePoliciesOptions, parsePolicies } from './parse.js';
export { pythonRepr } from './repr.js';
export { type PolicyTextFormat, serializePolicies } from './serialize.js';
export { type StampOptions, stampPolicy } from './stamp.js';
export type {
  ClusterBody,
  ClusterPolicy,
  ClusterStatus,
  OperatorBody,
  OperatorPolicy,
  Policy,
  PolicyObject,
  PolicyValue,
  TableBody,
  TableEntry,
  TablePolicy,
} from './types.js';
export {
  isClusterPolicy,
  isOperatorPolicy,
  isTablePolicy,
  POLICY_ISSUE_CODES,
  type PolicyIssueCodeInfo,
  type PolicyValidationResult,
  validatePolicies,
} from './validate.js';

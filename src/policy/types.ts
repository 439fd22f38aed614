/**
 * The typed policy model. Policies are open documents: attributes this library does
 * not know are kept as they are, in their original key order.
 */

/**
 * A JSON-like value as found in a policy.
 *
 * @group Policies
 */
export type PolicyValue = string | number | boolean | null | PolicyValue[] | PolicyObject;

/**
 * A JSON-like object as found in a policy.
 *
 * @group Policies
 */
export interface PolicyObject {
  [key: string]: PolicyValue;
}

/**
 * Any policy: an object with exactly one root key (its type) whose value is the body.
 * `parsePolicies` returns these; `validatePolicies` checks the known types.
 *
 * @group Policies
 */
export interface Policy {
  [type: string]: PolicyObject;
}

/**
 * `status` of a cluster or of a table entry.
 *
 * @group Policies
 */
export type ClusterStatus = 'active' | 'static' | 'down';

/**
 * One entry of a cluster's `table` list.
 *
 * @group Policies
 */
export interface TableEntry extends PolicyObject {
  /** Logical database name. */
  dbms: string;
  /** Table name. */
  name: string;
}

/**
 * Body of a `cluster` policy.
 *
 * @group Policies
 */
export interface ClusterBody extends PolicyObject {
  /** Owner of the data. Required. */
  company: string;
  /** Cluster name; unique per company among root clusters. Required. */
  name: string;
}

/**
 * A `cluster` policy: a logical store for a set of tables.
 *
 * @group Policies
 */
export interface ClusterPolicy extends Policy {
  /** The cluster body. Known optional attributes: `parent`, `master`, `table`, `status`, `id`, `date`, `ledger`. */
  cluster: ClusterBody;
}

/**
 * Body of an `operator` policy.
 *
 * @group Policies
 */
export interface OperatorBody extends PolicyObject {
  /** Owner of the node. Required. */
  company: string;
  /** Node name; unique across operators. Required. */
  name: string;
  /** External IP address or host name. Required. */
  ip: string;
  /** External TCP port, 1..65535. Required. */
  port: number;
}

/**
 * An `operator` policy: a data node assigned to exactly one cluster.
 *
 * @group Policies
 */
export interface OperatorPolicy extends Policy {
  /**
   * The operator body. Known optional attributes: `cluster`, `local_ip`, `local_port`,
   * `rest_port`, `broker_port`, `member`, `main`, `hostname`, `id`, `date`, `ledger`.
   */
  operator: OperatorBody;
}

/**
 * Body of a `table` policy.
 *
 * @group Policies
 */
export interface TableBody extends PolicyObject {
  /** Owner of the table. */
  company: string;
  /** Table name. */
  name: string;
  /** Logical database name. */
  dbms: string;
}

/**
 * A `table` policy.
 *
 * @group Policies
 */
export interface TablePolicy extends Policy {
  /** The table body. */
  table: TableBody;
}

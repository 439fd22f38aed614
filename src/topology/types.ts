/**
 * Public types of the topology module: options, route requests and results, liveness entries.
 * Report rows live in `reports.ts`.
 */

import type { Clock } from '../clock.js';

/**
 * Options of {@link Topology.fromPolicies}.
 *
 * @group Topology & routing
 */
export interface TopologyOptions {
  /**
   * Source of time for liveness timestamps (`since`). Only `now()` is used: the topology never
   * starts a timer.
   *
   * @default systemClock
   */
  clock?: Pick<Clock, 'now'>;
  /**
   * The caller's external IP address. When it equals an operator's `ip`, routes use the
   * operator's `local_ip` / `local_port` (the caller sits on the same private network).
   *
   * @default undefined (always use the external `ip` / `port`)
   */
  localExternalIp?: string;
  /**
   * What to do with a policy set that has validation errors. `reject` throws
   * `TOPOLOGY_INVALID_POLICIES` and builds nothing. `skip` loads the rest, as AnyLog does with a
   * ledger: each invalid policy is dropped together with what depends on it (the operators and
   * child clusters of a dropped cluster), and every issue is kept in {@link Topology.issues}
   * (the dropped policies' input indices in {@link Topology.skipped}). The choice also applies
   * to {@link Topology.reload}.
   *
   * @default 'reject'
   * @example
   * ```ts
   * import { type Policy, Topology } from 'edge-ha';
   *
   * declare const ledger: Policy[];
   *
   * const topology = Topology.fromPolicies(ledger, { invalid: 'skip' });
   * for (const issue of topology.issues) console.error(issue.code, issue.message);
   * ```
   */
  invalid?: InvalidPolicies;
}

/**
 * What {@link Topology.fromPolicies} does with invalid policies (see {@link TopologyOptions.invalid}).
 *
 * @group Topology & routing
 */
export type InvalidPolicies = 'reject' | 'skip';

/**
 * Liveness of one operator address.
 *
 * @group Topology & routing
 */
export type LivenessStatus = 'active' | 'not_responding';

/**
 * Which operators a query may use inside each cluster.
 *
 * @group Topology & routing
 */
export type QueryNodes = 'main' | 'all';

/**
 * An operator chosen by a route, with the address to connect to.
 *
 * @group Topology & routing
 */
export interface RoutedOperator {
  /** Id (policy id) of the operator. */
  readonly operatorId: string;
  /** Name of the operator. */
  readonly operatorName: string;
  /**
   * Id of the routing cluster (the root cluster: child clusters are merged into their parent).
   */
  readonly clusterId: string;
  /** Name of the routing cluster. */
  readonly clusterName: string;
  /** Company of the routing cluster. */
  readonly company: string;
  /** `member` of the operator inside its cluster, when the policy has one. */
  readonly member: number | undefined;
  /** Whether the operator policy says `main: true`. */
  readonly main: boolean;
  /**
   * The operator's external `ip:port`: the key under which liveness is kept. Pass this (not
   * `host:port`) to `reportFailure` / `reportSuccess`.
   */
  readonly address: string;
  /** Host to connect to: `local_ip` when {@link RoutedOperator.local} is true, otherwise `ip`. */
  readonly host: string;
  /** Port to connect to: `local_port` (or `port`) when local, otherwise `port`. */
  readonly port: number;
  /** Whether `host` / `port` are the operator's local address (caller shares its external IP). */
  readonly local: boolean;
}

/**
 * An operator of a cluster with its current liveness, as named in errors and skip lists.
 *
 * @group Topology & routing
 */
export interface OperatorLiveness {
  /** Id of the operator. */
  readonly operatorId: string;
  /** Name of the operator. */
  readonly operatorName: string;
  /** External `ip:port` (the liveness key). */
  readonly address: string;
  /** Current liveness. */
  readonly status: LivenessStatus;
  /** Epoch milliseconds of the last status change (or of when the address became known). */
  readonly since: number;
}

/**
 * A cluster a route had to leave out because none of its operators is live.
 *
 * @group Topology & routing
 */
export interface SkippedCluster {
  /** Id of the cluster. */
  readonly clusterId: string;
  /** Name of the cluster. */
  readonly clusterName: string;
  /** Company of the cluster. */
  readonly company: string;
  /** Every operator of the cluster (empty when the cluster has no operator at all). */
  readonly operators: readonly OperatorLiveness[];
}

/**
 * Arguments of {@link Topology.routeQuery}.
 *
 * @group Topology & routing
 */
export interface QueryRequest {
  /** Logical database name. */
  dbms: string;
  /** Table name. */
  table: string;
  /**
   * Only clusters of this company. Without it, every company that has `dbms.table` is queried
   * (one operator per cluster of each company).
   */
  company?: string;
  /**
   * `main` prefers a live operator with `main: true` and otherwise round-robins over the live
   * operators; `all` round-robins over all live operators.
   *
   * @default 'main'
   */
  nodes?: QueryNodes;
  /**
   * When a cluster has no live operator, return the partial route and list the cluster in
   * `skipped` instead of throwing `TOPOLOGY_NO_LIVE_OPERATOR`.
   *
   * @default false
   */
  subset?: boolean;
}

/**
 * Result of {@link Topology.routeQuery}: one operator per routable cluster holding the table.
 *
 * @group Topology & routing
 */
export interface QueryRoute {
  /** Logical database name queried. */
  readonly dbms: string;
  /** Table queried. */
  readonly table: string;
  /** The company asked for, or `undefined` for all companies. */
  readonly company: string | undefined;
  /** One live operator per routable cluster, in ledger order of the clusters. */
  readonly targets: readonly RoutedOperator[];
  /** Clusters left out because no operator is live (only ever non-empty with `subset: true`). */
  readonly skipped: readonly SkippedCluster[];
  /** `true` when every routable cluster holding the table has a target (nothing skipped). */
  readonly complete: boolean;
}

/**
 * Arguments of {@link Topology.routeWrite}.
 *
 * @group Topology & routing
 */
export interface WriteRequest {
  /** Logical database name. */
  dbms: string;
  /** Table name. */
  table: string;
  /**
   * Company owning the data. Required when clusters of more than one company hold `dbms.table`.
   */
  company?: string;
  /**
   * Partition key. With a key the cluster is chosen by rendezvous (highest random weight)
   * hashing: the same key always lands on the same cluster, and adding a cluster only moves the
   * keys that now land on the new cluster. Without a key, clusters are used round-robin.
   */
  key?: string | number;
}

/**
 * A copy that a write cannot deliver because its operator is not responding.
 *
 * @group Topology & routing
 */
export interface MissingCopy {
  /** The operator that should have received the copy. */
  readonly operator: RoutedOperator;
  /** Epoch milliseconds since when the operator has been `not_responding`. */
  readonly since: number;
}

/**
 * Result of {@link Topology.routeWrite}.
 *
 * @group Topology & routing
 */
export interface WriteRoute {
  /** Logical database name. */
  readonly dbms: string;
  /** Table name. */
  readonly table: string;
  /** Company of the chosen cluster. */
  readonly company: string;
  /** Id of the chosen cluster. */
  readonly clusterId: string;
  /** Name of the chosen cluster. */
  readonly clusterName: string;
  /** Copies configured for the cluster (= its number of operators). */
  readonly copies: number;
  /** Every live operator of the cluster: send one copy to each. Never empty. */
  readonly targets: readonly RoutedOperator[];
  /** Copies that cannot be delivered now because their operator is `not_responding`. */
  readonly missing: readonly MissingCopy[];
  /** `true` when every configured copy has a live target (`missing` is empty). */
  readonly complete: boolean;
}

/**
 * One liveness entry, as listed by {@link Topology.liveness}.
 *
 * @group Topology & routing
 */
export interface LivenessEntry {
  /** External `ip:port` of the operator (the liveness key). */
  readonly address: string;
  /** Current status. */
  readonly status: LivenessStatus;
  /** Epoch milliseconds of the last status change (or of when the address became known). */
  readonly since: number;
  /** Id of the operator at that address. */
  readonly operatorId: string;
  /** Name of the operator at that address. */
  readonly operatorName: string;
  /** Routing cluster (root cluster id) of the operator. */
  readonly clusterId: string;
}

/**
 * An address to probe, as listed by {@link Topology.probeTargets}.
 *
 * @group Topology & routing
 */
export interface ProbeTarget extends LivenessEntry {
  /** Host to connect to (local address rules apply, as for routes). */
  readonly host: string;
  /** Port to connect to. */
  readonly port: number;
}

/**
 * Options of {@link Topology.probeTargets}.
 *
 * @group Topology & routing
 */
export interface ProbeOptions {
  /**
   * List every operator address, not only the `not_responding` ones.
   *
   * @default false
   */
  all?: boolean;
}

/**
 * Counts describing a topology.
 *
 * @group Topology & routing
 */
export interface TopologyStats {
  /** Routing clusters (root clusters; children merged), whatever their status. */
  readonly clusters: number;
  /** Routing clusters whose status is `active`. */
  readonly routableClusters: number;
  /** Operators. */
  readonly operators: number;
  /** Distinct `(company, dbms, table)` triples known (routable or not). */
  readonly tables: number;
}

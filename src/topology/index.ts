/**
 * Topology: the cluster-to-operator resolver (docs/routing.md). Builds a routing map from
 * cluster and operator policies, keeps operator liveness, routes queries (one live operator per
 * cluster, main preference, round-robin, failover) and writes (round-robin or rendezvous by key,
 * one copy per live operator), and produces the HA reports with an AnyLog-style text-table
 * formatter.
 *
 * @module
 */

export type { CellValue, ReportRow, TableColumn } from './format.js';
export { formatTable } from './format.js';
export type {
  ClusterInfo,
  ClusterOperatorRow,
  ClusterTableRow,
  DataNodeRow,
  DataNodesFilter,
  HaState,
  HaStatusRow,
  VirtualTableRow,
} from './reports.js';
export {
  CLUSTER_OPERATORS_COLUMNS,
  CLUSTER_TABLES_COLUMNS,
  DATA_NODES_COLUMNS,
  formatClusterInfo,
  HA_STATUS_COLUMNS,
  VIRTUAL_TABLES_COLUMNS,
} from './reports.js';
export { Topology } from './topology.js';
export type {
  InvalidPolicies,
  LivenessEntry,
  LivenessStatus,
  MissingCopy,
  OperatorLiveness,
  ProbeOptions,
  ProbeTarget,
  QueryNodes,
  QueryRequest,
  QueryRoute,
  RoutedOperator,
  SkippedCluster,
  TopologyOptions,
  TopologyStats,
  WriteRequest,
  WriteRoute,
} from './types.js';

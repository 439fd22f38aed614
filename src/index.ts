/**
 * edge-ha: high availability for edge time-series and event data.
 *
 * - Policies: parse, identify, stamp and validate AnyLog-compatible cluster and operator policies.
 * - Topology: resolve which operators hold a table, route queries and writes, report HA state.
 * - Storage: the adapter contract, an in-memory adapter (SQLite in `edge-ha/sqlite`) and the
 *   adapter kit for your own adapter: the contract's validators, limits and cursor codec.
 * - Sync: deputies and the HA governor that back-fill a restarted instance from a peer.
 *
 * @module edge-ha
 */

export type { Clock, TimerHandle } from './clock.js';
export { systemClock } from './clock.js';
export type {
  BackoffFunction,
  DeputyEvents,
  DeputyEventType,
  DeputyItemError,
  DeputyItemState,
  DeputyItemStatus,
  DeputyKind,
  DeputyOperation,
  DeputyOptions,
  DeputyProgress,
  DeputyRecord,
  DeputyRetryEvent,
  DeputyRunError,
  DeputyRunOptions,
  DeputyRunSummary,
  DeputySnapshot,
  DeputyStateCode,
  DeputyStateName,
  DeputyTransition,
  DeputyTransitionEvent,
  ExponentialBackoffOptions,
  RetryOptions,
  SyncGap,
  SyncGapInput,
  SyncGapMode,
  SyncGapReason,
  SyncStateLevel,
  SyncStateMessage,
} from './deputy/index.js';
export {
  DEPUTY_STATES,
  DEPUTY_TRANSITIONS,
  Deputy,
  deputyStateDiagram,
  EventDeputy,
  exponentialBackoff,
  step,
  TimeSeriesDeputy,
} from './deputy/index.js';
export type {
  EdgeHaErrorJSON,
  EdgeHaErrorOptions,
  PeerErrorCode,
  PeerErrorDetails,
  PolicyErrorCode,
  PolicyErrorDetails,
  PolicyIssue,
  StorageErrorCode,
  SyncAbortErrorDetails,
  SyncErrorCode,
  TopologyErrorCode,
  TopologyErrorDetails,
} from './errors.js';
export {
  EdgeHaError,
  isEdgeHaError,
  PeerError,
  PolicyError,
  StorageError,
  SyncAbortError,
  SyncError,
  TopologyError,
} from './errors.js';
export type {
  Downtime,
  DowntimeInput,
  GovernorDowntime,
  GovernorEvents,
  GovernorHeartbeat,
  GovernorRunResult,
  GovernorScheduledSync,
  GovernorStatus,
  HAGovernorOptions,
  HeartbeatInfo,
} from './governor/index.js';
export { computeDowntime, HAGovernor } from './governor/index.js';
export type {
  CounterLike,
  DeputyMetrics,
  InstrumentOptionsLike,
  JsonLoggerOptions,
  LogFields,
  Logger,
  LogLevel,
  LogMethod,
  MeterLike,
  MetricAttributesLike,
  MetricsSnapshot,
  ObservableCallbackLike,
  ObservableGaugeLike,
  ObservableResultLike,
} from './ops/index.js';
export {
  formatMetrics,
  jsonLogger,
  PROMETHEUS_CONTENT_TYPE,
  SERVICE_LEVEL,
  serviceLevel,
} from './ops/index.js';
export type {
  CopyResult,
  DeliveredCopy,
  DistributedWrite,
  FailedCopy,
  HttpPeer,
  HttpPeerOptions,
  LocalPeer,
  LocalPeerOptions,
  NodeListener,
  PeerCallOptions,
  PeerFetch,
  PeerHandler,
  PeerHandlerLimits,
  PeerHandlerLogEntry,
  PeerHandlerMetricsOptions,
  PeerHandlerOptions,
  PeerHello,
  PeerReadiness,
  PeerTlsOptions,
  PeerWriter,
  PemInput,
  RemotePeer,
  WriteDistributorOptions,
} from './peer/index.js';
export {
  createPeerHandler,
  DEFAULT_PEER_BASE_PATH,
  httpPeer,
  localPeer,
  PEER_PROTOCOL_VERSION,
  toNodeListener,
  WriteDistributor,
} from './peer/index.js';
export type {
  ClusterBody,
  ClusterPolicy,
  ClusterStatus,
  OperatorBody,
  OperatorPolicy,
  ParsePoliciesOptions,
  Policy,
  PolicyIssueCodeInfo,
  PolicyObject,
  PolicyTextFormat,
  PolicyValidationResult,
  PolicyValue,
  StampOptions,
  TableBody,
  TableEntry,
  TablePolicy,
} from './policy/index.js';
export {
  computePolicyId,
  isClusterPolicy,
  isOperatorPolicy,
  isTablePolicy,
  POLICY_ISSUE_CODES,
  parsePolicies,
  pythonRepr,
  serializePolicies,
  stampPolicy,
  validatePolicies,
} from './policy/index.js';
// The adapter kit: the contract's validators, limits and cursor codec, for your own adapter.
export type { EventCursorKey } from './storage/cursor.js';
export {
  decodeEventCursor,
  decodePointCursor,
  encodeEventCursor,
  encodePointCursor,
} from './storage/cursor.js';
export type { IterateOptions } from './storage/iterate.js';
export { collect, iterateEvents, iteratePoints } from './storage/iterate.js';
export type { MemoryStorageAdapterOptions } from './storage/memory.js';
export { MemoryStorageAdapter } from './storage/memory.js';
export type {
  EventRecord,
  JsonObject,
  JsonValue,
  Page,
  PageRequest,
  Point,
  PointValue,
  StorageAdapter,
  StorageCapabilities,
  SyncStateValue,
  SyncStateWrite,
  SyncWriteOptions,
  TimeWindow,
} from './storage/types.js';
export type { EncodedSyncState } from './storage/validate.js';
export {
  assertEvent,
  assertEvents,
  assertItemId,
  assertItemIds,
  assertJsonValue,
  assertPageRequest,
  assertPoint,
  assertPoints,
  assertPointsInWindow,
  assertPointValue,
  assertSyncKey,
  assertWindow,
  compareCodePoints,
  decodeSyncState,
  encodeSyncState,
  encodeSyncWriteOptions,
  isJsonValue,
  isWellFormedString,
  MAX_BODY_DEPTH,
  MAX_CURSOR_LENGTH,
  MAX_EVENT_ID_LENGTH,
  MAX_ITEM_ID_LENGTH,
  MAX_PAGE_LIMIT,
  MAX_QUALITY,
  MAX_SYNC_KEY_LENGTH,
  MAX_SYNC_STATE_LENGTH,
  syncStateText,
} from './storage/validate.js';
export type {
  CellValue,
  ClusterInfo,
  ClusterOperatorRow,
  ClusterTableRow,
  DataNodeRow,
  DataNodesFilter,
  HaState,
  HaStatusRow,
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
  ReportRow,
  RoutedOperator,
  SkippedCluster,
  TableColumn,
  TopologyOptions,
  TopologyStats,
  VirtualTableRow,
  WriteRequest,
  WriteRoute,
} from './topology/index.js';
export {
  CLUSTER_OPERATORS_COLUMNS,
  CLUSTER_TABLES_COLUMNS,
  DATA_NODES_COLUMNS,
  formatClusterInfo,
  formatTable,
  HA_STATUS_COLUMNS,
  Topology,
  VIRTUAL_TABLES_COLUMNS,
} from './topology/index.js';

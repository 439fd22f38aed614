/**
 * Peers: the {@link RemotePeer} contract a deputy pulls from and the {@link PeerWriter} contract
 * that delivers data into an instance, served in-process by {@link localPeer} or over HTTP by
 * {@link createPeerHandler} (server) and {@link httpPeer} (client). {@link toNodeListener} mounts
 * the fetch-style handler in node:http, node:https or Express (Fastify: the `edge-ha/fastify`
 * plugin). {@link WriteDistributor} delivers a batch to every live copy of a write route.
 *
 * @module
 */

export type {
  CopyResult,
  DeliveredCopy,
  DistributedWrite,
  FailedCopy,
  WriteDistributorOptions,
} from './distributor.js';
export { WriteDistributor } from './distributor.js';
export type {
  HttpPeer,
  HttpPeerOptions,
  PeerFetch,
} from './http-client.js';
export { httpPeer } from './http-client.js';
export type {
  PeerHandler,
  PeerHandlerLimits,
  PeerHandlerLogEntry,
  PeerHandlerMetricsOptions,
  PeerHandlerOptions,
  PeerReadiness,
} from './http-handler.js';
export { createPeerHandler } from './http-handler.js';
export type { PeerTlsOptions, PemInput } from './https-transport.js';
export type { LocalPeer, LocalPeerOptions } from './local.js';
export { localPeer } from './local.js';
export type { NodeListener } from './node-listener.js';
export { toNodeListener } from './node-listener.js';
export type { PeerCallOptions, PeerHello, PeerWriter, RemotePeer } from './types.js';
export { PEER_PROTOCOL_VERSION } from './types.js';
export { DEFAULT_PEER_BASE_PATH } from './wire.js';

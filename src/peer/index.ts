/**
 * Peers: the {@link RemotePeer} contract a deputy pulls from, served in-process by
 * {@link localPeer} or over HTTP by {@link createPeerHandler} (server) and {@link httpPeer}
 * (client). {@link toNodeListener} mounts the fetch-style handler in node:http, Express or
 * Fastify.
 *
 * @module
 */

export type {
  HttpPeerOptions,
  PeerFetch,
} from './http-client.js';
export { httpPeer } from './http-client.js';
export type {
  PeerHandler,
  PeerHandlerLimits,
  PeerHandlerLogEntry,
  PeerHandlerOptions,
} from './http-handler.js';
export { createPeerHandler } from './http-handler.js';
export type { LocalPeerOptions } from './local.js';
export { localPeer } from './local.js';
export type { NodeListener } from './node-listener.js';
export { toNodeListener } from './node-listener.js';
export type { PeerCallOptions, PeerHello, RemotePeer } from './types.js';
export { PEER_PROTOCOL_VERSION } from './types.js';
export { DEFAULT_PEER_BASE_PATH } from './wire.js';

import { describe, expect, it } from 'vitest';
import {
  EdgeHaError,
  isEdgeHaError,
  PeerError,
  PolicyError,
  StorageError,
  SyncError,
  TopologyError,
} from '../src/errors.js';

describe('errors', () => {
  it('carries a stable code, a cause and the subclass name', () => {
    const cause = new Error('disk full');
    const error = new StorageError('STORAGE_BACKEND', 'write failed', { cause });
    expect(error).toBeInstanceOf(EdgeHaError);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('STORAGE_BACKEND');
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('StorageError');
    expect(error.toJSON()).toEqual({
      name: 'StorageError',
      code: 'STORAGE_BACKEND',
      message: 'write failed',
    });
  });

  it('has no cause property when none is given', () => {
    expect('cause' in new SyncError('SYNC_BUSY', 'busy')).toBe(false);
  });

  it('isEdgeHaError matches by brand and optional code, not by instanceof', () => {
    const error = new PolicyError('POLICY_SYNTAX', 'bad', { line: 2, column: 5 });
    expect(isEdgeHaError(error)).toBe(true);
    expect(isEdgeHaError(error, 'POLICY_SYNTAX')).toBe(true);
    expect(isEdgeHaError(error, 'POLICY_SHAPE')).toBe(false);
    expect(isEdgeHaError(new Error('plain'))).toBe(false);
    expect(isEdgeHaError({ code: 'POLICY_SYNTAX' })).toBe(false);
    expect(isEdgeHaError(null)).toBe(false);
    // An error from another copy of the package carries the same global symbol brand.
    const foreign = Object.assign(new Error('x'), { code: 'STORAGE_CLOSED' });
    Object.defineProperty(foreign, Symbol.for('edge-ha.error'), { value: true });
    expect(isEdgeHaError(foreign, 'STORAGE_CLOSED')).toBe(true);
  });

  it('keeps the details of each area', () => {
    const policy = new PolicyError('POLICY_SYNTAX', 'x', { line: 3, column: 7 });
    expect([policy.line, policy.column, policy.issues]).toEqual([3, 7, []]);
    const topology = new TopologyError('TOPOLOGY_NO_LIVE_OPERATOR', 'x', { clusters: ['c1'] });
    expect(topology.clusters).toEqual(['c1']);
  });

  it('classifies peer errors as transient or permanent by code unless told otherwise', () => {
    expect(new PeerError('PEER_TIMEOUT', 'slow').transient).toBe(true);
    expect(new PeerError('PEER_UNAVAILABLE', '503', { status: 503 }).status).toBe(503);
    expect(new PeerError('PEER_AUTH', 'denied').transient).toBe(false);
    expect(new PeerError('PEER_BAD_REPLY', 'x', { transient: true }).transient).toBe(true);
  });
});

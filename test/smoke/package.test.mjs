// Imports the built package by its name, the way a consumer does (ESM import and CJS require).
// Run after `npm run build`: node --test test/smoke/
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

const require = createRequire(import.meta.url);

test('ESM import of edge-ha exposes the error API', async () => {
  const mod = await import('edge-ha');
  const error = new mod.StorageError('STORAGE_CLOSED', 'closed');
  assert.equal(mod.isEdgeHaError(error, 'STORAGE_CLOSED'), true);
  assert.equal(error.name, 'StorageError');
});

test('CJS require of edge-ha returns the same module', async () => {
  const cjs = require('edge-ha');
  const esm = await import('edge-ha');
  assert.equal(cjs.EdgeHaError, esm.EdgeHaError);
  assert.equal(typeof cjs.isEdgeHaError, 'function');
});

// The publish guard (`.ci/check-publish.mjs`, npm's prepublishOnly): `npm publish` must refuse a
// package.json without repository/homepage/bugs, or a version CHANGELOG.md has no section for,
// and name what to set; a complete one passes. Spawned as npm would run it, on copies.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(root, '.ci', 'check-publish.mjs');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Runs the guard on a directory holding `manifest` and `changelog`. */
function check(manifest, changelog) {
  const dir = mkdtempSync(join(tmpdir(), 'edge-ha-publish-'));
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
    writeFileSync(join(dir, 'CHANGELOG.md'), changelog);
    return spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const links = {
  repository: { type: 'git', url: 'git+https://example.org/owner/edge-ha.git' },
  homepage: 'https://example.org/owner/edge-ha#readme',
  bugs: { url: 'https://example.org/owner/edge-ha/issues' },
};

test('npm publish runs the guard first', () => {
  assert.equal(pkg.scripts.prepublishOnly, 'node .ci/check-publish.mjs');
});

test('a package.json without the links is refused, naming each field', () => {
  const { repository, homepage, bugs, ...bare } = { ...pkg, ...links };
  const result = check(bare, '## [0.1.0]\n');
  assert.equal(result.status, 1, result.stderr);
  for (const field of ['repository:', 'homepage:', 'bugs:'])
    assert.match(result.stderr, new RegExp(field));
});

test('a version without its CHANGELOG section is refused', () => {
  const result = check({ ...pkg, ...links, version: '9.9.9' }, '## [Unreleased]\n## [0.1.0]\n');
  assert.equal(result.status, 1);
  assert.match(result.stderr, /no "## \[9\.9\.9\]" section/);
  assert.doesNotMatch(result.stderr, /repository:/);
});

test('non-https links are refused', () => {
  const result = check(
    { ...pkg, ...links, homepage: 'http://example.org', bugs: 'mailto:x@example.org' },
    `## [${pkg.version}]\n`,
  );
  assert.equal(result.status, 1);
  assert.match(result.stderr, /homepage:/);
  assert.match(result.stderr, /bugs:/);
});

test('a complete package.json passes', () => {
  const result = check(
    { ...pkg, ...links },
    `## [Unreleased]\n\n## [${pkg.version}] - 2026-12-01\n`,
  );
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /has its links and its CHANGELOG section/);
});

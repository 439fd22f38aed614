#!/usr/bin/env node
// Run by `npm publish` (the prepublishOnly script): refuses to publish a package.json without
// the project's links, or a version that CHANGELOG.md has no section for. The links make the
// registry page link to the repository, resolve the README's relative links (docs/…), and tell
// users where to report a problem; this workspace does not know the public URL, so they are
// set by whoever publishes. Usage: node .ci/check-publish.mjs [package directory]
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const dir = resolve(process.argv[2] ?? '.');
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const problems = [];

/** Whether `value` is an absolute https URL. */
function isHttpsUrl(value) {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

const repository = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
if (typeof repository !== 'string' || !/^(git\+)?https:\/\/\S+$/.test(repository)) {
  problems.push(
    'repository: set { "type": "git", "url": "git+https://<host>/<owner>/edge-ha.git" } (the registry page links to it and resolves the README\'s relative links against it)',
  );
}
if (typeof pkg.homepage !== 'string' || !isHttpsUrl(pkg.homepage)) {
  problems.push("homepage: set the https URL of the project page (e.g. the repository's README)");
}
const bugs = typeof pkg.bugs === 'string' ? pkg.bugs : pkg.bugs?.url;
if (typeof bugs !== 'string' || !isHttpsUrl(bugs)) {
  problems.push('bugs: set { "url": "https://<host>/<owner>/edge-ha/issues" }');
}
const changelog = readFileSync(join(dir, 'CHANGELOG.md'), 'utf8');
const version = String(pkg.version);
if (!changelog.split('\n').some((line) => line.startsWith(`## [${version}]`))) {
  problems.push(
    `CHANGELOG.md has no "## [${version}]" section: move the [Unreleased] entries under the version being published`,
  );
}

if (problems.length > 0) {
  console.error(`edge-ha: not ready to publish ${pkg.name}@${version}:`);
  for (const problem of problems) console.error(`  - ${problem}`);
  process.exit(1);
}
console.log(`edge-ha: ${pkg.name}@${version} has its links and its CHANGELOG section.`);

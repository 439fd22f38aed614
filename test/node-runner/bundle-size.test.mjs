// Bundle size of the BUILT package as a consumer's bundler sees it: esbuild bundles a one-line
// entry that imports from `edge-ha` by name (resolved through package.json `exports` to dist/),
// minified, for Node. Prints each figure with its biggest inputs; fails over the budgets of
// issue #17 (the governor + HTTP client path at most 150 KB minified).
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What a consumer imports, and the most its minified bundle may weigh. */
const CASES = [
  {
    name: 'governor + HTTP client',
    code: "export { HAGovernor, httpPeer } from 'edge-ha';",
    budget: 150_000,
  },
  {
    name: 'peer handler (server side)',
    code: "export { createPeerHandler, toNodeListener } from 'edge-ha';",
    budget: 150_000,
  },
  { name: 'policies only', code: "export { parsePolicies } from 'edge-ha';", budget: 40_000 },
  { name: 'topology only', code: "export { Topology } from 'edge-ha';", budget: 80_000 },
];

/** Bytes in the output per package (`src` for edge-ha itself), largest first. */
function breakdown(metafile) {
  const output = Object.values(metafile.outputs)[0];
  const by = new Map();
  for (const [file, input] of Object.entries(output.inputs)) {
    const at = file.lastIndexOf('node_modules/');
    let name = 'edge-ha';
    if (at >= 0) {
      const parts = file.slice(at + 'node_modules/'.length).split('/');
      name = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
    }
    by.set(name, (by.get(name) ?? 0) + input.bytesInOutput);
  }
  return [...by].sort((a, b) => b[1] - a[1]);
}

for (const { name, code, budget } of CASES) {
  test(`bundle size: ${name} ≤ ${budget / 1000} KB minified`, async () => {
    const result = await build({
      stdin: { contents: code, resolveDir: root, loader: 'js' },
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const bytes = result.outputFiles[0].contents.byteLength;
    const parts = breakdown(result.metafile)
      .map(([pkg, size]) => `${pkg} ${(size / 1000).toFixed(1)} KB`)
      .join(', ');
    console.log(`${name}: ${(bytes / 1000).toFixed(1)} KB minified (${parts})`);
    assert.ok(bytes <= budget, `${name}: ${bytes} bytes minified, over the budget of ${budget}`);
  });
}

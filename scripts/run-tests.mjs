#!/usr/bin/env node
// Runs test tiers with node's test runner: every *.test.ts under
// test/<tier>/ (recursively), one file at a time (privileged tests share
// the kernel's XDP state; running them in parallel would only add noise).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const tiers = args.filter((a) => !a.startsWith('--'));
if (tiers.length === 0) {
  console.error('usage: run-tests.mjs [--no-build] <tier>... (unit, native, priv, package)');
  process.exit(2);
}
// The CLI under test runs compiled code (dist/, the addon): bring them up to
// date first; scripts/build.mjs rebuilds only what changed.
if (!args.includes('--no-build')) {
  const build = spawnSync(process.execPath, [join('scripts', 'build.mjs')], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

function findTests(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

// Tiers by what they need: unit (nothing: no root, no addon — enforced by
// a preload that makes loading the addon fail), native (the addon, no root),
// priv (root: netns, veth, XDP, AF_XDP), package (npm pack + install).
const preload = { unit: ['--require', resolve('test', 'helpers', 'no-addon.cjs')] };
// A test that hangs (a wedged wait on a real socket, say) fails after
// TEST_TIMEOUT_MS instead of holding CI until its deadline.
const timeout = process.env.TEST_TIMEOUT_MS ?? '180000';
let failed = 0;
for (const tier of tiers) {
  const files = findTests(join('test', tier));
  if (files.length === 0) {
    console.error(`no tests found under test/${tier}`);
    process.exit(1);
  }
  const result = spawnSync(process.execPath, [...(preload[tier] ?? []), '--import', 'tsx', '--test', '--test-concurrency=1', `--test-timeout=${timeout}`, '--test-force-exit', ...files], {
    stdio: 'inherit',
  });
  if (result.status !== 0) failed = result.status ?? 1;
}
process.exit(failed);

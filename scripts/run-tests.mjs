#!/usr/bin/env node
// Runs one test tier with node's test runner: every *.test.ts under
// test/<tier>/ (recursively), one file at a time (privileged tests share
// the kernel's XDP state; running them in parallel would only add noise).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const tiers = process.argv.slice(2);
if (tiers.length === 0) {
  console.error('usage: run-tests.mjs <tier>... (unit, priv)');
  process.exit(2);
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

const files = tiers.flatMap((tier) => findTests(join('test', tier)));
if (files.length === 0) {
  console.error(`no tests found under test/${tiers.join(', test/')}`);
  process.exit(1);
}
// A test that hangs (a wedged wait on a real socket, say) fails after
// TEST_TIMEOUT_MS instead of holding CI until its deadline.
const timeout = process.env.TEST_TIMEOUT_MS ?? '180000';
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', `--test-timeout=${timeout}`, '--test-force-exit', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);

/**
 * Licence check: every Rust crate the build pulls in and every npm package
 * installed for production use carries a licence on our allowlist, and the
 * copyleft ones we accept (EUPL-1.2: xdpilone) are exactly the ones listed
 * in THIRD_PARTY_LICENSES.md.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

const PERMISSIVE = new Set(['MIT', 'Apache-2.0', 'BSD-2-Clause', 'BSD-3-Clause', 'ISC', 'Zlib', 'Unlicense', 'Unicode-3.0', '0BSD', 'BlueOak-1.0.0']);
/** Weak copyleft we accept, each one named in THIRD_PARTY_LICENSES.md. */
const ACCEPTED_COPYLEFT = new Map([['xdpilone', 'EUPL-1.2']]);

/** True when an SPDX expression can be satisfied with permissive licences only. */
function permissive(expr: string): boolean {
  const normalised = expr.replace(/\//g, ' OR ').replace(/[()]/g, ' ');
  // AND binds tighter than OR: every alternative is a list of AND terms.
  return normalised.split(/\s+OR\s+/).some((alt) => alt.split(/\s+AND\s+/).every((t) => PERMISSIVE.has(t.trim())));
}

test('every Rust dependency has an allowed licence', () => {
  const meta = JSON.parse(execFileSync('cargo', ['metadata', '--format-version', '1', '--locked'], { encoding: 'utf8', maxBuffer: 64 << 20 }));
  const listed = readFileSync('THIRD_PARTY_LICENSES.md', 'utf8');
  const bad: string[] = [];
  for (const pkg of meta.packages as Array<{ name: string; license: string | null; source: string | null }>) {
    if (pkg.source === null) continue; // our own crates
    const license = pkg.license ?? '';
    if (permissive(license)) continue;
    if (ACCEPTED_COPYLEFT.get(pkg.name) === license && listed.includes(pkg.name)) continue;
    bad.push(`${pkg.name}: ${license || 'no licence'}`);
  }
  assert.deepEqual(bad, []);
});

test('every production npm package has an allowed licence', () => {
  const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
  const bad: string[] = [];
  for (const [path, pkg] of Object.entries(lock.packages as Record<string, { dev?: boolean; license?: string }>)) {
    if (path === '' || pkg.dev) continue;
    if (!permissive(pkg.license ?? '')) bad.push(`${path}: ${pkg.license ?? 'no licence'}`);
  }
  assert.deepEqual(bad, []);
});

test('the SPDX check itself', () => {
  assert.equal(permissive('MIT OR Apache-2.0'), true);
  assert.equal(permissive('(MIT OR Apache-2.0) AND Unicode-3.0'), true);
  assert.equal(permissive('MIT/Apache-2.0'), true);
  assert.equal(permissive('GPL-3.0'), false);
  assert.equal(permissive('EUPL-1.2'), false);
  assert.equal(permissive(''), false);
});

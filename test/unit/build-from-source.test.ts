/** scripts/build-from-source.mjs names what a build from source is missing, before building anything. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

test('without cargo and clang it exits 1 naming both, with how to install them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-bfs-'));
  try {
    // Shadow cargo with a failing stand-in and drop ~/.cargo/bin; point CLANG at nothing.
    writeFileSync(join(dir, 'cargo'), '#!/bin/sh\nexit 127\n');
    chmodSync(join(dir, 'cargo'), 0o755);
    const path = [dir, ...(process.env.PATH ?? '').split(delimiter).filter((d) => !d.includes('.cargo'))].join(delimiter);
    const r = spawnSync(process.execPath, ['scripts/build-from-source.mjs'], {
      encoding: 'utf8', env: { ...process.env, PATH: path, CLANG: join(dir, 'no-clang') },
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /missing:/);
    assert.match(r.stderr, /cargo \(Rust toolchain\): https:\/\/rustup\.rs/);
    assert.match(r.stderr, /clang .*apt-get install clang llvm/);
    assert.doesNotMatch(r.stderr, /at .*\.mjs:\d+/, 'no stack trace');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

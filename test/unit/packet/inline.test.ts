/**
 * The parse fast path is only fast if V8 inlines `PacketParser.parse` into the
 * handler's loop, which it does only while parse stays under its bytecode
 * limit (460 bytes in Node 20). A change that grows parse past it loses that
 * silently (tests still pass, packets just cost twice as much), so check the
 * optimiser's own trace.
 *
 * The trace must come from one isolate: under `--import tsx` the loader runs
 * on a second thread whose own compiles print into the same stdout, and a
 * line of ours split by one of theirs once failed CI. So the fixture is
 * bundled to plain JS first and run without a loader; compiling on the main
 * thread (`--no-concurrent-recompilation`) keeps the remaining lines whole.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { buildSync } from 'esbuild';

const INLINED = /Inlining [^\n]*<SharedFunctionInfo parse>[^\n]* into [^\n]*<SharedFunctionInfo hotLoop>/;
const REFUSED = /Cannot consider [^\n]*<SharedFunctionInfo parse>[^\n]*/;

test('V8 inlines PacketParser.parse into a hot handler loop', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-inline-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const script = join(dir, 'hot-loop.mjs');
  buildSync({
    entryPoints: [fileURLToPath(new URL('./fixtures/hot-loop.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: script,
    logLevel: 'error',
  });
  const r = spawnSync(process.execPath, ['--trace-turbo-inlining', '--no-concurrent-recompilation', script], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr);
  const refused = REFUSED.exec(r.stdout);
  assert.ok(INLINED.test(r.stdout), `parse was not inlined into the loop${refused ? ': ' + refused[0] : ''}`);
});

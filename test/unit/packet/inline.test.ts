/**
 * The parse fast path is only fast if V8 inlines `PacketParser.parse` into the
 * handler's loop, which it does only while parse stays under its bytecode
 * limit (460 bytes in Node 20). A change that grows parse past it loses that
 * silently (tests still pass, packets just cost twice as much), so check the
 * optimiser's own trace. Compiling on the main thread keeps the trace's lines
 * whole (background compiles write theirs in the middle of others).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

test('V8 inlines PacketParser.parse into a hot handler loop', () => {
  const script = fileURLToPath(new URL('./fixtures/hot-loop.ts', import.meta.url));
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const r = spawnSync(process.execPath, ['--trace-turbo-inlining', '--no-concurrent-recompilation', '--import', 'tsx', script], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.split('\n');
  const inlined = lines.some((l) => /^Inlining .*<SharedFunctionInfo parse>.* into .*<SharedFunctionInfo hotLoop>/.test(l));
  const refused = lines.filter((l) => /Cannot consider .*<SharedFunctionInfo parse>/.test(l));
  assert.ok(inlined, `parse was not inlined into the loop${refused.length ? ': ' + refused[0] : ''}`);
});

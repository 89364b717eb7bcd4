/** `afxdp bench` measures a handler module next to the native ceiling and cleans up its lab. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrivileges } from '../helpers/priv.js';
import { runCli } from '../helpers/cli.js';

test('bench reports frames/s and CPU per packet for the handler and the native ceiling', async (t) => {
  if (!requirePrivileges(t)) return;
  const r = await runCli(['bench', 'examples/udp-drop.ts', '--seconds', '1', '--rounds', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { handlerFps: number; nativeFps: number; handlerCpuNsPerPacket: number; offeredFps: number; handlerErrors: number; handler: unknown[] };
  assert.ok(res.offeredFps > 0);
  assert.ok(res.handlerFps > 0 && res.nativeFps > 0, 'both sides received frames');
  assert.ok(Number.isFinite(res.handlerCpuNsPerPacket));
  assert.equal(res.handlerErrors, 0);
  assert.equal(res.handler.length, 1);
});

/**
 * The receive loop allocates nothing per packet: under a few million frames
 * a minimal handler's process allocates well under one small object per
 * frame, while a control handler allocating an object per packet shows it.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Lab } from '../../ts/index.js';
import { requirePrivileges } from '../helpers/priv.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'alloc-run.ts');

interface AllocRun {
  frames: number;
  /** Bytes allocated on the JS heap during the measured window. */
  allocated: number;
  gcCount: number;
}

function run(lab: Lab, mode: 'minimal' | 'allocating'): AllocRun {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fixture,
    lab.dut.ns, lab.dut.ifname, lab.peer.ns, lab.peer.ifname, lab.dut.mac, mode], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!) as AllocRun;
}

test('no allocation per packet on the hot path (heap bytes allocated under millions of frames)', async (t) => {
  if (!requirePrivileges(t)) return;
  const lab = Lab.create();
  try {
    const minimal = run(lab, 'minimal');
    const control = run(lab, 'allocating');
    assert.ok(minimal.frames > 200_000, `too few frames to judge: ${JSON.stringify(minimal)}`);
    assert.ok(control.frames > 200_000, `too few frames to judge: ${JSON.stringify(control)}`);
    const bytesPerFrame = (r: AllocRun) => r.allocated / r.frames;
    assert.ok(bytesPerFrame(control) > 8, `the control must show its allocation: ${JSON.stringify(control)}`);
    // The smallest heap object (a HeapNumber) is 12+ bytes: under 4 bytes a
    // frame, nothing is allocated per frame. What remains is per wait and
    // per event-loop yield (a promise each), amortised over many frames.
    assert.ok(bytesPerFrame(minimal) < 4, `hot path allocates ~${bytesPerFrame(minimal).toFixed(2)} B/frame: ${JSON.stringify(minimal)}`);
  } finally {
    lab.destroy();
  }
});

/**
 * The daemon's supervisor (issue 10): a stuck handler is reported and its
 * worker restarted while the other queue keeps running; SIGTERM during a
 * stall still stops promptly with totals; a worker that dies is restarted;
 * the restart budget ends the daemon; a reload that never settles is
 * abandoned and later reloads work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { peer, peerCapture, requirePrivileges } from '../helpers/priv.js';
import { variedUdpFrames } from '../helpers/frames.js';
import { Daemon, finalTotals, withLabAndDir } from '../helpers/cli.js';
import { readStates } from '../../ts/daemon/state-file.js';

/** A generous hang guard for a stop that should take about a second. */
const STOP_GUARD_MS = 10_000;

/** Stop `d` with SIGTERM; fails if it has not exited within STOP_GUARD_MS. */
async function stopWithin(d: Daemon): Promise<Awaited<Daemon['done']>> {
  d.child.kill('SIGTERM');
  const guard = new Promise<'hung'>((r) => setTimeout(() => r('hung'), STOP_GUARD_MS).unref());
  const r = await Promise.race([d.done, guard]);
  assert.notEqual(r, 'hung', `no exit within ${STOP_GUARD_MS / 1000} s of SIGTERM:\n${d.stderr}`);
  return r as Awaited<Daemon['done']>;
}

/**
 * Swaps MACs (frames come back to the peer). On queue `stallQueue`, the
 * first worker to see a frame stalls in a busy loop for good when the marker
 * file does not exist yet (it creates it first): a restarted worker finds it
 * and runs normally. `always` stalls every worker of that queue.
 */
function stallingHandler(marker: string, stallQueue: number, always = false): string {
  return `
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { Verdict, type Packet } from 'afxdp';
let stall = false;
export function setup(ctx: { queue: number }) {
  stall = ctx.queue === ${stallQueue} && (${always} || !existsSync(${JSON.stringify(marker)}));
}
export default function (packet: Packet) {
  if (stall) {
    writeFileSync(${JSON.stringify(marker)}, 'stalled');
    while (true) {}
  }
  packet.swapMacs();
  return Verdict.Tx;
}
`;
}

function returned(captured: Uint8Array[]): number {
  return captured.filter((f) => f[0] === 0x02 && f[5] === 0x02 && f[11] === 0x01).length;
}

test('a handler stuck on queue 0 is reported, its worker restarted; queue 1 runs on; SIGTERM exits 0', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(2, async (lab, dir) => {
    const handler = join(dir, 'stall.mts');
    const marker = join(dir, 'stalled');
    writeFileSync(handler, stallingHandler(marker, 0));
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname, '--status-interval', '0', '--stall-timeout', '0.5'], lab.dut.ns);
    try {
      await d.ready();
      const frames = variedUdpFrames(400, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
      const first = await peer(lab, { send: frames, capture: true, idleMs: 1000 });
      assert.ok(existsSync(marker), 'a frame reached queue 0 and its handler stalled');
      assert.ok(returned(first.captured) > 0, 'queue 1 went on handling frames while queue 0 was stuck');
      await d.waitFor(new RegExp(`afxdp: queue 0 handler stalled for \\d+\\.\\d s in ${handler.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
      await d.waitFor(/afxdp: worker for queue 0 restarted/);
      assert.doesNotMatch(d.stderr, /queue 1 handler stalled|restarting the worker for queue 1/, 'queue 1 untouched');
      assert.match(d.stderr, /state running -> degraded: queue 0 handler stalled/);
      assert.match(d.stderr, /state degraded -> running/);
      // Both queues serve again: every frame of a second round comes back.
      const second = await peer(lab, { send: frames, capture: true, expect: frames.length });
      assert.equal(returned(second.captured), frames.length);
      const r = await stopWithin(d);
      assert.equal(r.code, 0, `a worker restarted successfully: exit 0\n${r.stderr}`);
      assert.equal(finalTotals(r.stdout).size, 2, 'totals for both queues');
      assert.equal(lab.xdpProgramId(lab.dut), null, 'nothing attached');
    } finally {
      await d.kill();
    }
  });
});

test('SIGTERM while a handler is stuck: prompt exit with totals, exit 1, nothing attached', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const handler = join(dir, 'stall.mts');
    const marker = join(dir, 'stalled');
    writeFileSync(handler, stallingHandler(marker, 0, true));
    // A stall timeout far away: the handler is stuck when SIGTERM comes, not yet restarted.
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname, '--status-interval', '0', '--stall-timeout', '600', '--metrics', '0'], lab.dut.ns);
    try {
      await d.ready();
      const url = (await d.waitFor(/metrics at (http:\/\/\S+)/))[1]!;
      const frames = variedUdpFrames(20, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
      await peer(lab, { send: frames });
      for (let i = 0; i < 100 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(existsSync(marker), 'the handler is stuck');
      // A scrape still answers, and says the daemon is not all up.
      const text = execFileSync('ip', ['netns', 'exec', lab.dut.ns, 'curl', '-sf', '--max-time', '10', url], { encoding: 'utf8' });
      assert.match(text, /^afxdp_up 0$/m);
      assert.match(text, new RegExp(`^afxdp_rx_packets_total\\{interface="${lab.dut.ifname}",queue="0"\\} \\d+$`, 'm'), 'last known counters shown');
      const r = await stopWithin(d);
      assert.equal(r.code, 1, `a worker that had to be terminated makes the exit non-zero\n${r.stderr}`);
      assert.match(r.stderr, /worker for queue 0 did not stop within/);
      assert.ok(finalTotals(r.stdout).has(`${lab.dut.ifname}/0`), `totals printed:\n${r.stdout}`);
      assert.equal(lab.xdpProgramId(lab.dut), null, 'nothing attached');
    } finally {
      await d.kill();
    }
  });
});

test('a handler that stalls after every restart spends the restart budget: exit 1, nothing attached', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const handler = join(dir, 'stall.mts');
    writeFileSync(handler, stallingHandler(join(dir, 'stalled'), 0, true));
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname, '--status-interval', '0', '--stall-timeout', '0.3', '--max-restarts', '1'], lab.dut.ns);
    try {
      await d.ready();
      const frames = variedUdpFrames(20, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
      await peer(lab, { send: frames });
      await d.waitFor(/afxdp: worker for queue 0 restarted/);
      await peer(lab, { send: frames });
      const r = await d.done;
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /queue 0: restarted 1 times within 60\.0 s; giving up/);
      assert.equal(lab.xdpProgramId(lab.dut), null, 'nothing attached');
    } finally {
      await d.kill();
    }
  });
});

test('a worker that dies (process.exit in the handler) is restarted; exit 0 afterwards', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const handler = join(dir, 'exit.mts');
    const marker = join(dir, 'exited');
    // process.abort() is not supported in a worker (it throws, which is an
    // ordinary handler error): process.exit() ends the worker thread.
    writeFileSync(handler, `
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { Verdict, type Packet } from 'afxdp';
export default function (packet: Packet) {
  if (!existsSync(${JSON.stringify(marker)})) {
    writeFileSync(${JSON.stringify(marker)}, 'x');
    process.exit(9);
  }
  packet.swapMacs();
  return Verdict.Tx;
}
`);
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname, '--status-interval', '0'], lab.dut.ns);
    try {
      await d.ready();
      const frames = variedUdpFrames(50, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
      await peer(lab, { send: frames.slice(0, 5) });
      await d.waitFor(/worker for queue 0 exited unexpectedly \(code 9\)/);
      await d.waitFor(/afxdp: worker for queue 0 restarted/);
      const res = await peer(lab, { send: frames, capture: true, expect: frames.length });
      assert.equal(returned(res.captured), frames.length, 'the restarted worker serves the queue');
      const r = await stopWithin(d);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(lab.xdpProgramId(lab.dut), null);
    } finally {
      await d.kill();
    }
  });
});

test('a reload whose setup() never settles is abandoned; the old handler keeps running; a later reload works', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const handler = join(dir, 'h.mts');
    const swap = `import { Verdict, type Packet } from 'afxdp';
export default function (packet: Packet) { packet.swapMacs(); return Verdict.Tx; }
`;
    writeFileSync(handler, swap);
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname, '--status-interval', '0', '--reload-timeout', '0.5'], lab.dut.ns);
    try {
      await d.ready();
      // A module that would drop everything, but whose setup() never settles.
      writeFileSync(handler, `export function setup() { return new Promise(() => {}); }
export default function () { return 0; }
`);
      d.child.kill('SIGHUP');
      await d.waitFor(/q0: reload abandoned: setup\(\) did not settle within 0\.5 s; the previous handler keeps running/);
      const frames = variedUdpFrames(100, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
      const before = await peer(lab, { send: frames, capture: true, expect: frames.length });
      assert.equal(returned(before.captured), frames.length, 'the old handler still swaps and returns every frame');
      // Then a module that drops: the next reload takes effect.
      writeFileSync(handler, 'export default function () { return 0; }\n');
      d.child.kill('SIGHUP');
      await d.waitFor(/handler reloaded on 1 worker\(s\) \(generation 1\)/);
      const run = peerCapture(lab, { send: frames, capture: true, idleMs: 500 });
      assert.equal(returned((await run.result).captured), 0, 'the new handler drops');
      let generation = -1;
      for (let i = 0; i < 50 && generation !== 1; i++) {
        generation = readStates().find((s) => s.pid === d.child.pid)?.handlerGeneration ?? -1;
        if (generation !== 1) await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(generation, 1, 'the generation counts the one reload that took effect');
      const r = await stopWithin(d);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await d.kill();
    }
  });
});

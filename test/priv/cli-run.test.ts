/**
 * `afxdp run` as a child process in a lab namespace: frames on two queues,
 * clean exits on signals, nothing left attached after SIGKILL, reload.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { peer, requirePrivileges, until } from '../helpers/priv.js';
import { variedUdpFrames } from '../helpers/frames.js';
import { Daemon, finalTotals, sum, withLabAndDir } from '../helpers/cli.js';
import { readStates, type DaemonState } from '../../ts/daemon/state-file.js';

function daemonState(d: Daemon): DaemonState | undefined {
  return readStates().find((s) => s.pid === d.child.pid);
}

/** Swaps MACs only: the frame returns to the peer, whose kernel ignores it (not its IP), so no ICMP comes back. */
const SWAP_MACS = `
import { Verdict, type Packet } from 'afxdp';
export default function (packet: Packet) {
  packet.swapMacs();
  return Verdict.Tx;
}
`;

const DROP_ALL = `
export default function () {
  return 0;
}
`;

test('a TypeScript handler file handles frames on two queues; SIGTERM exits 0 and detaches', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(2, async (lab, dir) => {
    const handler = join(dir, 'swap.mts');
    writeFileSync(handler, SWAP_MACS);
    const d = new Daemon(['run', handler, '--interface', lab.dut.ifname, '--status-interval', '0'], lab.dut.ns);
    try {
      await d.ready();
      assert.notEqual(lab.xdpProgramId(lab.dut), null, 'steering program attached while running');
      const frames = variedUdpFrames(300, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
      const res = await peer(lab, { send: frames, capture: true, expect: frames.length });
      const back = res.captured.filter((f) => f[0] === 0x02 && f[5] === 0x02 && f[11] === 0x01);
      assert.equal(back.length, frames.length, 'every frame came back with its MACs swapped');
      const r = await d.stop('SIGTERM');
      assert.equal(r.code, 0, r.stderr);
      const totals = finalTotals(r.stdout);
      assert.deepEqual([...totals.keys()].sort(), [`${lab.dut.ifname}/0`, `${lab.dut.ifname}/1`]);
      for (const [key, rec] of totals) assert.ok(rec.rx! > 0, `queue ${key} handled frames`);
      assert.equal(sum(totals, 'rx'), frames.length);
      assert.equal(sum(totals, 'tx'), frames.length);
      assert.equal(sum(totals, 'err'), 0);
      assert.equal(lab.xdpProgramId(lab.dut), null, 'nothing attached after SIGTERM');
    } finally {
      await d.kill();
    }
  });
});

test('SIGINT exits 0 and detaches', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const handler = join(dir, 'drop.mts');
    writeFileSync(handler, DROP_ALL);
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname, '--quiet'], lab.dut.ns);
    try {
      await d.ready();
      const r = await d.stop('SIGINT');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '', '--quiet prints no status');
      assert.equal(lab.xdpProgramId(lab.dut), null);
    } finally {
      await d.kill();
    }
  });
});

test('SIGKILL leaves no program attached', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(2, async (lab, dir) => {
    const handler = join(dir, 'drop.mts');
    writeFileSync(handler, DROP_ALL);
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname], lab.dut.ns);
    try {
      await d.ready();
      assert.notEqual(lab.xdpProgramId(lab.dut), null);
      const r = await d.stop('SIGKILL');
      assert.equal(r.signal, 'SIGKILL');
      assert.ok(await until(() => lab.xdpProgramId(lab.dut) === null, 10_000), 'the bpf_link went with the process');
    } finally {
      await d.kill();
    }
  });
});

test('SIGHUP reloads the handler mid-traffic; counters before and after add up to the frames sent', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const handler = join(dir, 'h.mts');
    writeFileSync(handler, DROP_ALL);
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname, '--status-interval', '0'], lab.dut.ns);
    try {
      await d.ready();
      const ends = { dutMac: lab.dut.mac, peerMac: lab.peer.mac };
      const before = variedUdpFrames(100, ends);
      const r1 = await peer(lab, { send: before, capture: true, idleMs: 300 });
      assert.equal(r1.captured.filter((f) => f[11] === 0x01).length, 0, 'the first handler drops everything');

      // Mid-traffic: frames keep coming while the module is swapped.
      // Long enough (about 5 s) that both reloads happen while it flows.
      const during = variedUdpFrames(5000, ends);
      let backgroundDone = false;
      const background = peer(lab, { send: during, burst: 1, gapUs: 1000 }).finally(() => {
        backgroundDone = true;
      });
      assert.ok(await until(() => (daemonState(d)?.ports[0]?.rx ?? 0) > before.length, 20_000), 'traffic reached the daemon');

      // A module that fails to load keeps the old handler running.
      writeFileSync(handler, 'export default 42;\n');
      d.child.kill('SIGHUP');
      await d.waitFor(/reload failed, the previous handler keeps running/);

      writeFileSync(handler, SWAP_MACS);
      d.child.kill('SIGHUP');
      await d.waitFor(/handler reloaded on 1 worker/);
      assert.equal(backgroundDone, false, 'the reload must land while the mid-traffic frames still flow');
      assert.equal((await background).sent, during.length);
      const after = variedUdpFrames(150, ends);
      const r2 = await peer(lab, { send: after, capture: true, expect: after.length });
      assert.equal(r2.captured.filter((f) => f[11] === 0x01).length, after.length, 'the new handler sends every frame back');

      const r = await d.stop('SIGTERM');
      assert.equal(r.code, 0, r.stderr);
      const totals = finalTotals(r.stdout);
      // Nothing lost or counted twice across the two reloads.
      assert.equal(sum(totals, 'rx'), before.length + during.length + after.length);
      assert.equal(sum(totals, 'tx') + sum(totals, 'drop'), sum(totals, 'rx'));
      assert.ok(sum(totals, 'drop') > before.length, 'the old handler saw some of the mid-traffic frames');
      assert.ok(sum(totals, 'tx') > after.length, 'the new handler took over part of the mid-traffic frames');
      assert.equal(sum(totals, 'err'), 0);
      assert.equal(lab.xdpProgramId(lab.dut), null);
    } finally {
      await d.kill();
    }
  });
});

test('--queues picks queues, a throwing handler counts errors and logs why, --watch reloads on change', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(2, async (lab, dir) => {
    const handler = join(dir, 'w.mts');
    // Throws on frames whose UDP destination port is odd.
    writeFileSync(handler, `
      export default function (p) {
        if (p.u16(36) % 2 === 1) throw new Error('odd port ' + p.u16(36));
        return 0;
      }
    `);
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname, '--queues', '1', '--watch', '--status-interval', '0'], lab.dut.ns);
    try {
      await d.ready();
      assert.match(d.stderr, /on afx0\/1 native copy \(pid/, 'only queue 1 served');
      const ends = { dutMac: lab.dut.mac, peerMac: lab.peer.mac };
      const even = variedUdpFrames(40, ends, 8);
      const odd = variedUdpFrames(40, ends, 9);
      await peer(lab, { send: [...even, ...odd] });
      await d.waitFor(/warn: q1: handler threw \(frame dropped\): Error: odd port 9/);

      writeFileSync(handler, SWAP_MACS);
      await d.waitFor(/file changed: reloading/);
      await d.waitFor(/handler reloaded on 1 worker/);
      // Saved the way many editors save: a new file renamed over the old one,
      // twice (a watch on the old file would see the first rename, then nothing).
      for (let save = 0; save < 2; save++) {
        const reloadsBefore = d.stderr.match(/handler reloaded on 1 worker/g)!.length;
        writeFileSync(join(dir, 'w.mts.tmp'), SWAP_MACS);
        renameSync(join(dir, 'w.mts.tmp'), handler);
        await d.waitFor(new RegExp(`(handler reloaded on 1 worker[\\s\\S]*){${reloadsBefore + 1}}`));
      }
      const r = await d.stop();
      assert.equal(r.code, 0, r.stderr);
      const totals = finalTotals(r.stdout);
      assert.deepEqual([...totals.keys()], ['afx0/1']);
      const q1 = totals.get('afx0/1')!;
      // Frames that arrived on queue 0 went to the kernel (no socket there).
      assert.ok(q1.rx! <= even.length + odd.length);
      assert.ok(q1.err! > 0 && q1.err! <= odd.length);
      assert.equal(q1.drop, q1.rx, 'errors drop the frame too');
    } finally {
      await d.kill();
    }
  });
});

test('--watch follows a handler that is a symlink: edits of its target reload', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const target = join(dir, 'real.mts');
    const link = join(dir, 'handler.mts');
    writeFileSync(target, SWAP_MACS);
    symlinkSync(target, link);
    const d = new Daemon(['run', link, '-i', lab.dut.ifname, '--watch', '--status-interval', '0'], lab.dut.ns);
    try {
      await d.ready();
      writeFileSync(join(dir, 'real.mts.tmp'), DROP_ALL);
      renameSync(join(dir, 'real.mts.tmp'), target); // the target replaced, the link untouched
      await d.waitFor(/handler reloaded on 1 worker/);
      const r = await d.stop();
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await d.kill();
    }
  });
});

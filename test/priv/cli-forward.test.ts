/**
 * Several interfaces in one daemon: examples/firewall.ts with two
 * interfaces forwards what its rules allow from one to the other (ports of
 * a worker share a UMEM, handed to the handler via setup(ctx)).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from '../../ts/index.js';
import { peer, peerCapture, requirePrivileges } from '../helpers/priv.js';
import { udpFrame } from '../helpers/frames.js';
import { Daemon, finalTotals, sum } from '../helpers/cli.js';

test('a daemon on two interfaces forwards between them with the firewall example', async (t) => {
  if (!requirePrivileges(t)) return;
  // Lab A's dut namespace gets lab B's dut end too, as afx2:
  //   A.peer afx1 ── afx0 [A.dut: afxdp run -i afx0 -i afx2] afx2 ── afx1 B.peer
  const a = Lab.create({ queues: 2 });
  const b = Lab.create({ queues: 2 });
  try {
    b.exec(b.dut, 'ip', ['link', 'set', 'dev', 'afx0', 'down']);
    b.exec(b.dut, 'ip', ['link', 'set', 'dev', 'afx0', 'name', 'afx2']);
    b.exec(b.dut, 'ip', ['link', 'set', 'dev', 'afx2', 'netns', a.dut.ns]);
    a.exec(a.dut, 'ip', ['link', 'set', 'dev', 'afx2', 'up']);

    const d = new Daemon(['run', 'examples/firewall.ts', '-i', 'afx0', '-i', 'afx2', '--status-interval', '0'], a.dut.ns);
    try {
      await d.ready();
      await d.waitFor(/forwarding allowed frames afx0 <-> afx2/);
      const frames: Uint8Array[] = [];
      for (let i = 0; i < 60; i++) {
        frames.push(udpFrame({
          dstMac: a.dut.mac, srcMac: a.peer.mac, srcIp: '192.0.2.2', dstIp: '198.51.100.20',
          srcPort: 30000 + i, dstPort: i % 3 === 0 ? 9 : 5000 + i, length: 80 + i, seed: i + 1,
        }));
      }
      const allowed = frames.filter((_, i) => i % 3 !== 0);
      // Capture at B's peer while A's peer sends.
      const capture = peerCapture(b, { capture: true, expect: allowed.length, idleMs: 1500 });
      await capture.ready; // its capture socket is bound: nothing sent from now on is missed
      const sent = await peer(a, { send: frames });
      assert.equal(sent.sent, frames.length);
      const got = (await capture.result).captured.filter((f) => f[13] === 0x00 && f[12] === 0x08 && f[23] === 17);
      assert.deepEqual(
        got.map((f) => Buffer.from(f).toString('hex')).sort(),
        allowed.map((f) => Buffer.from(f).toString('hex')).sort(),
        'exactly the allowed frames came out of afx2, unchanged',
      );
      const r = await d.stop();
      assert.equal(r.code, 0, r.stderr);
      const totals = finalTotals(r.stdout);
      assert.equal(sum(totals, 'fwd'), allowed.length);
      assert.equal(sum(totals, 'drop'), frames.length - allowed.length);
      assert.ok([...totals.keys()].some((k) => k.startsWith('afx2/')), 'afx2 ports are reported');
    } finally {
      await d.kill();
    }
  } finally {
    a.destroy();
    b.destroy();
  }
});

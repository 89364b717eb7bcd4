/**
 * examples/host-firewall.ts live under `afxdp run`: the handler sees every
 * frame, answers UDP echo itself, drops a blocked prefix, and passes the
 * rest to the kernel — ping (with ARP through the handler) gets replies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { buildUdp } from '../../ts/packet/index.js';
import { peer, peerCapture, requirePrivileges, withLab } from '../helpers/priv.js';
import { Daemon, finalTotals, sum } from '../helpers/cli.js';

const exec = promisify(execFile);

test('host-firewall: echo answered by the handler, blocked prefix dropped, the rest passed to the kernel', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const d = new Daemon(['run', 'examples/host-firewall.ts', '-i', lab.dut.ifname, '--status-interval', '0'], lab.dut.ns);
    try {
      await d.ready();
      // Kernel traffic: ARP and ICMP echo both go through the handler and are passed.
      const ping = await exec('ip', ['netns', 'exec', lab.peer.ns, 'ping', '-c', '3', '-i', '0.2', '-W', '2', lab.dut.ipv4], { encoding: 'utf8' });
      assert.match(ping.stdout, /3 packets transmitted, 3 received/);

      const macs = { srcMac: lab.peer.mac, dstMac: lab.dut.mac };
      const echo = Array.from({ length: 10 }, (_, i) => buildUdp({ ...macs, src: lab.peer.ipv4, dst: lab.dut.ipv4, srcPort: 30000 + i, dstPort: 7, payload: `echo ${i}` }));
      const blocked = Array.from({ length: 7 }, (_, i) => buildUdp({ ...macs, src: '198.51.100.9', dst: lab.dut.ipv4, srcPort: 31000 + i, dstPort: 7, payload: 'no' }));
      const capture = peerCapture(lab, { capture: true, expect: echo.length, idleMs: 5000 });
      await capture.ready;
      await peer(lab, { send: [...blocked, ...echo] });
      const got = (await capture.result).captured.filter((f) => f.length >= 42 && f[23] === 17 && ((f[34]! << 8) | f[35]!) === 7);
      assert.equal(got.length, echo.length, 'every echo answered by the handler');

      const r = await d.stop();
      assert.equal(r.code, 0, r.stderr);
      const totals = finalTotals(r.stdout);
      assert.equal(sum(totals, 'tx'), echo.length);
      assert.equal(sum(totals, 'drop'), blocked.length);
      assert.ok(sum(totals, 'pass') >= 6, `ping requests and ARP passed: ${r.stdout}`);
      assert.equal(sum(totals, 'err'), 0);
    } finally {
      await d.kill();
    }
  });
});

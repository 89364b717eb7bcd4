/**
 * MTU against the UMEM frame size. Multi-buffer (frames spanning several
 * UMEM frames) is not supported yet, so a port whose interface MTU its
 * frames cannot hold must refuse to open in every mode. Before, mode 'auto'
 * fell back to skb mode on a veth with MTU 9000 and the kernel then dropped
 * most jumbo frames without a word (only xdp.rxDropped counted them).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { open, Verdict } from '../../ts/index.js';
import { hex, udpFrame } from '../helpers/frames.js';
import { peer, requirePrivileges, until, withLab } from '../helpers/priv.js';

test('MTU 9000 with multiBuffer: false: open refuses with ERR_MTU_TOO_LARGE in every mode and frame size, nothing attached (by default it opens multi-buffer: jumbo.test.ts)', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({ mtu: 9000 }, async (lab) => {
    for (const mode of ['auto', 'skb', 'native'] as const) {
      for (const frameSize of [2048, 4096] as const) {
        await assert.rejects(open({ interface: lab.dut.ifname, mode, frameSize, multiBuffer: false }), (err: any) => {
          assert.equal(err.code, 'ERR_MTU_TOO_LARGE', `mode ${mode}, frameSize ${frameSize}: ${err.code}: ${err.message}`);
          assert.match(err.message, /MTU 9000/);
          return true;
        });
        assert.equal(lab.xdpProgramId(lab.dut), null, `mode ${mode}: a refused open left a program attached`);
      }
    }
  });
});

for (const frameSize of [2048, 4096] as const) {
  test(`the largest MTU a ${frameSize}-byte frame holds opens in skb mode and its longest frames arrive whole`, async (t) => {
    if (!requirePrivileges(t)) return;
    // Frame size - 256 bytes of XDP headroom - 22 bytes of Ethernet header with two VLAN tags.
    const largest = frameSize - 256 - 22;
    await withLab({ mtu: largest + 1 }, async (lab) => {
      await assert.rejects(open({ interface: lab.dut.ifname, mode: 'skb', frameSize, multiBuffer: false }), { code: 'ERR_MTU_TOO_LARGE' });
      lab.exec(lab.dut, 'ip', ['link', 'set', 'dev', lab.dut.ifname, 'mtu', String(largest)]);
      lab.exec(lab.peer, 'ip', ['link', 'set', 'dev', lab.peer.ifname, 'mtu', String(largest)]);
      t.diagnostic(`frame size ${frameSize}: largest MTU ${largest}`);
      await using port = await open({ interface: lab.dut.ifname, mode: 'skb', frameSize, multiBuffer: false });
      const seen: string[] = [];
      const loop = port.run((p) => {
        seen.push(hex(p.bytes));
        return Verdict.Drop;
      });
      // Untagged, the longest frame is MTU + 14 bytes.
      const frames = [0, 1, 2].map((seed) => udpFrame({
        length: largest + 14, dstMac: lab.dut.mac, srcMac: lab.peer.mac,
        srcIp: lab.peer.ipv4, dstIp: lab.dut.ipv4, srcPort: 4000, dstPort: 9, seed,
      }));
      const result = await peer(lab, { send: frames });
      assert.equal(result.sent, frames.length);
      await until(() => seen.length >= frames.length);
      assert.deepEqual(seen, frames.map(hex), `stats ${JSON.stringify(port.stats())}`);
      assert.equal(port.stats().xdp.rxDropped, 0);
      await port.close();
      await loop;
    });
  });
}

/**
 * examples/l4-balancer.ts live: the packet toolkit parsing and rewriting
 * frames in place in a real UMEM, behind real AF_XDP sockets on two queues.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PacketParser, ParseStatus, buildTcp, buildUdp, formatIPv4 } from '../../ts/packet/index.js';
import { peer, peerCapture, requirePrivileges, withLab } from '../helpers/priv.js';
import { Daemon, finalTotals, sum } from '../helpers/cli.js';

const BACKENDS = ['198.51.100.10', '198.51.100.11', '198.51.100.12'];

test('l4-balancer rewrites the VIP to a backend per flow, checksums valid, on the wire', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({ queues: 2 }, async (lab) => {
    const env = { LB_VIP: lab.dut.ipv4, LB_BACKENDS: BACKENDS.join(',') };
    const d = new Daemon(['run', 'examples/l4-balancer.ts', '-i', lab.dut.ifname, '--status-interval', '0'], lab.dut.ns, env);
    try {
      await d.ready();
      const macs = { srcMac: lab.peer.mac, dstMac: lab.dut.mac };
      // 200 UDP flows and 20 TCP ones to the VIP (the dut's address), each sent twice; 30 frames to another address.
      const flows = [
        ...Array.from({ length: 200 }, (_, i) => buildUdp({ ...macs, src: lab.peer.ipv4, dst: lab.dut.ipv4, srcPort: 20000 + i, dstPort: 53, payload: `query ${i}` })),
        ...Array.from({ length: 20 }, (_, i) => buildTcp({ ...macs, src: lab.peer.ipv4, dst: lab.dut.ipv4, srcPort: 40000 + i, dstPort: 443, payload: 'x' })),
      ];
      const strays = Array.from({ length: 30 }, (_, i) => buildUdp({ ...macs, src: lab.peer.ipv4, dst: '192.0.2.77', srcPort: 1000 + i, dstPort: 53 }));
      const capture = peerCapture(lab, { capture: true, expect: 2 * flows.length, idleMs: 1500 });
      await capture.ready;
      await peer(lab, { send: [...flows, ...strays, ...flows] });
      const got = (await capture.result).captured;

      const p = new PacketParser();
      const backendOf = new Map<string, string>();
      let balanced = 0;
      for (const f of got) {
        if (p.parse(f) !== ParseStatus.Ok || p.ipVersion !== 4) continue;
        const dst = formatIPv4(p.dstIPv4);
        if (!BACKENDS.includes(dst)) continue; // not one of ours
        assert.equal(p.lengthStatus, ParseStatus.Ok);
        assert.ok(p.ipChecksumValid() && p.l4ChecksumValid(), `checksums of a frame to ${dst}`);
        const flow = `${p.l4Protocol}/${p.srcPort}`;
        const seen = backendOf.get(flow);
        if (seen !== undefined) assert.equal(dst, seen, `flow ${flow} moved from ${seen} to ${dst}`);
        backendOf.set(flow, dst);
        balanced++;
      }
      assert.equal(balanced, 2 * flows.length, 'every frame to the VIP came back rewritten');
      assert.equal(backendOf.size, flows.length);
      const perBackend = BACKENDS.map((b) => [...backendOf.values()].filter((v) => v === b).length);
      assert.ok(perBackend.every((n) => n > 30), `flows per backend ${perBackend}`);

      const r = await d.stop();
      assert.equal(r.code, 0, r.stderr);
      const totals = finalTotals(r.stdout);
      assert.equal(sum(totals, 'tx'), 2 * flows.length);
      assert.equal(sum(totals, 'drop'), strays.length);
      assert.equal(sum(totals, 'err'), 0);
    } finally {
      await d.kill();
    }
  });
});

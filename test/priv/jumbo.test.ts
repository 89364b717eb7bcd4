/**
 * Jumbo frames end to end (AF_XDP multi-buffer): a veth pair with MTU 9000
 * on both ends, real frames from the peer, through the frags steering
 * program and a multi-buffer socket (XDP_USE_SG), to a handler and back.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open, Verdict, type Packet, type Port } from '../../ts/index.js';
import { readPcapng } from '../../ts/packet/index.js';
import { hex, udpFrame } from '../helpers/frames.js';
import { peer, peerCapture, requirePrivileges, withLab } from '../helpers/priv.js';

/** Every frame in exactly one state, adding up (importing datapath.test.ts would run its tests). */
function assertAccounting(port: Port): void {
  const a = port.frameAccounting();
  assert.equal(a.consistent, true, `frame accounting inconsistent: ${JSON.stringify(a)}`);
  assert.equal(a.free + a.fill + a.handler + a.tx + a.retired, a.total);
}

const MTU = 9000;

function frames(lengths: number[], ends: { dutMac: string; peerMac: string }): Uint8Array[] {
  return lengths.map((length, i) => {
    const f = udpFrame({
      dstMac: ends.dutMac, srcMac: ends.peerMac, srcIp: '192.0.2.2', dstIp: '192.0.2.1',
      srcPort: 40000 + i, dstPort: 9, length, seed: i,
    });
    // Bytes that differ at every offset, so a misplaced segment shows.
    for (let k = 42; k < length; k++) f[k] = (k * 31 + i) & 255;
    return f;
  });
}

function swapped(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame);
  out.set(frame.subarray(6, 12), 0);
  out.set(frame.subarray(0, 6), 6);
  return out;
}

/** Echo `sent` through `handler` on an MTU-9000 lab in `mode`; returns what came back. */
async function echo(mode: 'native' | 'skb', sent: (ends: { dutMac: string; peerMac: string }) => Uint8Array[],
  handler: (p: Packet) => Verdict, check: (sent: Uint8Array[], got: Uint8Array[]) => void): Promise<void> {
  await withLab({ mtu: MTU }, async (lab) => {
    await using port = await open({ interface: lab.dut.ifname, mode });
    const s0 = port.stats();
    assert.equal(s0.multiBuffer, true, 'an MTU of 9000 needs multi-buffer with 4 KiB frames');
    assert.equal(s0.attachMode, mode);
    const loop = port.run(handler);
    const out = sent({ dutMac: lab.dut.mac, peerMac: lab.peer.mac });
    const result = await peer(lab, { send: out, capture: true, expect: out.length });
    assert.equal(result.captured.length, out.length,
      `lost ${out.length - result.captured.length} frames; stats ${JSON.stringify(port.stats())}`);
    check(out, result.captured);
    const s = port.stats();
    assert.equal(s.rx, out.length);
    assert.equal(s.dropped, 0);
    assertAccounting(port);
    await port.close();
    await loop;
  });
}

for (const mode of ['native', 'skb'] as const) {
  test(`${mode}: 9000-byte UDP frames come back byte for byte`, async (t) => {
    if (!requirePrivileges(t)) return;
    let segments = 0;
    await echo(mode, (ends) => frames(Array(50).fill(MTU + 14), ends), (p) => {
      segments = Math.max(segments, p.segments);
      p.swapMacs();
      return Verdict.Tx;
    }, (sent, got) => {
      for (let i = 0; i < sent.length; i++) assert.equal(hex(got[i]!), hex(swapped(sent[i]!)), `frame ${i} differs`);
    });
    assert.equal(segments, 3, '9014 bytes span 3 segments of 3840 bytes (4 KiB frames less headroom)');
  });

  test(`${mode}: mixed 60..9014-byte frames, lengths and bytes kept`, async (t) => {
    if (!requirePrivileges(t)) return;
    const lengths = Array.from({ length: 200 }, (_, i) => 60 + ((i * 7919) % (MTU + 14 - 60 + 1)));
    lengths.push(3840, 3841, 7680, 7681, 60, MTU + 14);
    const seen: number[] = [];
    await echo(mode, (ends) => frames(lengths, ends), (p) => {
      seen.push(p.length);
      p.swapMacs();
      return Verdict.Tx;
    }, (sent, got) => {
      assert.deepEqual(seen, lengths);
      for (let i = 0; i < sent.length; i++) assert.equal(hex(got[i]!), hex(swapped(sent[i]!)), `frame ${i} differs`);
    });
  });

  test(`${mode}: truncation across a segment boundary and an edit in the second segment`, async (t) => {
    if (!requirePrivileges(t)) return;
    const readBack = new Uint8Array(8);
    await echo(mode, (ends) => frames([MTU + 14, MTU + 14, 5000], ends), (p) => {
      p.swapMacs();
      // Reads across the 3840-byte boundary assemble bytes of both segments.
      assert.equal(p.u16(3839), p.u8(3839) * 256 + p.u8(3840));
      p.readBytes(3836, readBack);
      assert.equal(readBack[4], p.u8(3840));
      if (p.length === 5000) {
        p.setU8(5000 - 1, 0xab); // the last byte, in the second segment
        p.setU32(3838, 0xdeadbeef); // straddles the boundary
      } else {
        p.setLength(4000); // ends 160 bytes into the second segment
      }
      return Verdict.Tx;
    }, (sent, got) => {
      assert.equal(got[0]!.length, 4000);
      assert.equal(hex(got[0]!), hex(swapped(sent[0]!).subarray(0, 4000)));
      assert.equal(got[1]!.length, 4000);
      const edited = swapped(sent[2]!);
      edited[4999] = 0xab;
      edited.set([0xde, 0xad, 0xbe, 0xef], 3838);
      assert.equal(hex(got[2]!), hex(edited));
    });
  });
}

test('port.send splits a 9014-byte frame into chained descriptors', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({ mtu: MTU }, async (lab) => {
    await using port = await open({ interface: lab.dut.ifname });
    const [frame] = frames([MTU + 14], { dutMac: lab.peer.mac, peerMac: lab.dut.mac });
    const capture = peerCapture(lab, { capture: true, expect: 1 });
    await capture.ready;
    assert.equal(port.send(frame!), true);
    port.flush();
    const result = await capture.result;
    assert.equal(result.captured.length, 1);
    assert.equal(hex(result.captured[0]!), hex(frame!));
    assertAccounting(port);
  });
});

test('port.send of 2,000 jumbo frames in a row keeps going past the TX ring\'s wrap (3 descriptors each, ring of 2048)', async (t) => {
  if (!requirePrivileges(t)) return;
  // A chain that crossed the end of xdpilone's cached TX grant was refused
  // and the stale grant (2 slots) never refreshed: after 682 frames every
  // send failed for good, whatever the kernel had completed.
  await withLab({ mtu: MTU }, async (lab) => {
    await using port = await open({ interface: lab.dut.ifname });
    const [frame] = frames([MTU + 14], { dutMac: lab.peer.mac, peerMac: lab.dut.mac });
    const COUNT = 2000;
    let sent = 0;
    let refusedInARow = 0;
    while (sent < COUNT && refusedInARow < 2000) {
      if (port.send(frame!)) {
        sent++;
        refusedInARow = 0;
      } else {
        refusedInARow++;
        port.flush();
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    assert.equal(sent, COUNT, `stalled after ${sent} frames: ${JSON.stringify(port.stats().frames)}`);
    port.flush();
    assert.equal(port.stats().sent, COUNT);
    assertAccounting(port);
  });
});

test('port.capture of jumbo frames: the first segment of each, with the whole frame\'s length as the original length', async (t) => {
  if (!requirePrivileges(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-jumbo-cap-'));
  try {
    await withLab({ mtu: MTU }, async (lab) => {
      await using port = await open({ interface: lab.dut.ifname });
      const loop = port.run((p) => {
        p.swapMacs();
        return Verdict.Tx;
      });
      const file = join(dir, 'jumbo.pcapng');
      const capture = port.capture({ path: file, filter: 'udp' });
      const sent = frames(Array(5).fill(MTU + 14), { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
      const result = await peer(lab, { send: sent, capture: true, expect: sent.length });
      assert.equal(result.captured.length, sent.length);
      await new Promise((r) => setTimeout(r, 200));
      await capture.stop();
      const records = [];
      for await (const r of readPcapng(file)) records.push(r);
      const rx = records.filter((r) => r.comments.some((c) => / rx /.test(c)));
      const out = records.filter((r) => r.comments.some((c) => / out /.test(c)));
      assert.equal(rx.length, sent.length);
      assert.equal(out.length, sent.length);
      const first = 3840; // 4 KiB frames less the 256-byte headroom
      for (let i = 0; i < sent.length; i++) {
        assert.equal(rx[i]!.originalLength, MTU + 14);
        assert.equal(hex(rx[i]!.data), hex(sent[i]!.subarray(0, first)), `rx record ${i}: the first segment as received`);
        assert.equal(out[i]!.originalLength, MTU + 14);
        assert.equal(hex(out[i]!.data), hex(swapped(sent[i]!).subarray(0, first)), `out record ${i}: the first segment as sent, not the UMEM after it`);
      }
      await port.close();
      await loop;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a port on an MTU-1500 interface stays single-buffer (the fast path is unchanged)', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    await using port = await open({ interface: lab.dut.ifname });
    assert.equal(port.stats().multiBuffer, false);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as P from '../../../ts/packet/index.js';
import { Rng, randomFrame } from './helpers.js';

const p = new P.PacketParser();
const valid = () => p.ipChecksumValid() && (p.l4Offset < 0 || p.isFragment || p.l4ChecksumValid() || ![1, 6, 17, 58].includes(p.l4Protocol));

test('swaps: MACs, addresses, ports (checksums stay valid, cursor fields follow)', () => {
  for (const [src, dst] of [['10.0.0.1', '10.0.0.2'], ['2001:db8::1', '2001:db8::2']]) {
    const f = P.buildTcp({ srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', src, dst, srcPort: 1000, dstPort: 80, payload: 'x' });
    p.parse(f);
    P.swapMacs(f, 0);
    assert.ok(P.swapAddresses(p));
    assert.ok(P.swapPorts(p));
    assert.equal(P.formatMac(f, 0), '02:00:00:00:00:01');
    assert.equal(P.formatMac(f, 6), '02:00:00:00:00:02');
    assert.equal(P.formatIP(f, p.srcAddrOffset, p.addrLength), dst);
    assert.equal(P.formatIP(f, p.dstAddrOffset, p.addrLength), src);
    assert.deepEqual([p.srcPort, p.dstPort], [80, 1000]);
    if (p.ipVersion === 4) assert.deepEqual([P.formatIPv4(p.srcIPv4), P.formatIPv4(p.dstIPv4)], [dst, src]);
    assert.ok(valid());
    const fresh = new P.PacketParser();
    fresh.parse(f);
    assert.deepEqual([fresh.srcPort, fresh.dstPort, fresh.srcIPv4, fresh.dstIPv4], [p.srcPort, p.dstPort, p.srcIPv4, p.dstIPv4]);
  }
  const arp = P.buildArp({ senderIp: '1.1.1.1', targetIp: '2.2.2.2' });
  p.parse(arp);
  assert.equal(P.swapAddresses(p), false);
  assert.equal(P.swapPorts(p), false);
});

test('decrementTtl: IPv4 checksum fixed, IPv6 hop limit, zero and no-IP cases', () => {
  const f = P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, ttl: 2 });
  p.parse(f);
  assert.equal(P.decrementTtl(p), 1);
  assert.ok(p.ipChecksumValid() && p.l4ChecksumValid());
  assert.equal(P.decrementTtl(p), 0);
  assert.equal(P.decrementTtl(p), -1);
  assert.equal(p.ttl, 0);
  assert.ok(p.ipChecksumValid());
  const g = P.buildUdp({ src: '::1', dst: '::2', srcPort: 1, dstPort: 2, ttl: 1 });
  p.parse(g);
  assert.equal(P.decrementTtl(p), 0);
  assert.equal(P.decrementTtl(p), -1);
  assert.ok(p.l4ChecksumValid());
  p.parse(P.buildArp({ senderIp: '1.1.1.1', targetIp: '2.2.2.2' }));
  assert.equal(P.decrementTtl(p), -1);
  // Every TTL value: incremental equals full recomputation.
  for (let ttl = 1; ttl < 256; ttl++) {
    const h = P.buildIcmpEcho({ src: '9.9.9.9', dst: '8.8.8.8', ttl, id: ttl });
    p.parse(h);
    P.decrementTtl(p);
    assert.equal(P.ipv4Checksum(h, 14), P.ipv4HeaderChecksum(h, 14), `ttl ${ttl}`);
  }
});

test('NAT rewrites keep every checksum right, on random traffic', () => {
  const rng = new Rng(2024);
  const v6 = P.parseIPv6('2001:db8:ffff::42');
  let v4n = 0;
  let v6n = 0;
  for (let i = 0; i < 4000; i++) {
    const { frame: f } = randomFrame(rng, false);
    p.parse(f);
    const wasFirstFrag = p.isFragment;
    if (p.ipVersion === 4) {
      assert.ok(P.setDstIPv4(p, rng.u32()));
      assert.ok(P.setSrcIPv4(p, rng.u32()));
      assert.equal(P.setDstIPv6(p, v6), false);
      v4n++;
    } else if (p.ipVersion === 6) {
      assert.ok(P.setDstIPv6(p, v6));
      assert.ok(P.setSrcIPv6(p, Uint8Array.of(0, ...v6), 1));
      assert.equal(P.setDstIPv4(p, 1), false);
      assert.ok(P.ipv6AddrEquals(f, p.dstAddrOffset, v6));
      v6n++;
    }
    const ported = P.setDstPort(p, rng.int(65536)) && P.setSrcPort(p, rng.int(65536));
    assert.equal(ported, p.l4Offset >= 0 && (p.l4Protocol === 6 || p.l4Protocol === 17));
    // Checksums must be what a full recomputation gives.
    if (p.ipVersion === 4) assert.ok(p.ipChecksumValid(), `frame ${i}`);
    if (!wasFirstFrag && p.l4Offset >= 0 && [1, 6, 17, 58].includes(p.l4Protocol)) assert.ok(p.l4ChecksumValid(), `frame ${i}`);
    // And the cursor matches a fresh parse.
    const q = new P.PacketParser();
    q.parse(f);
    assert.deepEqual([q.srcIPv4, q.dstIPv4, q.srcPort, q.dstPort], [p.srcIPv4, p.dstIPv4, p.srcPort, p.dstPort], `frame ${i}`);
  }
  assert.ok(v4n > 1000 && v6n > 1000);
});

test('a first fragment: the L4 checksum of the whole datagram stays right', () => {
  // Build the whole datagram, then cut it into a first fragment: its UDP checksum covers bytes not in the frame.
  const whole = P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, payload: new Uint8Array(100).fill(7) });
  const frag = whole.slice(0, 14 + 20 + 48);
  P.ipv4SetFragment(frag, 14, 0, true);
  P.ipv4SetTotalLength(frag, 14, 68);
  P.ipv4UpdateChecksum(frag, 14);
  p.parse(frag);
  P.setDstIPv4(p, P.parseIPv4('10.9.8.7'));
  P.setDstPort(p, 4000);
  // Reassemble by hand with the rewritten header: the checksum must verify.
  const re = whole.slice();
  re.set(frag.subarray(0, 14 + 20 + 8));
  P.ipv4SetFragment(re, 14, 0, false);
  P.ipv4SetTotalLength(re, 14, whole.length - 14);
  P.ipv4UpdateChecksum(re, 14);
  p.parse(re);
  assert.ok(p.l4ChecksumValid());
});

test('UDP without checksum stays without; ICMPv4 unaffected by address rewrites', () => {
  const f = P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, checksum: false });
  p.parse(f);
  P.setDstIPv4(p, 5);
  P.setDstPort(p, 9);
  assert.equal(P.udpChecksum(f, 34), 0);
  assert.ok(p.ipChecksumValid() && p.l4ChecksumValid());
  const g = P.buildIcmpEcho({ src: '1.1.1.1', dst: '2.2.2.2' });
  const before = P.icmpChecksum(g, 34);
  p.parse(g);
  P.setSrcIPv4(p, 77);
  assert.equal(P.icmpChecksum(g, 34), before);
  assert.ok(p.l4ChecksumValid() && p.ipChecksumValid());
});

test('icmpEchoReply for both families', () => {
  for (const [src, dst] of [['10.0.0.1', '10.0.0.2'], ['fe80::1', 'fe80::2']]) {
    const f = P.buildIcmpEcho({ srcMac: '02:00:00:00:00:01', dstMac: '02:00:00:00:00:02', src, dst, id: 9, seq: 10, ttl: 3, payload: 'abc' });
    p.parse(f);
    assert.ok(P.icmpEchoReply(p));
    assert.equal(p.icmpType, src.includes(':') ? 129 : 0);
    assert.equal(p.ttl, 64);
    assert.equal(P.formatIP(f, p.srcAddrOffset, p.addrLength), dst);
    assert.equal(P.formatMac(f, 0), '02:00:00:00:00:01');
    assert.deepEqual([P.icmpEchoId(f, p.l4Offset), P.icmpEchoSeq(f, p.l4Offset)], [9, 10]);
    assert.ok(valid());
    assert.equal(P.icmpEchoReply(p), false, 'already a reply');
  }
});

test('tcpClampMss at even and odd option offsets', () => {
  for (const opts of [Uint8Array.of(2, 4, 0x23, 0x28), Uint8Array.of(1, 2, 4, 0x23, 0x28, 0, 0, 0)]) {
    const f = P.buildTcp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, flags: P.TcpFlags.SYN, tcpOptions: opts, payload: 'x' });
    p.parse(f);
    assert.equal(P.tcpClampMss(p, 9000), 9000, 'already below');
    assert.equal(P.tcpClampMss(p, 1400), 1400);
    assert.equal(P.tcpMss(f, p.l4Offset), 1400);
    assert.ok(p.l4ChecksumValid());
  }
  p.parse(P.buildTcp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2 }));
  assert.equal(P.tcpClampMss(p, 1400), -1);
  p.parse(P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2 }));
  assert.equal(P.tcpClampMss(p, 1400), -1);
});

test('pushVlan / popVlan in a frame with room', () => {
  const f = P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, payload: 'abc' });
  const umem = new Uint8Array(256).fill(0xee);
  umem.set(f, 100);
  let len = P.pushVlan(umem, 100, f.length, P.vlanMakeTci(42, 3), P.EtherType.QinQ);
  assert.equal(len, f.length + 4);
  len = P.pushVlan(umem, 100, len, P.vlanMakeTci(7));
  assert.equal(umem[100 + len], 0xee, 'nothing written past the new end');
  p.parse(umem, len, 100);
  assert.deepEqual([p.vlanCount, p.vlanId, p.innerVlanId, p.srcPort, p.dstPort], [2, 7, 42, 1, 2]);
  assert.equal(P.vlanTpid(umem, 112), P.EtherType.VLAN);
  assert.ok(p.l4ChecksumValid() && p.ipChecksumValid());
  assert.equal(P.vlanTci(umem, 112), 7);
  len = P.popVlan(umem, 100, len);
  len = P.popVlan(umem, 100, len);
  assert.equal(len, f.length);
  assert.deepEqual(umem.subarray(100, 100 + len), f);
  assert.equal(P.popVlan(umem, 100, len), -1, 'untagged');
  // No room: the frame fills the array.
  const tight = f.slice();
  assert.equal(P.pushVlan(tight, 0, tight.length, 1), -1);
  assert.deepEqual(tight, f);
  assert.equal(P.pushVlan(new Uint8Array(100), 0, 13, 1), -1, 'shorter than an Ethernet header');
  // In a UMEM the frame's own room limits it, not the end of the buffer.
  const frames2 = new Uint8Array(256);
  frames2.set(f, 0);
  assert.equal(P.pushVlan(frames2, 0, f.length, 1, P.EtherType.VLAN, f.length + 3), -1);
  assert.equal(P.pushVlan(frames2, 0, f.length, 1, P.EtherType.VLAN, f.length + 4), f.length + 4);
  assert.equal(P.popVlan(new Uint8Array(17).fill(0x81), 0, 17), -1, 'shorter than a tagged header');
});

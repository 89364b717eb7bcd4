import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as P from '../../../ts/packet/index.js';
import { Rng, randomFrame } from './helpers.js';

const { Ok, Truncated, Malformed } = P.ParseStatus;
const p = new P.PacketParser();

test('Ethernet/IPv4/UDP (the fast path)', () => {
  const f = P.buildUdp({ src: '10.0.0.1', dst: '192.168.1.1', srcPort: 1234, dstPort: 53, ttl: 33, payload: 'hello' });
  assert.equal(p.parse(f), Ok);
  assert.deepEqual(
    [p.l2Offset, p.end, p.length, p.etherType, p.vlanCount, p.vlanId, p.l3Offset, p.ipVersion, p.l3End, p.l4Protocol, p.l4Offset, p.l4End, p.payloadOffset, p.payloadLength],
    [0, 47, 47, 0x0800, 0, -1, 14, 4, 47, 17, 34, 47, 42, 5],
  );
  assert.equal(P.formatIPv4(p.srcIPv4), '10.0.0.1');
  assert.equal(P.formatIPv4(p.dstIPv4), '192.168.1.1');
  assert.deepEqual([p.srcPort, p.dstPort, p.ttl, p.tcpFlags, p.icmpType, p.icmpCode, p.isFragment], [1234, 53, 33, -1, -1, -1, false]);
  assert.deepEqual([p.srcAddrOffset, p.dstAddrOffset, p.addrLength], [26, 30, 4]);
  assert.ok(p.ipChecksumValid() && p.l4ChecksumValid());
});

test('fast and full paths agree (same frame with and without a VLAN tag)', () => {
  const rng = new Rng(99);
  const q = new P.PacketParser();
  for (let i = 0; i < 3000; i++) {
    const f = randomFrame(rng).frame;
    if (P.ethType(f, 0) === P.EtherType.VLAN || P.ethType(f, 0) === P.EtherType.QinQ) continue;
    const tagged = new Uint8Array(f.length + 4);
    tagged.set(f);
    assert.equal(P.pushVlan(tagged, 0, f.length, 7), f.length + 4);
    p.parse(f);
    q.parse(tagged); // a tagged frame never takes the fast path
    const a = p.toJSON();
    const b = q.toJSON();
    for (const k of Object.keys(a)) {
      if (['vlanCount', 'vlanOffset', 'vlanId', 'end'].includes(k)) continue;
      const isOffset = ['l3Offset', 'l3End', 'l4Offset', 'l4End', 'payloadOffset', 'fragmentHeaderOffset'].includes(k);
      const shift = isOffset && (a[k] as number) >= 0 ? 4 : 0;
      assert.equal(b[k], typeof a[k] === 'number' ? (a[k] as number) + shift : a[k], `frame ${i}: ${k}`);
    }
  }
});

test('802.1Q and QinQ tags', () => {
  const f = P.buildTcp({ vlans: [{ id: 10, tpid: 0x88a8 }, { id: 20 }], src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2 });
  assert.equal(p.parse(f), Ok);
  assert.deepEqual([p.vlanCount, p.vlanOffset, p.vlanId, p.innerVlanId, p.etherType, p.l3Offset, p.l4Offset], [2, 12, 10, 20, 0x0800, 22, 42]);
  assert.equal(p.tcpFlags, P.TcpFlags.ACK);
});

test('ARP', () => {
  const f = P.buildArp({ senderIp: '10.0.0.1', targetIp: '10.0.0.2', vlans: [{ id: 3 }] });
  assert.equal(p.parse(f), Ok);
  assert.deepEqual([p.etherType, p.l3Offset, p.ipVersion, p.l4Offset, p.srcPort], [0x0806, 18, 0, -1, -1]);
  assert.equal(p.parse(f, f.length - 1), Truncated);
  assert.equal(p.l3Offset, -1);
});

test('IPv6 extension header walk', () => {
  const f = P.buildUdp({
    src: '2001:db8::1', dst: '2001:db8::2', srcPort: 7, dstPort: 8,
    extensions: [{ kind: 'hopByHop' }, { kind: 'destination', options: new Uint8Array(10) }, { kind: 'routing' }, { kind: 'destination' }],
  });
  assert.equal(p.parse(f), Ok);
  assert.equal(p.ipVersion, 6);
  assert.equal(p.extensionCount, 4);
  assert.equal(p.l4Protocol, 17);
  assert.equal(p.l4Offset, 14 + 40 + 8 + 16 + 8 + 8);
  assert.deepEqual([p.srcPort, p.dstPort, p.ttl, p.srcIPv4], [7, 8, 64, -1]);
  assert.equal(P.formatIPv6(f, p.srcAddrOffset), '2001:db8::1');
  assert.ok(p.l4ChecksumValid());
  // AH is (len + 2) * 4 bytes long.
  const ah = P.buildIp({ src: '::1', dst: '::2', protocol: 51, payload: Uint8Array.of(17, 1, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 0, 2, 0, 10, 0, 0, 0, 0, 0, 0) });
  // AH next header 17, payload len 1 -> 12 bytes, then a UDP header (8) + 4 bytes.
  ah[54 + 12 + 4] = 0;
  ah[54 + 12 + 5] = 12;
  assert.equal(p.parse(ah), Ok);
  assert.deepEqual([p.extensionCount, p.l4Protocol, p.l4Offset, p.srcPort, p.dstPort], [1, 17, 66, 1, 2]);
  // ESP ends the walk: its payload is encrypted.
  const esp = P.buildIp({ src: '::1', dst: '::2', protocol: 50, payload: new Uint8Array(16) });
  assert.equal(p.parse(esp), Ok);
  assert.deepEqual([p.l4Protocol, p.l4Offset, p.srcPort], [50, 54, -1]);
  // No next header.
  const none = P.buildIp({ src: '::1', dst: '::2', protocol: 59 });
  assert.equal(p.parse(none), Ok);
  assert.deepEqual([p.l4Protocol, p.l4Offset], [59, -1]);
});

test('IPv6 chains that never end, or run past the frame', () => {
  const f = P.buildUdp({ src: '::1', dst: '::2', srcPort: 1, dstPort: 2, payload: new Uint8Array(200) });
  f[20] = 0; // next header: hop-by-hop, and every 8 bytes another one
  for (let o = 54; o + 8 <= f.length; o += 8) f.set([0, 0], o);
  assert.equal(p.parse(f), Malformed);
  assert.equal(p.extensionCount, P.IPV6_MAX_EXTENSION_HEADERS);
  assert.equal(p.l4Offset, -1);
  const g = P.buildUdp({ src: '::1', dst: '::2', srcPort: 1, dstPort: 2, extensions: [{ kind: 'hopByHop' }] });
  g[55] = 200; // the hop-by-hop header claims 1608 bytes
  assert.equal(p.parse(g), Truncated);
  assert.equal(p.l4Offset, -1);
});

test('fragments: only the first carries the L4 header', () => {
  const first = P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, moreFragments: true, payload: new Uint8Array(64) });
  P.udpSetLength(first, 34, 1000); // the whole datagram's length, longer than this fragment
  assert.equal(p.parse(first), Ok);
  assert.deepEqual([p.isFragment, p.moreFragments, p.fragmentOffset, p.l4Offset, p.srcPort, p.l4End], [true, true, 0, 34, 1, first.length]);
  assert.ok(!p.l4ChecksumValid(), 'cannot be checked on a fragment');
  const later = P.buildIp({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 17, fragmentOffset: 1480, payload: new Uint8Array(20) });
  assert.equal(p.parse(later), Ok);
  assert.deepEqual([p.isFragment, p.moreFragments, p.fragmentOffset, p.l4Protocol, p.l4Offset, p.srcPort], [true, false, 1480, 17, -1, -1]);
  const v6 = P.buildIp({ src: '::1', dst: '::2', protocol: 6, extensions: [{ kind: 'fragment', offset: 8, more: true, id: 5 }], payload: new Uint8Array(16) });
  assert.equal(p.parse(v6), Ok);
  assert.deepEqual([p.fragmentHeaderOffset, p.fragmentOffset, p.moreFragments, p.l4Protocol, p.l4Offset], [54, 8, true, 6, -1]);
});

test('malformed IPv4 headers: bad version, IHL below 5', () => {
  const f = P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2 });
  f[14] = 0x44;
  assert.equal(p.parse(f), Malformed);
  assert.equal(p.l3Offset, -1);
  f[14] = 0x65;
  assert.equal(p.parse(f), Malformed);
  assert.deepEqual([p.l3Offset, p.l3End, p.lengthStatus], [-1, -1, Ok]);
});

test('lengths that lie: parse reports the headers, lengthStatus the length fields', () => {
  // IP total length beyond the frame: the headers are fine, the datagram is cut.
  const f = P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, payload: 'abcd' });
  P.ipv4SetTotalLength(f, 14, 1500);
  assert.equal(p.parse(f), Ok);
  assert.equal(p.lengthStatus, Truncated);
  assert.deepEqual([p.l3End, p.l4Offset, p.srcPort, p.l4End, p.payloadLength], [f.length, 34, 1, f.length, 4]);
  assert.ok(!p.l4ChecksumValid(), 'a cut datagram cannot be checked');
  // Total length shorter than the IP header, or ending inside the UDP header: Malformed, and the ends stay after the headers.
  P.ipv4SetTotalLength(f, 14, 10);
  assert.equal(p.parse(f), Ok);
  assert.deepEqual([p.lengthStatus, p.l3End, p.l4End, p.payloadLength], [Malformed, 42, 42, 0]);
  P.ipv4SetTotalLength(f, 14, 24);
  assert.deepEqual([p.lengthStatus, p.l3End, p.l4End], [Malformed, 42, 42], 'read live, no new parse needed');
  // UDP length beyond the IP datagram, and below 8.
  const g = P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, payload: 'abcd' });
  P.udpSetLength(g, 34, 100);
  assert.equal(p.parse(g), Ok);
  assert.deepEqual([p.lengthStatus, p.l4End], [Truncated, g.length]);
  P.udpSetLength(g, 34, 4);
  assert.deepEqual([p.lengthStatus, p.l4End, p.payloadLength], [Malformed, 42, 0]);
  P.udpSetLength(g, 34, 12);
  assert.deepEqual([p.lengthStatus, p.l3End, p.l4End, p.payloadLength], [Ok, g.length, 46, 4]);
  // IPv6 payload length beyond the frame, and shorter than the extension headers.
  const v6 = P.buildUdp({ src: '::1', dst: '::2', srcPort: 1, dstPort: 2, extensions: [{ kind: 'destination' }], payload: 'ab' });
  assert.equal(p.parse(v6), Ok);
  assert.equal(p.lengthStatus, Ok);
  P.ipv6SetPayloadLength(v6, 14, 1000);
  assert.deepEqual([p.lengthStatus, p.l3End], [Truncated, v6.length]);
  P.ipv6SetPayloadLength(v6, 14, 4);
  assert.deepEqual([p.lengthStatus, p.l3End, p.l4End], [Malformed, p.payloadOffset, p.payloadOffset]);
  // TCP data offset below 5 or past the frame: those are header faults.
  const t = P.buildTcp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2 });
  t[46] = 0x40;
  assert.equal(p.parse(t), Malformed);
  t[46] = 0xf0;
  assert.equal(p.parse(t), Truncated);
  assert.equal(p.l4Offset, -1);
  // Ethernet padding after the IP datagram is not part of it.
  const padded = P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, minLength: 60 });
  assert.equal(p.parse(padded), Ok);
  assert.deepEqual([p.end, p.l3End, p.l4End, p.lengthStatus], [60, 42, 42, Ok]);
  assert.ok(p.l4ChecksumValid());
});

test('the home array: the fast path and the full parser give the same cursor', () => {
  const umem = new Uint8Array(8192);
  const frames = [
    P.buildUdp({ src: '10.0.0.1', dst: '192.0.2.200', srcPort: 1000, dstPort: 53, payload: 'q' }),
    P.buildTcp({ src: '198.51.100.7', dst: '10.1.2.3', srcPort: 443, dstPort: 50000, tcpOptions: Uint8Array.of(2, 4, 5, 0xb4), payload: 'xy' }),
    P.buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, ipv4Options: Uint8Array.of(148, 4, 0, 0), minLength: 80 }),
  ];
  frames.forEach((f, i) => umem.set(f, i * 2048));
  const home = new P.PacketParser(umem);
  const other = new P.PacketParser(new Uint8Array(1)); // its home is elsewhere: the full parser every time
  frames.forEach((f, i) => {
    assert.equal(home.parse(umem, f.length, i * 2048), Ok);
    assert.equal(other.parse(umem, f.length, i * 2048), Ok);
    assert.deepEqual(home.toJSON(), other.toJSON(), `frame ${i}`);
    assert.equal(home.bytes, umem);
  });
  // A fractional length makes no frame, on either path.
  assert.equal(home.parse(umem, frames[0].length + 0.5, 0), Truncated);
  assert.equal(other.parse(umem, frames[0].length + 0.5, 0), Truncated);
  assert.deepEqual(home.toJSON(), other.toJSON());
  // A parser made without an array adopts the first one it parses.
  const adopting = new P.PacketParser();
  adopting.parse(umem, frames[0].length, 0);
  assert.equal(adopting.parse(umem, frames[1].length, 2048), Ok);
  other.parse(umem, frames[1].length, 2048);
  assert.deepEqual(adopting.toJSON(), other.toJSON());
});

test('VLAN stack deeper than the frame', () => {
  const f = new Uint8Array(64);
  for (let o = 12; o + 2 <= f.length; o += 4) f.set([0x81, 0x00], o);
  assert.equal(p.parse(f), Truncated);
  assert.equal(p.vlanCount, 12); // the 13th TPID has no room for its TCI and type
  assert.equal(p.l3Offset, -1);
});

test('every truncation of every kind of frame: no throw, offsets inside the frame', () => {
  const rng = new Rng(5);
  for (let i = 0; i < 300; i++) {
    const f = randomFrame(rng, false).frame;
    p.parse(f);
    const ipEnd = p.l3End;
    for (let len = 0; len <= f.length; len++) {
      const s = p.parse(f, len);
      assert.ok(s === Ok || s === Truncated || s === Malformed);
      for (const k of ['l3Offset', 'l3End', 'l4Offset', 'l4End', 'payloadOffset'] as const) assert.ok(p[k] <= len, `${k} ${p[k]} > ${len}`);
      // Cut inside the IP datagram (not just its Ethernet padding): never Ok, in the headers or the lengths.
      if (p.ipVersion !== 0 && len < ipEnd) assert.ok(s !== Ok || p.lengthStatus !== Ok, `len ${len} < ${ipEnd}`);
    }
  }
});

test('offset and length inside a larger buffer; bad arguments', () => {
  const f = P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2 });
  const umem = new Uint8Array(4096).fill(0xee);
  umem.set(f, 2048);
  assert.equal(p.parse(umem, f.length, 2048), Ok);
  assert.deepEqual([p.l2Offset, p.l3Offset, p.l4Offset, p.end, p.srcPort], [2048, 2062, 2082, 2048 + f.length, 1]);
  assert.equal(P.udpDstPort(umem, p.l4Offset), 2);
  // The core Packet's shape: { buffer, offset, length }.
  assert.equal(p.parseFrame({ buffer: umem, offset: 2048, length: f.length }), Ok);
  assert.deepEqual([p.l3Offset, p.dstPort], [2062, 2]);
  assert.equal(p.parse(umem, 100000, 4090), Truncated);
  assert.equal(p.end, 4096);
  assert.equal(p.parse(umem, 10, -5), Truncated);
  assert.equal(p.parse(umem, -1, 0), Truncated);
  assert.equal(p.parse(new Uint8Array(0)), Truncated);
  assert.equal(p.parse(umem, 60, NaN), Truncated);
  assert.equal(p.parse(umem, NaN, 0), Truncated);
  assert.equal(p.parse(umem, 60, 1.5), Truncated);
  assert.equal(p.l3Offset, -1);
});

test('unknown EtherType and L4 protocol: offsets of their payload', () => {
  const e = P.buildEthernet({ etherType: 0x88cc, payload: new Uint8Array(20) });
  assert.equal(p.parse(e), Ok);
  assert.deepEqual([p.etherType, p.l3Offset, p.ipVersion], [0x88cc, 14, 0]);
  const g = P.buildIp({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 47, payload: new Uint8Array(4) });
  assert.equal(p.parse(g), Ok);
  assert.deepEqual([p.l4Protocol, p.l4Offset, p.payloadOffset, p.srcPort, p.ttl], [47, 34, 34, -1, 64]);
  assert.ok(!p.l4ChecksumValid());
});

test('ICMP and ICMPv6', () => {
  const a = P.buildIcmpEcho({ src: '1.1.1.1', dst: '2.2.2.2', id: 1, seq: 2 });
  assert.equal(p.parse(a), Ok);
  assert.deepEqual([p.l4Protocol, p.icmpType, p.icmpCode, p.payloadOffset], [1, 8, 0, 42]);
  assert.ok(p.l4ChecksumValid());
  const b = P.buildIcmpEcho({ src: '::1', dst: '::2', reply: true });
  assert.equal(p.parse(b), Ok);
  assert.deepEqual([p.l4Protocol, p.icmpType], [58, 129]);
  assert.ok(p.l4ChecksumValid());
  assert.equal(p.parse(b, b.length - 1), Truncated);
});

test('updateChecksums repairs both checksums; toJSON names the status', () => {
  const f = P.buildTcp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, payload: 'xyz' });
  f[22] ^= 0xff; // TTL
  f[55] ^= 0xff; // payload
  p.parse(f);
  assert.ok(!p.ipChecksumValid() && !p.l4ChecksumValid());
  p.updateChecksums();
  assert.ok(p.ipChecksumValid() && p.l4ChecksumValid());
  assert.equal(p.toJSON().status, 'Ok');
});

test('an array whose buffer can change size is never the home array', () => {
  const buffer = new ArrayBuffer(128, { maxByteLength: 8192 });
  const u = new Uint8Array(buffer); // length-tracking
  const f = P.buildUdp({ src: '192.0.2.1', dst: '192.0.2.2', srcPort: 1, dstPort: 2 });
  u.set(f);
  const q = new P.PacketParser(u);
  assert.equal(q.parse(u, f.length, 0), Ok);
  buffer.resize(4096);
  u.set(f, 1000);
  assert.equal(q.parse(u, f.length, 1000), Ok, 'no throw: a view made before the resize is never used');
  assert.deepEqual([q.l3Offset, q.srcPort, q.dstPort], [1014, 1, 2]);
});

test('checksums are neither checked nor written when the lengths put the segment outside the datagram', () => {
  // IP total length 20: no room for the UDP header; what follows is Ethernet padding.
  const g = P.buildIp({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 17, minLength: 60 });
  g.fill(0xab, 34);
  const before = g.slice();
  const q = new P.PacketParser(g);
  assert.equal(q.parse(g), Ok);
  assert.equal(q.lengthStatus, Malformed);
  assert.equal(q.l4ChecksumValid(), false);
  q.updateChecksums();
  assert.deepEqual(g.subarray(34), before.subarray(34), 'padding untouched');
});

test('the pre-standard QinQ TPID 0x9100 is a VLAN tag, as in libpcap (issue 15)', () => {
  const mac = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
  const ip = [0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2];
  const udp = [0x30, 0x39, 0, 53, 0, 8, 0, 0];
  const frame = Uint8Array.from([...mac, 0x91, 0x00, 0x01, 0x2c, 0x81, 0x00, 0x00, 0x07, 0x08, 0x00, ...ip, ...udp]);
  const p = new P.PacketParser();
  assert.equal(p.parse(frame), 0);
  assert.equal(p.vlanCount, 2);
  assert.equal(p.vlanId, 300);
  assert.equal(p.innerVlanId, 7);
  assert.equal(p.etherType, 0x0800);
  assert.equal(p.dstPort, 53);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as P from '../../../ts/packet/index.js';

const p = new P.PacketParser();
const bad = (e: unknown) => e instanceof P.PacketError && e.code === 'ERR_INVALID_BUILD_OPTION';

test('lengths and checksums of built frames', () => {
  const cases: [string, Uint8Array, number][] = [
    ['udp4', P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, payload: 'hello' }), 14 + 20 + 8 + 5],
    ['udp6', P.buildUdp({ src: '::1', dst: '::2', srcPort: 1, dstPort: 2, payload: new Uint8Array(3) }), 14 + 40 + 8 + 3],
    ['tcp4+opts', P.buildTcp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, tcpOptions: Uint8Array.of(2, 4, 5, 0xb4, 1) }), 14 + 20 + 28],
    ['icmp4', P.buildIcmpEcho({ src: '1.1.1.1', dst: '2.2.2.2', payload: 'abc' }), 14 + 20 + 8 + 3],
    ['icmp6', P.buildIcmp({ src: '::1', dst: '::2', type: 1, code: 4 }), 14 + 40 + 8],
    ['arp', P.buildArp({ senderIp: '1.1.1.1', targetIp: '2.2.2.2' }), 42],
    ['ip+opts', P.buildIp({ src: '1.1.1.1', dst: '2.2.2.2', protocol: 253, ipv4Options: Uint8Array.of(148, 4, 0, 0, 1), payload: 'z' }), 14 + 28 + 1],
  ];
  for (const [name, f, len] of cases) {
    assert.equal(f.length, len, name);
    assert.equal(p.parse(f), P.ParseStatus.Ok, name);
    assert.ok(p.ipChecksumValid() || p.ipVersion === 0, name);
    if ([1, 6, 17, 58].includes(p.l4Protocol)) assert.ok(p.l4ChecksumValid(), name);
    if (p.ipVersion === 4) assert.equal(P.ipv4TotalLength(f, p.l3Offset), len - 14, name);
    if (p.ipVersion === 6) assert.equal(P.ipv6PayloadLength(f, p.l3Offset), len - 54, name);
  }
});

test('defaults, padding, byte inputs', () => {
  const f = P.buildUdp({ src: P.parseIPv4Bytes('1.1.1.1'), dst: Uint8Array.of(2, 2, 2, 2), srcPort: 1, dstPort: 2, minLength: 60 });
  assert.equal(f.length, 60);
  assert.equal(P.formatMac(f, 0), '02:00:00:00:00:02');
  assert.equal(P.formatMac(f, 6), '02:00:00:00:00:01');
  p.parse(f);
  assert.deepEqual([p.ttl, p.l3End, p.end], [64, 42, 60]);
  assert.ok(p.l4ChecksumValid(), 'padding is not in the checksum');
  const arp = P.buildArp({ srcMac: P.parseMac('02:00:00:00:00:09'), senderIp: '1.1.1.1', targetIp: '2.2.2.2' });
  assert.equal(P.formatMac(arp, 0), 'ff:ff:ff:ff:ff:ff');
  assert.equal(P.formatMac(arp, 22), '02:00:00:00:00:09');
  const e = P.buildEthernet({ etherType: 0x88b5, payload: 'raw' });
  assert.deepEqual([e.length, P.ethType(e, 0)], [17, 0x88b5]);
  const t = P.buildTcp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2 });
  assert.deepEqual([P.tcpFlags(t, 34), P.tcpWindow(t, 34)], [P.TcpFlags.ACK, 65535]);
});

test('IPv6 extension headers are laid out with valid padding', () => {
  const f = P.buildUdp({
    src: '::1', dst: '::2', srcPort: 1, dstPort: 2,
    extensions: [{ kind: 'hopByHop', options: Uint8Array.of(5, 2, 0, 0) }, { kind: 'destination', options: new Uint8Array(5) }, { kind: 'fragment', id: 1 }],
  });
  p.parse(f);
  assert.equal(p.extensionCount, 3);
  // Hop-by-hop: 2 + 4 bytes of options + PadN(0) = 8; destination: 2 + 5 + Pad1 = 8.
  assert.deepEqual([...f.subarray(54, 62)], [60, 0, 5, 2, 0, 0, 1, 0]);
  assert.deepEqual([...f.subarray(62, 70)], [44, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(P.ipv6FragmentId(f, 70), 1);
  assert.ok(p.l4ChecksumValid());
});

test('bad options throw ERR_INVALID_BUILD_OPTION (or ERR_INVALID_ADDRESS for addresses)', () => {
  const base = { src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2 };
  assert.throws(() => P.buildUdp({ ...base, srcPort: 65536 }), bad);
  assert.throws(() => P.buildUdp({ ...base, dstPort: -1 }), bad);
  assert.throws(() => P.buildUdp({ ...base, ttl: 256 }), bad);
  assert.throws(() => P.buildUdp({ ...base, dst: '::2' }), bad);
  assert.throws(() => P.buildUdp({ ...base, fragmentOffset: 3 }), bad);
  assert.throws(() => P.buildUdp({ ...base, vlans: [{ id: 4096 }] }), bad);
  assert.throws(() => P.buildUdp({ ...base, ipv4Options: new Uint8Array(41) }), bad);
  assert.throws(() => P.buildTcp({ ...base, tcpOptions: new Uint8Array(44) }), bad);
  assert.throws(() => P.buildUdp({ ...base, payload: new Uint8Array(70000) }), bad);
  assert.throws(() => P.buildUdp({ ...base, srcMac: new Uint8Array(5) }), bad);
  assert.throws(() => P.buildArp({ senderIp: '::1', targetIp: '::2' }), bad);
  assert.throws(() => P.buildUdp({ ...base, src: '1.1.1' }), (e: unknown) => e instanceof P.PacketError && e.code === 'ERR_INVALID_ADDRESS');
});

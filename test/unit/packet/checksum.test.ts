import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as P from '../../../ts/packet/index.js';
import { Rng, randomFrame } from './helpers.js';

test('RFC 1071 example sum', () => {
  // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2 (folded).
  const b = Uint8Array.of(0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7);
  assert.equal(P.foldSum(P.onesSum(b, 0, b.length)), 0xddf2);
  assert.equal(P.internetChecksum(b, 0, b.length), ~0xddf2 & 0xffff);
  // Odd length: the last byte is the high half of a zero-padded word.
  assert.equal(P.onesSum(Uint8Array.of(1, 2, 3), 0, 3), 0x0102 + 0x0300);
});

test('IPv4 header checksum of a known header', () => {
  // The classic example header (Wikipedia "IPv4 header checksum"): checksum b861.
  const h = Uint8Array.from(Buffer.from('450000730000400040110000c0a80001c0a800c7', 'hex'));
  assert.equal(P.ipv4HeaderChecksum(h, 0), 0xb861);
  P.ipv4UpdateChecksum(h, 0);
  assert.equal(P.ipv4Checksum(h, 0), 0xb861);
  assert.ok(P.ipv4HeaderChecksumValid(h, 0));
});

test('transport checksums: UDP zero rules and unknown protocols', () => {
  assert.equal(P.checksumFieldOffset(6), 16);
  assert.equal(P.checksumFieldOffset(17), 6);
  assert.equal(P.checksumFieldOffset(1), 2);
  assert.equal(P.checksumFieldOffset(58), 2);
  assert.equal(P.checksumFieldOffset(47), -1);
  const v4 = P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: 2, checksum: false });
  assert.equal(P.udpChecksum(v4, 34), 0);
  assert.ok(P.transportChecksumValid(v4, 14, 34, v4.length, 17), 'zero = no checksum over IPv4');
  const v6 = P.buildUdp({ src: '::1', dst: '::2', srcPort: 1, dstPort: 2, checksum: false });
  assert.ok(!P.transportChecksumValid(v6, 14, 54, v6.length, 17), 'zero is invalid over IPv6');
  assert.equal(P.transportChecksum(v6, 14, 54, v6.length, 47), -1);
  assert.ok(!P.transportChecksumValid(v6, 14, 54, v6.length, 47));
  // A datagram whose sum comes out 0 stores 0xffff: search for one.
  for (let port = 0; port < 65536; port++) {
    const f = P.buildUdp({ src: '1.1.1.1', dst: '2.2.2.2', srcPort: 1, dstPort: port });
    const c = P.udpChecksum(f, 34);
    assert.notEqual(c, 0);
    if (c === 0xffff) {
      assert.ok(P.transportChecksumValid(f, 14, 34, f.length, 17));
      return;
    }
  }
  assert.fail('no datagram with a 0xffff checksum found');
});

test('incremental updates (RFC 1624) equal full recomputation', () => {
  const rng = new Rng(1624);
  const p = new P.PacketParser();
  for (let i = 0; i < 5000; i++) {
    const f = randomFrame(rng, false).frame;
    p.parse(f);
    if (p.ipVersion !== 4) continue;
    const l3 = p.l3Offset;
    // Rewrite the destination with a delta, then compare with a full recompute.
    const oldDst = P.ipv4Dst(f, l3);
    const newDst = rng.u32();
    const delta = P.checksumDelta32(oldDst, newDst);
    P.ipv4SetDst(f, l3, newDst);
    const expectIp = P.ipv4HeaderChecksum(f, l3);
    P.checksumAdjustAt(f, l3 + 10, delta);
    assert.equal(P.ipv4Checksum(f, l3), expectIp, `frame ${i}`);
    // The same delta by bytes and by 16-bit words.
    const before = Uint8Array.of(oldDst >>> 24, (oldDst >>> 16) & 255, (oldDst >>> 8) & 255, oldDst & 255);
    assert.equal(
      P.checksumApplyDelta(0x1234, P.checksumDeltaBytes(before, 0, f, l3 + 16, 4)),
      P.checksumApplyDelta(0x1234, P.checksumDelta16(oldDst >>> 16, newDst >>> 16) + P.checksumDelta16(oldDst & 0xffff, newDst & 0xffff)),
    );
  }
});

test('pseudo-header sums for both families', () => {
  const v4 = P.buildTcp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2 });
  assert.equal(P.pseudoHeaderSum(v4, 14, 6, 20), 0x0a00 + 0x0001 + 0x0a00 + 0x0002 + 6 + 20);
  const v6 = P.buildTcp({ src: '::1', dst: '::2', srcPort: 1, dstPort: 2 });
  assert.equal(P.pseudoHeaderSum(v6, 14, 6, 0x10014), 1 + 2 + 6 + 0x1 + 0x14);
});

test('source routes: the pseudo-header uses the final destination, and setDst* leaves the L4 checksum alone then', () => {
  const mac = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
  const v6 = (last: number) => [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last];
  const udp = [0x30, 0x39, 0, 53, 0, 12, 0, 0, 1, 2, 3, 4];
  const frame = (type: number, segleft: number) => {
    const rh = [17, 4, type, segleft, 0, 0, 0, 0, ...v6(0x91), ...v6(0x92)];
    const plen = rh.length + udp.length;
    return Uint8Array.from([...mac, 0x86, 0xdd, 0x60, 0, 0, 0, 0, plen, 43, 64, ...v6(1), ...v6(2), ...rh, ...udp]);
  };
  const p = new P.PacketParser();
  const l3 = 14;
  const rh = l3 + 40;
  for (const [type, segleft, dst] of [[4, 2, rh + 8], [0, 2, rh + 8 + 16], [2, 1, rh + 8 + 16], [4, 0, l3 + 24], [0, 0, l3 + 24], [3, 1, l3 + 24]] as const) {
    const b = frame(type, segleft);
    p.parse(b);
    assert.equal(P.pseudoHeaderDestination(b, p.l3Offset, p.l4Offset), dst, `type ${type} segments left ${segleft}`);
    p.updateChecksums();
    assert.ok(p.l4ChecksumValid());
    // Rewriting the header's destination (the next hop) changes no checksum
    // while segments are left, and is adjusted for when none are.
    P.setDstIPv6(p, Uint8Array.from(v6(0x55)));
    assert.ok(p.l4ChecksumValid(), `type ${type} segments left ${segleft}: still valid after setDstIPv6`);
    P.setSrcIPv6(p, Uint8Array.from(v6(0x56)));
    assert.ok(p.l4ChecksumValid(), `type ${type} segments left ${segleft}: still valid after setSrcIPv6`);
  }
  // IPv4: NOP, then a loose source route with its pointer at the second address.
  const ip4 = (pointer: number) => {
    const opt = [1, 131, 11, pointer, 192, 0, 2, 0x66, 192, 0, 2, 0x67];
    const total = 20 + opt.length + udp.length;
    return Uint8Array.from([...mac, 8, 0, 0x48, 0, 0, total, 0, 1, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2, ...opt, ...udp]);
  };
  for (const [pointer, dst] of [[4, l3 + 20 + 8], [8, l3 + 20 + 8], [12, l3 + 16]] as const) {
    const b = ip4(pointer);
    p.parse(b);
    assert.equal(P.pseudoHeaderDestination(b, p.l3Offset, p.l4Offset), dst, `pointer ${pointer}`);
    p.updateChecksums();
    P.setDstIPv4(p, P.parseIPv4('198.51.100.9'));
    assert.ok(p.l4ChecksumValid() && p.ipChecksumValid(), `pointer ${pointer}: valid after setDstIPv4`);
  }
});

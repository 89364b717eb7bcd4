/**
 * Fuzz: over a million random, mutated and truncated frames through the
 * parser, the checksum checks and the in-place edits. Nothing may throw, and
 * nothing may read or write outside the frame: each frame is parsed twice,
 * inside two larger buffers whose bytes around the frame differ (0xAA vs
 * 0x55), with a `length` smaller than the array; every result must be equal
 * and the bytes around the frame must be untouched.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  PacketParser,
  ParseStatus,
  decrementTtl,
  icmpEchoReply,
  popVlan,
  pushVlan,
  setDstIPv4,
  setDstIPv6,
  setDstPort,
  setSrcPort,
  swapAddresses,
  swapMacs,
  swapPorts,
  tcpClampMss,
  tcpFindOption,
  ipv4FindOption,
  buildUdp,
  buildTcp,
} from '../../../ts/packet/index.js';
import { Rng, randomFrame } from './helpers.js';

const ITERATIONS = 1_000_000;
const SEED = 0xf022;
const PAD = 64;

/** Hand-made hostile frames next to the random ones. */
function hostileTemplates(): Uint8Array[] {
  const out: Uint8Array[] = [];
  // A VLAN stack that fills the whole frame.
  const vlanStack = new Uint8Array(200);
  for (let o = 12; o + 4 <= vlanStack.length; o += 4) vlanStack.set([0x81, 0x00, 0x00, 0x01], o);
  out.push(vlanStack);
  // IPv6 with hop-by-hop headers chained to each other for the rest of the frame.
  const v6 = buildUdp({ src: '2001:db8::1', dst: '2001:db8::2', srcPort: 1, dstPort: 2, payload: new Uint8Array(400) });
  v6[14 + 6] = 0; // next header: hop-by-hop
  for (let o = 54; o + 8 <= v6.length; o += 8) v6.set([0, 0, 1, 4, 0, 0, 0, 0], o);
  out.push(v6);
  // IPv4 with IHL 15 of garbage options, and IHL below 5.
  const v4 = buildTcp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, ipv4Options: new Uint8Array(40).fill(7) });
  out.push(v4);
  const bad = v4.slice();
  bad[14] = 0x43;
  out.push(bad);
  // Lengths that lie: IP total length and UDP length far beyond the frame.
  const liar = buildUdp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, payload: 'x' });
  liar[16] = 0xff;
  liar[14 + 20 + 4] = 0xff;
  out.push(liar);
  // TCP options whose lengths run past the header.
  const opts = buildTcp({ src: '10.0.0.1', dst: '10.0.0.2', srcPort: 1, dstPort: 2, tcpOptions: Uint8Array.of(3, 200, 0, 0, 2, 1, 0, 0) });
  out.push(opts);
  return out;
}

const FIELDS = [
  'status', 'lengthStatus', 'vlanCount', 'etherType', 'ipVersion', 'l4Protocol', 'fragmentOffset', 'moreFragments', 'extensionCount',
  'srcIPv4', 'dstIPv4', 'ttl', 'srcPort', 'dstPort', 'tcpFlags', 'icmpType', 'icmpCode', 'vlanId', 'innerVlanId',
  'addrLength', 'payloadLength', 'isFragment', 'length',
] as const;
// The 5-tuple fields are in FIELDS; ports are compared there too.
/** Offsets: compared relative to the frame start, so frames at different positions compare. */
/** An offset relative to the frame start; -1 (absent) stays -1. */
const rel = (x: number, off: number) => (x < 0 ? -1 : x - off);
const OFFSETS = ['vlanOffset', 'l3Offset', 'l3End', 'l4Offset', 'l4End', 'payloadOffset', 'fragmentHeaderOffset', 'srcAddrOffset', 'dstAddrOffset'] as const;

test(`fuzz: ${ITERATIONS} mutated/truncated frames never throw and never read or write outside the frame`, () => {
  const rng = new Rng(SEED);
  const templates = [...hostileTemplates()];
  for (let i = 0; i < 3000; i++) templates.push(randomFrame(rng).frame);
  const a = new Uint8Array(2048 + 2 * PAD);
  const b = new Uint8Array(2048 + 2 * PAD);
  // pa adopts `a` and takes the fast path where it can; pb's home is another
  // array, so it always takes the full parser: every frame compares the two
  // paths, with different bytes around the frame. pc parses exact-size copies.
  const pa = new PacketParser();
  const pb = new PacketParser(new Uint8Array(1));
  const pc = new PacketParser();
  const statuses = [0, 0, 0, 0];
  const newAddr = new Uint8Array(16).fill(0x42);
  let writeChecks = 0;

  for (let it = 0; it < ITERATIONS; it++) {
    const t = templates[rng.int(templates.length)];
    // Truncate (often), mutate a few bytes (mostly in the headers).
    const len = rng.chance(0.5) ? rng.int(t.length + 1) : t.length;
    const offA = rng.int(PAD);
    const offB = rng.int(PAD);
    a.fill(0xaa);
    b.fill(0x55);
    a.set(t.subarray(0, len), offA);
    const flips = rng.int(4);
    for (let f = 0; f < flips && len > 0; f++) {
      const pos = rng.chance(0.8) ? rng.int(Math.min(len, 96)) : rng.int(len);
      a[offA + pos] = rng.int(256);
    }
    b.set(a.subarray(offA, offA + len), offB);
    // The frame is followed by PAD bytes of sentinel inside the array: `length` must be honoured.
    try {
      pa.parse(a, len, offA);
      pb.parse(b, len, offB);
    } catch (e) {
      assert.fail(`iteration ${it} (seed ${SEED}) threw: ${e}`);
    }
    statuses[pa.status]++;
    // One in four also in an array that ends exactly with the frame: a read past it would throw.
    if ((it & 3) === 1) {
      const exact = a.slice(offA, offA + len);
      try {
        pc.parse(exact);
      } catch (e) {
        assert.fail(`iteration ${it} (seed ${SEED}) threw on an exact-size array: ${e}`);
      }
      for (const k of FIELDS) if (pa[k] !== pc[k]) assert.fail(`iteration ${it} (seed ${SEED}): exact-size ${k} ${pa[k]} != ${pc[k]}`);
      for (const k of OFFSETS) if (rel(pa[k], offA) !== rel(pc[k], 0)) assert.fail(`iteration ${it} (seed ${SEED}): exact-size ${k}`);
      if (pa.l4ChecksumValid() !== pc.l4ChecksumValid()) assert.fail(`iteration ${it}: exact-size checksum verdict`);
    }
    for (const k of FIELDS) {
      if (pa[k] !== pb[k]) assert.fail(`iteration ${it} (seed ${SEED}): ${k} ${pa[k]} != ${pb[k]}`);
    }
    for (const k of OFFSETS) {
      const x = rel(pa[k], offA);
      const y = rel(pb[k], offB);
      if (x !== y) assert.fail(`iteration ${it} (seed ${SEED}): ${k} ${x} != ${y}`);
      if (x > len) assert.fail(`iteration ${it}: ${k} = ${x} beyond the frame length ${len}`);
    }
    if (pa.ipChecksumValid() !== pb.ipChecksumValid() || pa.l4ChecksumValid() !== pb.l4ChecksumValid()) {
      assert.fail(`iteration ${it} (seed ${SEED}): checksum verdicts differ`);
    }
    if (pa.l4Offset >= 0 && pa.l4Protocol === 6) {
      if (rel(tcpFindOption(a, pa.l4Offset, 2), offA) !== rel(tcpFindOption(b, pb.l4Offset, 2), offB)) assert.fail(`iteration ${it}: tcpFindOption`);
    }
    if (pa.ipVersion === 4 && rel(ipv4FindOption(a, pa.l3Offset, 148), offA) !== rel(ipv4FindOption(b, pb.l3Offset, 148), offB)) {
      assert.fail(`iteration ${it}: ipv4FindOption`);
    }
    // One in eight: run the edits on both and compare the frames and the sentinels.
    if ((it & 7) === 0) {
      for (const p of [pa, pb]) {
        decrementTtl(p);
        setDstIPv4(p, 0x0a000001);
        setDstIPv6(p, newAddr);
        setSrcPort(p, 4242);
        setDstPort(p, 80);
        swapAddresses(p);
        swapPorts(p);
        tcpClampMss(p, 1200);
        icmpEchoReply(p);
        if (p.length >= 14) swapMacs(p.bytes, p.l2Offset);
        p.updateChecksums();
      }
      const na = pushVlan(a, offA, len, 5);
      const nb = pushVlan(b, offB, len, 5);
      const ma = popVlan(a, offA, na < 0 ? len : na);
      const mb = popVlan(b, offB, nb < 0 ? len : nb);
      assert.equal(na, nb);
      assert.equal(ma, mb);
      const end = Math.max(len, na, ma);
      for (let i = 0; i < end; i++) {
        if (a[offA + i] !== b[offB + i]) assert.fail(`iteration ${it} (seed ${SEED}): edited frames differ at ${i}`);
      }
      for (let i = 0; i < offA; i++) if (a[i] !== 0xaa) assert.fail(`iteration ${it}: wrote before the frame`);
      for (let i = offA + end; i < a.length; i++) if (a[i] !== 0xaa) assert.fail(`iteration ${it}: wrote after the frame`);
      writeChecks++;
    }
  }
  // The corpus reached every outcome.
  assert.ok(statuses[ParseStatus.Ok] > 0 && statuses[ParseStatus.Truncated] > 0 && statuses[ParseStatus.Malformed] > 0, `statuses ${statuses}`);
  assert.ok(writeChecks > ITERATIONS / 10);
});

test('fuzz: pure random bytes of every length', () => {
  const rng = new Rng(SEED + 1);
  const p = new PacketParser();
  const buf = new Uint8Array(256);
  for (let it = 0; it < 200_000; it++) {
    const len = rng.int(buf.length + 1);
    for (let i = 0; i < len; i++) buf[i] = rng.int(256);
    // Steer a quarter of them into IP so the deeper layers see noise too.
    if (len >= 14 && rng.chance(0.25)) {
      buf[12] = rng.chance(0.5) ? 0x08 : 0x86;
      buf[13] = buf[12] === 0x08 ? 0x00 : 0xdd;
      buf[14] = buf[12] === 0x08 ? 0x45 : 0x60;
    }
    const s = p.parse(buf, len);
    assert.ok(s === ParseStatus.Ok || s === ParseStatus.Truncated || s === ParseStatus.Malformed);
    assert.ok(p.l3Offset <= len && p.l4Offset <= len && p.l4End <= len && p.l3End <= len);
    p.ipChecksumValid();
    p.l4ChecksumValid();
  }
});

/**
 * Packet toolkit parse benchmark: time per packet to parse Ethernet + IPv4 +
 * UDP and read the 5-tuple with `PacketParser`, next to a hand-written inline
 * DataView parse of the same frames, in the same run. Rounds alternate
 * between the two (and which goes first) so machine noise hits both; the
 * figure that matters is the median of the per-round ratios.
 *
 * A second pair, run between rounds, adds the length-field checks to both:
 * the hand-written parse checks the IP total length and the UDP length, the
 * toolkit reads `lengthStatus` (which `parse` leaves for when it is asked).
 *
 * Run: node --import tsx bench/packet-parse.ts [--rounds N] [--packets N] [--adopt]
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { PacketParser, ParseStatus, buildUdp, formatIPv4 } from '../ts/packet/index.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const ROUNDS = arg('--rounds', 31);
const PACKETS = arg('--packets', 2_000_000);
const FRAME = 2048;
const COUNT = 1024; // frames in the fake UMEM (2 MiB, like a small real one)

// Frames: Ethernet/IPv4/UDP, varied addresses, ports and payload sizes, a tenth with IP options.
const umem = new Uint8Array(FRAME * COUNT);
const lens = new Int32Array(COUNT);
let seed = 12345;
const rnd = (n: number) => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed % n;
};
for (let i = 0; i < COUNT; i++) {
  const f = buildUdp({
    src: `10.${rnd(256)}.${rnd(256)}.${rnd(256)}`,
    dst: `192.168.${rnd(256)}.${rnd(256)}`,
    srcPort: 1024 + rnd(60000),
    dstPort: 1 + rnd(65535),
    ipv4Options: i % 10 === 0 ? Uint8Array.of(148, 4, 0, 0) : undefined,
    payload: new Uint8Array(18 + rnd(1400)),
  });
  umem.set(f, i * FRAME);
  lens[i] = f.length;
}
// The port keeps one DataView over the UMEM for its lifetime (DESIGN.md 3); so does the baseline.
const dv = new DataView(umem.buffer, umem.byteOffset, umem.byteLength);
// The parser is told its home array up front, as the baseline's DataView is
// made up front. With --adopt it is made without one and adopts the UMEM on
// its first parse, as `new PacketParser()` in a handler module does: then V8
// can no longer treat the home view as a constant (BENCHMARKS.md).
const ADOPT = process.argv.includes('--adopt');
const parser = ADOPT ? new PacketParser() : new PacketParser(umem);

/** Toolkit: one parse, then the 5-tuple from the cursor. */
function toolkit(n: number): number {
  const p = parser;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const slot = i & (COUNT - 1);
    p.parse(umem, lens[slot], slot * FRAME);
    if (p.l4Protocol === 17 && p.l4Offset >= 0) {
      acc = (acc + (p.srcIPv4 ^ p.dstIPv4) + p.srcPort + p.dstPort + p.l4Protocol) | 0;
    }
  }
  return acc;
}

/** Toolkit with the length fields checked too (the pair of `handWrittenLengths`). */
function toolkitLengths(n: number): number {
  const p = parser;
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const slot = i & (COUNT - 1);
    if (p.parse(umem, lens[slot], slot * FRAME) !== ParseStatus.Ok || p.lengthStatus !== ParseStatus.Ok) continue;
    if (p.l4Protocol === 17) {
      acc = (acc + (p.srcIPv4 ^ p.dstIPv4) + p.srcPort + p.dstPort + p.l4Protocol) | 0;
    }
  }
  return acc;
}

/** Baseline: the inline DataView parse a careful handler author would write (same checks against the frame length). */
function handWritten(n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const slot = i & (COUNT - 1);
    const off = slot * FRAME;
    const len = lens[slot];
    if (len < 34 || dv.getUint16(off + 12) !== 0x0800) continue;
    const vihl = dv.getUint8(off + 14);
    const ihl = (vihl & 15) * 4;
    if (vihl >> 4 !== 4 || ihl < 20 || 14 + ihl + 8 > len) continue;
    if (dv.getUint16(off + 20) & 0x1fff) continue; // a later fragment has no UDP header
    const proto = dv.getUint8(off + 23);
    if (proto !== 17) continue;
    const src = dv.getUint32(off + 26);
    const dst = dv.getUint32(off + 30);
    const l4 = off + 14 + ihl;
    acc = (acc + (src ^ dst) + dv.getUint16(l4) + dv.getUint16(l4 + 2) + proto) | 0;
  }
  return acc;
}

/**
 * The same parse plus the two length checks `lengthStatus` makes: IP total
 * length within the frame, UDP length within [8, the IP payload].
 */
function handWrittenLengths(n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const slot = i & (COUNT - 1);
    const off = slot * FRAME;
    const len = lens[slot];
    if (len < 34 || dv.getUint16(off + 12) !== 0x0800) continue;
    const vihl = dv.getUint8(off + 14);
    const ihl = (vihl & 15) * 4;
    if (vihl >> 4 !== 4 || ihl < 20 || 14 + ihl + 8 > len) continue;
    const total = dv.getUint16(off + 16);
    if (14 + total > len) continue;
    if (dv.getUint16(off + 20) & 0x1fff) continue;
    const proto = dv.getUint8(off + 23);
    if (proto !== 17) continue;
    const l4 = off + 14 + ihl;
    const ulen = dv.getUint16(l4 + 4);
    if (ulen < 8 || ihl + ulen > total) continue;
    const src = dv.getUint32(off + 26);
    const dst = dv.getUint32(off + 30);
    acc = (acc + (src ^ dst) + dv.getUint16(l4) + dv.getUint16(l4 + 2) + proto) | 0;
  }
  return acc;
}

function time(fn: (n: number) => number, n: number): { ns: number; acc: number } {
  const t0 = process.hrtime.bigint();
  const acc = fn(n);
  return { ns: Number(process.hrtime.bigint() - t0) / n, acc };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Same answer from all four, or the comparison means nothing.
const a = toolkit(COUNT * 4);
for (const [name, fn] of [['hand-written', handWritten], ['toolkit with lengthStatus', toolkitLengths], ['hand-written with length checks', handWrittenLengths]] as const) {
  const x = fn(COUNT * 4);
  if (x !== a) throw new Error(`toolkit and ${name} parse disagree: ${a} vs ${x}`);
}

// Many short calls first, so V8 optimises each loop as a whole function; with
// only a few long calls it may run them in on-stack-replacement code only,
// which is slower and varies from run to run.
for (let i = 0; i < 400; i++) {
  toolkit(COUNT);
  handWritten(COUNT);
  toolkitLengths(COUNT);
  handWrittenLengths(COUNT);
}
for (let i = 0; i < 5; i++) {
  toolkit(PACKETS / 4);
  handWritten(PACKETS / 4);
  toolkitLengths(PACKETS / 4);
  handWrittenLengths(PACKETS / 4);
}

let gcs = 0;
const obs = new PerformanceObserver((l) => {
  gcs += l.getEntries().length;
});
obs.observe({ entryTypes: ['gc'] });

/** Time a pair side by side, alternating which goes first; heap growth is counted over the toolkit's run. */
function pair(round: number, tool: (n: number) => number, hand: (n: number) => number): { t: number; h: number; heap: number } {
  let t: number;
  let h: number;
  let heap: number;
  if (round % 2 === 0) {
    const heap0 = process.memoryUsage().heapUsed;
    t = time(tool, PACKETS).ns;
    heap = process.memoryUsage().heapUsed - heap0;
    h = time(hand, PACKETS).ns;
  } else {
    h = time(hand, PACKETS).ns;
    const heap0 = process.memoryUsage().heapUsed;
    t = time(tool, PACKETS).ns;
    heap = process.memoryUsage().heapUsed - heap0;
  }
  return { t, h, heap };
}

const tk: number[] = [];
const hw: number[] = [];
const tl: number[] = [];
const hl: number[] = [];
const ratios: number[] = [];
const ratiosL: number[] = [];
let heapGrowth = 0;
for (let r = 0; r < ROUNDS; r++) {
  const main = pair(r, toolkit, handWritten);
  const lengths = pair(r, toolkitLengths, handWrittenLengths);
  heapGrowth += main.heap + lengths.heap;
  tk.push(main.t);
  hw.push(main.h);
  ratios.push(main.t / main.h);
  tl.push(lengths.t);
  hl.push(lengths.h);
  ratiosL.push(lengths.t / lengths.h);
}
await new Promise((r) => setTimeout(r, 50));
obs.disconnect();

const fmt = (x: number) => x.toFixed(2);
const line = (label: string, xs: number[]) => `  ${label.padEnd(34)} median ${fmt(median(xs))} ns/packet  (min ${fmt(Math.min(...xs))}, max ${fmt(Math.max(...xs))})`;
console.log(`packet-parse: Ethernet+IPv4+UDP, parse + 5-tuple, ${COUNT} distinct frames, ${ROUNDS} rounds x ${PACKETS} packets each, alternating${ADOPT ? ', parser adopted the UMEM' : ''}`);
console.log(line('toolkit (PacketParser)', tk));
console.log(line('hand-written DataView', hw));
console.log(`  ratio toolkit/hand-written median ${fmt(median(ratios))}x  (min ${fmt(Math.min(...ratios))}, max ${fmt(Math.max(...ratios))}); goal <= 1.25x`);
console.log(line('toolkit + lengthStatus', tl));
console.log(line('hand-written + length checks', hl));
console.log(`  ratio with length checks    median ${fmt(median(ratiosL))}x  (min ${fmt(Math.min(...ratiosL))}, max ${fmt(Math.max(...ratiosL))})`);
console.log(`  allocation: heap growth during toolkit runs ${heapGrowth} bytes over ${2 * ROUNDS * PACKETS} packets` +
  ` (${(heapGrowth / (2 * ROUNDS * PACKETS)).toFixed(4)} B/packet); GC events during all rounds: ${gcs}`);
console.log(`  check value ${formatIPv4(a >>> 0)}`);

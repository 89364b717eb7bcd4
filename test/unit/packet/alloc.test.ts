/**
 * A long run over many packets allocates nothing per packet: parse, read
 * every field, verify checksums and do the common edits on 5 million frames
 * laid out in one shared buffer (as in a UMEM), and check that the heap did
 * not grow and that V8 ran (almost) no scavenges, which it would after a few
 * MB of per-packet garbage.
 */
import assert from 'node:assert/strict';
import { PerformanceObserver } from 'node:perf_hooks';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import {
  PacketParser,
  decrementTtl,
  formatIPv4,
  icmpEchoReply,
  popVlan,
  pushVlan,
  setDstIPv4,
  setDstIPv6,
  setDstPort,
  swapAddresses,
  swapMacs,
  swapPorts,
  parseIPv6,
} from '../../../ts/packet/index.js';
import { Rng, randomFrame } from './helpers.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const FRAME = 2048;
const COUNT = 512;
const PACKETS = 5_000_000;

/** The hot loop: everything a handler might do per packet. Returns a checksum of what it read so nothing is optimised away. */
function run(p: PacketParser, umem: Uint8Array, lens: Int32Array, packets: number, v6addr: Uint8Array): number {
  let acc = 0;
  for (let i = 0; i < packets; i++) {
    const slot = i & (COUNT - 1);
    const off = slot * FRAME;
    let len = lens[slot];
    p.parse(umem, len, off);
    acc ^= p.status + p.vlanId + p.etherType + p.l4Protocol + p.srcPort + p.dstPort + p.ttl + p.tcpFlags + p.icmpType;
    acc ^= p.srcIPv4 ^ p.dstIPv4;
    acc ^= p.payloadLength + p.srcAddrOffset + p.dstAddrOffset;
    if (p.ipChecksumValid()) acc++;
    if (p.l4ChecksumValid()) acc++;
    switch (i & 7) {
      case 0:
        swapMacs(umem, off);
        swapAddresses(p);
        swapPorts(p);
        break;
      case 1:
        acc += decrementTtl(p);
        break;
      case 2:
        setDstIPv4(p, 0x0a000001 + (i & 255));
        setDstPort(p, 8080);
        break;
      case 3:
        setDstIPv6(p, v6addr);
        break;
      case 4:
        icmpEchoReply(p);
        break;
      case 5: {
        const n = pushVlan(umem, off, len, 100);
        if (n > 0) len = popVlan(umem, off, n);
        acc += len;
        break;
      }
    }
  }
  return acc;
}

/** Count GC events (and scavenges) while `fn` runs; entries arrive asynchronously, so wait for them. */
async function countGc(fn: () => void): Promise<{ all: number; scavenges: number }> {
  const counts = { all: 0, scavenges: 0 };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      counts.all++;
      // detail.kind: perf_hooks.constants.NODE_PERFORMANCE_GC_MINOR (1) is a scavenge.
      if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === 1) counts.scavenges++;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  fn();
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  return counts;
}

test('the GC counter sees allocation (control)', async () => {
  const sink: unknown[] = [];
  const counts = await countGc(() => {
    for (let i = 0; i < 2_000_000; i++) sink[i & 1023] = { i };
  });
  assert.ok(counts.scavenges > 0, `no scavenge seen while allocating 2M objects: ${JSON.stringify(counts)}`);
});

test(`${PACKETS} packets parsed and edited without allocating`, async () => {
  const rng = new Rng(7);
  const umem = new Uint8Array(FRAME * COUNT);
  const lens = new Int32Array(COUNT);
  for (let i = 0; i < COUNT; i++) {
    const f = randomFrame(rng, false).frame;
    umem.set(f, i * FRAME);
    lens[i] = f.length;
  }
  const p = new PacketParser();
  const v6addr = parseIPv6('2001:db8::42');
  // Warm up until V8 has optimised everything: compiling allocates, running must not.
  for (let i = 0; i < 3; i++) run(p, umem, lens, 1_000_000, v6addr);

  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  let acc = 0;
  let ns = 0;
  let afterNoGc = 0;
  const { all: collections, scavenges } = await countGc(() => {
    const t0 = process.hrtime.bigint();
    acc = run(p, umem, lens, PACKETS, v6addr);
    ns = Number(process.hrtime.bigint() - t0);
    afterNoGc = process.memoryUsage().heapUsed;
  });
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  const perPacket = (afterNoGc - before) / PACKETS;
  console.log(
    `# ${PACKETS} packets in ${(ns / 1e6).toFixed(0)} ms (${(ns / PACKETS).toFixed(1)} ns/packet); heap ${before} -> ${afterNoGc} before gc ` +
      `(${perPacket.toFixed(4)} B/packet), ${after} after gc; gc events ${collections}, scavenges ${scavenges}; acc ${formatIPv4(acc >>> 0)}`,
  );
  // A single 16-byte allocation per packet would be 80 MB and dozens of scavenges.
  assert.ok(afterNoGc - before < 1 << 20, `heap grew by ${afterNoGc - before} bytes during the run`);
  assert.ok(after - before < 1 << 20, `heap grew by ${after - before} bytes after gc`);
  assert.ok(scavenges <= 2, `${scavenges} scavenges during the run`);
});

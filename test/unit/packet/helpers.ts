/**
 * Shared by the packet tests and bench/packet-parse.ts: a seeded PRNG (so a
 * failing case reproduces from its seed) and a generator of random but
 * well-formed frames across every protocol the toolkit parses.
 */
import {
  buildArp,
  buildIcmpEcho,
  buildIp,
  buildTcp,
  buildUdp,
  formatIPv4,
  formatIPv6,
  formatMac,
  type IpSpec,
  type Ipv6ExtensionSpec,
  type VlanTagSpec,
} from '../../../ts/packet/index.js';

/** mulberry32: tiny, fast, good enough for test data. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  u32(): number {
    return this.int(0x10000) * 0x10000 + this.int(0x10000);
  }
}

export type FrameKind = 'arp' | 'udp4' | 'tcp4' | 'icmp4' | 'udp6' | 'tcp6' | 'icmp6' | 'frag4' | 'frag6' | 'raw4';

export interface RandomFrame {
  kind: FrameKind;
  frame: Uint8Array;
  /** Checksum deliberately broken: 'ip', 'l4' or ''. */
  corrupted: '' | 'ip' | 'l4';
}

function randomMac(rng: Rng): string {
  const b = rng.bytes(6);
  b[0] &= 0xfe; // unicast
  return formatMac(b);
}

function randomV4(rng: Rng): string {
  return formatIPv4(rng.range(0x01000000, 0xdfffffff));
}

function randomV6(rng: Rng): string {
  const b = rng.bytes(16);
  b[0] = 0x20; // global unicast 2000::/3, never IPv4-mapped
  return formatIPv6(b);
}

const TCP_OPTIONS = [
  Uint8Array.of(2, 4, 0x05, 0xb4), // MSS 1460
  Uint8Array.of(2, 4, 0x05, 0xb4, 1, 3, 3, 7), // MSS, NOP, wscale 7
  Uint8Array.of(1, 1, 4, 2), // NOP NOP SACK-permitted
  Uint8Array.of(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2), // NOP NOP timestamps
  Uint8Array.of(2, 4, 0x23, 0x28, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 2),
];

const IPV4_OPTIONS = [
  Uint8Array.of(148, 4, 0, 0), // router alert
  Uint8Array.of(1, 1, 1, 0), // NOP NOP NOP End
  Uint8Array.of(7, 7, 4, 0, 0, 0, 0), // record route with room for one address
];

function vlans(rng: Rng): VlanTagSpec[] {
  const n = rng.pick([0, 0, 0, 1, 1, 2]);
  const tags: VlanTagSpec[] = [];
  for (let i = 0; i < n; i++) {
    tags.push({ id: rng.range(1, 4094), pcp: rng.int(8), dei: rng.chance(0.2), tpid: n === 2 && i === 0 ? 0x88a8 : 0x8100 });
  }
  return tags;
}

function ipSpec(rng: Rng, v6: boolean): IpSpec {
  const spec: IpSpec = {
    srcMac: randomMac(rng),
    dstMac: randomMac(rng),
    vlans: vlans(rng),
    src: v6 ? randomV6(rng) : randomV4(rng),
    dst: v6 ? randomV6(rng) : randomV4(rng),
    ttl: rng.range(1, 255),
    dscp: rng.int(64),
    ecn: rng.int(4),
  };
  if (v6) {
    spec.flowLabel = rng.int(0x100000);
    const exts: Ipv6ExtensionSpec[] = [];
    if (rng.chance(0.25)) exts.push({ kind: 'hopByHop', options: rng.chance(0.5) ? Uint8Array.of(5, 2, 0, 0) : undefined });
    if (rng.chance(0.2)) exts.push({ kind: 'destination' });
    if (rng.chance(0.15)) exts.push({ kind: 'routing', routingType: 253, segmentsLeft: 0, data: rng.bytes(rng.pick([4, 12])) });
    spec.extensions = exts;
  } else {
    spec.id = rng.int(0x10000);
    spec.dontFragment = rng.chance(0.5);
    if (rng.chance(0.2)) spec.ipv4Options = rng.pick(IPV4_OPTIONS);
  }
  if (rng.chance(0.1)) spec.minLength = 60;
  return spec;
}

function port(rng: Rng): number {
  return rng.chance(0.9) ? rng.range(1024, 65535) : rng.range(1, 1023);
}

/** One random, well-formed frame (then possibly a corrupted checksum). */
export function randomFrame(rng: Rng, allowCorrupt = true): RandomFrame {
  const kind = rng.pick<FrameKind>(['arp', 'udp4', 'tcp4', 'icmp4', 'udp6', 'tcp6', 'icmp6', 'frag4', 'frag6', 'raw4']);
  const v6 = kind.endsWith('6');
  const payload = rng.bytes(rng.pick([0, 1, 7, 18, 64, rng.int(300)]));
  let frame: Uint8Array;
  let l4Csum = -1; // offset from the end of IP+ext headers, if any
  switch (kind) {
    case 'arp':
      frame = buildArp({
        srcMac: randomMac(rng),
        vlans: vlans(rng),
        op: rng.pick([1, 2]),
        senderIp: randomV4(rng),
        targetIp: randomV4(rng),
        targetMac: rng.chance(0.5) ? randomMac(rng) : undefined,
      });
      return { kind, frame, corrupted: '' };
    case 'udp4':
    case 'udp6':
      frame = buildUdp({ ...ipSpec(rng, v6), srcPort: port(rng), dstPort: port(rng), payload, checksum: v6 || rng.chance(0.9) });
      l4Csum = 6;
      break;
    case 'tcp4':
    case 'tcp6': {
      const tcpOptions = rng.chance(0.5) ? rng.pick(TCP_OPTIONS) : undefined;
      frame = buildTcp({
        ...ipSpec(rng, v6),
        srcPort: port(rng),
        dstPort: port(rng),
        seq: rng.u32(),
        ack: rng.u32(),
        flags: rng.int(0x200),
        window: rng.int(0x10000),
        urgent: rng.chance(0.2) ? rng.int(0x10000) : 0,
        tcpOptions,
        payload,
      });
      l4Csum = 16;
      break;
    }
    case 'icmp4':
    case 'icmp6':
      frame = buildIcmpEcho({ ...ipSpec(rng, v6), id: rng.int(0x10000), seq: rng.int(0x10000), reply: rng.chance(0.5), payload });
      l4Csum = 2;
      break;
    case 'frag4': {
      const first = rng.chance(0.5);
      const spec = { ...ipSpec(rng, false), dontFragment: false, moreFragments: first || rng.chance(0.5), fragmentOffset: first ? 0 : rng.range(1, 1000) * 8 };
      frame = first ? buildUdp({ ...spec, srcPort: port(rng), dstPort: port(rng), payload }) : buildIp({ ...spec, protocol: 17, payload });
      break;
    }
    case 'frag6': {
      const first = rng.chance(0.5);
      const spec = ipSpec(rng, true);
      spec.extensions = [...(spec.extensions ?? []), { kind: 'fragment', offset: first ? 0 : rng.range(1, 1000) * 8, more: first || rng.chance(0.5), id: rng.u32() }];
      frame = first ? buildUdp({ ...spec, srcPort: port(rng), dstPort: port(rng), payload }) : buildIp({ ...spec, protocol: 17, payload });
      break;
    }
    case 'raw4':
      frame = buildIp({ ...ipSpec(rng, false), protocol: rng.pick([47, 50, 132, 253]), payload });
      break;
  }
  let corrupted: RandomFrame['corrupted'] = '';
  if (allowCorrupt && rng.chance(0.15)) {
    // Flip bits in a checksum field: IPv4 header, or the L4 one (found by parsing).
    const l3 = 14 + 4 * (frame[12] === 0x81 || frame[12] === 0x88 ? (frame[16] === 0x81 ? 2 : 1) : 0);
    if (!v6 && rng.chance(0.5)) {
      frame[l3 + 10] ^= 1 + rng.int(255);
      corrupted = 'ip';
    } else if (l4Csum >= 0) {
      const p = findL4(frame);
      if (p >= 0) {
        frame[p + l4Csum] ^= 1 + rng.int(255);
        corrupted = 'l4';
      }
    }
  }
  return { kind, frame, corrupted };
}

import { PacketParser } from '../../../ts/packet/index.js';
const scratch = new PacketParser();
function findL4(frame: Uint8Array): number {
  scratch.parse(frame);
  return scratch.l4Offset;
}

/**
 * A stateless IPv4 firewall with first-match rules and per-rule counters.
 *
 * With two interfaces (`--interface in0 --interface out0`) it forwards what
 * the rules allow to the other interface, zero-copy (the ports share a UMEM).
 * With one, it sends allowed frames back with the MACs swapped, which is
 * what the veth lab shows best. Whatever no rule allows is dropped.
 *
 *   afxdp run examples/firewall.ts --interface afx0
 */
import { Verdict, type HandlerContext, type Packet } from 'afxdp';

interface Rule {
  name: string;
  action: 'allow' | 'deny';
  /** IP protocol (1 ICMP, 6 TCP, 17 UDP); any when absent. */
  protocol?: number;
  /** Destination port range, inclusive (TCP and UDP). */
  dstPorts?: [number, number];
  /** Source prefix, e.g. '198.51.100.0/24'. */
  src?: string;
}

export const rules: Rule[] = [
  { name: 'deny-blocked-net', action: 'deny', src: '198.51.100.0/24' },
  { name: 'allow-dns', action: 'allow', protocol: 17, dstPorts: [53, 53] },
  { name: 'allow-high-udp', action: 'allow', protocol: 17, dstPorts: [1024, 65535] },
  { name: 'allow-icmp', action: 'allow', protocol: 1 },
  { name: 'allow-https', action: 'allow', protocol: 6, dstPorts: [443, 443] },
];

/** Rules compiled to numbers once: no strings or allocation per packet. */
const compiled = rules.map((r) => {
  let net = 0;
  let mask = 0;
  if (r.src) {
    const [addr, len] = r.src.split('/');
    net = addr!.split('.').reduce((a, o) => (a << 8) | Number(o), 0) >>> 0;
    const bits = Number(len ?? 32);
    mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    net = (net & mask) >>> 0;
  }
  return { allow: r.action === 'allow', protocol: r.protocol ?? -1, lo: r.dstPorts?.[0] ?? -1, hi: r.dstPorts?.[1] ?? -1, net, mask, hasSrc: !!r.src };
});

/** Matches per rule, plus the default deny at the end. */
export const hits = new Array<number>(rules.length + 1).fill(0);

type AnyPort = HandlerContext['ports'][string];

/** With two interfaces: the port a frame from `port` goes out of. */
let otherOf: ((port: Packet['port']) => AnyPort) | null = null;

export function setup(ctx: HandlerContext): void {
  otherOf = null;
  if (ctx.interfaces.length >= 2) {
    const [a, b] = ctx.interfaces as [string, string];
    const pa = ctx.ports[a]!;
    const pb = ctx.ports[b]!;
    otherOf = (port) => (port.interface === a ? pb : pa);
    ctx.log(`firewall: forwarding allowed frames ${a} <-> ${b}`);
  }
}

export function verdictFor(packet: Packet): boolean {
  if (packet.length < 34 || packet.u16(12) !== 0x0800) return false;
  const proto = packet.u8(23);
  const src = packet.u32(26);
  const l4 = 14 + (packet.u8(14) & 0x0f) * 4;
  const dport = (proto === 6 || proto === 17) && packet.length >= l4 + 4 ? packet.u16(l4 + 2) : -1;
  for (let i = 0; i < compiled.length; i++) {
    const r = compiled[i]!;
    if (r.protocol >= 0 && r.protocol !== proto) continue;
    if (r.lo >= 0 && (dport < r.lo || dport > r.hi)) continue;
    if (r.hasSrc && ((src & r.mask) >>> 0) !== r.net) continue;
    hits[i]!++;
    return r.allow;
  }
  hits[compiled.length]!++;
  return false;
}

export default function firewall(packet: Packet): Verdict {
  if (!verdictFor(packet)) return Verdict.Drop;
  if (otherOf) return packet.forward(otherOf(packet.port));
  packet.swapMacs();
  return Verdict.Tx;
}

export function teardown(): void {
  // Counters stay readable by whoever imported the module (tests, replay).
}

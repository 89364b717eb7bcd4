/**
 * A stateless layer-4 load balancer written with the packet toolkit. UDP and
 * TCP to the virtual address (VIP) are spread over backends by a hash of the
 * flow, so every packet of a flow lands on the same backend; the destination
 * address is rewritten in place (DNAT) with the IP and UDP/TCP checksums fixed
 * incrementally, and the frame goes back out with its MACs swapped (a router
 * would forward it; in the veth lab it returns to the peer). Everything else
 * is dropped. VLAN-tagged frames work too: the parser finds the headers.
 *
 *   LB_VIP=192.0.2.1 LB_BACKENDS=198.51.100.10,198.51.100.11 afxdp run examples/l4-balancer.ts --interface eth0
 */
import { Verdict, type Packet } from 'afxdp';
import { IPPROTO_TCP, IPPROTO_UDP, PacketParser, ParseStatus, parseIPv4, setDstIPv4, swapMacs } from 'afxdp/packet';

const VIP = parseIPv4(process.env.LB_VIP ?? '192.0.2.1');
const BACKENDS = (process.env.LB_BACKENDS ?? '198.51.100.10,198.51.100.11,198.51.100.12').split(',').map((a) => parseIPv4(a.trim()));

/** Frames sent to each backend, and frames dropped (not for the VIP, or not UDP/TCP). */
export const counts = { backends: new Array<number>(BACKENDS.length).fill(0), dropped: 0 };

// One parser for the port's UMEM: it adopts the UMEM on the first packet, and
// parses of it take the toolkit's fast path from then on.
const p = new PacketParser();

export default function balance(packet: Packet): Verdict {
  if (p.parseFrame(packet) !== ParseStatus.Ok || p.dstIPv4 !== VIP || (p.l4Protocol !== IPPROTO_UDP && p.l4Protocol !== IPPROTO_TCP)) {
    counts.dropped++;
    return Verdict.Drop;
  }
  // Later fragments carry no ports: hash the first fragment the same way, on
  // the addresses and protocol only, so a whole datagram goes one way.
  const ports = p.isFragment ? 0 : ((p.srcPort << 16) | p.dstPort) >>> 0;
  const backend = flowHash(p.srcIPv4, ports, p.l4Protocol) % BACKENDS.length;
  setDstIPv4(p, BACKENDS[backend]!);
  swapMacs(p.bytes, p.l2Offset);
  counts.backends[backend]!++;
  return Verdict.Tx;
}

/** A 32-bit mix of the flow's source address, ports and protocol (murmur3's finaliser). */
export function flowHash(src: number, ports: number, protocol: number): number {
  let h = Math.imul(src ^ protocol, 0xcc9e2d51) ^ ports;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

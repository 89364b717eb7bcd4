/**
 * A stateless layer-4 load balancer written with the packet toolkit. UDP and
 * TCP to the virtual address (VIP) are spread over backends by a hash of the
 * flow, so every packet of a flow lands on the same backend; the destination
 * address is rewritten in place (DNAT) with the IP and UDP/TCP checksums fixed
 * incrementally, and the frame goes back out with its MACs swapped (a router
 * would forward it; in the veth lab it returns to the peer). Everything else
 * is dropped. VLAN-tagged frames work too (any VLAN): the parser finds the
 * headers. A fragmented datagram is hashed on its addresses alone (later
 * fragments carry no ports), so it may go to another backend than the
 * unfragmented packets of the same flow.
 *
 * On a NIC that also carries other traffic, steer only the VIP's to it:
 *
 *   LB_VIP=192.0.2.1 LB_BACKENDS=198.51.100.10,198.51.100.11 \
 *     afxdp run examples/l4-balancer.ts --interface eth0 --steer 'dst host 192.0.2.1 and (udp or tcp)'
 *
 * Nothing here allocates per packet. The backends are an Int32Array and the
 * hash stays below 2^31: a 32-bit number at or above 2^31 passed to or
 * returned from a call V8 did not inline is boxed (an allocation), and the
 * toolkit's setters take the same bits as a signed number just as well.
 */
import { Verdict, type Packet } from 'afxdp';
import { IPPROTO_TCP, IPPROTO_UDP, PacketParser, ParseStatus, parseIPv4, setDstIPv4, swapMacs } from 'afxdp/packet';

const VIP = parseIPv4(process.env.LB_VIP ?? '192.0.2.1');
const BACKENDS = Int32Array.from((process.env.LB_BACKENDS ?? '198.51.100.10,198.51.100.11,198.51.100.12').split(','), (a) => parseIPv4(a.trim()));

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
  // Lengths that disagree with the frame: the UDP/TCP header may not be what
  // it seems (it could sit in Ethernet padding), so do not rewrite it.
  if (p.lengthStatus !== ParseStatus.Ok) {
    counts.dropped++;
    return Verdict.Drop;
  }
  // Later fragments carry no ports: hash the first fragment the same way, on
  // the addresses and protocol only, so a whole datagram goes one way.
  const ports = p.isFragment ? 0 : (p.srcPort << 16) | p.dstPort;
  const backend = flowHash(p.srcIPv4 | 0, ports, p.l4Protocol) % BACKENDS.length;
  setDstIPv4(p, BACKENDS[backend]!);
  swapMacs(p.bytes, p.l2Offset);
  counts.backends[backend]!++;
  return Verdict.Tx;
}

/** A 31-bit mix of the flow's source address, ports and protocol (murmur3's finaliser). */
export function flowHash(src: number, ports: number, protocol: number): number {
  let h = Math.imul(src ^ protocol, 0xcc9e2d51) ^ ports;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) & 0x7fffffff;
}

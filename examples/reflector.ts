/**
 * Reflector: sends every IPv4 UDP frame back where it came from, with MAC
 * addresses, IP addresses and UDP ports swapped. Checksums stay valid with no
 * recomputation: swapping fields does not change a ones'-complement sum.
 * Everything else is dropped.
 *
 *   afxdp run examples/reflector.ts --interface eth0
 */
import { Verdict, type Packet } from 'afxdp';

const ETHERTYPE_IPV4 = 0x0800;
const PROTO_UDP = 17;

export default function reflect(packet: Packet): Verdict {
  if (packet.length < 42 || packet.u16(12) !== ETHERTYPE_IPV4) return Verdict.Drop;
  const ihl = (packet.u8(14) & 0x0f) * 4;
  if (packet.u8(23) !== PROTO_UDP || packet.length < 14 + ihl + 8) return Verdict.Drop;
  packet.swapMacs();
  // IPv4 source <-> destination (offsets 26 and 30).
  const src = packet.u32(26);
  packet.setU32(26, packet.u32(30));
  packet.setU32(30, src);
  // UDP source port <-> destination port.
  const l4 = 14 + ihl;
  const sport = packet.u16(l4);
  packet.setU16(l4, packet.u16(l4 + 2));
  packet.setU16(l4 + 2, sport);
  return Verdict.Tx;
}

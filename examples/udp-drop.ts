/**
 * Drops UDP to one destination port (default 9, discard; set UDP_DROP_PORT)
 * and sends everything else back out with the MACs swapped. The smallest
 * useful filter: a few reads at fixed offsets, no allocation.
 *
 *   UDP_DROP_PORT=53 afxdp run examples/udp-drop.ts --interface eth0
 */
import { Verdict, type Packet } from 'afxdp';

const port = Number(process.env.UDP_DROP_PORT ?? 9);

export default function udpDrop(packet: Packet): Verdict {
  if (packet.length >= 42 && packet.u16(12) === 0x0800 && packet.u8(23) === 17) {
    const l4 = 14 + (packet.u8(14) & 0x0f) * 4;
    if (packet.length >= l4 + 4 && packet.u16(l4 + 2) === port) return Verdict.Drop;
  }
  packet.swapMacs();
  return Verdict.Tx;
}

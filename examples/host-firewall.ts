/**
 * Host firewall: every frame of the interface goes through the handler,
 * which keeps what it owns and hands the rest to the kernel with
 * Verdict.Pass, so SSH, ARP, ping and every socket of the host keep working:
 *
 *   - UDP echo (port 7) is answered here, never reaching the kernel (Tx);
 *   - frames from a blocked source prefix (198.51.100.0/24, or the
 *     HOSTFW_BLOCK environment variable, e.g. 203.0.113.0/24) are dropped;
 *   - everything else is passed to the kernel stack, unchanged.
 *
 * Decisions a steering rule could make (a port, a prefix) are better made in
 * XDP with `--steer`; Verdict.Pass is for what only the handler can decide.
 * Passing costs a copy and a share of one syscall per batch (BENCHMARKS.md).
 *
 *   afxdp run examples/host-firewall.ts --interface eth0
 */
import { Verdict, type Packet } from 'afxdp';

const ETHERTYPE_IPV4 = 0x0800;
const PROTO_UDP = 17;
const ECHO_PORT = 7;

/** The blocked source prefix as a network and a mask (numbers: nothing allocated per packet). */
const [blockNet, blockMask] = ((spec: string) => {
  const [addr, len] = spec.split('/');
  const bits = Number(len ?? 32);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const net = addr!.split('.').reduce((a, o) => ((a << 8) | Number(o)) >>> 0, 0);
  return [(net & mask) >>> 0, mask];
})(process.env.HOSTFW_BLOCK ?? '198.51.100.0/24');

/** What the handler did, per decision. */
export const counts = { echoed: 0, blocked: 0, passed: 0 };

export default function hostFirewall(packet: Packet): Verdict {
  if (packet.length >= 34 && packet.u16(12) === ETHERTYPE_IPV4) {
    if (((packet.u32(26) & blockMask) >>> 0) === blockNet) {
      counts.blocked++;
      return Verdict.Drop;
    }
    const ihl = (packet.u8(14) & 0x0f) * 4;
    const l4 = 14 + ihl;
    if (packet.u8(23) === PROTO_UDP && packet.length >= l4 + 8 && packet.u16(l4 + 2) === ECHO_PORT) {
      // Swapping fields keeps every checksum valid.
      packet.swapMacs();
      const src = packet.u32(26);
      packet.setU32(26, packet.u32(30));
      packet.setU32(30, src);
      const sport = packet.u16(l4);
      packet.setU16(l4, packet.u16(l4 + 2));
      packet.setU16(l4 + 2, sport);
      counts.echoed++;
      return Verdict.Tx;
    }
  }
  counts.passed++;
  return Verdict.Pass;
}

/**
 * Minimal frame builders for the data-path tests. Deliberately independent
 * of the packet toolkit (ts/packet), so a toolkit bug cannot hide a data
 * path bug or the other way round.
 */

export function macBytes(mac: string): number[] {
  return mac.split(':').map((h) => parseInt(h, 16));
}

function ipv4Bytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

function checksum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i < end; i += 2) sum += (bytes[i]! << 8) | (i + 1 < end ? bytes[i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface UdpFrameOptions {
  dstMac: string;
  srcMac: string;
  srcIp: string;
  dstIp: string;
  srcPort: number;
  dstPort: number;
  /** Total frame length (without FCS), 60..1514. */
  length: number;
  /** Seed for the payload bytes. */
  seed: number;
}

/** An Ethernet/IPv4/UDP frame of exactly `length` bytes with valid checksums. */
export function udpFrame(o: UdpFrameOptions): Uint8Array {
  const f = new Uint8Array(o.length);
  f.set(macBytes(o.dstMac), 0);
  f.set(macBytes(o.srcMac), 6);
  f[12] = 0x08;
  f[13] = 0x00;
  const ipLen = o.length - 14;
  f[14] = 0x45;
  f[16] = ipLen >> 8;
  f[17] = ipLen & 0xff;
  f[18] = (o.seed >> 8) & 0xff;
  f[19] = o.seed & 0xff;
  f[22] = 64;
  f[23] = 17;
  f.set(ipv4Bytes(o.srcIp), 26);
  f.set(ipv4Bytes(o.dstIp), 30);
  const ipSum = checksum(f, 14, 34);
  f[24] = ipSum >> 8;
  f[25] = ipSum & 0xff;
  const udpLen = ipLen - 20;
  f[34] = o.srcPort >> 8;
  f[35] = o.srcPort & 0xff;
  f[36] = o.dstPort >> 8;
  f[37] = o.dstPort & 0xff;
  f[38] = udpLen >> 8;
  f[39] = udpLen & 0xff;
  let x = o.seed * 2654435761 + 1;
  for (let i = 42; i < o.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    f[i] = x >>> 24;
  }
  // Pseudo-header sum: addresses, protocol, UDP length.
  let pseudo = 17 + udpLen;
  for (let i = 26; i < 34; i += 2) pseudo += (f[i]! << 8) | f[i + 1]!;
  const udpSum = checksum(f, 34, o.length, pseudo) || 0xffff;
  f[40] = udpSum >> 8;
  f[41] = udpSum & 0xff;
  return f;
}

/** Frames of varied sizes from 60 to 1514 bytes, addressed from peer to dut. */
export function variedUdpFrames(count: number, ends: { dutMac: string; peerMac: string }, dstPort = 9): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const length = 60 + ((i * 7919) % (1514 - 60 + 1));
    frames.push(udpFrame({
      dstMac: ends.dutMac, srcMac: ends.peerMac, srcIp: '192.0.2.2', dstIp: '192.0.2.1',
      srcPort: 40000 + (i % 1000), dstPort, length, seed: i,
    }));
  }
  return frames;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/**
 * In-place edits handlers do all the time, with checksums kept right by
 * incremental update (RFC 1624) rather than recomputation: cost is per changed
 * word, not per payload byte, and it stays correct for the first fragment of a
 * fragmented datagram (whose L4 checksum covers bytes not in this frame).
 *
 * Cursor-based edits take a `PacketParser` that has just parsed the frame; they
 * do nothing (and return false or -1) when the header they need is absent.
 * None of them allocates.
 */
import { readI32BE, readU16BE, swapBytes, writeU16BE, writeU32BE } from './bytes.js';
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  checksumAdjustAt,
  checksumDelta16,
  checksumDelta32,
  checksumDeltaBytes,
  pseudoHeaderDestination,
  transportAdjustChecksum,
} from './checksum.js';
import { EtherType, isVlanTpid, swapMacs } from './ethernet.js';
import { IcmpType, Icmpv6Type } from './icmp.js';
import type { PacketParser } from './parser.js';
import { TcpOption, tcpFindOption } from './tcp.js';

export { swapMacs };

/** Swap source and destination IP addresses. Checksums need no change: the one's complement sum does not depend on order. */
export function swapAddresses(p: PacketParser): boolean {
  if (p.ipVersion === 4) {
    swapBytes(p.bytes, p.l3Offset + 12, p.l3Offset + 16, 4);
    // The cursor's copies (used after the full parser; plain field writes, so no 32-bit value is boxed).
    const s = p.slowSrcIPv4;
    p.slowSrcIPv4 = p.slowDstIPv4;
    p.slowDstIPv4 = s;
  } else if (p.ipVersion === 6) swapBytes(p.bytes, p.l3Offset + 8, p.l3Offset + 24, 16);
  else return false;
  return true;
}

/** Swap TCP/UDP source and destination ports (checksum unchanged, as for addresses). */
export function swapPorts(p: PacketParser): boolean {
  if (p.l4Offset < 0 || (p.l4Protocol !== IPPROTO_UDP && p.l4Protocol !== IPPROTO_TCP)) return false;
  swapBytes(p.bytes, p.l4Offset, p.l4Offset + 2, 2);
  return true;
}

/**
 * Decrement the IPv4 TTL (fixing the header checksum) or the IPv6 hop limit.
 * Returns the new value; -1 if there is no IP header or it was already 0
 * (then nothing changes). A router drops the packet when this returns <= 0.
 */
export function decrementTtl(p: PacketParser): number {
  const b = p.bytes;
  if (p.ipVersion === 4) {
    const o = p.l3Offset + 8;
    const ttl = b[o];
    if (ttl === 0) return -1;
    const old = readU16BE(b, o); // TTL shares a checksum word with the protocol
    b[o] = ttl - 1;
    checksumAdjustAt(b, p.l3Offset + 10, checksumDelta16(old, old - 0x100));
    return ttl - 1;
  }
  if (p.ipVersion === 6) {
    const o = p.l3Offset + 7;
    if (b[o] === 0) return -1;
    return --b[o];
  }
  return -1;
}

/** Can the L4 checksum be adjusted? (It exists only in the first fragment.) */
function hasL4(p: PacketParser): boolean {
  return p.l4Offset >= 0 && p.fragmentOffset === 0;
}

function setIPv4Addr(p: PacketParser, field: number, addr: number): boolean {
  if (p.ipVersion !== 4) return false;
  const b = p.bytes;
  const o = p.l3Offset + field;
  // Both as int32 (checksumDelta32 reads 16-bit halves): an address at or
  // above 2^31 as a uint32 would be boxed into the call when V8 does not
  // inline it, two allocations per rewrite.
  const delta = checksumDelta32(readI32BE(b, o), addr | 0);
  writeU32BE(b, o, addr);
  if (field === 12) p.slowSrcIPv4 = addr >>> 0;
  else p.slowDstIPv4 = addr >>> 0;
  checksumAdjustAt(b, p.l3Offset + 10, delta);
  if (hasL4(p) && (field === 12 || !sourceRouted(p))) transportAdjustChecksum(b, p.l4Offset, p.l4Protocol, delta, true);
  return true;
}

/**
 * Does the L4 pseudo-header hold another destination than the IP header's
 * (a source route with hops to go: see pseudoHeaderDestination)? Only
 * possible with IPv4 options or IPv6 extension headers, so the common case
 * costs a byte compare. Kept out of setIPv4Addr so that stays small enough
 * for V8 to inline (an address at or above 2^31 passed to a call that is
 * not inlined is boxed: an allocation per packet).
 */
function sourceRouted(p: PacketParser): boolean {
  const b = p.bytes;
  const l3 = p.l3Offset;
  if (p.ipVersion === 4) return (b[l3] & 15) > 5 && pseudoHeaderDestination(b, l3, p.l4Offset) !== l3 + 16;
  return p.extensionCount > 0 && pseudoHeaderDestination(b, l3, p.l4Offset) !== l3 + 24;
}

/**
 * Rewrite the IPv4 source (SNAT), fixing the IP and TCP/UDP checksums. `addr`
 * is the address as an unsigned 32-bit number (`parseIPv4`) or the same bits
 * as a signed one (an `Int32Array` element): a number at or above 2^31 passed
 * to a call V8 did not inline is boxed, an allocation per packet, so keep
 * addresses you pass per packet in an `Int32Array`.
 */
export function setSrcIPv4(p: PacketParser, addr: number): boolean {
  return setIPv4Addr(p, 12, addr);
}

/** Rewrite the IPv4 destination (DNAT, load balancing), fixing the IP and TCP/UDP checksums. `addr`: as for `setSrcIPv4`. */
export function setDstIPv4(p: PacketParser, addr: number): boolean {
  return setIPv4Addr(p, 16, addr);
}

function setIPv6Addr(p: PacketParser, field: number, addr: Uint8Array, addrOffset: number): boolean {
  if (p.ipVersion !== 6) return false;
  const b = p.bytes;
  const o = p.l3Offset + field;
  const delta = checksumDeltaBytes(b, o, addr, addrOffset, 16);
  for (let i = 0; i < 16; i++) b[o + i] = addr[addrOffset + i];
  if (hasL4(p) && (field === 8 || !sourceRouted(p))) transportAdjustChecksum(b, p.l4Offset, p.l4Protocol, delta, true);
  return true;
}

/** Rewrite the IPv6 source (16 bytes at `addr[addrOffset]`), fixing the TCP/UDP/ICMPv6 checksum. */
export function setSrcIPv6(p: PacketParser, addr: Uint8Array, addrOffset = 0): boolean {
  return setIPv6Addr(p, 8, addr, addrOffset);
}

/** Rewrite the IPv6 destination (16 bytes at `addr[addrOffset]`), fixing the TCP/UDP/ICMPv6 checksum. */
export function setDstIPv6(p: PacketParser, addr: Uint8Array, addrOffset = 0): boolean {
  return setIPv6Addr(p, 24, addr, addrOffset);
}

function setPort(p: PacketParser, field: number, port: number): boolean {
  if (p.l4Offset < 0 || (p.l4Protocol !== IPPROTO_UDP && p.l4Protocol !== IPPROTO_TCP)) return false;
  const b = p.bytes;
  const o = p.l4Offset + field;
  const delta = checksumDelta16(readU16BE(b, o), port);
  writeU16BE(b, o, port);
  transportAdjustChecksum(b, p.l4Offset, p.l4Protocol, delta, false);
  return true;
}

/** Rewrite the TCP/UDP source port, fixing the checksum. */
export function setSrcPort(p: PacketParser, port: number): boolean {
  return setPort(p, 0, port);
}

/** Rewrite the TCP/UDP destination port, fixing the checksum. */
export function setDstPort(p: PacketParser, port: number): boolean {
  return setPort(p, 2, port);
}

/**
 * Turn an ICMP/ICMPv6 echo request into its reply in place: swap MACs and IP
 * addresses, set the reply type (checksum adjusted), reset the TTL/hop limit
 * to `ttl` (default 64). Returns false (nothing changed) if it is not an echo request.
 */
export function icmpEchoReply(p: PacketParser, ttl = 64): boolean {
  const b = p.bytes;
  const o = p.l4Offset;
  if (o < 0 || p.isFragment) return false;
  let reply: number;
  if (p.ipVersion === 4 && p.l4Protocol === IPPROTO_ICMP && b[o] === IcmpType.EchoRequest) reply = IcmpType.EchoReply;
  else if (p.ipVersion === 6 && p.l4Protocol === IPPROTO_ICMPV6 && b[o] === Icmpv6Type.EchoRequest) reply = Icmpv6Type.EchoReply;
  else return false;
  const old = readU16BE(b, o);
  b[o] = reply;
  checksumAdjustAt(b, o + 2, checksumDelta16(old, readU16BE(b, o)));
  swapMacs(b, p.l2Offset);
  swapAddresses(p);
  if (p.ipVersion === 4) {
    const w = readU16BE(b, p.l3Offset + 8);
    b[p.l3Offset + 8] = ttl;
    checksumAdjustAt(b, p.l3Offset + 10, checksumDelta16(w, readU16BE(b, p.l3Offset + 8)));
  } else {
    b[p.l3Offset + 7] = ttl;
  }
  return true;
}

/**
 * Lower the TCP MSS option to at most `mss` (MSS clamping for tunnels),
 * fixing the checksum. Returns the MSS now in the packet, or -1 if it is not
 * TCP or carries no MSS option.
 */
export function tcpClampMss(p: PacketParser, mss: number): number {
  if (p.l4Offset < 0 || p.l4Protocol !== IPPROTO_TCP) return -1;
  const b = p.bytes;
  const l4 = p.l4Offset;
  const o = tcpFindOption(b, l4, TcpOption.Mss);
  if (o < 0 || b[o + 1] !== 4) return -1;
  const cur = readU16BE(b, o + 2);
  if (cur <= mss) return cur;
  // The checksum sums 16-bit words aligned on the TCP header; the MSS value may straddle two.
  if (((o + 2 - l4) & 1) === 0) {
    writeU16BE(b, o + 2, mss);
    checksumAdjustAt(b, l4 + 16, checksumDelta16(cur, mss));
  } else {
    const a0 = readU16BE(b, o + 1);
    const a1 = readU16BE(b, o + 3);
    writeU16BE(b, o + 2, mss);
    checksumAdjustAt(b, l4 + 16, checksumDelta16(a0, readU16BE(b, o + 1)) + checksumDelta16(a1, readU16BE(b, o + 3)));
  }
  return mss;
}

/**
 * Insert a VLAN tag right after the MACs of the frame at `bytes[offset ..
 * offset + length)`, shifting the rest of the frame 4 bytes towards its end.
 * The frame needs room: `length + 4 <= capacity`, where `capacity` is how many
 * bytes from `offset` belong to this frame — by default up to the end of
 * `bytes`, but inside a UMEM pass the frame's own room (the core `Packet`'s
 * `room`), or the tag would overwrite the next frame. Returns the new length,
 * or -1 (frame unchanged) if there is no room or the frame is shorter than an
 * Ethernet header. `tci` is PCP(3) DEI(1) VID(12) (see `vlanMakeTci`); `tpid`
 * 0x8100 (802.1Q) or 0x88a8 (802.1ad, for an outer service tag).
 */
export function pushVlan(
  bytes: Uint8Array,
  offset: number,
  length: number,
  tci: number,
  tpid: number = EtherType.VLAN,
  capacity: number = bytes.length - offset,
): number {
  if (!(offset >= 0) || length < 14 || length + 4 > capacity || offset + length + 4 > bytes.length) return -1;
  bytes.copyWithin(offset + 16, offset + 12, offset + length);
  writeU16BE(bytes, offset + 12, tpid);
  writeU16BE(bytes, offset + 14, tci);
  return length + 4;
}

/**
 * Remove the outermost VLAN tag of the frame at `bytes[offset .. offset + length)`,
 * shifting the rest 4 bytes towards its start. Read the tag first if you need it
 * (`vlanTci(bytes, offset + 12)`). Returns the new length, or -1 (frame unchanged)
 * if the frame carries no complete VLAN tag.
 */
export function popVlan(bytes: Uint8Array, offset: number, length: number): number {
  if (!(offset >= 0) || length < 18 || offset + length > bytes.length) return -1;
  if (!isVlanTpid(readU16BE(bytes, offset + 12))) return -1;
  bytes.copyWithin(offset + 12, offset + 16, offset + length);
  return length - 4;
}

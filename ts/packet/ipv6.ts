/**
 * IPv6 header (RFC 8200) and its extension headers. `offset` is the first byte
 * of the fixed header (the parser's `l3Offset`); the parser walks the
 * extension headers and reports the upper-layer protocol and offset.
 *
 *   0 ver|tc|flow label 4 payload length 6 next header 7 hop limit 8 src 24 dst 40
 */
import { bytesEqual, readU16BE, readU32BE, writeU16BE } from './bytes.js';
import { ParseStatus } from './errors.js';

export const IPV6_HEADER_LEN = 40;
/** Offset of the source address from the start of the header. */
export const IPV6_SRC = 8;
/** Offset of the destination address from the start of the header. */
export const IPV6_DST = 24;

/** Extension header (and related) protocol numbers. */
export enum Ipv6Ext {
  HopByHop = 0,
  Routing = 43,
  Fragment = 44,
  Esp = 50,
  Auth = 51,
  NoNext = 59,
  DestinationOptions = 60,
  Mobility = 135,
  Hip = 139,
  Shim6 = 140,
}

/**
 * The most extension headers the parser walks before calling the packet
 * Malformed. RFC 8200 allows each at most once (destination options twice);
 * real stacks stop far earlier than a frame's worth of 8-byte headers.
 */
export const IPV6_MAX_EXTENSION_HEADERS = 8;

/** Checks the fixed header at `[offset, end)`: NotThisProtocol if the version is not 6, Truncated if it or the payload does not fit. */
export function ipv6HeaderStatus(b: Uint8Array, offset: number, end: number): ParseStatus {
  if (offset < 0 || offset + IPV6_HEADER_LEN > end || end > b.length) return ParseStatus.Truncated;
  if (b[offset] >>> 4 !== 6) return ParseStatus.NotThisProtocol;
  return offset + IPV6_HEADER_LEN + readU16BE(b, offset + 4) > end ? ParseStatus.Truncated : ParseStatus.Ok;
}

export function ipv6Version(b: Uint8Array, offset: number): number {
  return b[offset] >>> 4;
}

/** Traffic class byte (DSCP << 2 | ECN). */
export function ipv6TrafficClass(b: Uint8Array, offset: number): number {
  return ((b[offset] & 15) << 4) | (b[offset + 1] >>> 4);
}

export function ipv6Dscp(b: Uint8Array, offset: number): number {
  return ipv6TrafficClass(b, offset) >>> 2;
}

export function ipv6Ecn(b: Uint8Array, offset: number): number {
  return (b[offset + 1] >>> 4) & 3;
}

export function ipv6FlowLabel(b: Uint8Array, offset: number): number {
  return readU32BE(b, offset) & 0xfffff;
}

export function ipv6PayloadLength(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 4);
}

/** Next header of the fixed header (the first extension header, or the upper layer). */
export function ipv6NextHeader(b: Uint8Array, offset: number): number {
  return b[offset + 6];
}

export function ipv6HopLimit(b: Uint8Array, offset: number): number {
  return b[offset + 7];
}

/** Offset of the 16-byte source address. */
export function ipv6SrcOffset(offset: number): number {
  return offset + IPV6_SRC;
}

/** Offset of the 16-byte destination address. */
export function ipv6DstOffset(offset: number): number {
  return offset + IPV6_DST;
}

export function ipv6SetTrafficClass(b: Uint8Array, offset: number, tc: number): void {
  b[offset] = 0x60 | ((tc >>> 4) & 15);
  b[offset + 1] = ((tc & 15) << 4) | (b[offset + 1] & 15);
}

export function ipv6SetDscp(b: Uint8Array, offset: number, dscp: number): void {
  ipv6SetTrafficClass(b, offset, ((dscp & 63) << 2) | ipv6Ecn(b, offset));
}

export function ipv6SetEcn(b: Uint8Array, offset: number, ecn: number): void {
  b[offset + 1] = (b[offset + 1] & 0xcf) | ((ecn & 3) << 4);
}

export function ipv6SetFlowLabel(b: Uint8Array, offset: number, label: number): void {
  b[offset + 1] = (b[offset + 1] & 0xf0) | ((label >>> 16) & 15);
  writeU16BE(b, offset + 2, label);
}

export function ipv6SetPayloadLength(b: Uint8Array, offset: number, len: number): void {
  writeU16BE(b, offset + 4, len);
}

export function ipv6SetNextHeader(b: Uint8Array, offset: number, nh: number): void {
  b[offset + 6] = nh;
}

export function ipv6SetHopLimit(b: Uint8Array, offset: number, hl: number): void {
  b[offset + 7] = hl;
}

/** Copy 16 bytes from `addr[addrOffset]` into the source address (no checksum fix; see edit.ts). */
export function ipv6SetSrc(b: Uint8Array, offset: number, addr: Uint8Array, addrOffset = 0): void {
  for (let i = 0; i < 16; i++) b[offset + IPV6_SRC + i] = addr[addrOffset + i];
}

/** Copy 16 bytes from `addr[addrOffset]` into the destination address (no checksum fix; see edit.ts). */
export function ipv6SetDst(b: Uint8Array, offset: number, addr: Uint8Array, addrOffset = 0): void {
  for (let i = 0; i < 16; i++) b[offset + IPV6_DST + i] = addr[addrOffset + i];
}

// Extension headers. `x` is the offset of an extension header.

/** Next header field of any extension header. */
export function ipv6ExtNextHeader(b: Uint8Array, x: number): number {
  return b[x];
}

/**
 * Length in bytes of the extension header of type `type` at `x`: 8 for a
 * fragment header, (len + 2) * 4 for AH, (len + 1) * 8 for the others.
 */
export function ipv6ExtLength(b: Uint8Array, x: number, type: number): number {
  if (type === Ipv6Ext.Fragment) return 8;
  if (type === Ipv6Ext.Auth) return (b[x + 1] + 2) * 4;
  return (b[x + 1] + 1) * 8;
}

/** Is `nh` an extension header whose length the walk knows how to skip? (ESP is not: it ends the walk.) */
export function ipv6IsExtension(nh: number): boolean {
  return (
    nh === Ipv6Ext.HopByHop ||
    nh === Ipv6Ext.Routing ||
    nh === Ipv6Ext.Fragment ||
    nh === Ipv6Ext.DestinationOptions ||
    nh === Ipv6Ext.Auth ||
    nh === Ipv6Ext.Mobility ||
    nh === Ipv6Ext.Hip ||
    nh === Ipv6Ext.Shim6
  );
}

/** Routing header (at `x`): routing type. */
export function ipv6RoutingType(b: Uint8Array, x: number): number {
  return b[x + 2];
}

/** Routing header (at `x`): segments left. */
export function ipv6RoutingSegmentsLeft(b: Uint8Array, x: number): number {
  return b[x + 3];
}

/** Fragment header (at `x`): offset in bytes. */
export function ipv6FragmentOffset(b: Uint8Array, x: number): number {
  return readU16BE(b, x + 2) & 0xfff8;
}

/** Fragment header (at `x`): M flag. */
export function ipv6MoreFragments(b: Uint8Array, x: number): boolean {
  return (b[x + 3] & 1) !== 0;
}

/** Fragment header (at `x`): identification. */
export function ipv6FragmentId(b: Uint8Array, x: number): number {
  return readU32BE(b, x + 4);
}

/** Is the 16-byte address at `b[o]` equal to `addr[addrOffset..+16]`? (Compare with `p.dstAddrOffset`.) */
export function ipv6AddrEquals(b: Uint8Array, o: number, addr: Uint8Array, addrOffset = 0): boolean {
  return bytesEqual(b, o, addr, addrOffset, 16);
}

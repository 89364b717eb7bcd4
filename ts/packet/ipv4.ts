/**
 * IPv4 header (RFC 791). `offset` is the first byte of the IP header (the
 * parser's `l3Offset`). Setters change only their field: the header checksum
 * is not fixed here (see edit.ts for edits that keep checksums right, or
 * `ipv4UpdateChecksum`).
 *
 *   0 ver|ihl 1 dscp|ecn 2 total length 4 id 6 flags|frag off 8 ttl 9 proto
 *   10 checksum 12 src 16 dst 20 options (ihl*4 - 20 bytes)
 */
import { findTlvOption, readU16BE, readU32BE, writeU16BE, writeU32BE } from './bytes.js';
import { ParseStatus } from './errors.js';

export const IPV4_MIN_HEADER_LEN = 20;

/**
 * Checks the header at `[offset, end)`: NotThisProtocol if the version is not 4,
 * Malformed if IHL < 5 or the total length is shorter than the header,
 * Truncated if the header (or the datagram per its total length) does not fit.
 */
export function ipv4HeaderStatus(b: Uint8Array, offset: number, end: number): ParseStatus {
  if (offset < 0 || offset + IPV4_MIN_HEADER_LEN > end || end > b.length) return ParseStatus.Truncated;
  const vihl = b[offset];
  if (vihl >>> 4 !== 4) return ParseStatus.NotThisProtocol;
  const hl = (vihl & 15) * 4;
  if (hl < IPV4_MIN_HEADER_LEN) return ParseStatus.Malformed;
  if (offset + hl > end) return ParseStatus.Truncated;
  const total = readU16BE(b, offset + 2);
  if (total < hl) return ParseStatus.Malformed;
  return offset + total > end ? ParseStatus.Truncated : ParseStatus.Ok;
}

export function ipv4Version(b: Uint8Array, offset: number): number {
  return b[offset] >>> 4;
}

/** Header length in bytes (IHL * 4), options included. */
export function ipv4HeaderLength(b: Uint8Array, offset: number): number {
  return (b[offset] & 15) * 4;
}

/** The whole type-of-service byte (DSCP << 2 | ECN). */
export function ipv4Tos(b: Uint8Array, offset: number): number {
  return b[offset + 1];
}

export function ipv4Dscp(b: Uint8Array, offset: number): number {
  return b[offset + 1] >>> 2;
}

export function ipv4Ecn(b: Uint8Array, offset: number): number {
  return b[offset + 1] & 3;
}

export function ipv4TotalLength(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 2);
}

export function ipv4Id(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 4);
}

/** Don't Fragment flag. */
export function ipv4DontFragment(b: Uint8Array, offset: number): boolean {
  return (b[offset + 6] & 0x40) !== 0;
}

/** More Fragments flag. */
export function ipv4MoreFragments(b: Uint8Array, offset: number): boolean {
  return (b[offset + 6] & 0x20) !== 0;
}

/** Fragment offset in bytes (the field is in 8-byte units). */
export function ipv4FragmentOffset(b: Uint8Array, offset: number): number {
  return (readU16BE(b, offset + 6) & 0x1fff) * 8;
}

/** Part of a fragmented datagram (MF set or a non-zero offset)? */
export function ipv4IsFragment(b: Uint8Array, offset: number): boolean {
  return (readU16BE(b, offset + 6) & 0x3fff) !== 0;
}

export function ipv4Ttl(b: Uint8Array, offset: number): number {
  return b[offset + 8];
}

export function ipv4Protocol(b: Uint8Array, offset: number): number {
  return b[offset + 9];
}

export function ipv4Checksum(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 10);
}

/** Source address as an unsigned 32-bit number (compare with `parseIPv4`). */
export function ipv4Src(b: Uint8Array, offset: number): number {
  return readU32BE(b, offset + 12);
}

export function ipv4Dst(b: Uint8Array, offset: number): number {
  return readU32BE(b, offset + 16);
}

export function ipv4SetTos(b: Uint8Array, offset: number, tos: number): void {
  b[offset + 1] = tos;
}

export function ipv4SetDscp(b: Uint8Array, offset: number, dscp: number): void {
  b[offset + 1] = ((dscp & 63) << 2) | (b[offset + 1] & 3);
}

export function ipv4SetEcn(b: Uint8Array, offset: number, ecn: number): void {
  b[offset + 1] = (b[offset + 1] & 0xfc) | (ecn & 3);
}

export function ipv4SetTotalLength(b: Uint8Array, offset: number, len: number): void {
  writeU16BE(b, offset + 2, len);
}

export function ipv4SetId(b: Uint8Array, offset: number, id: number): void {
  writeU16BE(b, offset + 4, id);
}

export function ipv4SetDontFragment(b: Uint8Array, offset: number, df: boolean): void {
  b[offset + 6] = df ? b[offset + 6] | 0x40 : b[offset + 6] & 0xbf;
}

/** Set MF and the fragment offset (bytes, a multiple of 8). */
export function ipv4SetFragment(b: Uint8Array, offset: number, fragmentOffset: number, more: boolean): void {
  writeU16BE(b, offset + 6, (b[offset + 6] & 0x40) << 8 | (more ? 0x2000 : 0) | ((fragmentOffset >>> 3) & 0x1fff));
}

export function ipv4SetTtl(b: Uint8Array, offset: number, ttl: number): void {
  b[offset + 8] = ttl;
}

export function ipv4SetProtocol(b: Uint8Array, offset: number, protocol: number): void {
  b[offset + 9] = protocol;
}

export function ipv4SetChecksum(b: Uint8Array, offset: number, checksum: number): void {
  writeU16BE(b, offset + 10, checksum);
}

export function ipv4SetSrc(b: Uint8Array, offset: number, addr: number): void {
  writeU32BE(b, offset + 12, addr);
}

export function ipv4SetDst(b: Uint8Array, offset: number, addr: number): void {
  writeU32BE(b, offset + 16, addr);
}

/** IPv4 option types worth naming (RFC 791, 1108, 2113). */
export enum Ipv4Option {
  End = 0,
  Nop = 1,
  RecordRoute = 7,
  Timestamp = 68,
  Security = 130,
  LooseSourceRoute = 131,
  StrictSourceRoute = 137,
  RouterAlert = 148,
}

/**
 * Offset of the first option of `type` in the header at `offset`, or -1 (also
 * -1 if the option list is malformed before it). Reads only inside the header.
 */
export function ipv4FindOption(b: Uint8Array, offset: number, type: number): number {
  return findTlvOption(b, offset + IPV4_MIN_HEADER_LEN, offset + (b[offset] & 15) * 4, type);
}

/**
 * ICMPv4 (RFC 792) and ICMPv6 (RFC 4443) share the first 8 bytes' layout, so
 * one set of accessors serves both. `offset` is the first byte of the ICMP
 * header (the parser's `l4Offset`). Checksum differences (ICMPv6 covers a
 * pseudo-header, ICMPv4 does not) live in checksum.ts.
 *
 *   0 type 1 code 2 checksum 4 rest of header (echo: id 4, sequence 6) 8
 */
import { readU16BE, writeU16BE } from './bytes.js';

export const ICMP_HEADER_LEN = 8;

export enum IcmpType {
  EchoReply = 0,
  DestinationUnreachable = 3,
  Redirect = 5,
  EchoRequest = 8,
  TimeExceeded = 11,
  ParameterProblem = 12,
}

export enum Icmpv6Type {
  DestinationUnreachable = 1,
  PacketTooBig = 2,
  TimeExceeded = 3,
  ParameterProblem = 4,
  EchoRequest = 128,
  EchoReply = 129,
  RouterSolicitation = 133,
  RouterAdvertisement = 134,
  NeighborSolicitation = 135,
  NeighborAdvertisement = 136,
}

export function icmpType(b: Uint8Array, offset: number): number {
  return b[offset];
}

export function icmpCode(b: Uint8Array, offset: number): number {
  return b[offset + 1];
}

export function icmpChecksum(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 2);
}

/** Echo identifier (echo request/reply only). */
export function icmpEchoId(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 4);
}

/** Echo sequence number (echo request/reply only). */
export function icmpEchoSeq(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 6);
}

export function icmpSetType(b: Uint8Array, offset: number, type: number): void {
  b[offset] = type;
}

export function icmpSetCode(b: Uint8Array, offset: number, code: number): void {
  b[offset + 1] = code;
}

export function icmpSetChecksum(b: Uint8Array, offset: number, checksum: number): void {
  writeU16BE(b, offset + 2, checksum);
}

/**
 * UDP header (RFC 768). `offset` is the first byte of the UDP header (the
 * parser's `l4Offset`). Setters do not fix the checksum (see edit.ts).
 *
 *   0 src port 2 dst port 4 length 6 checksum 8
 */
import { readU16BE, writeU16BE } from './bytes.js';
import { ParseStatus } from './errors.js';

export const UDP_HEADER_LEN = 8;

/** Ok if the header fits in `[offset, end)` and its length field is sane; Truncated if the datagram it announces does not fit. */
export function udpHeaderStatus(b: Uint8Array, offset: number, end: number): ParseStatus {
  if (offset < 0 || offset + UDP_HEADER_LEN > end || end > b.length) return ParseStatus.Truncated;
  const len = readU16BE(b, offset + 4);
  if (len < UDP_HEADER_LEN) return ParseStatus.Malformed;
  return offset + len > end ? ParseStatus.Truncated : ParseStatus.Ok;
}

export function udpSrcPort(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset);
}

export function udpDstPort(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 2);
}

/** Header plus payload, in bytes. */
export function udpLength(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 4);
}

export function udpChecksum(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 6);
}

export function udpSetSrcPort(b: Uint8Array, offset: number, port: number): void {
  writeU16BE(b, offset, port);
}

export function udpSetDstPort(b: Uint8Array, offset: number, port: number): void {
  writeU16BE(b, offset + 2, port);
}

export function udpSetLength(b: Uint8Array, offset: number, len: number): void {
  writeU16BE(b, offset + 4, len);
}

export function udpSetChecksum(b: Uint8Array, offset: number, checksum: number): void {
  writeU16BE(b, offset + 6, checksum);
}

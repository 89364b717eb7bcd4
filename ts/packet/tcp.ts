/**
 * TCP header (RFC 9293). `offset` is the first byte of the TCP header (the
 * parser's `l4Offset`). Setters do not fix the checksum (see edit.ts).
 *
 *   0 src port 2 dst port 4 seq 8 ack 12 data offset|flags 14 window
 *   16 checksum 18 urgent pointer 20 options (data offset * 4 - 20 bytes)
 */
import { findTlvOption, readU16BE, readU32BE, writeU16BE, writeU32BE } from './bytes.js';
import { ParseStatus } from './errors.js';

export const TCP_MIN_HEADER_LEN = 20;

/** Flag bits as returned by `tcpFlags` (the low 9 bits of bytes 12-13). */
export enum TcpFlags {
  FIN = 0x001,
  SYN = 0x002,
  RST = 0x004,
  PSH = 0x008,
  ACK = 0x010,
  URG = 0x020,
  ECE = 0x040,
  CWR = 0x080,
  /** ECN nonce (RFC 3540, historic); now the AccECN "AE" bit. */
  NS = 0x100,
}

/** Option kinds worth naming. */
export enum TcpOption {
  End = 0,
  Nop = 1,
  Mss = 2,
  WindowScale = 3,
  SackPermitted = 4,
  Sack = 5,
  Timestamps = 8,
}

/** Ok if the header and its options fit in `[offset, end)`; Malformed if the data offset is below 5. */
export function tcpHeaderStatus(b: Uint8Array, offset: number, end: number): ParseStatus {
  if (offset < 0 || offset + TCP_MIN_HEADER_LEN > end || end > b.length) return ParseStatus.Truncated;
  const hl = (b[offset + 12] >>> 4) * 4;
  if (hl < TCP_MIN_HEADER_LEN) return ParseStatus.Malformed;
  return offset + hl > end ? ParseStatus.Truncated : ParseStatus.Ok;
}

export function tcpSrcPort(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset);
}

export function tcpDstPort(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 2);
}

/** Sequence number, unsigned 32-bit. */
export function tcpSeq(b: Uint8Array, offset: number): number {
  return readU32BE(b, offset + 4);
}

/** Acknowledgement number, unsigned 32-bit. */
export function tcpAck(b: Uint8Array, offset: number): number {
  return readU32BE(b, offset + 8);
}

/** Header length in bytes (data offset * 4), options included. */
export function tcpHeaderLength(b: Uint8Array, offset: number): number {
  return (b[offset + 12] >>> 4) * 4;
}

/** The nine flag bits; test with `TcpFlags`. */
export function tcpFlags(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 12) & 0x1ff;
}

export function tcpWindow(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 14);
}

export function tcpChecksum(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 16);
}

export function tcpUrgentPointer(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 18);
}

export function tcpSetSrcPort(b: Uint8Array, offset: number, port: number): void {
  writeU16BE(b, offset, port);
}

export function tcpSetDstPort(b: Uint8Array, offset: number, port: number): void {
  writeU16BE(b, offset + 2, port);
}

export function tcpSetSeq(b: Uint8Array, offset: number, seq: number): void {
  writeU32BE(b, offset + 4, seq);
}

export function tcpSetAck(b: Uint8Array, offset: number, ack: number): void {
  writeU32BE(b, offset + 8, ack);
}

/** Set the nine flag bits (the data offset is kept). */
export function tcpSetFlags(b: Uint8Array, offset: number, flags: number): void {
  b[offset + 12] = (b[offset + 12] & 0xf0) | ((flags >>> 8) & 1);
  b[offset + 13] = flags;
}

export function tcpSetWindow(b: Uint8Array, offset: number, window: number): void {
  writeU16BE(b, offset + 14, window);
}

export function tcpSetChecksum(b: Uint8Array, offset: number, checksum: number): void {
  writeU16BE(b, offset + 16, checksum);
}

export function tcpSetUrgentPointer(b: Uint8Array, offset: number, urgent: number): void {
  writeU16BE(b, offset + 18, urgent);
}

/**
 * Offset of the first option of `kind` (its kind byte), or -1 if absent or if
 * the option list is malformed before it. Reads only inside the header, so it
 * is safe on any header `tcpHeaderStatus` accepted.
 */
export function tcpFindOption(b: Uint8Array, offset: number, kind: number): number {
  return findTlvOption(b, offset + TCP_MIN_HEADER_LEN, offset + (b[offset + 12] >>> 4) * 4, kind);
}

/** The MSS option's value, or -1 if there is none. */
export function tcpMss(b: Uint8Array, offset: number): number {
  const o = tcpFindOption(b, offset, TcpOption.Mss);
  return o >= 0 && b[o + 1] === 4 ? readU16BE(b, o + 2) : -1;
}

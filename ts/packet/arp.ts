/**
 * ARP for IPv4 over Ethernet (RFC 826), the only ARP seen on AF_XDP ports.
 * `offset` is the first byte of the ARP header (the parser's `l3Offset`).
 *
 *   0 htype 2 ptype 4 hlen 5 plen 6 op 8 sha(6) 14 spa(4) 18 tha(6) 24 tpa(4) 28
 */
import { readU16BE, readU32BE, swapBytes, writeU16BE, writeU32BE } from './bytes.js';
import { ParseStatus } from './errors.js';

export const ARP_LEN = 28;

export enum ArpOp {
  Request = 1,
  Reply = 2,
}

/** Ok for an Ethernet/IPv4 ARP packet that fits in `[offset, end)`; NotThisProtocol for other hardware/protocol types. */
export function arpHeaderStatus(b: Uint8Array, offset: number, end: number): ParseStatus {
  if (offset < 0 || offset + 8 > end || end > b.length) return ParseStatus.Truncated;
  if (readU16BE(b, offset) !== 1 || readU16BE(b, offset + 2) !== 0x0800 || b[offset + 4] !== 6 || b[offset + 5] !== 4) {
    return ParseStatus.NotThisProtocol;
  }
  return offset + ARP_LEN <= end ? ParseStatus.Ok : ParseStatus.Truncated;
}

export function arpHardwareType(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset);
}

export function arpProtocolType(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 2);
}

export function arpOp(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 6);
}

export function arpSetOp(b: Uint8Array, offset: number, op: number): void {
  writeU16BE(b, offset + 6, op);
}

/** Offset of the sender hardware (MAC) address. */
export function arpSenderMacOffset(offset: number): number {
  return offset + 8;
}

/** Sender protocol (IPv4) address, unsigned 32-bit. */
export function arpSenderIPv4(b: Uint8Array, offset: number): number {
  return readU32BE(b, offset + 14);
}

export function arpSetSenderIPv4(b: Uint8Array, offset: number, addr: number): void {
  writeU32BE(b, offset + 14, addr);
}

/** Offset of the target hardware (MAC) address. */
export function arpTargetMacOffset(offset: number): number {
  return offset + 18;
}

/** Target protocol (IPv4) address, unsigned 32-bit. */
export function arpTargetIPv4(b: Uint8Array, offset: number): number {
  return readU32BE(b, offset + 24);
}

export function arpSetTargetIPv4(b: Uint8Array, offset: number, addr: number): void {
  writeU32BE(b, offset + 24, addr);
}

/**
 * Turn an ARP request in place into the reply announcing `mac` (6 bytes at
 * `mac[macOffset]`) for the requested address: swaps sender and target, sets
 * op = reply. The Ethernet header is not touched: set its destination to the
 * new target MAC (`arpTargetMacOffset`) and its source to `mac`.
 */
export function arpMakeReply(b: Uint8Array, offset: number, mac: Uint8Array, macOffset = 0): void {
  swapBytes(b, offset + 8, offset + 18, 10);
  for (let i = 0; i < 6; i++) b[offset + 8 + i] = mac[macOffset + i];
  writeU16BE(b, offset + 6, ArpOp.Reply);
}

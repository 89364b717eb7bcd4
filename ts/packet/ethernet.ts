/**
 * Ethernet II header and 802.1Q / 802.1ad VLAN tags.
 *
 * Accessors take (bytes, offset) where offset is the first byte of the
 * Ethernet header (or of a VLAN tag, for the vlan* functions). They do not
 * check bounds: use `PacketParser` (or `ethHeaderStatus`) first.
 *
 *   0      6      12         14
 *   | dst  | src  | type/TPID | [TCI | type/TPID]... | payload
 */
import { readU16BE, swapBytes, writeU16BE } from './bytes.js';
import { ParseStatus } from './errors.js';

export const ETH_HEADER_LEN = 14;
export const VLAN_TAG_LEN = 4;
/** Shortest Ethernet frame without FCS; shorter frames are padded up to it on the wire. */
export const ETH_MIN_FRAME_LEN = 60;

/** EtherType values the toolkit understands. */
export enum EtherType {
  IPv4 = 0x0800,
  ARP = 0x0806,
  /** 802.1Q customer VLAN tag. */
  VLAN = 0x8100,
  IPv6 = 0x86dd,
  /** 802.1ad service VLAN tag (outer tag of QinQ). */
  QinQ = 0x88a8,
  /** Pre-standard QinQ tag still sent by some switches. */
  QinQLegacy = 0x9100,
}

/** Is this EtherType a VLAN tag protocol identifier (802.1Q, 802.1ad, legacy QinQ)? */
export function isVlanTpid(type: number): boolean {
  return type === EtherType.VLAN || type === EtherType.QinQ || type === EtherType.QinQLegacy;
}

/** Ok if a whole Ethernet header fits in `[offset, end)`. */
export function ethHeaderStatus(b: Uint8Array, offset: number, end: number): ParseStatus {
  return offset >= 0 && offset + ETH_HEADER_LEN <= end && end <= b.length ? ParseStatus.Ok : ParseStatus.Truncated;
}

/** Offset of the destination MAC (6 bytes). */
export function ethDstOffset(offset: number): number {
  return offset;
}

/** Offset of the source MAC (6 bytes). */
export function ethSrcOffset(offset: number): number {
  return offset + 6;
}

/** The EtherType (or TPID, if tagged) right after the MACs. */
export function ethType(b: Uint8Array, offset: number): number {
  return readU16BE(b, offset + 12);
}

export function ethSetType(b: Uint8Array, offset: number, type: number): void {
  writeU16BE(b, offset + 12, type);
}

/**
 * A MAC address at `b[o]` as a 48-bit integer (exact in a double). Useful as a
 * Map key without allocating a string.
 */
export function readMac48(b: Uint8Array, o: number): number {
  return ((b[o] << 8) | b[o + 1]) * 0x100000000 + (((b[o + 2] << 24) | (b[o + 3] << 16) | (b[o + 4] << 8) | b[o + 5]) >>> 0);
}

/** Write a 48-bit integer MAC (as from `readMac48`) at `b[o]`. */
export function writeMac48(b: Uint8Array, o: number, mac: number): void {
  const hi = Math.floor(mac / 0x100000000);
  b[o] = hi >>> 8;
  b[o + 1] = hi;
  b[o + 2] = mac >>> 24;
  b[o + 3] = mac >>> 16;
  b[o + 4] = mac >>> 8;
  b[o + 5] = mac;
}

/** Copy 6 bytes of `mac` (from `macOffset`) to the destination MAC. */
export function ethSetDst(b: Uint8Array, offset: number, mac: Uint8Array, macOffset = 0): void {
  for (let i = 0; i < 6; i++) b[offset + i] = mac[macOffset + i];
}

/** Copy 6 bytes of `mac` (from `macOffset`) to the source MAC. */
export function ethSetSrc(b: Uint8Array, offset: number, mac: Uint8Array, macOffset = 0): void {
  for (let i = 0; i < 6; i++) b[offset + 6 + i] = mac[macOffset + i];
}

/** Swap source and destination MACs in place (the first step of any reflector). */
export function swapMacs(b: Uint8Array, offset: number): void {
  swapBytes(b, offset, offset + 6, 6);
}

/** Group bit set: multicast or broadcast destination. */
export function ethIsMulticast(b: Uint8Array, offset: number): boolean {
  return (b[offset] & 1) !== 0;
}

export function ethIsBroadcast(b: Uint8Array, offset: number): boolean {
  return (b[offset] & b[offset + 1] & b[offset + 2] & b[offset + 3] & b[offset + 4] & b[offset + 5]) === 0xff;
}

// VLAN tags. `t` is the offset of the tag's TPID (so the first tag is at
// ethernet offset + 12); the TCI follows at t + 2 and the next type at t + 4.

export function vlanTpid(b: Uint8Array, t: number): number {
  return readU16BE(b, t);
}

/** Tag control information: PCP(3) DEI(1) VID(12). */
export function vlanTci(b: Uint8Array, t: number): number {
  return readU16BE(b, t + 2);
}

export function vlanId(b: Uint8Array, t: number): number {
  return readU16BE(b, t + 2) & 0x0fff;
}

/** Priority code point (0..7). */
export function vlanPcp(b: Uint8Array, t: number): number {
  return b[t + 2] >>> 5;
}

/** Drop eligible indicator (formerly CFI). */
export function vlanDei(b: Uint8Array, t: number): boolean {
  return (b[t + 2] & 0x10) !== 0;
}

/** The EtherType (or next TPID) that follows this tag. */
export function vlanInnerType(b: Uint8Array, t: number): number {
  return readU16BE(b, t + 4);
}

export function vlanSetId(b: Uint8Array, t: number, id: number): void {
  writeU16BE(b, t + 2, (readU16BE(b, t + 2) & 0xf000) | (id & 0x0fff));
}

export function vlanSetPcp(b: Uint8Array, t: number, pcp: number): void {
  b[t + 2] = (b[t + 2] & 0x1f) | ((pcp & 7) << 5);
}

export function vlanSetDei(b: Uint8Array, t: number, dei: boolean): void {
  b[t + 2] = dei ? b[t + 2] | 0x10 : b[t + 2] & 0xef;
}

/** Build a TCI from its parts. */
export function vlanMakeTci(id: number, pcp = 0, dei = false): number {
  return ((pcp & 7) << 13) | (dei ? 0x1000 : 0) | (id & 0x0fff);
}

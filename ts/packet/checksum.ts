/**
 * The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
 *
 * Sums are kept unfolded in a double (exact up to 2^53), so a sum over a
 * 64 KiB datagram plus a pseudo-header never overflows and folding happens
 * once at the end instead of per word.
 */
import { readU16BE, writeU16BE } from './bytes.js';
import { ipv6ExtLength, ipv6IsExtension } from './ipv6.js';

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMPV6 = 58;

/** Unfolded one's complement sum of the 16-bit big-endian words in `[start, end)`; an odd last byte is padded with zero. */
export function onesSum(b: Uint8Array, start: number, end: number, acc = 0): number {
  let i = start;
  // Four bytes per step: two words, same sum, half the loop overhead.
  const end4 = end - 3;
  for (; i < end4; i += 4) acc += ((b[i] << 8) | b[i + 1]) + ((b[i + 2] << 8) | b[i + 3]);
  for (; i + 1 < end; i += 2) acc += (b[i] << 8) | b[i + 1];
  if (i < end) acc += b[i] << 8;
  return acc;
}

/** Fold an unfolded sum to 16 bits (end-around carry). */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/** The checksum to store for `[start, end)`: the complement of the folded sum. */
export function internetChecksum(b: Uint8Array, start: number, end: number, acc = 0): number {
  return ~foldSum(onesSum(b, start, end, acc)) & 0xffff;
}

/**
 * Unfolded sum of the pseudo-header for an upper-layer checksum, read from the
 * IP header at `l3Offset` (version from its first nibble): source, destination,
 * protocol and `l4Length` (RFC 768/793 for IPv4, RFC 8200 8.1 for IPv6).
 * The destination is the final one (see `pseudoHeaderDestination`) when
 * `l4Offset` is given, else the one in the IP header.
 */
export function pseudoHeaderSum(b: Uint8Array, l3Offset: number, protocol: number, l4Length: number, l4Offset = -1): number {
  if (b[l3Offset] >>> 4 === 4) {
    // No options, no source route: the common case, kept as small as before.
    if (l4Offset < 0 || (b[l3Offset] & 15) === 5) return onesSum(b, l3Offset + 12, l3Offset + 20, protocol + l4Length);
  } else if (l4Offset < 0 || l4Offset === l3Offset + 40) {
    return onesSum(b, l3Offset + 8, l3Offset + 40, protocol + (l4Length >>> 16) + (l4Length & 0xffff));
  }
  return routedPseudoHeaderSum(b, l3Offset, protocol, l4Length, l4Offset);
}

/** pseudoHeaderSum with IPv4 options or IPv6 extension headers, which may hold a source route. */
function routedPseudoHeaderSum(b: Uint8Array, l3Offset: number, protocol: number, l4Length: number, l4Offset: number): number {
  const dst = pseudoHeaderDestination(b, l3Offset, l4Offset);
  if (b[l3Offset] >>> 4 === 4) return onesSum(b, dst, dst + 4, onesSum(b, l3Offset + 12, l3Offset + 16, protocol + l4Length));
  const acc = onesSum(b, l3Offset + 8, l3Offset + 24, protocol + (l4Length >>> 16) + (l4Length & 0xffff));
  return onesSum(b, dst, dst + 16, acc);
}

const IPOPT_END = 0;
const IPOPT_NOP = 1;
const IPOPT_LSRR = 131;
const IPOPT_SSRR = 137;
const IPV6_ROUTING = 43;

/**
 * Offset of the address the pseudo-header's destination is (the final
 * destination, RFC 8200 8.1 and RFC 791): while a source route still has
 * hops to go, the IP header holds the next hop, not the receiver.
 *  - IPv4 loose or strict source route option (131, 137) with addresses
 *    left (pointer within the option): the last address of the option.
 *  - IPv6 routing header with segments left > 0, before the upper layer:
 *    type 4 (segment routing, RFC 8754): the first address of the segment
 *    list (the final segment); types 0 and 2 (RFC 5095, RFC 6275): the last
 *    address. Other routing types are not understood (header destination).
 * Otherwise the IP header's destination. `l4Offset` is where the upper-layer
 * header starts (the walk stops there). The bytes must be a parsed packet's.
 */
export function pseudoHeaderDestination(b: Uint8Array, l3Offset: number, l4Offset: number): number {
  if (b[l3Offset] >>> 4 === 4) {
    const end = l3Offset + (b[l3Offset] & 15) * 4;
    let o = l3Offset + 20;
    while (o < end) {
      const type = b[o];
      if (type === IPOPT_END) break;
      if (type === IPOPT_NOP) {
        o++;
        continue;
      }
      const len = b[o + 1];
      if (len < 2 || o + len > end) break; // malformed options: give up on them
      // Route data: pointer (1-based from the option start) then addresses.
      if ((type === IPOPT_LSRR || type === IPOPT_SSRR) && len >= 7 && b[o + 2] <= len) {
        return o + 3 + Math.floor((len - 3) / 4) * 4 - 4;
      }
      o += len;
    }
    return l3Offset + 16;
  }
  let nh = b[l3Offset + 6];
  let o = l3Offset + 40;
  while (o + 8 <= l4Offset && ipv6IsExtension(nh)) {
    if (nh === IPV6_ROUTING && b[o + 3] > 0) {
      const type = b[o + 2];
      const addresses = b[o + 1] >>> 1; // length in 8-byte units, 2 per address
      if (type === 4 && addresses > 0) return o + 8;
      if ((type === 0 || type === 2) && addresses > 0) return o + 8 + (addresses - 1) * 16;
    }
    const len = ipv6ExtLength(b, o, nh);
    nh = b[o];
    o += len;
  }
  return l3Offset + 24;
}

/** Offset of the checksum field within an upper-layer header, or -1 if the protocol has none the toolkit handles. */
export function checksumFieldOffset(protocol: number): number {
  switch (protocol) {
    case IPPROTO_TCP:
      return 16;
    case IPPROTO_UDP:
      return 6;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      return 2;
    default:
      return -1;
  }
}

/** IPv4 header checksum as it should be stored (the field's current value is ignored). */
export function ipv4HeaderChecksum(b: Uint8Array, l3Offset: number): number {
  const end = l3Offset + (b[l3Offset] & 15) * 4;
  const sum = onesSum(b, l3Offset, end) + (~readU16BE(b, l3Offset + 10) & 0xffff);
  return ~foldSum(sum) & 0xffff;
}

/** Does the IPv4 header at `l3Offset` carry a correct checksum? */
export function ipv4HeaderChecksumValid(b: Uint8Array, l3Offset: number): boolean {
  return foldSum(onesSum(b, l3Offset, l3Offset + (b[l3Offset] & 15) * 4)) === 0xffff;
}

/** Recompute and store the IPv4 header checksum. */
export function ipv4UpdateChecksum(b: Uint8Array, l3Offset: number): void {
  writeU16BE(b, l3Offset + 10, ipv4HeaderChecksum(b, l3Offset));
}

/** Sum over the upper-layer segment `[l4Offset, l4End)` plus the pseudo-header where the protocol has one (not ICMPv4). */
function transportSum(b: Uint8Array, l3Offset: number, l4Offset: number, l4End: number, protocol: number): number {
  const acc = protocol === IPPROTO_ICMP ? 0 : pseudoHeaderSum(b, l3Offset, protocol, l4End - l4Offset, l4Offset);
  return onesSum(b, l4Offset, l4End, acc);
}

/**
 * The TCP/UDP/ICMP/ICMPv6 checksum as it should be stored, for the segment
 * `[l4Offset, l4End)` under the IP header at `l3Offset` (the field's current
 * value is ignored). A UDP result of 0 is returned as 0xffff (RFC 768: 0 means
 * "no checksum"). Returns -1 for other protocols.
 */
export function transportChecksum(b: Uint8Array, l3Offset: number, l4Offset: number, l4End: number, protocol: number): number {
  const field = checksumFieldOffset(protocol);
  if (field < 0) return -1;
  const sum = transportSum(b, l3Offset, l4Offset, l4End, protocol) + (~readU16BE(b, l4Offset + field) & 0xffff);
  const c = ~foldSum(sum) & 0xffff;
  return c === 0 && protocol === IPPROTO_UDP ? 0xffff : c;
}

/**
 * Is the stored upper-layer checksum correct? A zero UDP checksum over IPv4
 * means "not computed" and counts as valid; over IPv6 it is invalid (RFC 8200).
 * False for protocols without a known checksum.
 */
export function transportChecksumValid(b: Uint8Array, l3Offset: number, l4Offset: number, l4End: number, protocol: number): boolean {
  const field = checksumFieldOffset(protocol);
  if (field < 0) return false;
  if (protocol === IPPROTO_UDP && readU16BE(b, l4Offset + 6) === 0) return b[l3Offset] >>> 4 === 4;
  return foldSum(transportSum(b, l3Offset, l4Offset, l4End, protocol)) === 0xffff;
}

/** Recompute and store the upper-layer checksum; no-op for other protocols. */
export function transportUpdateChecksum(b: Uint8Array, l3Offset: number, l4Offset: number, l4End: number, protocol: number): void {
  const c = transportChecksum(b, l3Offset, l4Offset, l4End, protocol);
  if (c >= 0) writeU16BE(b, l4Offset + checksumFieldOffset(protocol), c);
}

// Incremental update (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
// A "delta" is the unfolded sum of ~old + new over the changed 16-bit words,
// so one delta can be applied to several checksums (IPv4 header and TCP both
// cover the addresses).

/** Delta for one 16-bit word changing from `oldWord` to `newWord`. */
export function checksumDelta16(oldWord: number, newWord: number): number {
  return (~oldWord & 0xffff) + (newWord & 0xffff);
}

/** Delta for a 32-bit value (e.g. an IPv4 address) changing; signed or unsigned, only the bits count. */
export function checksumDelta32(oldValue: number, newValue: number): number {
  return (~(oldValue >>> 16) & 0xffff) + (~oldValue & 0xffff) + ((newValue >>> 16) & 0xffff) + (newValue & 0xffff);
}

/** Delta for `len` (even) bytes changing from those at `oldB[oldOff]` to those at `newB[newOff]`. Read before overwriting. */
export function checksumDeltaBytes(oldB: Uint8Array, oldOff: number, newB: Uint8Array, newOff: number, len: number): number {
  let d = 0;
  for (let i = 0; i < len; i += 2) d += (~((oldB[oldOff + i] << 8) | oldB[oldOff + i + 1]) & 0xffff) + ((newB[newOff + i] << 8) | newB[newOff + i + 1]);
  return d;
}

/** Apply a delta to a stored checksum value; returns the new value. */
export function checksumApplyDelta(checksum: number, delta: number): number {
  return ~foldSum((~checksum & 0xffff) + delta) & 0xffff;
}

/** Apply a delta to the checksum stored at `b[o]`. */
export function checksumAdjustAt(b: Uint8Array, o: number, delta: number): void {
  writeU16BE(b, o, checksumApplyDelta(readU16BE(b, o), delta));
}

/**
 * Apply a delta to the upper-layer checksum of `protocol` at `l4Offset`,
 * honouring UDP's "0 = no checksum" (left at 0; a result of 0 is stored as 0xffff).
 * `pseudo` says whether the changed words are in the pseudo-header only (addresses):
 * ICMPv4 has no pseudo-header, so it is then left alone.
 */
export function transportAdjustChecksum(b: Uint8Array, l4Offset: number, protocol: number, delta: number, pseudo: boolean): void {
  if (protocol === IPPROTO_UDP) {
    const old = readU16BE(b, l4Offset + 6);
    if (old === 0) return;
    const c = checksumApplyDelta(old, delta);
    writeU16BE(b, l4Offset + 6, c === 0 ? 0xffff : c);
  } else if (protocol === IPPROTO_TCP) {
    checksumAdjustAt(b, l4Offset + 16, delta);
  } else if (protocol === IPPROTO_ICMPV6 || (protocol === IPPROTO_ICMP && !pseudo)) {
    checksumAdjustAt(b, l4Offset + 2, delta);
  }
}

/**
 * One parse step per packet: finds the L2/L3/L4 offsets and keeps them on a
 * reusable cursor, so a handler allocates nothing per packet.
 *
 *   const p = new PacketParser();          // once
 *   // per packet:
 *   p.parse(bytes, length, offset);
 *   if (p.l4Protocol === IPPROTO_UDP && p.dstPort === 53) ...
 *
 * Rules the parser keeps, whatever the input:
 * - it never throws and never reads outside `[offset, offset + length)`
 *   (clamped to the array), so a frame inside a larger buffer (a UMEM) is
 *   safe and trailing bytes never change the result;
 * - an offset field is >= 0 only when the header there is complete and sane
 *   enough for the accessors in ethernet.ts, ipv4.ts, ... to read it;
 * - `status` says why parsing stopped early (the first problem found).
 *
 * Offsets are indices into `bytes` (not relative to `offset`), so they can be
 * handed straight to the accessors: `ipv4Ttl(p.bytes, p.l3Offset)`.
 *
 * Treat the fields as read-only. The 5-tuple (`srcIPv4`, `dstIPv4`,
 * `srcPort`, `dstPort`, `l4Protocol`) is read at parse time so a handler gets
 * it with plain field loads; the edits in edit.ts keep it current, but after
 * writing those bytes yourself, parse again. Getters (`ttl`, `tcpFlags`,
 * `vlanId`...) read the bytes live.
 *
 * Speed: `parse` is small enough for V8 to inline into the handler's loop. An
 * untagged, unfragmented IPv4 packet with a complete UDP/TCP header takes a
 * fast path; everything else the full parser (same results, a few ns more).
 * The fast path reads through a DataView the cursor makes once per distinct
 * array, so parse the port's one UMEM view (or a buffer you reuse) to stay
 * allocation-free.
 */
import { readU16BE, readU32BE } from './bytes.js';
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  ipv4HeaderChecksumValid,
  ipv4UpdateChecksum,
  transportChecksumValid,
  transportUpdateChecksum,
} from './checksum.js';
import { ParseStatus } from './errors.js';
import { IPV6_MAX_EXTENSION_HEADERS, ipv6IsExtension } from './ipv6.js';

const EMPTY = new Uint8Array(0);

// Plain numbers on the hot path: an enum member is a property load on an
// imported object, which V8 does not always fold to a constant.
const OK = 0; // ParseStatus.Ok
const TRUNCATED = 1; // ParseStatus.Truncated
const MALFORMED = 2; // ParseStatus.Malformed
const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_ARP = 0x0806;
const ETH_VLAN = 0x8100;
const ETH_QINQ = 0x88a8;
const ETH_QINQ_LEGACY = 0x9100;
const IPV6_FRAGMENT = 44;
const IPV6_AUTH = 51;
const IPV6_HOP_BY_HOP = 0;
const IPV6_NO_NEXT = 59;
const PROTO_TCP = 6;
const PROTO_UDP = 17;
const PROTO_ICMP = 1;
const PROTO_ICMPV6 = 58;
const SLOW = 0;
const FAST = 1;

export class PacketParser {
  /** The array last parsed (kept so getters can read live, edited bytes). */
  bytes: Uint8Array = EMPTY;
  /** Ok, Truncated or Malformed: the first problem met (fields before it are set). */
  status: ParseStatus = ParseStatus.Ok;
  /** Start of the frame (the Ethernet header). */
  l2Offset = 0;
  /** End of the frame: `offset + length`, clamped to `bytes.length`. */
  end = 0;
  /** Number of VLAN tags (802.1Q / 802.1ad) seen. */
  vlanCount = 0;
  /** Offset of the outermost VLAN tag (its TPID), or -1. */
  vlanOffset = -1;
  /** EtherType after the VLAN tags (0 if the frame is too short to have one). */
  etherType = 0;
  /**
   * Start of the L3 header: IPv4/IPv6/ARP when that header is complete and
   * sane, or, for other EtherTypes, where their payload starts. -1 otherwise.
   */
  l3Offset = -1;
  /** 4 or 6 when `l3Offset` holds an IP header, else 0. */
  ipVersion = 0;
  /** End of the IP datagram per its length field, clamped to `end`; -1 without IP. */
  l3End = -1;
  /** Upper-layer protocol after any IPv6 extension headers (17 UDP, 6 TCP, 1 ICMP, 58 ICMPv6...), or -1. */
  l4Protocol = -1;
  /**
   * Start of the upper-layer header: for UDP, TCP, ICMP, ICMPv6 only when that
   * header is complete; for other protocols where their bytes start. -1 if
   * absent (no IP, a non-first fragment, a truncated header).
   */
  l4Offset = -1;
  /** End of the upper-layer segment (for UDP, per its length field), clamped to `l3End`; -1 if `l4Offset` is. */
  l4End = -1;
  /** Start of the upper-layer payload (after the UDP/TCP/ICMP header), or -1. */
  payloadOffset = -1;
  /** IPv4 or IPv6 fragment offset in bytes (0 if not a fragment). */
  fragmentOffset = 0;
  /** IPv4 MF flag or IPv6 fragment header M flag. */
  moreFragments = false;
  /** Offset of the IPv6 fragment header, or -1. */
  fragmentHeaderOffset = -1;
  /** Number of IPv6 extension headers walked. */
  extensionCount = 0;
  /**
   * IPv4 source as an unsigned 32-bit number (compare with `parseIPv4`), or -1.
   * A field read at parse time rather than a getter: a 32-bit value returned
   * from a call V8 did not inline is boxed (allocated), a field load never is.
   * The cursor edits (`setSrcIPv4`, `swapAddresses`...) keep it current; after
   * writing the bytes directly, parse again.
   */
  srcIPv4 = -1;
  /** IPv4 destination as an unsigned 32-bit number, or -1 (see `srcIPv4`). */
  dstIPv4 = -1;
  /** A DataView over `bytes`. */
  private view: DataView<ArrayBufferLike> = new DataView(EMPTY.buffer);
  /** FAST when the last parse took the fast path (so its constant fields are already set), else SLOW. */
  private mode = SLOW;
  /** TCP or UDP source port, or -1. Read at parse time like `srcIPv4`; the cursor edits keep it current. */
  srcPort = -1;
  /** TCP or UDP destination port, or -1 (see `srcPort`). */
  dstPort = -1;

  /**
   * Parse the frame at `bytes[offset .. offset + length)`. Returns `status`.
   * `length` may be smaller than the array (a UMEM frame, a snapped record).
   */
  parse(bytes: Uint8Array, length: number = bytes.length, offset = 0): ParseStatus {
    const end = offset + length;
    // Fast path, kept under V8's inlining limit (460 bytes of bytecode) so it
    // compiles into the handler's loop: an untagged, unfragmented IPv4 packet
    // carrying a whole UDP or TCP header, inside the array. Three loads check
    // EtherType + version + IHL, the IP length and flags + fragment offset +
    // protocol. Anything else (or any doubt) takes the full parser, which
    // starts over. Both set every field.
    if ((offset >>> 0) === offset && offset + 42 <= end && end <= bytes.length) {
      let dv = this.view;
      if (this.bytes !== bytes) dv = this.bind(bytes);
      const w = dv.getUint32(offset + 12); // EtherType, version + IHL, DSCP/ECN
      const l3 = offset + 14;
      const l3End = l3 + dv.getUint16(offset + 16);
      const f = dv.getUint32(offset + 20); // flags + fragment offset, TTL, protocol
      const l4 = l3 + ((w >>> 6) & 60);
      const proto = f & 255;
      const udp = proto === PROTO_UDP;
      const min = udp ? 8 : 20;
      if (((w >>> 8) - 0x080045) >>> 0 <= 10 && (f & 0x3fff0000) === 0 && l3End <= end && (udp || proto === PROTO_TCP) && l4 + min <= l3End) {
        const l4End = udp ? l4 + dv.getUint16(l4 + 4) : l3End;
        const payload = udp ? l4 + 8 : l4 + ((dv.getUint8(l4 + 12) >>> 4) << 2);
        if (payload >= l4 + min && payload <= l4End && l4End <= l3End) {
          return this.setFast(dv, offset, end, l3, l3End, proto, l4, l4End, payload);
        }
      }
    }
    return this.parseSlow(bytes, end, offset);
  }

  /**
   * Parse a frame given as `{ buffer, offset, length }` — the shape of the
   * core API's `Packet` (`p.parseFrame(packet)`), or of anything similar.
   */
  parseFrame(frame: { readonly buffer: Uint8Array; readonly offset: number; readonly length: number }): ParseStatus {
    return this.parse(frame.buffer, frame.length, frame.offset);
  }

  /** Every per-packet field for a packet the fast path accepted (a method of its own to keep `parse` under V8's inlining limit). */
  private setFast(dv: DataView<ArrayBufferLike>, offset: number, end: number, l3: number, l3End: number, proto: number, l4: number, l4End: number, payload: number): ParseStatus {
    // All loads before any store: a store to the cursor may alias the
    // DataView's fields for V8, which would then reload them.
    const src = dv.getUint32(l3 + 12);
    const dst = dv.getUint32(l3 + 16);
    const sp = dv.getUint16(l4);
    const dp = dv.getUint16(l4 + 2);
    if (this.mode !== FAST) this.setFastConstants();
    this.l2Offset = offset;
    this.end = end;
    this.l3Offset = l3;
    this.l3End = l3End;
    this.l4Protocol = proto;
    this.l4Offset = l4;
    this.l4End = l4End;
    this.payloadOffset = payload;
    this.srcIPv4 = src;
    this.dstIPv4 = dst;
    this.srcPort = sp;
    this.dstPort = dp;
    return OK;
  }

  /** The fields every fast-path packet shares, stored only when the previous parse took the slow path. */
  private setFastConstants(): void {
    this.mode = FAST;
    this.status = OK;
    this.vlanCount = 0;
    this.vlanOffset = -1;
    this.etherType = ETH_IPV4;
    this.ipVersion = 4;
    this.fragmentOffset = 0;
    this.moreFragments = false;
    this.fragmentHeaderOffset = -1;
    this.extensionCount = 0;
  }

  /**
   * Make `bytes` the array the cursor reads, with a DataView over it, made
   * once per distinct array: the port's UMEM view never changes, so a
   * handler's parses allocate nothing; parsing a new array each time (pcap
   * records) costs one small object per array.
   */
  private bind(bytes: Uint8Array): DataView<ArrayBufferLike> {
    this.bytes = bytes;
    return (this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  /** The full parser: every EtherType, VLAN stack, IPv6 extension chain and malformation. */
  private parseSlow(bytes: Uint8Array, end: number, offset: number): ParseStatus {
    if (end > bytes.length) end = bytes.length;
    this.mode = SLOW;
    if (this.bytes !== bytes) this.bind(bytes);
    // Arguments that make no frame (NaN, negative, fractional, end before
    // start) parse as an empty frame at offset 0: Truncated, nothing read.
    if (!(offset >= 0 && end >= offset) || offset !== Math.floor(offset) || end !== Math.floor(end)) {
      offset = 0;
      end = 0;
    }
    this.l2Offset = offset;
    this.end = end;
    this.status = OK;
    this.vlanCount = 0;
    this.vlanOffset = -1;
    this.etherType = 0;
    this.l3Offset = -1;
    this.ipVersion = 0;
    this.l3End = -1;
    this.l4Protocol = -1;
    this.l4Offset = -1;
    this.l4End = -1;
    this.payloadOffset = -1;
    this.fragmentOffset = 0;
    this.moreFragments = false;
    this.fragmentHeaderOffset = -1;
    this.extensionCount = 0;
    this.srcIPv4 = -1;
    this.dstIPv4 = -1;
    this.srcPort = -1;
    this.dstPort = -1;

    if (offset + 14 > end) return (this.status = TRUNCATED);
    let o = offset + 12;
    let type = (bytes[o] << 8) | bytes[o + 1];
    // Each tag is TPID(2) TCI(2); the type after it is at o + 4. The stack can
    // be as deep as the frame allows: the bound check ends the loop.
    while (type === ETH_VLAN || type === ETH_QINQ || type === ETH_QINQ_LEGACY) {
      if (o + 6 > end) {
        this.etherType = type;
        return (this.status = TRUNCATED);
      }
      if (this.vlanCount === 0) this.vlanOffset = o;
      this.vlanCount++;
      o += 4;
      type = (bytes[o] << 8) | bytes[o + 1];
    }
    this.etherType = type;
    const l3 = o + 2;
    if (type === ETH_IPV4) return this.parseIPv4(bytes, l3, end);
    if (type === ETH_IPV6) return this.parseIPv6(bytes, l3, end);
    if (type === ETH_ARP) {
      if (l3 + 28 > end) return (this.status = TRUNCATED);
      // Only Ethernet/IPv4 ARP gets an offset: the arp* accessors assume its layout.
      if (readU32BE(bytes, l3) === 0x00010800 && bytes[l3 + 4] === 6 && bytes[l3 + 5] === 4) this.l3Offset = l3;
      return OK;
    }
    this.l3Offset = l3;
    return OK;
  }

  private parseIPv4(b: Uint8Array, l3: number, end: number): ParseStatus {
    if (l3 + 20 > end) return (this.status = TRUNCATED);
    const vihl = b[l3];
    const hl = (vihl & 15) << 2;
    if (vihl >>> 4 !== 4 || hl < 20) return (this.status = MALFORMED);
    if (l3 + hl > end) return (this.status = TRUNCATED);
    this.l3Offset = l3;
    this.ipVersion = 4;
    this.srcIPv4 = readU32BE(b, l3 + 12);
    this.dstIPv4 = readU32BE(b, l3 + 16);
    const total = (b[l3 + 2] << 8) | b[l3 + 3];
    if (total < hl) return (this.status = MALFORMED);
    let l3End = l3 + total;
    if (l3End > end) {
      l3End = end;
      this.status = TRUNCATED;
    }
    this.l3End = l3End;
    const proto = b[l3 + 9];
    this.l4Protocol = proto;
    const frag = (b[l3 + 6] << 8) | b[l3 + 7];
    this.moreFragments = (frag & 0x2000) !== 0;
    const fo = (frag & 0x1fff) << 3;
    this.fragmentOffset = fo;
    if (fo !== 0) return this.status; // no upper-layer header in later fragments
    return this.parseL4(b, l3 + hl, l3End, proto);
  }

  private parseIPv6(b: Uint8Array, l3: number, end: number): ParseStatus {
    if (l3 + 40 > end) return (this.status = TRUNCATED);
    if (b[l3] >>> 4 !== 6) return (this.status = MALFORMED);
    this.l3Offset = l3;
    this.ipVersion = 6;
    let nh = b[l3 + 6];
    const plen = (b[l3 + 4] << 8) | b[l3 + 5];
    // Payload length 0 with a hop-by-hop header is a jumbogram (RFC 2675): the frame says how long it is.
    let l3End = plen === 0 && nh === IPV6_HOP_BY_HOP ? end : l3 + 40 + plen;
    if (l3End > end) {
      l3End = end;
      this.status = TRUNCATED;
    }
    this.l3End = l3End;
    let o = l3 + 40;
    while (ipv6IsExtension(nh)) {
      if (this.extensionCount === IPV6_MAX_EXTENSION_HEADERS) {
        this.l4Protocol = nh;
        return (this.status = MALFORMED);
      }
      // Every extension header is at least 8 bytes; its first two are next header and length.
      if (o + 8 > l3End) {
        this.l4Protocol = nh;
        return this.truncated();
      }
      let len: number;
      if (nh === IPV6_FRAGMENT) {
        len = 8;
        this.fragmentHeaderOffset = o;
        this.fragmentOffset = ((b[o + 2] << 8) | b[o + 3]) & 0xfff8;
        this.moreFragments = (b[o + 3] & 1) !== 0;
      } else if (nh === IPV6_AUTH) {
        len = (b[o + 1] + 2) << 2;
      } else {
        len = (b[o + 1] + 1) << 3;
      }
      if (o + len > l3End) {
        this.l4Protocol = nh;
        return this.truncated();
      }
      this.extensionCount++;
      nh = b[o];
      o += len;
    }
    this.l4Protocol = nh;
    if (this.fragmentOffset !== 0) return this.status;
    if (nh === IPV6_NO_NEXT) return this.status;
    return this.parseL4(b, o, l3End, nh);
  }

  private parseL4(b: Uint8Array, o: number, l3End: number, proto: number): ParseStatus {
    if (proto === PROTO_UDP) {
      if (o + 8 > l3End) return this.truncated();
      const ulen = (b[o + 4] << 8) | b[o + 5];
      this.l4Offset = o;
      this.srcPort = readU16BE(b, o);
      this.dstPort = readU16BE(b, o + 2);
      this.payloadOffset = o + 8;
      let l4End = o + ulen;
      if (ulen < 8) {
        this.l4End = l3End;
        return this.malformed();
      }
      if (l4End > l3End) {
        l4End = l3End;
        // A first fragment carries only part of the datagram its length describes.
        if (!this.moreFragments) this.truncated();
      }
      this.l4End = l4End;
      return this.status;
    }
    if (proto === PROTO_TCP) {
      if (o + 20 > l3End) return this.truncated();
      const hl = (b[o + 12] >>> 4) << 2;
      if (hl < 20) return this.malformed();
      if (o + hl > l3End) return this.truncated();
      this.l4Offset = o;
      this.srcPort = readU16BE(b, o);
      this.dstPort = readU16BE(b, o + 2);
      this.payloadOffset = o + hl;
      this.l4End = l3End;
      return this.status;
    }
    if (proto === PROTO_ICMP || proto === PROTO_ICMPV6) {
      if (o + 8 > l3End) return this.truncated();
      this.l4Offset = o;
      this.payloadOffset = o + 8;
      this.l4End = l3End;
      return this.status;
    }
    if (o <= l3End) {
      this.l4Offset = o;
      this.payloadOffset = o;
      this.l4End = l3End;
    }
    return this.status;
  }

  private truncated(): ParseStatus {
    if (this.status === OK) this.status = TRUNCATED;
    return this.status;
  }

  private malformed(): ParseStatus {
    if (this.status === OK) this.status = MALFORMED;
    return this.status;
  }

  // Live getters: they read the bytes now, so they see in-place edits.

  /** Frame length (`end - l2Offset`). */
  get length(): number {
    return this.end - this.l2Offset;
  }

  /** VLAN id of the outermost tag, or -1. */
  get vlanId(): number {
    return this.vlanOffset >= 0 ? readU16BE(this.bytes, this.vlanOffset + 2) & 0x0fff : -1;
  }

  /** VLAN id of the second tag (the customer tag of QinQ), or -1. */
  get innerVlanId(): number {
    return this.vlanCount >= 2 ? readU16BE(this.bytes, this.vlanOffset + 6) & 0x0fff : -1;
  }

  /** Offset of the source address (4 or 16 bytes, see `addrLength`), or -1. */
  get srcAddrOffset(): number {
    return this.ipVersion === 4 ? this.l3Offset + 12 : this.ipVersion === 6 ? this.l3Offset + 8 : -1;
  }

  /** Offset of the destination address (4 or 16 bytes), or -1. */
  get dstAddrOffset(): number {
    return this.ipVersion === 4 ? this.l3Offset + 16 : this.ipVersion === 6 ? this.l3Offset + 24 : -1;
  }

  /** 4, 16, or 0 without IP. */
  get addrLength(): number {
    return this.ipVersion === 4 ? 4 : this.ipVersion === 6 ? 16 : 0;
  }

  /** IPv4 TTL or IPv6 hop limit, or -1. */
  get ttl(): number {
    return this.ipVersion === 4 ? this.bytes[this.l3Offset + 8] : this.ipVersion === 6 ? this.bytes[this.l3Offset + 7] : -1;
  }

  /** TCP flag bits (see `TcpFlags`), or -1 if not TCP. */
  get tcpFlags(): number {
    return this.l4Offset >= 0 && this.l4Protocol === IPPROTO_TCP ? readU16BE(this.bytes, this.l4Offset + 12) & 0x1ff : -1;
  }

  /** ICMP/ICMPv6 type, or -1. */
  get icmpType(): number {
    return this.l4Offset >= 0 && (this.l4Protocol === IPPROTO_ICMP || this.l4Protocol === IPPROTO_ICMPV6)
      ? this.bytes[this.l4Offset]
      : -1;
  }

  /** ICMP/ICMPv6 code, or -1. */
  get icmpCode(): number {
    return this.l4Offset >= 0 && (this.l4Protocol === IPPROTO_ICMP || this.l4Protocol === IPPROTO_ICMPV6)
      ? this.bytes[this.l4Offset + 1]
      : -1;
  }

  /** Part of a fragmented datagram? */
  get isFragment(): boolean {
    return this.moreFragments || this.fragmentOffset !== 0;
  }

  /** Bytes of upper-layer payload (after the UDP/TCP/ICMP header), 0 if none. */
  get payloadLength(): number {
    return this.payloadOffset >= 0 ? this.l4End - this.payloadOffset : 0;
  }

  /** IPv4 header checksum correct? (true for IPv6, which has none; false without IP). */
  ipChecksumValid(): boolean {
    if (this.ipVersion === 4) return ipv4HeaderChecksumValid(this.bytes, this.l3Offset);
    return this.ipVersion === 6;
  }

  /**
   * UDP/TCP/ICMP/ICMPv6 checksum correct? False when it cannot be checked:
   * other protocols, a truncated segment, or a fragment (the checksum covers
   * the whole datagram).
   */
  l4ChecksumValid(): boolean {
    if (this.l4Offset < 0 || this.isFragment || this.status === ParseStatus.Truncated) return false;
    return transportChecksumValid(this.bytes, this.l3Offset, this.l4Offset, this.l4End, this.l4Protocol);
  }

  /**
   * Recompute the IPv4 header checksum and the UDP/TCP/ICMP/ICMPv6 checksum
   * from scratch (after edits the incremental helpers in edit.ts do not cover).
   * The L4 checksum is left alone for fragments and truncated segments.
   */
  updateChecksums(): void {
    if (this.ipVersion === 4) ipv4UpdateChecksum(this.bytes, this.l3Offset);
    if (this.l4Offset >= 0 && !this.isFragment && this.status !== ParseStatus.Truncated) {
      transportUpdateChecksum(this.bytes, this.l3Offset, this.l4Offset, this.l4End, this.l4Protocol);
    }
  }

  /** A plain object of every field and getter, for logs and tests (allocates). */
  toJSON(): Record<string, number | boolean | string> {
    return {
      status: ParseStatus[this.status],
      l2Offset: this.l2Offset,
      end: this.end,
      vlanCount: this.vlanCount,
      vlanOffset: this.vlanOffset,
      vlanId: this.vlanId,
      innerVlanId: this.innerVlanId,
      etherType: this.etherType,
      l3Offset: this.l3Offset,
      ipVersion: this.ipVersion,
      l3End: this.l3End,
      l4Protocol: this.l4Protocol,
      l4Offset: this.l4Offset,
      l4End: this.l4End,
      payloadOffset: this.payloadOffset,
      fragmentOffset: this.fragmentOffset,
      moreFragments: this.moreFragments,
      fragmentHeaderOffset: this.fragmentHeaderOffset,
      extensionCount: this.extensionCount,
      srcIPv4: this.srcIPv4,
      dstIPv4: this.dstIPv4,
      ttl: this.ttl,
      srcPort: this.srcPort,
      dstPort: this.dstPort,
      tcpFlags: this.tcpFlags,
      icmpType: this.icmpType,
      icmpCode: this.icmpCode,
    };
  }
}

/**
 * One parse step per packet: finds the L2/L3/L4 offsets and keeps them on a
 * reusable cursor, so a handler allocates nothing per packet.
 *
 *   const p = new PacketParser(umem);      // once (or new PacketParser())
 *   // per packet:
 *   if (p.parse(umem, length, offset) === ParseStatus.Ok && p.l4Protocol === IPPROTO_UDP && p.dstPort === 53) ...
 *
 * What `parse` checks, whatever the input:
 * - it never throws and never reads outside `[offset, offset + length)`
 *   (clamped to the array), so a frame inside a larger buffer (a UMEM) is
 *   safe and trailing bytes never change a result; nor do the getters, as
 *   long as the array's buffer is not detached (transferred) meanwhile;
 * - it checks the headers: every header it reports (Ethernet, VLAN tags,
 *   IPv4/IPv6 and the extension headers, ARP, UDP/TCP/ICMP) is inside the
 *   frame and sane enough for the accessors in ethernet.ts, ipv4.ts... to
 *   read; an offset is >= 0 only for such a header. It returns `status`, the
 *   first problem met (Truncated: the frame ends inside a header; Malformed:
 *   a header field that cannot be, such as an IHL below 5).
 *
 * What it leaves for later: the length fields (IPv4 total length, IPv6
 * payload length, UDP length). Checking them costs a handler that only
 * wants the 5-tuple about a fifth of its parse, so they are checked when
 * asked: `lengthStatus` says whether they agree with the headers and the
 * frame, and `l3End`, `l4End` and `payloadLength` read them clamped to the
 * frame. Nothing reads outside the frame either way.
 *
 * Offsets are indices into `bytes` (not relative to `offset`), so they can be
 * handed straight to the accessors: `ipv4Ttl(p.bytes, p.l3Offset)`.
 *
 * Treat the cursor as read-only. Offsets, counts and the protocol are what
 * the last parse found; ports, lengths, TTL and flags are read from the bytes
 * when asked, so they see in-place edits. The IPv4 addresses are too after
 * the fast path; after the full parser they are copies that the edits in
 * edit.ts keep current (a 32-bit read there could not be kept allocation-
 * free). After writing addresses by other means, or changing the structure
 * of the headers (a VLAN push, a new IHL), parse again.
 *
 * Speed: `parse` is small enough for V8 to inline into the handler's loop. An
 * untagged, unfragmented IPv4 packet with a complete UDP/TCP header in the
 * parser's home array takes a fast path that stores five numbers (six for
 * TCP); everything else takes the full parser (same results, a few ns more).
 * The home array is the one given to the constructor, or else the first one
 * parsed: give each UMEM (each port) its own parser, and parse other arrays
 * (pcap records) with another one.
 */
import { readI32BE, readU16BE, readU32BE } from './bytes.js';
import {
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
/** How the last parse went: the fast path stores only what it cannot derive, the full parser stores everything. */
const SLOW = 0;
const FAST = 1;

export class PacketParser {
  // The fields, in an order that matters. The fast path stores l2Offset, end,
  // mode, l4Proto and l4Off; V8's load elimination assumes a store to the
  // field at byte offset N of this object may change the field at N of any
  // other object, and a DataView keeps its length and data pointer at the
  // 3rd and 5th field slots. So fields the fast path never writes sit in
  // those two slots, and reading the home view after a parse needs no reload.
  /** Start of the frame (the Ethernet header). */
  l2Offset = 0;
  /** End of the frame: `offset + length`, clamped to the array. */
  end = 0;
  private slowBytes: Uint8Array = EMPTY;
  /** FAST: the last parse took the fast path, and the getters derive what it did not store. */
  private mode = SLOW;
  private slowStatus: ParseStatus = OK;
  private l4Proto = -1;
  private l4Off = -1;
  /** Start of the upper-layer payload; the fast path stores it for TCP only (UDP's is `l4Off + 8`). */
  private payloadOff = -1;

  // Stored by the full parser only (and slowBytes, slowStatus above).
  private slowVlanCount = 0;
  private slowVlanOffset = -1;
  private slowEtherType = 0;
  private slowL3Offset = -1;
  private slowIpVersion = 0;
  private slowFragmentOffset = 0;
  private slowMoreFragments = false;
  private slowFragmentHeaderOffset = -1;
  private slowExtensionCount = 0;
  /** End of the last header walked (IP header, extension headers, upper-layer header). */
  private slowHeadersEnd = 0;
  /** @internal The full parser's copy of the IPv4 addresses (the fast path reads the bytes); edit.ts keeps it current. */
  slowSrcIPv4 = -1;
  /** @internal See `slowSrcIPv4`. */
  slowDstIPv4 = -1;

  /**
   * The array whose frames can take the fast path, and a DataView over it made
   * once. Each is stored exactly once, when the parser gets its home array
   * (in the constructor, or on adoption), and never declared before that:
   * V8 then keeps them as constant fields, and in a loop over a constant
   * parser (a module-level `const p = new PacketParser()`) folds the view's
   * bounds and data pointer into the machine code. Storing a placeholder
   * first would make them ordinary fields, loaded and checked per packet.
   */
  declare private home: Uint8Array | undefined;
  declare private homeView: DataView<ArrayBufferLike>;

  /**
   * `home`: the array this parser will parse most, normally the port's UMEM
   * view (`packet.buffer`). Without it, the first non-empty array parsed
   * becomes the home array.
   */
  constructor(home?: Uint8Array) {
    if (home !== undefined && canBeHome(home)) this.adopt(home);
  }

  /**
   * Parse the frame at `bytes[offset .. offset + length)`. Returns `status`.
   * `length` may be smaller than the array (a UMEM frame, a snapped record).
   */
  parse(bytes: Uint8Array, length: number = bytes.length, offset = 0): ParseStatus {
    const end = offset + length;
    // Fast path, kept under V8's inlining limit (460 bytes of bytecode) so it
    // compiles into the handler's loop: an untagged, unfragmented IPv4 packet
    // carrying a whole UDP or TCP header, inside the home array. Two loads
    // check EtherType + version + IHL, and flags + fragment offset +
    // protocol. Anything else takes the full parser, which starts over.
    if (bytes === this.home && (offset >>> 0) === offset && (end >>> 0) === end && offset + 42 <= end && end <= bytes.length) {
      const dv = this.homeView;
      const w = dv.getUint32(offset + 12); // EtherType, version + IHL, DSCP/ECN
      const f = dv.getUint32(offset + 20); // flags + fragment offset, TTL, protocol
      const l4 = offset + 14 + ((w >>> 6) & 60);
      const proto = f & 255;
      if (((w >>> 8) - 0x080045) >>> 0 <= 10 && (f & 0x3fff0000) === 0) {
        if (proto === PROTO_UDP ? l4 + 8 <= end : proto === PROTO_TCP && this.fastTcp(dv, l4, end)) {
          this.mode = FAST;
          this.l4Proto = proto;
          this.l2Offset = offset;
          this.end = end;
          this.l4Off = l4;
          return OK;
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

  /** The fast path's TCP check: a data offset of at least 5 words, all inside the frame. Stores the payload offset. */
  private fastTcp(dv: DataView<ArrayBufferLike>, l4: number, end: number): boolean {
    if (l4 + 20 > end) return false;
    const hl = (dv.getUint8(l4 + 12) >>> 4) << 2;
    if (hl < 20 || l4 + hl > end) return false;
    this.payloadOff = l4 + hl;
    return true;
  }

  /** The full parser: every EtherType, VLAN stack, IPv6 extension chain and malformation. */
  private parseSlow(bytes: Uint8Array, end: number, offset: number): ParseStatus {
    if (end > bytes.length) end = bytes.length;
    this.mode = SLOW;
    if (this.home === undefined && canBeHome(bytes)) this.adopt(bytes);
    this.slowBytes = bytes;
    // Arguments that make no frame (NaN, negative, fractional, end before
    // start) parse as an empty frame at offset 0: Truncated, nothing read.
    if (!(offset >= 0 && end >= offset) || offset !== Math.floor(offset) || end !== Math.floor(end)) {
      offset = 0;
      end = 0;
    }
    this.l2Offset = offset;
    this.end = end;
    this.slowStatus = OK;
    this.slowVlanCount = 0;
    this.slowVlanOffset = -1;
    this.slowEtherType = 0;
    this.slowL3Offset = -1;
    this.slowIpVersion = 0;
    this.slowSrcIPv4 = -1;
    this.slowDstIPv4 = -1;
    this.l4Proto = -1;
    this.l4Off = -1;
    this.payloadOff = -1;
    this.slowFragmentOffset = 0;
    this.slowMoreFragments = false;
    this.slowFragmentHeaderOffset = -1;
    this.slowExtensionCount = 0;
    this.slowHeadersEnd = offset;

    if (offset + 14 > end) return (this.slowStatus = TRUNCATED);
    let o = offset + 12;
    let type = (bytes[o] << 8) | bytes[o + 1];
    // Each tag is TPID(2) TCI(2); the type after it is at o + 4. The stack can
    // be as deep as the frame allows: the bound check ends the loop.
    while (type === ETH_VLAN || type === ETH_QINQ || type === ETH_QINQ_LEGACY) {
      if (o + 6 > end) {
        this.slowEtherType = type;
        return (this.slowStatus = TRUNCATED);
      }
      if (this.slowVlanCount === 0) this.slowVlanOffset = o;
      this.slowVlanCount++;
      o += 4;
      type = (bytes[o] << 8) | bytes[o + 1];
    }
    this.slowEtherType = type;
    const l3 = o + 2;
    this.slowHeadersEnd = l3;
    if (type === ETH_IPV4) return this.parseIPv4(bytes, l3, end);
    if (type === ETH_IPV6) return this.parseIPv6(bytes, l3, end);
    if (type === ETH_ARP) {
      if (l3 + 28 > end) return (this.slowStatus = TRUNCATED);
      // Only Ethernet/IPv4 ARP gets an offset: the arp* accessors assume its layout.
      if (readU32BE(bytes, l3) === 0x00010800 && bytes[l3 + 4] === 6 && bytes[l3 + 5] === 4) this.slowL3Offset = l3;
      return OK;
    }
    this.slowL3Offset = l3;
    return OK;
  }

  /** Make `bytes` the home array of a parser made without one. */
  private adopt(bytes: Uint8Array): void {
    this.home = bytes;
    this.homeView = viewOf(bytes);
  }

  private parseIPv4(b: Uint8Array, l3: number, end: number): ParseStatus {
    if (l3 + 20 > end) return (this.slowStatus = TRUNCATED);
    const vihl = b[l3];
    const hl = (vihl & 15) << 2;
    if (vihl >>> 4 !== 4 || hl < 20) return (this.slowStatus = MALFORMED);
    if (l3 + hl > end) return (this.slowStatus = TRUNCATED);
    this.slowL3Offset = l3;
    this.slowIpVersion = 4;
    // Read signed, made unsigned here: a uint32 at or above 2^31 returned
    // from a readU32BE that V8 did not inline would be boxed (allocated).
    this.slowSrcIPv4 = readI32BE(b, l3 + 12) >>> 0;
    this.slowDstIPv4 = readI32BE(b, l3 + 16) >>> 0;
    this.slowHeadersEnd = l3 + hl;
    const proto = b[l3 + 9];
    this.l4Proto = proto;
    const frag = (b[l3 + 6] << 8) | b[l3 + 7];
    this.slowMoreFragments = (frag & 0x2000) !== 0;
    const fo = (frag & 0x1fff) << 3;
    this.slowFragmentOffset = fo;
    if (fo !== 0) return OK; // no upper-layer header in later fragments
    return this.parseL4(b, l3 + hl, end, proto);
  }

  private parseIPv6(b: Uint8Array, l3: number, end: number): ParseStatus {
    if (l3 + 40 > end) return (this.slowStatus = TRUNCATED);
    if (b[l3] >>> 4 !== 6) return (this.slowStatus = MALFORMED);
    this.slowL3Offset = l3;
    this.slowIpVersion = 6;
    let nh = b[l3 + 6];
    let o = l3 + 40;
    this.slowHeadersEnd = o;
    while (ipv6IsExtension(nh)) {
      this.l4Proto = nh;
      if (this.slowExtensionCount === IPV6_MAX_EXTENSION_HEADERS) return (this.slowStatus = MALFORMED);
      // Every extension header is at least 8 bytes; its first two are next header and length.
      if (o + 8 > end) return (this.slowStatus = TRUNCATED);
      let len: number;
      if (nh === IPV6_FRAGMENT) {
        len = 8;
        this.slowFragmentHeaderOffset = o;
        this.slowFragmentOffset = ((b[o + 2] << 8) | b[o + 3]) & 0xfff8;
        this.slowMoreFragments = (b[o + 3] & 1) !== 0;
      } else if (nh === IPV6_AUTH) {
        len = (b[o + 1] + 2) << 2;
      } else {
        len = (b[o + 1] + 1) << 3;
      }
      if (o + len > end) return (this.slowStatus = TRUNCATED);
      this.slowExtensionCount++;
      nh = b[o];
      o += len;
      this.slowHeadersEnd = o;
    }
    this.l4Proto = nh;
    if (this.slowFragmentOffset !== 0 || nh === IPV6_NO_NEXT) return OK;
    return this.parseL4(b, o, end, nh);
  }

  private parseL4(b: Uint8Array, o: number, end: number, proto: number): ParseStatus {
    let hl: number;
    if (proto === PROTO_UDP || proto === PROTO_ICMP || proto === PROTO_ICMPV6) {
      hl = 8;
      if (o + hl > end) return (this.slowStatus = TRUNCATED);
    } else if (proto === PROTO_TCP) {
      if (o + 20 > end) return (this.slowStatus = TRUNCATED);
      hl = (b[o + 12] >>> 4) << 2;
      if (hl < 20) return (this.slowStatus = MALFORMED);
      if (o + hl > end) return (this.slowStatus = TRUNCATED);
    } else {
      hl = 0; // a protocol the parser does not look into: its bytes start here
    }
    this.l4Off = o;
    this.payloadOff = o + hl;
    this.slowHeadersEnd = o + hl;
    return OK;
  }

  // Getters. After the fast path (mode FAST) they derive what it did not
  // store, knowing the frame is Ethernet/IPv4/UDP-or-TCP at l2Offset and in
  // the home array; after the full parser they use what it stored. V8 folds
  // `mode` when the parse was inlined just before, so on the fast path they
  // cost no more than a field load. The small ones stay under V8's "always
  // inline" size (27 bytes of bytecode), so a handler with much code still
  // gets them inlined; that matters most for the 32-bit addresses (a 32-bit
  // value returned from a call V8 did not inline is boxed: an allocation).

  /** The array last parsed (the accessors in ethernet.ts, ipv4.ts... take it with an offset). */
  get bytes(): Uint8Array {
    return this.mode ? (this.home as Uint8Array) : this.slowBytes;
  }

  /** Ok, Truncated or Malformed: the first problem met in the headers (fields before it are set). Length fields: `lengthStatus`. */
  get status(): ParseStatus {
    return this.mode ? OK : this.slowStatus;
  }

  /** Number of VLAN tags (802.1Q / 802.1ad) seen. */
  get vlanCount(): number {
    return this.mode ? 0 : this.slowVlanCount;
  }

  /** Offset of the outermost VLAN tag (its TPID), or -1. */
  get vlanOffset(): number {
    return this.mode ? -1 : this.slowVlanOffset;
  }

  /** EtherType after the VLAN tags (0 if the frame is too short to have one). */
  get etherType(): number {
    return this.mode ? ETH_IPV4 : this.slowEtherType;
  }

  /**
   * Start of the L3 header: IPv4/IPv6/ARP when that header is complete and
   * sane, or, for other EtherTypes, where their payload starts. -1 otherwise.
   */
  get l3Offset(): number {
    return this.mode ? this.l2Offset + 14 : this.slowL3Offset;
  }

  /** 4 or 6 when `l3Offset` holds an IP header, else 0. */
  get ipVersion(): number {
    return this.mode ? 4 : this.slowIpVersion;
  }

  /** Upper-layer protocol after any IPv6 extension headers (17 UDP, 6 TCP, 1 ICMP, 58 ICMPv6...), or -1. */
  get l4Protocol(): number {
    return this.l4Proto;
  }

  /**
   * Start of the upper-layer header: for UDP, TCP, ICMP, ICMPv6 only when that
   * header is complete; for other protocols where their bytes start. -1 if
   * absent (no IP, a non-first fragment, a truncated header).
   */
  get l4Offset(): number {
    return this.l4Off;
  }

  /** Start of the upper-layer payload (after the UDP/TCP/ICMP header), or -1. */
  get payloadOffset(): number {
    return this.mode && this.l4Proto === PROTO_UDP ? this.l4Off + 8 : this.payloadOff;
  }

  /** IPv4 or IPv6 fragment offset in bytes (0 if not a fragment). */
  get fragmentOffset(): number {
    return this.mode ? 0 : this.slowFragmentOffset;
  }

  /** IPv4 MF flag or IPv6 fragment header M flag. */
  get moreFragments(): boolean {
    return this.mode ? false : this.slowMoreFragments;
  }

  /** Offset of the IPv6 fragment header, or -1. */
  get fragmentHeaderOffset(): number {
    return this.mode ? -1 : this.slowFragmentHeaderOffset;
  }

  /** Number of IPv6 extension headers walked. */
  get extensionCount(): number {
    return this.mode ? 0 : this.slowExtensionCount;
  }

  /** Part of a fragmented datagram? */
  get isFragment(): boolean {
    return this.mode ? false : this.slowMoreFragments || this.slowFragmentOffset !== 0;
  }

  /** Frame length (`end - l2Offset`). */
  get length(): number {
    return this.end - this.l2Offset;
  }

  // The 5-tuple, from the bytes (so in-place edits show).

  /** IPv4 source as an unsigned 32-bit number (compare with `parseIPv4`), or -1. */
  get srcIPv4(): number {
    return this.mode ? this.fastSrcIPv4() : this.slowSrcIPv4;
  }

  /** IPv4 destination as an unsigned 32-bit number, or -1. */
  get dstIPv4(): number {
    return this.mode ? this.fastDstIPv4() : this.slowDstIPv4;
  }

  private fastSrcIPv4(): number {
    return this.homeView.getUint32(this.l2Offset + 26);
  }

  private fastDstIPv4(): number {
    return this.homeView.getUint32(this.l2Offset + 30);
  }

  /** TCP or UDP source port, or -1. */
  get srcPort(): number {
    return this.mode ? this.homeView.getUint16(this.l4Off) : this.slowPort(0);
  }

  /** TCP or UDP destination port, or -1. */
  get dstPort(): number {
    return this.mode ? this.homeView.getUint16(this.l4Off + 2) : this.slowPort(2);
  }

  private slowPort(field: number): number {
    const l4 = this.l4Off;
    return l4 >= 0 && (this.l4Proto === PROTO_UDP || this.l4Proto === PROTO_TCP) ? readU16BE(this.slowBytes, l4 + field) : -1;
  }

  // More fields read from the bytes when asked.

  /** IPv4 TTL or IPv6 hop limit, or -1. */
  get ttl(): number {
    return this.mode ? this.fastByte(22) : this.slowTtl();
  }

  /** The byte `at` bytes into the frame, after the fast path. */
  private fastByte(at: number): number {
    return this.homeView.getUint8(this.l2Offset + at);
  }

  private slowTtl(): number {
    const v = this.slowIpVersion;
    return v === 4 ? this.slowBytes[this.slowL3Offset + 8] : v === 6 ? this.slowBytes[this.slowL3Offset + 7] : -1;
  }

  /** TCP flag bits (see `TcpFlags`), or -1 if not TCP. */
  get tcpFlags(): number {
    return this.l4Proto === PROTO_TCP && this.l4Off >= 0 ? this.tcpFlagsAt(this.l4Off) : -1;
  }

  private tcpFlagsAt(l4: number): number {
    return readU16BE(this.bytes, l4 + 12) & 0x1ff;
  }

  /** ICMP/ICMPv6 type, or -1. */
  get icmpType(): number {
    return this.mode ? -1 : this.slowIcmp(0);
  }

  /** ICMP/ICMPv6 code, or -1. */
  get icmpCode(): number {
    return this.mode ? -1 : this.slowIcmp(1);
  }

  /** The fast path takes UDP and TCP only, so ICMP is always the full parser's. */
  private slowIcmp(field: number): number {
    const l4 = this.l4Off;
    return l4 >= 0 && (this.l4Proto === PROTO_ICMP || this.l4Proto === PROTO_ICMPV6) ? this.slowBytes[l4 + field] : -1;
  }

  /** VLAN id of the outermost tag, or -1. */
  get vlanId(): number {
    return this.mode ? -1 : this.slowVlanId(1);
  }

  /** VLAN id of the second tag (the customer tag of QinQ), or -1. */
  get innerVlanId(): number {
    return this.mode ? -1 : this.slowVlanId(2);
  }

  /** VLAN id of the `nth` tag (1: outermost), or -1. */
  private slowVlanId(nth: number): number {
    return this.slowVlanCount >= nth ? readU16BE(this.slowBytes, this.slowVlanOffset + nth * 4 - 2) & 0x0fff : -1;
  }

  /** Offset of the source address (4 or 16 bytes, see `addrLength`), or -1. */
  get srcAddrOffset(): number {
    return this.mode ? this.l2Offset + 26 : this.slowAddrOffset(12, 8);
  }

  /** Offset of the destination address (4 or 16 bytes), or -1. */
  get dstAddrOffset(): number {
    return this.mode ? this.l2Offset + 30 : this.slowAddrOffset(16, 24);
  }

  private slowAddrOffset(v4: number, v6: number): number {
    const v = this.slowIpVersion;
    return v === 4 ? this.slowL3Offset + v4 : v === 6 ? this.slowL3Offset + v6 : -1;
  }

  /** 4, 16, or 0 without IP. */
  get addrLength(): number {
    const v = this.ipVersion;
    return v === 4 ? 4 : v === 6 ? 16 : 0;
  }

  // Length fields, checked and read when asked (see the top of this file).

  /**
   * Do the length fields agree with the headers and the frame? Ok; Malformed
   * (an IPv4 total length shorter than its header, a datagram that ends inside
   * a header, a UDP length below 8); Truncated (the datagram or the UDP
   * datagram is longer than what the frame holds: a snapped capture, or a
   * lie). Ok without IP. Checked on each read, from the bytes.
   */
  get lengthStatus(): ParseStatus {
    return this.mode ? this.fastLengthStatus() : this.slowLengthStatus();
  }

  /** `lengthStatus` after the fast path: IPv4 at `l2Offset + 14`, UDP or TCP, not a fragment. */
  private fastLengthStatus(): ParseStatus {
    const dv = this.homeView;
    const l4 = this.l4Off;
    const dEnd = this.l2Offset + 14 + dv.getUint16(this.l2Offset + 16);
    // The headers end at the payload; a datagram shorter than that (or than the IPv4 header) is Malformed.
    if (this.payloadOffset > dEnd) return MALFORMED;
    if (dEnd > this.end) return TRUNCATED;
    if (this.l4Proto !== PROTO_UDP) return OK;
    const ulen = dv.getUint16(l4 + 4);
    return ulen < 8 ? MALFORMED : l4 + ulen > dEnd ? TRUNCATED : OK;
  }

  private slowLengthStatus(): ParseStatus {
    if (this.slowIpVersion === 0) return OK;
    const dEnd = this.slowDatagramEnd();
    // headersEnd is past the IPv4 header at least, so this also catches a total length below the IHL.
    if (this.slowHeadersEnd > dEnd) return MALFORMED;
    if (dEnd > this.end) return TRUNCATED;
    const l4 = this.l4Off;
    if (l4 >= 0 && this.l4Proto === PROTO_UDP) {
      const ulen = readU16BE(this.slowBytes, l4 + 4);
      if (ulen < 8) return MALFORMED;
      // A first fragment carries only part of the datagram its length describes.
      if (l4 + ulen > dEnd && !this.slowMoreFragments) return TRUNCATED;
    }
    return OK;
  }

  /** Where the IP datagram ends per its length field (not clamped); only with IP. */
  private slowDatagramEnd(): number {
    const b = this.slowBytes;
    const l3 = this.slowL3Offset;
    if (this.slowIpVersion === 4) return l3 + readU16BE(b, l3 + 2);
    const plen = readU16BE(b, l3 + 4);
    // Payload length 0 with a hop-by-hop header is a jumbogram (RFC 2675): the frame says how long it is.
    return plen === 0 && b[l3 + 6] === IPV6_HOP_BY_HOP ? this.end : l3 + 40 + plen;
  }

  /**
   * End of the IP datagram per its length field, clamped to the frame (so
   * Ethernet padding is excluded) and never before the end of the headers
   * found; -1 without IP.
   */
  get l3End(): number {
    return this.mode ? this.clampL3End(this.l2Offset + 14 + this.homeView.getUint16(this.l2Offset + 16), this.payloadOffset) : this.slowL3End();
  }

  private slowL3End(): number {
    return this.slowIpVersion === 0 ? -1 : this.clampL3End(this.slowDatagramEnd(), this.slowHeadersEnd);
  }

  /** `datagramEnd` clamped to [`headersEnd`, `end`]. */
  private clampL3End(datagramEnd: number, headersEnd: number): number {
    return datagramEnd < headersEnd ? headersEnd : datagramEnd > this.end ? this.end : datagramEnd;
  }

  /** End of the upper-layer segment (for UDP, per its length field), clamped to `l3End` and never before `payloadOffset`; -1 if `l4Offset` is. */
  get l4End(): number {
    const l4 = this.l4Off;
    if (l4 < 0) return -1;
    const l3End = this.l3End;
    if (this.l4Proto !== PROTO_UDP) return l3End;
    const e = l4 + readU16BE(this.bytes, l4 + 4);
    return e < l4 + 8 ? l4 + 8 : e > l3End ? l3End : e;
  }

  /** Bytes of upper-layer payload (after the UDP/TCP/ICMP header) in the frame, 0 if none. */
  get payloadLength(): number {
    return this.l4Off < 0 ? 0 : this.l4End - this.payloadOffset;
  }

  /** IPv4 header checksum correct? (true for IPv6, which has none; false without IP). */
  ipChecksumValid(): boolean {
    if (this.ipVersion === 4) return ipv4HeaderChecksumValid(this.bytes, this.l3Offset);
    return this.ipVersion === 6;
  }

  /**
   * UDP/TCP/ICMP/ICMPv6 checksum correct? False when it cannot be checked:
   * other protocols, length fields that are not Ok (`lengthStatus`: the
   * segment is cut, or its bytes are not where the lengths say), or a
   * fragment (the checksum covers the whole datagram).
   */
  l4ChecksumValid(): boolean {
    if (this.l4Offset < 0 || this.isFragment || this.lengthStatus !== OK) return false;
    return transportChecksumValid(this.bytes, this.l3Offset, this.l4Offset, this.l4End, this.l4Protocol);
  }

  /**
   * Recompute the IPv4 header checksum and the UDP/TCP/ICMP/ICMPv6 checksum
   * from scratch (after edits the incremental helpers in edit.ts do not cover).
   * The L4 checksum is left alone for fragments and when `lengthStatus` is
   * not Ok (it would be computed over, and written into, bytes that may not
   * be the segment's: Ethernet padding, say).
   */
  updateChecksums(): void {
    if (this.ipVersion === 4) ipv4UpdateChecksum(this.bytes, this.l3Offset);
    if (this.l4Offset >= 0 && !this.isFragment && this.lengthStatus === OK) {
      transportUpdateChecksum(this.bytes, this.l3Offset, this.l4Offset, this.l4End, this.l4Protocol);
    }
  }

  /** A plain object of every field and getter, for logs and tests (allocates). */
  toJSON(): Record<string, number | boolean | string> {
    return {
      status: ParseStatus[this.status],
      lengthStatus: ParseStatus[this.lengthStatus],
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

/**
 * Can the fast path read `bytes` through one DataView made now? Not when it is
 * empty, nor when its buffer can change size (a resizable or growable buffer):
 * the view would keep the old size. Those arrays always take the full parser.
 */
function canBeHome(bytes: Uint8Array): boolean {
  const buffer = bytes.buffer as ArrayBufferLike & { resizable?: boolean; growable?: boolean };
  return bytes.length > 0 && buffer.resizable !== true && buffer.growable !== true;
}

/** A DataView over exactly the bytes of `bytes`. */
function viewOf(bytes: Uint8Array): DataView<ArrayBufferLike> {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

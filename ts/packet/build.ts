/**
 * Frame builders for tests, fixtures and `port.send`: whole Ethernet frames
 * with correct lengths and checksums. They allocate (one array per frame) and
 * validate their options, throwing `PacketError` with code
 * 'ERR_INVALID_BUILD_OPTION'; they are not meant for the per-packet path.
 */
import { parseIP, parseMac } from './addr.js';
import { writeU16BE, writeU32BE } from './bytes.js';
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  checksumFieldOffset,
  ipv4UpdateChecksum,
  transportChecksum,
} from './checksum.js';
import { EtherType } from './ethernet.js';
import { PacketError } from './errors.js';
import { IcmpType, Icmpv6Type } from './icmp.js';
import { Ipv6Ext } from './ipv6.js';
import { TcpFlags } from './tcp.js';

/** A MAC as text ('02:00:00:00:00:01') or 6 bytes. */
export type MacInput = string | Uint8Array;
/** An IP address as text (either family) or bytes (4 or 16). */
export type IpInput = string | Uint8Array;
/** Payload bytes, or text encoded as UTF-8. */
export type PayloadInput = Uint8Array | string;

export interface VlanTagSpec {
  /** VLAN id, 0..4095. */
  id: number;
  /** Priority code point, 0..7 (default 0). */
  pcp?: number;
  /** Drop eligible indicator (default false). */
  dei?: boolean;
  /** Tag protocol id: 0x8100 (default), 0x88a8 or 0x9100. */
  tpid?: number;
}

export interface EthernetSpec {
  /** Default 02:00:00:00:00:01. */
  srcMac?: MacInput;
  /** Default 02:00:00:00:00:02. */
  dstMac?: MacInput;
  /** VLAN tags, outermost first. */
  vlans?: VlanTagSpec[];
  /** Pad the frame with zero bytes up to this length (60 is the Ethernet minimum without FCS). Default: no padding. */
  minLength?: number;
}

export interface EthernetFrameSpec extends EthernetSpec {
  etherType: number;
  payload?: PayloadInput;
}

export interface ArpSpec extends EthernetSpec {
  /** 1 request (default), 2 reply. */
  op?: number;
  /** Default: `srcMac`. */
  senderMac?: MacInput;
  senderIp: IpInput;
  /** Default 00:00:00:00:00:00. */
  targetMac?: MacInput;
  targetIp: IpInput;
}

/** IPv6 extension headers, in order; options/data are padded to the header's 8-byte multiple. */
export type Ipv6ExtensionSpec =
  | { kind: 'hopByHop' | 'destination'; options?: Uint8Array }
  | { kind: 'routing'; routingType?: number; segmentsLeft?: number; data?: Uint8Array }
  | { kind: 'fragment'; offset?: number; more?: boolean; id?: number };

export interface IpSpec extends EthernetSpec {
  /** Source address; both addresses must be of one family, which picks IPv4 or IPv6. */
  src: IpInput;
  dst: IpInput;
  /** TTL / hop limit (default 64). */
  ttl?: number;
  dscp?: number;
  ecn?: number;
  /** IPv4 identification (default 0). */
  id?: number;
  /** IPv4 DF flag (default false). */
  dontFragment?: boolean;
  /** IPv4 MF flag (default false). */
  moreFragments?: boolean;
  /** IPv4 fragment offset in bytes, a multiple of 8 (default 0). */
  fragmentOffset?: number;
  /** Raw IPv4 options, padded with End-of-list to a multiple of 4 (at most 40 bytes). */
  ipv4Options?: Uint8Array;
  /** IPv6 flow label (default 0). */
  flowLabel?: number;
  /** IPv6 extension headers. */
  extensions?: Ipv6ExtensionSpec[];
}

export interface RawIpSpec extends IpSpec {
  protocol: number;
  payload?: PayloadInput;
}

export interface UdpSpec extends IpSpec {
  srcPort: number;
  dstPort: number;
  payload?: PayloadInput;
  /** Compute the checksum (default true). False leaves 0, "none" for IPv4 (and invalid for IPv6). */
  checksum?: boolean;
}

export interface TcpSpec extends IpSpec {
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  /** `TcpFlags` bits (default ACK). */
  flags?: number;
  /** Default 65535. */
  window?: number;
  urgent?: number;
  /** Raw options, padded with End-of-list to a multiple of 4 (at most 40 bytes). */
  tcpOptions?: Uint8Array;
  payload?: PayloadInput;
}

export interface IcmpSpec extends IpSpec {
  /** ICMPv4 or ICMPv6 type, per the address family. */
  type: number;
  code?: number;
  /** The 32-bit "rest of header" word (echo: id << 16 | seq). */
  rest?: number;
  payload?: PayloadInput;
}

export interface IcmpEchoSpec extends IpSpec {
  id?: number;
  seq?: number;
  /** Build an echo reply instead of a request. */
  reply?: boolean;
  payload?: PayloadInput;
}

function invalid(message: string): PacketError {
  return new PacketError('ERR_INVALID_BUILD_OPTION', message);
}

function uint(name: string, v: number | undefined, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < 0 || v > max) throw invalid(`${name} must be an integer in 0..${max}, got ${v}`);
  return v;
}

function mac(v: MacInput | undefined, dflt: string): Uint8Array {
  if (v === undefined) return parseMac(dflt);
  if (typeof v === 'string') return parseMac(v);
  if (v instanceof Uint8Array && v.length === 6) return v;
  throw invalid('a MAC must be text or 6 bytes');
}

function ip(v: IpInput): Uint8Array {
  if (typeof v === 'string') return parseIP(v);
  if (v instanceof Uint8Array && (v.length === 4 || v.length === 16)) return v;
  throw invalid('an IP address must be text or 4/16 bytes');
}

function payloadBytes(p: PayloadInput | undefined): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  if (typeof p === 'string') return new TextEncoder().encode(p);
  return p;
}

function padTo(data: Uint8Array, multiple: number, minExtra: number, max: number, what: string): Uint8Array {
  const len = Math.ceil((data.length + minExtra) / multiple) * multiple - minExtra;
  if (len > max) throw invalid(`${what} too long (${data.length} bytes, at most ${max})`);
  const out = new Uint8Array(len);
  out.set(data);
  return out;
}

function ethHeaderLength(spec: EthernetSpec): number {
  return 14 + 4 * (spec.vlans?.length ?? 0);
}

/** Writes the Ethernet header and tags; returns the L3 offset. */
function writeEthernet(out: Uint8Array, spec: EthernetSpec, etherType: number): number {
  out.set(mac(spec.dstMac, '02:00:00:00:00:02'), 0);
  out.set(mac(spec.srcMac, '02:00:00:00:00:01'), 6);
  let o = 12;
  for (const tag of spec.vlans ?? []) {
    writeU16BE(out, o, uint('vlan tpid', tag.tpid, 0xffff, EtherType.VLAN));
    const tci = (uint('vlan pcp', tag.pcp, 7, 0) << 13) | (tag.dei ? 0x1000 : 0) | uint('vlan id', tag.id, 4095, 0);
    writeU16BE(out, o + 2, tci);
    o += 4;
  }
  writeU16BE(out, o, etherType);
  return o + 2;
}

function allocFrame(spec: EthernetSpec, len: number): Uint8Array {
  const min = uint('minLength', spec.minLength, 0xffff, 0);
  return new Uint8Array(Math.max(len, min));
}

/** An Ethernet frame carrying `payload` with the given EtherType. */
export function buildEthernet(spec: EthernetFrameSpec): Uint8Array {
  const payload = payloadBytes(spec.payload);
  const out = allocFrame(spec, ethHeaderLength(spec) + payload.length);
  out.set(payload, writeEthernet(out, spec, uint('etherType', spec.etherType, 0xffff, 0)));
  return out;
}

/** An Ethernet/IPv4 ARP frame (request by default; broadcast destination unless `dstMac` is given). */
export function buildArp(spec: ArpSpec): Uint8Array {
  const senderIp = ip(spec.senderIp);
  const targetIp = ip(spec.targetIp);
  if (senderIp.length !== 4 || targetIp.length !== 4) throw invalid('ARP addresses must be IPv4');
  const eth = { ...spec, dstMac: spec.dstMac ?? 'ff:ff:ff:ff:ff:ff' };
  const out = allocFrame(spec, ethHeaderLength(spec) + 28);
  const o = writeEthernet(out, eth, EtherType.ARP);
  writeU32BE(out, o, 0x00010800); // hardware Ethernet, protocol IPv4
  out[o + 4] = 6;
  out[o + 5] = 4;
  writeU16BE(out, o + 6, uint('op', spec.op, 0xffff, 1));
  out.set(mac(spec.senderMac ?? spec.srcMac, '02:00:00:00:00:01'), o + 8);
  out.set(senderIp, o + 14);
  out.set(mac(spec.targetMac, '00:00:00:00:00:00'), o + 18);
  out.set(targetIp, o + 24);
  return out;
}

function ipv6Extensions(exts: Ipv6ExtensionSpec[], protocol: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < exts.length; i++) {
    const e = exts[i];
    const next = i + 1 < exts.length ? extType(exts[i + 1]) : protocol;
    let h: Uint8Array;
    if (e.kind === 'fragment') {
      h = new Uint8Array(8);
      const off = uint('fragment offset', e.offset, 0xfff8, 0);
      if (off % 8 !== 0) throw invalid('fragment offset must be a multiple of 8');
      writeU16BE(h, 2, off | (e.more ? 1 : 0));
      writeU32BE(h, 4, uint('fragment id', e.id, 0xffffffff, 0));
    } else if (e.kind === 'routing') {
      const data = padTo(e.data ?? new Uint8Array(4), 8, 4, 2044, 'routing header data');
      h = new Uint8Array(4 + data.length);
      h[2] = uint('routingType', e.routingType, 255, 0);
      h[3] = uint('segmentsLeft', e.segmentsLeft, 255, 0);
      h.set(data, 4);
    } else if (e.kind === 'hopByHop' || e.kind === 'destination') {
      const opts = e.options ?? new Uint8Array(0);
      h = new Uint8Array(Math.ceil((opts.length + 2) / 8) * 8);
      if (h.length > 2048) throw invalid('IPv6 options too long');
      h.set(opts, 2);
      // Fill the gap with one PadN option (or Pad1 for a single byte) so parsers see valid TLVs.
      const gap = h.length - 2 - opts.length;
      if (gap === 1) h[2 + opts.length] = 0;
      else if (gap >= 2) {
        h[2 + opts.length] = 1;
        h[3 + opts.length] = gap - 2;
      }
    } else {
      throw invalid(`unknown IPv6 extension kind ${(e as { kind: unknown }).kind}`);
    }
    h[0] = next;
    if (e.kind !== 'fragment') h[1] = h.length / 8 - 1;
    parts.push(h);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function extType(e: Ipv6ExtensionSpec): number {
  switch (e.kind) {
    case 'hopByHop':
      return Ipv6Ext.HopByHop;
    case 'routing':
      return Ipv6Ext.Routing;
    case 'fragment':
      return Ipv6Ext.Fragment;
    case 'destination':
      return Ipv6Ext.DestinationOptions;
  }
}

/** Offsets of a built IP frame, for builders that add an L4 checksum. */
interface Built {
  frame: Uint8Array;
  l3: number;
  l4: number;
}

/** Ethernet + IPv4/IPv6 (+ extensions) around `l4`, IPv4 checksum set. */
function buildIpFrame(spec: IpSpec, protocol: number, l4: Uint8Array): Built {
  const src = ip(spec.src);
  const dst = ip(spec.dst);
  if (src.length !== dst.length) throw invalid('src and dst must be of the same address family');
  const ttl = uint('ttl', spec.ttl, 255, 64);
  const tos = (uint('dscp', spec.dscp, 63, 0) << 2) | uint('ecn', spec.ecn, 3, 0);
  let ipHeader: Uint8Array;
  if (src.length === 4) {
    const opts = padTo(spec.ipv4Options ?? new Uint8Array(0), 4, 0, 40, 'IPv4 options');
    ipHeader = new Uint8Array(20 + opts.length);
    const total = ipHeader.length + l4.length;
    if (total > 0xffff) throw invalid(`IPv4 datagram too long (${total} bytes)`);
    ipHeader[0] = 0x40 | (ipHeader.length / 4);
    ipHeader[1] = tos;
    writeU16BE(ipHeader, 2, total);
    writeU16BE(ipHeader, 4, uint('id', spec.id, 0xffff, 0));
    const fo = uint('fragmentOffset', spec.fragmentOffset, 0xfff8, 0);
    if (fo % 8 !== 0) throw invalid('fragmentOffset must be a multiple of 8');
    writeU16BE(ipHeader, 6, (spec.dontFragment ? 0x4000 : 0) | (spec.moreFragments ? 0x2000 : 0) | (fo >>> 3));
    ipHeader[8] = ttl;
    ipHeader[9] = protocol;
    ipHeader.set(src, 12);
    ipHeader.set(dst, 16);
    ipHeader.set(opts, 20);
  } else {
    const exts = ipv6Extensions(spec.extensions ?? [], protocol);
    ipHeader = new Uint8Array(40 + exts.length);
    const plen = exts.length + l4.length;
    if (plen > 0xffff) throw invalid(`IPv6 payload too long (${plen} bytes)`);
    const flow = uint('flowLabel', spec.flowLabel, 0xfffff, 0);
    writeU32BE(ipHeader, 0, (6 << 28) | (tos << 20) | flow);
    writeU16BE(ipHeader, 4, plen);
    ipHeader[6] = spec.extensions?.length ? extType(spec.extensions[0]) : protocol;
    ipHeader[7] = ttl;
    ipHeader.set(src, 8);
    ipHeader.set(dst, 24);
    ipHeader.set(exts, 40);
  }
  const frame = allocFrame(spec, ethHeaderLength(spec) + ipHeader.length + l4.length);
  const l3 = writeEthernet(frame, spec, src.length === 4 ? EtherType.IPv4 : EtherType.IPv6);
  frame.set(ipHeader, l3);
  const l4o = l3 + ipHeader.length;
  frame.set(l4, l4o);
  if (src.length === 4) ipv4UpdateChecksum(frame, l3);
  return { frame, l3, l4: l4o };
}

/** Build, then compute the upper-layer checksum over exactly `l4` (padding excluded). */
function withChecksum(spec: IpSpec, protocol: number, l4: Uint8Array): Uint8Array {
  const { frame, l3, l4: o } = buildIpFrame(spec, protocol, l4);
  writeU16BE(frame, o + checksumFieldOffset(protocol), transportChecksum(frame, l3, o, o + l4.length, protocol));
  return frame;
}

/** An IP frame carrying `payload` as protocol `protocol` (no upper-layer checksum is computed). */
export function buildIp(spec: RawIpSpec): Uint8Array {
  return buildIpFrame(spec, uint('protocol', spec.protocol, 255, 0), payloadBytes(spec.payload)).frame;
}

/** An Ethernet/IP/UDP frame (IPv4 or IPv6 per the addresses). */
export function buildUdp(spec: UdpSpec): Uint8Array {
  const payload = payloadBytes(spec.payload);
  const l4 = new Uint8Array(8 + payload.length);
  writeU16BE(l4, 0, uint('srcPort', spec.srcPort, 0xffff, 0));
  writeU16BE(l4, 2, uint('dstPort', spec.dstPort, 0xffff, 0));
  if (l4.length > 0xffff) throw invalid('UDP datagram too long');
  writeU16BE(l4, 4, l4.length);
  l4.set(payload, 8);
  if (spec.checksum === false) return buildIpFrame(spec, IPPROTO_UDP, l4).frame;
  return withChecksum(spec, IPPROTO_UDP, l4);
}

/** An Ethernet/IP/TCP segment (IPv4 or IPv6 per the addresses). */
export function buildTcp(spec: TcpSpec): Uint8Array {
  const payload = payloadBytes(spec.payload);
  const opts = padTo(spec.tcpOptions ?? new Uint8Array(0), 4, 0, 40, 'TCP options');
  const hl = 20 + opts.length;
  const l4 = new Uint8Array(hl + payload.length);
  writeU16BE(l4, 0, uint('srcPort', spec.srcPort, 0xffff, 0));
  writeU16BE(l4, 2, uint('dstPort', spec.dstPort, 0xffff, 0));
  writeU32BE(l4, 4, uint('seq', spec.seq, 0xffffffff, 0));
  writeU32BE(l4, 8, uint('ack', spec.ack, 0xffffffff, 0));
  const flags = uint('flags', spec.flags, 0x1ff, TcpFlags.ACK);
  writeU16BE(l4, 12, ((hl / 4) << 12) | flags);
  writeU16BE(l4, 14, uint('window', spec.window, 0xffff, 0xffff));
  writeU16BE(l4, 18, uint('urgent', spec.urgent, 0xffff, 0));
  l4.set(opts, 20);
  l4.set(payload, hl);
  return withChecksum(spec, IPPROTO_TCP, l4);
}

/** An ICMPv4 or ICMPv6 message (per the addresses) with the given type/code. */
export function buildIcmp(spec: IcmpSpec): Uint8Array {
  const payload = payloadBytes(spec.payload);
  const l4 = new Uint8Array(8 + payload.length);
  l4[0] = uint('type', spec.type, 255, 0);
  l4[1] = uint('code', spec.code, 255, 0);
  writeU32BE(l4, 4, uint('rest', spec.rest, 0xffffffff, 0));
  l4.set(payload, 8);
  const v6 = ip(spec.src).length === 16;
  return withChecksum(spec, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, l4);
}

/** An ICMP/ICMPv6 echo request (or reply), i.e. a ping. */
export function buildIcmpEcho(spec: IcmpEchoSpec): Uint8Array {
  const v6 = ip(spec.src).length === 16;
  const type = v6
    ? spec.reply ? Icmpv6Type.EchoReply : Icmpv6Type.EchoRequest
    : spec.reply ? IcmpType.EchoReply : IcmpType.EchoRequest;
  const rest = uint('id', spec.id, 0xffff, 0) * 0x10000 + uint('seq', spec.seq, 0xffff, 0);
  return buildIcmp({ ...spec, type, code: 0, rest });
}

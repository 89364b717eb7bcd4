/**
 * Address text <-> bytes, and CIDR matching.
 *
 * Parsing and formatting allocate and throw (they run at configuration time);
 * `Cidr.contains*` do not (they run per packet).
 */
import { readU32BE } from './bytes.js';
import { PacketError } from './errors.js';

const HEX = '0123456789abcdef';

function badAddress(kind: string, text: unknown): PacketError {
  return new PacketError('ERR_INVALID_ADDRESS', `not a valid ${kind} address: ${JSON.stringify(text)}`);
}

/** 'aa:bb:cc:dd:ee:ff' or 'aa-bb-cc-dd-ee-ff' (any case) -> 6 bytes. */
export function parseMac(text: string): Uint8Array {
  if (typeof text !== 'string') throw badAddress('MAC', text);
  const m = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(text);
  if (m === null) throw badAddress('MAC', text);
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(m[i < 1 ? 1 : i + 2], 16);
  return out;
}

function hex2(v: number): string {
  return HEX[v >>> 4] + HEX[v & 15];
}

/** 6 bytes at `b[offset]` -> 'aa:bb:cc:dd:ee:ff' (lower case, as tcpdump and tshark print it). */
export function formatMac(b: Uint8Array, offset = 0): string {
  let s = hex2(b[offset]);
  for (let i = 1; i < 6; i++) s += ':' + hex2(b[offset + i]);
  return s;
}

/**
 * Dotted quad -> unsigned 32-bit number (the value `readU32BE` and the parser's
 * `srcIPv4`/`dstIPv4` return, so comparisons need no conversion).
 * Strict: four decimal parts 0..255, no leading zeros (they mean octal to some tools).
 */
export function parseIPv4(text: string): number {
  if (typeof text !== 'string') throw badAddress('IPv4', text);
  const parts = text.split('.');
  if (parts.length !== 4) throw badAddress('IPv4', text);
  let v = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) throw badAddress('IPv4', text);
    const n = Number(p);
    if (n > 255) throw badAddress('IPv4', text);
    v = v * 256 + n;
  }
  return v;
}

/** Dotted quad -> 4 bytes. */
export function parseIPv4Bytes(text: string): Uint8Array {
  const v = parseIPv4(text);
  return Uint8Array.of(v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255);
}

/** Unsigned 32-bit number, or 4 bytes at `b[offset]`, -> dotted quad. */
export function formatIPv4(value: number | Uint8Array, offset = 0): string {
  const v = typeof value === 'number' ? value >>> 0 : readU32BE(value, offset);
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** IPv6 text (RFC 4291 forms: '::', embedded dotted quad) -> 16 bytes. Zone ids ('%eth0') are rejected. */
export function parseIPv6(text: string): Uint8Array {
  if (typeof text !== 'string' || text.length < 2 || text.length > 45) throw badAddress('IPv6', text);
  const out = new Uint8Array(16);
  const halves = text.split('::');
  if (halves.length > 2) throw badAddress('IPv6', text);
  const groups = (s: string): number[] => {
    if (s === '') return [];
    const parts = s.split(':');
    const words: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i === parts.length - 1 && p.includes('.')) {
        const v = parseIPv4(p); // throws ERR_INVALID_ADDRESS with the quad's text; rethrow with the whole text
        words.push(v >>> 16, v & 0xffff);
      } else if (/^[0-9a-f]{1,4}$/i.test(p)) {
        words.push(parseInt(p, 16));
      } else {
        throw badAddress('IPv6', text);
      }
    }
    return words;
  };
  let head: number[];
  let tail: number[];
  try {
    head = groups(halves[0]);
    tail = halves.length === 2 ? groups(halves[1]) : [];
  } catch {
    throw badAddress('IPv6', text);
  }
  // With '::' at least one group must be elided; without it there must be exactly 8.
  if (halves.length === 2 ? head.length + tail.length > 7 : head.length !== 8) throw badAddress('IPv6', text);
  // A dotted quad may only end the address.
  if (halves.length === 2 && head.length > 0 && halves[0].includes('.')) throw badAddress('IPv6', text);
  head.forEach((w, i) => {
    out[i * 2] = w >>> 8;
    out[i * 2 + 1] = w & 255;
  });
  tail.forEach((w, i) => {
    const j = 8 - tail.length + i;
    out[j * 2] = w >>> 8;
    out[j * 2 + 1] = w & 255;
  });
  return out;
}

/**
 * 16 bytes at `b[offset]` -> canonical text (RFC 5952: lower case, no leading
 * zeros, the longest run of two or more zero groups as '::', the first if tied;
 * IPv4-mapped addresses as '::ffff:a.b.c.d').
 */
export function formatIPv6(b: Uint8Array, offset = 0): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((b[offset + i * 2] << 8) | b[offset + i * 2 + 1]);
  if (w[0] === 0 && w[1] === 0 && w[2] === 0 && w[3] === 0 && w[4] === 0 && w[5] === 0xffff) {
    return '::ffff:' + formatIPv4(b, offset + 12);
  }
  let bestStart = -1;
  let bestLen = 1; // a single zero group is not compressed (RFC 5952 4.2.2)
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return hex(w);
  return hex(w.slice(0, bestStart)) + '::' + hex(w.slice(bestStart + bestLen));
}

/** IPv4 or IPv6 text -> bytes (4 or 16); the family is the length. */
export function parseIP(text: string): Uint8Array {
  if (typeof text === 'string' && text.includes(':')) return parseIPv6(text);
  return parseIPv4Bytes(text);
}

/** 4 or 16 bytes -> text. */
export function formatIP(b: Uint8Array, offset = 0, length = b.length - offset): string {
  if (length === 4) return formatIPv4(b, offset);
  if (length === 16) return formatIPv6(b, offset);
  throw badAddress('IP', `<${length} bytes>`);
}

/**
 * An address prefix ('10.0.0.0/8', '2001:db8::/32', or a bare address meaning
 * /32 or /128). Built once; `contains*` are allocation-free and meant for the
 * hot path (give them the packet bytes and the parser's address offsets).
 */
export class Cidr {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** Prefix length in bits. */
  readonly prefixLength: number;
  /** Network address, host bits cleared (4 or 16 bytes). */
  readonly network: Uint8Array;
  /** For IPv4, the network and mask as unsigned 32-bit numbers. */
  private readonly v4net: number;
  private readonly v4mask: number;
  /** Per-byte mask, same length as `network`. */
  private readonly mask: Uint8Array;

  constructor(text: string) {
    if (typeof text !== 'string') throw new PacketError('ERR_INVALID_CIDR', `not a CIDR prefix: ${String(text)}`);
    const slash = text.indexOf('/');
    const addrText = slash < 0 ? text : text.slice(0, slash);
    let addr: Uint8Array;
    try {
      addr = parseIP(addrText);
    } catch (e) {
      throw new PacketError('ERR_INVALID_CIDR', `not a CIDR prefix: ${JSON.stringify(text)}`, { cause: e });
    }
    const bits = addr.length * 8;
    let len = bits;
    if (slash >= 0) {
      const l = text.slice(slash + 1);
      if (!/^(0|[1-9][0-9]{0,2})$/.test(l) || Number(l) > bits) {
        throw new PacketError('ERR_INVALID_CIDR', `bad prefix length in ${JSON.stringify(text)}`);
      }
      len = Number(l);
    }
    this.family = addr.length === 4 ? 4 : 6;
    this.prefixLength = len;
    this.mask = new Uint8Array(addr.length);
    for (let i = 0; i < addr.length; i++) {
      const n = Math.max(0, Math.min(8, len - i * 8));
      this.mask[i] = (0xff << (8 - n)) & 0xff;
    }
    this.network = addr.map((v, i) => v & this.mask[i]);
    this.v4mask = this.family === 4 ? readU32BE(this.mask, 0) : 0;
    this.v4net = this.family === 4 ? readU32BE(this.network, 0) : 0;
  }

  /** Does the unsigned 32-bit IPv4 address fall in this prefix? False for an IPv6 prefix. */
  containsIPv4(addr: number): boolean {
    return this.family === 4 && ((addr & this.v4mask) >>> 0) === this.v4net;
  }

  /**
   * Does the address at `b[offset]` (4 bytes for an IPv4 prefix, 16 for IPv6)
   * fall in this prefix? The caller picks the family: use it with the parser's
   * `srcAddrOffset`/`dstAddrOffset` after checking `ipVersion === cidr.family`.
   */
  containsBytes(b: Uint8Array, offset: number): boolean {
    const m = this.mask;
    const n = this.network;
    for (let i = 0; i < m.length; i++) {
      if ((b[offset + i] & m[i]) !== n[i]) return false;
    }
    return true;
  }

  /** Does the address given as text (either family) fall in this prefix? Allocates; not for the hot path. */
  contains(text: string): boolean {
    const a = parseIP(text);
    return a.length === this.network.length && this.containsBytes(a, 0);
  }

  toString(): string {
    return `${formatIP(this.network)}/${this.prefixLength}`;
  }
}

/** Same as `new Cidr(text)`. */
export function parseCidr(text: string): Cidr {
  return new Cidr(text);
}

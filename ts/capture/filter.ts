/**
 * Capture filters in the steering expression language ('udp port 53',
 * 'net 198.51.100.0/24 and not icmp'), evaluated in TypeScript on a copied
 * frame by the capture writer (off the data path). Same meaning as the
 * steering program's rules: a port test is never true for a non-first
 * fragment; an address test looks at IPv4 or IPv6 addresses.
 */
import { Cidr } from '../packet/addr.js';
import { ParseStatus } from '../packet/errors.js';
import { PacketParser } from '../packet/parser.js';
import { parseSteer } from '../steer/parse.js';
import type { Match } from '../steer/rules.js';

export type FramePredicate = (frame: Uint8Array) => boolean;

/** Compile an expression; throws SteerSyntaxError (code ERR_INVALID_OPTION) on a bad one. */
export function compileCaptureFilter(expression: string): FramePredicate {
  const match = parseSteer(expression);
  const parser = new PacketParser();
  const test = compile(match, parser);
  return (frame) => {
    parser.parse(frame);
    return test();
  };
}

function compile(m: Match, p: PacketParser): () => boolean {
  switch (m.kind) {
    case 'true':
      return () => true;
    case 'ethertype':
      return () => p.etherType === m.value;
    case 'vlan':
      return m.id === undefined ? () => p.vlanCount > 0 : () => p.vlanId === m.id;
    case 'ip':
      return () => p.status !== ParseStatus.Malformed && p.ipVersion === m.version;
    case 'proto':
      return () => p.ipVersion !== 0 && p.l4Protocol === m.value;
    case 'net': {
      const cidrs = m.prefixes.map((t) => new Cidr(t));
      const inAny = (off: number) => off >= 0 && cidrs.some((c) => (c.network.length === (p.ipVersion === 4 ? 4 : 16)) && c.containsBytes(p.bytes, off));
      if (m.dir === 'src') return () => p.ipVersion !== 0 && inAny(p.srcAddrOffset);
      if (m.dir === 'dst') return () => p.ipVersion !== 0 && inAny(p.dstAddrOffset);
      return () => p.ipVersion !== 0 && (inAny(p.srcAddrOffset) || inAny(p.dstAddrOffset));
    }
    case 'port': {
      const inRange = (v: number) => v >= m.from && v <= m.to;
      const ok = () => !(p.isFragment && p.fragmentOffset !== 0) && p.srcPort >= 0;
      if (m.dir === 'src') return () => ok() && inRange(p.srcPort);
      if (m.dir === 'dst') return () => ok() && inRange(p.dstPort);
      return () => ok() && (inRange(p.srcPort) || inRange(p.dstPort));
    }
    case 'not': {
      const inner = compile(m.of, p);
      return () => !inner();
    }
    case 'and': {
      const parts = m.of.map((x) => compile(x, p));
      return () => parts.every((f) => f());
    }
    case 'or': {
      const parts = m.of.map((x) => compile(x, p));
      return () => parts.some((f) => f());
    }
  }
}

/**
 * The `--steer` expression language: a small tcpdump-like filter syntax,
 * compiled to the `Match` data the XDP program evaluates.
 *
 *   expr      := or
 *   or        := and (('or' | '||') and)*
 *   and       := unary (('and' | '&&') unary)*
 *   unary     := ('not' | '!') unary | '(' expr ')' | primitive
 *   primitive := [qualifiers] id        e.g. udp dst port 53, src net 198.51.100.0/24
 *
 * Primitives: `host A`, `net P`, `port N`, `portrange N-M` (each with an
 * optional direction `src`, `dst`, `src or dst`, `src and dst`, and for
 * host/net/port an optional leading `ip`/`ip6` or `tcp`/`udp`/`sctp`);
 * `src A` / `dst A` (a host); `proto N|name` (also `ip proto`,
 * `ip6 proto`); `ether proto N|name`; `vlan [id]`; `ip`, `ip6`, `arp`,
 * `tcp`, `udp`, `sctp`, `icmp`, `icmp6`. As in tcpdump, a bare id after
 * `and`/`or` reuses the previous primitive's qualifiers: `port 53 or 853`.
 * Words mean what libpcap means: `host`/`net` also match the addresses of
 * ARP and RARP frames (`ip host A` does not), `port` is a TCP, UDP or SCTP
 * port. docs/cli.md lists where `--steer` still differs from tcpdump.
 *
 * Errors are SteerSyntaxError with the offending token's position and a
 * caret under it.
 */
import { AfxdpError } from '../errors.js';
import type { Direction, Match, RuleSet, SteerAction } from './rules.js';

export class SteerSyntaxError extends AfxdpError {
  /** Offset of the bad token in the expression (its length when at the end). */
  readonly position: number;
  /** Length of the bad token (0 at the end of input). */
  readonly length: number;
  readonly expression: string;

  constructor(expression: string, position: number, length: number, what: string) {
    const caret = ' '.repeat(position) + '^'.repeat(Math.max(1, length));
    super('ERR_INVALID_OPTION', `bad steer expression: ${what} at offset ${position}\n  ${expression}\n  ${caret}`);
    this.name = 'SteerSyntaxError';
    this.position = position;
    this.length = length;
    this.expression = expression;
  }
}

interface Token {
  text: string;
  pos: number;
}

const PROTOCOLS: Record<string, number> = {
  icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmp6: 58, icmpv6: 58, sctp: 132, udplite: 136,
};
const ETHERTYPES: Record<string, number> = { ip: 0x0800, arp: 0x0806, rarp: 0x8035, ip6: 0x86dd, vlan: 0x8100 };
/** Primitives that are a protocol on their own. */
const PROTO_WORDS: Record<string, Match> = {
  ip: { kind: 'ip', version: 4 },
  ip6: { kind: 'ip', version: 6 },
  arp: { kind: 'ethertype', value: 0x0806 },
  rarp: { kind: 'ethertype', value: 0x8035 },
  tcp: { kind: 'proto', value: 6 },
  udp: { kind: 'proto', value: 17 },
  sctp: { kind: 'proto', value: 132 },
  // As in libpcap: ICMP is IPv4's protocol 1, ICMPv6 IPv6's 58 (a bare
  // protocol number would also take IPv6 with next header 1, and so on).
  icmp: { kind: 'and', of: [{ kind: 'ip', version: 4 }, { kind: 'proto', value: 1 }] },
  icmp6: { kind: 'and', of: [{ kind: 'ip', version: 6 }, { kind: 'proto', value: 58 }] },
};
const KEYWORDS = new Set([
  'and', 'or', 'not', 'host', 'net', 'port', 'portrange', 'src', 'dst', 'proto', 'ether', 'vlan', 'mask',
  ...Object.keys(PROTO_WORDS),
]);

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === '!') {
      tokens.push({ text: c, pos: i++ });
    } else if ((c === '&' || c === '|') && expr[i + 1] === c) {
      tokens.push({ text: c + c, pos: i });
      i += 2;
    } else {
      const start = i;
      while (i < expr.length && !/[\s()!]/.test(expr[i]!) && !/^(&&|\|\|)/.test(expr.slice(i))) i++;
      tokens.push({ text: expr.slice(start, i), pos: start });
    }
  }
  return tokens;
}

/** What a primitive said before its id, reused for tcpdump's `port 53 or 853`. */
interface Qualifiers {
  proto?: Match;
  dir?: Direction | 'both';
  type: 'host' | 'net' | 'port' | 'portrange';
}

class Parser {
  private i = 0;
  private last: Qualifiers | undefined;
  private readonly tokens: Token[];

  constructor(private readonly expr: string) {
    this.tokens = tokenize(expr);
  }

  parse(): Match {
    if (this.tokens.length === 0) this.fail(undefined, 'empty expression');
    const m = this.or();
    const extra = this.peek();
    if (extra) this.fail(extra, extra.text === ')' ? "unbalanced ')'" : `unexpected '${extra.text}'`);
    return m;
  }

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private next(what: string): Token {
    const t = this.tokens[this.i];
    if (!t) this.fail(undefined, `expected ${what}`);
    this.i++;
    return t;
  }

  private is(...words: string[]): boolean {
    const t = this.peek();
    return t !== undefined && words.includes(t.text.toLowerCase());
  }

  fail(t: Token | undefined, what: string): never {
    if (!t) throw new SteerSyntaxError(this.expr, this.expr.length, 0, `${what}, but the expression ends`);
    throw new SteerSyntaxError(this.expr, t.pos, t.text.length, what);
  }

  private or(): Match {
    const of = [this.and()];
    while (this.is('or', '||')) {
      this.i++;
      of.push(this.and());
    }
    return of.length === 1 ? of[0]! : { kind: 'or', of };
  }

  private and(): Match {
    const of = [this.unary()];
    while (this.is('and', '&&')) {
      this.i++;
      of.push(this.unary());
    }
    return of.length === 1 ? of[0]! : { kind: 'and', of };
  }

  private unary(): Match {
    if (this.is('not', '!')) {
      this.i++;
      return { kind: 'not', of: this.unary() };
    }
    if (this.is('(')) {
      const open = this.next('(');
      const m = this.or();
      const close = this.peek();
      if (!close || close.text !== ')') this.fail(close ?? open, close ? `expected ')' to close the '(' at offset ${open.pos}` : "unclosed '('");
      this.i++;
      return m;
    }
    return this.primitive();
  }

  private primitive(): Match {
    const first = this.next('a primitive such as "udp dst port 53"');
    const word = first.text.toLowerCase();
    // A bare id after and/or: tcpdump's abbreviation, reusing qualifiers.
    if (!KEYWORDS.has(word) && this.last) {
      this.i--;
      return this.qualified(this.last);
    }
    if (word === 'vlan') {
      const t = this.peek();
      if (t && /^\d+$/.test(t.text)) {
        this.i++;
        return { kind: 'vlan', id: this.number(t, 0, 4095, 'VLAN id') };
      }
      return { kind: 'vlan' };
    }
    if (word === 'ether') {
      const p = this.next("'proto' after 'ether'");
      if (p.text.toLowerCase() !== 'proto') this.fail(p, "expected 'proto' after 'ether'");
      return { kind: 'ethertype', value: this.named(this.next('an EtherType'), ETHERTYPES, 0xffff, 'EtherType') };
    }
    if (word === 'proto') return { kind: 'proto', value: this.named(this.next('a protocol'), PROTOCOLS, 255, 'protocol') };
    let proto: Match | undefined;
    if (word in PROTO_WORDS) {
      proto = PROTO_WORDS[word];
      // `ip proto N`, `ip6 proto N`.
      if ((word === 'ip' || word === 'ip6') && this.is('proto')) {
        this.i++;
        const value = this.named(this.next('a protocol'), PROTOCOLS, 255, 'protocol');
        return { kind: 'and', of: [proto!, { kind: 'proto', value }] };
      }
      if (!this.is('src', 'dst', 'host', 'net', 'port', 'portrange')) return proto!;
    } else {
      this.i--;
    }
    const dir = this.direction();
    const typeTok = this.peek();
    let type: Qualifiers['type'] = 'host';
    if (typeTok && ['host', 'net', 'port', 'portrange'].includes(typeTok.text.toLowerCase())) {
      type = typeTok.text.toLowerCase() as Qualifiers['type'];
      this.i++;
    } else if (dir === undefined || (typeTok && !/^[0-9a-f]*[0-9:.]/i.test(typeTok.text))) {
      // After a direction only an address may stand for "host".
      const bad = typeTok ?? first;
      this.fail(bad, `unknown primitive '${bad.text}' (expected host, net, port, portrange or an address)`);
    }
    if (proto && (type === 'port' || type === 'portrange') && proto.kind === 'ip') {
      this.fail(typeTok, `'${word} ${type}' mixes a network protocol with ports; use tcp, udp or sctp`);
    }
    if (proto && (type === 'host' || type === 'net') && (proto.kind === 'proto' || word === 'icmp' || word === 'icmp6')) {
      this.fail(typeTok, `'${word} ${type}' mixes a transport protocol with addresses; use 'ip' or 'ip6'`);
    }
    const q: Qualifiers = { type };
    if (proto) q.proto = proto;
    if (dir) q.dir = dir;
    this.last = q;
    return this.qualified(q);
  }

  private direction(): Qualifiers['dir'] {
    if (!this.is('src', 'dst')) return undefined;
    const first = this.next('a direction').text.toLowerCase() as 'src' | 'dst';
    // `src or dst` / `src and dst`, only when followed by a type or id.
    const save = this.i;
    if (this.is('or', 'and')) {
      const op = this.next('or/and').text.toLowerCase();
      if (this.is(first === 'src' ? 'dst' : 'src')) {
        this.i++;
        return op === 'or' ? 'any' : 'both';
      }
      this.i = save;
    }
    return first;
  }

  /** The id of a host/net/port/portrange primitive, with its qualifiers. */
  private qualified(q: Qualifiers): Match {
    const idTok = this.next(q.type === 'port' ? 'a port' : q.type === 'portrange' ? 'a port range' : 'an address');
    let m: Match;
    const dirs: Direction[] = q.dir === 'both' ? ['src', 'dst'] : [q.dir ?? 'any'];
    if (q.type === 'port' || q.type === 'portrange') {
      const [from, to] = q.type === 'port' ? [this.port(idTok), undefined] : this.range(idTok);
      const one = (dir: Direction): Match => ({ kind: 'port', dir, from, to: to ?? from });
      m = dirs.length === 1 ? one(dirs[0]!) : { kind: 'and', of: dirs.map(one) };
    } else {
      const prefix = this.prefix(idTok, q.type);
      const one = (dir: Direction): Match => ({ kind: 'net', dir, prefixes: [prefix] });
      m = dirs.length === 1 ? one(dirs[0]!) : { kind: 'and', of: dirs.map(one) };
    }
    return q.proto ? { kind: 'and', of: [q.proto, m] } : m;
  }

  private number(t: Token, min: number, max: number, what: string): number {
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(t.text)) this.fail(t, `expected a ${what} number, got '${t.text}'`);
    const n = Number(t.text);
    if (!Number.isSafeInteger(n) || n < min || n > max) this.fail(t, `${what} ${t.text} is outside ${min}..${max}`);
    return n;
  }

  private named(t: Token, names: Record<string, number>, max: number, what: string): number {
    const name = t.text.toLowerCase().replace(/^\\/, '');
    if (name in names) return names[name]!;
    if (!/^(0x[0-9a-f]+|\d+)$/i.test(name)) this.fail(t, `unknown ${what} '${t.text}'`);
    return this.number(t, 0, max, what);
  }

  private port(t: Token): number {
    return this.number(t, 0, 65535, 'port');
  }

  private range(t: Token): [number, number] {
    const m = /^(\d+)-(\d+)$/.exec(t.text);
    if (!m) this.fail(t, `expected a port range like 1000-2000, got '${t.text}'`);
    const from = Number(m[1]);
    const to = Number(m[2]);
    if (from > 65535 || to > 65535) this.fail(t, `port range ${t.text} is outside 0..65535`);
    if (from > to) this.fail(t, `port range ${t.text} is empty`);
    return [from, to];
  }

  private prefix(t: Token, type: 'host' | 'net'): string {
    const [addr, len, ...rest] = t.text.split('/');
    const v4 = isIPv4(addr!);
    if (rest.length > 0 || (!v4 && !isIPv6(addr!))) this.fail(t, `expected an IPv4 or IPv6 address, got '${t.text}'`);
    if (len !== undefined) {
      if (type === 'host') this.fail(t, `a host is one address; use 'net ${t.text}'`);
      const max = v4 ? 32 : 128;
      if (!/^\d+$/.test(len) || Number(len) > max) this.fail(t, `prefix length '/${len}' is outside 0..${max}`);
    }
    return t.text;
  }
}

function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function isIPv6(s: string): boolean {
  if (!/^[0-9a-f:.]+$/i.test(s) || !s.includes(':')) return false;
  const halves = s.split('::');
  if (halves.length > 2) return false;
  const groups = (h: string) => (h === '' ? [] : h.split(':'));
  const all = halves.flatMap(groups);
  // An embedded IPv4 tail counts as two groups.
  const last = all[all.length - 1];
  const tail4 = last !== undefined && last.includes('.');
  if (tail4 && !isIPv4(last)) return false;
  const hex = tail4 ? all.slice(0, -1) : all;
  if (!hex.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return false;
  const count = hex.length + (tail4 ? 2 : 0);
  return halves.length === 2 ? count <= 7 : count === 8;
}

/** Parses a `--steer` expression into a match. Throws SteerSyntaxError. */
export function parseSteer(expression: string): Match {
  return new Parser(expression).parse();
}

/**
 * The rule set of a `--steer` expression: matching packets get `action`
 * (steer by default), everything else `defaultAction` (pass by default,
 * so SSH, ARP and neighbour discovery keep reaching the kernel).
 */
export function steerRuleSet(expression: string, action: SteerAction = 'steer', defaultAction: SteerAction = 'pass'): RuleSet {
  return { rules: [{ name: expression.trim(), match: parseSteer(expression), action }], default: defaultAction };
}

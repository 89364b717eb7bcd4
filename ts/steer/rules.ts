/**
 * Steering rules as plain, JSON-friendly data: exactly the shape the Rust
 * core accepts (`RuleSet::from_json` in crates/afxdp-core/src/bpf/rules.rs)
 * and compiles into the XDP program's rule tables.
 *
 * A rule set is an ordered list of rules plus a default action; the first
 * rule whose match holds decides, otherwise the default does.
 */

/** What happens to a packet: to AF_XDP, to the kernel stack, or dropped in XDP. */
export type SteerAction = 'steer' | 'pass' | 'drop';

/** Which address or port a match looks at ('any': source or destination). */
export type Direction = 'src' | 'dst' | 'any';

export type Match =
  | { kind: 'true' }
  /** EtherType after any VLAN tags. */
  | { kind: 'ethertype'; value: number }
  /** Outer VLAN tag; any tag when `id` is absent. */
  | { kind: 'vlan'; id?: number }
  | { kind: 'ip'; version: 4 | 6 }
  /** L4 protocol number (after IPv6 extension headers). */
  | { kind: 'proto'; value: number }
  /**
   * Address in any of the prefixes ("198.51.100.0/24", "2001:db8::/32", or a
   * host address). Also ARP/RARP sender and target addresses, as libpcap's `host`.
   */
  | { kind: 'net'; dir: Direction; prefixes: string[] }
  /** TCP/UDP/SCTP port in [from, to] (not UDP-Lite, as in libpcap); never true for a non-first fragment. */
  | { kind: 'port'; dir: Direction; from: number; to: number }
  | { kind: 'not'; of: Match }
  | { kind: 'and'; of: Match[] }
  | { kind: 'or'; of: Match[] };

export interface SteerRule {
  /** For people: shown with the rule's counters (the source expression, say). */
  name?: string;
  match: Match;
  action: SteerAction;
}

export interface RuleSet {
  rules: SteerRule[];
  /** When no rule matches; 'pass' unless said otherwise. */
  default: SteerAction;
}

/** Limits of the XDP program (crates/afxdp-core/src/bpf/abi.rs). */
export const MAX_RULES = 64;
/** Alternatives (terms) all rules may expand to: each `or` across fields and each `host`/`port` without src/dst adds some. */
export const MAX_TERMS = 64;

/**
 * The operator's check: would a rule set take the host's own reachability
 * away from the kernel? ARP (IPv4) and neighbour discovery (ICMPv6 over
 * IPv6) must reach the kernel stack, or the host stops answering its
 * neighbours. `host A` means what tcpdump means, so it also matches ARP
 * frames carrying A, and `not port 22` matches every ARP frame: both would
 * steer ARP into the handler. This module finds such rule sets (without
 * looking at any traffic) and says how to fix them.
 */
import type { Match, RuleSet, SteerAction } from './rules.js';

/** Three-valued truth: true, false, or "depends on the addresses". */
type Truth = 'yes' | 'no' | 'maybe';

/** A frame of some kind whose addresses are not known. */
interface Probe {
  ethertype: number;
  ipVersion?: 4 | 6;
  proto?: number;
  /** Address family its addresses are in (ARP carries IPv4 ones). */
  family: 4 | 6;
}

const ARP: Probe = { ethertype: 0x0806, family: 4 };
/** Neighbour solicitations and advertisements: ICMPv6, no ports. */
const ND: Probe = { ethertype: 0x86dd, ipVersion: 6, proto: 58, family: 6 };

const not = (t: Truth): Truth => (t === 'yes' ? 'no' : t === 'no' ? 'yes' : 'maybe');

function evaluate(m: Match, p: Probe): Truth {
  switch (m.kind) {
    case 'true':
      return 'yes';
    case 'ethertype':
      return m.value === p.ethertype ? 'yes' : 'no';
    case 'vlan':
      return 'no'; // untagged, as the host's own ARP/ND usually is
    case 'ip':
      return m.version === p.ipVersion ? 'yes' : 'no';
    case 'proto':
      return m.value === p.proto ? 'yes' : 'no';
    case 'net':
      // Whether some address of this frame lies in the prefixes depends on
      // the frame, when the families agree.
      return m.prefixes.some((prefix) => prefix.includes(':') === (p.family === 6)) ? 'maybe' : 'no';
    case 'port':
      return 'no'; // neither ARP nor ICMPv6 has ports
    case 'not':
      return not(evaluate(m.of, p));
    case 'and': {
      const all = m.of.map((x) => evaluate(x, p));
      return all.includes('no') ? 'no' : all.includes('maybe') ? 'maybe' : 'yes';
    }
    case 'or': {
      const any = m.of.map((x) => evaluate(x, p));
      return any.includes('yes') ? 'yes' : any.includes('maybe') ? 'maybe' : 'no';
    }
  }
}

/** The actions the rule set may take on frames of the probe's kind. */
function possibleActions(rules: RuleSet, p: Probe): Set<SteerAction> {
  const out = new Set<SteerAction>();
  for (const rule of rules.rules) {
    const t = evaluate(rule.match, p);
    if (t !== 'no') out.add(rule.action);
    if (t === 'yes') return out;
  }
  out.add(rules.default ?? 'pass');
  return out;
}

export interface ReachabilityWarning {
  /** Which of the host's own traffic would leave the kernel. */
  traffic: 'arp' | 'nd';
  /** What would happen to (some of) it. */
  actions: SteerAction[];
  /** One line for people, with the fix to suggest. */
  message: string;
}

/**
 * Warnings for a rule set that would steer or drop ARP or IPv6 neighbour
 * discovery (some of it, or all). `expression` is the `--steer` text, used
 * to phrase the suggested fix; without it the fix is said in words.
 */
export function reachabilityWarnings(rules: RuleSet, expression?: string): ReachabilityWarning[] {
  const out: ReachabilityWarning[] = [];
  // A rule set given as JSON text is no expression to build a fix from.
  const expr = expression?.trimStart().startsWith('{') ? undefined : expression?.trim();
  for (const [traffic, probe] of [['arp', ARP], ['nd', ND]] as const) {
    const actions = [...possibleActions(rules, probe)].filter((a): a is 'steer' | 'drop' => a !== 'pass');
    if (actions.length === 0) continue;
    const what = traffic === 'arp' ? 'ARP frames' : 'IPv6 neighbour discovery (ICMPv6)';
    const verb = actions.map((a) => (a === 'steer' ? 'steer' : 'drop')).join(' or ');
    const exclude = traffic === 'arp' ? 'not arp' : 'not icmp6';
    let fix: string;
    if (expr !== undefined && traffic === 'arp' && /^(src |dst )?(host|net) \S+$/i.test(expr)) {
      fix = `use 'ip ${expr}' (like tcpdump's 'host', afxdp's matches ARP too)`;
    } else if (expr !== undefined) {
      fix = `use '(${expr}) and ${exclude}'`;
    } else {
      fix = `add a rule before the others that passes ${traffic === 'arp' ? "ethertype 0x0806" : 'IPv6 protocol 58'}`;
    }
    out.push({
      traffic,
      actions,
      message: `these rules would ${verb} ${what} (some or all), which the kernel needs to keep the host reachable; ${fix}`,
    });
  }
  return out;
}

//! Steering rules as plain data (JSON-friendly, for the TypeScript side) and
//! their compilation into the program's rule tables.
//!
//! A rule set is an ordered list of rules plus a default action. Each rule
//! is a boolean match expression and an action; the first rule whose
//! expression holds decides, otherwise the default does. JSON shape:
//!
//! ```json
//! { "default": "pass",
//!   "rules": [
//!     { "name": "udp dst port 53", "action": "steer",
//!       "match": { "kind": "and", "of": [
//!         { "kind": "proto", "value": 17 },
//!         { "kind": "port", "dir": "dst", "from": 53, "to": 53 } ] } } ] }
//! ```
//!
//! Match kinds: `true`; `ethertype {value}` (after VLAN tags); `vlan {id?}`
//! (any tag when id is absent; the outer tag is matched); `ip {version: 4|6}`;
//! `proto {value}` (L4 protocol after IPv6 extension headers); `net {dir,
//! prefixes}` (dir "src", "dst" or "any"; a plain address is a host; as in
//! libpcap, also the sender/target addresses of ARP and RARP frames);
//! `port {dir, from, to}` (TCP, UDP, SCTP, as in libpcap: not UDP-Lite;
//! never true for a non-first fragment); `not {of}`, `and {of: [...]}`,
//! `or {of: [...]}`.
//!
//! Compilation: each rule becomes one or more terms (its disjunctive normal
//! form, negations pushed down to single fields), each term a bit; for every
//! field the program looks up, the bitmap of the terms accepting each value
//! is precomputed, so a packet costs the same however many rules there are.
//! Limits: 64 rules, 64 terms in all (an `or` across different fields, or a
//! `host`/`net`/`port` without `src`/`dst`, makes two), 16,384 prefixes per
//! address family and direction.

use serde::{Deserialize, Serialize};

use super::abi::{self, RawRuleSet};
use super::prefix::Prefix;
use crate::error::{Error, ErrorCode, Result};

/// What happens to a packet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// To the kernel stack.
    #[default]
    Pass,
    /// To the AF_XDP socket of the packet's queue (to the kernel if none).
    Steer,
    /// Dropped in XDP.
    Drop,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Pass => "pass",
            Action::Steer => "steer",
            Action::Drop => "drop",
        }
    }

    pub(crate) fn raw(self) -> u8 {
        match self {
            Action::Pass => abi::ACT_PASS,
            Action::Steer => abi::ACT_STEER,
            Action::Drop => abi::ACT_DROP,
        }
    }
}

/// Which address or port of a packet a match looks at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Source or destination.
    #[default]
    Any,
    Src,
    Dst,
}

/// A match expression.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Match {
    True,
    Ethertype {
        value: u16,
    },
    Vlan {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u16>,
    },
    Ip {
        version: u8,
    },
    Proto {
        value: u8,
    },
    Net {
        #[serde(default)]
        dir: Direction,
        prefixes: Vec<String>,
    },
    Port {
        #[serde(default)]
        dir: Direction,
        from: u16,
        to: u16,
    },
    Not {
        of: Box<Match>,
    },
    And {
        of: Vec<Match>,
    },
    Or {
        of: Vec<Match>,
    },
}

/// One rule: if `filter` holds, `action`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// For people: shown with the rule's counters (e.g. the source expression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "match")]
    pub filter: Match,
    pub action: Action,
}

/// An ordered list of rules and the action when none matches.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleSet {
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default)]
    pub default: Action,
}

impl RuleSet {
    /// Everything to AF_XDP: what a freshly attached program does.
    pub fn steer_all() -> RuleSet {
        RuleSet { rules: Vec::new(), default: Action::Steer }
    }

    /// Parses the JSON form (see the module documentation).
    pub fn from_json(json: &str) -> Result<RuleSet> {
        serde_json::from_str(json).map_err(|e| Error::new(ErrorCode::InvalidOption, format!("bad rule set: {e}")))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a RuleSet always serialises")
    }
}

/// A condition on one field of a packet.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Cond {
    Ethertype(u16),
    Vlan(u16, u16),
    IpVer(u8),
    Proto(u8),
    /// Source / destination address in prefix set n (of `Compiler::sets`).
    Src(usize),
    Dst(usize),
    Sport(u16, u16),
    Dport(u16, u16),
}

/// A condition or its negation.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Lit {
    cond: Cond,
    neg: bool,
}

/// A conjunction of literals: one bit of the program's bitmaps.
type Term = Vec<Lit>;

/// The fields a packet has, for evaluating literals (None: lacks it).
#[derive(Clone, Copy, Default)]
struct Values {
    ethertype: u16,
    vlan: Option<u16>,
    ipver: Option<u8>,
    proto: Option<u8>,
    sport: Option<u16>,
    dport: Option<u16>,
}

impl Lit {
    fn field(&self) -> u32 {
        match self.cond {
            Cond::Ethertype(_) => abi::F_ETHERTYPE,
            Cond::Vlan(..) => abi::F_VLAN,
            Cond::IpVer(_) => abi::F_IPVER,
            Cond::Proto(_) => abi::F_PROTO,
            Cond::Src(_) => abi::F_SRC,
            Cond::Dst(_) => abi::F_DST,
            Cond::Sport(..) => abi::F_SPORT,
            Cond::Dport(..) => abi::F_DPORT,
        }
    }

    /// The literal's truth for a packet; `src`/`dst` say which prefix sets
    /// hold its addresses.
    fn holds(&self, v: &Values, src: &dyn Fn(usize) -> bool, dst: &dyn Fn(usize) -> bool) -> bool {
        let within = |x: Option<u16>, lo: u16, hi: u16| x.is_some_and(|x| lo <= x && x <= hi);
        let truth = match self.cond {
            Cond::Ethertype(e) => v.ethertype == e,
            Cond::Vlan(lo, hi) => within(v.vlan, lo, hi),
            Cond::IpVer(x) => v.ipver == Some(x),
            Cond::Proto(p) => v.proto == Some(p),
            Cond::Src(set) => src(set),
            Cond::Dst(set) => dst(set),
            Cond::Sport(lo, hi) => within(v.sport, lo, hi),
            Cond::Dport(lo, hi) => within(v.dport, lo, hi),
        };
        truth != self.neg
    }
}

/// A rule set compiled for one rule table: the header, the per-value
/// bitmaps and the map entries the program looks up.
pub(crate) struct Compiled {
    pub raw: RawRuleSet,
    /// One table's part of `afxdp_field_bits` (`abi::FIELD_TABLE` values).
    pub field_bits: Vec<u64>,
    /// EtherTypes named by the rules and the terms accepting each.
    pub ethertypes: Vec<(u16, u64)>,
    /// Source and destination prefixes and the terms accepting addresses
    /// whose longest match they are.
    pub src_entries: Vec<(Prefix, u64)>,
    pub dst_entries: Vec<(Prefix, u64)>,
}

/// Prefixes per address family, direction and table (the tries hold four
/// such parts, with room to spare).
pub(crate) const MAX_PREFIXES: usize = 16384;

struct Compiler {
    /// Distinct prefix lists, numbered in order of first use.
    sets: Vec<Vec<Prefix>>,
}

/// Product of two disjunctions of terms (their conjunction).
fn and_terms(a: Vec<Term>, b: &[Term]) -> Result<Vec<Term>> {
    if a.len().saturating_mul(b.len()) > abi::MAX_TERMS {
        return Err(too_many_terms());
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in &a {
        for y in b {
            let mut t = x.clone();
            t.extend(y.iter().cloned());
            out.push(t);
        }
    }
    Ok(out)
}

fn too_many_terms() -> Error {
    invalid(format!(
        "the rules expand to more than {} alternatives; simplify them \
         (each 'or' across different fields, and each 'host'/'port' without src/dst, counts)",
        abi::MAX_TERMS
    ))
}

impl Compiler {
    fn set_id(&mut self, prefixes: &[String]) -> Result<usize> {
        if prefixes.is_empty() {
            return Err(invalid("a net match needs at least one prefix".into()));
        }
        let mut list = prefixes.iter().map(|p| p.parse::<Prefix>()).collect::<Result<Vec<_>>>()?;
        list.sort();
        list.dedup();
        if let Some(id) = self.sets.iter().position(|s| *s == list) {
            return Ok(id);
        }
        self.sets.push(list);
        Ok(self.sets.len() - 1)
    }

    /// A leaf condition, or the pair of conditions of a src-or-dst match.
    fn leaf(&self, src: Cond, dst: Cond, dir: Direction, neg: bool) -> Vec<Term> {
        match dir {
            Direction::Src => vec![vec![Lit { cond: src, neg }]],
            Direction::Dst => vec![vec![Lit { cond: dst, neg }]],
            // not (src or dst) = not src and not dst.
            Direction::Any if neg => vec![vec![Lit { cond: src, neg }, Lit { cond: dst, neg }]],
            Direction::Any => vec![vec![Lit { cond: src, neg }], vec![Lit { cond: dst, neg }]],
        }
    }

    /// `m` (or its negation) in disjunctive normal form: a list of terms,
    /// true if any term holds. Negations are pushed down to the conditions.
    fn dnf(&mut self, m: &Match, neg: bool) -> Result<Vec<Term>> {
        let one = |cond: Cond| vec![vec![Lit { cond, neg }]];
        Ok(match m {
            Match::True if neg => vec![],
            Match::True => vec![vec![]],
            Match::Ethertype { value } => one(Cond::Ethertype(*value)),
            Match::Vlan { id: None } => one(Cond::Vlan(0, 4095)),
            Match::Vlan { id: Some(id) } if *id <= 4095 => one(Cond::Vlan(*id, *id)),
            Match::Vlan { id: Some(id) } => return Err(invalid(format!("VLAN id {id} is above 4095"))),
            Match::Ip { version: v @ (4 | 6) } => one(Cond::IpVer(*v)),
            Match::Ip { version } => return Err(invalid(format!("IP version {version} is not 4 or 6"))),
            Match::Proto { value } => one(Cond::Proto(*value)),
            Match::Net { dir, prefixes } => {
                let id = self.set_id(prefixes)?;
                self.leaf(Cond::Src(id), Cond::Dst(id), *dir, neg)
            }
            Match::Port { dir, from, to } => {
                if from > to {
                    return Err(invalid(format!("port range {from}-{to} is empty")));
                }
                self.leaf(Cond::Sport(*from, *to), Cond::Dport(*from, *to), *dir, neg)
            }
            Match::Not { of } => self.dnf(of, !neg)?,
            Match::And { of } | Match::Or { of } => {
                // An and, or a negated or (De Morgan), multiplies out.
                let conjunction = matches!(m, Match::And { .. }) != neg;
                if conjunction {
                    let mut acc = vec![vec![]];
                    for m in of {
                        let next = self.dnf(m, neg)?;
                        acc = and_terms(acc, &next)?;
                    }
                    acc
                } else {
                    let mut acc = Vec::new();
                    for m in of {
                        acc.extend(self.dnf(m, neg)?);
                        if acc.len() > abi::MAX_TERMS {
                            return Err(too_many_terms());
                        }
                    }
                    acc
                }
            }
        })
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorCode::InvalidOption, message)
}

/// Compiles `rules` into a rule table: each rule becomes terms (bits), then
/// every field's bitmaps are computed by evaluating the terms' literals on
/// every value the field can take.
pub(crate) fn compile(rules: &RuleSet) -> Result<Compiled> {
    if rules.rules.len() > abi::MAX_RULES {
        return Err(invalid(format!("{} rules given; at most {} fit", rules.rules.len(), abi::MAX_RULES)));
    }
    let mut c = Compiler { sets: Vec::new() };
    // (rule index, action, term)
    let mut terms: Vec<(usize, Action, Term)> = Vec::new();
    for (index, rule) in rules.rules.iter().enumerate() {
        let rule_terms = c.dnf(&rule.filter, false).map_err(|e| {
            let name = rule.name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
            invalid(format!("rule {index}{name}: {}", e.message))
        })?;
        for t in rule_terms {
            terms.push((index, rule.action, t));
        }
        if terms.len() > abi::MAX_TERMS {
            return Err(too_many_terms());
        }
    }

    let mut raw = RawRuleSet { default_action: rules.default.raw(), ..Default::default() };
    for (bit, (rule, action, term)) in terms.iter().enumerate() {
        raw.terms |= 1 << bit;
        raw.rule_of_term[bit] = *rule as u8;
        raw.action_of_term[bit] = action.raw();
        raw.needs |= term.iter().fold(0, |acc, l| acc | l.field());
    }
    let no_set = |_: usize| false;
    // The terms whose literals on `field` all hold for `v`; terms without
    // such literals accept every value.
    let bits = |field: u32, v: &Values, src: &dyn Fn(usize) -> bool, dst: &dyn Fn(usize) -> bool| -> u64 {
        let mut out = 0u64;
        for (bit, (_, _, term)) in terms.iter().enumerate() {
            if term.iter().filter(|l| l.field() == field).all(|l| l.holds(v, src, dst)) {
                out |= 1 << bit;
            }
        }
        out
    };
    let none = Values::default();
    raw.ipver = [
        bits(abi::F_IPVER, &none, &no_set, &no_set),
        bits(abi::F_IPVER, &Values { ipver: Some(4), ..none }, &no_set, &no_set),
        bits(abi::F_IPVER, &Values { ipver: Some(6), ..none }, &no_set, &no_set),
    ];
    raw.vlan_none = bits(abi::F_VLAN, &none, &no_set, &no_set);
    raw.proto_none = bits(abi::F_PROTO, &none, &no_set, &no_set);
    raw.sport_none = bits(abi::F_SPORT, &none, &no_set, &no_set);
    raw.dport_none = bits(abi::F_DPORT, &none, &no_set, &no_set);
    raw.src_miss = bits(abi::F_SRC, &none, &no_set, &no_set);
    raw.dst_miss = bits(abi::F_DST, &none, &no_set, &no_set);

    // EtherTypes: the named values; any other value satisfies no equality.
    let mut named: Vec<u16> = terms
        .iter()
        .flat_map(|(_, _, t)| t.iter())
        .filter_map(|l| if let Cond::Ethertype(e) = l.cond { Some(e) } else { None })
        .collect();
    named.sort();
    named.dedup();
    let other = (0..=u16::MAX).find(|e| named.binary_search(e).is_err()).unwrap_or(0);
    raw.ethertype_other = bits(abi::F_ETHERTYPE, &Values { ethertype: other, ..none }, &no_set, &no_set);
    let ethertypes = named
        .iter()
        .map(|&e| (e, bits(abi::F_ETHERTYPE, &Values { ethertype: e, ..none }, &no_set, &no_set)))
        .collect();

    // Per-value tables, only for the fields some term looks at.
    let mut field_bits = vec![0u64; abi::FIELD_TABLE];
    // A field's bitmap only changes where some literal's range starts or
    // ends, so evaluate once per segment between those points.
    let mut fill = |field: u32, offset: usize, count: usize, value: &dyn Fn(u16) -> Values| {
        if raw.needs & field == 0 {
            return;
        }
        let mut points: Vec<usize> = vec![0, count];
        for l in terms.iter().flat_map(|(_, _, t)| t.iter()).filter(|l| l.field() == field) {
            let (lo, hi) = match l.cond {
                Cond::Vlan(lo, hi) | Cond::Sport(lo, hi) | Cond::Dport(lo, hi) => (lo as usize, hi as usize),
                Cond::Proto(p) => (p as usize, p as usize),
                _ => continue,
            };
            points.extend([lo, (hi + 1).min(count)]);
        }
        points.sort();
        points.dedup();
        for w in points.windows(2) {
            let b = bits(field, &value(w[0] as u16), &no_set, &no_set);
            field_bits[offset + w[0]..offset + w[1]].fill(b);
        }
    };
    fill(abi::F_SPORT, abi::FB_SPORT, 65536, &|v| Values { sport: Some(v), ..none });
    fill(abi::F_DPORT, abi::FB_DPORT, 65536, &|v| Values { dport: Some(v), ..none });
    fill(abi::F_VLAN, abi::FB_VLAN, 4096, &|v| Values { vlan: Some(v), ..none });
    fill(abi::F_PROTO, abi::FB_PROTO, 256, &|v| Values { proto: Some(v as u8), ..none });

    // Prefixes: an address whose longest match is p is in set S exactly
    // when some prefix of S covers p (a longer one would have matched).
    let entries = |field: u32, used: &dyn Fn(&Cond) -> Option<usize>| -> Result<Vec<(Prefix, u64)>> {
        let mut prefixes: Vec<Prefix> = terms
            .iter()
            .flat_map(|(_, _, t)| t.iter())
            .filter_map(|l| used(&l.cond))
            .flat_map(|set| c.sets[set].iter().copied())
            .collect();
        prefixes.sort();
        prefixes.dedup();
        for v4 in [true, false] {
            let n = prefixes.iter().filter(|p| p.is_ipv4() == v4).count();
            if n > MAX_PREFIXES {
                return Err(invalid(format!(
                    "the rules hold {n} distinct prefixes of one family and direction; at most {MAX_PREFIXES} fit"
                )));
            }
        }
        Ok(prefixes
            .iter()
            .map(|p| {
                let member = |set: usize| c.sets[set].iter().any(|q| q.contains(p));
                let b = if field == abi::F_SRC {
                    bits(field, &none, &member, &no_set)
                } else {
                    bits(field, &none, &no_set, &member)
                };
                (*p, b)
            })
            .collect())
    };
    let src_entries = entries(abi::F_SRC, &|c| if let Cond::Src(s) = c { Some(*s) } else { None })?;
    let dst_entries = entries(abi::F_DST, &|c| if let Cond::Dst(s) = c { Some(*s) } else { None })?;
    Ok(Compiled { raw, field_bits, ethertypes, src_entries, dst_entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(filter: Match, action: Action) -> Rule {
        Rule { name: None, filter, action }
    }

    #[test]
    fn json_round_trip() {
        let json = r#"{"default":"pass","rules":[{"name":"udp dst port 53","action":"steer",
            "match":{"kind":"and","of":[{"kind":"proto","value":17},{"kind":"port","dir":"dst","from":53,"to":53}]}}]}"#;
        let rs = RuleSet::from_json(json).unwrap();
        assert_eq!(rs.rules[0].action, Action::Steer);
        assert_eq!(RuleSet::from_json(&rs.to_json()).unwrap(), rs);
        assert_eq!(RuleSet::from_json("{}").unwrap(), RuleSet::default());
        assert!(RuleSet::from_json(r#"{"rules":[{"match":{"kind":"bogus"},"action":"pass"}]}"#).is_err());
    }

    #[test]
    fn terms_and_field_tables() {
        let rs = RuleSet {
            rules: vec![rule(
                Match::And {
                    of: vec![Match::Proto { value: 17 }, Match::Port { dir: Direction::Any, from: 53, to: 53 }],
                },
                Action::Drop,
            )],
            default: Action::Steer,
        };
        let c = compile(&rs).unwrap();
        // udp and (sport 53 or dport 53): two terms.
        assert_eq!(c.raw.terms, 0b11);
        assert_eq!(c.raw.needs, abi::F_PROTO | abi::F_SPORT | abi::F_DPORT);
        assert_eq!(c.raw.action_of_term[..2], [abi::ACT_DROP; 2]);
        assert_eq!(c.raw.default_action, abi::ACT_STEER);
        assert_eq!(c.field_bits[abi::FB_PROTO + 17], 0b11);
        assert_eq!(c.field_bits[abi::FB_PROTO + 6], 0);
        assert_eq!(c.raw.proto_none, 0);
        // Term 0 constrains the source port, term 1 the destination port.
        assert_eq!(c.field_bits[abi::FB_SPORT + 53], 0b11);
        assert_eq!(c.field_bits[abi::FB_SPORT + 54], 0b10);
        assert_eq!(c.field_bits[abi::FB_DPORT + 54], 0b01);
        assert_eq!(c.raw.sport_none, 0b10);
    }

    #[test]
    fn negation_reaches_absent_fields() {
        // not port 22: true for frames without ports, and for other ports.
        let rs = RuleSet {
            rules: vec![rule(
                Match::Not { of: Box::new(Match::Port { dir: Direction::Any, from: 22, to: 22 }) },
                Action::Steer,
            )],
            default: Action::Pass,
        };
        let c = compile(&rs).unwrap();
        assert_eq!(c.raw.terms, 1);
        assert_eq!((c.raw.sport_none, c.raw.dport_none), (1, 1));
        assert_eq!(c.field_bits[abi::FB_DPORT + 22], 0);
        assert_eq!(c.field_bits[abi::FB_DPORT + 23], 1);
    }

    #[test]
    fn prefix_entries_fold_covering_prefixes() {
        let net = |dir, ps: &[&str]| Match::Net { dir, prefixes: ps.iter().map(|s| s.to_string()).collect() };
        let rs = RuleSet {
            rules: vec![
                rule(net(Direction::Src, &["198.51.100.0/24"]), Action::Drop),
                rule(net(Direction::Src, &["198.51.0.0/16", "2001:db8::/32"]), Action::Steer),
                rule(Match::Not { of: Box::new(net(Direction::Dst, &["203.0.113.0/24"])) }, Action::Pass),
            ],
            default: Action::Pass,
        };
        let c = compile(&rs).unwrap();
        assert_eq!(c.raw.needs, abi::F_SRC | abi::F_DST);
        let get = |e: &[(Prefix, u64)], s: &str| e.iter().find(|(p, _)| *p == s.parse().unwrap()).unwrap().1;
        // Terms: 0 (src /24), 1 (src /16 or v6), 2 (not dst): term 2 has no
        // source condition, so every source entry accepts it.
        assert_eq!(get(&c.src_entries, "198.51.100.0/24"), 0b111, "the /24 inherits the /16");
        assert_eq!(get(&c.src_entries, "198.51.0.0/16"), 0b110);
        assert_eq!(get(&c.src_entries, "2001:db8::/32"), 0b110);
        assert_eq!(c.raw.src_miss, 0b100);
        assert_eq!(get(&c.dst_entries, "203.0.113.0/24"), 0b011);
        assert_eq!(c.raw.dst_miss, 0b111);
    }

    #[test]
    fn rejects_bad_rules() {
        let one = |filter| RuleSet {
            rules: vec![Rule { name: Some("r".into()), filter, action: Action::Pass }],
            default: Action::Pass,
        };
        for bad in [
            Match::Ip { version: 5 },
            Match::Vlan { id: Some(4096) },
            Match::Port { dir: Direction::Dst, from: 10, to: 9 },
            Match::Net { dir: Direction::Src, prefixes: vec![] },
            Match::Net { dir: Direction::Src, prefixes: vec!["192.0.2.0/40".into()] },
        ] {
            let err = compile(&one(bad.clone())).err().unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert_eq!(err.code, ErrorCode::InvalidOption);
            assert!(err.message.starts_with("rule 0 (r):"), "{}", err.message);
        }
        // (a or b) and (c or d) ... seven times: 128 alternatives.
        let pair = |p: u16| Match::Or {
            of: vec![Match::Proto { value: p as u8 }, Match::Port { dir: Direction::Dst, from: p, to: p }],
        };
        let blowup = Match::And { of: (1..=7).map(pair).collect() };
        assert!(compile(&one(blowup)).err().expect("too many terms").message.contains("alternatives"));
    }
}

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
//! prefixes}` (dir "src", "dst" or "any"; a plain address is a host);
//! `port {dir, from, to}` (TCP, UDP, SCTP, UDP-Lite; never true for a
//! non-first fragment); `not {of}`, `and {of: [...]}`, `or {of: [...]}`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::abi::{self, Insn, RawRuleSet};
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
        serde_json::from_str(json)
            .map_err(|e| Error::new(ErrorCode::InvalidOption, format!("bad rule set: {e}")))
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a RuleSet always serialises")
    }
}

/// A rule set compiled for one rule table.
pub(crate) struct Compiled {
    pub raw: Box<RawRuleSet>,
    /// Prefix-set bitmaps to put in the LPM tries: (prefix, sets covering it).
    pub set_entries: Vec<(Prefix, u64)>,
}

/// Prefix sets may hold this many entries per address family and table
/// (half of each LPM trie, as both tables share it).
pub(crate) const MAX_SET_ENTRIES: usize = 8192;
/// Booleans the evaluation stack holds (bits of a u64).
const MAX_DEPTH: usize = 64;

struct Compiler {
    insns: Vec<Insn>,
    depth: usize,
    /// Distinct prefix lists, numbered in order of first use.
    sets: BTreeMap<Vec<Prefix>, u8>,
    needs: u8,
}

impl Compiler {
    fn push(&mut self, insn: Insn) -> Result<()> {
        if self.insns.len() >= abi::MAX_INSNS {
            return Err(invalid(format!(
                "the rules need more than {} instructions; simplify them",
                abi::MAX_INSNS
            )));
        }
        self.insns.push(insn);
        Ok(())
    }

    /// An instruction that pushes one boolean.
    fn leaf(&mut self, op: u8, arg: u8, lo: u16, hi: u16) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(invalid(format!("a rule nests deeper than {MAX_DEPTH} levels")));
        }
        self.push(Insn { op, arg, lo, hi, pad: 0 })
    }

    /// An instruction that pops two booleans and pushes one.
    fn combine(&mut self, op: u8) -> Result<()> {
        self.depth -= 1;
        self.push(Insn { op, ..Default::default() })
    }

    fn both_ways(&mut self, src: u8, dst: u8, dir: Direction, arg: u8, lo: u16, hi: u16) -> Result<()> {
        match dir {
            Direction::Src => self.leaf(src, arg, lo, hi),
            Direction::Dst => self.leaf(dst, arg, lo, hi),
            Direction::Any => {
                self.leaf(src, arg, lo, hi)?;
                self.leaf(dst, arg, lo, hi)?;
                self.combine(abi::OP_OR)
            }
        }
    }

    fn set_id(&mut self, prefixes: &[String]) -> Result<u8> {
        if prefixes.is_empty() {
            return Err(invalid("a net match needs at least one prefix".into()));
        }
        let mut list = prefixes.iter().map(|p| p.parse::<Prefix>()).collect::<Result<Vec<_>>>()?;
        list.sort();
        list.dedup();
        let next = self.sets.len();
        if let Some(&id) = self.sets.get(&list) {
            return Ok(id);
        }
        if next >= abi::MAX_SETS {
            return Err(invalid(format!("the rules use more than {} distinct prefix lists", abi::MAX_SETS)));
        }
        self.sets.insert(list, next as u8);
        Ok(next as u8)
    }

    fn expr(&mut self, m: &Match) -> Result<()> {
        match m {
            Match::True => self.leaf(abi::OP_TRUE, 0, 0, 0),
            Match::Ethertype { value } => self.leaf(abi::OP_ETHERTYPE, 0, *value, 0),
            Match::Vlan { id: None } => self.leaf(abi::OP_VLAN, 0, 0, 4095),
            Match::Vlan { id: Some(id) } if *id <= 4095 => self.leaf(abi::OP_VLAN, 0, *id, *id),
            Match::Vlan { id: Some(id) } => Err(invalid(format!("VLAN id {id} is above 4095"))),
            Match::Ip { version: v @ (4 | 6) } => self.leaf(abi::OP_IPVER, *v, 0, 0),
            Match::Ip { version } => Err(invalid(format!("IP version {version} is not 4 or 6"))),
            Match::Proto { value } => self.leaf(abi::OP_PROTO, *value, 0, 0),
            Match::Net { dir, prefixes } => {
                let id = self.set_id(prefixes)?;
                if *dir != Direction::Dst {
                    self.needs |= abi::NEED_SRC_SET;
                }
                if *dir != Direction::Src {
                    self.needs |= abi::NEED_DST_SET;
                }
                self.both_ways(abi::OP_SRC_SET, abi::OP_DST_SET, *dir, id, 0, 0)
            }
            Match::Port { dir, from, to } => {
                if from > to {
                    return Err(invalid(format!("port range {from}-{to} is empty")));
                }
                self.both_ways(abi::OP_SPORT, abi::OP_DPORT, *dir, 0, *from, *to)
            }
            Match::Not { of } => {
                self.expr(of)?;
                self.push(Insn { op: abi::OP_NOT, ..Default::default() })
            }
            Match::And { of } | Match::Or { of } => {
                let op = if matches!(m, Match::And { .. }) { abi::OP_AND } else { abi::OP_OR };
                let Some((first, rest)) = of.split_first() else {
                    // The empty conjunction is true, the empty disjunction false.
                    self.leaf(abi::OP_TRUE, 0, 0, 0)?;
                    if op == abi::OP_OR {
                        self.push(Insn { op: abi::OP_NOT, ..Default::default() })?;
                    }
                    return Ok(());
                };
                self.expr(first)?;
                for m in rest {
                    self.expr(m)?;
                    self.combine(op)?;
                }
                Ok(())
            }
        }
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorCode::InvalidOption, message)
}

/// Compiles `rules` into a rule table and the prefix-set entries it needs.
pub(crate) fn compile(rules: &RuleSet) -> Result<Compiled> {
    if rules.rules.len() > abi::MAX_RULES {
        return Err(invalid(format!("{} rules given; at most {} fit", rules.rules.len(), abi::MAX_RULES)));
    }
    let mut c = Compiler { insns: Vec::new(), depth: 0, sets: BTreeMap::new(), needs: 0 };
    for (index, rule) in rules.rules.iter().enumerate() {
        c.expr(&rule.filter).map_err(|e| {
            let name = rule.name.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
            invalid(format!("rule {index}{name}: {}", e.message))
        })?;
        c.depth -= 1;
        c.push(Insn { op: abi::OP_END, arg: rule.action.raw(), lo: index as u16, hi: 0, pad: 0 })?;
    }
    let mut raw = Box::new(RawRuleSet::default());
    raw.default_action = rules.default.raw();
    raw.needs = c.needs;
    raw.ninsns = c.insns.len() as u16;
    raw.nrules = rules.rules.len() as u16;
    raw.insns[..c.insns.len()].copy_from_slice(&c.insns);
    let set_entries = set_entries(&c.sets)?;
    Ok(Compiled { raw, set_entries })
}

/// The LPM entries for the prefix sets. The trie returns only the longest
/// matching prefix, so each entry carries the sets of every prefix that
/// covers it, not just its own.
fn set_entries(sets: &BTreeMap<Vec<Prefix>, u8>) -> Result<Vec<(Prefix, u64)>> {
    let mut own: BTreeMap<Prefix, u64> = BTreeMap::new();
    for (list, &id) in sets {
        for p in list {
            *own.entry(*p).or_default() |= 1u64 << id;
        }
    }
    for v4 in [true, false] {
        let n = own.keys().filter(|p| p.is_ipv4() == v4).count();
        if n > MAX_SET_ENTRIES {
            return Err(invalid(format!(
                "the rules hold {n} distinct IPv{} prefixes; at most {MAX_SET_ENTRIES} fit",
                if v4 { 4 } else { 6 }
            )));
        }
    }
    // Quadratic, but only over the prefixes that contain others; sorting by
    // length first lets each prefix look only at shorter ones.
    let mut by_len: Vec<(Prefix, u64)> = own.into_iter().collect();
    by_len.sort_by_key(|(p, _)| p.len());
    let mut out: Vec<(Prefix, u64)> = Vec::with_capacity(by_len.len());
    for (p, bits) in by_len {
        let inherited = out
            .iter()
            .filter(|(q, _)| q.len() < p.len() && q.contains(&p))
            .fold(0u64, |acc, (_, b)| acc | b);
        out.push((p, bits | inherited));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(dir: Direction, p: u16) -> Match {
        Match::Port { dir, from: p, to: p }
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
    fn compiles_postfix_with_end_markers() {
        let rs = RuleSet {
            rules: vec![Rule {
                name: None,
                filter: Match::And { of: vec![Match::Proto { value: 17 }, port(Direction::Any, 53)] },
                action: Action::Drop,
            }],
            default: Action::Steer,
        };
        let c = compile(&rs).unwrap();
        let ops: Vec<u8> = c.raw.insns[..c.raw.ninsns as usize].iter().map(|i| i.op).collect();
        assert_eq!(ops, [abi::OP_PROTO, abi::OP_SPORT, abi::OP_DPORT, abi::OP_OR, abi::OP_AND, abi::OP_END]);
        assert_eq!(c.raw.insns[5].arg, abi::ACT_DROP);
        assert_eq!(c.raw.default_action, abi::ACT_STEER);
        assert_eq!(c.raw.needs, 0);
    }

    #[test]
    fn prefix_sets_fold_covering_prefixes() {
        let net = |dir, ps: &[&str]| Match::Net { dir, prefixes: ps.iter().map(|s| s.to_string()).collect() };
        let rs = RuleSet {
            rules: vec![
                Rule { name: None, filter: net(Direction::Src, &["198.51.100.0/24"]), action: Action::Drop },
                Rule { name: None, filter: net(Direction::Dst, &["198.51.0.0/16", "2001:db8::/32"]), action: Action::Steer },
                // Same list as rule 0: same set.
                Rule { name: None, filter: net(Direction::Any, &["198.51.100.0/24"]), action: Action::Pass },
            ],
            default: Action::Pass,
        };
        let c = compile(&rs).unwrap();
        assert_eq!(c.raw.needs, abi::NEED_SRC_SET | abi::NEED_DST_SET);
        let get = |s: &str| c.set_entries.iter().find(|(p, _)| *p == s.parse().unwrap()).unwrap().1;
        let (a, b) = (get("198.51.100.0/24"), get("198.51.0.0/16"));
        assert_eq!(a, b | a, "the /24 inherits the /16's set");
        assert_ne!(a, b);
        assert_eq!(c.set_entries.len(), 3);
    }

    #[test]
    fn rejects_bad_rules() {
        let one = |filter| RuleSet { rules: vec![Rule { name: Some("r".into()), filter, action: Action::Pass }], default: Action::Pass };
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
        // Too deep: not(not(...)) does not deepen, but nested ands of ports do.
        let mut deep = Match::True;
        for _ in 0..70 {
            deep = Match::And { of: vec![Match::True, deep] };
        }
        assert!(compile(&one(deep)).is_err());
    }
}

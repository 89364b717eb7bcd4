//! The steering program's control plane: rule tables, prefix sets, the
//! kernel drop list and the flow offload table, and their counters.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;
use std::time::Duration;

use aya::maps::lpm_trie::{Key, LpmTrie};
use aya::maps::{Array, HashMap, MapData, PerCpuArray, PerCpuValues};
use aya::Ebpf;

use super::abi::{self, Config, DropValue, EthertypeKey, FlowValue, RawRuleSet, RuleStats, SetKey4, SetKey6};
use super::parse::{l4_has_ports, Facts};
use super::prefix::Prefix;
use super::rules::{compile, Action, RuleSet};
use super::{find_errno, from_aya, sys, Steering};
use crate::error::{Error, ErrorCode, Result};

/// A flow as the offload table keys it: the 5-tuple. Protocols without
/// ports have ports 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub proto: u8,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
}

impl FlowKey {
    /// The flow of a frame, parsed exactly as the steering program parses
    /// it. None for non-IP, malformed frames and non-first fragments of
    /// port protocols (the program cannot tell their flow either).
    pub fn from_frame(frame: &[u8]) -> Option<FlowKey> {
        let f = Facts::parse(frame);
        if f.malformed || f.ip_version == 0 || (l4_has_ports(f.proto) && f.ports.is_none()) {
            return None;
        }
        let (sport, dport) = f.ports.unwrap_or((0, 0));
        let addr = |b: &[u8; 16]| -> IpAddr {
            if f.ip_version == 4 {
                IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            } else {
                IpAddr::V6(Ipv6Addr::from(*b))
            }
        };
        Some(FlowKey { proto: f.proto, src: addr(&f.src), dst: addr(&f.dst), sport, dport })
    }

    /// The same flow seen from the other end.
    pub fn reversed(&self) -> FlowKey {
        FlowKey { src: self.dst, dst: self.src, sport: self.dport, dport: self.sport, ..*self }
    }

    fn raw(&self) -> Result<abi::FlowKey> {
        let mut k = abi::FlowKey {
            proto: self.proto,
            sport: self.sport.to_be(),
            dport: self.dport.to_be(),
            ..Default::default()
        };
        match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                k.ipver = 4;
                k.src[..4].copy_from_slice(&s.octets());
                k.dst[..4].copy_from_slice(&d.octets());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                k.ipver = 6;
                k.src = s.octets();
                k.dst = d.octets();
            }
            _ => return Err(Error::new(ErrorCode::InvalidOption, "a flow's addresses must be of one family")),
        }
        Ok(k)
    }

    fn from_raw(k: &abi::FlowKey) -> FlowKey {
        let addr = |b: &[u8; 16]| -> IpAddr {
            if k.ipver == 4 {
                IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            } else {
                IpAddr::V6(Ipv6Addr::from(*b))
            }
        };
        FlowKey {
            proto: k.proto,
            src: addr(&k.src),
            dst: addr(&k.dst),
            sport: u16::from_be(k.sport),
            dport: u16::from_be(k.dport),
        }
    }
}

/// An entry of the kernel drop list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockEntry {
    pub prefix: Prefix,
    /// Time left; None when the entry never expires.
    pub expires_in: Option<Duration>,
    pub packets: u64,
    pub bytes: u64,
}

/// An entry of the flow offload table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffloadEntry {
    pub flow: FlowKey,
    /// `Pass` or `Drop`.
    pub action: Action,
    pub expires_in: Option<Duration>,
    pub packets: u64,
    pub bytes: u64,
}

/// Packets and bytes that one rule (or the default action) decided.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleCounter {
    /// The rule's position; None for the default action.
    pub rule: Option<usize>,
    pub name: Option<String>,
    pub action: Action,
    pub packets: u64,
    pub bytes: u64,
}

pub(crate) struct Control {
    config: Array<MapData, Config>,
    rulesets: Array<MapData, RawRuleSet>,
    rule_stats: PerCpuArray<MapData, RuleStats>,
    sets4: LpmTrie<MapData, SetKey4, u64>,
    sets6: LpmTrie<MapData, SetKey6, u64>,
    ethertypes: HashMap<MapData, EthertypeKey, u64>,
    /// `afxdp_field_bits`, mapped: per-value bitmaps of both tables.
    field_bits: sys::MmapArray,
    /// Keeps the map behind `field_bits` alive.
    _field_bits_map: MapData,
    drop4: LpmTrie<MapData, [u8; 4], DropValue>,
    drop6: LpmTrie<MapData, [u8; 16], DropValue>,
    flows: HashMap<MapData, abi::FlowKey, FlowValue>,
    nr_cpus: usize,
    /// What `afxdp_config` holds (we are its only writer).
    cfg: Config,
    installed: RuleSet,
    /// The LPM keys ((table * 2 + direction), prefix) and EtherTypes written
    /// for each table, to remove when the table is rewritten.
    table_prefixes: [Vec<(u32, Prefix)>; 2],
    table_ethertypes: [Vec<u16>; 2],
    /// The drop list's keys (we are the only writer, so this is exact).
    blocked: BTreeSet<Prefix>,
    /// Waits for running program runs (set_rules).
    barrier: sys::ProgramBarrier,
    /// set_rules has switched tables at least once.
    switched: bool,
}

fn take<T>(
    ebpf: &mut Ebpf,
    name: &str,
    convert: impl FnOnce(aya::maps::Map) -> Result<T, aya::maps::MapError>,
) -> Result<T> {
    let map = ebpf
        .take_map(name)
        .ok_or_else(|| Error::new(ErrorCode::BpfLoad, format!("the steering object has no map {name}")))?;
    convert(map).map_err(|e| from_aya(&e, name))
}

fn map_err(context: &str) -> impl Fn(aya::maps::MapError) -> Error + '_ {
    move |e| {
        let err = from_aya(&e, context);
        // A failed map operation is a syscall failure, not a load failure.
        if err.code == ErrorCode::BpfLoad {
            Error { code: ErrorCode::Syscall, ..err }
        } else {
            err
        }
    }
}

fn is_enoent(e: &aya::maps::MapError) -> bool {
    find_errno(e) == Some(libc::ENOENT)
}

fn expires_at(ttl: Option<Duration>) -> Result<u64> {
    match ttl {
        None => Ok(0),
        Some(t) if t.is_zero() => Err(Error::new(ErrorCode::InvalidOption, "a TTL must be above zero")),
        Some(t) => Ok(sys::monotonic_ns()?.saturating_add(t.as_nanos().min(u64::MAX as u128) as u64)),
    }
}

fn expires_in(expires_ns: u64, now: u64) -> Option<Duration> {
    (expires_ns != 0).then(|| Duration::from_nanos(expires_ns.saturating_sub(now)))
}

fn expired(expires_ns: u64, now: u64) -> bool {
    expires_ns != 0 && expires_ns <= now
}

impl Control {
    pub(crate) fn new(ebpf: &mut Ebpf) -> Result<Control> {
        let nr_cpus = aya::util::nr_cpus()
            .map_err(|(what, e)| Error::new(ErrorCode::Syscall, format!("counting CPUs ({what}): {e}")))?;
        let field_bits_map = match ebpf.take_map("afxdp_field_bits") {
            Some(aya::maps::Map::Array(data)) => data,
            _ => return Err(Error::new(ErrorCode::BpfLoad, "the steering object has no array afxdp_field_bits")),
        };
        let field_bits = sys::MmapArray::map(field_bits_map.fd().as_fd(), 2 * abi::FIELD_TABLE)?;
        Ok(Control {
            config: take(ebpf, "afxdp_config", Array::try_from)?,
            rulesets: take(ebpf, "afxdp_rulesets", Array::try_from)?,
            rule_stats: take(ebpf, "afxdp_rule_stats", PerCpuArray::try_from)?,
            sets4: take(ebpf, "afxdp_sets4", LpmTrie::try_from)?,
            sets6: take(ebpf, "afxdp_sets6", LpmTrie::try_from)?,
            ethertypes: take(ebpf, "afxdp_ethertypes", HashMap::try_from)?,
            field_bits,
            _field_bits_map: field_bits_map,
            drop4: take(ebpf, "afxdp_drop4", LpmTrie::try_from)?,
            drop6: take(ebpf, "afxdp_drop6", LpmTrie::try_from)?,
            flows: take(ebpf, "afxdp_flows", HashMap::try_from)?,
            nr_cpus,
            cfg: Config::default(),
            installed: RuleSet::default(),
            table_prefixes: [Vec::new(), Vec::new()],
            table_ethertypes: [Vec::new(), Vec::new()],
            blocked: BTreeSet::new(),
            barrier: sys::ProgramBarrier::new()?,
            switched: false,
        })
    }

    fn write_config(&mut self) -> Result<()> {
        self.config.set(0, self.cfg, 0).map_err(map_err("writing afxdp_config"))
    }

    fn set_flag(&mut self, flag: u32, on: bool) -> Result<()> {
        let flags = if on { self.cfg.flags | flag } else { self.cfg.flags & !flag };
        if flags != self.cfg.flags {
            self.cfg.flags = flags;
            self.write_config()?;
        }
        Ok(())
    }

    /// The LPM key of a rule prefix; `table` is table * 2 + direction.
    fn set_key(prefix: &Prefix, table: u32) -> (Option<Key<SetKey4>>, Option<Key<SetKey6>>) {
        let o = prefix.octets();
        let len = 32 + prefix.len() as u32;
        if prefix.is_ipv4() {
            (Some(Key::new(len, SetKey4 { table, addr: [o[0], o[1], o[2], o[3]] })), None)
        } else {
            let mut addr = [0u8; 16];
            addr.copy_from_slice(&o);
            (None, Some(Key::new(len, SetKey6 { table, addr })))
        }
    }

    /// Installs `rules` atomically: each run of the program classifies a
    /// frame by the old rule set or by the new one, never a mixture.
    ///
    /// Why: the rules live in two tables and `afxdp_config.gen`'s low bit
    /// names the one in force; the program reads gen once per frame. Every
    /// run of an XDP program is an RCU read-side critical section (NAPI
    /// softirq, generic XDP and BPF_PROG_RUN alike), so after a grace
    /// period (1) no run that read the old gen, whose table we are about to
    /// rewrite, is still going, and (2) after a second one, between our
    /// writes and the switch, every run that reads the new gen started
    /// after the writes were visible everywhere (RCU's guarantee), with no
    /// barrier needed in the program. The cost is two grace periods per
    /// call (tens of milliseconds; see `sys::ProgramBarrier`).
    pub(crate) fn set_rules(&mut self, rules: &RuleSet) -> Result<()> {
        let compiled = compile(rules)?;
        let table = (self.cfg.gen.wrapping_add(1)) & 1;
        let t = table as usize;
        // (1) The inactive table was in force until the previous switch
        // (none before the first one: table 1 was never read then, which
        // keeps the attach-time "steer everything" window one wait short).
        if self.switched {
            self.barrier.wait()?;
        }
        for (which, prefix) in std::mem::take(&mut self.table_prefixes[t]) {
            let removed = match Self::set_key(&prefix, which) {
                (Some(k), _) => self.sets4.remove(&k),
                (_, Some(k)) => self.sets6.remove(&k),
                _ => Ok(()),
            };
            match removed {
                Err(e) if !is_enoent(&e) => return Err(map_err("removing a rule prefix")(e)),
                _ => {}
            }
        }
        for ethertype in std::mem::take(&mut self.table_ethertypes[t]) {
            match self.ethertypes.remove(&EthertypeKey { table, ethertype: ethertype as u32 }) {
                Err(e) if !is_enoent(&e) => return Err(map_err("removing a rule EtherType")(e)),
                _ => {}
            }
        }
        for (dir, entries) in [(0, &compiled.src_entries), (1, &compiled.dst_entries)] {
            let which = table * 2 + dir;
            for (prefix, bits) in entries {
                let inserted = match Self::set_key(prefix, which) {
                    (Some(k), _) => self.sets4.insert(&k, bits, 0),
                    (_, Some(k)) => self.sets6.insert(&k, bits, 0),
                    _ => Ok(()),
                };
                inserted.map_err(map_err("writing a rule prefix"))?;
                self.table_prefixes[t].push((which, *prefix));
            }
        }
        for (ethertype, bits) in &compiled.ethertypes {
            self.ethertypes
                .insert(EthertypeKey { table, ethertype: *ethertype as u32 }, bits, 0)
                .map_err(map_err("writing a rule EtherType"))?;
            self.table_ethertypes[t].push(*ethertype);
        }
        let base = t * abi::FIELD_TABLE;
        self.field_bits.as_mut_slice()[base..base + abi::FIELD_TABLE].copy_from_slice(&compiled.field_bits);
        for slot in table * abi::RULE_SLOTS..(table + 1) * abi::RULE_SLOTS {
            let zeros = PerCpuValues::try_from(vec![RuleStats::default(); self.nr_cpus])
                .map_err(|e| Error::new(ErrorCode::Syscall, format!("preparing rule counters: {e}")))?;
            self.rule_stats.set(slot, zeros, 0).map_err(map_err("clearing rule counters"))?;
        }
        self.rulesets.set(table, compiled.raw, 0).map_err(map_err("writing a rule table"))?;
        // Our stores to the mapped tables must be done before the switch.
        std::sync::atomic::fence(std::sync::atomic::Ordering::SeqCst);
        // (2) Every run that will see the switch starts after our writes.
        self.barrier.wait()?;
        // The switch: one aligned 32-bit store the program reads once.
        self.cfg.gen = self.cfg.gen.wrapping_add(1);
        self.write_config()?;
        self.switched = true;
        self.installed = rules.clone();
        Ok(())
    }

    pub(crate) fn rule_counters(&self) -> Result<Vec<RuleCounter>> {
        let table = self.cfg.gen & 1;
        let read = |slot: u32| -> Result<(u64, u64)> {
            let values = self.rule_stats.get(&slot, 0).map_err(map_err("reading rule counters"))?;
            Ok(values.iter().fold((0, 0), |(p, b), s| (p + s.packets, b + s.bytes)))
        };
        let mut out = Vec::with_capacity(self.installed.rules.len() + 1);
        for (i, rule) in self.installed.rules.iter().enumerate() {
            let (packets, bytes) = read(table * abi::RULE_SLOTS + i as u32)?;
            out.push(RuleCounter { rule: Some(i), name: rule.name.clone(), action: rule.action, packets, bytes });
        }
        let (packets, bytes) = read(table * abi::RULE_SLOTS + abi::MAX_RULES as u32)?;
        out.push(RuleCounter { rule: None, name: None, action: self.installed.default, packets, bytes });
        Ok(out)
    }

    fn drop_get(&self, prefix: &Prefix) -> Result<Option<DropValue>> {
        let o = prefix.octets();
        let len = prefix.len() as u32;
        let got = if prefix.is_ipv4() {
            self.drop4.get(&Key::new(len, [o[0], o[1], o[2], o[3]]), 0)
        } else {
            let mut a = [0u8; 16];
            a.copy_from_slice(&o);
            self.drop6.get(&Key::new(len, a), 0)
        };
        match got {
            Ok(v) => Ok(Some(v)),
            Err(e) if is_enoent(&e) => Ok(None),
            Err(e) => Err(map_err("reading the drop list")(e)),
        }
    }

    /// Note: an LPM lookup with an exact key returns the longest match, so
    /// get() of a prefix not in the list may return a covering entry; we
    /// only ask for prefixes in `self.blocked`.
    fn drop_set(&mut self, prefix: &Prefix, value: &DropValue) -> Result<()> {
        let o = prefix.octets();
        let len = prefix.len() as u32;
        let res = if prefix.is_ipv4() {
            self.drop4.insert(&Key::new(len, [o[0], o[1], o[2], o[3]]), value, 0)
        } else {
            let mut a = [0u8; 16];
            a.copy_from_slice(&o);
            self.drop6.insert(&Key::new(len, a), value, 0)
        };
        res.map_err(map_err("writing the drop list"))
    }

    fn drop_remove(&mut self, prefix: &Prefix) -> Result<()> {
        let o = prefix.octets();
        let len = prefix.len() as u32;
        let res = if prefix.is_ipv4() {
            self.drop4.remove(&Key::new(len, [o[0], o[1], o[2], o[3]]))
        } else {
            let mut a = [0u8; 16];
            a.copy_from_slice(&o);
            self.drop6.remove(&Key::new(len, a))
        };
        match res {
            Ok(()) => Ok(()),
            Err(e) if is_enoent(&e) => Ok(()),
            Err(e) => Err(map_err("removing from the drop list")(e)),
        }
    }

    pub(crate) fn block(&mut self, prefix: Prefix, ttl: Option<Duration>) -> Result<()> {
        let expires_ns = expires_at(ttl)?;
        // Re-blocking renews the TTL and keeps the counters.
        let mut value = if self.blocked.contains(&prefix) {
            self.drop_get(&prefix)?.unwrap_or_default()
        } else {
            DropValue::default()
        };
        value.expires_ns = expires_ns;
        self.drop_set(&prefix, &value)?;
        self.blocked.insert(prefix);
        self.set_flag(abi::CFG_DROPLIST, true)
    }

    pub(crate) fn unblock(&mut self, prefix: &Prefix) -> Result<bool> {
        if !self.blocked.remove(prefix) {
            return Ok(false);
        }
        self.drop_remove(prefix)?;
        let any = !self.blocked.is_empty();
        self.set_flag(abi::CFG_DROPLIST, any)?;
        Ok(true)
    }

    /// Removes expired drop-list entries; returns how many.
    pub(crate) fn expire_blocked(&mut self) -> Result<usize> {
        let now = sys::monotonic_ns()?;
        let mut gone = Vec::new();
        for prefix in &self.blocked {
            if self.drop_get(prefix)?.is_none_or(|v| expired(v.expires_ns, now)) {
                gone.push(*prefix);
            }
        }
        for prefix in &gone {
            self.unblock(prefix)?;
        }
        Ok(gone.len())
    }

    pub(crate) fn blocked(&mut self) -> Result<Vec<BlockEntry>> {
        self.expire_blocked()?;
        let now = sys::monotonic_ns()?;
        let mut out = Vec::with_capacity(self.blocked.len());
        for prefix in &self.blocked {
            if let Some(v) = self.drop_get(prefix)? {
                out.push(BlockEntry {
                    prefix: *prefix,
                    expires_in: expires_in(v.expires_ns, now),
                    packets: v.packets,
                    bytes: v.bytes,
                });
            }
        }
        Ok(out)
    }

    pub(crate) fn offload(&mut self, flow: &FlowKey, action: Action, ttl: Option<Duration>) -> Result<()> {
        let raw_action = match action {
            Action::Pass => abi::ACT_PASS,
            Action::Drop => abi::ACT_DROP,
            Action::Steer => {
                return Err(Error::new(
                    ErrorCode::InvalidOption,
                    "a flow can be offloaded to pass or drop; steering it is what happens without an offload",
                ))
            }
        };
        let value = FlowValue { expires_ns: expires_at(ttl)?, action: raw_action, ..Default::default() };
        self.flows.insert(flow.raw()?, value, 0).map_err(map_err("writing the flow offload table"))?;
        self.set_flag(abi::CFG_OFFLOAD, true)
    }

    pub(crate) fn remove_offload(&mut self, flow: &FlowKey) -> Result<bool> {
        match self.flows.remove(&flow.raw()?) {
            Ok(()) => Ok(true),
            Err(e) if is_enoent(&e) => Ok(false),
            Err(e) => Err(map_err("removing from the flow offload table")(e)),
        }
    }

    /// The offloaded flows; expired ones are removed on the way.
    pub(crate) fn offloads(&mut self) -> Result<Vec<OffloadEntry>> {
        let now = sys::monotonic_ns()?;
        let mut out = Vec::new();
        let mut stale = Vec::new();
        for item in self.flows.iter() {
            let (k, v) = match item {
                Ok(kv) => kv,
                // An entry evicted or deleted while we walk: skip it.
                Err(e) if is_enoent(&e) => continue,
                Err(e) => return Err(map_err("reading the flow offload table")(e)),
            };
            if expired(v.expires_ns, now) {
                stale.push(k);
                continue;
            }
            out.push(OffloadEntry {
                flow: FlowKey::from_raw(&k),
                action: if v.action == abi::ACT_DROP { Action::Drop } else { Action::Pass },
                expires_in: expires_in(v.expires_ns, now),
                packets: v.packets,
                bytes: v.bytes,
            });
        }
        for k in stale {
            let _ = self.flows.remove(&k);
        }
        Ok(out)
    }

    pub(crate) fn clear_offloads(&mut self) -> Result<()> {
        let keys: Vec<abi::FlowKey> = self.flows.keys().filter_map(|k| k.ok()).collect();
        for k in keys {
            let _ = self.flows.remove(&k);
        }
        self.set_flag(abi::CFG_OFFLOAD, false)
    }

    pub(crate) fn installed(&self) -> &RuleSet {
        &self.installed
    }
}

/// The issue-5 control API of the steering program.
impl Steering {
    fn control(&self) -> std::sync::MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the rule set, atomically for packets in flight. A freshly
    /// attached program has `RuleSet::steer_all()`. Rule counters restart
    /// from zero with each new rule set.
    pub fn set_rules(&self, rules: &RuleSet) -> Result<()> {
        self.control().set_rules(rules)
    }

    /// The rule set in force.
    pub fn rules(&self) -> RuleSet {
        self.control().installed().clone()
    }

    /// Per-rule counters of the rule set in force, in rule order, then one
    /// for the default action (`rule: None`).
    pub fn rule_counters(&self) -> Result<Vec<RuleCounter>> {
        self.control().rule_counters()
    }

    /// Drops packets from source `prefix` (e.g. "198.51.100.0/24") in XDP,
    /// before any rule, for `ttl` (None: until unblocked). Blocking an
    /// entry again renews its TTL and keeps its counters.
    pub fn block(&self, prefix: &str, ttl: Option<Duration>) -> Result<()> {
        let prefix: Prefix = prefix.parse()?;
        self.control().block(prefix, ttl)
    }

    /// Removes a drop-list entry; false if there was none.
    pub fn unblock(&self, prefix: &str) -> Result<bool> {
        let prefix: Prefix = prefix.parse()?;
        self.control().unblock(&prefix)
    }

    /// The drop list with per-entry counters (expired entries are removed
    /// first; the program already ignores them).
    pub fn blocked(&self) -> Result<Vec<BlockEntry>> {
        self.control().blocked()
    }

    /// Removes expired drop-list entries; returns how many.
    pub fn expire_blocked(&self) -> Result<usize> {
        self.control().expire_blocked()
    }

    /// Gives a flow's future packets `action` (`Pass` or `Drop`) in XDP,
    /// without reaching AF_XDP, for `ttl` (None: until removed or evicted:
    /// the table is an LRU of 65,536 flows). Checked after the drop list,
    /// before the rules.
    pub fn offload(&self, flow: &FlowKey, action: Action, ttl: Option<Duration>) -> Result<()> {
        self.control().offload(flow, action, ttl)
    }

    /// `offload` for the flow of `frame`, parsed as the program parses it.
    pub fn offload_frame(&self, frame: &[u8], action: Action, ttl: Option<Duration>) -> Result<FlowKey> {
        let flow = FlowKey::from_frame(frame).ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidOption,
                "this frame has no flow to offload (not IP, malformed, or a non-first fragment)",
            )
        })?;
        self.offload(&flow, action, ttl)?;
        Ok(flow)
    }

    /// Removes an offloaded flow; false if there was none.
    pub fn remove_offload(&self, flow: &FlowKey) -> Result<bool> {
        self.control().remove_offload(flow)
    }

    /// The offloaded flows with their counters.
    pub fn offloads(&self) -> Result<Vec<OffloadEntry>> {
        self.control().offloads()
    }

    /// Removes every offloaded flow.
    pub fn clear_offloads(&self) -> Result<()> {
        self.control().clear_offloads()
    }
}

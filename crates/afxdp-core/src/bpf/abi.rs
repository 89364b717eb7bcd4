//! Rust mirrors of the structs in `bpf/afxdp.h`. Each one is `#[repr(C)]`
//! with the same fields in the same order, and its size is asserted at
//! compile time against the size the header asserts on the C side, so the
//! two cannot drift apart silently (tests/abi.rs also compares them with the
//! sizes in the compiled object's BTF).

/// Declares `struct afxdp_counters` once and derives from the same list the
/// raw per-CPU mirror, the public sum, and the summing code.
macro_rules! counters {
    ($($(#[$doc:meta])* $field:ident,)*) => {
        /// `struct afxdp_counters`: per-CPU global counters of the steering program.
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default)]
        pub struct RawCounters {
            $(pub $field: u64,)*
            pub reserved: [u64; 6],
        }

        /// The steering program's counters, summed over CPUs. Every packet
        /// the program saw is counted in exactly one of steered, passed and
        /// dropped; the other fields say why, where that is worth knowing.
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct SteeringCounters {
            $($(#[$doc])* pub $field: u64,)*
        }

        impl SteeringCounters {
            pub(crate) fn add(&mut self, c: &RawCounters) {
                $(self.$field += c.$field;)*
            }
        }
    };
}

counters! {
    /// Redirected into an AF_XDP socket.
    steered_packets,
    steered_bytes,
    /// Handed to the kernel stack.
    passed_packets,
    passed_bytes,
    /// Dropped in XDP.
    dropped_packets,
    dropped_bytes,
    /// Of the passed: meant for AF_XDP, but no socket was bound on the queue.
    no_socket,
    /// Of the dropped: by the kernel drop list.
    blocked,
    /// Verdicts taken from the flow offload table.
    offload_hits,
    /// Frames whose headers were truncated or unparseable.
    malformed,
}

/// `AFXDP_COUNTERS_SIZE` in afxdp.h.
pub const COUNTERS_SIZE: usize = 128;
const _: () = assert!(std::mem::size_of::<RawCounters>() == COUNTERS_SIZE);

// ---- Issue 5: rules, drop list, flow offload ----

/// `AFXDP_ACT_*`.
pub const ACT_PASS: u8 = 0;
pub const ACT_STEER: u8 = 1;
pub const ACT_DROP: u8 = 2;

/// `AFXDP_MAX_TERMS`, `AFXDP_MAX_RULES`.
pub const MAX_TERMS: usize = 64;
pub const MAX_RULES: usize = 64;
/// `AFXDP_RULE_SLOTS`: per-rule counter slots per table (the last: default).
pub const RULE_SLOTS: u32 = MAX_RULES as u32 + 1;
pub const CFG_DROPLIST: u32 = 1;
pub const CFG_OFFLOAD: u32 = 2;

/// `AFXDP_F_*`: the fields a rule table looks up.
pub const F_ETHERTYPE: u32 = 1 << 0;
pub const F_VLAN: u32 = 1 << 1;
pub const F_IPVER: u32 = 1 << 2;
pub const F_PROTO: u32 = 1 << 3;
pub const F_SRC: u32 = 1 << 4;
pub const F_DST: u32 = 1 << 5;
pub const F_SPORT: u32 = 1 << 6;
pub const F_DPORT: u32 = 1 << 7;

/// `AFXDP_FB_*`, `AFXDP_FIELD_TABLE`: layout of `afxdp_field_bits`.
pub const FB_SPORT: usize = 0;
pub const FB_DPORT: usize = 65536;
pub const FB_VLAN: usize = 131072;
pub const FB_PROTO: usize = 131072 + 4096;
pub const FIELD_TABLE: usize = 131072 + 4096 + 256;

/// `struct afxdp_ruleset`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct RawRuleSet {
    pub terms: u64,
    pub ipver: [u64; 3],
    pub vlan_none: u64,
    pub proto_none: u64,
    pub sport_none: u64,
    pub dport_none: u64,
    pub src_miss: u64,
    pub dst_miss: u64,
    pub ethertype_other: u64,
    pub needs: u32,
    pub default_action: u8,
    pub pad: [u8; 3],
    pub rule_of_term: [u8; MAX_TERMS],
    pub action_of_term: [u8; MAX_TERMS],
}
const _: () = assert!(std::mem::size_of::<RawRuleSet>() == 8 * 11 + 8 + 2 * MAX_TERMS);

impl Default for RawRuleSet {
    fn default() -> Self {
        RawRuleSet {
            terms: 0,
            ipver: [0; 3],
            vlan_none: 0,
            proto_none: 0,
            sport_none: 0,
            dport_none: 0,
            src_miss: 0,
            dst_miss: 0,
            ethertype_other: 0,
            needs: 0,
            default_action: 0,
            pad: [0; 3],
            rule_of_term: [0; MAX_TERMS],
            action_of_term: [0; MAX_TERMS],
        }
    }
}

/// `struct afxdp_ethertype_key`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct EthertypeKey {
    pub table: u32,
    pub ethertype: u32,
}

/// `struct afxdp_rule_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RuleStats {
    pub packets: u64,
    pub bytes: u64,
}

/// `struct afxdp_config`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Config {
    pub gen: u32,
    pub flags: u32,
}

/// `struct afxdp_set_key4` after its prefixlen (aya's `lpm_trie::Key` adds it).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SetKey4 {
    pub table: u32,
    pub addr: [u8; 4],
}

/// `struct afxdp_set_key6` after its prefixlen.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SetKey6 {
    pub table: u32,
    pub addr: [u8; 16],
}

/// `struct afxdp_drop_value`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct DropValue {
    pub expires_ns: u64,
    pub packets: u64,
    pub bytes: u64,
}

/// `struct afxdp_flow_key`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub ipver: u8,
    pub proto: u8,
    /// Network byte order.
    pub sport: u16,
    pub dport: u16,
    pub pad: u16,
    pub src: [u8; 16],
    pub dst: [u8; 16],
}
const _: () = assert!(std::mem::size_of::<FlowKey>() == 40);

/// `struct afxdp_flow_value`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FlowValue {
    pub expires_ns: u64,
    pub packets: u64,
    pub bytes: u64,
    pub action: u8,
    pub pad: [u8; 7],
}
const _: () = assert!(std::mem::size_of::<FlowValue>() == 32);

// SAFETY: this and the impls below are for repr(C) structs of integers and
// integer arrays with explicit padding fields only, so any bytes the kernel
// hands back are a valid value and no uninitialised padding is sent to it.
unsafe impl aya::Pod for RawRuleSet {}
// SAFETY: as above.
unsafe impl aya::Pod for EthertypeKey {}
// SAFETY: as above.
unsafe impl aya::Pod for RuleStats {}
// SAFETY: as above.
unsafe impl aya::Pod for Config {}
// SAFETY: as above.
unsafe impl aya::Pod for SetKey4 {}
// SAFETY: as above.
unsafe impl aya::Pod for SetKey6 {}
// SAFETY: as above.
unsafe impl aya::Pod for DropValue {}
// SAFETY: as above.
unsafe impl aya::Pod for FlowKey {}
// SAFETY: as above.
unsafe impl aya::Pod for FlowValue {}

/// `struct afxdp_tg_config`: the traffic generator's configuration.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TgConfig {
    pub ifindex_out: u32,
    pub udp_offset: u16,
    pub port_count: u16,
    pub port_base: u16,
    pub ipv6: u8,
    pub pad: [u8; 5],
}

/// `AFXDP_TG_CONFIG_SIZE` in afxdp.h.
pub const TG_CONFIG_SIZE: usize = 16;
const _: () = assert!(std::mem::size_of::<TgConfig>() == TG_CONFIG_SIZE);

// SAFETY: repr(C), integers only, explicit padding: any bytes are valid.
unsafe impl aya::Pod for TgConfig {}

/// `AFXDP_MAX_QUEUES` in afxdp.h: entries of the XSKMAP.
pub const MAX_QUEUES: u32 = 256;

// SAFETY: RawCounters is repr(C), made only of u64s (no padding, no
// pointers), so every byte pattern the kernel writes is a valid value.
unsafe impl aya::Pod for RawCounters {}

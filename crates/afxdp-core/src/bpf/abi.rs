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

/// `AFXDP_OP_*`: the rule instructions.
pub const OP_TRUE: u8 = 0;
pub const OP_ETHERTYPE: u8 = 1;
pub const OP_VLAN: u8 = 2;
pub const OP_IPVER: u8 = 3;
pub const OP_PROTO: u8 = 4;
pub const OP_SRC_SET: u8 = 5;
pub const OP_DST_SET: u8 = 6;
pub const OP_SPORT: u8 = 7;
pub const OP_DPORT: u8 = 8;
pub const OP_NOT: u8 = 9;
pub const OP_AND: u8 = 10;
pub const OP_OR: u8 = 11;
pub const OP_END: u8 = 12;

pub const MAX_INSNS: usize = 512;
pub const MAX_RULES: usize = 128;
pub const MAX_SETS: usize = 64;
pub const NEED_SRC_SET: u8 = 1;
pub const NEED_DST_SET: u8 = 2;
/// `AFXDP_RULE_SLOTS`: per-rule counter slots per table (the last: default).
pub const RULE_SLOTS: u32 = MAX_RULES as u32 + 1;
pub const CFG_DROPLIST: u32 = 1;
pub const CFG_OFFLOAD: u32 = 2;

/// `struct afxdp_insn`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Insn {
    pub op: u8,
    pub arg: u8,
    pub lo: u16,
    pub hi: u16,
    pub pad: u16,
}
const _: () = assert!(std::mem::size_of::<Insn>() == 8);

/// `struct afxdp_ruleset`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RawRuleSet {
    pub default_action: u8,
    pub needs: u8,
    pub ninsns: u16,
    pub nrules: u16,
    pub pad: u16,
    pub insns: [Insn; MAX_INSNS],
}
const _: () = assert!(std::mem::size_of::<RawRuleSet>() == 8 + MAX_INSNS * 8);

impl Default for RawRuleSet {
    fn default() -> Self {
        RawRuleSet { default_action: 0, needs: 0, ninsns: 0, nrules: 0, pad: 0, insns: [Insn::default(); MAX_INSNS] }
    }
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
unsafe impl aya::Pod for Insn {}
// SAFETY: as above.
unsafe impl aya::Pod for RawRuleSet {}
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

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

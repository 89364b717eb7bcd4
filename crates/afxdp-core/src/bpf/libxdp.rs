//! Recognising programs that libxdp (xdp-tools: xdp-loader, xdp-filter)
//! put on an interface, so that a refusal can say what is there and how to
//! take it off with the tool that put it there.
//!
//! afxdp does not join a libxdp multi-program dispatcher (yet), and needs the
//! interface to itself (README, "Sharing an interface with other XDP
//! programs"). The kernel this was written on (6.18, the project's test VMs)
//! refuses freplace programs with EPERM (`probe.rs`), so no dispatcher can
//! exist there and a join could not have been tested; none was written.
//!
//! How a join would work, from libxdp's protocol (xdp-tools
//! lib/libxdp/protocol.org, dispatcher version 2), for whoever has a kernel
//! that loads freplace programs:
//! - The dispatcher is an XDP program, attached through netlink (it outlives
//!   its loader), with ten stub functions `prog0..prog9` and a frozen
//!   `.rodata` config `conf`: magic 236, version 2, `num_progs_enabled`,
//!   `is_xdp_frags`, then per slot `chain_call_actions` (bitmap of the XDP
//!   actions that continue the chain; bit 31 always set), `run_prios`,
//!   `program_flags`. It returns as soon as a member's action is not in
//!   its bitmap.
//! - Members are the programs loaded as BPF_PROG_TYPE_EXT against a stub
//!   (aya `Extension::load(dispatcher_fd, "progN")`), linked with
//!   bpf_link_create and pinned under `<bpffs>/xdp/dispatch-IFINDEX-DID/
//!   progN-prog` and `progN-link`, all under `flock(<bpffs>/xdp, LOCK_EX)`.
//! - Adding one = read the attached dispatcher's config map and pinned
//!   members, build a new dispatcher with the members sorted by run
//!   priority (ties by name), attach every member to it as well
//!   (`Extension::attach_to_program`, freplace multi-attach, Linux ≥ 5.10),
//!   pin, swap with netlink `XDP_FLAGS_REPLACE` + `IFLA_XDP_EXPECTED_FD`
//!   (retry from the top if the interface changed), unpin the old one.
//!   Removing one is the same with one fewer member.
//! - afxdp's steering program ends the chain when it redirects to AF_XDP
//!   (XDP_REDIRECT is terminal), so it must run after filters: xdp-filter
//!   declares priority 10, libxdp's default is 50; afxdp would take a later
//!   one and chain on XDP_PASS only.
//! - The catch: members persist through their pins, so a SIGKILLed afxdp
//!   would leave its slot behind (steering falls back to XDP_PASS with no
//!   socket, but its drop list and rules keep acting) where today's bpf_link
//!   goes with the process. A join needs stale-slot removal (owner pid in a
//!   pin name or map, swept at the next start and by `doctor`).

/// The name libxdp gives its dispatcher program (`xdp-dispatcher.o`).
pub const DISPATCHER_NAME: &str = "xdp_dispatcher";

/// xdp-filter's programs are all named `xdpfilt_<policy>_<features>`.
const XDP_FILTER_PREFIX: &str = "xdpfilt_";

/// What a foreign XDP program is, as far as its name tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// libxdp's multi-program dispatcher: other programs hang off it.
    Dispatcher,
    /// xdp-filter's program, attached alone (libxdp loads a single program
    /// when it cannot build a dispatcher, e.g. when the kernel refuses
    /// freplace programs).
    XdpFilter,
    Other,
}

pub fn kind(program_name: &str) -> Kind {
    if program_name == DISPATCHER_NAME {
        Kind::Dispatcher
    } else if program_name.starts_with(XDP_FILTER_PREFIX) {
        Kind::XdpFilter
    } else {
        Kind::Other
    }
}

/// How to take a foreign program off `ifname`, with the tool that put it
/// there when its name tells which; None when the generic advice applies.
pub fn removal_hint(program_name: &str, ifname: &str) -> Option<String> {
    match kind(program_name) {
        Kind::Dispatcher => Some(format!(
            "it is a libxdp multi-program dispatcher: `xdp-loader status {ifname}` lists its programs, \
             `xdp-loader unload --all {ifname}` removes them"
        )),
        Kind::XdpFilter => Some(format!("it is xdp-filter's program: `xdp-filter unload {ifname}` removes it")),
        Kind::Other => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_tell_libxdp_programs() {
        assert_eq!(kind("xdp_dispatcher"), Kind::Dispatcher);
        assert_eq!(kind("xdpfilt_alw_all"), Kind::XdpFilter);
        assert_eq!(kind("xdpfilt_dny_udp"), Kind::XdpFilter);
        assert_eq!(kind("afxdp_steer"), Kind::Other);
        assert!(removal_hint("xdp_dispatcher", "eth0").unwrap().contains("xdp-loader unload --all eth0"));
        assert!(removal_hint("xdpfilt_alw_all", "eth0").unwrap().contains("xdp-filter unload eth0"));
        assert_eq!(removal_hint("foreign", "eth0"), None);
    }
}

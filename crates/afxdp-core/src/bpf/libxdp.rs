//! Recognising programs that libxdp (xdp-tools: xdp-loader, xdp-filter)
//! put on an interface, so that a refusal can say what is there and how to
//! take it off with the tool that put it there.
//!
//! afxdp does not join a libxdp multi-program dispatcher (yet): the
//! dispatcher chains its members through freplace (BPF_PROG_TYPE_EXT)
//! programs, and joining means rebuilding the dispatcher with one more slot
//! and swapping it in atomically, as libxdp does (README, "Sharing an
//! interface with other XDP programs"). Until then afxdp needs the interface
//! to itself and says so.

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

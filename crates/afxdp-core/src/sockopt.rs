//! Per-socket tuning applied once a port's socket is bound, each option
//! with a clean fallback on kernels that lack it:
//!
//! - `XDP_MAX_TX_SKB_BUDGET` (Linux 6.17): in copy mode one `sendto` may
//!   transmit up to the TX ring's size instead of 32 descriptors, so a batch
//!   goes out in one syscall instead of a loop of them. Older kernels answer
//!   ENOPROTOOPT; the kick loop then does what it always did.
//! - Busy polling (`SO_PREFER_BUSY_POLL`, `SO_BUSY_POLL`,
//!   `SO_BUSY_POLL_BUDGET`, Linux 5.11): the consumer's own syscalls run the
//!   device's NAPI (receive processing and the copy into the UMEM) on the
//!   consumer's CPU instead of in softirq wherever the interrupt (or, on a
//!   veth, the sender) happens to be. Opt-in: it trades a core for it.

use std::os::fd::RawFd;

use crate::error::{last_errno, Error, Result};

const SOL_XDP: libc::c_int = 283;
const XDP_MAX_TX_SKB_BUDGET: libc::c_int = 9;
const SO_BUSY_POLL: libc::c_int = 46;
const SO_PREFER_BUSY_POLL: libc::c_int = 69;
const SO_BUSY_POLL_BUDGET: libc::c_int = 70;

/// Microseconds one busy-poll call may spin in the kernel.
const BUSY_POLL_USECS: u32 = 20;

/// What a port's socket got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tuning {
    /// Descriptors one copy-mode `sendto` may transmit (32: the kernel's
    /// fixed budget, on kernels without XDP_MAX_TX_SKB_BUDGET).
    pub tx_budget: u32,
    /// Busy polling is on: the port drives the device from its own syscalls.
    pub busy_poll: bool,
}

/// The kernel's fixed copy-mode budget before XDP_MAX_TX_SKB_BUDGET.
pub const DEFAULT_TX_BUDGET: u32 = 32;

fn set_u32(fd: RawFd, level: libc::c_int, name: libc::c_int, value: u32) -> std::result::Result<(), i32> {
    // SAFETY: setsockopt reads a u32 from a live local of the size we pass.
    let rc = unsafe {
        libc::setsockopt(fd, level, name, (&value as *const u32).cast(), std::mem::size_of::<u32>() as libc::socklen_t)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(last_errno())
    }
}

/// Tune a bound socket with a TX ring of `tx_ring` entries.
/// `tx_budget`: None for the whole ring (the default), Some(0) to leave the
/// kernel's default. Errors only when busy polling was asked for and the
/// kernel refuses it for a reason other than not knowing it.
pub fn apply(fd: RawFd, tx_ring: u32, tx_budget: Option<u32>, busy_poll: bool) -> Result<Tuning> {
    let mut tuning = Tuning { tx_budget: DEFAULT_TX_BUDGET, busy_poll: false };
    let want = tx_budget.unwrap_or(tx_ring).min(tx_ring);
    if want > DEFAULT_TX_BUDGET {
        // ENOPROTOOPT (before 6.17) or EACCES (out of range): keep the default.
        if set_u32(fd, SOL_XDP, XDP_MAX_TX_SKB_BUDGET, want).is_ok() {
            tuning.tx_budget = want;
        }
    }
    if busy_poll {
        let steps = [
            (SO_PREFER_BUSY_POLL, 1, "SO_PREFER_BUSY_POLL"),
            (SO_BUSY_POLL, BUSY_POLL_USECS, "SO_BUSY_POLL"),
            (SO_BUSY_POLL_BUDGET, 64, "SO_BUSY_POLL_BUDGET"),
        ];
        for (name, value, label) in steps {
            if let Err(errno) = set_u32(fd, libc::SOL_SOCKET, name, value) {
                if errno == libc::ENOPROTOOPT || errno == libc::EINVAL {
                    // A kernel before 5.11: no busy polling for AF_XDP.
                    return Ok(tuning);
                }
                return Err(Error::syscall("setsockopt", errno, format!("enabling busy polling ({label})")));
            }
        }
        tuning.busy_poll = true;
    }
    Ok(tuning)
}

/// Drive the device's receive path once from this thread (busy polling):
/// a non-blocking, zero-length recvfrom, which the kernel turns into one
/// busy-poll round of the socket's NAPI.
pub fn busy_poll_rx(fd: RawFd) {
    // SAFETY: a zero-length receive into no buffer; MSG_DONTWAIT never blocks.
    unsafe {
        libc::recvfrom(fd, std::ptr::null_mut(), 0, libc::MSG_DONTWAIT, std::ptr::null_mut(), std::ptr::null_mut())
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    fn udp_socket() -> OwnedFd {
        // SAFETY: plain socket(2); the fd is checked and owned below.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        assert!(fd >= 0);
        // SAFETY: fresh fd, owned by the OwnedFd from here on.
        unsafe { OwnedFd::from_raw_fd(fd) }
    }

    #[test]
    fn tx_budget_falls_back_to_the_kernel_default_where_the_option_is_unknown() {
        // A socket that is not AF_XDP answers SOL_XDP options with
        // ENOPROTOOPT, as a kernel before 6.17 does for this one.
        let s = udp_socket();
        let t = apply(s.as_raw_fd(), 2048, None, false).unwrap();
        assert_eq!(t, Tuning { tx_budget: DEFAULT_TX_BUDGET, busy_poll: false });
        let t = apply(s.as_raw_fd(), 2048, Some(0), false).unwrap();
        assert_eq!(t.tx_budget, DEFAULT_TX_BUDGET);
    }

    #[test]
    fn busy_poll_options_are_set_on_a_socket() {
        let s = udp_socket();
        let t = apply(s.as_raw_fd(), 2048, Some(0), true).unwrap();
        let mut v: u32 = 0;
        let mut len = std::mem::size_of::<u32>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most len bytes into a live u32.
        let rc = unsafe {
            libc::getsockopt(s.as_raw_fd(), libc::SOL_SOCKET, SO_BUSY_POLL, (&mut v as *mut u32).cast(), &mut len)
        };
        assert_eq!(rc, 0);
        assert!(t.busy_poll);
        assert_eq!(v, BUSY_POLL_USECS);
    }
}

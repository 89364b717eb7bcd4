//! The raw bpf(2) calls that aya 0.14 does not offer, and other small
//! syscalls of the bpf module. All raw syscalls of `bpf` and `trafficgen`
//! live here.

use std::ffi::CStr;

use crate::error::{Error, Result};

/// (device, inode) of the calling thread's network namespace: what tells two
/// namespaces apart (ifindexes repeat between them).
pub fn current_netns() -> Result<(u64, u64)> {
    let path: &CStr = c"/proc/thread-self/ns/net";
    // SAFETY: stat is plain data; all-zero is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: path is NUL-terminated and st is a live, writable stat.
    if unsafe { libc::stat(path.as_ptr(), &mut st) } != 0 {
        return Err(Error::last_os("stat", "identifying the current network namespace"));
    }
    Ok((st.st_dev, st.st_ino))
}

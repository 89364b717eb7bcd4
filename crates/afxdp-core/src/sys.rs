//! The syscalls and ioctls afxdp-core makes itself (xdpilone and aya make
//! their own). Each wrapper turns a failure into an `Error` naming the call.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use crate::error::{last_errno, Error, ErrorCode, Result};

/// A socket for interface ioctls. It is created in the calling thread's
/// network namespace, so the ioctls see that namespace's interfaces (sysfs
/// would show the namespace of the mount instead).
fn ioctl_socket() -> Result<OwnedFd> {
    // SAFETY: plain socket(2); the fd is owned by the returned OwnedFd.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(Error::last_os("socket", "creating an ioctl socket"));
    }
    // SAFETY: fd is a fresh, valid descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ifreq_for(name: &str) -> Result<libc::ifreq> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.contains('\0') {
        return Err(Error::new(ErrorCode::NoSuchInterface, format!("invalid interface name {name:?}")));
    }
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *dst = src as libc::c_char;
    }
    Ok(req)
}

fn no_such_interface(name: &str) -> Error {
    Error::new(ErrorCode::NoSuchInterface, format!("no interface named {name:?} in this network namespace"))
}

/// An interface ioctl that fills `ifreq` (by name); ENODEV becomes
/// `NoSuchInterface`.
fn ifreq_ioctl(name: &str, request: libc::Ioctl, call: &'static str, what: &str) -> Result<libc::ifreq> {
    let sock = ioctl_socket()?;
    let mut req = ifreq_for(name)?;
    // SAFETY: the SIOCGIF* requests used here read ifr_name and write one
    // member of ifr_ifru; req is a valid, fully initialised ifreq.
    if unsafe { libc::ioctl(sock.as_raw_fd(), request, &mut req) } < 0 {
        let errno = last_errno();
        if errno == libc::ENODEV {
            return Err(no_such_interface(name));
        }
        return Err(Error::syscall(call, errno, format!("{what} of {name}")));
    }
    Ok(req)
}

pub fn ifindex(name: &str) -> Result<u32> {
    let req = ifreq_ioctl(name, libc::SIOCGIFINDEX, "ioctl(SIOCGIFINDEX)", "looking up the index")?;
    // SAFETY: SIOCGIFINDEX filled the ifindex member of the union.
    Ok(unsafe { req.ifr_ifru.ifru_ifindex } as u32)
}

pub fn mtu(name: &str) -> Result<u32> {
    let req = ifreq_ioctl(name, libc::SIOCGIFMTU, "ioctl(SIOCGIFMTU)", "reading the MTU")?;
    // SAFETY: SIOCGIFMTU filled the mtu member of the union.
    Ok(unsafe { req.ifr_ifru.ifru_mtu } as u32)
}

const ETHTOOL_GCHANNELS: u32 = 0x3c;

#[repr(C)]
#[derive(Default)]
struct EthtoolChannels {
    cmd: u32,
    max_rx: u32,
    max_tx: u32,
    max_other: u32,
    max_combined: u32,
    rx_count: u32,
    tx_count: u32,
    other_count: u32,
    combined_count: u32,
}

/// Number of RX queues an AF_XDP socket can bind to. Asks ethtool
/// (channels); drivers without the ethtool call have one queue.
pub fn rx_queue_count(name: &str) -> Result<u32> {
    let sock = ioctl_socket()?;
    let mut req = ifreq_for(name)?;
    let mut channels = EthtoolChannels { cmd: ETHTOOL_GCHANNELS, ..Default::default() };
    req.ifr_ifru.ifru_data = (&mut channels as *mut EthtoolChannels).cast();
    // SAFETY: SIOCETHTOOL with ETHTOOL_GCHANNELS writes an ethtool_channels
    // struct to ifru_data, which points at `channels` (correct size, live).
    if unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCETHTOOL, &mut req) } < 0 {
        return match last_errno() {
            libc::ENODEV => Err(no_such_interface(name)),
            libc::EOPNOTSUPP => Ok(1),
            errno => Err(Error::syscall("ioctl(ETHTOOL_GCHANNELS)", errno, format!("reading queues of {name}"))),
        };
    }
    Ok((channels.rx_count + channels.combined_count).max(1))
}

/// Raise RLIMIT_MEMLOCK so that `bytes` more can be locked for a UMEM.
/// Kernels account UMEM pages against it unless the process has CAP_IPC_LOCK.
pub fn ensure_memlock(bytes: u64) -> Result<()> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes to the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut lim) } != 0 {
        return Err(Error::last_os("getrlimit(RLIMIT_MEMLOCK)", "checking the memlock limit"));
    }
    if lim.rlim_cur == libc::RLIM_INFINITY {
        return Ok(());
    }
    let wanted = libc::RLIM_INFINITY;
    let new = libc::rlimit { rlim_cur: wanted, rlim_max: wanted };
    // SAFETY: setrlimit reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &new) } == 0 {
        return Ok(());
    }
    // Without CAP_SYS_RESOURCE we may still raise the soft limit to the hard one.
    let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
    // SAFETY: as above.
    unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &raised) };
    if lim.rlim_max != libc::RLIM_INFINITY && lim.rlim_max < bytes {
        // Registration may still succeed with CAP_IPC_LOCK; the caller maps
        // ENOBUFS/ENOMEM from the UMEM registration to MemlockLimit.
        return Ok(());
    }
    Ok(())
}

/// An eventfd used to wake a thread blocked in `poll` (port close).
pub struct EventFd(OwnedFd);

impl EventFd {
    pub fn new() -> Result<Self> {
        // SAFETY: plain eventfd(2); the fd is owned below.
        let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if fd < 0 {
            return Err(Error::last_os("eventfd", "creating the wake-up eventfd"));
        }
        // SAFETY: fd is fresh and ours.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    pub fn signal(&self) {
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd. An error
        // (counter overflow) still leaves the fd readable, which is all we need.
        unsafe { libc::write(self.0.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    pub fn drain(&self) {
        let mut value: u64 = 0;
        // SAFETY: reads 8 bytes into a live u64; EAGAIN when not signalled is fine.
        unsafe { libc::read(self.0.as_raw_fd(), (&mut value as *mut u64).cast(), 8) };
    }

    pub fn raw(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

/// Block until one of `fds` is readable or `timeout_ms` passes. Returns the
/// number of ready fds (0 on timeout). EINTR counts as a timeout.
pub fn poll_readable(fds: &[RawFd], timeout_ms: i32) -> Result<usize> {
    let mut pfds: Vec<libc::pollfd> =
        fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }).collect();
    // SAFETY: pfds is a live array of pollfd of the length we pass.
    let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
    if n < 0 {
        let errno = last_errno();
        if errno == libc::EINTR {
            return Ok(0);
        }
        return Err(Error::syscall("poll", errno, "waiting for frames"));
    }
    Ok(n as usize)
}

/// Move the calling thread into the named network namespace
/// (`/var/run/netns/NAME`, as made by `ip netns add`).
pub fn enter_netns(name: &str) -> Result<()> {
    let path = if name.starts_with('/') { name.to_string() } else { format!("/var/run/netns/{name}") };
    let cpath =
        CString::new(path.clone()).map_err(|_| Error::new(ErrorCode::InvalidOption, "netns name contains NUL"))?;
    // SAFETY: cpath is a valid NUL-terminated string.
    let fd = unsafe { libc::open(cpath.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Error::last_os("open", format!("opening network namespace {path}")));
    }
    // SAFETY: fd is fresh and ours; OwnedFd closes it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: setns on a valid netns fd affects only the calling thread.
    if unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(Error::last_os("setns", format!("entering network namespace {path}")));
    }
    Ok(())
}

/// Pin the calling thread to one CPU (benchmarks: keeps the generator and
/// the consumer from trading places on small machines).
pub fn pin_thread_to_cpu(cpu: usize) -> Result<()> {
    // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(Error::new(ErrorCode::InvalidOption, format!("no CPU {cpu}")));
    }
    // SAFETY: CPU_SET writes a bit inside the set we own (cpu < CPU_SETSIZE checked).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: pid 0 means the calling thread; set is a valid cpu_set_t.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) } != 0 {
        return Err(Error::last_os("sched_setaffinity", format!("pinning to CPU {cpu}")));
    }
    Ok(())
}

/// Mark a descriptor close-on-exec.
pub fn set_cloexec(fd: RawFd) -> Result<()> {
    // SAFETY: F_GETFD/F_SETFD only read and write the descriptor's flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    // SAFETY: as above.
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) } < 0 {
        return Err(Error::last_os("fcntl(F_SETFD)", "marking a socket close-on-exec"));
    }
    Ok(())
}

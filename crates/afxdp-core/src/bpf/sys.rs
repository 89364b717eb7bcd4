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

/// `BPF_PROG_TEST_RUN`, also known as BPF_PROG_RUN.
const BPF_PROG_TEST_RUN: libc::c_long = 10;
/// Run XDP for real on fresh frames (redirects transmit).
pub const BPF_F_TEST_XDP_LIVE_FRAMES: u32 = 1 << 1;

/// The `test` member of `union bpf_attr` (<linux/bpf.h>), up to `batch_size`.
#[repr(C)]
#[derive(Default)]
struct TestRunAttr {
    prog_fd: u32,
    retval: u32,
    data_size_in: u32,
    data_size_out: u32,
    data_in: u64,
    data_out: u64,
    repeat: u32,
    duration: u32,
    ctx_size_in: u32,
    ctx_size_out: u32,
    ctx_in: u64,
    ctx_out: u64,
    flags: u32,
    cpu: u32,
    batch_size: u32,
    _pad: u32,
}
const _: () = assert!(std::mem::size_of::<TestRunAttr>() == 80);

/// What one BPF_PROG_RUN returned.
#[derive(Clone, Copy, Debug, Default)]
pub struct TestRunResult {
    /// The program's return value (of the last run).
    pub retval: u32,
    /// Mean time per run in nanoseconds, as the kernel measured it.
    pub duration_ns: u32,
    /// Bytes of output data (the frame as the program left it).
    pub data_size_out: u32,
}

/// Input of one BPF_PROG_RUN.
pub struct TestRun<'a> {
    pub data_in: &'a [u8],
    /// Receives the frame as the program left it (not with live frames).
    pub data_out: Option<&'a mut [u8]>,
    /// The context (`struct xdp_md`) to start from, as bytes.
    pub ctx_in: Option<&'a [u8]>,
    pub repeat: u32,
    pub flags: u32,
    /// Frames per batch with live frames (0: the kernel's default, 64).
    pub batch_size: u32,
}

/// Runs the program `prog_fd` over `run.data_in` in the kernel.
pub fn prog_test_run(
    prog_fd: std::os::fd::BorrowedFd<'_>,
    run: TestRun<'_>,
) -> std::result::Result<TestRunResult, i32> {
    use std::os::fd::AsRawFd;
    let (data_out, data_size_out) = match run.data_out {
        Some(out) => (out.as_mut_ptr() as u64, out.len() as u32),
        None => (0, 0),
    };
    let (ctx_in, ctx_size_in) = match run.ctx_in {
        Some(ctx) => (ctx.as_ptr() as u64, ctx.len() as u32),
        None => (0, 0),
    };
    let mut attr = TestRunAttr {
        prog_fd: prog_fd.as_raw_fd() as u32,
        data_size_in: run.data_in.len() as u32,
        data_size_out,
        data_in: run.data_in.as_ptr() as u64,
        data_out,
        repeat: run.repeat,
        ctx_size_in,
        ctx_in,
        flags: run.flags,
        batch_size: run.batch_size,
        ..Default::default()
    };
    // SAFETY: attr is a live, correctly laid out bpf_attr prefix whose
    // pointers (data_in, data_out, ctx_in) point into buffers borrowed for
    // the duration of the call with the sizes given; the kernel writes only
    // retval/duration/sizes in attr and at most data_size_out bytes out.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            BPF_PROG_TEST_RUN,
            &mut attr as *mut TestRunAttr,
            std::mem::size_of::<TestRunAttr>() as libc::c_uint,
        )
    };
    if rc < 0 {
        return Err(crate::error::last_errno());
    }
    Ok(TestRunResult { retval: attr.retval, duration_ns: attr.duration, data_size_out: attr.data_size_out })
}

/// CLOCK_MONOTONIC in nanoseconds: the clock of bpf_ktime_get_ns(), which
/// the program compares TTL deadlines against.
pub fn monotonic_ns() -> Result<u64> {
    // SAFETY: timespec is plain data; all-zero is valid.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: clock_gettime writes one timespec into a live local.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } != 0 {
        return Err(Error::last_os("clock_gettime", "reading CLOCK_MONOTONIC"));
    }
    Ok(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}

/// A BPF ARRAY map of u64 created with BPF_F_MMAPABLE, mapped into our
/// memory: user space writes its values directly, without a syscall each.
pub struct MmapArray {
    ptr: std::ptr::NonNull<u64>,
    len: usize,
}

// SAFETY: the mapping is plain shared memory owned by this value; moving it
// between threads is fine, and `&mut self` guards every write from our side.
unsafe impl Send for MmapArray {}
// SAFETY: `&self` gives no access to the memory at all.
unsafe impl Sync for MmapArray {}

impl MmapArray {
    /// Maps the `len` u64 values of the array map behind `fd`.
    pub fn map(fd: std::os::fd::BorrowedFd<'_>, len: usize) -> Result<MmapArray> {
        use std::os::fd::AsRawFd;
        let bytes = len * 8;
        // SAFETY: a fresh shared mapping of the map's own pages; the kernel
        // checks that `bytes` does not exceed the map and that it is mmapable.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::last_os("mmap", "mapping a BPF array map"));
        }
        let ptr = std::ptr::NonNull::new(ptr.cast::<u64>()).expect("mmap never returns null on success");
        Ok(MmapArray { ptr, len })
    }

    pub fn as_mut_slice(&mut self) -> &mut [u64] {
        // SAFETY: ptr maps len u64 values (page-aligned, so aligned for u64)
        // for as long as self lives; &mut self makes this the only slice.
        // The program reads the same memory concurrently, which is why
        // writers only touch the rule table it is not using.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for MmapArray {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `map`; no slice of it
        // can outlive self.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len * 8) };
    }
}

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_MAP_UPDATE_ELEM: libc::c_long = 2;
const BPF_MAP_TYPE_ARRAY: u32 = 2;
const BPF_MAP_TYPE_ARRAY_OF_MAPS: u32 = 12;

/// The map-creation members of `union bpf_attr`, up to `map_name`.
#[repr(C)]
#[derive(Default)]
struct MapCreateAttr {
    map_type: u32,
    key_size: u32,
    value_size: u32,
    max_entries: u32,
    map_flags: u32,
    inner_map_fd: u32,
    numa_node: u32,
    map_name: [u8; 16],
}

/// The element members of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct MapElemAttr {
    map_fd: u32,
    _pad: u32,
    key: u64,
    value: u64,
    flags: u64,
}

fn bpf_call<T>(cmd: libc::c_long, attr: &mut T) -> std::result::Result<libc::c_long, i32> {
    // SAFETY: attr is a live, correctly laid out prefix of union bpf_attr
    // for `cmd` (the kernel zero-fills the rest); its pointers, if any,
    // point at locals of the caller that outlive the call.
    let rc = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr as *mut T, std::mem::size_of::<T>() as libc::c_uint) };
    if rc < 0 {
        Err(crate::error::last_errno())
    } else {
        Ok(rc)
    }
}

fn map_create(map_type: u32, inner_map_fd: u32, name: &[u8]) -> std::result::Result<std::os::fd::OwnedFd, i32> {
    use std::os::fd::FromRawFd;
    let mut attr =
        MapCreateAttr { map_type, key_size: 4, value_size: 4, max_entries: 1, inner_map_fd, ..Default::default() };
    attr.map_name[..name.len()].copy_from_slice(name);
    let fd = bpf_call(BPF_MAP_CREATE, &mut attr)?;
    // SAFETY: BPF_MAP_CREATE returned a new fd that nothing else owns.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// Waits, when asked, until every run of a non-sleepable BPF program (XDP
/// included) that had started has finished.
///
/// How: an update of a map-of-maps makes the kernel wait for an RCU grace
/// period before returning (kernel/bpf/syscall.c, maybe_wait_bpf_programs:
/// "so that userspace, when we return to it, knows that all non-sleepable
/// programs that could be running use the new map value"), and every such
/// run is an RCU read-side critical section. The maps here exist only for
/// that and no program uses them.
pub struct ProgramBarrier {
    outer: std::os::fd::OwnedFd,
    inner: std::os::fd::OwnedFd,
}

impl ProgramBarrier {
    pub fn new() -> Result<ProgramBarrier> {
        use std::os::fd::AsRawFd;
        let fail = |errno: i32| {
            Error::syscall_needing("bpf(BPF_MAP_CREATE)", errno, "CAP_BPF", "creating the rule-swap barrier maps")
        };
        let inner = map_create(BPF_MAP_TYPE_ARRAY, 0, b"afxdp_gp_inner").map_err(fail)?;
        let outer = map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, inner.as_raw_fd() as u32, b"afxdp_gp").map_err(fail)?;
        Ok(ProgramBarrier { outer, inner })
    }

    /// Returns once every BPF program run that started before the call has
    /// finished (one RCU grace period: milliseconds).
    pub fn wait(&self) -> Result<()> {
        use std::os::fd::AsRawFd;
        let key: u32 = 0;
        let value: u32 = self.inner.as_raw_fd() as u32;
        let mut attr = MapElemAttr {
            map_fd: self.outer.as_raw_fd() as u32,
            key: &key as *const u32 as u64,
            value: &value as *const u32 as u64,
            ..Default::default()
        };
        bpf_call(BPF_MAP_UPDATE_ELEM, &mut attr).map(|_| ()).map_err(|errno| {
            Error::syscall_needing("bpf(BPF_MAP_UPDATE_ELEM)", errno, "CAP_BPF", "waiting for running BPF programs")
        })
    }
}

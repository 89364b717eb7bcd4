//! Verdict.Pass: hand frames a handler did not want back to the kernel
//! stack, as if they had just been received on their ingress interface.
//!
//! Mechanism (see `bpf/pass.h` for the kernel side): the passed frames of a
//! batch are copied into this port's lane of an mmapable BPF array, and one
//! `BPF_PROG_RUN` with `BPF_F_TEST_XDP_LIVE_FRAMES` runs the interface's
//! steering program `n` times over a dummy frame carrying our metadata
//! prefix; each run swaps in the next frame of the lane and returns
//! XDP_PASS, and the kernel delivers the batch with
//! `netif_receive_skb_list()` on the interface (`ctx.ingress_ifindex`).
//! One syscall per batch (of up to [`SLOTS`] frames), no per-frame one.
//!
//! The alternative, a TAP device, was rejected: frames would arrive on the
//! TAP, not on the ingress interface (sockets bound to it, its routes,
//! conntrack zones and `tcpdump -i` would not see them), and it costs a
//! write() per frame. Kernels without live frames (< 5.18) get an error on
//! the first pass; the frames are then dropped and counted.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;

use aya::programs::ProgramFd;
use aya::Ebpf;

use crate::bpf::sys::{prog_test_run, MmapArray, TestRun, BPF_F_TEST_XDP_LIVE_FRAMES};
use crate::error::{Error, ErrorCode, Result};

/// Mirrors of `bpf/afxdp.h` (sizes asserted below).
pub const LANES: usize = 8;
pub const SLOTS: usize = 64;
const SLOT_SIZE: usize = 4096;
/// Longest frame a slot holds (the kernel's own limit for a live frame in
/// one page is lower, about 3.3 KB: longer frames fail and are counted).
pub const MAX_FRAME: usize = SLOT_SIZE - 8;
const CONFIG_WORDS: usize = (16 + 8 * LANES) / 8;
const CONFIG_MAP: &str = "afxdp_pass_config";
const FRAMES_MAP: &str = "afxdp_pass_frames";
/// Byte offsets in `struct afxdp_pass_config`.
const CFG_COOKIE: usize = 0;
const CFG_GENERIC: usize = 8;
const CFG_NEXT: usize = 16;
const CFG_FAILED: usize = 16 + 4 * LANES;
/// Size of `struct afxdp_pass_meta`, the prefix the kernel keeps as metadata.
const META_LEN: usize = 16;
/// The dummy frame each run starts from (the program resizes it).
const DUMMY_LEN: usize = 60;

/// The pass state of one steering program (one interface): its maps,
/// mapped into our memory, a program fd, and which lanes are taken.
pub struct PassShared {
    prog_fd: ProgramFd,
    /// Both maps behind one lock: lanes are disjoint, but the mappings are
    /// reached through `&mut` only.
    maps: Mutex<PassMaps>,
    /// Bit i set: lane i belongs to a port.
    lanes: AtomicU8,
    cookie: u64,
}

struct PassMaps {
    config: MmapArray,
    frames: MmapArray,
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<PassShared>();
    assert!(LANES <= 8, "lanes are bits of an AtomicU8");
};

impl PassShared {
    /// Takes the pass maps out of the freshly loaded steering object.
    pub(crate) fn new(ebpf: &mut Ebpf, program: &str) -> Result<PassShared> {
        let mut map_fd = |name: &str| -> Result<aya::maps::MapData> {
            match ebpf.take_map(name) {
                Some(aya::maps::Map::Array(data)) => Ok(data),
                _ => Err(Error::new(ErrorCode::BpfLoad, format!("the steering object has no array {name}"))),
            }
        };
        let config_map = map_fd(CONFIG_MAP)?;
        let frames_map = map_fd(FRAMES_MAP)?;
        let config = MmapArray::map(config_map.fd().as_fd(), CONFIG_WORDS)?;
        let frames = MmapArray::map(frames_map.fd().as_fd(), LANES * SLOTS * SLOT_SIZE / 8)?;
        let prog: &aya::programs::Xdp = ebpf
            .program(program)
            .and_then(|p| p.try_into().ok())
            .ok_or_else(|| Error::new(ErrorCode::BpfLoad, format!("the steering object has no program {program}")))?;
        let prog_fd = prog
            .fd()
            .map_err(|e| crate::bpf::from_aya(&e, "the steering program's fd"))?
            .try_clone()
            .map_err(|e| Error::new(ErrorCode::Syscall, format!("duplicating the steering program's fd: {e}")))?;
        Ok(PassShared { prog_fd, maps: Mutex::new(PassMaps { config, frames }), lanes: AtomicU8::new(0), cookie: 0 }
            .with_cookie(random_cookie()?))
    }

    fn with_cookie(mut self, cookie: u64) -> Self {
        self.cookie = cookie;
        self
    }

    /// Arms the program: from now on it recognises our frames (and, in skb
    /// mode, the skbs built from them). Until then its pass hook costs one
    /// array lookup per packet.
    pub(crate) fn arm(&self, generic: bool) {
        let mut maps = self.lock();
        let bytes = words_as_bytes(maps.config.as_mut_slice());
        bytes[CFG_GENERIC..CFG_GENERIC + 4].copy_from_slice(&u32::from(generic).to_ne_bytes());
        bytes[CFG_COOKIE..CFG_COOKIE + 8].copy_from_slice(&self.cookie.to_ne_bytes());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PassMaps> {
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take_lane(&self) -> Option<u32> {
        let mut current = self.lanes.load(Ordering::Relaxed);
        loop {
            let free = (!current).trailing_zeros();
            if free as usize >= LANES {
                return None;
            }
            match self.lanes.compare_exchange(current, current | (1 << free), Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return Some(free),
                Err(now) => current = now,
            }
        }
    }

    fn release_lane(&self, lane: u32) {
        self.lanes.fetch_and(!(1u8 << lane), Ordering::AcqRel);
    }
}

/// A port's lane: where its passed frames wait for the next injection.
pub struct PassLane {
    steering: std::sync::Arc<crate::bpf::Steering>,
    lane: u32,
    ifindex: u32,
    queue: u32,
    /// Frames copied into the lane since the last injection.
    queued: usize,
    /// The run's input: metadata prefix, then the dummy frame.
    data_in: [u8; META_LEN + DUMMY_LEN],
}

/// What one injection did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Injected {
    pub passed: u64,
    pub failed: u64,
}

impl PassLane {
    /// Takes a free lane of the interface's steering program and arms it.
    pub fn acquire(steering: &std::sync::Arc<crate::bpf::Steering>, queue: u32) -> Result<PassLane> {
        let shared = steering.pass();
        let lane = shared.take_lane().ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidOption,
                format!("at most {LANES} ports of one interface can pass frames to the kernel at once"),
            )
        })?;
        shared.arm(steering.mode() == crate::bpf::AttachedMode::Skb);
        let mut data_in = [0u8; META_LEN + DUMMY_LEN];
        data_in[0..4].copy_from_slice(&lane.to_ne_bytes());
        data_in[8..16].copy_from_slice(&shared.cookie.to_ne_bytes());
        Ok(PassLane {
            steering: std::sync::Arc::clone(steering),
            lane,
            ifindex: steering.ifindex(),
            queue,
            queued: 0,
            data_in,
        })
    }

    /// Frames waiting for the next injection.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// True when the lane holds a full injection.
    pub fn is_full(&self) -> bool {
        self.queued >= SLOTS
    }

    /// Copies one frame into the lane. False (nothing copied) when the lane
    /// is full (inject first) or the frame is longer than a slot.
    ///
    /// # Safety
    /// `src` must point at `len` readable bytes that nobody writes during
    /// the call (a frame of the caller's batch, in its UMEM).
    pub unsafe fn push(&mut self, src: *const u8, len: usize) -> bool {
        if self.queued >= SLOTS || len > MAX_FRAME {
            return false;
        }
        let shared = self.steering.pass();
        let mut maps = shared.lock();
        let slot = (self.lane as usize * SLOTS + self.queued) * SLOT_SIZE;
        let bytes = words_as_bytes(maps.frames.as_mut_slice());
        bytes[slot..slot + 4].copy_from_slice(&(len as u32).to_ne_bytes());
        let dst = &mut bytes[slot + 8..slot + 8 + len];
        // SAFETY: the caller guarantees `len` readable, unchanging bytes at
        // `src`; `dst` is exactly `len` bytes of our own mapping, which does
        // not overlap the UMEM.
        unsafe { std::ptr::copy_nonoverlapping(src, dst.as_mut_ptr(), len) };
        self.queued += 1;
        true
    }

    /// Delivers the queued frames to the kernel stack: one BPF_PROG_RUN.
    pub fn inject(&mut self) -> Result<Injected> {
        let n = std::mem::take(&mut self.queued);
        if n == 0 {
            return Ok(Injected::default());
        }
        let shared = self.steering.pass();
        let failed_before = {
            let mut maps = shared.lock();
            let cfg = words_as_bytes(maps.config.as_mut_slice());
            let next = CFG_NEXT + 4 * self.lane as usize;
            cfg[next..next + 4].copy_from_slice(&0u32.to_ne_bytes());
            read_u32(cfg, CFG_FAILED + 4 * self.lane as usize)
        };
        let ctx = xdp_md(self.ifindex, self.queue);
        let run = TestRun {
            data_in: &self.data_in,
            data_out: None,
            ctx_in: Some(&ctx),
            repeat: n as u32,
            flags: BPF_F_TEST_XDP_LIVE_FRAMES,
            batch_size: n as u32,
        };
        let fd: BorrowedFd<'_> = shared.prog_fd.as_fd();
        match prog_test_run(fd, run) {
            Ok(_) => {}
            Err(errno) => return Err(inject_error(errno)),
        }
        let failed_after = {
            let mut maps = shared.lock();
            read_u32(words_as_bytes(maps.config.as_mut_slice()), CFG_FAILED + 4 * self.lane as usize)
        };
        let failed = u64::from(failed_after.wrapping_sub(failed_before)).min(n as u64);
        Ok(Injected { passed: n as u64 - failed, failed })
    }
}

impl Drop for PassLane {
    fn drop(&mut self) {
        self.steering.pass().release_lane(self.lane);
    }
}

/// `struct xdp_md` as BPF_PROG_RUN takes it: the metadata prefix ends at
/// `data`, the frame at `data_end`; the frame arrives on `ifindex`.
fn xdp_md(ifindex: u32, queue: u32) -> [u8; 24] {
    let fields = [META_LEN as u32, (META_LEN + DUMMY_LEN) as u32, 0, ifindex, queue, 0];
    let mut out = [0u8; 24];
    for (i, v) in fields.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&v.to_ne_bytes());
    }
    out
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn words_as_bytes(words: &mut [u64]) -> &mut [u8] {
    // SAFETY: u8 has no alignment or validity requirements; the byte view
    // covers exactly the words' memory and borrows them mutably.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(words)) }
}

fn random_cookie() -> Result<u64> {
    let mut buf = [0u8; 8];
    loop {
        // SAFETY: getrandom writes at most buf.len() bytes into buf.
        let n = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n == buf.len() as isize {
            break;
        }
        if n < 0 && crate::error::last_errno() != libc::EINTR {
            return Err(Error::last_os("getrandom", "making the pass cookie"));
        }
    }
    // Zero means "pass unused" to the program.
    Ok(u64::from_ne_bytes(buf).max(1))
}

fn inject_error(errno: i32) -> Error {
    let err =
        Error::syscall_needing("bpf(BPF_PROG_RUN)", errno, "CAP_BPF and CAP_NET_ADMIN", "passing frames to the kernel");
    match errno {
        libc::EOPNOTSUPP | 524 /* ENOTSUPP */ | libc::EINVAL => Error::new(
            ErrorCode::Syscall,
            format!("{}: Verdict.Pass needs BPF_F_TEST_XDP_LIVE_FRAMES (Linux 5.18 or newer)", err.message),
        ),
        _ => err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md_layout_matches_struct_xdp_md() {
        let md = xdp_md(7, 3);
        assert_eq!(read_u32(&md, 0), 16, "data: after the metadata");
        assert_eq!(read_u32(&md, 4), 76, "data_end");
        assert_eq!(read_u32(&md, 8), 0, "data_meta must be 0");
        assert_eq!(read_u32(&md, 12), 7);
        assert_eq!(read_u32(&md, 16), 3);
        assert_eq!(read_u32(&md, 20), 0, "egress_ifindex must be 0");
    }
}

//! A UMEM and the ports (AF_XDP sockets) that share it: setting them up
//! (registration, sockets, steering), their statistics, and closing. The
//! batch ABI itself (`rx`, `commit`, `send`) lives in `batch`, over the
//! rings of `rings`; this module hands it the kernel's rings.
//!
//! Nothing here allocates after `UmemGroup::new` and `add_port`. The group
//! is `!Send` (xdpilone's `Umem` is): one group per thread.

use std::os::fd::RawFd;
use std::sync::Arc;

use xdpilone::{DeviceQueue, IfInfo, Socket, SocketConfig, Umem, UmemConfig, User};

use crate::batch::{DataPath, Port};
use crate::bpf::{AttachMode, Steering};
use crate::error::{Error, ErrorCode, Result};
use crate::frames::FrameCounts;
use crate::mmap::MmapArea;
use crate::rings::XskRings;
use crate::sys;

pub use crate::batch::{
    PortCounters, PortFrames, KERNEL_HEADROOM, MAX_PORTS, VERDICT_DROP, VERDICT_FORWARD_BASE, VERDICT_PASS, VERDICT_TX,
};

const XDP_ZEROCOPY: u16 = 1 << 2;
const XDP_COPY: u16 = 1 << 1;
const XDP_USE_NEED_WAKEUP: u16 = 1 << 3;
/// Multi-buffer: a frame may span descriptors (Linux >= 6.6).
const XDP_USE_SG: u16 = 1 << 4;

#[derive(Clone, Debug)]
pub struct UmemOptions {
    pub frame_size: u32,
    pub frames: u32,
}

impl Default for UmemOptions {
    fn default() -> Self {
        UmemOptions { frame_size: 4096, frames: 4096 }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZeroCopy {
    Auto,
    On,
    Off,
}

#[derive(Clone, Debug)]
pub struct PortOptions {
    pub interface: String,
    pub queue: u32,
    pub mode: AttachMode,
    pub zero_copy: ZeroCopy,
    /// Most frames handed out per `rx` call.
    pub batch_size: u32,
    /// RX and TX ring sizes (powers of two).
    pub ring_size: u32,
    /// Steering rules to install on the interface before the socket is bound.
    pub rules: Option<crate::bpf::RuleSet>,
    /// Busy polling (see `sockopt`): off by default.
    pub busy_poll: bool,
    /// Copy-mode descriptors per `sendto`: None for the TX ring's size
    /// (where the kernel allows), Some(0) for the kernel's default.
    pub tx_budget: Option<u32>,
    /// Multi-buffer (jumbo frames, XDP_USE_SG + the frags program): None
    /// enables it only when the interface's MTU needs more than one frame,
    /// so ports that do not need it keep the plain fast path.
    pub multi_buffer: Option<bool>,
}

impl PortOptions {
    pub fn new(interface: &str) -> Self {
        PortOptions {
            interface: interface.to_string(),
            queue: 0,
            mode: AttachMode::Auto,
            zero_copy: ZeroCopy::Auto,
            batch_size: 64,
            ring_size: 2048,
            rules: None,
            busy_poll: false,
            tx_budget: None,
            multi_buffer: None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct XdpStats {
    pub rx_dropped: u64,
    pub rx_invalid_descs: u64,
    pub tx_invalid_descs: u64,
    pub rx_ring_full: u64,
    pub rx_fill_ring_empty_descs: u64,
    pub tx_ring_empty_descs: u64,
}

#[derive(Clone, Debug)]
pub struct PortStats {
    pub counters: PortCounters,
    pub xdp: XdpStats,
    pub frames: PortFrames,
    pub interface: String,
    pub ifindex: u32,
    pub queue: u32,
    pub attach_mode: &'static str,
    pub zero_copy: bool,
    pub tuning: crate::sockopt::Tuning,
    /// Bound with XDP_USE_SG (frames may span several UMEM frames).
    pub multi_buffer: bool,
}

/// What a port keeps beside its rings.
pub struct PortMeta {
    interface: String,
    ifindex: u32,
    queue: u32,
    steering: Arc<Steering>,
    /// Signalled to end a wait on this port (close).
    wakeup: Arc<sys::EventFd>,
    /// Verdict.Pass lane, taken on the first pass.
    pass: Option<crate::pass::PassLane>,
    tuning: crate::sockopt::Tuning,
}

type XskPort = Port<XskRings, PortMeta>;

pub struct UmemGroup {
    // Sockets must go before the UMEM they reference, and the UMEM before the
    // memory: fields drop in declaration order.
    data: DataPath<XskRings, PortMeta>,
    /// The registration; None once closed (the socket is released then,
    /// not when JavaScript garbage-collects this object).
    umem: Option<Umem>,
    umem_config: UmemConfig,
    /// Whether the UMEM's first socket got zero-copy (set by the first bind).
    umem_zero_copy: Option<bool>,
    /// Whether the UMEM's first socket was bound with XDP_USE_SG: sockets
    /// sharing the UMEM inherit it (the kernel refuses the flag on them).
    umem_multi_buffer: Option<bool>,
    /// Prefetch received frames in `rx` (off with AFXDP_NO_PREFETCH=1 in
    /// the environment, for before/after benchmarks only).
    prefetch: bool,
    area: Arc<MmapArea>,
    /// Verdicts with Pass turned into Drop (reused, never reallocated).
    pass_verdicts: Vec<u8>,
    closed: bool,
}

fn validate_umem(opts: &UmemOptions) -> Result<()> {
    if opts.frame_size != 2048 && opts.frame_size != 4096 {
        return Err(Error::new(
            ErrorCode::InvalidFrameSize,
            format!("frame size must be 2048 or 4096, got {}", opts.frame_size),
        ));
    }
    // 2^20 frames of 4 KiB is 4 GiB; offsets in the batch table are u32.
    if opts.frames < 64 || opts.frames > (1 << 20) || !opts.frames.is_power_of_two() {
        return Err(Error::new(
            ErrorCode::InvalidFrameCount,
            format!("frame count must be a power of two from 64 to 1048576, got {}", opts.frames),
        ));
    }
    if u64::from(opts.frames) * u64::from(opts.frame_size) > u64::from(u32::MAX) {
        return Err(Error::new(ErrorCode::InvalidFrameCount, "the UMEM must stay below 4 GiB"));
    }
    Ok(())
}

/// An on/off switch from the environment: set, and neither empty nor "0"
/// (as AFXDP_DEBUG reads in ts/port.ts).
fn env_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

fn xdp_errno(err: xdpilone::Errno) -> i32 {
    err.get_raw()
}

/// Register `area` as a UMEM (creates the UMEM's own AF_XDP socket).
fn register_umem(config: &UmemConfig, area: &Arc<MmapArea>) -> Result<Umem> {
    // SAFETY: the area is a page-aligned mapping that `area` keeps alive at
    // least as long as the Umem (UmemGroup drops the Umem before the area);
    // frames are handed to the kernel only through this Umem's rings.
    unsafe { Umem::new(config.clone(), area.as_slice_ptr()) }.map_err(|e| {
        let errno = xdp_errno(e);
        match errno {
            libc::ENOBUFS | libc::ENOMEM => Error::syscall("setsockopt(XDP_UMEM_REG)", errno, "registering the UMEM")
                .with_code(ErrorCode::MemlockLimit),
            libc::EPERM | libc::EACCES => {
                Error::syscall_needing("socket(AF_XDP)", errno, "CAP_NET_RAW", "creating the UMEM socket")
            }
            libc::EAFNOSUPPORT => Error::syscall("socket(AF_XDP)", errno, "this kernel has no AF_XDP sockets"),
            _ => Error::syscall("setsockopt(XDP_UMEM_REG)", errno, "registering the UMEM"),
        }
    })
}

impl UmemGroup {
    pub fn new(opts: &UmemOptions) -> Result<Self> {
        validate_umem(opts)?;
        let len = opts.frames as usize * opts.frame_size as usize;
        sys::ensure_memlock(len as u64)?;
        let area = Arc::new(MmapArea::new(len)?);
        let config = UmemConfig {
            // The fill ring can hold every frame; the refill target (in
            // `batch`) decides how many we actually give the kernel.
            fill_size: opts.frames,
            complete_size: opts.frames,
            frame_size: opts.frame_size,
            headroom: 0,
            flags: 0,
        };
        let umem = register_umem(&config, &area)?;
        Ok(UmemGroup {
            data: DataPath::new(opts.frames, opts.frame_size),
            umem: Some(umem),
            umem_config: config,
            umem_zero_copy: None,
            umem_multi_buffer: None,
            area,
            pass_verdicts: Vec::with_capacity(1024),
            closed: false,
            prefetch: !env_flag("AFXDP_NO_PREFETCH"),
        })
    }

    pub fn area(&self) -> &Arc<MmapArea> {
        &self.area
    }

    pub fn frame_size(&self) -> u32 {
        self.data.frames().frame_size()
    }

    /// Open a socket on (interface, queue) in this UMEM. The steering program
    /// is attached to the interface if this process has not done so yet.
    pub fn add_port(&mut self, opts: &PortOptions) -> Result<usize> {
        self.ensure_open()?;
        if self.data.port_slots() >= MAX_PORTS {
            return Err(Error::new(ErrorCode::InvalidOption, "at most 254 ports can share a UMEM"));
        }
        if opts.batch_size == 0 || opts.batch_size > 1024 {
            return Err(Error::new(ErrorCode::InvalidOption, "batch size must be 1..=1024"));
        }
        if !opts.ring_size.is_power_of_two() || opts.ring_size < 64 || opts.ring_size > 16384 {
            return Err(Error::new(ErrorCode::InvalidOption, "ring size must be a power of two in 64..=16384"));
        }
        let ifindex = sys::ifindex(&opts.interface)?;
        let queues = sys::rx_queue_count(&opts.interface)?;
        if opts.queue >= queues {
            return Err(Error::new(
                ErrorCode::QueueOutOfRange,
                format!("{} has {queues} RX queue(s); queue {} does not exist", opts.interface, opts.queue),
            ));
        }
        let multi_buffer = match (self.umem_multi_buffer, opts.multi_buffer) {
            (Some(umem_sg), Some(asked)) if umem_sg != asked => {
                return Err(Error::new(
                    ErrorCode::InvalidOption,
                    format!(
                        "this UMEM's sockets are {}multi-buffer; a port sharing it cannot differ",
                        if umem_sg { "" } else { "not " }
                    ),
                ));
            }
            (Some(umem_sg), _) => umem_sg,
            (None, Some(asked)) => asked,
            (None, None) => self.needs_multi_buffer(&opts.interface)?,
        };
        // Without multi-buffer, in every mode: skb mode takes the port but
        // the kernel then drops every frame too long for a UMEM frame,
        // silently (rx_dropped).
        if !multi_buffer {
            self.check_mtu(&opts.interface)?;
        }
        let steering = Steering::acquire_with(ifindex, &opts.interface, opts.mode, multi_buffer)?;
        // Rules go in before the socket joins the XSKMAP: a fresh program
        // steers everything, and frames steered by mistake (SSH, ARP) could
        // never go back to the kernel.
        if let Some(rules) = &opts.rules {
            steering.set_rules(rules)?;
        }
        let (user, device, zero_copy) = self.bind_socket(opts, ifindex, multi_buffer)?;
        let tuning = crate::sockopt::apply(user.as_raw_fd(), opts.ring_size, opts.tx_budget, opts.busy_poll)?;
        let rx = user.map_rx().map_err(|e| Error::syscall("mmap(XDP_RX_RING)", xdp_errno(e), "mapping the RX ring"))?;
        let tx = user.map_tx().map_err(|e| Error::syscall("mmap(XDP_TX_RING)", xdp_errno(e), "mapping the TX ring"))?;
        let rings = XskRings { rx, tx, device, user, zero_copy, tx_size: opts.ring_size, busy_poll: tuning.busy_poll };
        let meta = PortMeta {
            interface: opts.interface.clone(),
            ifindex,
            queue: opts.queue,
            steering,
            wakeup: Arc::new(sys::EventFd::new()?),
            pass: None,
            tuning,
        };
        meta.steering.bind_socket(opts.queue, rings.user.as_raw_fd())?;
        let mut port = Port::new(rings, meta, opts.batch_size, opts.ring_size);
        port.multi_buffer = multi_buffer;
        self.data.add_port(port)
    }

    /// Whether a frame of the interface's MTU (Ethernet header, two VLAN
    /// tags) does not fit one UMEM frame after the kernel's headroom.
    fn needs_multi_buffer(&self, interface: &str) -> Result<bool> {
        Ok(sys::mtu(interface)? + 14 + 8 + KERNEL_HEADROOM > self.frame_size())
    }

    fn check_mtu(&self, interface: &str) -> Result<()> {
        let mtu = sys::mtu(interface)?;
        // A received frame lands after the kernel's XDP headroom and must
        // hold the Ethernet header with two VLAN tags plus the MTU.
        let needed = mtu + 14 + 8 + KERNEL_HEADROOM;
        if needed > self.frame_size() {
            return Err(Error::new(
                ErrorCode::MtuTooLarge,
                format!(
                    "{interface} has MTU {mtu}, which needs frames of at least {needed} bytes; frame size is {} \
                     (lower the MTU to {} or less: multi-buffer frames are not supported yet, and in any XDP \
                     mode the kernel would drop longer frames without a word)",
                    self.frame_size(),
                    self.frame_size().saturating_sub(14 + 8 + KERNEL_HEADROOM)
                ),
            ));
        }
        Ok(())
    }

    fn bind_socket(
        &mut self,
        opts: &PortOptions,
        ifindex: u32,
        multi_buffer: bool,
    ) -> Result<(User, DeviceQueue, bool)> {
        let mut info = IfInfo::invalid();
        info.from_ifindex(ifindex)
            .map_err(|e| Error::syscall("if_indextoname", xdp_errno(e), format!("interface {}", opts.interface)))?;
        info.set_queue(opts.queue);
        let first = self.data.port_slots() == 0;
        // Sockets that share the UMEM take its first socket's mode: the
        // kernel refuses copy/zero-copy/need_wakeup flags on them.
        let shared_mode;
        let attempts: &[(u16, bool)] = match (first, self.umem_zero_copy) {
            (false, Some(zc)) => {
                if opts.zero_copy == ZeroCopy::On && !zc {
                    return Err(Error::new(
                        ErrorCode::ZeroCopyUnsupported,
                        "this UMEM runs in copy mode (its first port could not use zero-copy); \
                         ports sharing it cannot be zero-copy",
                    ));
                }
                shared_mode = [(0u16, zc)];
                &shared_mode
            }
            _ => match opts.zero_copy {
                ZeroCopy::Auto => {
                    &[(XDP_ZEROCOPY | XDP_USE_NEED_WAKEUP, true), (XDP_COPY | XDP_USE_NEED_WAKEUP, false)]
                }
                ZeroCopy::On => &[(XDP_ZEROCOPY | XDP_USE_NEED_WAKEUP, true)],
                ZeroCopy::Off => &[(XDP_COPY | XDP_USE_NEED_WAKEUP, false)],
            },
        };
        let mut last_errno = 0;
        for (attempt, &(mode_flag, zero_copy)) in attempts.iter().enumerate() {
            // A fresh socket per attempt: a failed bind leaves its rings
            // configured, and rings cannot be configured twice. The first
            // port uses the UMEM's own socket (the kernel wants the UMEM's
            // socket bound before others share it), so on a retry the
            // still-unused UMEM is registered anew.
            if first && attempt > 0 {
                self.umem = Some(register_umem(&self.umem_config, &self.area)?);
            }
            let umem = self.umem.as_ref().ok_or_else(|| Error::new(ErrorCode::Closed, "this UMEM is closed"))?;
            let socket = if first { Socket::with_shared(&info, umem) } else { Socket::new(&info) }.map_err(|e| {
                Error::syscall_needing("socket(AF_XDP)", xdp_errno(e), "CAP_NET_RAW", "creating an AF_XDP socket")
            })?;
            // xdpilone opens sockets without SOCK_CLOEXEC: a child process
            // would otherwise keep the socket bound (and the queue busy)
            // after we close it.
            sys::set_cloexec(socket.as_raw_fd())?;
            let device = umem.fq_cq(&socket).map_err(|e| {
                let errno = xdp_errno(e);
                if errno == libc::EINVAL {
                    Error::new(
                        ErrorCode::QueueBusy,
                        format!("{} queue {} already has a socket in this UMEM", opts.interface, opts.queue),
                    )
                } else {
                    Error::syscall("setsockopt(XDP_UMEM_FILL_RING)", errno, "setting up fill/completion rings")
                }
            })?;
            let config = SocketConfig {
                rx_size: std::num::NonZeroU32::new(opts.ring_size),
                tx_size: std::num::NonZeroU32::new(opts.ring_size),
                // Sockets sharing the UMEM (mode_flag 0) inherit SG from it.
                bind_flags: if multi_buffer && mode_flag != 0 { mode_flag | XDP_USE_SG } else { mode_flag },
            };
            let user = umem
                .rx_tx(&socket, &config)
                .map_err(|e| Error::syscall("setsockopt(XDP_RX_RING)", xdp_errno(e), "setting up RX/TX rings"))?;
            match umem.bind(&user) {
                Ok(()) => {
                    self.umem_zero_copy = Some(zero_copy);
                    self.umem_multi_buffer = Some(multi_buffer);
                    return Ok((user, device, zero_copy));
                }
                Err(e) => last_errno = xdp_errno(e),
            }
            if last_errno == libc::EBUSY {
                return Err(Error::syscall(
                    "bind(AF_XDP)",
                    last_errno,
                    format!("binding {} queue {}", opts.interface, opts.queue),
                )
                .with_code(ErrorCode::QueueBusy));
            }
        }
        // Zero-copy asked for and refused says so first (a driver without
        // zero-copy refuses it with or without XDP_USE_SG).
        if multi_buffer && opts.zero_copy != ZeroCopy::On && matches!(last_errno, libc::EOPNOTSUPP | libc::EINVAL) {
            return Err(Error::syscall(
                "bind(AF_XDP, XDP_USE_SG)",
                last_errno,
                format!(
                "{} queue {}: the kernel refused AF_XDP multi-buffer (Linux >= 6.6 is needed for frames larger than \
                 one UMEM frame); lower the MTU or raise frameSize",
                opts.interface, opts.queue
            ),
            )
            .with_code(ErrorCode::MtuTooLarge));
        }
        match opts.zero_copy {
            ZeroCopy::On if matches!(last_errno, libc::EOPNOTSUPP | libc::EINVAL) => Err(Error::syscall(
                "bind(AF_XDP, XDP_ZEROCOPY)",
                last_errno,
                format!("{} does not support AF_XDP zero-copy (use zeroCopy: 'auto' or false)", opts.interface),
            )
            .with_code(ErrorCode::ZeroCopyUnsupported)),
            _ => Err(Error::syscall(
                "bind(AF_XDP)",
                last_errno,
                format!("binding {} queue {}", opts.interface, opts.queue),
            )),
        }
    }

    fn ensure_open(&self) -> Result<()> {
        if self.closed {
            return Err(Error::new(ErrorCode::Closed, "this UMEM is closed"));
        }
        Ok(())
    }

    fn port(&mut self, index: usize) -> Result<&mut XskPort> {
        self.data.port(index)
    }

    /// Step 1 of the batch ABI (see `batch`).
    pub fn rx(&mut self, port: usize, table: &mut [u32]) -> Result<u32> {
        let n = self.data.rx(port, table)?;
        // The kernel wrote these frames on the CPU that received them (on a
        // veth, the sender's); the handler's first touch of each would wait
        // for its line to cross over, one frame after another. Asking for
        // all of them now (for writing: handlers edit in place) overlaps
        // those waits: where they are long, the TypeScript handler's time per
        // frame drops by a third to a half (BENCHMARKS.md, "Prefetching").
        if self.prefetch {
            for pair in table[..2 * n as usize].chunks_exact(2) {
                self.area.prefetch(pair[0] as usize);
            }
        }
        Ok(n)
    }

    /// The run loop's one call per batch: commit the port's current batch
    /// first when `commit` is true (as `commit` does), then receive the next
    /// one into `table` (as `rx` does). Returns the new batch's frame count.
    pub fn cycle(&mut self, port: usize, table: &mut [u32], verdicts: &[u8], commit: bool) -> Result<u32> {
        if commit {
            self.commit(port, table, verdicts)?;
        }
        self.rx(port, table)
    }

    /// The segments of the current batch's multi-buffer frames (see
    /// `DataPath::rx_chains`); only called when `rx` flagged one.
    pub fn rx_chains(&self, port: usize, out: &mut [u32]) -> Result<u32> {
        self.data.rx_chains(port, out)
    }

    /// Step 3 of the batch ABI (see `batch`).
    pub fn commit(&mut self, port: usize, table: &[u32], verdicts: &[u8]) -> Result<()> {
        if !verdicts.contains(&VERDICT_PASS) {
            return self.data.commit(port, table, verdicts);
        }
        // Verdict.Pass: copy the frames to the kernel (crate::pass), then
        // settle them as drops: their frames are free again at once.
        let area = Arc::clone(&self.area);
        let frame_size = u64::from(self.data.frames().frame_size());
        let p = self.data.port(port)?;
        let mut passed = 0u64;
        for i in 0..p.batch_len() {
            // A multi-buffer frame fails the room check below: Verdict.Pass
            // of a jumbo frame is not supported (counted in pass_failed).
            let (addr, _, _) = p.batch_frame(i);
            if verdicts.get(i) != Some(&VERDICT_PASS) {
                continue;
            }
            let len = table.get(2 * i + 1).copied().unwrap_or(0);
            let room = frame_size - (addr & (frame_size - 1)); // frame sizes are powers of two
            let ok = len >= 14 && u64::from(len) <= room && pass_frame(&mut p.meta, &mut p.counters, &area, addr, len);
            if ok {
                passed += 1;
            } else {
                p.counters.pass_failed += 1;
            }
        }
        let failed = flush_pass(&mut p.meta, &mut p.counters);
        self.pass_verdicts.clear();
        self.pass_verdicts.extend(verdicts.iter().map(|&v| if v == VERDICT_PASS { VERDICT_DROP } else { v }));
        let result = self.data.commit(port, table, &self.pass_verdicts);
        // The data path counted every passed frame as dropped; only failures are.
        let p = self.data.port(port)?;
        p.counters.dropped -= passed.saturating_sub(failed).min(p.counters.dropped);
        result
    }

    /// Copy `bytes` into a free frame and queue it for TX. Returns false when
    /// no frame or TX slot is free right now (back-pressure; nothing queued).
    pub fn send(&mut self, port: usize, bytes: &[u8]) -> Result<bool> {
        self.data.send(port, &self.area, bytes)
    }

    /// Housekeeping without receiving: reap completions, refill, kick TX.
    pub fn service(&mut self, port: usize) -> Result<()> {
        self.data.service(port)
    }

    /// What to poll for readability: the socket (RX ring non-empty) and the
    /// port's wake-up eventfd. The socket fd is only valid while the port is
    /// open: callers must `wake` and finish waiting before `close_port`.
    pub fn poll_fds(&mut self, port: usize) -> Result<(RawFd, Arc<sys::EventFd>)> {
        let port = self.port(port)?;
        Ok((port.rings.user.as_raw_fd(), Arc::clone(&port.meta.wakeup)))
    }

    /// The steering program of this port's interface (rules, drop list,
    /// flow offload are per interface).
    pub fn steering(&mut self, port: usize) -> Result<Arc<Steering>> {
        Ok(Arc::clone(&self.port(port)?.meta.steering))
    }

    /// End a wait in progress on this port.
    pub fn wake(&mut self, port: usize) -> Result<()> {
        self.port(port)?.meta.wakeup.signal();
        Ok(())
    }

    /// True while frames of this port wait in the TX ring (then waiting
    /// should be short: the TX needs kicking).
    pub fn tx_pending(&mut self, port: usize) -> Result<bool> {
        use crate::rings::Rings;
        Ok(self.port(port)?.rings.tx_pending() > 0)
    }

    pub fn stats(&mut self, index: usize) -> Result<PortStats> {
        let frames = self.data.port_frames(index)?;
        let port = self.port(index)?;
        let xdp = port
            .rings
            .user
            .statistics_v2()
            .map(|s| XdpStats {
                rx_dropped: s.rx_dropped,
                rx_invalid_descs: s.rx_invalid_descs,
                tx_invalid_descs: s.tx_invalid_descs,
                rx_ring_full: s.rx_ring_full,
                rx_fill_ring_empty_descs: s.rx_fill_ring_empty_descs,
                tx_ring_empty_descs: s.tx_ring_empty_descs,
            })
            .map_err(|e| Error::syscall("getsockopt(XDP_STATISTICS)", xdp_errno(e), "reading socket statistics"))?;
        Ok(PortStats {
            counters: port.counters,
            xdp,
            frames,
            interface: port.meta.interface.clone(),
            ifindex: port.meta.ifindex,
            queue: port.meta.queue,
            attach_mode: port.meta.steering.mode().as_str(),
            zero_copy: port.rings.zero_copy,
            tuning: port.meta.tuning,
            multi_buffer: port.multi_buffer,
        })
    }

    pub fn frame_counts(&self) -> FrameCounts {
        self.data.frames().counts()
    }

    /// Whether the per-frame states add up, and agree with the ports' batches.
    pub fn check_accounting(&self) -> bool {
        self.data.check_accounting()
    }

    /// Close one port: remove it from the XSKMAP, close its socket and its
    /// wake-up eventfd (a waiter holding the eventfd keeps it until it lets
    /// go). Its frames go back to the free list, except those of the UMEM's
    /// own socket (port 0), which the kernel may hold until the UMEM closes.
    pub fn close_port(&mut self, index: usize) -> Result<()> {
        if index >= self.data.port_slots() {
            return Err(Error::new(ErrorCode::Closed, format!("port {index} does not exist")));
        }
        let Some(port) = self.data.remove_port(index, index == 0) else { return Ok(()) };
        let _ = port.meta.steering.unbind_socket(port.meta.queue);
        port.meta.wakeup.signal();
        drop(port);
        Ok(())
    }

    /// Close every port and release the UMEM registration. The memory itself
    /// lives on while anyone holds the area (JavaScript's ArrayBuffer), or
    /// until `unmap_memory`.
    pub fn close(&mut self) {
        for i in 0..self.data.port_slots() {
            let _ = self.close_port(i);
        }
        self.data.release();
        self.umem = None;
        self.closed = true;
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Give the UMEM's memory back now, after `close`.
    ///
    /// # Safety
    ///
    /// As `MmapArea::unmap`: every view of the memory (JavaScript's
    /// ArrayBuffer) must be detached; the registration is gone after `close`.
    pub unsafe fn unmap_memory(&self) {
        assert!(self.closed, "unmap_memory before close");
        // SAFETY: closed, so no socket or registration lends the memory to
        // the kernel; the caller vouches for the views.
        unsafe { self.area.unmap() };
    }
}

/// Verdict.Pass, step 1: copy a frame into the port's pass lane (taken on
/// first use), injecting first when the lane is full. False: not passed.
fn pass_frame(meta: &mut PortMeta, counters: &mut PortCounters, area: &MmapArea, addr: u64, len: u32) -> bool {
    if meta.pass.as_ref().is_some_and(crate::pass::PassLane::is_full) {
        flush_pass(meta, counters);
    }
    if meta.pass.is_none() {
        match crate::pass::PassLane::acquire(&meta.steering, meta.queue) {
            Ok(lane) => meta.pass = Some(lane),
            Err(_) => return false,
        }
    }
    let lane = meta.pass.as_mut().expect("set above");
    // SAFETY: addr..addr+len lies inside the area (checked by the caller)
    // and belongs to a frame of the current batch, so neither the kernel nor
    // JavaScript writes it during the copy.
    unsafe { lane.push(area.as_ptr().add(addr as usize), len as usize) }
}

/// Verdict.Pass, step 2: deliver the lane's frames (one syscall). Returns
/// how many of them failed.
fn flush_pass(meta: &mut PortMeta, counters: &mut PortCounters) -> u64 {
    let Some(lane) = meta.pass.as_mut() else { return 0 };
    let queued = lane.queued() as u64;
    let (passed, failed) = match lane.inject() {
        Ok(r) => (r.passed, r.failed),
        Err(_) => (0, queued),
    };
    counters.passed += passed;
    counters.pass_failed += failed;
    failed
}

//! A UMEM and the ports (AF_XDP sockets) that share it, with the batch ABI
//! the binding exposes:
//!
//! 1. `rx(port, table)`: reap completions, refill the fill ring, then move up
//!    to one batch of RX descriptors into `table` as (offset, length) pairs.
//! 2. The caller (JavaScript) handles the frames in place and writes a
//!    verdict per frame, and maybe a new length into `table`.
//! 3. `commit(port, table, verdicts)`: TX and forward verdicts go onto TX
//!    rings at the same UMEM address (no copy), drops go back to the free
//!    list, TX is kicked.
//!
//! Nothing here allocates after `UmemGroup::new` and `add_port`. The group
//! is `!Send` (xdpilone's `Umem` is): one group per thread.

use std::os::fd::RawFd;
use std::sync::Arc;

use xdpilone::xdp::XdpDesc;
use xdpilone::{DeviceQueue, IfInfo, RingRx, RingTx, Socket, SocketConfig, Umem, UmemConfig, User};

use crate::bpf::{AttachMode, Steering};
use crate::error::{Error, ErrorCode, Result};
use crate::frames::{FrameCounts, FrameState, FrameTable};
use crate::mmap::MmapArea;
use crate::sys;

pub const VERDICT_DROP: u8 = 0;
pub const VERDICT_TX: u8 = 1;
/// Verdicts from this value on forward to port `verdict - VERDICT_FORWARD_BASE`.
pub const VERDICT_FORWARD_BASE: u8 = 2;
pub const MAX_PORTS: usize = 254;

const XDP_ZEROCOPY: u16 = 1 << 2;
const XDP_COPY: u16 = 1 << 1;
const XDP_USE_NEED_WAKEUP: u16 = 1 << 3;

/// Space the kernel keeps before the packet in copy mode (XDP_PACKET_HEADROOM).
const KERNEL_HEADROOM: u32 = 256;

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
        }
    }
}

/// Per-port counters kept by us (the kernel's are in `XdpStats`).
#[derive(Clone, Copy, Debug, Default)]
pub struct PortCounters {
    pub rx: u64,
    pub tx: u64,
    pub dropped: u64,
    pub forwarded: u64,
    pub sent: u64,
    /// Frames that could not go out because a TX ring was full (dropped).
    pub tx_ring_full_drops: u64,
    /// Verdicts or lengths from JavaScript that were out of range (dropped).
    pub invalid_verdicts: u64,
    /// Descriptors from the kernel naming a frame we did not give it.
    pub invalid_kernel_descs: u64,
    /// Frames completed by the kernel after a TX.
    pub completed: u64,
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

/// Where the frames of one port are, split by ring where the kernel holds them.
#[derive(Clone, Copy, Debug, Default)]
pub struct PortFrames {
    pub fill_ring: u32,
    pub rx_ring: u32,
    pub handler: u32,
    pub tx_ring: u32,
    pub completion_ring: u32,
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
}

struct PortRings {
    interface: String,
    ifindex: u32,
    queue: u32,
    zero_copy: bool,
    steering: Arc<Steering>,
    // Field order is drop order: rings before the socket they map.
    rx: RingRx,
    tx: RingTx,
    device: DeviceQueue,
    user: User,
    /// Descriptors handed out in the current batch: (addr, original len).
    batch: Vec<(u64, u32)>,
    batch_size: u32,
    /// RX ring size: the most received frames the kernel can queue for us.
    ring_size: u32,
    fill_target: u32,
    /// Frames of this port held by the kernel for RX / TX.
    kernel_rx: u32,
    kernel_tx: u32,
    counters: PortCounters,
    /// Signalled to end a wait on this port (close).
    wakeup: Arc<sys::EventFd>,
}

pub struct UmemGroup {
    // Sockets must go before the UMEM they reference, and the UMEM before the
    // memory: fields drop in declaration order.
    ports: Vec<Option<PortRings>>,
    /// The registration; None once closed (the socket is released then,
    /// not when JavaScript garbage-collects this object).
    umem: Option<Umem>,
    umem_config: UmemConfig,
    /// Whether the UMEM's first socket got zero-copy (set by the first bind).
    umem_zero_copy: Option<bool>,
    frames: FrameTable,
    area: Arc<MmapArea>,
    /// Forward targets of the current commit (reused, never reallocated).
    scratch: Vec<(u64, u32, u8)>,
    /// Frames the refills leave free, so that `send` finds one.
    send_reserve: u32,
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
            // The fill ring can hold every frame; the refill target (below)
            // decides how many we actually give the kernel.
            fill_size: opts.frames,
            complete_size: opts.frames,
            frame_size: opts.frame_size,
            headroom: 0,
            flags: 0,
        };
        let umem = register_umem(&config, &area)?;
        Ok(UmemGroup {
            ports: Vec::new(),
            umem: Some(umem),
            umem_config: config,
            umem_zero_copy: None,
            frames: FrameTable::new(opts.frames, opts.frame_size),
            area,
            scratch: Vec::with_capacity(1024),
            send_reserve: 0,
            closed: false,
        })
    }

    pub fn area(&self) -> &Arc<MmapArea> {
        &self.area
    }

    pub fn frame_size(&self) -> u32 {
        self.frames.frame_size()
    }

    /// Open a socket on (interface, queue) in this UMEM. The steering program
    /// is attached to the interface if this process has not done so yet.
    pub fn add_port(&mut self, opts: &PortOptions) -> Result<usize> {
        self.ensure_open()?;
        if self.ports.len() >= MAX_PORTS {
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
        if opts.mode == AttachMode::Native {
            self.check_mtu(&opts.interface)?;
        }
        let port_index = self.ports.len();
        let steering = Steering::acquire(ifindex, &opts.interface, opts.mode)?;
        if steering.mode() == crate::bpf::AttachedMode::Native {
            self.check_mtu(&opts.interface)?;
        }
        // Rules go in before the socket joins the XSKMAP: a fresh program
        // steers everything, and frames steered by mistake (SSH, ARP) could
        // never go back to the kernel.
        if let Some(rules) = &opts.rules {
            steering.set_rules(rules)?;
        }
        let (user, device, zero_copy) = self.bind_socket(opts, ifindex)?;
        let rx = user.map_rx().map_err(|e| Error::syscall("mmap(XDP_RX_RING)", xdp_errno(e), "mapping the RX ring"))?;
        let tx = user.map_tx().map_err(|e| Error::syscall("mmap(XDP_TX_RING)", xdp_errno(e), "mapping the TX ring"))?;
        let port = PortRings {
            interface: opts.interface.clone(),
            ifindex,
            queue: opts.queue,
            zero_copy,
            steering,
            rx,
            tx,
            device,
            user,
            batch: Vec::with_capacity(opts.batch_size as usize),
            batch_size: opts.batch_size,
            ring_size: opts.ring_size,
            fill_target: 0,
            kernel_rx: 0,
            kernel_tx: 0,
            counters: PortCounters::default(),
            wakeup: Arc::new(sys::EventFd::new()?),
        };
        port.steering.bind_socket(opts.queue, port.user.as_raw_fd())?;
        self.ports.push(Some(port));
        self.set_fill_targets();
        let reserve = self.send_reserve;
        if let Some(Some(port)) = self.ports.get_mut(port_index) {
            refill(port, &mut self.frames, reserve, port_index as u8);
        }
        Ok(port_index)
    }

    /// Split the frames between the fill rings of the open ports, keeping a
    /// reserve free for `send`. A TX verdict reuses the frame it received
    /// into, so the fill rings can hold nearly everything: the more frames
    /// the kernel has for receiving, the longer a burst it absorbs while the
    /// handler is busy — up to the RX ring's size, past which the kernel
    /// drops anyway, and to half the frames. Those caps leave frames for a
    /// port that joins the UMEM later: frames already in a fill ring cannot
    /// be taken back until traffic uses them, so a first port holding nearly
    /// all of them left a second one with the reserve alone, and a third
    /// with nothing.
    fn set_fill_targets(&mut self) {
        let open = self.ports.iter().filter(|p| p.is_some()).count() as u32;
        if open == 0 {
            return;
        }
        // Frames a closed port left in the kernel are retired for good.
        let total = self.frames.len() - self.frames.counts().retired;
        let reserve = (total / 8).max(64).min(total / 2);
        self.send_reserve = reserve;
        let share = (total - reserve) / open;
        for port in self.ports.iter_mut().flatten() {
            port.fill_target = share.min(port.ring_size).min(total / 2);
        }
    }

    fn check_mtu(&self, interface: &str) -> Result<()> {
        let mtu = sys::mtu(interface)?;
        // A received frame lands after the kernel's XDP headroom and must
        // hold the Ethernet header with two VLAN tags plus the MTU.
        let needed = mtu + 14 + 8 + KERNEL_HEADROOM;
        if needed > self.frames.frame_size() {
            return Err(Error::new(
                ErrorCode::MtuTooLarge,
                format!(
                    "{interface} has MTU {mtu}, which needs frames of at least {needed} bytes in native mode; \
                     frame size is {} (lower the MTU, raise frameSize, or use mode 'skb')",
                    self.frames.frame_size()
                ),
            ));
        }
        Ok(())
    }

    fn bind_socket(&mut self, opts: &PortOptions, ifindex: u32) -> Result<(User, DeviceQueue, bool)> {
        let mut info = IfInfo::invalid();
        info.from_ifindex(ifindex)
            .map_err(|e| Error::syscall("if_indextoname", xdp_errno(e), format!("interface {}", opts.interface)))?;
        info.set_queue(opts.queue);
        let first = self.ports.is_empty();
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
                ZeroCopy::Auto => &[(XDP_ZEROCOPY | XDP_USE_NEED_WAKEUP, true), (XDP_COPY | XDP_USE_NEED_WAKEUP, false)],
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
            let socket = if first { Socket::with_shared(&info, umem) } else { Socket::new(&info) }
                .map_err(|e| {
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
                bind_flags: mode_flag,
            };
            let user = umem
                .rx_tx(&socket, &config)
                .map_err(|e| Error::syscall("setsockopt(XDP_RX_RING)", xdp_errno(e), "setting up RX/TX rings"))?;
            match umem.bind(&user) {
                Ok(()) => {
                    self.umem_zero_copy = Some(zero_copy);
                    return Ok((user, device, zero_copy));
                }
                Err(e) => last_errno = xdp_errno(e),
            }
            if last_errno == libc::EBUSY {
                return Err(Error::syscall("bind(AF_XDP)", last_errno, format!("binding {} queue {}", opts.interface, opts.queue))
                    .with_code(ErrorCode::QueueBusy));
            }
        }
        match opts.zero_copy {
            ZeroCopy::On if matches!(last_errno, libc::EOPNOTSUPP | libc::EINVAL) => {
                Err(Error::syscall("bind(AF_XDP, XDP_ZEROCOPY)", last_errno, format!(
                    "{} does not support AF_XDP zero-copy (use zeroCopy: 'auto' or false)",
                    opts.interface
                ))
                .with_code(ErrorCode::ZeroCopyUnsupported))
            }
            _ => Err(Error::syscall("bind(AF_XDP)", last_errno, format!("binding {} queue {}", opts.interface, opts.queue))),
        }
    }

    fn ensure_open(&self) -> Result<()> {
        if self.closed {
            return Err(Error::new(ErrorCode::Closed, "this UMEM is closed"));
        }
        Ok(())
    }

    fn port_mut(&mut self, port: usize) -> Result<&mut PortRings> {
        match self.ports.get_mut(port) {
            Some(Some(p)) => Ok(p),
            _ => Err(Error::new(ErrorCode::Closed, format!("port {port} is closed"))),
        }
    }

    /// Step 1 of the batch ABI: fills `table` with (offset, length) pairs and
    /// returns how many frames it handed out. The previous batch of this port
    /// must have been committed.
    pub fn rx(&mut self, port_index: usize, table: &mut [u32]) -> Result<u32> {
        let reserve = self.send_reserve;
        let frames = &mut self.frames;
        let port = match self.ports.get_mut(port_index) {
            Some(Some(p)) => p,
            _ => return Err(Error::new(ErrorCode::Closed, format!("port {port_index} is closed"))),
        };
        if !port.batch.is_empty() {
            return Err(Error::new(
                ErrorCode::InvalidDescriptor,
                "rx() called while the previous batch was not committed",
            ));
        }
        reap_completions(port, frames, port_index as u8);
        refill(port, frames, reserve, port_index as u8);
        kick_tx(port);
        let want = port.batch_size.min((table.len() / 2) as u32);
        let mut reader = port.rx.receive(want);
        let mut n = 0usize;
        while let Some(desc) = reader.read() {
            let frame = frames.frame_of(desc.addr);
            let ok = frame.is_some_and(|f| {
                frames.transition(f, FrameState::Fill, port_index as u8, FrameState::Handler, port_index as u8)
            });
            if !ok {
                // Never hand JavaScript a frame we did not give the kernel.
                port.counters.invalid_kernel_descs += 1;
                continue;
            }
            // Copy mode never hands out more than the frame's room; checked anyway.
            let len = desc.len.min(frames.room(desc.addr));
            table[2 * n] = desc.addr as u32;
            table[2 * n + 1] = len;
            port.batch.push((desc.addr, len));
            n += 1;
        }
        reader.release();
        port.kernel_rx -= port.batch.len() as u32;
        port.counters.rx += n as u64;
        Ok(n as u32)
    }

    /// Step 3 of the batch ABI. `table` holds the lengths JavaScript may have
    /// changed (offsets are taken from our own record, never from JS);
    /// `verdicts[i]` is the verdict of frame i. Every frame of the batch is
    /// accounted for, whatever the input: invalid verdicts or lengths drop
    /// the frame and are counted.
    pub fn commit(&mut self, port_index: usize, table: &[u32], verdicts: &[u8]) -> Result<()> {
        let Self { ports, frames, scratch, send_reserve, .. } = self;
        let me = port_index as u8;
        let mut batch = match ports.get_mut(port_index) {
            Some(Some(p)) => std::mem::take(&mut p.batch),
            _ => return Err(Error::new(ErrorCode::Closed, format!("port {port_index} is closed"))),
        };
        // Pass 1: validate each frame, free the dropped ones, and note the
        // target port of the others in `scratch` (addr, len, target).
        scratch.clear();
        let mut dropped = 0u64;
        let mut invalid = 0u64;
        for (i, &(addr, _)) in batch.iter().enumerate() {
            let verdict = verdicts.get(i).copied().unwrap_or(VERDICT_DROP);
            let len = table.get(2 * i + 1).copied().unwrap_or(0);
            let target = match verdict {
                VERDICT_DROP => None,
                VERDICT_TX => Some(port_index),
                v => Some((v - VERDICT_FORWARD_BASE) as usize),
            };
            let target_open = target.is_some_and(|t| matches!(ports.get(t), Some(Some(_))));
            let len_ok = len >= 14 && len <= frames.room(addr);
            match target {
                Some(t) if target_open && len_ok => scratch.push((addr, len, t as u8)),
                _ => {
                    if verdict != VERDICT_DROP {
                        invalid += 1;
                    }
                    dropped += 1;
                    let frame = frames.frame_of(addr).expect("batch holds checked addresses");
                    frames.release(frame, FrameState::Handler, me);
                }
            }
        }
        // Pass 2: one TX transaction per target port that has frames.
        let mut sent_tx = 0u64;
        let mut sent_fwd = 0u64;
        let mut ring_full = 0u64;
        for target in 0..ports.len() {
            let count = scratch.iter().filter(|e| e.2 as usize == target).count() as u32;
            let Some(Some(dst)) = ports.get_mut(target) else { continue };
            if count == 0 {
                continue;
            }
            let mut queued = 0u32;
            let mut remaining = count;
            // xdpilone serves a reservation from its cached view of the
            // kernel's consumer and refreshes it only when that view shows
            // no room at all, so it may grant fewer slots than are free. Once
            // the first grant is used up, a second reservation refreshes it.
            let mut writer = dst.tx.transmit(remaining);
            let mut room = writer.capacity();
            let mut round = 0;
            for &(addr, len, _) in scratch.iter().filter(|e| e.2 as usize == target) {
                if room == 0 && round == 0 {
                    writer.commit();
                    drop(writer);
                    writer = dst.tx.transmit(remaining);
                    room = writer.capacity();
                    round = 1;
                }
                let frame = frames.frame_of(addr).expect("batch holds checked addresses");
                if room > 0 {
                    // insert_once takes exactly one descriptor (no iterator trap).
                    writer.insert_once(XdpDesc { addr, len, options: 0 });
                    frames.transition(frame, FrameState::Handler, me, FrameState::Tx, target as u8);
                    queued += 1;
                    room -= 1;
                } else {
                    frames.release(frame, FrameState::Handler, me);
                    ring_full += 1;
                }
                remaining -= 1;
            }
            writer.commit();
            drop(writer);
            dst.kernel_tx += queued;
            kick_tx(dst);
            if target != port_index {
                // A port that only forwards out (no loop of its own) would
                // otherwise never reap its completions, and its frames would
                // stay out of the free list.
                reap_completions(dst, frames, target as u8);
            }
            if target == port_index {
                sent_tx += u64::from(queued);
            } else {
                sent_fwd += u64::from(queued);
            }
        }
        batch.clear();
        let port = ports[port_index].as_mut().expect("checked above");
        port.batch = batch;
        port.counters.dropped += dropped + ring_full;
        port.counters.invalid_verdicts += invalid;
        port.counters.tx_ring_full_drops += ring_full;
        port.counters.tx += sent_tx;
        port.counters.forwarded += sent_fwd;
        refill(port, frames, *send_reserve, me);
        Ok(())
    }

    /// Copy `bytes` into a free frame and queue it for TX. Returns false when
    /// no frame or TX slot is free right now (back-pressure; nothing queued).
    pub fn send(&mut self, port_index: usize, bytes: &[u8]) -> Result<bool> {
        let frame_size = self.frames.frame_size();
        if bytes.len() < 14 || bytes.len() as u32 > frame_size - KERNEL_HEADROOM {
            return Err(Error::new(
                ErrorCode::InvalidOption,
                format!("a frame to send must be 14..={} bytes, got {}", frame_size - KERNEL_HEADROOM, bytes.len()),
            ));
        }
        let me = port_index as u8;
        let frames = &mut self.frames;
        let area = &self.area;
        let port = match self.ports.get_mut(port_index) {
            Some(Some(p)) => p,
            _ => return Err(Error::new(ErrorCode::Closed, format!("port {port_index} is closed"))),
        };
        if frames.free_count() == 0 {
            reap_completions(port, frames, me);
        }
        // A one-slot reservation refreshes xdpilone's cached view of the
        // kernel's consumer when it shows no room, so a zero grant is real.
        let mut writer = port.tx.transmit(1);
        if writer.capacity() == 0 {
            return Ok(false);
        }
        let Some(frame) = frames.take_free(FrameState::Tx, me) else { return Ok(false) };
        let addr = frames.base_addr(frame);
        // SAFETY: the frame was free, so neither the kernel nor JavaScript
        // (which only touches frames of its current batch) is using it; the
        // copy stays inside the frame (length checked above) and the area.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), area.as_ptr().add(addr as usize), bytes.len());
        }
        writer.insert_once(XdpDesc { addr, len: bytes.len() as u32, options: 0 });
        writer.commit();
        drop(writer);
        port.kernel_tx += 1;
        port.counters.sent += 1;
        kick_tx(port);
        Ok(true)
    }

    /// Housekeeping without receiving: reap completions, refill, kick TX.
    pub fn service(&mut self, port_index: usize) -> Result<()> {
        let reserve = self.send_reserve;
        let frames = &mut self.frames;
        let port = match self.ports.get_mut(port_index) {
            Some(Some(p)) => p,
            _ => return Err(Error::new(ErrorCode::Closed, format!("port {port_index} is closed"))),
        };
        reap_completions(port, frames, port_index as u8);
        refill(port, frames, reserve, port_index as u8);
        kick_tx(port);
        Ok(())
    }

    /// What to poll for readability: the socket (RX ring non-empty) and the
    /// port's wake-up eventfd. The socket fd is only valid while the port is
    /// open: callers must `wake` and finish waiting before `close_port`.
    pub fn poll_fds(&mut self, port_index: usize) -> Result<(RawFd, Arc<sys::EventFd>)> {
        let port = self.port_mut(port_index)?;
        Ok((port.user.as_raw_fd(), Arc::clone(&port.wakeup)))
    }

    /// The steering program of this port's interface (rules, drop list,
    /// flow offload are per interface).
    pub fn steering(&mut self, port_index: usize) -> Result<Arc<Steering>> {
        Ok(Arc::clone(&self.port_mut(port_index)?.steering))
    }

    /// End a wait in progress on this port.
    pub fn wake(&mut self, port_index: usize) -> Result<()> {
        self.port_mut(port_index)?.wakeup.signal();
        Ok(())
    }

    /// True while frames of this port wait in the TX ring (then waiting
    /// should be short: the TX needs kicking).
    pub fn tx_pending(&mut self, port_index: usize) -> Result<bool> {
        Ok(self.port_mut(port_index)?.tx.pending() > 0)
    }

    pub fn stats(&mut self, port_index: usize) -> Result<PortStats> {
        let port = self.port_mut(port_index)?;
        let xdp = port
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
        let rx_ring = port.rx.available().min(port.kernel_rx);
        let tx_ring = port.tx.pending().min(port.kernel_tx);
        Ok(PortStats {
            counters: port.counters,
            xdp,
            frames: PortFrames {
                fill_ring: port.kernel_rx - rx_ring,
                rx_ring,
                handler: port.batch.len() as u32,
                tx_ring,
                completion_ring: port.kernel_tx - tx_ring,
            },
            interface: port.interface.clone(),
            ifindex: port.ifindex,
            queue: port.queue,
            attach_mode: port.steering.mode().as_str(),
            zero_copy: port.zero_copy,
        })
    }

    pub fn frame_counts(&self) -> FrameCounts {
        self.frames.counts()
    }

    /// Whether the per-frame states add up, and agree with the per-port counts.
    pub fn check_accounting(&self) -> bool {
        let per_port_ok = self.ports.iter().enumerate().all(|(i, p)| match p {
            Some(p) => {
                self.frames.count_owned(i as u8, FrameState::Fill) == p.kernel_rx
                    && self.frames.count_owned(i as u8, FrameState::Tx) == p.kernel_tx
                    && self.frames.count_owned(i as u8, FrameState::Handler) == p.batch.len() as u32
            }
            None => true,
        });
        self.frames.check() && per_port_ok
    }

    /// Close one port: remove it from the XSKMAP, close its socket. Its
    /// frames go back to the free list, except those of the UMEM's own
    /// socket (port 0), which the kernel may hold until the UMEM closes.
    pub fn close_port(&mut self, port_index: usize) -> Result<()> {
        let Some(slot) = self.ports.get_mut(port_index) else {
            return Err(Error::new(ErrorCode::Closed, format!("port {port_index} does not exist")));
        };
        let Some(port) = slot.take() else { return Ok(()) };
        let me = port_index as u8;
        let _ = port.steering.unbind_socket(port.queue);
        port.wakeup.signal();
        let owns_umem_socket = port_index == 0;
        drop(port);
        self.frames.move_all(me, FrameState::Handler, FrameState::Free);
        let kernel_held = if owns_umem_socket { FrameState::Retired } else { FrameState::Free };
        self.frames.move_all(me, FrameState::Fill, kernel_held);
        self.frames.move_all(me, FrameState::Tx, kernel_held);
        self.set_fill_targets();
        Ok(())
    }

    /// Close every port and release the UMEM registration. The memory itself
    /// lives on while JavaScript holds its ArrayBuffer.
    pub fn close(&mut self) {
        for i in 0..self.ports.len() {
            let _ = self.close_port(i);
        }
        // Release the registration now; the memory itself goes when the
        // last view of it (our Arc, JavaScript's ArrayBuffer) is dropped.
        self.umem = None;
        self.closed = true;
    }

}

/// Completed TX frames go back to the free list.
fn reap_completions(port: &mut PortRings, frames: &mut FrameTable, me: u8) {
    let mut reader = port.device.complete(port.kernel_tx);
    while let Some(addr) = reader.read() {
        match frames.frame_of(addr) {
            Some(frame) if frames.release(frame, FrameState::Tx, me) => {
                port.kernel_tx -= 1;
                port.counters.completed += 1;
            }
            _ => port.counters.invalid_kernel_descs += 1,
        }
    }
    reader.release();
}

/// Top the fill ring up to the port's target from the free list, leaving
/// `reserve` frames free for `send` (a port over its target after another
/// joined the UMEM would otherwise let the newcomer's refill take those) —
/// except that a port may always bring itself up to one batch from the
/// reserve, or it could wait forever for frames that `send` or another port
/// keep below the reserve.
fn refill(port: &mut PortRings, frames: &mut FrameTable, reserve: u32, me: u8) {
    // Two rounds: the first grant may be cut short by xdpilone's cached view
    // of the kernel's consumer; the second reservation refreshes it.
    for _ in 0..2 {
        let free = frames.free_count();
        let spare = free.saturating_sub(reserve);
        let to_one_batch = port.batch_size.min(port.fill_target).saturating_sub(port.kernel_rx).min(free);
        let want = port.fill_target.saturating_sub(port.kernel_rx).min(spare.max(to_one_batch));
        if want == 0 {
            break;
        }
        let mut writer = port.device.fill(want);
        let n = writer.capacity().min(want);
        // `take(n)` with n <= capacity: xdpilone's insert would otherwise pull
        // one item too many from the iterator and lose that frame.
        let inserted = writer.insert(
            (0..n).map_while(|_| frames.take_free(FrameState::Fill, me).map(|f| frames.base_addr(f))).take(n as usize),
        );
        writer.commit();
        drop(writer);
        port.kernel_rx += inserted;
        if inserted == want {
            break;
        }
    }
    if port.device.needs_wakeup() {
        port.device.wake();
    }
}

/// Copy-mode TX happens only inside sendto(), at most 32 frames a call:
/// kick while frames wait and the kernel keeps taking them. In zero-copy
/// mode the driver says (need_wakeup) whether it wants a kick at all.
fn kick_tx(port: &mut PortRings) {
    if port.zero_copy && !port.tx.needs_wakeup() {
        return;
    }
    let mut pending = port.tx.pending();
    for _ in 0..64 {
        if pending == 0 {
            break;
        }
        port.tx.wake();
        let now = port.tx.pending();
        if now >= pending {
            break; // the kernel took nothing (peer congested): retry next batch
        }
        pending = now;
    }
}

//! The batch ABI over the rings of the ports sharing one UMEM, independent
//! of how the rings are made (`rings::Rings`: the kernel's, or a fake in
//! tests):
//!
//! 1. `rx(port, table)`: reap completions, refill the fill ring, then move up
//!    to one batch of RX descriptors into `table` as (offset, length) pairs.
//! 2. The caller (JavaScript) handles the frames in place and writes a
//!    verdict per frame, and maybe a new length into `table`.
//! 3. `commit(port, table, verdicts)`: settle each verdict (`settle`), put
//!    TX and forward verdicts on the TX rings at the same UMEM address (no
//!    copy, `transmit_to`), then refill.
//!
//! The frame table is the one tally of where frames are: what a port holds
//! in the kernel is counted from it. Nothing here allocates after the ports
//! are set up.

use crate::error::{Error, ErrorCode, Result};
use crate::frames::{FrameState, FrameTable};
use crate::mmap::MmapArea;
use crate::rings::Rings;

pub const VERDICT_DROP: u8 = 0;
pub const VERDICT_TX: u8 = 1;
/// Verdicts from this value on forward to port `verdict - VERDICT_FORWARD_BASE`.
pub const VERDICT_FORWARD_BASE: u8 = 2;
/// Verdict.Pass: to the kernel stack, as if received (crate::pass; handled
/// by UmemGroup::commit before the batch is settled).
pub const VERDICT_PASS: u8 = 255;
/// Forward verdicts stop below VERDICT_PASS.
pub const MAX_PORTS: usize = 253;

/// Space the kernel keeps before the packet in copy mode (XDP_PACKET_HEADROOM).
pub const KERNEL_HEADROOM: u32 = 256;

/// Descriptor option of multi-buffer sockets (XDP_USE_SG): the frame goes on
/// in the next descriptor.
pub const XDP_PKT_CONTD: u32 = 1;
/// Most descriptors of one frame: the kernel builds at most MAX_SKB_FRAGS
/// (17) fragments after the first buffer. A longer chain is a kernel bug or
/// corruption; it is dropped whole.
pub const MAX_SEGMENTS: usize = 18;
/// Flag in the length word of a batch table entry from `rx`: the frame has
/// more than one segment; `rx_chains` lists them. (Lengths JavaScript writes
/// back for `commit` carry no flag.)
pub const CHAINED: u32 = 1 << 31;

/// One frame of a batch. `segs == 1`: the frame is the descriptor at `addr`;
/// otherwise its descriptors are `chain[first..first + segs]`.
#[derive(Clone, Copy, Debug)]
struct RxFrame {
    addr: u64,
    len: u32,
    first: u32,
    segs: u32,
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
    /// Frames handed to the kernel stack (Verdict.Pass).
    pub passed: u64,
    /// Pass verdicts that could not be delivered (counted in `dropped` too).
    pub pass_failed: u64,
}

/// Where the frames of one port are, split by ring where the kernel holds them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortFrames {
    pub fill_ring: u32,
    pub rx_ring: u32,
    pub handler: u32,
    pub tx_ring: u32,
    pub completion_ring: u32,
}

/// One port's rings and its batch state. `R` is the rings; `meta` is what
/// the owner keeps beside them (socket, steering, names), unused here.
pub struct Port<R, M> {
    pub rings: R,
    pub meta: M,
    /// Frames handed out in the current batch.
    batch: Vec<RxFrame>,
    /// Descriptors (addr, len) of the batch's multi-buffer frames, in order.
    chain: Vec<(u64, u32)>,
    /// Descriptors of a multi-buffer frame whose last descriptor has not
    /// been read yet (the RX read ended mid-chain). Their frames are ours
    /// (state Handler) until the frame completes or is dropped.
    partial: Vec<(u64, u32)>,
    /// The frame in `partial` is being dropped (a bad descriptor or too
    /// many segments): its remaining descriptors are freed as they come.
    partial_broken: bool,
    /// Bound with XDP_USE_SG: frames may span descriptors, and `send`
    /// splits frames larger than one UMEM frame.
    pub multi_buffer: bool,
    batch_size: u32,
    /// RX ring size: the most received frames the kernel can queue for us.
    ring_size: u32,
    fill_target: u32,
    pub counters: PortCounters,
}

impl<R, M> Port<R, M> {
    /// Frames in the current batch.
    pub fn batch_len(&self) -> usize {
        self.batch.len()
    }

    /// Frame `i` of the current batch: (addr of its first segment, length
    /// as received, over all segments), and its segment count.
    pub fn batch_frame(&self, i: usize) -> (u64, u32, u32) {
        let f = self.batch[i];
        (f.addr, f.len, f.segs)
    }

    pub fn new(rings: R, meta: M, batch_size: u32, ring_size: u32) -> Self {
        Port {
            rings,
            meta,
            batch: Vec::with_capacity(batch_size as usize),
            chain: Vec::new(),
            partial: Vec::with_capacity(MAX_SEGMENTS + 1),
            partial_broken: false,
            multi_buffer: false,
            batch_size,
            ring_size,
            fill_target: 0,
            counters: PortCounters::default(),
        }
    }
}

/// The frames and the ports of one UMEM.
pub struct DataPath<R, M> {
    // Ports go before anything they reference: fields drop in order.
    ports: Vec<Option<Port<R, M>>>,
    frames: FrameTable,
    /// Forward targets of the current commit, one per frame. Reused, never
    /// reallocated.
    scratch: Vec<TxFrame>,
    /// Frames the refills leave free, so that `send` finds one.
    send_reserve: u32,
}

/// A frame of the current commit bound for port `target`: the descriptor
/// (addr, len) when `segs == 1`, else `segs` descriptors of the batch's
/// chain from `first` (lengths already cut to the frame's new length).
#[derive(Clone, Copy, Debug)]
struct TxFrame {
    addr: u64,
    len: u32,
    first: u32,
    segs: u32,
    target: u8,
}

fn closed(port: usize) -> Error {
    Error::new(ErrorCode::Closed, format!("port {port} is closed"))
}

impl<R: Rings, M> DataPath<R, M> {
    pub fn new(frames: u32, frame_size: u32) -> Self {
        DataPath {
            ports: Vec::new(),
            frames: FrameTable::new(frames, frame_size),
            scratch: Vec::with_capacity(1024),
            send_reserve: 0,
        }
    }

    pub fn frames(&self) -> &FrameTable {
        &self.frames
    }

    /// Ports ever added (closed ones keep their index).
    pub fn port_slots(&self) -> usize {
        self.ports.len()
    }

    /// The one lookup of an open port.
    pub fn port(&mut self, index: usize) -> Result<&mut Port<R, M>> {
        match self.ports.get_mut(index) {
            Some(Some(p)) => Ok(p),
            _ => Err(closed(index)),
        }
    }

    pub fn port_ref(&self, index: usize) -> Result<&Port<R, M>> {
        match self.ports.get(index) {
            Some(Some(p)) => Ok(p),
            _ => Err(closed(index)),
        }
    }

    pub fn open_ports(&self) -> impl Iterator<Item = &Port<R, M>> {
        self.ports.iter().flatten()
    }

    /// Add a port, re-split the frames between fill rings, and fill its ring.
    pub fn add_port(&mut self, port: Port<R, M>) -> Result<usize> {
        if self.ports.len() >= MAX_PORTS {
            return Err(Error::new(ErrorCode::InvalidOption, "at most 253 ports can share a UMEM"));
        }
        let index = self.ports.len();
        self.ports.push(Some(port));
        self.set_fill_targets();
        let reserve = self.send_reserve;
        let port = self.ports[index].as_mut().expect("just pushed");
        refill(port, &mut self.frames, reserve, index as u8);
        Ok(index)
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

    /// Step 1 of the batch ABI: fills `table` with (offset, length) pairs and
    /// returns how many frames it handed out. The previous batch of this port
    /// must have been committed. A multi-buffer frame's entry is (offset of
    /// its first segment, whole length | CHAINED); `rx_chains` lists its
    /// segments.
    pub fn rx(&mut self, index: usize, table: &mut [u32]) -> Result<u32> {
        let reserve = self.send_reserve;
        let frames = &mut self.frames;
        let port = match self.ports.get_mut(index) {
            Some(Some(p)) => p,
            _ => return Err(closed(index)),
        };
        if !port.batch.is_empty() {
            return Err(Error::new(ErrorCode::BatchPending, "rx() called while the previous batch was not committed"));
        }
        let me = index as u8;
        reap_completions(port, frames, me);
        refill(port, frames, reserve, me);
        port.rings.kick_tx();
        // At most `want` descriptors: a batch never has more frames than that.
        let want = port.batch_size.min((table.len() / 2) as u32);
        let Port { rings, batch, chain, partial, partial_broken, counters, .. } = port;
        rings.receive(want, |addr, len, options| {
            let ok = frames
                .frame_of(addr)
                .is_some_and(|f| frames.transition(f, FrameState::Fill, me, FrameState::Handler, me));
            // Copy mode never hands out more than the frame's room; checked anyway.
            let len = len.min(frames.room(addr));
            let contd = options & XDP_PKT_CONTD != 0;
            if ok && !contd && partial.is_empty() && !*partial_broken {
                // The one-descriptor frame: the fast path.
                let n = batch.len();
                table[2 * n] = addr as u32;
                table[2 * n + 1] = len;
                batch.push(RxFrame { addr, len, first: 0, segs: 1 });
                return;
            }
            if ok {
                partial.push((addr, len));
            } else {
                // Never hand JavaScript a frame we did not give the kernel;
                // the frame it belongs to is dropped whole.
                counters.invalid_kernel_descs += 1;
                *partial_broken = true;
            }
            if partial.len() > MAX_SEGMENTS {
                *partial_broken = true;
            }
            if contd {
                return; // the frame goes on in the next descriptor (maybe next rx)
            }
            if *partial_broken {
                for &(a, _) in partial.iter() {
                    let f = frames.frame_of(a).expect("checked when received");
                    frames.release(f, FrameState::Handler, me);
                }
                counters.dropped += 1;
            } else {
                let n = batch.len();
                let total: u32 = partial.iter().map(|d| d.1).sum();
                table[2 * n] = partial[0].0 as u32;
                table[2 * n + 1] = total | CHAINED;
                batch.push(RxFrame {
                    addr: partial[0].0,
                    len: total,
                    first: chain.len() as u32,
                    segs: partial.len() as u32,
                });
                chain.extend_from_slice(partial);
            }
            partial.clear();
            *partial_broken = false;
        });
        let n = batch.len() as u32;
        counters.rx += u64::from(n);
        Ok(n)
    }

    /// The segments of the current batch's multi-buffer frames, in batch
    /// order, into `out`: per frame, its segment count then (offset, length)
    /// per segment. Returns the words written, or an error when `out` is too
    /// small (it needs 1 + 2 * MAX_SEGMENTS words per frame at most).
    pub fn rx_chains(&self, index: usize, out: &mut [u32]) -> Result<u32> {
        let port = self.port_ref(index)?;
        let mut w = 0usize;
        for f in port.batch.iter().filter(|f| f.segs > 1) {
            let segs = &port.chain[f.first as usize..(f.first + f.segs) as usize];
            if w + 1 + 2 * segs.len() > out.len() {
                return Err(Error::new(ErrorCode::InvalidOption, "rx_chains: the output table is too small"));
            }
            out[w] = f.segs;
            for (i, &(addr, len)) in segs.iter().enumerate() {
                out[w + 1 + 2 * i] = addr as u32;
                out[w + 2 + 2 * i] = len;
            }
            w += 1 + 2 * segs.len();
        }
        Ok(w as u32)
    }

    /// Step 3 of the batch ABI. `table` holds the lengths JavaScript may have
    /// changed (offsets are taken from our own record, never from JS);
    /// `verdicts[i]` is the verdict of frame i. Every frame of the batch is
    /// accounted for, whatever the input: invalid verdicts or lengths drop
    /// the frame and are counted.
    pub fn commit(&mut self, index: usize, table: &[u32], verdicts: &[u8]) -> Result<()> {
        let port = self.port(index)?;
        let mut batch = std::mem::take(&mut port.batch);
        let mut chain = std::mem::take(&mut port.chain);
        self.settle(index, &batch, &mut chain, table, verdicts);
        for target in 0..self.ports.len() {
            self.transmit_to(index, target, &chain);
        }
        batch.clear();
        chain.clear();
        let reserve = self.send_reserve;
        let port = self.ports[index].as_mut().expect("checked above");
        port.batch = batch;
        port.chain = chain;
        refill(port, &mut self.frames, reserve, index as u8);
        Ok(())
    }

    /// Commit, part 1 (verdict dispatch): validate each frame's verdict and
    /// length, free the dropped frames, and note the others with their
    /// target port in `scratch`. A multi-buffer frame may be cut short (its
    /// segments past the new length are freed) but not grown.
    fn settle(&mut self, index: usize, batch: &[RxFrame], chain: &mut [(u64, u32)], table: &[u32], verdicts: &[u8]) {
        let Self { ports, frames, scratch, .. } = self;
        let me = index as u8;
        scratch.clear();
        let mut dropped = 0u64;
        let mut invalid = 0u64;
        for (i, f) in batch.iter().enumerate() {
            let verdict = verdicts.get(i).copied().unwrap_or(VERDICT_DROP);
            let len = table.get(2 * i + 1).copied().unwrap_or(0);
            let target = match verdict {
                VERDICT_DROP => None,
                VERDICT_TX => Some(index),
                v => Some((v - VERDICT_FORWARD_BASE) as usize),
            };
            let target_open = target.is_some_and(|t| matches!(ports.get(t), Some(Some(_))));
            let max_len = if f.segs == 1 { frames.room(f.addr) } else { f.len };
            let len_ok = len >= 14 && len <= max_len;
            match target {
                Some(t) if target_open && len_ok => {
                    let segs = if f.segs == 1 { 1 } else { cut_chain(frames, chain, f, len, me) };
                    scratch.push(TxFrame { addr: f.addr, len, first: f.first, segs, target: t as u8 });
                }
                _ => {
                    if verdict != VERDICT_DROP {
                        invalid += 1;
                    }
                    dropped += 1;
                    release_frame(frames, chain, f.addr, f.first, f.segs, FrameState::Handler, me);
                }
            }
        }
        let counters = &mut ports[index].as_mut().expect("checked by commit").counters;
        counters.dropped += dropped;
        counters.invalid_verdicts += invalid;
    }

    /// Commit, part 2 (TX descriptors): one TX transaction on `target` for
    /// the frames of `scratch` bound there. A frame goes on the ring only
    /// once its Handler→Tx transitions succeeded, and a multi-buffer frame
    /// only when all its descriptors fit; frames the ring has no room for
    /// are dropped and counted.
    fn transmit_to(&mut self, index: usize, target: usize, chain: &[(u64, u32)]) {
        let Self { ports, frames, scratch, .. } = self;
        let count: u32 = scratch.iter().filter(|e| e.target as usize == target).map(|e| e.segs).sum();
        if count == 0 {
            return;
        }
        let Some(Some(dst)) = ports.get_mut(target) else { return };
        let me = index as u8;
        let to = target as u8;
        let mut pending = scratch.iter().filter(|e| e.target as usize == target).peekable();
        let mut refused = 0u64;
        let mut sent = 0u64;
        // The multi-buffer frame being queued: its next segment, and the end.
        let (mut seg, mut end) = (0usize, 0usize);
        dst.rings.transmit(count, |room| {
            if seg < end {
                let (addr, len) = chain[seg];
                seg += 1;
                return Some((addr, len, if seg < end { XDP_PKT_CONTD } else { 0 }));
            }
            while let Some(e) = pending.peek().copied() {
                if e.segs > room {
                    return None; // not whole in this reservation: dropped below
                }
                pending.next();
                if !take_for_tx(frames, chain, e, me, to) {
                    // Not a frame of this batch after all (a bug): it must
                    // not reach the kernel, and its state is left as it is.
                    refused += 1;
                    continue;
                }
                sent += 1;
                if e.segs == 1 {
                    return Some((e.addr, e.len, 0));
                }
                (seg, end) = (e.first as usize + 1, (e.first + e.segs) as usize);
                return Some((chain[e.first as usize].0, chain[e.first as usize].1, XDP_PKT_CONTD));
            }
            None
        });
        // What the ring had no room for is dropped.
        let mut ring_full = 0u64;
        for e in pending {
            release_frame(frames, chain, e.addr, e.first, e.segs, FrameState::Handler, me);
            ring_full += 1;
        }
        dst.rings.kick_tx();
        if target != index {
            // A port that only forwards out (no loop of its own) would
            // otherwise never reap its completions, and its frames would
            // stay out of the free list.
            reap_completions(dst, frames, to);
        }
        let counters = &mut ports[index].as_mut().expect("checked by commit").counters;
        if target == index {
            counters.tx += sent;
        } else {
            counters.forwarded += sent;
        }
        counters.dropped += ring_full + refused;
        counters.tx_ring_full_drops += ring_full;
    }

    /// Copy `bytes` into free frames and queue them for TX: one frame, or on
    /// a multi-buffer socket a chain of as many as it takes. Returns false
    /// when not enough frames or TX slots are free right now (back-pressure;
    /// nothing queued).
    pub fn send(&mut self, index: usize, area: &MmapArea, bytes: &[u8]) -> Result<bool> {
        let seg_size = self.frames.frame_size() - KERNEL_HEADROOM;
        let me = index as u8;
        let frames = &mut self.frames;
        let port = match self.ports.get_mut(index) {
            Some(Some(p)) => p,
            _ => return Err(closed(index)),
        };
        let max = if port.multi_buffer { seg_size * MAX_SEGMENTS as u32 } else { seg_size };
        if bytes.len() < 14 || bytes.len() as u32 > max {
            return Err(Error::new(
                ErrorCode::InvalidOption,
                format!("a frame to send must be 14..={max} bytes, got {}", bytes.len()),
            ));
        }
        let segs = bytes.len().div_ceil(seg_size as usize) as u32;
        if frames.free_count() < segs {
            reap_completions(port, frames, me);
            if frames.free_count() < segs {
                return Ok(false);
            }
        }
        let mut chunks = bytes.chunks(seg_size as usize).peekable();
        let mut copied = 0u32;
        let queued = port.rings.transmit(segs, |room| {
            if copied == 0 && room < segs {
                return None; // the chain would not fit whole
            }
            let chunk = chunks.next()?;
            let frame = frames.take_free(FrameState::Tx, me)?;
            let addr = frames.base_addr(frame);
            area.write(addr as usize, chunk);
            copied += 1;
            let options = if chunks.peek().is_some() { XDP_PKT_CONTD } else { 0 };
            Some((addr, chunk.len() as u32, options))
        });
        debug_assert_eq!(queued, copied);
        if queued == 0 {
            return Ok(false);
        }
        port.counters.sent += 1;
        port.rings.kick_tx();
        Ok(true)
    }

    /// Housekeeping without receiving: reap completions, refill, kick TX.
    pub fn service(&mut self, index: usize) -> Result<()> {
        let reserve = self.send_reserve;
        let frames = &mut self.frames;
        let port = match self.ports.get_mut(index) {
            Some(Some(p)) => p,
            _ => return Err(closed(index)),
        };
        reap_completions(port, frames, index as u8);
        refill(port, frames, reserve, index as u8);
        port.rings.kick_tx();
        Ok(())
    }

    /// Where this port's frames are: the frame table says how many the
    /// kernel holds for RX and for TX; ring occupancy splits them by ring.
    pub fn port_frames(&self, index: usize) -> Result<PortFrames> {
        let port = self.port_ref(index)?;
        let me = index as u8;
        let kernel_rx = self.frames.count_owned(me, FrameState::Fill);
        let kernel_tx = self.frames.count_owned(me, FrameState::Tx);
        let rx_ring = port.rings.rx_available().min(kernel_rx);
        let tx_ring = port.rings.tx_pending().min(kernel_tx);
        Ok(PortFrames {
            fill_ring: kernel_rx - rx_ring,
            rx_ring,
            handler: self.frames.count_owned(me, FrameState::Handler),
            tx_ring,
            completion_ring: kernel_tx - tx_ring,
        })
    }

    /// Whether the frame states add up (recounted frame by frame) and each
    /// open port's batch matches its frames in the handler.
    pub fn check_accounting(&self) -> bool {
        let batches_ok = self.ports.iter().enumerate().all(|(i, p)| match p {
            Some(p) => {
                let held: u32 = p.batch.iter().map(|f| f.segs).sum::<u32>() + p.partial.len() as u32;
                self.frames.count_owned(i as u8, FrameState::Handler) == held
            }
            None => true,
        });
        self.frames.check_thoroughly() && batches_ok
    }

    /// After every port is removed: free the per-frame tables and buffers
    /// now rather than when the owner is dropped (for the binding, when
    /// JavaScript's garbage collector gets to it).
    pub fn release(&mut self) {
        debug_assert!(self.ports.iter().all(Option::is_none));
        self.frames.release_tables();
        self.scratch = Vec::new();
    }

    /// Remove a port and settle its frames: the handler's go back to the free
    /// list; those the kernel held go back too, or are retired when
    /// `kernel_keeps_frames` (the socket of the UMEM itself, which the
    /// kernel may hold until the UMEM closes). Returns the port, for its
    /// owner to release.
    pub fn remove_port(&mut self, index: usize, kernel_keeps_frames: bool) -> Option<Port<R, M>> {
        let port = self.ports.get_mut(index)?.take()?;
        let me = index as u8;
        self.frames.move_all(me, FrameState::Handler, FrameState::Free);
        let kernel_held = if kernel_keeps_frames { FrameState::Retired } else { FrameState::Free };
        self.frames.move_all(me, FrameState::Fill, kernel_held);
        self.frames.move_all(me, FrameState::Tx, kernel_held);
        self.set_fill_targets();
        Some(port)
    }
}

/// Free the frames of a batch frame (its one descriptor, or its chain).
fn release_frame(
    frames: &mut FrameTable,
    chain: &[(u64, u32)],
    addr: u64,
    first: u32,
    segs: u32,
    from: FrameState,
    me: u8,
) {
    if segs == 1 {
        let frame = frames.frame_of(addr).expect("batch holds checked addresses");
        frames.release(frame, from, me);
        return;
    }
    for &(a, _) in &chain[first as usize..(first + segs) as usize] {
        let frame = frames.frame_of(a).expect("batch holds checked addresses");
        frames.release(frame, from, me);
    }
}

/// Cut a multi-buffer frame to `len` bytes (<= its length): the segment
/// where it now ends gets the remainder, the ones after are freed. Returns
/// the segments kept.
fn cut_chain(frames: &mut FrameTable, chain: &mut [(u64, u32)], f: &RxFrame, len: u32, me: u8) -> u32 {
    let segs = &mut chain[f.first as usize..(f.first + f.segs) as usize];
    let mut left = len;
    let mut kept = 0;
    for seg in segs.iter_mut() {
        if left == 0 {
            let frame = frames.frame_of(seg.0).expect("batch holds checked addresses");
            frames.release(frame, FrameState::Handler, me);
            continue;
        }
        seg.1 = seg.1.min(left);
        left -= seg.1;
        kept += 1;
    }
    kept
}

/// Move every descriptor of `e` from Handler (port `me`) to Tx (port `to`).
/// All or nothing: on a frame in the wrong state (a bug) the ones already
/// moved go back and false is returned.
fn take_for_tx(frames: &mut FrameTable, chain: &[(u64, u32)], e: &TxFrame, me: u8, to: u8) -> bool {
    let one = [(e.addr, e.len)];
    let descs: &[(u64, u32)] = if e.segs == 1 { &one } else { &chain[e.first as usize..(e.first + e.segs) as usize] };
    for (i, &(addr, _)) in descs.iter().enumerate() {
        let frame = frames.frame_of(addr).expect("batch holds checked addresses");
        if !frames.transition(frame, FrameState::Handler, me, FrameState::Tx, to) {
            for &(back, _) in &descs[..i] {
                let f = frames.frame_of(back).expect("batch holds checked addresses");
                frames.transition(f, FrameState::Tx, to, FrameState::Handler, me);
            }
            return false;
        }
    }
    true
}

/// Completed TX frames go back to the free list.
fn reap_completions<R: Rings, M>(port: &mut Port<R, M>, frames: &mut FrameTable, me: u8) {
    let in_kernel = frames.count_owned(me, FrameState::Tx);
    let counters = &mut port.counters;
    port.rings.complete(in_kernel, |addr| match frames.frame_of(addr) {
        Some(frame) if frames.release(frame, FrameState::Tx, me) => counters.completed += 1,
        _ => counters.invalid_kernel_descs += 1,
    });
}

/// Top the fill ring up to the port's target from the free list, leaving
/// `reserve` frames free for `send` (a port over its target after another
/// joined the UMEM would otherwise let the newcomer's refill take those) —
/// except that a port may always bring itself up to one batch from the
/// reserve, or it could wait forever for frames that `send` or another port
/// keep below the reserve.
fn refill<R: Rings, M>(port: &mut Port<R, M>, frames: &mut FrameTable, reserve: u32, me: u8) {
    let in_kernel = frames.count_owned(me, FrameState::Fill);
    let free = frames.free_count();
    let spare = free.saturating_sub(reserve);
    let to_one_batch = port.batch_size.min(port.fill_target).saturating_sub(in_kernel).min(free);
    let want = port.fill_target.saturating_sub(in_kernel).min(spare.max(to_one_batch));
    if want > 0 {
        port.rings.fill(want, || frames.take_free(FrameState::Fill, me).map(|f| frames.base_addr(f)));
    }
    port.rings.wake_fill();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rings::fake::FakeRings;

    const FRAME: u32 = 2048;

    /// A data path over fake rings with `ports` ports, each with fill and
    /// RX/TX rings of `ring` slots.
    fn setup(frames: u32, ports: usize, ring: u32) -> DataPath<FakeRings, ()> {
        let mut dp = DataPath::new(frames, FRAME);
        for _ in 0..ports {
            dp.add_port(Port::new(FakeRings::new(frames as usize, ring as usize), (), 64, ring)).unwrap();
        }
        assert!(dp.check_accounting());
        dp
    }

    fn rings(dp: &mut DataPath<FakeRings, ()>, i: usize) -> &mut FakeRings {
        &mut dp.port(i).unwrap().rings
    }

    #[test]
    fn refill_fills_to_target_and_keeps_the_send_reserve() {
        let dp = setup(1024, 1, 2048);
        let c = dp.frames().counts();
        // total 1024: reserve 128, target min(896, ring 2048, half 512) = 512.
        assert_eq!(c.fill, 512);
        assert_eq!(c.free, 512);
        assert_eq!(dp.port_ref(0).unwrap().rings.fill.len(), 512);
    }

    #[test]
    fn rx_drains_at_most_one_batch_and_hands_out_offsets() {
        let mut dp = setup(256, 1, 256);
        rings(&mut dp, 0).kernel_receive(100, 60);
        let mut table = [0u32; 128];
        assert_eq!(dp.rx(0, &mut table).unwrap(), 64);
        assert_eq!(table[1], 60);
        assert_eq!(table[0] % FRAME, 256);
        assert_eq!(dp.frames().counts().handler, 64);
        assert!(dp.check_accounting());
        let f = dp.port_frames(0).unwrap();
        assert_eq!((f.handler, f.rx_ring), (64, 36));
        // A second rx before commit is refused with its own code.
        assert_eq!(dp.rx(0, &mut table).unwrap_err().code, ErrorCode::BatchPending);
    }

    #[test]
    fn commit_dispatches_drop_tx_forward_and_invalid() {
        let mut dp = setup(512, 2, 256);
        rings(&mut dp, 0).kernel_receive(5, 60);
        let mut table = [0u32; 128];
        assert_eq!(dp.rx(0, &mut table).unwrap(), 5);
        let verdicts = [VERDICT_DROP, VERDICT_TX, VERDICT_FORWARD_BASE + 1, VERDICT_FORWARD_BASE + 9, VERDICT_TX];
        table[2 * 4 + 1] = 5; // too short: dropped as invalid
        dp.commit(0, &table, &verdicts).unwrap();
        let c = dp.port_ref(0).unwrap().counters;
        assert_eq!((c.tx, c.forwarded, c.dropped, c.invalid_verdicts), (1, 1, 3, 2));
        assert_eq!(rings(&mut dp, 0).tx.iter().copied().collect::<Vec<_>>(), vec![(u64::from(table[2]), 60, 0)]);
        assert_eq!(rings(&mut dp, 1).tx.len(), 1);
        // The forwarded frame belongs to port 1 until its completion.
        assert_eq!(dp.frames().count_owned(1, FrameState::Tx), 1);
        assert_eq!(dp.frames().count_owned(0, FrameState::Tx), 1);
        assert!(dp.check_accounting());
        // Completions come back to the free list on the next rx / service.
        rings(&mut dp, 0).kernel_send(8);
        rings(&mut dp, 1).kernel_send(8);
        dp.rx(0, &mut table).unwrap();
        dp.service(1).unwrap();
        assert_eq!(dp.frames().counts().tx, 0);
        assert_eq!(dp.port_ref(0).unwrap().counters.completed + dp.port_ref(1).unwrap().counters.completed, 2);
        assert!(dp.check_accounting());
    }

    #[test]
    fn a_full_tx_ring_drops_the_rest_and_counts_them() {
        let mut dp = setup(512, 1, 64);
        rings(&mut dp, 0).tx_size = 3;
        rings(&mut dp, 0).kernel_receive(10, 60);
        let mut table = [0u32; 128];
        let n = dp.rx(0, &mut table).unwrap() as usize;
        assert_eq!(n, 10);
        dp.commit(0, &table, &[VERDICT_TX; 10]).unwrap();
        let c = dp.port_ref(0).unwrap().counters;
        assert_eq!((c.tx, c.tx_ring_full_drops, c.dropped), (3, 7, 7));
        assert_eq!(dp.frames().counts().tx, 3);
        assert!(dp.check_accounting());
    }

    #[test]
    fn descriptors_the_kernel_should_not_hand_back_are_refused() {
        let mut dp = setup(256, 1, 256);
        // A frame that is free (never filled), and one past the UMEM.
        rings(&mut dp, 0).rx.push_back((u64::from(255 * FRAME), 60, 0));
        rings(&mut dp, 0).rx.push_back((u64::from(4096 * FRAME), 60, 0));
        let mut table = [0u32; 128];
        assert_eq!(dp.rx(0, &mut table).unwrap(), 0);
        assert_eq!(dp.port_ref(0).unwrap().counters.invalid_kernel_descs, 2);
        // With one frame out for TX, a completion naming a filled frame
        // (frame 0) is refused, and the sent frame stays in the kernel.
        let area = MmapArea::new(256 * FRAME as usize).unwrap();
        assert!(dp.send(0, &area, &[1u8; 60]).unwrap());
        rings(&mut dp, 0).completion.push_back(0);
        dp.service(0).unwrap();
        assert_eq!(dp.port_ref(0).unwrap().counters.invalid_kernel_descs, 3);
        assert_eq!(dp.frames().count_owned(0, FrameState::Tx), 1);
        assert!(dp.check_accounting());
    }

    #[test]
    fn send_copies_into_a_free_frame_and_respects_back_pressure() {
        let area = MmapArea::new(256 * FRAME as usize).unwrap();
        let mut dp = setup(256, 1, 64);
        rings(&mut dp, 0).tx_size = 1;
        let frame = [0xabu8; 60];
        assert!(dp.send(0, &area, &frame).unwrap());
        assert!(!dp.send(0, &area, &frame).unwrap(), "TX ring full");
        let (addr, len, _) = rings(&mut dp, 0).tx[0];
        assert_eq!(len, 60);
        assert_eq!(area.read(addr as usize, 60), frame.to_vec());
        assert_eq!(dp.send(0, &area, &[0u8; 10]).unwrap_err().code, ErrorCode::InvalidOption);
        assert!(dp.check_accounting());
    }

    #[test]
    fn closing_a_port_returns_or_retires_its_frames() {
        let mut dp = setup(512, 2, 256);
        rings(&mut dp, 1).kernel_receive(3, 60);
        let mut table = [0u32; 128];
        dp.rx(1, &mut table).unwrap();
        assert!(dp.remove_port(1, false).is_some());
        assert!(dp.remove_port(1, false).is_none());
        assert_eq!(dp.commit(1, &table, &[]).unwrap_err().code, ErrorCode::Closed);
        assert_eq!(dp.frames().counts().handler, 0);
        let fill0 = dp.frames().count_owned(0, FrameState::Fill);
        dp.remove_port(0, true);
        assert_eq!(dp.frames().counts().retired, fill0);
        assert!(dp.check_accounting());
        dp.release();
        assert_eq!(dp.frames().counts().retired, fill0);
        assert_eq!(dp.frames().counts().free + fill0, 512);
        assert!(dp.check_accounting());
    }

    /// Many rounds of random traffic and verdicts over three ports: every
    /// frame stays accounted for, and no port's tally goes wrong.
    #[test]
    fn accounting_holds_under_random_traffic() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for frames in [64u32, 256, 4096] {
            let mut dp = setup(frames, 3, 64);
            let mut table = [0u32; 128];
            let mut verdicts = [0u8; 64];
            for _ in 0..2000 {
                let p = rand(3) as usize;
                rings(&mut dp, p).kernel_receive(rand(80) as usize, 60 + rand(1000) as u32);
                let n = dp.rx(p, &mut table).unwrap() as usize;
                for v in verdicts.iter_mut().take(n) {
                    *v = rand(6) as u8; // drop, tx, forward to 0..2, one bad target
                }
                dp.commit(p, &table, &verdicts[..n]).unwrap();
                let q = rand(3) as usize;
                let k = rand(40) as usize;
                rings(&mut dp, q).kernel_send(k);
                assert!(dp.check_accounting());
            }
            for p in 0..3 {
                rings(&mut dp, p).kernel_send(usize::MAX);
                dp.service(p).unwrap();
            }
            let c = dp.frames().counts();
            assert_eq!(c.tx + c.handler, 0);
            assert_eq!(c.free + c.fill, frames);
        }
    }

    /// Segment size of copy mode with 2 KiB frames: the frame less headroom.
    const SEG: u32 = FRAME - 256;

    #[test]
    fn a_chain_is_one_frame_in_the_batch_and_goes_out_whole() {
        let mut dp = setup(256, 1, 256);
        assert!(rings(&mut dp, 0).kernel_receive_chain(4000, SEG)); // 1792 + 1792 + 416
        rings(&mut dp, 0).kernel_receive(1, 60);
        let mut table = [0u32; 128];
        assert_eq!(dp.rx(0, &mut table).unwrap(), 2);
        assert_eq!(table[1], 4000 | CHAINED);
        assert_eq!(table[3], 60);
        assert_eq!(dp.frames().counts().handler, 4);
        let mut chains = [0u32; 64];
        assert_eq!(dp.rx_chains(0, &mut chains).unwrap(), 7);
        assert_eq!((chains[0], chains[1], chains[2], chains[4], chains[6]), (3, table[0], SEG, SEG, 416));
        assert!(dp.check_accounting());
        table[1] = 4000;
        dp.commit(0, &table, &[VERDICT_TX, VERDICT_TX]).unwrap();
        let tx: Vec<_> = rings(&mut dp, 0).tx.iter().map(|d| (d.1, d.2)).collect();
        assert_eq!(tx, vec![(SEG, XDP_PKT_CONTD), (SEG, XDP_PKT_CONTD), (416, 0), (60, 0)]);
        assert_eq!(dp.port_ref(0).unwrap().counters.tx, 2);
        assert_eq!(dp.frames().count_owned(0, FrameState::Tx), 4);
        rings(&mut dp, 0).kernel_send(usize::MAX);
        dp.service(0).unwrap();
        assert_eq!(dp.frames().counts().tx, 0);
        assert_eq!(dp.port_ref(0).unwrap().counters.completed, 4);
        assert!(dp.check_accounting());
    }

    #[test]
    fn a_read_that_ends_mid_chain_keeps_the_partial_frame_for_the_next_rx() {
        let mut dp = setup(256, 1, 256);
        assert!(rings(&mut dp, 0).kernel_receive_chain(5000, SEG)); // 3 descriptors
        let mut table = [0u32; 4]; // two descriptors a read
        assert_eq!(dp.rx(0, &mut table).unwrap(), 0);
        // The two read descriptors are ours, held for the rest of the frame.
        assert_eq!(dp.frames().counts().handler, 2);
        assert!(dp.check_accounting());
        dp.commit(0, &table, &[]).unwrap(); // an empty batch leaves them alone
        assert_eq!(dp.frames().counts().handler, 2);
        assert_eq!(dp.rx(0, &mut table).unwrap(), 1);
        assert_eq!(table[1], 5000 | CHAINED);
        assert!(dp.check_accounting());
        dp.commit(0, &table, &[VERDICT_DROP]).unwrap();
        assert_eq!(dp.frames().counts().handler, 0);
        assert_eq!(dp.port_ref(0).unwrap().counters.dropped, 1);
        assert!(dp.check_accounting());
    }

    #[test]
    fn truncating_a_chain_frees_the_segments_past_the_new_length() {
        let mut dp = setup(256, 1, 256);
        assert!(rings(&mut dp, 0).kernel_receive_chain(5000, SEG));
        let mut table = [0u32; 128];
        assert_eq!(dp.rx(0, &mut table).unwrap(), 1);
        table[1] = SEG + 10; // ends 10 bytes into the second segment
        dp.commit(0, &table, &[VERDICT_TX]).unwrap();
        let tx: Vec<_> = rings(&mut dp, 0).tx.iter().map(|d| (d.1, d.2)).collect();
        assert_eq!(tx, vec![(SEG, XDP_PKT_CONTD), (10, 0)]);
        assert_eq!(dp.frames().counts().tx, 2);
        assert!(dp.check_accounting());
        // Growing a chain is refused (dropped, counted) and frees it whole.
        assert!(rings(&mut dp, 0).kernel_receive_chain(5000, SEG));
        let tx_before = rings(&mut dp, 0).tx.len();
        dp.rx(0, &mut table).unwrap();
        table[1] = 5001;
        dp.commit(0, &table, &[VERDICT_TX]).unwrap();
        assert_eq!(rings(&mut dp, 0).tx.len(), tx_before);
        assert_eq!(dp.port_ref(0).unwrap().counters.invalid_verdicts, 1);
        assert_eq!(dp.frames().counts().handler, 0);
        assert!(dp.check_accounting());
    }

    #[test]
    fn a_bad_descriptor_in_a_chain_drops_the_whole_frame() {
        let mut dp = setup(256, 1, 256);
        assert!(rings(&mut dp, 0).kernel_receive_chain(5000, SEG));
        // The middle descriptor names a frame past the UMEM.
        rings(&mut dp, 0).rx[1].0 = u64::from(4096 * FRAME);
        rings(&mut dp, 0).kernel_receive(1, 60);
        let mut table = [0u32; 128];
        assert_eq!(dp.rx(0, &mut table).unwrap(), 1);
        assert_eq!(table[1], 60);
        let c = dp.port_ref(0).unwrap().counters;
        assert_eq!((c.invalid_kernel_descs, c.dropped), (1, 1));
        assert_eq!(dp.frames().counts().handler, 1);
        assert!(dp.check_accounting());
        // A chain longer than the kernel ever makes is dropped too.
        dp.commit(0, &table, &[VERDICT_DROP]).unwrap();
        assert!(rings(&mut dp, 0).kernel_receive_chain(20 * 100, 100));
        let mut big = [0u32; 256];
        assert_eq!(dp.rx(0, &mut big).unwrap(), 0);
        assert_eq!(dp.frames().counts().handler, 0);
        assert!(dp.check_accounting());
    }

    #[test]
    fn a_chain_goes_on_the_tx_ring_whole_or_not_at_all() {
        let mut dp = setup(256, 1, 256);
        rings(&mut dp, 0).kernel_receive(1, 60);
        assert!(rings(&mut dp, 0).kernel_receive_chain(5000, SEG));
        rings(&mut dp, 0).tx_size = 3; // room for the 60-byte frame and 2 of 3 segments
        let mut table = [0u32; 128];
        assert_eq!(dp.rx(0, &mut table).unwrap(), 2);
        table[3] &= !CHAINED;
        dp.commit(0, &table, &[VERDICT_TX, VERDICT_TX]).unwrap();
        let tx: Vec<_> = rings(&mut dp, 0).tx.iter().map(|d| (d.1, d.2)).collect();
        assert_eq!(tx, vec![(60, 0)]);
        let c = dp.port_ref(0).unwrap().counters;
        assert_eq!((c.tx, c.tx_ring_full_drops), (1, 1));
        assert_eq!(dp.frames().counts().handler, 0);
        assert!(dp.check_accounting());
    }

    #[test]
    fn send_splits_a_frame_larger_than_a_umem_frame_on_multi_buffer_sockets() {
        let area = MmapArea::new(256 * FRAME as usize).unwrap();
        let mut dp = setup(256, 1, 64);
        let frame: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        assert_eq!(dp.send(0, &area, &frame).unwrap_err().code, ErrorCode::InvalidOption);
        dp.port(0).unwrap().multi_buffer = true;
        assert!(dp.send(0, &area, &frame).unwrap());
        let tx: Vec<_> = rings(&mut dp, 0).tx.iter().copied().collect();
        assert_eq!(
            tx.iter().map(|d| (d.1, d.2)).collect::<Vec<_>>(),
            vec![(SEG, XDP_PKT_CONTD), (SEG, XDP_PKT_CONTD), (5000 - 2 * SEG, 0)]
        );
        let mut back = Vec::new();
        for d in &tx {
            back.extend(area.read(d.0 as usize, d.1 as usize));
        }
        assert_eq!(back, frame);
        // No room for a whole chain: nothing queued.
        rings(&mut dp, 0).tx_size = 4;
        assert!(!dp.send(0, &area, &frame).unwrap());
        assert_eq!(rings(&mut dp, 0).tx.len(), 3);
        assert_eq!(dp.port_ref(0).unwrap().counters.sent, 1);
        assert!(dp.check_accounting());
    }

    /// Random single and chained frames, cut at random lengths, with random
    /// verdicts and reads that end mid-chain: no frame leaks.
    #[test]
    fn accounting_holds_with_chains_under_random_traffic() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut dp = setup(1024, 2, 64);
        let mut verdicts = [0u8; 64];
        for _ in 0..3000 {
            let p = rand(2) as usize;
            for _ in 0..rand(6) {
                if rand(2) == 0 {
                    rings(&mut dp, p).kernel_receive(1, 60 + rand(1000) as u32);
                } else {
                    rings(&mut dp, p).kernel_receive_chain(60 + rand(9000) as u32, SEG);
                }
            }
            let mut table = vec![0u32; 2 * (1 + rand(16) as usize)];
            let n = dp.rx(p, &mut table).unwrap() as usize;
            for i in 0..n {
                verdicts[i] = rand(4) as u8; // drop, tx, forward to 0..1
                let len = table[2 * i + 1] & !CHAINED;
                table[2 * i + 1] = 14 + rand(u64::from(len - 13)) as u32;
            }
            dp.commit(p, &table, &verdicts[..n]).unwrap();
            rings(&mut dp, rand(2) as usize).kernel_send(rand(40) as usize);
            assert!(dp.check_accounting());
        }
    }
}

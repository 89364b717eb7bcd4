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
    /// Descriptors handed out in the current batch: (addr, original len).
    batch: Vec<(u64, u32)>,
    batch_size: u32,
    /// RX ring size: the most received frames the kernel can queue for us.
    ring_size: u32,
    fill_target: u32,
    pub counters: PortCounters,
}

impl<R, M> Port<R, M> {
    /// The current batch: (addr, length as received), in table order.
    pub fn batch(&self) -> &[(u64, u32)] {
        &self.batch
    }

    pub fn new(rings: R, meta: M, batch_size: u32, ring_size: u32) -> Self {
        Port {
            rings,
            meta,
            batch: Vec::with_capacity(batch_size as usize),
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
    /// Forward targets of the current commit: (addr, len, target port).
    /// Reused, never reallocated.
    scratch: Vec<(u64, u32, u8)>,
    /// Frames the refills leave free, so that `send` finds one.
    send_reserve: u32,
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
    /// must have been committed.
    pub fn rx(&mut self, index: usize, table: &mut [u32]) -> Result<u32> {
        let reserve = self.send_reserve;
        let frames = &mut self.frames;
        let port = match self.ports.get_mut(index) {
            Some(Some(p)) => p,
            _ => return Err(closed(index)),
        };
        if !port.batch.is_empty() {
            return Err(Error::new(
                ErrorCode::BatchPending,
                "rx() called while the previous batch was not committed",
            ));
        }
        let me = index as u8;
        reap_completions(port, frames, me);
        refill(port, frames, reserve, me);
        port.rings.kick_tx();
        let want = port.batch_size.min((table.len() / 2) as u32);
        let Port { rings, batch, counters, .. } = port;
        rings.receive(want, |addr, len| {
            let ok = frames
                .frame_of(addr)
                .is_some_and(|f| frames.transition(f, FrameState::Fill, me, FrameState::Handler, me));
            if !ok {
                // Never hand JavaScript a frame we did not give the kernel.
                counters.invalid_kernel_descs += 1;
                return;
            }
            // Copy mode never hands out more than the frame's room; checked anyway.
            let len = len.min(frames.room(addr));
            let n = batch.len();
            table[2 * n] = addr as u32;
            table[2 * n + 1] = len;
            batch.push((addr, len));
        });
        let n = batch.len() as u32;
        counters.rx += u64::from(n);
        Ok(n)
    }

    /// Step 3 of the batch ABI. `table` holds the lengths JavaScript may have
    /// changed (offsets are taken from our own record, never from JS);
    /// `verdicts[i]` is the verdict of frame i. Every frame of the batch is
    /// accounted for, whatever the input: invalid verdicts or lengths drop
    /// the frame and are counted.
    pub fn commit(&mut self, index: usize, table: &[u32], verdicts: &[u8]) -> Result<()> {
        let mut batch = std::mem::take(&mut self.port(index)?.batch);
        self.settle(index, &batch, table, verdicts);
        for target in 0..self.ports.len() {
            self.transmit_to(index, target);
        }
        batch.clear();
        let reserve = self.send_reserve;
        let port = self.ports[index].as_mut().expect("checked above");
        port.batch = batch;
        refill(port, &mut self.frames, reserve, index as u8);
        Ok(())
    }

    /// Commit, part 1 (verdict dispatch): validate each frame's verdict and
    /// length, free the dropped frames, and note the others with their
    /// target port in `scratch`.
    fn settle(&mut self, index: usize, batch: &[(u64, u32)], table: &[u32], verdicts: &[u8]) {
        let Self { ports, frames, scratch, .. } = self;
        let me = index as u8;
        scratch.clear();
        let mut dropped = 0u64;
        let mut invalid = 0u64;
        for (i, &(addr, _)) in batch.iter().enumerate() {
            let verdict = verdicts.get(i).copied().unwrap_or(VERDICT_DROP);
            let len = table.get(2 * i + 1).copied().unwrap_or(0);
            let target = match verdict {
                VERDICT_DROP => None,
                VERDICT_TX => Some(index),
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
        let counters = &mut ports[index].as_mut().expect("checked by commit").counters;
        counters.dropped += dropped;
        counters.invalid_verdicts += invalid;
    }

    /// Commit, part 2 (TX descriptors): one TX transaction on `target` for
    /// the frames of `scratch` bound there. A frame goes on the ring only
    /// once its Handler→Tx transition succeeded; frames the ring has no
    /// room for are dropped and counted.
    fn transmit_to(&mut self, index: usize, target: usize) {
        let Self { ports, frames, scratch, .. } = self;
        let count = scratch.iter().filter(|e| e.2 as usize == target).count() as u32;
        if count == 0 {
            return;
        }
        let Some(Some(dst)) = ports.get_mut(target) else { return };
        let me = index as u8;
        let mut pending = scratch.iter().filter(|e| e.2 as usize == target);
        let mut refused = 0u64;
        let queued = dst.rings.transmit(count, || {
            for &(addr, len, _) in pending.by_ref() {
                let frame = frames.frame_of(addr).expect("batch holds checked addresses");
                if frames.transition(frame, FrameState::Handler, me, FrameState::Tx, target as u8) {
                    return Some((addr, len));
                }
                // Not a frame of this batch after all (a bug): it must not
                // reach the kernel, and its state is left as it is.
                refused += 1;
            }
            None
        });
        // What the ring had no room for is dropped.
        let mut ring_full = 0u64;
        for &(addr, _, _) in pending {
            let frame = frames.frame_of(addr).expect("batch holds checked addresses");
            frames.release(frame, FrameState::Handler, me);
            ring_full += 1;
        }
        dst.rings.kick_tx();
        if target != index {
            // A port that only forwards out (no loop of its own) would
            // otherwise never reap its completions, and its frames would
            // stay out of the free list.
            reap_completions(dst, frames, target as u8);
        }
        let counters = &mut ports[index].as_mut().expect("checked by commit").counters;
        if target == index {
            counters.tx += u64::from(queued);
        } else {
            counters.forwarded += u64::from(queued);
        }
        counters.dropped += ring_full + refused;
        counters.tx_ring_full_drops += ring_full;
    }

    /// Copy `bytes` into a free frame and queue it for TX. Returns false when
    /// no frame or TX slot is free right now (back-pressure; nothing queued).
    pub fn send(&mut self, index: usize, area: &MmapArea, bytes: &[u8]) -> Result<bool> {
        let frame_size = self.frames.frame_size();
        if bytes.len() < 14 || bytes.len() as u32 > frame_size - KERNEL_HEADROOM {
            return Err(Error::new(
                ErrorCode::InvalidOption,
                format!("a frame to send must be 14..={} bytes, got {}", frame_size - KERNEL_HEADROOM, bytes.len()),
            ));
        }
        let me = index as u8;
        let frames = &mut self.frames;
        let port = match self.ports.get_mut(index) {
            Some(Some(p)) => p,
            _ => return Err(closed(index)),
        };
        if frames.free_count() == 0 {
            reap_completions(port, frames, me);
        }
        let mut copied = false;
        let queued = port.rings.transmit(1, || {
            let frame = frames.take_free(FrameState::Tx, me)?;
            let addr = frames.base_addr(frame);
            area.write(addr as usize, bytes);
            copied = true;
            Some((addr, bytes.len() as u32))
        });
        debug_assert_eq!(queued == 1, copied);
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
            handler: port.batch.len() as u32,
            tx_ring,
            completion_ring: kernel_tx - tx_ring,
        })
    }

    /// Whether the frame states add up (recounted frame by frame) and each
    /// open port's batch matches its frames in the handler.
    pub fn check_accounting(&self) -> bool {
        let batches_ok = self.ports.iter().enumerate().all(|(i, p)| match p {
            Some(p) => self.frames.count_owned(i as u8, FrameState::Handler) == p.batch.len() as u32,
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
        assert_eq!(rings(&mut dp, 0).tx.iter().copied().collect::<Vec<_>>(), vec![(u64::from(table[2]), 60)]);
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
        rings(&mut dp, 0).rx.push_back((u64::from(255 * FRAME), 60));
        rings(&mut dp, 0).rx.push_back((u64::from(4096 * FRAME), 60));
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
        let (addr, len) = rings(&mut dp, 0).tx[0];
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
}

//! The four rings of one AF_XDP socket (fill, completion, RX, TX) behind a
//! small trait, so that the batch logic in `batch` runs the same against the
//! kernel's rings (`XskRings`, over xdpilone) and against an in-memory fake
//! in unit tests (`fake::FakeRings`, no root needed).
//!
//! The trait speaks in descriptors and counts; the quirks of xdpilone's
//! transactions (short grants from a cached consumer index, the extra item
//! its `insert` pulls from an iterator) stay inside `XskRings`.

use xdpilone::xdp::XdpDesc;
use xdpilone::{DeviceQueue, RingRx, RingTx, User};

pub trait Rings {
    /// Put addresses from `next` on the fill ring, at most `max`; `next` is
    /// called only when there is a slot for its result. Returns how many
    /// went on the ring.
    fn fill(&mut self, max: u32, next: impl FnMut() -> Option<u64>) -> u32;
    /// Tell the kernel the fill ring has frames, when it asked for a wake-up.
    fn wake_fill(&mut self);
    /// Read up to `max` addresses from the completion ring into `each`.
    fn complete(&mut self, max: u32, each: impl FnMut(u64));
    /// Read up to `max` descriptors (addr, len, options) from the RX ring
    /// into `each`. `options & XDP_PKT_CONTD` says the frame goes on in the
    /// next descriptor (multi-buffer sockets only).
    fn receive(&mut self, max: u32, each: impl FnMut(u64, u32, u32));
    /// Queue descriptors (addr, len, options) from `next` on the TX ring, at
    /// most `max`. `next` gets the slots still free for this call (at least
    /// one: what the kernel has left, not a cached grant), so that a caller
    /// can refuse to start a chain that would not fit whole. Returns how many
    /// were queued. Does not kick.
    fn transmit(&mut self, max: u32, next: impl FnMut(u32) -> Option<(u64, u32, u32)>) -> u32;
    /// Make the kernel send what waits in the TX ring (when it needs a kick).
    fn kick_tx(&mut self);
    /// Descriptors waiting in the RX ring.
    fn rx_available(&self) -> u32;
    /// Descriptors in the TX ring the kernel has not taken yet.
    fn tx_pending(&self) -> u32;
}

/// The rings of a bound AF_XDP socket.
pub struct XskRings {
    // Field order is drop order: rings before the socket they map.
    pub(crate) rx: RingRx,
    pub(crate) tx: RingTx,
    pub(crate) device: DeviceQueue,
    pub(crate) user: User,
    pub(crate) zero_copy: bool,
    /// Slots of the TX ring.
    pub(crate) tx_size: u32,
    /// Busy polling is on (`sockopt`): an empty RX ring makes `receive`
    /// run one busy-poll round of the device first.
    pub(crate) busy_poll: bool,
}

impl Rings for XskRings {
    fn fill(&mut self, max: u32, mut next: impl FnMut() -> Option<u64>) -> u32 {
        let mut inserted = 0;
        // Two rounds: the first grant may be cut short by xdpilone's cached
        // view of the kernel's consumer; the second reservation refreshes it.
        for _ in 0..2 {
            let want = max - inserted;
            let mut writer = self.device.fill(want);
            // `take(n)` with n <= capacity: xdpilone's insert would otherwise
            // pull one item too many from the iterator and lose that frame.
            let n = writer.capacity().min(want);
            inserted += writer.insert(std::iter::from_fn(&mut next).take(n as usize));
            writer.commit();
            drop(writer);
            if inserted == max || inserted < n {
                break; // done, or `next` ran dry
            }
        }
        inserted
    }

    fn wake_fill(&mut self) {
        if self.device.needs_wakeup() {
            self.device.wake();
        }
    }

    fn complete(&mut self, max: u32, mut each: impl FnMut(u64)) {
        let mut reader = self.device.complete(max);
        while let Some(addr) = reader.read() {
            each(addr);
        }
        reader.release();
    }

    fn receive(&mut self, max: u32, mut each: impl FnMut(u64, u32, u32)) {
        if self.busy_poll && self.rx.available() == 0 {
            crate::sockopt::busy_poll_rx(self.user.as_raw_fd());
        }
        let mut reader = self.rx.receive(max);
        while let Some(desc) = reader.read() {
            each(desc.addr, desc.len, desc.options);
        }
        reader.release();
    }

    fn transmit(&mut self, max: u32, mut next: impl FnMut(u32) -> Option<(u64, u32, u32)>) -> u32 {
        // What the kernel has really left free (its consumer, read now).
        // xdpilone serves a reservation from its cached view of the kernel's
        // consumer and refreshes that view only when it shows no room at
        // all, so a grant may be smaller than this. `next` is told the real
        // room, so a multi-buffer chain that crosses the end of the first
        // grant is not refused: once the first grant is used up, the second
        // reservation refreshes the view and holds the rest (the kernel only
        // frees slots meanwhile). Refusing it instead left a stale grant
        // smaller than a chain in place for good: every later chain was
        // refused and a multi-buffer port stopped sending. The chain's first
        // part is committed before its end is written; the kernel copies
        // only inside sendto() (kick_tx, after this) and zero-copy drivers
        // take multi-buffer frames whole.
        let total = max.min(self.tx_size.saturating_sub(self.tx.pending()));
        let mut queued = 0;
        for _ in 0..2 {
            if queued == total {
                break;
            }
            let mut writer = self.tx.transmit(total - queued);
            let mut grant = writer.capacity().min(total - queued);
            while grant > 0 {
                let Some((addr, len, options)) = next(total - queued) else {
                    writer.commit();
                    return queued;
                };
                // insert_once takes exactly one descriptor (no iterator trap).
                writer.insert_once(XdpDesc { addr, len, options });
                queued += 1;
                grant -= 1;
            }
            writer.commit();
        }
        queued
    }

    /// Copy-mode TX happens only inside sendto(), at most 32 frames a call:
    /// kick while frames wait and the kernel keeps taking them. In zero-copy
    /// mode the driver says (need_wakeup) whether it wants a kick at all.
    fn kick_tx(&mut self) {
        if self.zero_copy && !self.tx.needs_wakeup() {
            return;
        }
        let mut pending = self.tx.pending();
        for _ in 0..64 {
            if pending == 0 {
                break;
            }
            self.tx.wake();
            let now = self.tx.pending();
            if now >= pending {
                break; // the kernel took nothing (peer congested): retry next batch
            }
            pending = now;
        }
    }

    fn rx_available(&self) -> u32 {
        self.rx.available()
    }

    fn tx_pending(&self) -> u32 {
        self.tx.pending()
    }
}

/// An in-memory stand-in for the kernel side of the rings, for unit tests of
/// the batch logic. The test plays the kernel with `kernel_receive` (fill →
/// RX) and `kernel_send` (TX → completion), or injects bad descriptors.
#[cfg(test)]
pub mod fake {
    use std::collections::VecDeque;

    use super::Rings;

    pub struct FakeRings {
        pub fill: VecDeque<u64>,
        /// (addr, len, options): options carry XDP_PKT_CONTD in chains.
        pub rx: VecDeque<(u64, u32, u32)>,
        pub tx: VecDeque<(u64, u32, u32)>,
        pub completion: VecDeque<u64>,
        pub fill_size: usize,
        pub rx_size: usize,
        pub tx_size: usize,
        pub kicks: u32,
    }

    impl FakeRings {
        pub fn new(fill_size: usize, ring_size: usize) -> Self {
            FakeRings {
                fill: VecDeque::new(),
                rx: VecDeque::new(),
                tx: VecDeque::new(),
                completion: VecDeque::new(),
                fill_size,
                rx_size: ring_size,
                tx_size: ring_size,
                kicks: 0,
            }
        }

        /// The kernel receives up to `n` frames of `len` bytes into filled
        /// frames (as copy mode would, after 256 bytes of headroom).
        pub fn kernel_receive(&mut self, n: usize, len: u32) -> usize {
            let mut done = 0;
            while done < n && self.rx.len() < self.rx_size {
                let Some(addr) = self.fill.pop_front() else { break };
                self.rx.push_back((addr + 256, len, 0));
                done += 1;
            }
            done
        }

        /// The kernel receives one multi-buffer frame of `len` bytes, `seg`
        /// bytes a descriptor, chained with XDP_PKT_CONTD. Returns false
        /// (receiving nothing) without enough filled frames or RX slots, as
        /// the kernel drops a frame it cannot place whole.
        pub fn kernel_receive_chain(&mut self, len: u32, seg: u32) -> bool {
            let n = len.div_ceil(seg) as usize;
            if self.fill.len() < n || self.rx_size - self.rx.len() < n {
                return false;
            }
            for i in 0..n {
                let addr = self.fill.pop_front().expect("checked");
                let this = seg.min(len - i as u32 * seg);
                let contd = if i + 1 < n { crate::batch::XDP_PKT_CONTD } else { 0 };
                self.rx.push_back((addr + 256, this, contd));
            }
            true
        }

        /// The kernel sends up to `n` queued frames and completes them.
        pub fn kernel_send(&mut self, n: usize) -> Vec<(u64, u32, u32)> {
            let mut sent = Vec::new();
            while sent.len() < n {
                let Some(desc) = self.tx.pop_front() else { break };
                self.completion.push_back(desc.0);
                sent.push(desc);
            }
            sent
        }
    }

    impl Rings for FakeRings {
        fn fill(&mut self, max: u32, mut next: impl FnMut() -> Option<u64>) -> u32 {
            let mut n = 0;
            while n < max && self.fill.len() < self.fill_size {
                let Some(addr) = next() else { break };
                self.fill.push_back(addr);
                n += 1;
            }
            n
        }

        fn wake_fill(&mut self) {}

        fn complete(&mut self, max: u32, mut each: impl FnMut(u64)) {
            for _ in 0..max {
                let Some(addr) = self.completion.pop_front() else { break };
                each(addr);
            }
        }

        fn receive(&mut self, max: u32, mut each: impl FnMut(u64, u32, u32)) {
            for _ in 0..max {
                let Some((addr, len, options)) = self.rx.pop_front() else { break };
                each(addr, len, options);
            }
        }

        fn transmit(&mut self, max: u32, mut next: impl FnMut(u32) -> Option<(u64, u32, u32)>) -> u32 {
            let mut n = 0;
            while n < max && self.tx.len() < self.tx_size {
                let room = (max - n).min((self.tx_size - self.tx.len()) as u32);
                let Some(desc) = next(room) else { break };
                self.tx.push_back(desc);
                n += 1;
            }
            n
        }

        fn kick_tx(&mut self) {
            self.kicks += 1;
        }

        fn rx_available(&self) -> u32 {
            self.rx.len() as u32
        }

        fn tx_pending(&self) -> u32 {
            self.tx.len() as u32
        }
    }
}

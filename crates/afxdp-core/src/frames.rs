//! Frame ownership accounting. Every UMEM frame is in exactly one state at
//! any time, and the states always add up to the UMEM size. Every transition
//! is checked: a descriptor the kernel or JavaScript hands back must name a
//! frame in the state we expect, owned by the port we expect.

/// Where a frame is. Kernel-side states (`Fill`, `Tx`) cover both the ring
/// we put the frame on and the ring it comes back on: we cannot see when the
/// kernel moves a frame from the fill ring to the RX ring, or from the TX
/// ring to the completion ring; port statistics split them by ring occupancy.
///
/// This table is the one tally of frames: how many frames a port has in the
/// kernel is read from it (`count_owned`), never kept beside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameState {
    /// In our free list.
    Free = 0,
    /// Given to the kernel for receiving (fill ring or RX ring).
    Fill = 1,
    /// Handed to JavaScript in the current batch.
    Handler = 2,
    /// Given to the kernel for sending (TX ring or completion ring).
    Tx = 3,
    /// Held by a socket that was closed while its UMEM lives on; returns to
    /// the free list only when the whole UMEM is freed.
    Retired = 4,
}

const STATES: usize = 5;
/// Owners are port indices (u8); 256 slots cover every one.
const OWNERS: usize = 256;

pub struct FrameTable {
    frame_size: u32,
    /// log2(frame_size): frame sizes are powers of two (2048, 4096), and the
    /// address-to-frame mapping runs several times per packet, where a
    /// shift costs a cycle and a 64-bit division dozens.
    frame_shift: u32,
    /// Frame count (kept when `release_tables` frees the per-frame tables).
    total: u32,
    state: Vec<FrameState>,
    /// The port a non-free frame belongs to (meaningless when free).
    owner: Vec<u8>,
    /// Stack of free frame indices; its capacity is the frame count, so
    /// pushing never allocates.
    free: Vec<u32>,
    counts: [u32; STATES],
    /// Frames per (owner, state), for the states that have an owner (not
    /// `Free`): makes `count_owned` O(1) on the hot path.
    owned: Vec<[u32; STATES]>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameCounts {
    pub total: u32,
    pub free: u32,
    pub fill: u32,
    pub handler: u32,
    pub tx: u32,
    pub retired: u32,
}

impl FrameTable {
    pub fn new(frames: u32, frame_size: u32) -> Self {
        assert!(frame_size.is_power_of_two(), "frame size {frame_size} is not a power of two");
        let mut free = Vec::with_capacity(frames as usize);
        // Hand out low frames first: pop() takes from the end.
        free.extend((0..frames).rev());
        let mut counts = [0; STATES];
        counts[FrameState::Free as usize] = frames;
        FrameTable {
            frame_size,
            frame_shift: frame_size.trailing_zeros(),
            total: frames,
            state: vec![FrameState::Free; frames as usize],
            owner: vec![0; frames as usize],
            free,
            counts,
            owned: vec![[0; STATES]; OWNERS],
        }
    }

    pub fn frame_size(&self) -> u32 {
        self.frame_size
    }

    pub fn len(&self) -> u32 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }

    pub fn free_count(&self) -> u32 {
        self.free.len() as u32
    }

    /// The frame an address (anywhere inside it) belongs to.
    pub fn frame_of(&self, addr: u64) -> Option<u32> {
        let index = addr >> self.frame_shift;
        (index < self.state.len() as u64).then_some(index as u32)
    }

    /// Bytes from `addr` to the end of its frame.
    pub fn room(&self, addr: u64) -> u32 {
        let size = u64::from(self.frame_size);
        (size - (addr & (size - 1))) as u32
    }

    pub fn base_addr(&self, frame: u32) -> u64 {
        u64::from(frame) << self.frame_shift
    }

    /// Take a free frame into `to`, owned by `port`.
    pub fn take_free(&mut self, to: FrameState, port: u8) -> Option<u32> {
        let frame = self.free.pop()?;
        self.set(frame, to, port);
        Some(frame)
    }

    /// Move `frame` from `from` (owned by `port`) to `to`, owned by
    /// `new_port`. Returns false, changing nothing, when the frame is not in
    /// the expected state or not owned by `port`.
    pub fn transition(&mut self, frame: u32, from: FrameState, port: u8, to: FrameState, new_port: u8) -> bool {
        let i = frame as usize;
        if i >= self.state.len() || self.state[i] != from || (from != FrameState::Free && self.owner[i] != port) {
            return false;
        }
        if to == FrameState::Free {
            self.free.push(frame);
        }
        self.set(frame, to, new_port);
        true
    }

    /// Release a frame to the free list (checked like `transition`).
    pub fn release(&mut self, frame: u32, from: FrameState, port: u8) -> bool {
        self.transition(frame, from, port, FrameState::Free, 0)
    }

    /// Move every frame of `port` in state `from` to `to` (closing a port).
    pub fn move_all(&mut self, port: u8, from: FrameState, to: FrameState) -> u32 {
        let mut moved = 0;
        for frame in 0..self.state.len() as u32 {
            let i = frame as usize;
            if self.state[i] == from && self.owner[i] == port {
                if to == FrameState::Free {
                    self.free.push(frame);
                }
                self.set(frame, to, port);
                moved += 1;
            }
        }
        moved
    }

    fn set(&mut self, frame: u32, to: FrameState, port: u8) {
        let i = frame as usize;
        let from = self.state[i];
        self.counts[from as usize] -= 1;
        self.counts[to as usize] += 1;
        if from != FrameState::Free {
            self.owned[self.owner[i] as usize][from as usize] -= 1;
        }
        if to != FrameState::Free {
            self.owned[port as usize][to as usize] += 1;
        }
        self.state[i] = to;
        self.owner[i] = port;
    }

    pub fn state(&self, frame: u32) -> FrameState {
        self.state[frame as usize]
    }

    /// Frames of `port` in `state` (a state other than `Free`, which has no
    /// owner). O(1).
    pub fn count_owned(&self, port: u8, state: FrameState) -> u32 {
        debug_assert!(state != FrameState::Free, "free frames have no owner");
        self.owned[port as usize][state as usize]
    }

    pub fn counts(&self) -> FrameCounts {
        FrameCounts {
            total: self.len(),
            free: self.counts[FrameState::Free as usize],
            fill: self.counts[FrameState::Fill as usize],
            handler: self.counts[FrameState::Handler as usize],
            tx: self.counts[FrameState::Tx as usize],
            retired: self.counts[FrameState::Retired as usize],
        }
    }

    /// The accounting invariant: the states add up to the frame count and
    /// the free list holds exactly the free frames.
    pub fn check(&self) -> bool {
        let sum: u32 = self.counts.iter().sum();
        if self.state.is_empty() {
            return sum == self.total; // tables released (UMEM closed)
        }
        let per_owner_ok = (1..STATES).all(|s| self.owned.iter().map(|o| o[s]).sum::<u32>() == self.counts[s]);
        sum == self.len() && self.free.len() as u32 == self.counts[FrameState::Free as usize] && per_owner_ok
    }

    /// Free the per-frame tables of a closed UMEM now (they would otherwise
    /// wait for JavaScript's garbage collector); the totals by state stay.
    /// Only `counts` and `check` are meaningful afterwards.
    pub fn release_tables(&mut self) {
        for frame in 0..self.state.len() as u32 {
            if self.state[frame as usize] != FrameState::Free && self.state[frame as usize] != FrameState::Retired {
                self.set(frame, FrameState::Free, 0);
            }
        }
        self.state = Vec::new();
        self.owner = Vec::new();
        self.free = Vec::new();
        self.owned = Vec::new();
    }

    /// `check`, plus a recount of every frame's state and owner against the
    /// running counts (O(frames): for tests and `check_accounting`, not the
    /// data path).
    pub fn check_thoroughly(&self) -> bool {
        if self.state.is_empty() {
            return self.check();
        }
        let mut counts = [0u32; STATES];
        let mut owned = vec![[0u32; STATES]; OWNERS];
        for (state, owner) in self.state.iter().zip(&self.owner) {
            counts[*state as usize] += 1;
            if *state != FrameState::Free {
                owned[*owner as usize][*state as usize] += 1;
            }
        }
        self.check() && counts == self.counts && owned == self.owned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_sum_to_total_through_a_cycle() {
        let mut t = FrameTable::new(8, 2048);
        let f = t.take_free(FrameState::Fill, 0).unwrap();
        assert_eq!(f, 0);
        assert!(t.transition(f, FrameState::Fill, 0, FrameState::Handler, 0));
        assert!(t.transition(f, FrameState::Handler, 0, FrameState::Tx, 1));
        assert_eq!(t.counts().tx, 1);
        assert_eq!(t.count_owned(1, FrameState::Tx), 1);
        assert_eq!(t.count_owned(0, FrameState::Tx), 0);
        assert!(t.check_thoroughly());
        assert!(t.release(f, FrameState::Tx, 1));
        assert_eq!(t.counts(), FrameCounts { total: 8, free: 8, ..Default::default() });
        assert_eq!(t.count_owned(1, FrameState::Tx), 0);
        assert!(t.check_thoroughly());
    }

    #[test]
    fn rejects_wrong_state_or_owner() {
        let mut t = FrameTable::new(4, 4096);
        let f = t.take_free(FrameState::Fill, 2).unwrap();
        assert!(!t.transition(f, FrameState::Handler, 2, FrameState::Tx, 2));
        assert!(!t.transition(f, FrameState::Fill, 1, FrameState::Handler, 1));
        assert!(!t.transition(99, FrameState::Fill, 2, FrameState::Handler, 2));
        assert_eq!(t.state(f), FrameState::Fill);
        assert!(t.check());
    }

    #[test]
    fn addresses_map_to_frames() {
        let t = FrameTable::new(4, 2048);
        assert_eq!(t.frame_of(2048 + 256), Some(1));
        assert_eq!(t.frame_of(4 * 2048), None);
        assert_eq!(t.room(2048 + 256), 2048 - 256);
    }
}

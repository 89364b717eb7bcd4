//! The memory behind a UMEM: an anonymous, page-aligned, private mapping.
//! Whoever drops the last `Arc<MmapArea>` unmaps it — unless it was
//! unmapped earlier with `unmap`, which the binding does on close once
//! JavaScript's view of it is detached, so that a closed UMEM gives its
//! memory back at once instead of when the garbage collector gets to it.

use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

pub struct MmapArea {
    ptr: NonNull<u8>,
    len: usize,
    unmapped: AtomicBool,
}

// SAFETY: the mapping is plain memory owned by this value; access to the
// bytes is coordinated by the frame accounting (and by the kernel's ring
// protocol), not by Rust references, so moving the owner between threads is
// sound. Only the final munmap needs the pointer, and it happens once.
unsafe impl Send for MmapArea {}
// SAFETY: &MmapArea exposes only the pointer and length, never a reference
// into the bytes; the one-time unmap is guarded by an atomic flag.
unsafe impl Sync for MmapArea {}

impl MmapArea {
    pub fn new(len: usize) -> Result<Self> {
        // SAFETY: anonymous private mapping; no fd and no fixed address.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::last_os("mmap", format!("mapping {len} bytes for the UMEM")));
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).expect("mmap returned NULL without failing");
        Ok(MmapArea { ptr, len, unmapped: AtomicBool::new(false) })
    }

    /// Start loading the cache line at `offset` into this CPU's caches, for
    /// writing (PREFETCHW: the line arrives exclusive, so a handler that
    /// edits the frame does not wait a second time to own it). A hint:
    /// nothing happens outside the area or off x86_64, and CPUs without the
    /// instruction execute it as a no-op.
    #[inline]
    pub fn prefetch(&self, offset: usize) {
        #[cfg(target_arch = "x86_64")]
        if offset < self.len {
            let p = self.ptr.as_ptr().wrapping_add(offset);
            // SAFETY: a prefetch only hints the cache: it never faults, even
            // at an unmapped address, writes no memory, register or flag,
            // and uses no stack (declared `readonly`: it may read the line).
            unsafe { std::arch::asm!("prefetchw [{0}]", in(reg) p, options(nostack, readonly, preserves_flags)) };
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = offset;
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_slice_ptr(&self) -> NonNull<[u8]> {
        NonNull::slice_from_raw_parts(self.ptr, self.len)
    }

    /// Copy `bytes` into the area at `offset`. The caller owns that range
    /// (a free frame it took, per the frame accounting).
    pub fn write(&self, offset: usize, bytes: &[u8]) {
        assert!(offset.checked_add(bytes.len()).is_some_and(|end| end <= self.len), "write outside the UMEM");
        assert!(!self.unmapped.load(Ordering::Acquire), "write to an unmapped UMEM");
        // SAFETY: the range lies inside the live mapping (checked above);
        // the frame accounting keeps the kernel and JavaScript off a frame
        // while we own it; raw copies make no Rust reference to the bytes.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.as_ptr().add(offset), bytes.len()) };
    }

    /// A copy of `len` bytes at `offset` (tests and diagnostics).
    pub fn read(&self, offset: usize, len: usize) -> Vec<u8> {
        assert!(offset.checked_add(len).is_some_and(|end| end <= self.len), "read outside the UMEM");
        assert!(!self.unmapped.load(Ordering::Acquire), "read of an unmapped UMEM");
        let mut out = vec![0u8; len];
        // SAFETY: as in `write`, the range is inside the live mapping.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.as_ptr().add(offset), out.as_mut_ptr(), len) };
        out
    }

    /// Give the memory back now; dropping the last owner later does nothing.
    ///
    /// # Safety
    ///
    /// Nothing may touch the memory afterwards: the UMEM registration that
    /// lent it to the kernel must be gone, and every JavaScript view of it
    /// detached (a detached ArrayBuffer has length 0, so reads through it
    /// never reach memory).
    pub unsafe fn unmap(&self) {
        if !self.unmapped.swap(true, Ordering::AcqRel) {
            // SAFETY: ptr/len came from our successful mmap; the flag makes
            // this the only munmap; the caller promises no further access.
            unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
        }
    }
}

impl Drop for MmapArea {
    fn drop(&mut self) {
        if !*self.unmapped.get_mut() {
            // SAFETY: ptr/len came from our successful mmap and are unmapped once.
            unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
        }
    }
}

//! The memory behind a UMEM: an anonymous, page-aligned, shared mapping.
//! It outlives the UMEM registration when JavaScript still holds a view of
//! it; whoever drops the last `Arc<MmapArea>` unmaps it.

use std::ptr::NonNull;

use crate::error::{Error, Result};

pub struct MmapArea {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is plain memory owned by this value; access to the
// bytes is coordinated by the frame accounting (and by the kernel's ring
// protocol), not by Rust references, so moving the owner between threads is
// sound. Only the final munmap needs the pointer, and it happens once.
unsafe impl Send for MmapArea {}
// SAFETY: &MmapArea exposes only the pointer and length, never a reference
// into the bytes.
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
        Ok(MmapArea { ptr, len })
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
}

impl Drop for MmapArea {
    fn drop(&mut self) {
        // SAFETY: ptr/len came from our successful mmap and are unmapped once.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len) };
    }
}

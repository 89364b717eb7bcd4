//! The native ceiling for benchmarks: a Rust-only consumer of the same
//! rings and the same batch ABI (`rx`/`commit`) that the TypeScript loop
//! uses, doing the same per-packet work, so the two can be compared side by
//! side in one run.

use std::time::{Duration, Instant};

use crate::error::{Error, ErrorCode, Result};
use crate::sys::poll_readable;
use crate::umem::{UmemGroup, VERDICT_DROP, VERDICT_TX};

/// Empty polls before blocking (as in ts/port.ts).
const IDLE_SPINS: u32 = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NativeWork {
    /// Read the EtherType, drop.
    ReadEthertypeDrop,
    /// Swap the MAC addresses in place, send back out.
    SwapMacTx,
}

impl NativeWork {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "drop" => Ok(NativeWork::ReadEthertypeDrop),
            "swap-mac-tx" => Ok(NativeWork::SwapMacTx),
            other => Err(Error::new(ErrorCode::InvalidOption, format!("unknown native work {other:?}"))),
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct NativeRun {
    pub frames: u64,
    pub elapsed: Duration,
    /// CPU time of the calling thread over the run.
    pub thread_cpu: Duration,
    /// Sum of EtherTypes read (keeps the read from being optimised away).
    pub checksum: u64,
}

/// CPU time consumed by the calling thread so far.
pub fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes a timespec into the struct we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Busy-poll `port` for `duration`, handling every frame with `work`.
pub fn run_native(
    group: &mut UmemGroup,
    port: usize,
    work: NativeWork,
    batch: usize,
    duration: Duration,
) -> Result<NativeRun> {
    let mut table = vec![0u32; 2 * batch];
    let mut verdicts = vec![0u8; batch];
    let base = group.area().as_ptr();
    let mut run = NativeRun::default();
    let mut idle = 0u32;
    let cpu_start = thread_cpu_time();
    let start = Instant::now();
    while start.elapsed() < duration {
        let n = group.rx(port, &mut table)? as usize;
        for i in 0..n {
            let offset = table[2 * i] as usize;
            let len = table[2 * i + 1] as usize;
            // SAFETY: rx() handed this frame to us for this batch: it lies
            // inside the UMEM area (checked against the frame table) and
            // neither the kernel nor anyone else touches it until commit().
            let frame = unsafe { std::slice::from_raw_parts_mut(base.add(offset), len) };
            verdicts[i] = match work {
                NativeWork::ReadEthertypeDrop => {
                    run.checksum += u64::from(u16::from_be_bytes([frame[12], frame[13]]));
                    VERDICT_DROP
                }
                NativeWork::SwapMacTx => {
                    let (dst, src) = frame.split_at_mut(6);
                    dst.swap_with_slice(&mut src[..6]);
                    VERDICT_TX
                }
            };
        }
        if n > 0 {
            group.commit(port, &table, &verdicts[..n])?;
            run.frames += n as u64;
            idle = 0;
            continue;
        }
        // Wait like the TypeScript loop does: a few back-to-back re-polls,
        // then block in poll().
        group.service(port)?;
        idle += 1;
        if idle > IDLE_SPINS {
            idle = 0;
            let (fd, _wakeup) = group.poll_fds(port)?;
            poll_readable(&[fd], 1)?;
        }
    }
    run.elapsed = start.elapsed();
    run.thread_cpu = thread_cpu_time() - cpu_start;
    Ok(run)
}

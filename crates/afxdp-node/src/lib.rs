//! Thin N-API binding over afxdp-core: argument conversion and nothing else.
//! The batch ABI is one synchronous call per batch (`batchCycle`: commit the
//! last batch, receive the next) that borrows preallocated typed arrays, with
//! `rx` and `commit` as its two halves; waiting for traffic is an AsyncTask.

#![deny(clippy::all)]

use std::cell::{Ref, RefCell, RefMut};
use std::rc::Rc;
use std::sync::Arc;

use afxdp_core::bpf::AttachMode;
use afxdp_core::mmap::MmapArea;
use afxdp_core::umem::{PortOptions, UmemGroup, UmemOptions, ZeroCopy};
use napi::bindgen_prelude::*;
use napi_derive::napi;

pub mod coexist;
mod errors;
// pub (batch_cycle, latency, steer, traffic): their free functions are reached only through napi
// registration, which test builds leave out (else they count as dead code).
pub mod batch_cycle;
pub mod latency;
mod link;
pub mod steer;
pub mod traffic;
mod wait;

use errors::{invalid_option, OrThrow};

/// A borrowed Uint32Array. Spelled as an alias so napi-derive converts it
/// with `FromNapiValue for &mut [u32]` (no copy) rather than as a `&mut` argument.
pub(crate) type U32Table<'a> = &'a mut [u32];

#[napi(object)]
pub struct UmemInit {
    pub frame_size: Option<u32>,
    pub frames: Option<u32>,
}

/// XDP attach mode: native (driver) where supported, else generic (skb).
#[napi(string_enum = "lowercase")]
pub enum XdpMode {
    Auto,
    Native,
    Skb,
}

/// Zero-copy: try it and fall back to copy mode, force it, or never.
#[napi(string_enum = "lowercase")]
pub enum ZeroCopyMode {
    Auto,
    On,
    Off,
}

#[napi(object)]
pub struct PortInit {
    pub interface: String,
    pub queue: Option<u32>,
    pub mode: Option<XdpMode>,
    pub zero_copy: Option<ZeroCopyMode>,
    pub batch_size: Option<u32>,
    pub ring_size: Option<u32>,
    /// Steering rules (JSON of ts/steer RuleSet) installed before the socket is bound.
    pub rules_json: Option<String>,
    /// Busy polling (SO_PREFER_BUSY_POLL and friends).
    pub busy_poll: Option<bool>,
    /// Copy-mode descriptors per sendto (XDP_MAX_TX_SKB_BUDGET); 0: the kernel's default; unset: the ring size.
    pub tx_budget: Option<u32>,
    /// Multi-buffer (jumbo frames): unset = only when the MTU needs it.
    pub multi_buffer: Option<bool>,
}

#[napi(object)]
pub struct NativePortStats {
    pub rx: f64,
    pub tx: f64,
    pub dropped: f64,
    pub forwarded: f64,
    pub sent: f64,
    pub passed: f64,
    pub pass_failed: f64,
    pub completed: f64,
    pub tx_ring_full_drops: f64,
    pub invalid_verdicts: f64,
    pub invalid_kernel_descs: f64,
    pub rx_dropped: f64,
    pub rx_invalid_descs: f64,
    pub tx_invalid_descs: f64,
    pub rx_ring_full: f64,
    pub rx_fill_ring_empty_descs: f64,
    pub tx_ring_empty_descs: f64,
    pub fill_ring: u32,
    pub rx_ring: u32,
    pub handler: u32,
    pub tx_ring: u32,
    pub completion_ring: u32,
    pub interface: String,
    pub ifindex: u32,
    pub queue: u32,
    pub attach_mode: String,
    pub zero_copy: bool,
    pub busy_poll: bool,
    pub tx_budget: u32,
    pub multi_buffer: bool,
}

#[napi(object)]
pub struct NativeFrameCounts {
    pub total: u32,
    pub free: u32,
    pub fill: u32,
    pub handler: u32,
    pub tx: u32,
    pub retired: u32,
    /// Whether every state adds up and agrees with the per-port counts.
    pub consistent: bool,
}

#[napi(object)]
pub struct NativeBenchRun {
    pub frames: f64,
    pub seconds: f64,
    pub thread_cpu_ns: f64,
}

/// One UMEM and the ports sharing it. Lives on the JS thread that made it.
/// The group is shared (Rc) with the run loop's `batchCycle` handle; the
/// RefCell is never contended: calls into it never nest (one JS thread, and
/// no call back into JavaScript from inside one).
#[napi]
pub struct NativeUmem {
    group: Rc<RefCell<UmemGroup>>,
    buffer_made: bool,
}

impl From<XdpMode> for AttachMode {
    fn from(mode: XdpMode) -> Self {
        match mode {
            XdpMode::Auto => AttachMode::Auto,
            XdpMode::Native => AttachMode::Native,
            XdpMode::Skb => AttachMode::Skb,
        }
    }
}

impl From<ZeroCopyMode> for ZeroCopy {
    fn from(zc: ZeroCopyMode) -> Self {
        match zc {
            ZeroCopyMode::Auto => ZeroCopy::Auto,
            ZeroCopyMode::On => ZeroCopy::On,
            ZeroCopyMode::Off => ZeroCopy::Off,
        }
    }
}

#[napi]
impl NativeUmem {
    #[napi(constructor)]
    pub fn new(env: &Env, init: UmemInit) -> napi::Result<Self> {
        let defaults = UmemOptions::default();
        let opts = UmemOptions {
            frame_size: init.frame_size.unwrap_or(defaults.frame_size),
            frames: init.frames.unwrap_or(defaults.frames),
        };
        let group = UmemGroup::new(&opts).or_throw(env)?;
        Ok(NativeUmem { group: Rc::new(RefCell::new(group)), buffer_made: false })
    }

    /// The one ArrayBuffer over the whole UMEM. Callable once: V8 aborts when
    /// two ArrayBuffers register the same memory. Pass it back to `close`,
    /// which detaches it and frees the memory at once.
    #[napi]
    pub fn buffer<'env>(&mut self, env: &'env Env) -> napi::Result<ArrayBuffer<'env>> {
        if self.buffer_made {
            return Err(invalid_option(env, "the UMEM buffer was already created; reuse it".into()));
        }
        if self.group().is_closed() {
            return Err(errors::to_js(
                env,
                afxdp_core::Error::new(afxdp_core::ErrorCode::Closed, "this UMEM is closed"),
            ));
        }
        let area: Arc<MmapArea> = Arc::clone(self.group().area());
        let ptr = area.as_ptr();
        let len = area.len();
        // SAFETY: ptr/len describe the live mapping owned by `area`; the Arc
        // moved into the finalizer keeps it mapped for as long as the
        // ArrayBuffer exists — unless `close` detaches the ArrayBuffer first
        // and only then unmaps — and the finalizer does nothing but drop it
        // (so it is also safe when napi-rs copies and finalizes at once).
        let buffer = unsafe { ArrayBuffer::from_external(env, ptr, len, area, |_, area| drop(area)) }
            .map_err(|e| errors::internal(env, format!("creating the UMEM ArrayBuffer: {e}")))?;
        if buffer.as_ptr() != ptr.cast_const() {
            return Err(errors::internal(
                env,
                "this runtime copied the UMEM instead of sharing it (external buffers refused); \
                 zero-copy handlers cannot work here"
                    .into(),
            ));
        }
        self.buffer_made = true;
        Ok(buffer)
    }

    #[napi(getter)]
    pub fn frame_size(&self) -> u32 {
        self.group().frame_size()
    }

    #[napi]
    pub fn add_port(&mut self, env: &Env, init: PortInit) -> napi::Result<u32> {
        let mut opts = PortOptions::new(&init.interface);
        opts.queue = init.queue.unwrap_or(0);
        opts.mode = init.mode.map_or(AttachMode::Auto, AttachMode::from);
        opts.zero_copy = init.zero_copy.map_or(ZeroCopy::Auto, ZeroCopy::from);
        opts.multi_buffer = init.multi_buffer;
        if let Some(b) = init.batch_size {
            opts.batch_size = b;
        }
        if let Some(r) = init.ring_size {
            opts.ring_size = r;
        }
        opts.busy_poll = init.busy_poll.unwrap_or(false);
        opts.tx_budget = init.tx_budget;
        if let Some(json) = &init.rules_json {
            opts.rules = Some(afxdp_core::bpf::RuleSet::from_json(json).or_throw(env)?);
        }
        self.group_mut().add_port(&opts).map(|i| i as u32).or_throw(env)
    }

    /// Batch step 1: (offset, length) pairs into `table`; returns the count.
    #[napi]
    pub fn rx(
        &mut self,
        env: &Env,
        port: u32,
        #[napi(ts_arg_type = "Uint32Array")] table: U32Table<'_>,
    ) -> napi::Result<u32> {
        self.group_mut().rx(port as usize, table).or_throw(env)
    }

    /// The segments of the batch's multi-buffer frames: per frame, its
    /// segment count then (offset, length) pairs. Returns the words written.
    #[napi]
    pub fn rx_chains(
        &mut self,
        env: &Env,
        port: u32,
        #[napi(ts_arg_type = "Uint32Array")] out: U32Table<'_>,
    ) -> napi::Result<u32> {
        self.group().rx_chains(port as usize, out).or_throw(env)
    }

    /// Batch step 3: verdicts (and lengths in `table`) of the last batch.
    #[napi]
    pub fn commit(&mut self, env: &Env, port: u32, table: &[u32], verdicts: &[u8]) -> napi::Result<()> {
        self.group_mut().commit(port as usize, table, verdicts).or_throw(env)
    }

    #[napi]
    pub fn send(&mut self, env: &Env, port: u32, bytes: &[u8]) -> napi::Result<bool> {
        self.group_mut().send(port as usize, bytes).or_throw(env)
    }

    /// Reap completions, refill, kick TX, without receiving.
    #[napi]
    pub fn service(&mut self, env: &Env, port: u32) -> napi::Result<()> {
        self.group_mut().service(port as usize).or_throw(env)
    }

    #[napi]
    pub fn tx_pending(&mut self, env: &Env, port: u32) -> napi::Result<bool> {
        self.group_mut().tx_pending(port as usize).or_throw(env)
    }

    /// A waiter for this port: a separate object, so that a wait in flight
    /// does not hold a borrow of the UMEM (other calls go on meanwhile).
    #[napi]
    pub fn waiter(&mut self, env: &Env, port: u32) -> napi::Result<wait::PortWaiter> {
        let (fd, wakeup) = self.group_mut().poll_fds(port as usize).or_throw(env)?;
        Ok(wait::PortWaiter::new(fd, wakeup))
    }

    /// End a pending `wait` of this port at once.
    #[napi]
    pub fn wake(&mut self, env: &Env, port: u32) -> napi::Result<()> {
        self.group_mut().wake(port as usize).or_throw(env)
    }

    #[napi]
    pub fn stats(&mut self, env: &Env, port: u32) -> napi::Result<NativePortStats> {
        let s = self.group_mut().stats(port as usize).or_throw(env)?;
        let c = s.counters;
        Ok(NativePortStats {
            rx: c.rx as f64,
            tx: c.tx as f64,
            dropped: c.dropped as f64,
            forwarded: c.forwarded as f64,
            sent: c.sent as f64,
            passed: c.passed as f64,
            pass_failed: c.pass_failed as f64,
            completed: c.completed as f64,
            tx_ring_full_drops: c.tx_ring_full_drops as f64,
            invalid_verdicts: c.invalid_verdicts as f64,
            invalid_kernel_descs: c.invalid_kernel_descs as f64,
            rx_dropped: s.xdp.rx_dropped as f64,
            rx_invalid_descs: s.xdp.rx_invalid_descs as f64,
            tx_invalid_descs: s.xdp.tx_invalid_descs as f64,
            rx_ring_full: s.xdp.rx_ring_full as f64,
            rx_fill_ring_empty_descs: s.xdp.rx_fill_ring_empty_descs as f64,
            tx_ring_empty_descs: s.xdp.tx_ring_empty_descs as f64,
            fill_ring: s.frames.fill_ring,
            rx_ring: s.frames.rx_ring,
            handler: s.frames.handler,
            tx_ring: s.frames.tx_ring,
            completion_ring: s.frames.completion_ring,
            interface: s.interface,
            ifindex: s.ifindex,
            queue: s.queue,
            attach_mode: s.attach_mode.to_string(),
            zero_copy: s.zero_copy,
            busy_poll: s.tuning.busy_poll,
            tx_budget: s.tuning.tx_budget,
            multi_buffer: s.multi_buffer,
        })
    }

    #[napi]
    pub fn frame_counts(&self) -> NativeFrameCounts {
        let c = self.group().frame_counts();
        NativeFrameCounts {
            total: c.total,
            free: c.free,
            fill: c.fill,
            handler: c.handler,
            tx: c.tx,
            retired: c.retired,
            consistent: self.group().check_accounting(),
        }
    }

    #[napi]
    pub fn close_port(&mut self, env: &Env, port: u32) -> napi::Result<()> {
        self.group_mut().close_port(port as usize).or_throw(env)
    }

    /// Benchmark ceiling: a Rust-only consumer of this port's rings doing
    /// `work` ("drop" or "swap-mac-tx") for `ms` milliseconds (blocks).
    #[napi]
    pub fn bench_native(
        &mut self,
        env: &Env,
        port: u32,
        work: String,
        batch: u32,
        ms: u32,
    ) -> napi::Result<NativeBenchRun> {
        let work = afxdp_core::bench::NativeWork::parse(&work).or_throw(env)?;
        let run = afxdp_core::bench::run_native(
            &mut self.group_mut(),
            port as usize,
            work,
            batch.clamp(1, 1024) as usize,
            std::time::Duration::from_millis(u64::from(ms)),
        )
        .or_throw(env)?;
        Ok(NativeBenchRun {
            frames: run.frames as f64,
            seconds: run.elapsed.as_secs_f64(),
            thread_cpu_ns: run.thread_cpu.as_nanos() as f64,
        })
    }

    /// Close every port and the UMEM registration, and wake pending waits.
    /// Pass the ArrayBuffer from `buffer()` to give the memory back now too:
    /// the ArrayBuffer is detached first (its views read as empty from then
    /// on, so a handler that kept one gets `undefined`, never freed memory),
    /// then the memory is unmapped. Without it the memory stays mapped until
    /// the ArrayBuffer is garbage-collected: safe, but a process that opens
    /// and closes many ports would grow by a UMEM each time.
    #[napi]
    pub fn close(&mut self, env: &Env, buffer: Option<ArrayBuffer<'_>>) -> napi::Result<()> {
        self.group_mut().close();
        match buffer {
            Some(buffer) => self.release_memory(env, buffer),
            None if !self.buffer_made => {
                // SAFETY: no ArrayBuffer was ever made over the memory, and
                // `close` just dropped the sockets and the registration.
                unsafe { self.group().unmap_memory() };
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl NativeUmem {
    pub(crate) fn shared_group(&self) -> Rc<RefCell<UmemGroup>> {
        Rc::clone(&self.group)
    }

    pub(crate) fn group(&self) -> Ref<'_, UmemGroup> {
        self.group.borrow()
    }

    pub(crate) fn group_mut(&self) -> RefMut<'_, UmemGroup> {
        self.group.borrow_mut()
    }

    fn release_memory(&mut self, env: &Env, buffer: ArrayBuffer<'_>) -> napi::Result<()> {
        if buffer.is_detached()? {
            return Ok(()); // closed before
        }
        let (ptr, len) = {
            let group = self.group();
            (group.area().as_ptr().cast_const(), group.area().len())
        };
        if !self.buffer_made || buffer.as_ptr() != ptr || buffer.len() != len {
            return Err(invalid_option(env, "close() was given an ArrayBuffer that is not this UMEM's".into()));
        }
        buffer.detach()?;
        // SAFETY: `buffer()` makes at most one ArrayBuffer over the memory
        // and it is detached now (the engine sees it as empty, so no JS code
        // reaches the memory through it); `close` dropped the sockets and the
        // registration, so the kernel has no use for it either.
        unsafe { self.group().unmap_memory() };
        Ok(())
    }
}

/// Move the calling (JS) thread into a network namespace. For tests and the
/// lab: sockets and interface lookups made afterwards use that namespace.
#[napi]
pub fn enter_netns(env: &Env, name: String) -> napi::Result<()> {
    afxdp_core::sys::enter_netns(&name).or_throw(env)
}

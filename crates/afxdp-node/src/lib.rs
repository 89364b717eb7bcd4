//! Thin N-API binding over afxdp-core: argument conversion and nothing else.
//! The batch ABI is two synchronous calls per batch (`rx`, `commit`) that
//! borrow preallocated typed arrays; waiting for traffic is an AsyncTask.

#![deny(clippy::all)]

use std::sync::Arc;

use afxdp_core::bpf::AttachMode;
use afxdp_core::mmap::MmapArea;
use afxdp_core::umem::{PortOptions, UmemGroup, UmemOptions, ZeroCopy};
use napi::bindgen_prelude::*;
use napi_derive::napi;

mod errors;
mod steer;
mod traffic;
mod wait;

use errors::to_js;

/// A borrowed Uint32Array. Spelled as an alias so napi-derive converts it
/// with `FromNapiValue for &mut [u32]` (no copy) rather than as a `&mut` argument.
type U32Table<'a> = &'a mut [u32];

#[napi(object)]
pub struct UmemInit {
    pub frame_size: Option<u32>,
    pub frames: Option<u32>,
}

#[napi(object)]
pub struct PortInit {
    pub interface: String,
    pub queue: Option<u32>,
    /// "auto" | "native" | "skb"
    pub mode: Option<String>,
    /// "auto" | "on" | "off"
    pub zero_copy: Option<String>,
    pub batch_size: Option<u32>,
    pub ring_size: Option<u32>,
    /// Steering rules (JSON of ts/steer RuleSet) installed before the socket is bound.
    pub rules_json: Option<String>,
}

#[napi(object)]
pub struct NativePortStats {
    pub rx: f64,
    pub tx: f64,
    pub dropped: f64,
    pub forwarded: f64,
    pub sent: f64,
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
#[napi]
pub struct NativeUmem {
    pub(crate) group: UmemGroup,
    buffer_made: bool,
}

fn parse_mode(mode: Option<&str>) -> Result<AttachMode, String> {
    match mode.unwrap_or("auto") {
        "auto" => Ok(AttachMode::Auto),
        "native" | "drv" | "driver" => Ok(AttachMode::Native),
        "skb" | "generic" => Ok(AttachMode::Skb),
        other => Err(errors::invalid_option(format!("mode must be 'auto', 'native' or 'skb', got {other:?}"))),
    }
}

fn parse_zero_copy(zc: Option<&str>) -> Result<ZeroCopy, String> {
    match zc.unwrap_or("auto") {
        "auto" => Ok(ZeroCopy::Auto),
        "on" | "true" => Ok(ZeroCopy::On),
        "off" | "false" => Ok(ZeroCopy::Off),
        other => Err(errors::invalid_option(format!("zeroCopy must be 'auto', true or false, got {other:?}"))),
    }
}

#[napi]
impl NativeUmem {
    #[napi(constructor)]
    pub fn new(init: UmemInit) -> Result<Self, String> {
        let defaults = UmemOptions::default();
        let opts = UmemOptions {
            frame_size: init.frame_size.unwrap_or(defaults.frame_size),
            frames: init.frames.unwrap_or(defaults.frames),
        };
        let group = UmemGroup::new(&opts).map_err(to_js)?;
        Ok(NativeUmem { group, buffer_made: false })
    }

    /// The one ArrayBuffer over the whole UMEM. Callable once: V8 aborts when
    /// two ArrayBuffers register the same memory.
    #[napi]
    pub fn buffer<'env>(&mut self, env: &'env Env) -> Result<ArrayBuffer<'env>, String> {
        if self.buffer_made {
            return Err(errors::invalid_option("the UMEM buffer was already created; reuse it".into()));
        }
        let area: Arc<MmapArea> = Arc::clone(self.group.area());
        let ptr = area.as_ptr();
        let len = area.len();
        // SAFETY: ptr/len describe the live mapping owned by `area`; the Arc
        // moved into the finalizer keeps it mapped for as long as the
        // ArrayBuffer exists, and the finalizer does nothing but drop it (so
        // it is also safe when napi-rs copies and finalizes at once).
        let buffer = unsafe { ArrayBuffer::from_external(env, ptr, len, area, |_, area| drop(area)) }
            .map_err(|e| errors::internal(format!("creating the UMEM ArrayBuffer: {e}")))?;
        if buffer.as_ptr() != ptr.cast_const() {
            return Err(errors::internal(
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
        self.group.frame_size()
    }

    #[napi]
    pub fn add_port(&mut self, init: PortInit) -> Result<u32, String> {
        let mut opts = PortOptions::new(&init.interface);
        opts.queue = init.queue.unwrap_or(0);
        opts.mode = parse_mode(init.mode.as_deref())?;
        opts.zero_copy = parse_zero_copy(init.zero_copy.as_deref())?;
        if let Some(b) = init.batch_size {
            opts.batch_size = b;
        }
        if let Some(r) = init.ring_size {
            opts.ring_size = r;
        }
        if let Some(json) = &init.rules_json {
            opts.rules = Some(afxdp_core::bpf::RuleSet::from_json(json).map_err(to_js)?);
        }
        self.group.add_port(&opts).map(|i| i as u32).map_err(to_js)
    }

    /// Batch step 1: (offset, length) pairs into `table`; returns the count.
    #[napi]
    pub fn rx(&mut self, port: u32, #[napi(ts_arg_type = "Uint32Array")] table: U32Table<'_>) -> Result<u32, String> {
        self.group.rx(port as usize, table).map_err(to_js)
    }

    /// Batch step 3: verdicts (and lengths in `table`) of the last batch.
    #[napi]
    pub fn commit(&mut self, port: u32, table: &[u32], verdicts: &[u8]) -> Result<(), String> {
        self.group.commit(port as usize, table, verdicts).map_err(to_js)
    }

    #[napi]
    pub fn send(&mut self, port: u32, bytes: &[u8]) -> Result<bool, String> {
        self.group.send(port as usize, bytes).map_err(to_js)
    }

    /// Reap completions, refill, kick TX, without receiving.
    #[napi]
    pub fn service(&mut self, port: u32) -> Result<(), String> {
        self.group.service(port as usize).map_err(to_js)
    }

    #[napi]
    pub fn tx_pending(&mut self, port: u32) -> Result<bool, String> {
        self.group.tx_pending(port as usize).map_err(to_js)
    }

    /// A waiter for this port: a separate object, so that a wait in flight
    /// does not hold a borrow of the UMEM (other calls go on meanwhile).
    #[napi]
    pub fn waiter(&mut self, port: u32) -> Result<wait::PortWaiter, String> {
        let (fd, wakeup) = self.group.poll_fds(port as usize).map_err(to_js)?;
        Ok(wait::PortWaiter::new(fd, wakeup))
    }

    /// End a pending `wait` of this port at once.
    #[napi]
    pub fn wake(&mut self, port: u32) -> Result<(), String> {
        self.group.wake(port as usize).map_err(to_js)
    }

    #[napi]
    pub fn stats(&mut self, port: u32) -> Result<NativePortStats, String> {
        let s = self.group.stats(port as usize).map_err(to_js)?;
        let c = s.counters;
        Ok(NativePortStats {
            rx: c.rx as f64,
            tx: c.tx as f64,
            dropped: c.dropped as f64,
            forwarded: c.forwarded as f64,
            sent: c.sent as f64,
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
        })
    }

    #[napi]
    pub fn frame_counts(&self) -> NativeFrameCounts {
        let c = self.group.frame_counts();
        NativeFrameCounts {
            total: c.total,
            free: c.free,
            fill: c.fill,
            handler: c.handler,
            tx: c.tx,
            retired: c.retired,
            consistent: self.group.check_accounting(),
        }
    }

    #[napi]
    pub fn close_port(&mut self, port: u32) -> Result<(), String> {
        self.group.close_port(port as usize).map_err(to_js)
    }

    /// Benchmark ceiling: a Rust-only consumer of this port's rings doing
    /// `work` ("drop" or "swap-mac-tx") for `ms` milliseconds (blocks).
    #[napi]
    pub fn bench_native(&mut self, port: u32, work: String, batch: u32, ms: u32) -> Result<NativeBenchRun, String> {
        let work = afxdp_core::bench::NativeWork::parse(&work).map_err(to_js)?;
        let run = afxdp_core::bench::run_native(
            &mut self.group,
            port as usize,
            work,
            batch.clamp(1, 1024) as usize,
            std::time::Duration::from_millis(u64::from(ms)),
        )
        .map_err(to_js)?;
        Ok(NativeBenchRun {
            frames: run.frames as f64,
            seconds: run.elapsed.as_secs_f64(),
            thread_cpu_ns: run.thread_cpu.as_nanos() as f64,
        })
    }

    /// Close every port and the UMEM registration; wakes pending waits.
    #[napi]
    pub fn close(&mut self) {
        self.group.close();
    }
}

/// Move the calling (JS) thread into a network namespace. For tests and the
/// lab: sockets and interface lookups made afterwards use that namespace.
#[napi]
pub fn enter_netns(name: String) -> Result<(), String> {
    afxdp_core::sys::enter_netns(&name).map_err(to_js)
}

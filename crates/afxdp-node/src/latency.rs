//! The latency benchmark's instruments for JS: a prober on a thread of its
//! own in the probing namespace, and the kernel XDP_TX reflector.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use afxdp_core::latency::{run_probe, BenchXdp, ProbeOptions, ProbeReport};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::{to_js, OrThrow};

#[napi(object)]
pub struct ProbeInit {
    pub netns: Option<String>,
    pub interface: String,
    pub frame: Uint8Array,
    pub rate: f64,
    pub count: u32,
    pub warmup: u32,
    pub timeout_ms: f64,
    pub cpu: Option<u32>,
}

#[napi(object)]
pub struct ProbeResult {
    pub sent: u32,
    pub lost: u32,
    pub min_ns: f64,
    pub p50_ns: f64,
    pub p99_ns: f64,
    pub p999_ns: f64,
    pub max_ns: f64,
}

type Handle = JoinHandle<afxdp_core::Result<ProbeReport>>;

#[napi]
pub struct ProbeRun {
    stop: Arc<AtomicBool>,
    handle: Option<Handle>,
}

pub struct ProbeJoin {
    handle: Option<Handle>,
}

impl Task for ProbeJoin {
    type Output = ProbeResult;
    type JsValue = ProbeResult;

    fn compute(&mut self) -> napi::Result<ProbeResult> {
        let handle = self.handle.take().ok_or_else(|| napi::Error::from_reason("already joined"))?;
        let r = handle
            .join()
            .map_err(|_| napi::Error::from_reason("probe thread panicked"))?
            .map_err(|e| napi::Error::from_reason(format!("{}: {}", e.code.as_str(), e.message)))?;
        let q = |x: f64| r.quantile(x).map_or(f64::NAN, |v| v as f64);
        Ok(ProbeResult {
            sent: r.sent,
            lost: r.lost,
            min_ns: q(0.0),
            p50_ns: q(0.5),
            p99_ns: q(0.99),
            p999_ns: q(0.999),
            max_ns: q(1.0),
        })
    }

    fn resolve(&mut self, _env: Env, output: ProbeResult) -> napi::Result<ProbeResult> {
        Ok(output)
    }
}

/// Start probing: the thread enters `netns`, puts the probe filter on
/// `interface` (replies pass, everything else is dropped), then sends.
/// Setup errors are thrown here.
#[napi]
pub fn start_probe(env: &Env, init: ProbeInit) -> napi::Result<ProbeRun> {
    let opts = ProbeOptions {
        frame: init.frame.to_vec(),
        rate: init.rate,
        count: init.count,
        warmup: init.warmup,
        timeout: Duration::from_secs_f64(init.timeout_ms.max(0.0) / 1000.0),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let thread_stop = Arc::clone(&stop);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<afxdp_core::Result<()>>();
    let handle = std::thread::Builder::new()
        .name("afxdp-probe".into())
        .spawn(move || {
            let setup = (|| -> afxdp_core::Result<(u32, BenchXdp)> {
                if let Some(cpu) = init.cpu {
                    afxdp_core::sys::pin_thread_to_cpu(cpu as usize)?;
                }
                if let Some(ns) = &init.netns {
                    afxdp_core::sys::enter_netns(ns)?;
                }
                let ifindex = afxdp_core::sys::ifindex(&init.interface)?;
                Ok((ifindex, BenchXdp::probe_filter(ifindex)?))
            })();
            let (ifindex, _filter) = match setup {
                Ok(v) => {
                    let _ = ready_tx.send(Ok(()));
                    v
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.clone()));
                    return Err(e);
                }
            };
            run_probe(ifindex, &opts, &thread_stop)
        })
        .map_err(|e| {
            to_js(
                env,
                afxdp_core::Error::new(afxdp_core::ErrorCode::Syscall, format!("spawning the probe thread: {e}")),
            )
        })?;
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(ProbeRun { stop, handle: Some(handle) }),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(to_js(env, e))
        }
        Err(_) => Err(to_js(env, afxdp_core::Error::new(afxdp_core::ErrorCode::Syscall, "probe thread died"))),
    }
}

#[napi]
impl ProbeRun {
    #[napi]
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Resolves with the round-trip figures once all requests are done.
    #[napi(ts_return_type = "Promise<ProbeResult>")]
    pub fn done(&mut self) -> AsyncTask<ProbeJoin> {
        AsyncTask::new(ProbeJoin { handle: self.handle.take() })
    }
}

/// The kernel's XDP_TX reflector on an interface of the calling thread's
/// namespace (swap MACs, send back); `close()` detaches it.
#[napi]
pub struct KernelReflector {
    xdp: Option<BenchXdp>,
}

#[napi]
impl KernelReflector {
    #[napi(constructor)]
    pub fn new(env: Env, interface: String) -> napi::Result<Self> {
        let ifindex = afxdp_core::sys::ifindex(&interface).or_throw(&env)?;
        Ok(KernelReflector { xdp: Some(BenchXdp::reflector(ifindex).or_throw(&env)?) })
    }

    #[napi]
    pub fn close(&mut self) {
        self.xdp = None;
    }
}

//! The XDP live-frame traffic generator, driven from JS for benchmarks and
//! the lab: it runs on a thread of its own that enters the sending
//! namespace (so no JS or libuv thread changes namespace).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use afxdp_core::trafficgen::{SendOptions, TrafficGen};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::{to_js, OrThrow};

#[napi(object)]
pub struct TrafficInit {
    /// Network namespace to send from (name under /var/run/netns, or a path); none: the current one.
    pub netns: Option<String>,
    /// Interface to send out of (its peer receives).
    pub interface: String,
    /// The frame to send (copied once).
    pub frame: Uint8Array,
    /// Vary the UDP source port over this many values (RSS spread); 0: fixed.
    pub udp_src_ports: Option<u32>,
    /// Pin the generator thread to this CPU.
    pub cpu: Option<u32>,
    /// Milliseconds one kernel run of the generator lasts (default 200).
    /// The generator pauses about 25 ms between runs; benchmarks use longer
    /// runs so that the pause is a small part of each window.
    pub chunk_ms: Option<u32>,
}

#[napi(object)]
pub struct TrafficReport {
    pub frames: f64,
    pub seconds: f64,
}

/// A generator run in progress; `stop()` ends it, `done` resolves with the report.
#[napi]
pub struct TrafficRun {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<afxdp_core::Result<afxdp_core::trafficgen::SendReport>>>,
}

pub struct JoinTask {
    handle: Option<std::thread::JoinHandle<afxdp_core::Result<afxdp_core::trafficgen::SendReport>>>,
}

impl Task for JoinTask {
    type Output = afxdp_core::Result<TrafficReport>;
    type JsValue = TrafficReport;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let handle = self.handle.take().ok_or_else(|| napi::Error::from_reason("already joined"))?;
        let report = handle.join().map_err(|_| napi::Error::from_reason("traffic generator thread panicked"))?;
        // The error object is made in `resolve`, on the JS thread.
        Ok(report.map(|r| TrafficReport { frames: r.frames as f64, seconds: r.elapsed.as_secs_f64() }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<TrafficReport> {
        output.or_throw(&env)
    }
}

/// Start sending copies of `frame` for at most `seconds`.
#[napi]
pub fn start_traffic(env: &Env, init: TrafficInit, seconds: f64) -> napi::Result<TrafficRun> {
    let frame = init.frame.to_vec();
    let stop = Arc::new(AtomicBool::new(false));
    let thread_stop = Arc::clone(&stop);
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<afxdp_core::Result<()>>();
    let handle = std::thread::Builder::new()
        .name("afxdp-trafficgen".into())
        .spawn(move || {
            let setup = (|| {
                if let Some(cpu) = init.cpu {
                    afxdp_core::sys::pin_thread_to_cpu(cpu as usize)?;
                }
                if let Some(ns) = &init.netns {
                    afxdp_core::sys::enter_netns(ns)?;
                }
                let ifindex = afxdp_core::sys::ifindex(&init.interface)?;
                TrafficGen::new(ifindex)
            })();
            let generator = match setup {
                Ok(g) => {
                    let _ = ready_tx.send(Ok(()));
                    g
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e.clone()));
                    return Err(e);
                }
            };
            let opts = SendOptions {
                duration: Some(Duration::from_secs_f64(seconds.max(0.0))),
                udp_src_ports: init.udp_src_ports.unwrap_or(0).min(u16::MAX as u32) as u16,
                chunk_time: init.chunk_ms.map(|ms| Duration::from_millis(u64::from(ms))),
                ..Default::default()
            };
            generator.run(&frame, &opts, &thread_stop)
        })
        .map_err(|e| {
            to_js(
                env,
                afxdp_core::Error::new(afxdp_core::ErrorCode::Syscall, format!("spawning the generator thread: {e}")),
            )
        })?;
    // Report setup errors (no such interface, no permission) synchronously.
    match ready_rx.recv() {
        Ok(Ok(())) => Ok(TrafficRun { stop, handle: Some(handle) }),
        Ok(Err(e)) => {
            let _ = handle.join();
            Err(to_js(env, e))
        }
        Err(_) => Err(to_js(env, afxdp_core::Error::new(afxdp_core::ErrorCode::Syscall, "generator thread died"))),
    }
}

#[napi]
impl TrafficRun {
    /// Ask the generator to stop. It notices between two kernel runs: within
    /// `chunkMs` (200 ms by default).
    #[napi]
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Resolves with what was sent once the run ends (call once).
    #[napi(ts_return_type = "Promise<TrafficReport>")]
    pub fn done(&mut self) -> AsyncTask<JoinTask> {
        AsyncTask::new(JoinTask { handle: self.handle.take() })
    }
}

/// CPU time of the calling thread, in nanoseconds.
#[napi]
pub fn thread_cpu_ns() -> f64 {
    afxdp_core::bench::thread_cpu_time().as_nanos() as f64
}

/// Pin the calling (JS) thread to one CPU; for benchmarks.
#[napi]
pub fn pin_thread(env: &Env, cpu: u32) -> napi::Result<()> {
    afxdp_core::sys::pin_thread_to_cpu(cpu as usize).or_throw(env)
}

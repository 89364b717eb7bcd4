//! Waiting for traffic off the JS thread: poll() on the port's socket and
//! the UMEM's wake-up eventfd, on the libuv pool.

use std::os::fd::RawFd;
use std::sync::Arc;

use afxdp_core::sys::{poll_readable, EventFd};
use napi::bindgen_prelude::*;
use napi_derive::napi;

pub struct WaitTask {
    socket_fd: RawFd,
    wakeup: Arc<EventFd>,
    timeout_ms: i32,
}

impl WaitTask {
    pub fn new(socket_fd: RawFd, wakeup: Arc<EventFd>, timeout_ms: u32) -> Self {
        WaitTask { socket_fd, wakeup, timeout_ms: timeout_ms.min(60_000) as i32 }
    }
}

impl Task for WaitTask {
    type Output = bool;
    type JsValue = bool;

    fn compute(&mut self) -> napi::Result<bool> {
        // The TS layer never closes a port while its wait is in flight (it
        // signals the eventfd and awaits this task first), so the socket fd
        // stays valid for the whole poll.
        let ready = poll_readable(&[self.socket_fd, self.wakeup.raw()], self.timeout_ms)
            .map_err(|e| napi::Error::from_reason(e.to_string()))?;
        // Consume a wake-up so the next wait blocks again.
        self.wakeup.drain();
        Ok(ready > 0)
    }

    fn resolve(&mut self, _env: Env, output: bool) -> napi::Result<bool> {
        Ok(output)
    }
}

/// Waits on one port. Made by `NativeUmem.waiter(port)`.
#[napi]
pub struct PortWaiter {
    socket_fd: RawFd,
    wakeup: Arc<EventFd>,
}

impl PortWaiter {
    pub fn new(socket_fd: RawFd, wakeup: Arc<EventFd>) -> Self {
        PortWaiter { socket_fd, wakeup }
    }
}

#[napi]
impl PortWaiter {
    /// Resolve when the port has frames, `wake` is called, or the timeout
    /// passes (true when something is ready): a blocking poll() on the
    /// libuv pool, so the JS thread stays free.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn wait(&self, timeout_ms: u32) -> AsyncTask<WaitTask> {
        AsyncTask::new(WaitTask::new(self.socket_fd, Arc::clone(&self.wakeup), timeout_ms))
    }

    /// End a wait in progress (or the next one) at once.
    #[napi]
    pub fn wake(&self) {
        self.wakeup.signal();
    }
}

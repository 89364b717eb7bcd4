//! Waiting for traffic off the JS thread: poll() on the port's socket and
//! the port's wake-up eventfd, on the libuv pool.

use std::os::fd::RawFd;
use std::sync::Arc;

use afxdp_core::sys::{poll_readable, EventFd};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::OrThrow;

pub struct WaitTask {
    /// None once the waiter was closed: the wait then ends at once.
    fds: Option<(RawFd, Arc<EventFd>)>,
    timeout_ms: i32,
}

impl Task for WaitTask {
    type Output = afxdp_core::Result<bool>;
    type JsValue = bool;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let Some((socket_fd, wakeup)) = &self.fds else { return Ok(Ok(false)) };
        // The TS layer never closes a port while its wait is in flight (it
        // signals the eventfd and awaits this task first), so the socket fd
        // stays valid for the whole poll; the eventfd is kept open by our Arc.
        let ready = poll_readable(&[*socket_fd, wakeup.raw()], self.timeout_ms);
        // Consume a wake-up so the next wait blocks again.
        wakeup.drain();
        Ok(ready.map(|n| n > 0))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<bool> {
        output.or_throw(&env)
    }
}

/// Waits on one port. Made by `NativeUmem.waiter(port)`.
#[napi]
pub struct PortWaiter {
    /// The port's socket and wake-up eventfd; None after `close`, so that
    /// the eventfd closes with the port, not when this object is collected.
    fds: Option<(RawFd, Arc<EventFd>)>,
}

impl PortWaiter {
    pub fn new(socket_fd: RawFd, wakeup: Arc<EventFd>) -> Self {
        PortWaiter { fds: Some((socket_fd, wakeup)) }
    }
}

#[napi]
impl PortWaiter {
    /// Resolve when the port has frames, `wake` is called, or the timeout
    /// passes (true when something is ready): a blocking poll() on the
    /// libuv pool, so the JS thread stays free. Resolves false at once
    /// after `close`.
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn wait(&self, timeout_ms: u32) -> AsyncTask<WaitTask> {
        let fds = self.fds.as_ref().map(|(fd, wakeup)| (*fd, Arc::clone(wakeup)));
        AsyncTask::new(WaitTask { fds, timeout_ms: timeout_ms.min(60_000) as i32 })
    }

    /// End a wait in progress (or the next one) at once.
    #[napi]
    pub fn wake(&self) {
        if let Some((_, wakeup)) = &self.fds {
            wakeup.signal();
        }
    }

    /// Let go of the port's eventfd (the port closes it once no wait holds
    /// it). Call after the last wait has settled.
    #[napi]
    pub fn close(&mut self) {
        self.fds = None;
    }
}

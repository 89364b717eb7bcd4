//! Link events for the daemon (`afxdp run`): a thin wrapper over
//! afxdp_core::link_watch. Polled from a JS timer with `drain()`, which
//! never blocks, so it needs no thread or libuv pool slot of its own.

use afxdp_core::link_watch::{LinkEvent, LinkWatch};
use napi::bindgen_prelude::Env;
use napi_derive::napi;

use crate::errors::OrThrow;

#[napi(object)]
pub struct NativeLinkEvent {
    pub ifindex: u32,
    pub ifname: String,
    pub deleted: bool,
    pub admin_up: bool,
    pub carrier: bool,
}

impl From<LinkEvent> for NativeLinkEvent {
    fn from(e: LinkEvent) -> Self {
        NativeLinkEvent {
            ifindex: e.ifindex,
            ifname: e.ifname,
            deleted: e.deleted,
            admin_up: e.admin_up,
            carrier: e.carrier,
        }
    }
}

/// Link events in this process's network namespace; the first `drain()`
/// calls report every current link (a dump asked for at construction).
#[napi]
pub struct NativeLinkWatch {
    inner: Option<LinkWatch>,
}

#[napi]
impl NativeLinkWatch {
    #[napi(constructor)]
    pub fn new(env: &Env) -> napi::Result<Self> {
        Ok(NativeLinkWatch { inner: Some(LinkWatch::open().or_throw(env)?) })
    }

    /// Events since the last call; empty once closed.
    #[napi]
    pub fn drain(&mut self, env: &Env) -> napi::Result<Vec<NativeLinkEvent>> {
        match self.inner.as_mut() {
            Some(w) => Ok(w.drain().or_throw(env)?.into_iter().map(NativeLinkEvent::from).collect()),
            None => Ok(Vec::new()),
        }
    }

    /// Close the netlink socket now (not at garbage collection).
    #[napi]
    pub fn close(&mut self) {
        self.inner = None;
    }
}

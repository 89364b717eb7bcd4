//! The run loop's one native call per batch. napi-rs spends about 200 ns of
//! borrow bookkeeping on every call to a class method (on top of the call
//! itself), and the loop used to make two of them per batch (`rx`, then
//! `commit`). `batchCycle` is a plain function over an External handle to
//! the same UMEM group: it commits the batch the handler just decided and
//! receives the next one into the same tables, in one call
//! (`UmemGroup::cycle`).

use std::cell::RefCell;
use std::rc::Rc;

use afxdp_core::umem::UmemGroup;
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::OrThrow;
use crate::{NativeUmem, U32Table};

/// What `batchHandle()` gives JavaScript: the UMEM group, shared with its
/// NativeUmem (closing that closes this one's ports too).
pub struct BatchHandle(pub(crate) Rc<RefCell<UmemGroup>>);

#[napi]
impl NativeUmem {
    /// A handle for `batchCycle` (one per run loop).
    #[napi(ts_return_type = "ExternalObject<'BatchHandle'>")]
    pub fn batch_handle(&self) -> External<BatchHandle> {
        External::new(BatchHandle(self.shared_group()))
    }
}

/// Commit the port's current batch first when `commit` is true (verdicts
/// in `verdicts`, lengths in `table`, as `commit` takes them), then receive
/// the next batch into `table` as `rx` does. Returns its frame count.
#[napi]
pub fn batch_cycle(
    env: &Env,
    #[napi(ts_arg_type = "ExternalObject<'BatchHandle'>")] handle: &External<BatchHandle>,
    port: u32,
    #[napi(ts_arg_type = "Uint32Array")] table: U32Table<'_>,
    verdicts: &[u8],
    commit: bool,
) -> napi::Result<u32> {
    handle.0.borrow_mut().cycle(port as usize, table, verdicts, commit).or_throw(env)
}

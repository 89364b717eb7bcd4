//! Whether this kernel loads freplace programs, the stuff libxdp's
//! multi-program dispatcher is made of (for `afxdp doctor`).

use afxdp_core::bpf::probe::{freplace, Freplace};
use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::OrThrow;

#[napi(object)]
pub struct FreplaceProbe {
    pub supported: bool,
    /// The errno of the refusal; 0 when supported.
    pub errno: i32,
    pub message: String,
}

/// Loads the steering program (attached nowhere) and a do-nothing freplace
/// program against it, then drops both.
#[napi]
pub fn probe_freplace(env: Env) -> napi::Result<FreplaceProbe> {
    Ok(match freplace().or_throw(&env)? {
        Freplace::Supported => FreplaceProbe { supported: true, errno: 0, message: String::new() },
        Freplace::Refused { errno, message } => FreplaceProbe { supported: false, errno, message },
    })
}

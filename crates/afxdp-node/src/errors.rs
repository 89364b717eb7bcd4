//! Core errors to JS errors. The JS `code` is the stable code; the syscall
//! and errno ride in a JSON trailer after a marker line, which the
//! TypeScript layer (ts/errors.ts) turns into properties and strips.

use afxdp_core::{Error, ErrorCode};


pub const DETAIL_MARKER: &str = "\n@afxdp-detail ";

pub fn to_js(err: Error) -> napi::Error<String> {
    let mut reason = err.message.clone();
    if let (Some(syscall), Some(errno)) = (err.syscall, err.errno) {
        reason.push_str(DETAIL_MARKER);
        reason.push_str(&format!("{{\"syscall\":\"{syscall}\",\"errno\":{errno}}}"));
    }
    napi::Error::new(err.code.as_str().to_string(), reason)
}

pub fn invalid_option(message: String) -> napi::Error<String> {
    to_js(Error::new(ErrorCode::InvalidOption, message))
}

pub fn internal(message: String) -> napi::Error<String> {
    napi::Error::new("ERR_INTERNAL".to_string(), message)
}

//! Core errors to JS errors: a real `Error` object whose `code` is the
//! stable code and, when a syscall failed, whose `syscall` and `errno`
//! properties say which and why. Made with the calling thread's `Env`,
//! and thrown as is (napi-rs keeps a reference to it).

use afxdp_core::{Error, ErrorCode};
use napi::bindgen_prelude::*;

/// A JS error object with `code`, `message` and, if given, `syscall`/`errno`.
fn build(env: &Env, code: &str, message: &str, syscall: Option<&str>, errno: Option<i32>) -> napi::Error {
    let made = (|| -> napi::Result<napi::Error> {
        let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, message.to_string()))?;
        obj.set_named_property("code", code)?;
        if let Some(syscall) = syscall {
            obj.set_named_property("syscall", syscall)?;
        }
        if let Some(errno) = errno {
            obj.set_named_property("errno", errno)?;
        }
        Ok(napi::Error::from(obj.to_unknown()))
    })();
    // Building the object only fails while the env tears down; a plain
    // error with the code still says what happened.
    made.unwrap_or_else(|_| napi::Error::new(Status::GenericFailure, format!("{code}: {message}")))
}

pub fn to_js(env: &Env, err: Error) -> napi::Error {
    build(env, err.code.as_str(), &err.message, err.syscall, err.errno)
}

pub fn invalid_option(env: &Env, message: String) -> napi::Error {
    to_js(env, Error::new(ErrorCode::InvalidOption, message))
}

pub fn internal(env: &Env, message: String) -> napi::Error {
    build(env, "ERR_INTERNAL", &message, None, None)
}

/// `result.or_throw(env)?`: a core result as a napi result.
pub trait OrThrow<T> {
    fn or_throw(self, env: &Env) -> napi::Result<T>;
}

impl<T> OrThrow<T> for afxdp_core::Result<T> {
    fn or_throw(self, env: &Env) -> napi::Result<T> {
        self.map_err(|e| to_js(env, e))
    }
}

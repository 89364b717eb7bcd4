//! afxdp-core: the AF_XDP data path behind afxdp.
//!
//! All unsafe code of the project lives in this crate. Each module has one job:
//!
//! - `error`: error codes shared with JavaScript.
//! - `sys`: thin wrappers over the syscalls and ioctls we make ourselves.
//! - `iface`: interface facts (index, MTU, queue count) from the kernel.
//! - `mmap`: the anonymous, page-aligned memory behind a UMEM.
//! - `frames`: frame ownership accounting (free/fill/rx/handler/tx/completion).
//! - `umem`: a UMEM with the sockets (ports) that share it; the batch ABI.
//! - `bpf`: the embedded steering program: load, attach, XSKMAP, counters.
//! - `trafficgen`: XDP live-frame traffic generator (BPF_PROG_RUN).
//! - `netns`: entering network namespaces (tests, lab).

pub mod bpf;
pub mod bench;
pub mod error;

pub use error::{Error, ErrorCode, Result};
pub mod frames;
pub mod mmap;
pub mod sys;
pub mod trafficgen;
pub mod umem;


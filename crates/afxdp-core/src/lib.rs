//! afxdp-core: the AF_XDP data path behind afxdp.
//!
//! All unsafe code of the project lives in this crate. Each module has one job:
//!
//! - `error`: error codes shared with JavaScript.
//! - `sys`: thin wrappers over the syscalls and ioctls we make ourselves.
//! - `iface`: interface facts (index, MTU, queue count) from the kernel.
//! - `mmap`: the anonymous, page-aligned memory behind a UMEM.
//! - `frames`: frame ownership accounting (free/fill/rx/handler/tx/completion).
//! - `rings`: the four rings of a socket behind a trait (kernel or fake).
//! - `batch`: the batch ABI (rx, commit, send) over any rings; frame tally.
//! - `umem`: a UMEM with the sockets (ports) that share it: setup, stats, close.
//! - `bpf`: the embedded steering program: load, attach, XSKMAP, counters.
//! - `pass`: Verdict.Pass, frames re-injected into the kernel stack (BPF_PROG_RUN live frames).
//! - `trafficgen`: XDP live-frame traffic generator (BPF_PROG_RUN).
//! - `link_watch`: link deleted / up / down events from rtnetlink.
//! - `latency`: the latency benchmark's prober and XDP reflector.
//! - `netns`: entering network namespaces (tests, lab).

pub mod batch;
pub mod bench;
pub mod bpf;
pub mod error;

pub use error::{Error, ErrorCode, Result};
pub mod frames;
pub mod latency;
pub mod link_watch;
pub mod mmap;
pub mod pass;
pub mod rings;
pub mod sockopt;
pub mod sys;
pub mod trafficgen;
pub mod umem;

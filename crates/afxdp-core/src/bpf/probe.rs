//! Does this kernel load freplace (BPF_PROG_TYPE_EXT) programs? libxdp's
//! multi-program dispatcher is built of them: where the kernel refuses them,
//! libxdp attaches a program alone instead of through a dispatcher, and
//! nothing can share the interface with it. `afxdp doctor` reports the
//! answer.

use aya::programs::Extension;
use aya::EbpfLoader;

use super::{find_errno, from_aya, Loaded, PROGRAM_NAME};
use crate::error::Result;

/// The object built from `bpf/freplace_probe.bpf.c`.
static PROBE_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/freplace_probe.bpf.o"));
const PROBE_NAME: &str = "afxdp_freplace_probe";

/// The kernel's answer to loading a freplace program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Freplace {
    Supported,
    /// Loading failed with this errno (EPERM on kernels that refuse them
    /// even to a process that may load XDP programs).
    Refused {
        errno: i32,
        message: String,
    },
}

/// Loads the steering program (attached nowhere) and a do-nothing freplace
/// program against its entry function, then drops both. Errors only when
/// the steering program itself cannot be loaded (capabilities).
pub fn freplace() -> Result<Freplace> {
    let mut loaded = Loaded::load(false)?;
    let target = super::xdp_mut(&mut loaded.ebpf, PROGRAM_NAME)
        .fd()
        .map_err(|e| from_aya(&e, "the steering program's fd"))?
        .try_clone()
        .map_err(|e| from_aya(&e, "duplicating the steering program's fd"))?;
    let refused = |e: &(dyn std::error::Error + 'static)| {
        let errno = find_errno(e).unwrap_or(0);
        let why = if errno != 0 { std::io::Error::from_raw_os_error(errno).to_string() } else { e.to_string() };
        Freplace::Refused { errno, message: format!("bpf(BPF_PROG_LOAD) of a freplace program: {why}") }
    };
    let mut probe = match EbpfLoader::new().extension(PROBE_NAME).load(PROBE_OBJECT) {
        Ok(probe) => probe,
        Err(e) => return Ok(refused(&e)),
    };
    let ext: &mut Extension = probe
        .program_mut(PROBE_NAME)
        .and_then(|p| p.try_into().ok())
        .expect("the probe object has its freplace program");
    Ok(match ext.load(target, PROGRAM_NAME) {
        Ok(()) => Freplace::Supported,
        Err(e) => refused(&e),
    })
}

//! The embedded XDP steering program (`bpf/steer.bpf.c`): load, attach,
//! XSKMAP, counters.
//!
//! One program is attached per interface and shared by every port of this
//! process on it (a registry of `Weak<Steering>`). It is attached through a
//! bpf_link, so the kernel detaches it when the last reference drops, and also
//! when the process dies however it dies: a crash never leaves an interface
//! steering into sockets that no longer exist.

pub mod abi;
mod control;
pub mod libxdp;
pub(crate) mod netlink;
pub mod parse;
pub mod prefix;
pub mod probe;
pub mod rules;
pub mod sys;

pub use control::{BlockEntry, FlowKey, OffloadEntry, RuleCounter};
pub use prefix::Prefix;
pub use rules::{Action, Direction, Match, Rule, RuleSet};

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};

use aya::maps::{MapData, PerCpuArray, XskMap};
use aya::programs::links::FdLink;
use aya::programs::{Xdp, XdpMode};
use aya::Ebpf;

use crate::error::{Error, ErrorCode, Result};
use abi::RawCounters;
pub use abi::SteeringCounters;
use control::Control;
use netlink::XdpAttach;

/// The object built from `bpf/steer.bpf.c` by build.rs.
static STEER_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/steer.bpf.o"));

/// The steering program's function name, which the kernel reports as the
/// program name: how we tell our program from other people's.
pub const PROGRAM_NAME: &str = "afxdp_steer";
/// The same program loaded with the frags flag (section `xdp.frags`,
/// BPF_F_XDP_HAS_FRAGS), for multi-buffer (jumbo) sockets.
pub const PROGRAM_NAME_FRAGS: &str = "afxdp_steer_mb";
/// Every program afxdp attaches has a name with this prefix.
pub const PROGRAM_PREFIX: &str = "afxdp_";

const XSKS_MAP: &str = "xsks_map";
const COUNTERS_MAP: &str = "afxdp_counters";

/// Capabilities that loading and attaching need; named in EPERM errors.
const BPF_CAPS: &str = "CAP_BPF and CAP_NET_ADMIN";

/// The XDP mode a caller asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AttachMode {
    /// Native if the driver can, generic (skb) otherwise.
    #[default]
    Auto,
    /// Native (driver) mode or fail with `NativeModeUnsupported`.
    Native,
    /// Generic (skb) mode: works everywhere, slower.
    Skb,
}

/// The XDP mode in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachedMode {
    Native,
    Skb,
}

impl AttachedMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AttachedMode::Native => "native",
            AttachedMode::Skb => "skb",
        }
    }

    fn xdp_mode(self) -> XdpMode {
        match self {
            AttachedMode::Native => XdpMode::Driver,
            AttachedMode::Skb => XdpMode::Skb,
        }
    }

    fn flags(self) -> u32 {
        // XDP_FLAGS_SKB_MODE and XDP_FLAGS_DRV_MODE from <linux/if_link.h>.
        match self {
            AttachedMode::Native => 1 << 2,
            AttachedMode::Skb => 1 << 1,
        }
    }
}

/// An afxdp program attached to an interface of this network namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachedProgram {
    pub ifindex: u32,
    pub ifname: String,
    pub program_id: u32,
    pub name: String,
    /// None for hardware offload, which afxdp never asks for.
    pub mode: Option<AttachedMode>,
}

/// Identifies an interface across namespaces: ifindexes repeat between
/// network namespaces, so the key includes the namespace's inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    netns: (u64, u64),
    ifindex: u32,
}

fn registry() -> MutexGuard<'static, HashMap<Key, Weak<Steering>>> {
    static REGISTRY: OnceLock<Mutex<HashMap<Key, Weak<Steering>>>> = OnceLock::new();
    // A panic while holding the lock leaves the map consistent (every
    // mutation is a single insert/remove), so poisoning can be ignored.
    REGISTRY.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner())
}

/// Ids of steering programs this process detached, which may linger on
/// their interface for a moment (see `attach`).
fn released() -> MutexGuard<'static, Vec<u32>> {
    static RELEASED: OnceLock<Mutex<Vec<u32>>> = OnceLock::new();
    RELEASED.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner())
}

/// The steering program attached to one interface. Shared: get it with
/// [`Steering::acquire`]; it detaches when the last `Arc` drops.
pub struct Steering {
    /// The bpf_link holding the attachment. An Option only so that Drop can
    /// close it while holding the registry lock.
    link: Option<FdLink>,
    key: Key,
    ifname: String,
    mode: AttachedMode,
    /// Loaded with the frags flag: sees multi-buffer frames.
    frags: bool,
    program_id: u32,
    xsks: Mutex<XskMap<MapData>>,
    counters: PerCpuArray<MapData, RawCounters>,
    /// Rules, drop list, flow offload (control.rs).
    control: Mutex<Control>,
    /// Keeps the program fd (and any map not taken out above) open.
    ebpf: Mutex<Ebpf>,
    /// Verdict.Pass: lanes and maps of the injector (crate::pass).
    pass: crate::pass::PassShared,
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Steering>();
};

impl Steering {
    /// Process-wide, refcounted per (network namespace, ifindex): the first
    /// call loads the embedded object and attaches it through a bpf_link;
    /// later calls return the same `Arc`.
    pub fn acquire(ifindex: u32, ifname: &str, mode: AttachMode) -> Result<Arc<Steering>> {
        Self::acquire_with(ifindex, ifname, mode, false)
    }

    /// `acquire`, with the frags-flagged program when `frags` (multi-buffer
    /// sockets). A program already attached without it cannot serve a
    /// multi-buffer socket: ERR_MTU_TOO_LARGE until its ports close. One
    /// with it serves every socket.
    pub fn acquire_with(ifindex: u32, ifname: &str, mode: AttachMode, frags: bool) -> Result<Arc<Steering>> {
        let key = Key { netns: sys::current_netns()?, ifindex };
        loop {
            let mut reg = registry();
            match reg.get(&key).map(Weak::upgrade) {
                Some(Some(existing)) => {
                    // Release the lock before `existing` can drop: dropping
                    // the last Arc runs Drop, which takes the lock.
                    drop(reg);
                    if frags && !existing.frags {
                        return Err(Error::new(
                            ErrorCode::MtuTooLarge,
                            format!(
                                "{ifname} is already attached by this process without multi-buffer support \
                                 (its ports need no jumbo frames); close them first, or open them with multiBuffer: true"
                            ),
                        ));
                    }
                    return check_mode(existing, mode);
                }
                Some(None) => {
                    // The last Arc is gone and its Drop is detaching (it
                    // removes the entry under the lock); wait for it, or the
                    // kernel would still see the old program and say busy.
                    drop(reg);
                    std::thread::sleep(std::time::Duration::from_millis(1));
                    continue;
                }
                None => {}
            }
            // Attach under the lock so two threads cannot both attach.
            let steering = Arc::new(attach(key, ifname, mode, frags)?);
            reg.insert(key, Arc::downgrade(&steering));
            return Ok(steering);
        }
    }

    pub fn ifindex(&self) -> u32 {
        self.key.ifindex
    }

    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    pub fn mode(&self) -> AttachedMode {
        self.mode
    }

    /// Whether the program was loaded with the frags flag (multi-buffer).
    pub fn frags(&self) -> bool {
        self.frags
    }

    pub fn program_id(&self) -> u32 {
        self.program_id
    }

    /// The injector state behind Verdict.Pass (see `crate::pass`).
    pub fn pass(&self) -> &crate::pass::PassShared {
        &self.pass
    }

    /// Puts an AF_XDP socket into the XSKMAP at `queue`: from now on the
    /// program redirects that queue's packets to it.
    pub fn bind_socket(&self, queue: u32, fd: RawFd) -> Result<()> {
        check_queue(queue)?;
        let mut xsks = self.xsks.lock().unwrap_or_else(|e| e.into_inner());
        xsks.set(queue, fd, 0).map_err(|e| {
            from_aya(&e, &format!("putting the AF_XDP socket of queue {queue} of {} into {XSKS_MAP}", self.ifname))
                .with_code_if(ErrorCode::BpfLoad, ErrorCode::Syscall)
        })
    }

    /// Removes the socket of `queue` from the XSKMAP; that queue's packets
    /// go to the kernel again. Removing an empty entry is not an error.
    pub fn unbind_socket(&self, queue: u32) -> Result<()> {
        check_queue(queue)?;
        let mut xsks = self.xsks.lock().unwrap_or_else(|e| e.into_inner());
        match xsks.unset(queue) {
            Ok(()) => Ok(()),
            Err(e) if find_errno(&e) == Some(libc::ENOENT) => Ok(()),
            Err(e) => Err(from_aya(&e, &format!("removing queue {queue} of {} from {XSKS_MAP}", self.ifname))
                .with_code_if(ErrorCode::BpfLoad, ErrorCode::Syscall)),
        }
    }

    /// The program's counters, summed over CPUs.
    pub fn counters(&self) -> Result<SteeringCounters> {
        let per_cpu = self.counters.get(&0, 0).map_err(|e| {
            from_aya(&e, &format!("reading {COUNTERS_MAP} of {}", self.ifname))
                .with_code_if(ErrorCode::BpfLoad, ErrorCode::Syscall)
        })?;
        let mut sum = SteeringCounters::default();
        for c in per_cpu.iter() {
            sum.add(c);
        }
        Ok(sum)
    }

    /// The steering program loaded but attached nowhere: for running it
    /// over crafted frames with [`Steering::test_run`] (BPF_PROG_RUN), which
    /// needs no interface or network namespace. Not in the registry;
    /// `ifindex()` is 0 and `mode()` means nothing.
    pub fn load_unattached() -> Result<Steering> {
        let key = Key { netns: (0, 0), ifindex: 0 };
        Ok(Loaded::load(false)?.into_steering(key, "(unattached)", AttachedMode::Skb, None))
    }

    /// Runs the program once over `frame` as if it arrived on RX queue 0
    /// (BPF_PROG_RUN) and returns the XDP action code (1 drop, 2 pass,
    /// 4 redirect). Maps and counters are the real ones.
    pub fn test_run(&self, frame: &[u8]) -> Result<u32> {
        self.test_run_timed(frame, 1).map(|(action, _)| action)
    }

    /// Runs the program `repeat` times over `frame`; returns the last XDP
    /// action and the kernel's mean time per run in nanoseconds.
    pub fn test_run_timed(&self, frame: &[u8], repeat: u32) -> Result<(u32, u32)> {
        let ebpf = self.ebpf.lock().unwrap_or_else(|e| e.into_inner());
        let program: &Xdp = ebpf
            .program(PROGRAM_NAME)
            .and_then(|p| p.try_into().ok())
            .expect("the steering object has its XDP program");
        let fd = program.fd().map_err(|e| from_aya(&e, "the steering program's fd"))?;
        let mut out = vec![0u8; frame.len() + 256];
        let run =
            sys::TestRun { data_in: frame, data_out: Some(&mut out), ctx_in: None, repeat, flags: 0, batch_size: 0 };
        sys::prog_test_run(fd.as_fd(), run).map(|r| (r.retval, r.duration_ns)).map_err(|errno| {
            Error::syscall_needing("bpf(BPF_PROG_RUN)", errno, BPF_CAPS, "running the steering program")
        })
    }
}

impl Drop for Steering {
    fn drop(&mut self) {
        // Detach while holding the registry lock, so that an acquire for the
        // same interface cannot attach before the kernel has let go of ours.
        let mut reg = registry();
        if self.link.is_some() {
            let mut ids = released();
            // A short memory is enough: it only bridges a fork-to-exec window.
            if ids.len() >= 64 {
                ids.remove(0);
            }
            ids.push(self.program_id);
        }
        drop(self.link.take());
        if reg.get(&self.key).is_some_and(|w| std::ptr::eq(w.as_ptr(), self)) {
            reg.remove(&self.key);
        }
    }
}

impl std::fmt::Debug for Steering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Steering")
            .field("ifindex", &self.key.ifindex)
            .field("ifname", &self.ifname)
            .field("mode", &self.mode)
            .field("program_id", &self.program_id)
            .finish_non_exhaustive()
    }
}

fn check_queue(queue: u32) -> Result<()> {
    if queue >= abi::MAX_QUEUES {
        return Err(Error::new(
            ErrorCode::QueueOutOfRange,
            format!("queue {queue} is beyond the {} queues the steering program supports", abi::MAX_QUEUES),
        ));
    }
    Ok(())
}

fn check_mode(existing: Arc<Steering>, wanted: AttachMode) -> Result<Arc<Steering>> {
    let ok = match wanted {
        AttachMode::Auto => true,
        AttachMode::Native => existing.mode == AttachedMode::Native,
        AttachMode::Skb => existing.mode == AttachedMode::Skb,
    };
    if ok {
        return Ok(existing);
    }
    Err(Error::new(
        ErrorCode::InvalidOption,
        format!(
            "{} is already attached by this process in {} mode; {wanted:?} mode was asked for \
             (close the other ports on it first, or ask for the same mode)",
            existing.ifname,
            existing.mode.as_str()
        ),
    ))
}

/// Loads the object and attaches it to the interface. Nothing outlives a
/// failure: every resource is owned by a local that drops on return.
fn attach(key: Key, ifname: &str, mode: AttachMode, frags: bool) -> Result<Steering> {
    let ifindex = key.ifindex;
    let query = || {
        netlink::link_xdp(ifindex).map_err(|e| {
            if e.code == ErrorCode::NoSuchInterface {
                no_such_interface(ifindex, ifname)
            } else {
                e
            }
        })
    };
    let mut present = query()?;
    // A program this process just released may linger for a moment: a
    // process forked meanwhile (any child being spawned) holds a copy of
    // its link fd until it execs. Wait for that rather than call it busy.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while !present.programs.is_empty()
        && present.programs.iter().all(|&(_, id)| released().contains(&id))
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(5));
        present = query()?;
    }
    if !present.programs.is_empty() {
        return Err(busy_error(ifname, &present));
    }

    let mut loaded = Loaded::load(frags)?;
    let program = xdp_mut(&mut loaded.ebpf, loaded.name);

    let attempts: &[AttachedMode] = match mode {
        AttachMode::Auto => &[AttachedMode::Native, AttachedMode::Skb],
        AttachMode::Native => &[AttachedMode::Native],
        AttachMode::Skb => &[AttachedMode::Skb],
    };
    let mut attached = None;
    let mut last_err = None;
    for &try_mode in attempts {
        match attach_link(program, ifindex, ifname, try_mode) {
            Ok(link) => {
                attached = Some((link, try_mode));
                break;
            }
            Err(e) => {
                // Only a driver refusing native mode is worth a second try
                // in skb mode; permission, busy and missing interface are
                // the same in every mode.
                let retry = try_mode == AttachedMode::Native
                    && !matches!(
                        e.code,
                        ErrorCode::NotPermitted | ErrorCode::XdpProgramBusy | ErrorCode::NoSuchInterface
                    );
                last_err = Some(e);
                if !retry {
                    break;
                }
            }
        }
    }
    let Some((link, attached_mode)) = attached else {
        return Err(last_err.expect("at least one attempt was made"));
    };

    Ok(loaded.into_steering(key, ifname, attached_mode, Some(link)))
}

/// The steering object loaded and configured, not yet attached.
struct Loaded {
    ebpf: Ebpf,
    /// The entry point loaded: PROGRAM_NAME or PROGRAM_NAME_FRAGS.
    name: &'static str,
    program_id: u32,
    xsks: XskMap<MapData>,
    counters: PerCpuArray<MapData, RawCounters>,
    control: Control,
    pass: crate::pass::PassShared,
}

impl Loaded {
    fn load(frags: bool) -> Result<Loaded> {
        let name = if frags { PROGRAM_NAME_FRAGS } else { PROGRAM_NAME };
        let mut ebpf = load_xdp(STEER_OBJECT, name, "steer.bpf.c")?;
        let program_id =
            xdp_mut(&mut ebpf, name).info().map_err(|e| from_aya(&e, "reading the steering program's id"))?.id();
        let xsks = ebpf.take_map(XSKS_MAP).ok_or_else(|| missing_map(XSKS_MAP))?;
        let xsks = XskMap::try_from(xsks).map_err(|e| from_aya(&e, XSKS_MAP))?;
        let counters = ebpf.take_map(COUNTERS_MAP).ok_or_else(|| missing_map(COUNTERS_MAP))?;
        let counters = PerCpuArray::try_from(counters).map_err(|e| from_aya(&e, COUNTERS_MAP))?;
        let mut control = Control::new(&mut ebpf)?;
        // Zeroed maps would mean "no rules, pass everything"; until told
        // otherwise we steer everything, as the plain data path expects.
        // Done before attaching, so no packet sees the zeroed tables.
        control.set_rules(&RuleSet::steer_all())?;
        let pass = crate::pass::PassShared::new(&mut ebpf, name)?;
        Ok(Loaded { ebpf, name, program_id, xsks, counters, control, pass })
    }

    fn into_steering(self, key: Key, ifname: &str, mode: AttachedMode, link: Option<FdLink>) -> Steering {
        Steering {
            link,
            key,
            ifname: ifname.to_string(),
            mode,
            frags: self.name == PROGRAM_NAME_FRAGS,
            program_id: self.program_id,
            xsks: Mutex::new(self.xsks),
            counters: self.counters,
            control: Mutex::new(self.control),
            ebpf: Mutex::new(self.ebpf),
            pass: self.pass,
        }
    }
}

/// One attach attempt in one mode, through a bpf_link only.
fn attach_link(program: &mut Xdp, ifindex: u32, ifname: &str, mode: AttachedMode) -> Result<FdLink> {
    let link_id = program.attach_to_if_index(ifindex, mode.xdp_mode()).map_err(|e| {
        let errno = find_errno(&e);
        let context = format!("attaching the steering program to {ifname} in {} mode", mode.as_str());
        match errno {
            Some(libc::EBUSY | libc::EEXIST) => match netlink::link_xdp(ifindex) {
                Ok(present) if !present.programs.is_empty() => busy_error(ifname, &present),
                _ => from_aya(&e, &context).with_code(ErrorCode::XdpProgramBusy),
            },
            Some(libc::ENODEV) => no_such_interface(ifindex, ifname),
            Some(libc::EPERM | libc::EACCES) => from_aya(&e, &context),
            Some(libc::ERANGE) if mode == AttachedMode::Native => Error::new(
                ErrorCode::MtuTooLarge,
                format!("{context}: the MTU of {ifname} (or of its veth peer) is too large for native XDP"),
            )
            .with_errno("bpf_link_create", libc::ERANGE),
            _ if mode == AttachedMode::Native => from_aya(&e, &format!("{context}: the driver refused native XDP"))
                .with_code(ErrorCode::NativeModeUnsupported),
            _ => from_aya(&e, &context),
        }
    })?;
    let link = program.take_link(link_id).map_err(|e| from_aya(&e, "taking the steering program's link"))?;
    match FdLink::try_from(link) {
        Ok(link) => Ok(link),
        Err(_) => {
            // aya falls back to netlink when bpf_link_create says EINVAL. A
            // netlink attachment would outlive a killed process, which we
            // promise never happens: take it off again and fail.
            let prog_fd = program.fd().map(|fd| fd.as_fd().as_raw_fd()).unwrap_or(-1);
            let _ = netlink::detach_expected(ifindex, prog_fd, mode.flags());
            Err(Error::new(
                ErrorCode::BpfLoad,
                format!(
                    "{ifname}: the kernel refused to attach XDP through a bpf_link in {} mode \
                     (afxdp does not use netlink attachment: it would survive a crash)",
                    mode.as_str()
                ),
            ))
        }
    }
}

/// Loads an embedded object and its XDP program `name` into the kernel.
pub(crate) fn load_xdp(object: &[u8], name: &str, source: &str) -> Result<Ebpf> {
    let context = format!("loading bpf/{source}");
    let mut ebpf = Ebpf::load(object).map_err(|e| from_aya(&e, &context))?;
    let program: &mut Xdp = ebpf
        .program_mut(name)
        .ok_or_else(|| Error::new(ErrorCode::BpfLoad, format!("{context}: no program {name}")))?
        .try_into()
        .map_err(|e| from_aya(&e, &format!("{context}: {name} is not an XDP program")))?;
    program.load().map_err(|e| from_aya(&e, &context))?;
    Ok(ebpf)
}

/// The XDP program `name` of an object loaded by `load_xdp`.
pub(crate) fn xdp_mut<'a>(ebpf: &'a mut Ebpf, name: &str) -> &'a mut Xdp {
    ebpf.program_mut(name).and_then(|p| p.try_into().ok()).expect("load_xdp checked the program")
}

fn no_such_interface(ifindex: u32, ifname: &str) -> Error {
    Error::new(
        ErrorCode::NoSuchInterface,
        format!("no interface {ifname:?} (index {ifindex}) in this network namespace"),
    )
}

fn missing_map(name: &str) -> Error {
    Error::new(ErrorCode::BpfLoad, format!("the steering object has no map {name}"))
}

/// Describes the program(s) already on an interface and how to remove them.
fn busy_error(ifname: &str, present: &netlink::LinkXdp) -> Error {
    let names = program_names();
    let links = xdp_links();
    let mut parts = Vec::new();
    for &(attach, id) in &present.programs {
        let name = names.get(&id).map(String::as_str).unwrap_or("?");
        let (mode_text, ip_kw) = match attach {
            XdpAttach::Driver => ("native", "xdpdrv"),
            XdpAttach::Skb => ("skb", "xdpgeneric"),
            XdpAttach::Hardware => ("offloaded", "xdpoffload"),
        };
        let removal = if let Some(hint) = libxdp::removal_hint(name, ifname) {
            hint
        } else if let Some(link_id) = links.get(&id) {
            format!(
                "it is held by bpf_link {link_id} of a running process: stop that process, \
                 or run `bpftool link detach id {link_id}`"
            )
        } else {
            format!("remove it with `ip link set dev {ifname} {ip_kw} off`")
        };
        let whose = if name == PROGRAM_NAME || name == PROGRAM_NAME_FRAGS {
            " (afxdp's steering program, from another process)"
        } else {
            ""
        };
        parts.push(format!("program {id} {name:?}{whose} in {mode_text} mode; {removal}"));
    }
    Error::new(
        ErrorCode::XdpProgramBusy,
        format!(
            "{ifname} already carries an XDP program that is not ours: {}. afxdp needs the interface to itself: \
             it cannot join a libxdp dispatcher or share the interface with another XDP program yet",
            parts.join("; ")
        ),
    )
}

/// Names of all loaded BPF programs by id (best effort: empty on error).
fn program_names() -> HashMap<u32, String> {
    aya::programs::loaded_programs()
        .filter_map(|p| p.ok())
        .map(|p| (p.id(), p.name_as_str().unwrap_or("?").to_string()))
        .collect()
}

/// XDP bpf_links by program id (best effort).
fn xdp_links() -> HashMap<u32, u32> {
    aya::programs::loaded_links()
        .filter_map(|l| l.ok())
        .filter(|l| matches!(l.link_type(), Ok(aya::programs::links::LinkType::Xdp)))
        .map(|l| (l.program_id(), l.id()))
        .collect()
}

/// The afxdp programs attached in the calling thread's network namespace.
pub fn attached_programs() -> Result<Vec<AttachedProgram>> {
    let links = netlink::dump_links()?;
    if links.iter().all(|l| l.programs.is_empty()) {
        return Ok(Vec::new());
    }
    let names = program_names();
    let mut out = Vec::new();
    for link in links {
        for (attach, id) in link.programs {
            let Some(name) = names.get(&id) else { continue };
            if !name.starts_with(PROGRAM_PREFIX) {
                continue;
            }
            out.push(AttachedProgram {
                ifindex: link.ifindex,
                ifname: link.ifname.clone(),
                program_id: id,
                name: name.clone(),
                mode: match attach {
                    XdpAttach::Driver => Some(AttachedMode::Native),
                    XdpAttach::Skb => Some(AttachedMode::Skb),
                    XdpAttach::Hardware => None,
                },
            });
        }
    }
    Ok(out)
}

/// The errno and syscall name buried in an aya error, if any.
fn find_syscall(e: &(dyn std::error::Error + 'static)) -> Option<(&'static str, i32)> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut call = None;
    while let Some(err) = cur {
        if let Some(s) = err.downcast_ref::<aya::sys::SyscallError>() {
            call = Some(s.call);
            if let Some(errno) = s.io_error.raw_os_error() {
                return Some((s.call, errno));
            }
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(errno) = io.raw_os_error() {
                return Some((call.unwrap_or("bpf"), errno));
            }
        }
        cur = err.source();
    }
    None
}

pub(crate) fn find_errno(e: &(dyn std::error::Error + 'static)) -> Option<i32> {
    find_syscall(e).map(|(_, errno)| errno)
}

/// Turns an aya error into ours: EPERM/EACCES become NotPermitted naming the
/// capabilities, anything else BpfLoad with aya's full text (which carries
/// the verifier log when loading failed).
pub(crate) fn from_aya(e: &(dyn std::error::Error + 'static), context: &str) -> Error {
    let mut text = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let more = s.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        src = s.source();
    }
    match find_syscall(e) {
        Some((call, errno)) => {
            let mut err = Error::syscall_needing(call, errno, BPF_CAPS, context);
            if err.code != ErrorCode::NotPermitted {
                err.code = ErrorCode::BpfLoad;
                err.message = format!("{context}: {text}");
            }
            err
        }
        None => Error::new(ErrorCode::BpfLoad, format!("{context}: {text}")),
    }
}

trait ErrorExt {
    fn with_code_if(self, from: ErrorCode, to: ErrorCode) -> Self;
    fn with_errno(self, syscall: &'static str, errno: i32) -> Self;
}

impl ErrorExt for Error {
    fn with_code_if(mut self, from: ErrorCode, to: ErrorCode) -> Self {
        if self.code == from {
            self.code = to;
        }
        self
    }

    fn with_errno(mut self, syscall: &'static str, errno: i32) -> Self {
        self.syscall = Some(syscall);
        self.errno = Some(errno);
        self
    }
}

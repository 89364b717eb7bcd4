//! The latency benchmark's instruments: a request/response prober that runs
//! on the far end of a lab (a packet socket, busy-polled so the prober's own
//! wake-up adds nothing), the kernel XDP_TX reflector (the floor), and the
//! filter on the probing end that lets only probe replies through.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aya::programs::XdpMode;
use aya::Ebpf;

use crate::bpf::{from_aya, load_xdp, xdp_mut};
use crate::error::{Error, ErrorCode, Result};

static REFLECT_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/bench_reflect.bpf.o"));
const REFLECT_PROGRAM: &str = "afxdp_reflect";
const FILTER_PROGRAM: &str = "afxdp_probe_filter";

/// Marks a probe's payload (after the UDP header).
const MAGIC: [u8; 4] = *b"AFXL";
/// Offset of the payload in the probe frame (Ethernet + IPv4 + UDP).
const PAYLOAD: usize = 42;
/// How long before a request's slot the prober stops sleeping and spins.
const SPIN_BEFORE_SLOT: Duration = Duration::from_micros(100);
/// PACKET_IGNORE_OUTGOING (Linux 4.20): the probe's socket does not see its own requests.
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

/// An XDP program of the latency bench attached to one interface (native
/// mode); detached when dropped.
pub struct BenchXdp {
    _ebpf: Ebpf,
}

impl BenchXdp {
    /// Swap MACs and XDP_TX every frame.
    pub fn reflector(ifindex: u32) -> Result<BenchXdp> {
        Self::attach(ifindex, REFLECT_PROGRAM)
    }

    /// Pass probe replies (UDP port 7), drop the rest.
    pub fn probe_filter(ifindex: u32) -> Result<BenchXdp> {
        Self::attach(ifindex, FILTER_PROGRAM)
    }

    fn attach(ifindex: u32, name: &str) -> Result<BenchXdp> {
        let mut ebpf = load_xdp(REFLECT_OBJECT, name, "bench_reflect.bpf.c")?;
        xdp_mut(&mut ebpf, name)
            .attach_to_if_index(ifindex, XdpMode::Driver)
            .map_err(|e| from_aya(&e, &format!("attaching {name}")))?;
        Ok(BenchXdp { _ebpf: ebpf })
    }
}

#[derive(Clone, Debug)]
pub struct ProbeOptions {
    /// The request: an IPv4/UDP frame to UDP port 7, at least 58 bytes; its
    /// payload is overwritten with a marker and a sequence number.
    pub frame: Vec<u8>,
    /// Requests per second (one outstanding at a time: a request goes out at
    /// its slot, or as soon as the previous reply or timeout allows).
    pub rate: f64,
    pub count: u32,
    /// Requests sent first and not counted.
    pub warmup: u32,
    /// A request without a reply by then counts as lost.
    pub timeout: Duration,
}

#[derive(Clone, Debug, Default)]
pub struct ProbeReport {
    /// Round-trip times of the answered requests, sorted, in nanoseconds.
    pub rtts_ns: Vec<u64>,
    pub sent: u32,
    pub lost: u32,
}

impl ProbeReport {
    /// The `q` quantile (0..=1) of the round trips, in nanoseconds.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.rtts_ns.is_empty() {
            return None;
        }
        let i = ((self.rtts_ns.len() as f64 - 1.0) * q).round() as usize;
        Some(self.rtts_ns[i.min(self.rtts_ns.len() - 1)])
    }
}

fn packet_socket(ifindex: u32) -> Result<OwnedFd> {
    let proto = (libc::ETH_P_IP as u16).to_be();
    // SAFETY: plain socket(2) call.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::c_int::from(proto)) };
    if fd < 0 {
        return Err(Error::last_os("socket(AF_PACKET)", "opening the probe's packet socket"));
    }
    // SAFETY: fd is fresh and ours; OwnedFd closes it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid start.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = proto;
    addr.sll_ifindex = ifindex as i32;
    // SAFETY: addr is a live sockaddr_ll of the length we pass.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&addr as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc != 0 {
        return Err(Error::last_os("bind(AF_PACKET)", "binding the probe's packet socket"));
    }
    let one: libc::c_int = 1;
    // SAFETY: setsockopt reads one c_int from a live local.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            PACKET_IGNORE_OUTGOING,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        )
    };
    Ok(fd)
}

/// Send requests out of `ifindex` (in the calling thread's namespace) and
/// time each reply. Busy-polls; returns early when `stop` becomes true.
pub fn run_probe(ifindex: u32, opts: &ProbeOptions, stop: &AtomicBool) -> Result<ProbeReport> {
    if opts.frame.len() < PAYLOAD + 16 || opts.rate <= 0.0 {
        return Err(Error::new(ErrorCode::InvalidOption, "a probe needs a frame of 58+ bytes and a positive rate"));
    }
    let fd = packet_socket(ifindex)?;
    let mut frame = opts.frame.clone();
    frame[PAYLOAD..PAYLOAD + 4].copy_from_slice(&MAGIC);
    let mut buf = [0u8; 2048];
    let interval = Duration::from_secs_f64(1.0 / opts.rate);
    let mut report = ProbeReport { rtts_ns: Vec::with_capacity(opts.count as usize), ..Default::default() };
    let start = Instant::now();
    let total = opts.warmup + opts.count;
    for seq in 0..total {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let slot = start + interval * seq;
        // Sleep through most of the gap (the CPU is shared with the
        // generator in loaded runs), spin the last stretch to send on time.
        let gap = slot.saturating_duration_since(Instant::now());
        if gap > SPIN_BEFORE_SLOT {
            std::thread::sleep(gap - SPIN_BEFORE_SLOT);
        }
        while Instant::now() < slot {
            std::hint::spin_loop();
        }
        frame[PAYLOAD + 4..PAYLOAD + 8].copy_from_slice(&seq.to_be_bytes());
        let sent_at = Instant::now();
        // SAFETY: send reads frame.len() bytes from a live buffer.
        let n = unsafe { libc::send(fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        if n < 0 {
            return Err(Error::last_os("send(AF_PACKET)", "sending a probe"));
        }
        let counted = seq >= opts.warmup;
        if counted {
            report.sent += 1;
        }
        let deadline = sent_at + opts.timeout;
        let answered = loop {
            // SAFETY: recv writes at most buf.len() bytes into a live buffer.
            let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
            let now = Instant::now();
            if n >= (PAYLOAD + 8) as isize
                && buf[PAYLOAD..PAYLOAD + 4] == MAGIC
                && buf[PAYLOAD + 4..PAYLOAD + 8] == seq.to_be_bytes()
            {
                break Some(now - sent_at);
            }
            if now >= deadline {
                break None;
            }
        };
        match answered {
            Some(rtt) if counted => report.rtts_ns.push(rtt.as_nanos() as u64),
            None if counted => report.lost += 1,
            _ => {}
        }
    }
    report.rtts_ns.sort_unstable();
    Ok(report)
}

//! XDP live-frame traffic generator: many Mpps out of a veth from one core.
//!
//! The method of xdp-trafficgen: BPF_PROG_RUN with BPF_F_TEST_XDP_LIVE_FRAMES
//! on a program (`bpf/trafficgen.bpf.c`) that redirects every frame out of
//! the sending interface. The kernel builds each frame from our template in
//! a page pool and transmits it through the driver's XDP transmit path, so
//! no socket, no skb and no copy from user space per frame are involved.
//!
//! Out of a veth the frames arrive at the peer, which must carry an XDP
//! program (veth only accepts redirected frames then): the steering program,
//! or [`DropSink`].

use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aya::maps::{Array, MapData, PerCpuArray};
use aya::programs::{Xdp, XdpMode};
use aya::Ebpf;

use crate::bpf::abi::TgConfig;
use crate::bpf::parse::Facts;
use crate::bpf::sys::{prog_test_run, TestRun, BPF_F_TEST_XDP_LIVE_FRAMES};
use crate::bpf::{find_errno, from_aya, load_xdp, xdp_mut};
use crate::error::{Error, ErrorCode, Result};

static TRAFFICGEN_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/trafficgen.bpf.o"));
static SINK_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/bench_drop.bpf.o"));

const TG_PROGRAM: &str = "afxdp_tgen";
const TG_CONFIG_MAP: &str = "afxdp_tg_config";
const SINK_PROGRAM: &str = "afxdp_sink";
const SINK_MAP: &str = "afxdp_sink_count";

/// Smallest frame the kernel accepts (an Ethernet header).
const MIN_FRAME: usize = 14;
/// How long one BPF_PROG_RUN should take by default: short enough that
/// `stop` and the deadline are noticed quickly, long enough that syscall
/// cost is noise. Each BPF_PROG_RUN with repeat > 1 costs about 25 ms on its
/// own on the 2-core test machines (the kernel swaps the program into the
/// XDP dispatcher and back, with a synchronize_rcu() each way), and no frame
/// goes out meanwhile: a pause of about 11% of the time at 200 ms chunks.
/// Benchmarks ask for longer chunks (`SendOptions::chunk_time`).
const CHUNK_TIME: Duration = Duration::from_millis(200);
const FIRST_CHUNK: u64 = 1 << 18;
const MIN_CHUNK: u64 = 1 << 12;
const MAX_CHUNK: u64 = 1 << 30;

/// What to send and for how long.
#[derive(Clone, Debug, Default)]
pub struct SendOptions {
    /// Stop after this many frames.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// 0: send the frame unchanged. N > 0: the frame must be UDP (over
    /// IPv4 or IPv6, optionally VLAN-tagged); its source port runs through
    /// N values starting at its own, so RSS spreads the frames over queues.
    pub udp_src_ports: u16,
    /// Frames per kernel batch (1..=256; 0: the kernel's default, 64).
    pub batch_size: u32,
    /// How long one BPF_PROG_RUN should last (None: 200 ms). Longer chunks
    /// shrink the pauses between them but notice `stop` later.
    pub chunk_time: Option<Duration>,
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct SendReport {
    /// Frames handed to the interface (the kernel does not say how many the
    /// driver then dropped; count at the receiver).
    pub frames: u64,
    pub elapsed: Duration,
}

impl SendReport {
    /// Frames per second over the run.
    pub fn rate(&self) -> f64 {
        self.frames as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A loaded traffic generator bound to one outgoing interface.
pub struct TrafficGen {
    ifindex: u32,
    /// The program and its maps; the Mutex also keeps runs with different
    /// configurations from interleaving.
    inner: Mutex<Inner>,
}

struct Inner {
    ebpf: Ebpf,
    config: Array<MapData, TgConfig>,
}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<TrafficGen>();
};

impl TrafficGen {
    /// Prepares to transmit out of `ifindex` (in the calling thread's
    /// network namespace at the time of each send). On a veth, the frames
    /// appear on its peer.
    pub fn new(ifindex: u32) -> Result<TrafficGen> {
        let mut ebpf = load_xdp(TRAFFICGEN_OBJECT, TG_PROGRAM, "trafficgen.bpf.c")?;
        let map = ebpf
            .take_map(TG_CONFIG_MAP)
            .ok_or_else(|| Error::new(ErrorCode::BpfLoad, format!("trafficgen object has no {TG_CONFIG_MAP}")))?;
        let config = Array::try_from(map).map_err(|e| from_aya(&e, TG_CONFIG_MAP))?;
        Ok(TrafficGen { ifindex, inner: Mutex::new(Inner { ebpf, config }) })
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Blocking: transmits `count` copies of `frame`; returns frames sent.
    pub fn send(&self, frame: &[u8], count: u64) -> Result<u64> {
        let opts = SendOptions { count: Some(count), ..Default::default() };
        Ok(self.run(frame, &opts, &AtomicBool::new(false))?.frames)
    }

    /// Blocking: transmits copies of `frame` for `duration` or until `stop`
    /// becomes true (checked every few milliseconds); returns frames sent.
    pub fn send_for(&self, frame: &[u8], duration: Duration, stop: &AtomicBool) -> Result<u64> {
        let opts = SendOptions { duration: Some(duration), ..Default::default() };
        Ok(self.run(frame, &opts, stop)?.frames)
    }

    /// The general form: stops at whichever of `opts.count`,
    /// `opts.duration` and `stop` comes first.
    pub fn run(&self, frame: &[u8], opts: &SendOptions, stop: &AtomicBool) -> Result<SendReport> {
        if frame.len() < MIN_FRAME {
            return Err(Error::new(
                ErrorCode::InvalidOption,
                format!("a frame needs at least {MIN_FRAME} bytes (an Ethernet header), got {}", frame.len()),
            ));
        }
        let mut config = TgConfig { ifindex_out: self.ifindex, ..Default::default() };
        if opts.udp_src_ports > 0 {
            let (udp_offset, ipv6) = udp_header_offset(frame).ok_or_else(|| {
                Error::new(
                    ErrorCode::InvalidOption,
                    "udp_src_ports needs an unfragmented UDP frame (IPv4 or IPv6, optionally VLAN-tagged)",
                )
            })?;
            config.udp_offset = udp_offset as u16;
            config.ipv6 = ipv6 as u8;
            config.port_count = opts.udp_src_ports;
            config.port_base = u16::from_be_bytes([frame[udp_offset], frame[udp_offset + 1]]);
        }
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.config.set(0, config, 0).map_err(|e| from_aya(&e, "writing the traffic generator's configuration"))?;
        let Inner { ebpf, .. } = &*inner;
        let program: &Xdp = ebpf.program(TG_PROGRAM).expect("loaded above").try_into().expect("XDP program");
        let prog_fd = program.fd().map_err(|e| from_aya(&e, "traffic generator program fd"))?;

        let chunk_time = opts.chunk_time.unwrap_or(CHUNK_TIME).max(Duration::from_millis(1));
        let start = Instant::now();
        let deadline = opts.duration.map(|d| start + d);
        let mut sent = 0u64;
        let mut chunk = FIRST_CHUNK;
        loop {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break;
            }
            let mut this = chunk;
            if let Some(deadline) = deadline {
                // Do not overshoot the deadline by a whole chunk.
                let left = deadline - now;
                this = this.min(((chunk as f64) * left.as_secs_f64() / chunk_time.as_secs_f64()) as u64 + 1);
            }
            if let Some(count) = opts.count {
                if sent >= count {
                    break;
                }
                this = this.min(count - sent);
            }
            let run = TestRun {
                data_in: frame,
                data_out: None,
                ctx_in: None,
                repeat: this as u32,
                flags: BPF_F_TEST_XDP_LIVE_FRAMES,
                batch_size: opts.batch_size,
            };
            match prog_test_run(prog_fd.as_fd(), run) {
                Ok(_) => sent += this,
                // A signal arrived mid-run; how far it got is unknown, so
                // count none of it and let the caller's stop flag decide.
                Err(libc::EINTR) => continue,
                Err(errno) => return Err(run_error(errno, frame.len())),
            }
            // Aim the next chunk at chunk_time from what this one took
            // (fixed cost included), changing by at most 4x at a time.
            let took = now.elapsed().max(Duration::from_micros(1));
            let scaled = (this as f64 * chunk_time.as_secs_f64() / took.as_secs_f64()) as u64;
            chunk = scaled.clamp(chunk / 4, chunk.saturating_mul(4)).clamp(MIN_CHUNK, MAX_CHUNK);
        }
        Ok(SendReport { frames: sent, elapsed: start.elapsed() })
    }
}

fn run_error(errno: i32, len: usize) -> Error {
    let err = Error::syscall_needing("bpf(BPF_PROG_RUN)", errno, "CAP_BPF and CAP_NET_ADMIN", "generating traffic");
    match errno {
        libc::EINVAL => Error::new(
            ErrorCode::InvalidOption,
            format!(
                "{}: the kernel refused a {len}-byte live frame (live frames must fit in a page \
                 with headroom and tailroom, about 3.5 KB at most)",
                err.message
            ),
        ),
        libc::EOPNOTSUPP | 524 /* ENOTSUPP */ => Error::new(
            ErrorCode::Syscall,
            format!("{}: this kernel lacks BPF_F_TEST_XDP_LIVE_FRAMES (Linux 5.18 or newer)", err.message),
        ),
        _ => err,
    }
}

/// Offset of the UDP header in `frame` and whether it is over IPv6, if the
/// frame is UDP (not a non-first fragment) with the whole UDP header present
/// within the offsets the program can reach.
fn udp_header_offset(frame: &[u8]) -> Option<(usize, bool)> {
    let facts = Facts::parse(frame);
    if facts.malformed || facts.proto != 17 || facts.ports.is_none() {
        return None;
    }
    let udp = facts.l4_offset?;
    (udp + 8 <= frame.len() && udp <= 0x1ff).then_some((udp, facts.ip_version == 6))
}

/// An XDP program that counts and drops every frame: the receiver of
/// generated traffic, and the "XDP_DROP" baseline of benchmarks. Attached
/// through a bpf_link (native mode when the driver can); detaches on drop.
pub struct DropSink {
    ebpf: Ebpf,
    mode: XdpMode,
}

impl DropSink {
    pub fn attach(ifindex: u32) -> Result<DropSink> {
        let mut ebpf = load_xdp(SINK_OBJECT, SINK_PROGRAM, "bench_drop.bpf.c")?;
        let program = xdp_mut(&mut ebpf, SINK_PROGRAM);
        let mode = match program.attach_to_if_index(ifindex, XdpMode::Driver) {
            Ok(_) => XdpMode::Driver,
            Err(e) if !matches!(find_errno(&e), Some(libc::EPERM | libc::EBUSY | libc::EEXIST | libc::ENODEV)) => {
                program
                    .attach_to_if_index(ifindex, XdpMode::Skb)
                    .map_err(|e| from_aya(&e, "attaching the drop sink in skb mode"))?;
                XdpMode::Skb
            }
            Err(e) => return Err(from_aya(&e, "attaching the drop sink")),
        };
        Ok(DropSink { ebpf, mode })
    }

    /// True when attached in native (driver) mode.
    pub fn is_native(&self) -> bool {
        self.mode == XdpMode::Driver
    }

    /// (packets, bytes) dropped so far, summed over CPUs.
    pub fn counts(&self) -> Result<(u64, u64)> {
        let map = self.ebpf.map(SINK_MAP).ok_or_else(|| Error::new(ErrorCode::BpfLoad, "sink map missing"))?;
        let counts: PerCpuArray<&MapData, u64> = PerCpuArray::try_from(map).map_err(|e| from_aya(&e, SINK_MAP))?;
        let mut out = [0u64; 2];
        for (key, slot) in out.iter_mut().enumerate() {
            let values = counts.get(&(key as u32), 0).map_err(|e| from_aya(&e, "reading the drop sink's counters"))?;
            *slot = values.iter().sum();
        }
        Ok((out[0], out[1]))
    }
}

#[cfg(test)]
mod tests {
    use super::udp_header_offset;

    #[test]
    fn finds_udp_in_v4_v6_and_vlan() {
        let mut v4 = vec![0u8; 42];
        v4[12..14].copy_from_slice(&[0x08, 0x00]);
        v4[14] = 0x45;
        v4[23] = 17;
        assert_eq!(udp_header_offset(&v4), Some((34, false)));
        v4[20] = 0x00;
        v4[21] = 0x10; // fragment offset 16: no UDP header here
        assert_eq!(udp_header_offset(&v4), None);

        let mut v6 = vec![0u8; 62];
        v6[12..14].copy_from_slice(&[0x86, 0xdd]);
        v6[20] = 17;
        assert_eq!(udp_header_offset(&v6), Some((54, true)));
        assert_eq!(udp_header_offset(&v6[..60]), None, "truncated UDP header");

        let mut vlan = vec![0u8; 46];
        vlan[12..14].copy_from_slice(&[0x81, 0x00]);
        vlan[16..18].copy_from_slice(&[0x08, 0x00]);
        vlan[18] = 0x45;
        vlan[27] = 17;
        assert_eq!(udp_header_offset(&vlan), Some((38, false)));

        let mut tcp = v4.clone();
        tcp[20] = 0;
        tcp[21] = 0;
        tcp[23] = 6;
        assert_eq!(udp_header_offset(&tcp), None);
    }
}

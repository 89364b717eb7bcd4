//! Test bed for the privileged cargo tests: two throwaway network namespaces
//! joined by a veth pair, entered on the test thread with setns(), and torn
//! down by Drop even when the test panics.

#![allow(dead_code)] // each test file uses a different part of this module

pub mod frames;

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// True when the tests may use root. Without root they skip with a message,
/// except under CI=true, where a test that cannot run must fail.
pub fn have_root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test} needs root (network namespaces, BPF) and CI=true forbids skipping it");
    }
    eprintln!("SKIPPED {test}: needs root (network namespaces, BPF)");
    false
}

/// Runs a command, panicking with its output if it fails.
pub fn run(args: &[&str]) -> Output {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{args:?} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn open_netns(path: &str) -> OwnedFd {
    let cpath = CString::new(path).unwrap();
    // SAFETY: cpath is NUL-terminated; the fd is owned below.
    let fd = unsafe { libc::open(cpath.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
    assert!(fd >= 0, "open {path}: {}", std::io::Error::last_os_error());
    // SAFETY: fd is fresh and ours.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn setns(fd: &OwnedFd) {
    // SAFETY: fd is an open netns fd; setns changes only this thread.
    let rc = unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
}

/// Two namespaces `a` and `b`; `veth0` (192.0.2.1/24, 2001:db8::1/64) in `a`
/// is the interface under test, its peer `veth1` (192.0.2.2/24,
/// 2001:db8::2/64) in `b` is where test traffic comes from.
pub struct Lab {
    pub a: String,
    pub b: String,
    /// The thread's namespace before `enter`, restored on drop.
    home: Option<OwnedFd>,
}

pub const IF_A: &str = "veth0";
pub const IF_B: &str = "veth1";
pub const ADDR_A: &str = "192.0.2.1";
pub const ADDR_B: &str = "192.0.2.2";

impl Lab {
    pub fn new(tag: &str) -> Lab {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let base = format!("afxdp-{tag}-{}-{n}", std::process::id());
        let lab = Lab { a: format!("{base}-a"), b: format!("{base}-b"), home: None };
        // From here on Drop cleans up whatever part got created.
        run(&["ip", "netns", "add", &lab.a]);
        run(&["ip", "netns", "add", &lab.b]);
        run(&["ip", "-n", &lab.a, "link", "add", IF_A, "type", "veth", "peer", "name", IF_B, "netns", &lab.b]);
        for (ns, dev, v4, v6) in [(&lab.a, IF_A, ADDR_A, "2001:db8::1"), (&lab.b, IF_B, ADDR_B, "2001:db8::2")] {
            run(&["ip", "-n", ns, "addr", "add", &format!("{v4}/24"), "dev", dev]);
            run(&["ip", "-n", ns, "-6", "addr", "add", &format!("{v6}/64"), "dev", dev, "nodad"]);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            run(&["ip", "-n", ns, "link", "set", dev, "up"]);
            // Offloads would merge or leave partial checksums in test frames.
            let _ = Command::new("ip")
                .args(["netns", "exec", ns, "ethtool", "-K", dev, "gro", "off", "tso", "off", "tx", "off", "rx", "off"])
                .output();
        }
        lab
    }

    /// The usual start of a privileged test: None (skip) without root, else
    /// a fresh lab entered on this thread and the ifindex of veth0.
    pub fn start(test: &str, tag: &str) -> Option<(Lab, u32)> {
        if !have_root(test) {
            return None;
        }
        let mut lab = Lab::new(tag);
        let ifindex = lab.ifindex(&lab.a, IF_A);
        lab.enter();
        Some((lab, ifindex))
    }

    /// Moves the calling thread into namespace `a`.
    pub fn enter(&mut self) {
        if self.home.is_none() {
            self.home = Some(open_netns("/proc/thread-self/ns/net"));
        }
        setns(&open_netns(&format!("/var/run/netns/{}", self.a)));
    }

    /// Runs a command inside namespace `ns`.
    pub fn exec(&self, ns: &str, args: &[&str]) -> Output {
        let mut full = vec!["ip", "netns", "exec", ns];
        full.extend_from_slice(args);
        run(&full)
    }

    /// Like `exec`, but returns the output whatever the exit status.
    pub fn try_exec(&self, ns: &str, args: &[&str]) -> Output {
        Command::new("ip").args(["netns", "exec", ns]).args(args).output().expect("run ip netns exec")
    }

    /// The ifindex of `dev` in namespace `ns`.
    pub fn ifindex(&self, ns: &str, dev: &str) -> u32 {
        let out = stdout(&run(&["ip", "-n", ns, "-o", "link", "show", "dev", dev]));
        out.split(':').next().unwrap().trim().parse().expect("ifindex")
    }

    /// `ip -j link show` of `dev` in `ns`, for checking XDP attachment.
    pub fn link_json(&self, ns: &str, dev: &str) -> String {
        stdout(&run(&["ip", "-n", ns, "-j", "link", "show", "dev", dev]))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(home) = self.home.take() {
            setns(&home);
        }
        // Deleting a namespace destroys the veth end inside it, and with it
        // the pair; the XDP programs on them go too.
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// The embedded-object directory: build.rs puts every bpf/*.bpf.o here.
pub fn bpf_object(name: &str) -> String {
    format!("{}/{name}", env!("OUT_DIR"))
}

/// Runs `f` on a new thread inside namespace `ns` and returns its result.
pub fn in_netns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        setns(&open_netns(&path));
        f()
    })
    .join()
    .expect("thread in netns panicked")
}

/// The MAC address of `dev` in namespace `ns`.
pub fn mac(ns: &str, dev: &str) -> [u8; 6] {
    let out = stdout(&run(&["ip", "-n", ns, "-o", "link", "show", "dev", dev]));
    let text = out.split("link/ether ").nth(1).expect("link/ether").split_whitespace().next().unwrap();
    let mut mac = [0u8; 6];
    for (b, part) in mac.iter_mut().zip(text.split(':')) {
        *b = u8::from_str_radix(part, 16).unwrap();
    }
    mac
}

/// The one's complement sum used by IPv4 header checksums.
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data.chunks(2).map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An Ethernet/IPv4/UDP frame from veth1 to veth0 (192.0.2.2 -> 192.0.2.1),
/// `len` bytes long (at least 42), UDP checksum 0 (none).
pub fn udp4_frame(lab: &Lab, dst_port: u16, len: usize) -> Vec<u8> {
    let len = len.max(42);
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&mac(&lab.a, IF_A));
    f[6..12].copy_from_slice(&mac(&lab.b, IF_B));
    f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut f[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((len - 14) as u16).to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    ip[12..16].copy_from_slice(&[192, 0, 2, 2]);
    ip[16..20].copy_from_slice(&[192, 0, 2, 1]);
    let sum = checksum(ip);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());
    f[34..36].copy_from_slice(&40000u16.to_be_bytes());
    f[36..38].copy_from_slice(&dst_port.to_be_bytes());
    f[38..40].copy_from_slice(&((len - 34) as u16).to_be_bytes());
    f
}

/// Sends `frame` `count` times out of `dev` in namespace `ns` through an
/// AF_PACKET socket (so no ARP or routing is involved).
pub fn send_frames(ns: &str, dev: &str, frame: &[u8], count: usize) {
    let dev = dev.to_string();
    let frame = frame.to_vec();
    in_netns(ns, move || {
        let cdev = CString::new(dev.clone()).unwrap();
        // SAFETY: cdev is NUL-terminated.
        let ifindex = unsafe { libc::if_nametoindex(cdev.as_ptr()) };
        assert!(ifindex > 0, "no {dev}");
        // SAFETY: plain socket(2); owned below.
        let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
        assert!(fd >= 0, "socket(AF_PACKET): {}", std::io::Error::last_os_error());
        // SAFETY: fd is fresh and ours.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_ll is plain data; all-zero is valid.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = ifindex as i32;
        addr.sll_halen = 6;
        for _ in 0..count {
            // SAFETY: frame and addr are live for the call, lengths passed.
            let n = unsafe {
                libc::sendto(
                    sock.as_raw_fd(),
                    frame.as_ptr().cast(),
                    frame.len(),
                    0,
                    (&addr as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                )
            };
            assert_eq!(n, frame.len() as isize, "sendto: {}", std::io::Error::last_os_error());
        }
    });
    // Frames cross a veth asynchronously (through the peer's NAPI).
    std::thread::sleep(std::time::Duration::from_millis(100));
}

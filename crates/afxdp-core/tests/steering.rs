//! Privileged tests of the steering program's attachment (run as root:
//! `cargo test -p afxdp-core --release`).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use afxdp_core::bpf::{attached_programs, AttachMode, AttachedMode, Steering};
use afxdp_core::ErrorCode;
use common::{have_root, Lab, IF_A};

/// Whether netlink (through `ip -j link`) reports an XDP program on veth0.
fn xdp_present(lab: &Lab) -> bool {
    lab.link_json(&lab.a, IF_A).contains("\"xdp\"")
}

/// Waits until veth0 carries no XDP program. Closing the last link fd
/// detaches at once, unless a process forked meanwhile (another test
/// spawning a child) holds a copy of the fd until it execs: so allow a
/// moment rather than asserting on the spot.
fn assert_detached(lab: &Lab, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while xdp_present(lab) {
        assert!(Instant::now() < deadline, "{why}: program left behind: {}", lab.link_json(&lab.a, IF_A));
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn auto_mode_attaches_native_on_veth_and_detaches_on_drop() {
    let Some((lab, ifindex)) = Lab::start("auto_mode_attaches_native_on_veth_and_detaches_on_drop", "attach") else {
        return;
    };

    let steering = Steering::acquire(ifindex, IF_A, AttachMode::Auto).expect("acquire");
    assert_eq!(steering.mode(), AttachedMode::Native, "veth supports native XDP");
    assert_eq!(steering.mode().as_str(), "native");
    assert_eq!(steering.ifindex(), ifindex);
    let id = steering.program_id();
    assert!(id > 0);

    // Seen from outside, by bpftool and by iproute2.
    let bpftool = common::stdout(&lab.exec(&lab.a, &["bpftool", "-j", "net", "show", "dev", IF_A]));
    assert!(bpftool.contains(&format!("\"id\":{id}")), "bpftool net: {bpftool}");
    assert!(bpftool.contains("\"mode\":\"driver\""), "bpftool net: {bpftool}");
    let link = lab.link_json(&lab.a, IF_A);
    assert!(link.contains("afxdp_steer"), "ip link: {link}");

    // And by our own listing.
    let listed = attached_programs().expect("attached_programs");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].ifindex, ifindex);
    assert_eq!(listed[0].ifname, IF_A);
    assert_eq!(listed[0].program_id, id);
    assert_eq!(listed[0].name, "afxdp_steer");
    assert_eq!(listed[0].mode, Some(AttachedMode::Native));

    // Same interface, same Arc; a forced different mode is refused.
    let again = Steering::acquire(ifindex, IF_A, AttachMode::Native).expect("acquire again");
    assert!(Arc::ptr_eq(&steering, &again));
    let err = Steering::acquire(ifindex, IF_A, AttachMode::Skb).expect_err("skb while native");
    assert_eq!(err.code, ErrorCode::InvalidOption, "{err}");

    drop(again);
    assert!(xdp_present(&lab), "one reference is still alive");
    drop(steering);
    assert_detached(&lab, "detached when the last Arc dropped");
    assert!(attached_programs().unwrap().is_empty());

    // Re-acquiring after the drop attaches afresh, in the mode asked for.
    let skb = Steering::acquire(ifindex, IF_A, AttachMode::Skb).expect("acquire skb");
    assert_eq!(skb.mode(), AttachedMode::Skb);
    assert!(skb.program_id() != id);
    drop(skb);
    assert_detached(&lab, "skb mode detaches too");
}

#[test]
fn foreign_program_gives_busy_and_is_left_alone() {
    if !have_root("foreign_program_gives_busy_and_is_left_alone") {
        return;
    }
    let mut lab = Lab::new("busy");
    let ifindex = lab.ifindex(&lab.a, IF_A);
    let obj = common::bpf_object("test_foreign.bpf.o");
    common::run(&["ip", "-n", &lab.a, "link", "set", "dev", IF_A, "xdpgeneric", "obj", &obj, "sec", "xdp"]);
    let before = lab.link_json(&lab.a, IF_A);
    assert!(before.contains("someone_elses"), "{before}");
    lab.enter();

    for mode in [AttachMode::Auto, AttachMode::Native, AttachMode::Skb] {
        let err = Steering::acquire(ifindex, IF_A, mode).expect_err("busy");
        assert_eq!(err.code, ErrorCode::XdpProgramBusy, "{mode:?}: {err}");
        assert!(err.message.contains("someone_elses"), "names the program: {err}");
        assert!(err.message.contains("xdpgeneric off"), "says how to remove it: {err}");
    }
    assert_eq!(lab.link_json(&lab.a, IF_A), before, "the foreign program is untouched");
    assert!(attached_programs().unwrap().is_empty(), "not listed as ours");
}

#[test]
fn missing_interface_is_reported() {
    if !have_root("missing_interface_is_reported") {
        return;
    }
    let mut lab = Lab::new("noif");
    lab.enter();
    let err = Steering::acquire(999_999, "nope0", AttachMode::Auto).expect_err("no such interface");
    assert_eq!(err.code, ErrorCode::NoSuchInterface, "{err}");
}

#[test]
fn counters_count_passed_frames_without_socket() {
    let Some((lab, ifindex)) = Lab::start("counters_count_passed_frames_without_socket", "count") else { return };
    let steering = Steering::acquire(ifindex, IF_A, AttachMode::Auto).expect("acquire");
    let before = steering.counters().expect("counters");
    assert_eq!(before.steered_packets, 0);

    // No socket is bound: everything goes on to the kernel.
    let frame = common::udp4_frame(&lab, 9, 64);
    common::send_frames(&lab.b, common::IF_B, &frame, 5);

    let after = steering.counters().expect("counters");
    // The 5 frames, plus whatever IPv6 neighbour discovery sent meanwhile.
    assert!(after.passed_packets >= 5, "{after:?}");
    assert_eq!(after.passed_packets, after.no_socket, "{after:?}");
    assert!(after.passed_bytes >= 5 * frame.len() as u64, "{after:?}");
    assert_eq!(after.steered_packets, 0);
    assert_eq!(after.dropped_packets, 0);

    // Binding something that is not an AF_XDP socket is refused by the kernel.
    let err = steering.bind_socket(0, 0).expect_err("stdin is not an XSK");
    assert_eq!(err.code, ErrorCode::Syscall, "{err}");
    let err = steering.bind_socket(256, 0).expect_err("queue out of range");
    assert_eq!(err.code, ErrorCode::QueueOutOfRange, "{err}");
    steering.unbind_socket(0).expect("unbinding an empty queue is fine");
}

/// The child half of `sigkill_leaves_no_program`: when started with
/// AFXDP_TEST_CHILD_NETNS set it attaches, says so, and sleeps until killed.
#[test]
fn child_attach_and_sleep() {
    let Ok(ns) = std::env::var("AFXDP_TEST_CHILD_NETNS") else { return };
    let fd = std::fs::File::open(format!("/var/run/netns/{ns}")).expect("open netns");
    use std::os::fd::AsRawFd;
    // SAFETY: fd is an open netns file; setns affects this thread only.
    assert_eq!(unsafe { libc::setns(fd.as_raw_fd(), libc::CLONE_NEWNET) }, 0);
    let ifindex: u32 = std::env::var("AFXDP_TEST_CHILD_IFINDEX").unwrap().parse().unwrap();
    let steering = Steering::acquire(ifindex, IF_A, AttachMode::Auto).expect("child acquire");
    println!("ATTACHED {}", steering.program_id());
    std::thread::sleep(Duration::from_secs(120));
    panic!("the parent should have killed this process");
}

#[test]
fn sigkill_leaves_no_program() {
    if !have_root("sigkill_leaves_no_program") {
        return;
    }
    let lab = Lab::new("kill");
    let ifindex = lab.ifindex(&lab.a, IF_A);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_attach_and_sleep", "--nocapture", "--test-threads=1"])
        .env("AFXDP_TEST_CHILD_NETNS", &lab.a)
        .env("AFXDP_TEST_CHILD_IFINDEX", ifindex.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child");
    // Kill the child whatever happens below.
    struct Reaper(std::process::Child);
    impl Drop for Reaper {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stdout = child.stdout.take().unwrap();
    let mut reaper = Reaper(child);
    let mut lines = BufReader::new(stdout).lines();
    let attached = loop {
        let line = lines.next().expect("child ended before attaching").expect("read child");
        // libtest prints "test NAME ... " on the same line first.
        if let Some(at) = line.find("ATTACHED ") {
            break line[at + "ATTACHED ".len()..].trim().to_string();
        }
    };
    let json = lab.link_json(&lab.a, IF_A);
    assert!(json.contains(&format!("\"id\":{attached}")), "child's program attached: {json}");

    // SIGKILL: no destructor runs; only the kernel's bpf_link cleanup can help.
    reaper.0.kill().expect("kill -9");
    reaper.0.wait().expect("wait");
    assert_detached(&lab, "after SIGKILL");
}

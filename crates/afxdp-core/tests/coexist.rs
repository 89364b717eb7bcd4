//! Coexistence with libxdp. The freplace probe (`bpf::probe::freplace`, shown
//! by `afxdp doctor`) must agree with what libxdp does on the same kernel:
//! where freplace programs load, xdp-filter is attached through libxdp's
//! dispatcher (`xdp_dispatcher`); where they are refused, libxdp attaches
//! xdp-filter's program alone. And a libxdp program on the interface makes
//! `Steering::acquire` refuse with XdpProgramBusy, naming the tool.

mod common;

use std::process::Command;

use afxdp_core::bpf::probe::{freplace, Freplace};
use afxdp_core::bpf::{AttachMode, Steering};
use afxdp_core::ErrorCode;
use common::{have_root, run, stdout, Lab, IF_A};

/// A bpffs of our own for libxdp's pins (LIBXDP_BPFFS), unmounted on drop.
struct Bpffs(std::path::PathBuf);

impl Bpffs {
    fn mount() -> Bpffs {
        let dir = std::env::temp_dir().join(format!("afxdp-bpffs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir bpffs");
        let fs = Bpffs(dir);
        run(&["mount", "-t", "bpf", "bpf", fs.0.to_str().unwrap()]);
        fs
    }

    fn env(&self) -> String {
        format!("LIBXDP_BPFFS={}", self.0.display())
    }
}

impl Drop for Bpffs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn have_xdp_filter(test: &str) -> bool {
    if Command::new("xdp-filter").arg("help").output().is_ok() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test} needs xdp-filter (Debian package xdp-tools) and CI=true forbids skipping it");
    }
    eprintln!("SKIPPED {test}: xdp-filter (xdp-tools) is not installed");
    false
}

#[test]
fn freplace_probe_agrees_with_libxdp_and_acquire_names_xdp_filter() {
    let test = "freplace_probe_agrees_with_libxdp_and_acquire_names_xdp_filter";
    if !have_root(test) || !have_xdp_filter(test) {
        return;
    }
    let answer = freplace().expect("the probe loads the steering program");
    eprintln!("freplace probe: {answer:?}");

    let mut lab = Lab::new("frepl");
    let ifindex = lab.ifindex(&lab.a, IF_A);
    let bpffs = Bpffs::mount();
    lab.exec(&lab.a, &["env", &bpffs.env(), "xdp-filter", "load", IF_A]);
    let link = stdout(&run(&["ip", "-n", &lab.a, "-d", "-j", "link", "show", "dev", IF_A]));
    let dispatcher = link.contains("\"xdp_dispatcher\"");
    eprintln!("libxdp attached xdp-filter {}", if dispatcher { "through a dispatcher" } else { "alone" });
    assert_eq!(dispatcher, answer == Freplace::Supported, "probe said {answer:?}; {link}");

    lab.enter();
    let err = Steering::acquire(ifindex, IF_A, AttachMode::Auto).expect_err("the interface is taken");
    assert_eq!(err.code, ErrorCode::XdpProgramBusy, "{err}");
    let removal =
        if dispatcher { format!("xdp-loader unload --all {IF_A}") } else { format!("xdp-filter unload {IF_A}") };
    assert!(err.message.contains(&removal), "{err}");
    lab.exec(&lab.a, &["env", &bpffs.env(), "xdp-filter", "unload", IF_A]);
}

//! Privileged tests of the live-frame traffic generator.

mod common;

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use afxdp_core::bpf::{AttachMode, Steering};
use afxdp_core::trafficgen::{DropSink, SendOptions, TrafficGen};
use afxdp_core::ErrorCode;
use common::{in_netns, Lab, IF_B};

/// Frames sent out of veth0 reach the peer's XDP program; in this test the
/// peer is in namespace b, so the sink is attached from a thread there.
fn sink_on_peer(lab: &Lab) -> DropSink {
    let ifindex = lab.ifindex(&lab.b, IF_B);
    in_netns(&lab.b, move || DropSink::attach(ifindex).expect("attach drop sink"))
}

#[test]
fn one_million_frames_reach_the_peer() {
    let Some((lab, ifindex)) = Lab::start("one_million_frames_reach_the_peer", "tgen") else { return };
    let sink = sink_on_peer(&lab);
    assert!(sink.is_native(), "veth takes native XDP");
    let frame = common::udp4_frame(&lab, 9, 64);
    let gen = TrafficGen::new(ifindex).expect("traffic generator");

    let start = Instant::now();
    let sent = gen.send(&frame, 1_000_000).expect("send");
    let elapsed = start.elapsed();
    assert_eq!(sent, 1_000_000);
    // Let the peer's NAPI drain what is still queued.
    std::thread::sleep(Duration::from_millis(200));
    let (packets, bytes) = sink.counts().expect("sink counts");
    println!(
        "trafficgen: sent {sent} frames of {} bytes in {:.3} s = {:.2} Mpps; peer's XDP counted {packets} ({:.2}%)",
        frame.len(),
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64() / 1e6,
        packets as f64 * 100.0 / sent as f64
    );
    // veth drops what overflows the peer's 256-entry ring when the receiver
    // falls behind; on an idle machine almost nothing is lost.
    assert!(packets >= sent * 95 / 100, "counted {packets} of {sent}");
    // veth0's own stack may add a few frames (IPv6 neighbour discovery, MLD).
    assert!(packets <= sent + 100, "counted {packets} of {sent}");
    assert!(bytes >= packets.min(sent) * frame.len() as u64);
}

#[test]
fn steering_program_counts_generated_frames() {
    let Some((lab, ifindex)) = Lab::start("steering_program_counts_generated_frames", "tgsteer") else { return };
    let peer = lab.ifindex(&lab.b, IF_B);
    // The steering program on the peer with no socket bound: frames pass to
    // the kernel and the "passed" counter rises.
    let steering = in_netns(&lab.b, move || Steering::acquire(peer, IF_B, AttachMode::Auto).expect("acquire"));
    let frame = common::udp4_frame(&lab, 9, 64);
    let gen = TrafficGen::new(ifindex).expect("traffic generator");
    let sent = gen.send(&frame, 10_000).expect("send");
    std::thread::sleep(Duration::from_millis(200));
    let c = steering.counters().expect("counters");
    assert!(c.passed_packets >= sent * 9 / 10, "{c:?}");
    assert_eq!(c.steered_packets, 0);
    drop(steering); // detaches from namespace b's interface (registry keyed by netns)
}

#[test]
fn send_for_stops_and_varies_ports() {
    let Some((lab, ifindex)) = Lab::start("send_for_stops_and_varies_ports", "tgfor") else { return };
    let sink = sink_on_peer(&lab);
    let frame = common::udp4_frame(&lab, 9, 64);
    let gen = TrafficGen::new(ifindex).expect("traffic generator");

    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let sent = gen.send_for(&frame, Duration::from_millis(300), &stop).expect("send_for");
    let took = start.elapsed();
    assert!(sent > 0);
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(2), "{took:?}");

    // An already-raised stop flag sends nothing.
    let stop = AtomicBool::new(true);
    assert_eq!(gen.send_for(&frame, Duration::from_secs(5), &stop).unwrap(), 0);

    // Varying the UDP source port keeps the frames valid and delivered.
    let (before, _) = sink.counts().unwrap();
    let opts = SendOptions { count: Some(50_000), udp_src_ports: 64, ..Default::default() };
    let report = gen.run(&frame, &opts, &AtomicBool::new(false)).expect("varied run");
    assert_eq!(report.frames, 50_000);
    std::thread::sleep(Duration::from_millis(200));
    let (after, _) = sink.counts().unwrap();
    assert!(after - before >= 45_000, "{}", after - before);

    // Not UDP: variation is refused; too short: refused.
    let mut arp = frame.clone();
    arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
    let opts = SendOptions { count: Some(1), udp_src_ports: 4, ..Default::default() };
    let err = gen.run(&arp, &opts, &AtomicBool::new(false)).expect_err("not UDP");
    assert_eq!(err.code, ErrorCode::InvalidOption);
    let err = gen.send(&frame[..10], 1).expect_err("runt");
    assert_eq!(err.code, ErrorCode::InvalidOption);
}

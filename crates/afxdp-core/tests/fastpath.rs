//! Issue 5 on a veth pair, with a real AF_XDP port (the lead's UmemGroup):
//! steering rules leave the kernel its traffic, the drop list and flow
//! offload keep frames from the handler, rule updates under traffic decide
//! every frame by one rule set or the other.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use afxdp_core::bpf::parse::Facts;
use afxdp_core::bpf::{Action, AttachMode, FlowKey, RuleSet, Steering};
use afxdp_core::umem::{PortOptions, UmemGroup, UmemOptions, VERDICT_DROP};
use common::{in_netns, Lab, ADDR_A, IF_A, IF_B};

/// Receives what the port has (waiting up to `wait` for the first frame)
/// and returns copies of the frames; every frame is dropped after.
fn drain(group: &mut UmemGroup, port: usize, wait: Duration) -> Vec<Vec<u8>> {
    let mut table = vec![0u32; 128];
    let mut out = Vec::new();
    let deadline = Instant::now() + wait;
    loop {
        let n = group.rx(port, &mut table).expect("rx") as usize;
        let base = group.area().as_ptr();
        for i in 0..n {
            let (off, len) = (table[2 * i] as usize, table[2 * i + 1] as usize);
            // SAFETY: rx handed us this frame (offset and length checked
            // against the UMEM by UmemGroup); it is ours until commit.
            out.push(unsafe { std::slice::from_raw_parts(base.add(off), len) }.to_vec());
        }
        group.commit(port, &table[..2 * n], &vec![VERDICT_DROP; n]).expect("commit");
        if n == 0 && (Instant::now() >= deadline || !out.is_empty()) {
            return out;
        }
        if n == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn udp_to_port_9(frames: &[Vec<u8>]) -> usize {
    frames.iter().filter(|f| Facts::parse(f).ports.is_some_and(|(_, d)| d == 9)).count()
}

/// Sends `n` UDP datagrams to 192.0.2.1:9 from namespace b, through its
/// kernel stack (so ARP must work through the steering program).
fn send_udp(lab: &Lab, n: usize) {
    in_netns(&lab.b, move || {
        let sock = UdpSocket::bind("192.0.2.2:40000").expect("bind in b");
        for _ in 0..n {
            sock.send_to(b"to the handler", (ADDR_A, 9)).expect("send_to");
        }
    });
    std::thread::sleep(Duration::from_millis(100));
}

#[test]
fn steer_block_offload_on_veth() {
    let Some((lab, ifindex)) = Lab::start("steer_block_offload_on_veth", "fast") else { return };
    let mut group = UmemGroup::new(&UmemOptions::default()).expect("umem");
    // The rules go in with the port, before its socket joins the XSKMAP: set
    // afterwards, IPv6 chatter of the fresh veth (MLD, router solicitations)
    // arriving in between was steered to the socket and counted as a sixth frame.
    let mut opts = PortOptions::new(IF_A);
    opts.rules = Some(
        RuleSet::from_json(
            r#"{"default":"pass","rules":[{"name":"udp dst port 9","action":"steer",
        "match":{"kind":"and","of":[{"kind":"proto","value":17},{"kind":"port","dir":"dst","from":9,"to":9}]}}]}"#,
        )
        .unwrap(),
    );
    let port = group.add_port(&opts).expect("port on veth0");
    let steering = Steering::acquire(ifindex, IF_A, AttachMode::Auto).expect("the port's steering program");

    // The kernel keeps TCP (and the ARP it needs) while UDP/9 goes to us.
    let listener = TcpListener::bind((ADDR_A, 7000)).expect("listen in a");
    send_udp(&lab, 5);
    let client = std::thread::spawn({
        let b = lab.b.clone();
        move || {
            in_netns(&b, || {
                let mut s =
                    TcpStream::connect_timeout(&format!("{ADDR_A}:7000").parse().unwrap(), Duration::from_secs(3))
                        .expect("connect");
                s.write_all(b"hello kernel").unwrap();
            })
        }
    });
    let (mut conn, _) = listener.accept().expect("accept");
    let mut buf = [0u8; 12];
    conn.read_exact(&mut buf).expect("read");
    assert_eq!(&buf, b"hello kernel");
    client.join().unwrap();
    let frames = drain(&mut group, port, Duration::from_secs(1));
    assert_eq!(udp_to_port_9(&frames), 5, "the handler got the UDP/9 datagrams");
    assert_eq!(frames.len(), 5, "and nothing else: TCP and ARP stayed with the kernel");
    let first = frames[0].clone();

    // Drop list: the handler never sees the prefix; its counter rises.
    let blocked_before = steering.counters().unwrap().blocked;
    steering.block("192.0.2.2/32", None).unwrap();
    send_udp(&lab, 4);
    assert_eq!(udp_to_port_9(&drain(&mut group, port, Duration::from_millis(300))), 0);
    assert_eq!(steering.counters().unwrap().blocked - blocked_before, 4);
    assert_eq!(steering.blocked().unwrap()[0].packets, 4);
    steering.unblock("192.0.2.2/32").unwrap();
    send_udp(&lab, 3);
    assert_eq!(udp_to_port_9(&drain(&mut group, port, Duration::from_secs(1))), 3, "flows again once unblocked");

    // Offload: the flow stops reaching the handler, and comes back after its TTL.
    let flow = steering.offload_frame(&first, Action::Drop, Some(Duration::from_millis(700))).unwrap();
    assert_eq!(
        flow,
        FlowKey { proto: 17, src: "192.0.2.2".parse().unwrap(), dst: ADDR_A.parse().unwrap(), sport: 40000, dport: 9 }
    );
    send_udp(&lab, 3);
    assert_eq!(udp_to_port_9(&drain(&mut group, port, Duration::from_millis(300))), 0);
    assert_eq!(steering.offloads().unwrap()[0].packets, 3);
    std::thread::sleep(Duration::from_millis(800));
    send_udp(&lab, 3);
    assert_eq!(udp_to_port_9(&drain(&mut group, port, Duration::from_secs(1))), 3, "back after the TTL");
}

#[test]
fn rule_updates_under_traffic_lose_nothing() {
    let Some((lab, ifindex)) = Lab::start("rule_updates_under_traffic_lose_nothing", "swap") else { return };
    let mut group = UmemGroup::new(&UmemOptions::default()).expect("umem");
    let port = group.add_port(&PortOptions::new(IF_A)).expect("port on veth0");
    let steering = Steering::acquire(ifindex, IF_A, AttachMode::Auto).expect("steering");
    let a = RuleSet::from_json(
        r#"{"default":"pass","rules":[{"action":"steer","match":{"kind":"and","of":[
        {"kind":"proto","value":17},{"kind":"port","dir":"dst","from":9,"to":9}]}}]}"#,
    )
    .unwrap();
    let b = RuleSet::from_json(
        r#"{"default":"pass","rules":[
        {"action":"pass","match":{"kind":"and","of":[{"kind":"proto","value":6},{"kind":"port","from":22,"to":22}]}},
        {"action":"drop","match":{"kind":"net","dir":"src","prefixes":["198.51.100.0/24"]}},
        {"action":"steer","match":{"kind":"port","dir":"dst","from":1,"to":100}}]}"#,
    )
    .unwrap();
    steering.set_rules(&a).unwrap();
    let before = steering.counters().unwrap();

    const N: usize = 20_000;
    let frame = common::udp4_frame(&lab, 9, 64);
    let done = Arc::new(AtomicBool::new(false));
    let sender = std::thread::spawn({
        let (ns, done) = (lab.b.clone(), done.clone());
        move || {
            common::send_frames(&ns, IF_B, &frame, N);
            done.store(true, Ordering::Relaxed);
        }
    });
    // Swaps in their own thread: set_rules waits for two RCU grace periods
    // (milliseconds), which this thread spends draining the socket.
    let mut received = 0;
    let swaps = std::thread::scope(|scope| {
        let swapper = scope.spawn(|| {
            let mut swaps = 0;
            while !done.load(Ordering::Relaxed) {
                steering.set_rules(if swaps % 2 == 0 { &b } else { &a }).unwrap();
                swaps += 1;
            }
            swaps
        });
        while !done.load(Ordering::Relaxed) {
            received += udp_to_port_9(&drain(&mut group, port, Duration::ZERO));
        }
        swapper.join().unwrap()
    });
    sender.join().unwrap();
    // Frames may still be crossing the veth: drain until all are in (or 2 s).
    let deadline = Instant::now() + Duration::from_secs(2);
    while received < N && Instant::now() < deadline {
        received += udp_to_port_9(&drain(&mut group, port, Duration::from_millis(50)));
    }
    let after = steering.counters().unwrap();
    let steered = (after.steered_packets + after.no_socket) - (before.steered_packets + before.no_socket);
    let xdp = group.stats(port).unwrap().xdp;
    // Frames the socket could not take: its RX ring or fill ring ran out
    // while the loop was busy (not a steering decision). A
    // frame dropped for an empty fill ring counts in both rx_dropped and
    // rx_fill_ring_empty_descs, so only the first is added.
    let ring_full = xdp.rx_dropped + xdp.rx_ring_full;
    println!(
        "{swaps} rule swaps during {N} frames; steered {steered} (no socket {}), received {received}, socket stats {xdp:?}",
        after.no_socket - before.no_socket
    );
    assert!(swaps > 2, "the swaps must overlap the traffic");
    assert_eq!(steered, N as u64, "every UDP/9 frame was decided 'steer' by one rule set or the other");
    assert_eq!(received as u64 + ring_full, N as u64);
}

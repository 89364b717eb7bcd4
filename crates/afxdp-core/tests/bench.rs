//! Measurements for issue 5 (ignored by default; run as root with
//! `cargo test -p afxdp-core --release --test bench -- --ignored --nocapture --test-threads=1`).
//! They print figures measured side by side in one run; they assert only
//! that the measurement itself worked.

mod common;

use std::time::{Duration, Instant};

use afxdp_core::bpf::{AttachMode, RuleSet, Steering};
use afxdp_core::trafficgen::{DropSink, TrafficGen};
use common::frames::udp4;
use common::{in_netns, Lab, IF_B};

/// Pins the calling thread to one CPU, so generator and consumer do not
/// trade places mid-run.
fn pin_to_cpu(cpu: usize) {
    // SAFETY: cpu_set_t is plain data; CPU_SET writes within it; the call
    // reads it for the calling thread only.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Rules of the benchmark: 1,000 source prefixes (not matching the test
/// traffic) and 10 port rules, the last of which steers the traffic.
fn thousand_prefixes_ten_ports() -> RuleSet {
    let prefixes: Vec<String> = (0..1000).map(|i| format!("10.{}.{}.0/24", i / 256, i % 256)).collect();
    let mut rules = vec![serde_json::json!({
        "name": "1000 prefixes", "action": "drop",
        "match": { "kind": "net", "dir": "src", "prefixes": prefixes } })];
    for i in 0..10u16 {
        rules.push(serde_json::json!({
            "name": format!("udp dst port {}", 9 + 10 - 1 - i), "action": "steer",
            "match": { "kind": "and", "of": [ { "kind": "proto", "value": 17 },
                { "kind": "port", "dir": "dst", "from": 9 + 10 - 1 - i, "to": 9 + 10 - 1 - i } ] } }));
    }
    RuleSet::from_json(&serde_json::json!({ "default": "pass", "rules": rules }).to_string()).unwrap()
}

/// Program cost per packet as the kernel times it (BPF_PROG_RUN, repeat).
#[test]
#[ignore]
fn program_cost_per_packet() {
    if !common::have_root("program_cost_per_packet") {
        return;
    }
    let frame = udp4("192.0.2.2", "192.0.2.1", 40000, 9);
    let plain = Steering::load_unattached().unwrap();
    let ruled = Steering::load_unattached().unwrap();
    ruled.set_rules(&thousand_prefixes_ten_ports()).unwrap();
    let blocked = Steering::load_unattached().unwrap();
    blocked.block("192.0.2.0/24", None).unwrap();
    let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..7 {
        a.push(plain.test_run_timed(&frame, 1_000_000).unwrap().1 as f64);
        b.push(ruled.test_run_timed(&frame, 1_000_000).unwrap().1 as f64);
        c.push(blocked.test_run_timed(&frame, 1_000_000).unwrap().1 as f64);
    }
    let (a, b, c) = (median(a), median(b), median(c));
    println!("BPF_PROG_RUN ns/packet (median of 7 x 1M): steer-all {a:.0}, 1000 prefixes + 10 port rules {b:.0} (+{:.0} ns), drop-list hit {c:.0}", b - a);
}

/// Traffic-generator rate into the peer with an unconditional XDP_DROP
/// program, then with the steering program dropping by drop list, by a
/// drop rule, and steering through 1000 prefixes + 10 port rules (no socket
/// bound: the frames then pass to the kernel, so that last figure includes
/// the kernel stack), alternating, same veth pair, same run.
#[test]
#[ignore]
fn drop_list_versus_xdp_drop_on_veth() {
    let Some((lab, ifindex)) = Lab::start("drop_list_versus_xdp_drop_on_veth", "bench") else { return };
    let peer = lab.ifindex(&lab.b, IF_B);
    let frame = common::udp4_frame(&lab, 9, 64);
    let gen = TrafficGen::new(ifindex).unwrap();
    const N: u64 = 4_000_000;
    let measure = |what: &str, counted: &dyn Fn() -> u64| -> f64 {
        let before = counted();
        let start = Instant::now();
        gen.send(&frame, N).unwrap();
        let secs = start.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(100));
        let got = counted() - before;
        assert!(got >= N * 9 / 10, "{what}: counted {got} of {N}");
        N as f64 / secs / 1e6
    };
    let (mut sink, mut list, mut rule) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..3 {
        let s = in_netns(&lab.b, move || DropSink::attach(peer).unwrap());
        sink.push(measure("XDP_DROP", &|| s.counts().unwrap().0));
        drop(s);

        let st = in_netns(&lab.b, move || Steering::acquire(peer, IF_B, AttachMode::Native).unwrap());
        st.block("192.0.2.0/24", None).unwrap();
        list.push(measure("drop list", &|| st.counters().unwrap().blocked));
        st.unblock("192.0.2.0/24").unwrap();
        st.set_rules(&RuleSet::from_json(r#"{"default":"drop"}"#).unwrap()).unwrap();
        rule.push(measure("default drop", &|| st.counters().unwrap().dropped_packets));
        drop(st);
    }
    let (s, l, r) = (median(sink), median(list), median(rule));
    println!(
        "trafficgen into veth peer, Mpps (median of 3, {N} frames each): XDP_DROP {s:.2}, drop-list {l:.2} (cost ratio {:.2}x), default-drop rule {r:.2} ({:.2}x)",
        s / l,
        s / r
    );
}

/// Frames per second an AF_XDP consumer (plain Rust, dropping every frame)
/// receives on veth0 while the traffic generator saturates it from veth1,
/// with the steering program on steer-all and on 1000 prefixes + 10 port
/// rules (the frames match the last port rule), alternating in one run.
#[test]
#[ignore]
fn steered_path_with_rules() {
    use afxdp_core::umem::{PortOptions, UmemGroup, UmemOptions, VERDICT_DROP};
    use std::sync::atomic::AtomicBool;

    let Some((lab, ifindex)) = Lab::start("steered_path_with_rules", "bsteer") else { return };
    let mut group = UmemGroup::new(&UmemOptions::default()).unwrap();
    let port = group.add_port(&PortOptions::new(common::IF_A)).unwrap();
    let steering = Steering::acquire(ifindex, common::IF_A, AttachMode::Auto).unwrap();
    let peer = lab.ifindex(&lab.b, IF_B);
    // veth1 -> veth0, UDP to port 9 (addressed as udp4_frame does).
    let frame = common::udp4_frame(&lab, 9, 64);
    let ruled = thousand_prefixes_ten_ports();
    const RUN: Duration = Duration::from_millis(1500);
    let mut table = vec![0u32; 128];
    let mut consume = |group: &mut UmemGroup| -> f64 {
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let gen = {
            let (ns, stop, frame) = (lab.b.clone(), stop.clone(), frame.clone());
            std::thread::spawn(move || {
                in_netns(&ns, move || {
                    pin_to_cpu(1);
                    let g = TrafficGen::new(peer).unwrap();
                    g.send_for(&frame, RUN + Duration::from_millis(300), &stop).unwrap()
                })
            })
        };
        std::thread::sleep(Duration::from_millis(150)); // let the generator start
        let (start, mut got) = (Instant::now(), 0u64);
        while start.elapsed() < RUN {
            let n = group.rx(port, &mut table).unwrap() as usize;
            group.commit(port, &table[..2 * n], &vec![VERDICT_DROP; n]).unwrap();
            got += n as u64;
        }
        let rate = got as f64 / start.elapsed().as_secs_f64() / 1e6;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        gen.join().unwrap();
        loop {
            let n = group.rx(port, &mut table).unwrap() as usize;
            group.commit(port, &table[..2 * n], &vec![VERDICT_DROP; n]).unwrap();
            if n == 0 {
                break;
            }
        }
        rate
    };
    pin_to_cpu(0);
    let (mut plain, mut rules) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        steering.set_rules(&RuleSet::steer_all()).unwrap();
        plain.push(consume(&mut group));
        steering.set_rules(&ruled).unwrap();
        rules.push(consume(&mut group));
    }
    let matched = steering.rule_counters().unwrap();
    assert!(matched.iter().any(|c| c.packets > 0 && c.action == afxdp_core::bpf::Action::Steer));
    let (p, r) = (median(plain.clone()), median(rules.clone()));
    println!(
        "AF_XDP consumer on veth0, Mpps (median of 5 x {RUN:?}, generator+XDP on CPU 1, consumer on CPU 0): steer-all {p:.2} {plain:.2?}, 1000 prefixes + 10 port rules {r:.2} {rules:.2?} ({:+.1}%)",
        (r / p - 1.0) * 100.0
    );
}

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

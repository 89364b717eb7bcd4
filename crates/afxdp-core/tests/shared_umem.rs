//! Ports sharing one UMEM: however many frames it has, a port that joins
//! after another filled its ring still gets fill frames, and with the
//! default sizes it gets a fair share.

mod common;

use afxdp_core::umem::{PortOptions, UmemGroup, UmemOptions};
use common::{Lab, IF_A};

/// Frames each port gave the kernel to receive into (fill ring, plus RX ring
/// for the few the links' own traffic may have used already), right after
/// all of them were opened; and the free frames left.
fn fill_after_adding(interfaces: &[&str], frames: u32) -> (Vec<u32>, u32) {
    let mut group = UmemGroup::new(&UmemOptions { frames, ..UmemOptions::default() }).expect("umem");
    let ports: Vec<usize> = interfaces.iter().map(|i| group.add_port(&PortOptions::new(i)).expect("port")).collect();
    let fills = ports
        .iter()
        .map(|&p| {
            let f = group.stats(p).expect("stats").frames;
            f.fill_ring + f.rx_ring
        })
        .collect();
    let free = group.frame_counts().free;
    group.close();
    (fills, free)
}

#[test]
fn every_port_of_a_shared_umem_gets_fill_frames() {
    let Some((lab, _)) = Lab::start("every_port_of_a_shared_umem_gets_fill_frames", "share") else { return };
    // Two more interfaces in the same namespace: a second veth pair.
    lab.exec(&lab.a, &["ip", "link", "add", "veth2", "type", "veth", "peer", "name", "veth3"]);
    for dev in ["veth2", "veth3"] {
        lab.exec(&lab.a, &["ip", "link", "set", dev, "up"]);
    }
    for frames in [64, 128, 1024, 2048, 4096] {
        for interfaces in [&[IF_A, "veth2"][..], &[IF_A, "veth2", "veth3"][..]] {
            let (fills, free) = fill_after_adding(interfaces, frames);
            assert!(
                fills.iter().all(|&f| f > 0),
                "{frames} frames, {} ports: fill rings {fills:?} (free {free})",
                interfaces.len()
            );
            assert!(fills.iter().sum::<u32>() + free == frames, "{frames} frames: {fills:?} + free {free}");
        }
    }
    // Defaults (4096 frames, 2048-entry rings): the first port stops at its
    // ring's size, the second gets the rest but the send reserve (512).
    let (fills, free) = fill_after_adding(&[IF_A, "veth2"], 4096);
    assert_eq!(fills, vec![2048, 1536]);
    assert_eq!(free, 512);
}

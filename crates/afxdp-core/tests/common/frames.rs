//! Builders for crafted test frames (no checksums beyond the IPv4 header's:
//! the steering program does not verify them).

use std::net::{Ipv4Addr, Ipv6Addr};

pub const DST_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
pub const SRC_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

/// Ethernet header with optional VLAN tags (outer first), then `payload`.
pub fn eth(tags: &[u16], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(22 + payload.len());
    f.extend_from_slice(&DST_MAC);
    f.extend_from_slice(&SRC_MAC);
    for (i, tag) in tags.iter().enumerate() {
        // 802.1ad outer tag for QinQ, 802.1Q otherwise.
        let tpid: u16 = if tags.len() > 1 && i == 0 { 0x88a8 } else { 0x8100 };
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&tag.to_be_bytes());
    }
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// IPv4 header (20 bytes plus `options`) and payload. `frag` is the raw
/// flags/fragment-offset field.
pub fn ipv4_opts(src: &str, dst: &str, proto: u8, frag: u16, options: &[u8], payload: &[u8]) -> Vec<u8> {
    assert_eq!(options.len() % 4, 0);
    let hlen = 20 + options.len();
    let mut h = vec![0u8; hlen];
    h[0] = 0x40 | (hlen / 4) as u8;
    h[2..4].copy_from_slice(&((hlen + payload.len()) as u16).to_be_bytes());
    h[6..8].copy_from_slice(&frag.to_be_bytes());
    h[8] = 64;
    h[9] = proto;
    h[12..16].copy_from_slice(&src.parse::<Ipv4Addr>().unwrap().octets());
    h[16..20].copy_from_slice(&dst.parse::<Ipv4Addr>().unwrap().octets());
    h[20..].copy_from_slice(options);
    let sum = super::checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

pub fn ipv4(src: &str, dst: &str, proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_opts(src, dst, proto, 0, &[], payload)
}

/// IPv6 header and payload (`next` is the first next-header value).
pub fn ipv6(src: &str, dst: &str, next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 40];
    h[0] = 0x60;
    h[4..6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    h[6] = next;
    h[7] = 64;
    h[8..24].copy_from_slice(&src.parse::<Ipv6Addr>().unwrap().octets());
    h[24..40].copy_from_slice(&dst.parse::<Ipv6Addr>().unwrap().octets());
    h.extend_from_slice(payload);
    h
}

/// A generic IPv6 extension header (hop-by-hop, routing, destination
/// options) of `8 * (units + 1)` bytes, then `rest`.
pub fn ext6(next: u8, units: u8, rest: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 8 * (units as usize + 1)];
    h[0] = next;
    h[1] = units;
    h.extend_from_slice(rest);
    h
}

/// An IPv6 fragment header: `offset` in 8-byte units, `more` fragments.
pub fn frag6(next: u8, offset: u16, more: bool, rest: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 8];
    h[0] = next;
    h[2..4].copy_from_slice(&((offset << 3) | more as u16).to_be_bytes());
    h[4..8].copy_from_slice(&0x1234u32.to_be_bytes());
    h.extend_from_slice(rest);
    h
}

pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(8 + payload.len());
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&dport.to_be_bytes());
    h.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(payload);
    h
}

pub fn tcp(sport: u16, dport: u16) -> Vec<u8> {
    let mut h = vec![0u8; 20];
    h[0..2].copy_from_slice(&sport.to_be_bytes());
    h[2..4].copy_from_slice(&dport.to_be_bytes());
    h[12] = 5 << 4;
    h[13] = 0x02; // SYN
    h
}

/// UDP over IPv4 in Ethernet: the workhorse.
pub fn udp4(src: &str, dst: &str, sport: u16, dport: u16) -> Vec<u8> {
    eth(&[], 0x0800, &ipv4(src, dst, 17, &udp(sport, dport, b"afxdp test")))
}

pub fn udp6(src: &str, dst: &str, sport: u16, dport: u16) -> Vec<u8> {
    eth(&[], 0x86dd, &ipv6(src, dst, 17, &udp(sport, dport, b"afxdp test")))
}

pub fn tcp4(src: &str, dst: &str, sport: u16, dport: u16) -> Vec<u8> {
    eth(&[], 0x0800, &ipv4(src, dst, 6, &tcp(sport, dport)))
}

/// An ARP request (who has 192.0.2.1, tell 192.0.2.2).
pub fn arp() -> Vec<u8> {
    let mut p = vec![0u8; 28];
    p[0..2].copy_from_slice(&1u16.to_be_bytes());
    p[2..4].copy_from_slice(&0x0800u16.to_be_bytes());
    p[4] = 6;
    p[5] = 4;
    p[6..8].copy_from_slice(&1u16.to_be_bytes());
    p[8..14].copy_from_slice(&SRC_MAC);
    p[14..18].copy_from_slice(&[192, 0, 2, 2]);
    p[24..28].copy_from_slice(&[192, 0, 2, 1]);
    let mut f = eth(&[], 0x0806, &p);
    f.resize(60, 0);
    f
}

/// ICMP echo request over IPv4.
pub fn icmp4(src: &str, dst: &str) -> Vec<u8> {
    eth(&[], 0x0800, &ipv4(src, dst, 1, &[8, 0, 0, 0, 0, 1, 0, 1]))
}

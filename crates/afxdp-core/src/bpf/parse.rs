//! The steering program's packet parser, again in Rust: for flow keys of
//! offloaded flows (which must equal what the program computes) and for
//! the traffic generator. Keep it in step with `parse()` in steer.bpf.c.

/// What the parser learns about a frame (ports in host byte order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// EtherType after the VLAN tags.
    pub ethertype: u16,
    /// The outer VLAN id, if tagged.
    pub vlan: Option<u16>,
    /// 4 or 6; 0 when not IP.
    pub ip_version: u8,
    /// L4 protocol (after IPv6 extension headers).
    pub proto: u8,
    /// Source and destination port, when the frame carries the L4 header of
    /// TCP, UDP, SCTP or UDP-Lite (a first or only fragment).
    pub ports: Option<(u16, u16)>,
    /// Offset of the L4 header, when known.
    pub l4_offset: Option<usize>,
    /// A header is truncated or malformed.
    pub malformed: bool,
    /// Source and destination address (IPv4 in the first 4 bytes; for ARP
    /// and RARP, the sender and target protocol addresses).
    pub src: [u8; 16],
    pub dst: [u8; 16],
}

const MAX_EXT_HEADERS: usize = 8;

pub fn l4_has_ports(proto: u8) -> bool {
    matches!(proto, 6 | 17 | 132 | 136)
}

impl Facts {
    pub fn parse(frame: &[u8]) -> Facts {
        let mut f = Facts::default();
        if parse_into(&mut f, frame).is_none() {
            f.malformed = true;
        }
        f
    }
}

fn be16(frame: &[u8], at: usize) -> Option<u16> {
    frame.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

/// None means "truncated or malformed here".
fn parse_into(f: &mut Facts, frame: &[u8]) -> Option<()> {
    f.ethertype = be16(frame, 12)?;
    let mut off = 14;
    for _ in 0..2 {
        if !matches!(f.ethertype, 0x8100 | 0x88a8 | 0x9100) {
            break;
        }
        let tci = be16(frame, off)?;
        f.vlan.get_or_insert(tci & 0x0fff);
        f.ethertype = be16(frame, off + 2)?;
        off += 4;
    }
    match f.ethertype {
        0x0800 => {
            let ip = frame.get(off..off + 20)?;
            let ihl = (ip[0] & 0x0f) as usize * 4;
            if ip[0] >> 4 != 4 || ihl < 20 {
                return None;
            }
            f.ip_version = 4;
            f.proto = ip[9];
            f.src[..4].copy_from_slice(&ip[12..16]);
            f.dst[..4].copy_from_slice(&ip[16..20]);
            if u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff != 0 {
                return Some(()); // not the first fragment: no L4 header
            }
            ports(f, frame, off + ihl)
        }
        0x86dd => {
            let ip = frame.get(off..off + 40)?;
            f.ip_version = 6;
            f.src.copy_from_slice(&ip[8..24]);
            f.dst.copy_from_slice(&ip[24..40]);
            let mut next = ip[6];
            off += 40;
            let mut walked = 0;
            while matches!(next, 0 | 43 | 44 | 60 | 51 | 135) {
                // As in the program: at most 8 headers, within 2 KiB.
                if walked == MAX_EXT_HEADERS || off > 0x7ff {
                    return None;
                }
                walked += 1;
                let ext = frame.get(off..off + 8)?;
                if next == 44 {
                    next = ext[0];
                    if u16::from_be_bytes([ext[2], ext[3]]) & 0xfff8 != 0 {
                        f.proto = next;
                        return Some(());
                    }
                    off += 8;
                    continue;
                }
                let len = if next == 51 { (ext[1] as usize + 2) * 4 } else { (ext[1] as usize + 1) * 8 };
                next = ext[0];
                off += len;
            }
            if off > 0x7ff {
                return None;
            }
            f.proto = next;
            ports(f, frame, off)
        }
        0x0806 | 0x8035 => {
            // ARP/RARP: the program reads the IPv4 addresses at offsets 14
            // and 24, so a shorter header is malformed there too.
            let arp = frame.get(off..off + 28)?;
            f.src[..4].copy_from_slice(&arp[14..18]);
            f.dst[..4].copy_from_slice(&arp[24..28]);
            Some(())
        }
        _ => Some(()),
    }
}

fn ports(f: &mut Facts, frame: &[u8], l4: usize) -> Option<()> {
    f.l4_offset = Some(l4);
    if l4_has_ports(f.proto) {
        f.ports = Some((be16(frame, l4)?, be16(frame, l4 + 2)?));
    }
    Some(())
}

//! rtnetlink queries about XDP attachments. Netlink (unlike sysfs) answers
//! for the network namespace of the calling thread, which is what callers
//! that entered a namespace with setns() expect.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::error::{Error, ErrorCode, Result};

// From <linux/netlink.h>, <linux/rtnetlink.h> and <linux/if_link.h>; written
// out because libc does not export all of them on every target.
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_DUMP: u16 = 0x300;
const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_SETLINK: u16 = 19;
const IFLA_IFNAME: u16 = 3;
const IFLA_XDP: u16 = 43;
const IFLA_EXT_MASK: u16 = 29;
const RTEXT_FILTER_SKIP_STATS: u32 = 1 << 3;
const IFLA_XDP_FD: u16 = 1;
const IFLA_XDP_ATTACHED: u16 = 2;
const IFLA_XDP_FLAGS: u16 = 3;
const IFLA_XDP_PROG_ID: u16 = 4;
const IFLA_XDP_DRV_PROG_ID: u16 = 5;
const IFLA_XDP_SKB_PROG_ID: u16 = 6;
const IFLA_XDP_HW_PROG_ID: u16 = 7;
const IFLA_XDP_EXPECTED_FD: u16 = 8;
const NLA_F_NESTED: u16 = 1 << 15;
const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | (1 << 14));
pub const XDP_FLAGS_REPLACE: u32 = 1 << 4;

const NLMSG_HDRLEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;

/// How an XDP program is attached (`IFLA_XDP_ATTACHED`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XdpAttach {
    Driver,
    Skb,
    Hardware,
}

/// The XDP programs on one interface, per mode.
#[derive(Clone, Debug, Default)]
pub struct LinkXdp {
    pub ifindex: u32,
    pub ifname: String,
    pub programs: Vec<(XdpAttach, u32)>,
}

struct Socket(OwnedFd);

impl Socket {
    fn open() -> Result<Socket> {
        // SAFETY: plain socket(2); the fd is owned below.
        let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
        if fd < 0 {
            return Err(Error::last_os("socket(AF_NETLINK)", "opening an rtnetlink socket"));
        }
        // SAFETY: fd is fresh and ours.
        let sock = Socket(unsafe { OwnedFd::from_raw_fd(fd) });
        // Ask for extended acks so errors carry the kernel's text.
        let one: libc::c_int = 1;
        // SAFETY: setsockopt reads an int from a live local; failure is harmless.
        unsafe {
            libc::setsockopt(
                sock.0.as_raw_fd(),
                libc::SOL_NETLINK,
                libc::NETLINK_EXT_ACK,
                (&one as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        Ok(sock)
    }

    fn send(&self, msg: &[u8]) -> Result<()> {
        // SAFETY: sockaddr_nl is plain data; zero is "the kernel".
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: msg and addr are live for the call and their lengths are passed.
        let n = unsafe {
            libc::sendto(
                self.0.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(Error::last_os("sendto(AF_NETLINK)", "sending an rtnetlink request"));
        }
        Ok(())
    }

    fn recv(&self, buf: &mut Vec<u8>) -> Result<usize> {
        buf.resize(64 * 1024, 0);
        // SAFETY: buf is a live, writable buffer of the length passed.
        let n = unsafe { libc::recv(self.0.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(Error::last_os("recv(AF_NETLINK)", "reading an rtnetlink reply"));
        }
        Ok(n as usize)
    }
}

pub(crate) fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// Builds one netlink request: header, ifinfomsg, attributes.
struct Request {
    buf: Vec<u8>,
    nests: Vec<usize>,
}

impl Request {
    fn new(kind: u16, flags: u16, ifindex: u32) -> Request {
        let mut buf = vec![0u8; NLMSG_HDRLEN + IFINFOMSG_LEN];
        buf[4..6].copy_from_slice(&kind.to_ne_bytes());
        buf[6..8].copy_from_slice(&flags.to_ne_bytes());
        buf[8..12].copy_from_slice(&1u32.to_ne_bytes()); // sequence number
                                                         // ifinfomsg: family AF_UNSPEC (0), then ifi_index at offset 4.
        buf[NLMSG_HDRLEN + 4..NLMSG_HDRLEN + 8].copy_from_slice(&(ifindex as i32).to_ne_bytes());
        Request { buf, nests: Vec::new() }
    }

    fn attr(&mut self, kind: u16, payload: &[u8]) -> &mut Self {
        let len = 4 + payload.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.buf.resize(align4(self.buf.len()), 0);
        self
    }

    fn begin_nest(&mut self, kind: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.attr(kind | NLA_F_NESTED, &[])
    }

    fn end_nest(&mut self) -> &mut Self {
        let start = self.nests.pop().expect("end_nest without begin_nest");
        let len = (self.buf.len() - start) as u16;
        self.buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
        self
    }

    fn finish(&mut self) -> &[u8] {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        &self.buf
    }
}

/// Iterates the attributes in `data` as (type without flags, payload).
pub(crate) fn attrs(mut data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        if data.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([data[0], data[1]]) as usize;
        let kind = u16::from_ne_bytes([data[2], data[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > data.len() {
            return None;
        }
        let payload = &data[4..len];
        data = &data[align4(len).min(data.len())..];
        Some((kind, payload))
    })
}

fn u32_of(payload: &[u8]) -> Option<u32> {
    payload.get(..4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// Parses one RTM_NEWLINK message body (after the netlink header).
fn parse_link(body: &[u8]) -> Option<LinkXdp> {
    if body.len() < IFINFOMSG_LEN {
        return None;
    }
    let ifindex = u32::from_ne_bytes([body[4], body[5], body[6], body[7]]);
    let mut link = LinkXdp { ifindex, ..Default::default() };
    for (kind, payload) in attrs(&body[IFINFOMSG_LEN..]) {
        match kind {
            IFLA_IFNAME => {
                let name = payload.split(|&b| b == 0).next().unwrap_or_default();
                link.ifname = String::from_utf8_lossy(name).into_owned();
            }
            IFLA_XDP => {
                let mut attached = 0u8;
                let mut single = 0u32;
                for (k, p) in attrs(payload) {
                    let id = u32_of(p).unwrap_or(0);
                    match k {
                        IFLA_XDP_ATTACHED => attached = p.first().copied().unwrap_or(0),
                        IFLA_XDP_PROG_ID => single = id,
                        IFLA_XDP_DRV_PROG_ID if id != 0 => link.programs.push((XdpAttach::Driver, id)),
                        IFLA_XDP_SKB_PROG_ID if id != 0 => link.programs.push((XdpAttach::Skb, id)),
                        IFLA_XDP_HW_PROG_ID if id != 0 => link.programs.push((XdpAttach::Hardware, id)),
                        _ => {}
                    }
                }
                // With one program the kernel reports IFLA_XDP_PROG_ID and the
                // mode in IFLA_XDP_ATTACHED (1 drv, 2 skb, 3 hw); the per-mode
                // ids only appear in "multi" (4) mode.
                let mode = match attached {
                    1 => Some(XdpAttach::Driver),
                    2 => Some(XdpAttach::Skb),
                    3 => Some(XdpAttach::Hardware),
                    _ => None,
                };
                if let (Some(mode), true) = (mode, single != 0) {
                    if !link.programs.iter().any(|&(_, id)| id == single) {
                        link.programs.push((mode, single));
                    }
                }
            }
            _ => {}
        }
    }
    Some(link)
}

/// Sends `req` and collects the link messages (or the ack) of the reply.
fn transact(req: &[u8], context: &str) -> Result<Vec<LinkXdp>> {
    let sock = Socket::open()?;
    sock.send(req)?;
    let mut links = Vec::new();
    let mut buf = Vec::new();
    let dump = u16::from_ne_bytes([req[6], req[7]]) & NLM_F_DUMP == NLM_F_DUMP;
    loop {
        let n = sock.recv(&mut buf)?;
        let mut data = &buf[..n];
        while data.len() >= NLMSG_HDRLEN {
            let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
            let kind = u16::from_ne_bytes([data[4], data[5]]);
            if len < NLMSG_HDRLEN || len > data.len() {
                break;
            }
            let body = &data[NLMSG_HDRLEN..len];
            match kind {
                NLMSG_DONE => return Ok(links),
                NLMSG_ERROR => {
                    let errno = body.get(..4).map(|b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]])).unwrap_or(0);
                    if errno == 0 {
                        return Ok(links); // the ack of a request with NLM_F_ACK
                    }
                    let errno = -errno;
                    if errno == libc::ENODEV {
                        return Err(Error::new(
                            ErrorCode::NoSuchInterface,
                            format!("{context}: no such interface in this network namespace"),
                        ));
                    }
                    return Err(Error::syscall_needing("rtnetlink", errno, "CAP_NET_ADMIN", context));
                }
                RTM_NEWLINK => links.extend(parse_link(body)),
                _ => {}
            }
            data = &data[align4(len).min(data.len())..];
        }
        if !dump && !links.is_empty() {
            return Ok(links);
        }
    }
}

/// The XDP programs attached to `ifindex` in the calling thread's netns.
pub fn link_xdp(ifindex: u32) -> Result<LinkXdp> {
    let mut req = Request::new(RTM_GETLINK, NLM_F_REQUEST, ifindex);
    req.attr(IFLA_EXT_MASK, &RTEXT_FILTER_SKIP_STATS.to_ne_bytes());
    let links = transact(req.finish(), &format!("querying interface {ifindex}"))?;
    links
        .into_iter()
        .next()
        .ok_or_else(|| Error::new(ErrorCode::Syscall, format!("rtnetlink gave no answer for interface {ifindex}")))
}

/// Every interface of the calling thread's netns with its XDP programs.
pub fn dump_links() -> Result<Vec<LinkXdp>> {
    let mut req = Request::new(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 0);
    req.attr(IFLA_EXT_MASK, &RTEXT_FILTER_SKIP_STATS.to_ne_bytes());
    transact(req.finish(), "listing interfaces")
}

/// Removes the program behind `expected_fd` from `ifindex` if (and only if)
/// it is still the one attached in `mode_flags` (XDP_FLAGS_*_MODE), so a
/// program someone else attached meanwhile is never touched.
pub fn detach_expected(ifindex: u32, expected_fd: i32, mode_flags: u32) -> Result<()> {
    let mut req = Request::new(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, ifindex);
    req.begin_nest(IFLA_XDP)
        .attr(IFLA_XDP_FD, &(-1i32).to_ne_bytes())
        .attr(IFLA_XDP_FLAGS, &(mode_flags | XDP_FLAGS_REPLACE).to_ne_bytes())
        .attr(IFLA_XDP_EXPECTED_FD, &expected_fd.to_ne_bytes())
        .end_nest();
    transact(req.finish(), &format!("detaching XDP from interface {ifindex}")).map(|_| ())
}

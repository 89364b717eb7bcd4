//! Link events from rtnetlink: an interface deleted (RTM_DELLINK) or its
//! state changed (RTM_NEWLINK: administratively up/down, carrier). The
//! daemon watches the interfaces it serves with this.
//!
//! The socket is non-blocking and joins the RTMGRP_LINK multicast group; a
//! link dump requested at open gives the current state of every interface
//! first, so the caller needs no second source for the initial state.
//! `drain` reads whatever arrived since the last call and never blocks, so a
//! caller can poll it from a timer without a thread of its own.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::bpf::netlink::{align4, attrs};
use crate::error::{Error, Result};

// From <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if.h>.
const NLMSG_HDRLEN: usize = 16;
const IFINFOMSG_LEN: usize = 16;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_GETLINK: u16 = 18;
const RTMGRP_LINK: u32 = 1;
const IFLA_IFNAME: u16 = 3;
const IFF_UP: u32 = 0x1;
const IFF_LOWER_UP: u32 = 0x1_0000;

/// One interface's state as a link message reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkEvent {
    pub ifindex: u32,
    pub ifname: String,
    /// RTM_DELLINK: the interface is gone.
    pub deleted: bool,
    /// IFF_UP: administratively up.
    pub admin_up: bool,
    /// IFF_LOWER_UP: the carrier is present.
    pub carrier: bool,
}

/// A subscription to link events in the calling thread's network namespace.
pub struct LinkWatch {
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl LinkWatch {
    /// Subscribe, and ask for a dump of every link (its replies come out of
    /// the first `drain` calls like any event).
    pub fn open() -> Result<LinkWatch> {
        // SAFETY: plain socket(2); the fd is owned right below.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(Error::last_os("socket(AF_NETLINK)", "opening an rtnetlink socket for link events"));
        }
        // SAFETY: fd is fresh and ours alone.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_groups = RTMGRP_LINK;
        // SAFETY: addr is a live sockaddr_nl and its size is passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(Error::last_os("bind(AF_NETLINK)", "joining the rtnetlink link group"));
        }
        let watch = LinkWatch { fd, buf: vec![0u8; 64 * 1024] };
        watch.request_dump()?;
        Ok(watch)
    }

    fn request_dump(&self) -> Result<()> {
        let mut req = [0u8; NLMSG_HDRLEN + IFINFOMSG_LEN];
        let len = req.len() as u32;
        req[0..4].copy_from_slice(&len.to_ne_bytes());
        req[4..6].copy_from_slice(&RTM_GETLINK.to_ne_bytes());
        req[6..8].copy_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
        req[8..12].copy_from_slice(&1u32.to_ne_bytes());
        // SAFETY: sockaddr_nl is plain data; zero is "the kernel".
        let mut to: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        to.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: req and to are live for the call and their lengths are passed.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                req.as_ptr().cast(),
                req.len(),
                0,
                (&to as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(Error::last_os("sendto(AF_NETLINK)", "asking rtnetlink for the links"));
        }
        Ok(())
    }

    /// The events that arrived since the last call (never blocks). When the
    /// kernel dropped events because the socket buffer overflowed (ENOBUFS),
    /// a fresh dump is requested, so the state converges again.
    pub fn drain(&mut self) -> Result<Vec<LinkEvent>> {
        let mut events = Vec::new();
        loop {
            // SAFETY: buf is a live, writable buffer of the length passed.
            let n = unsafe { libc::recv(self.fd.as_raw_fd(), self.buf.as_mut_ptr().cast(), self.buf.len(), 0) };
            if n < 0 {
                let errno = crate::error::last_errno();
                if errno == libc::EAGAIN || errno == libc::EINTR {
                    return Ok(events);
                }
                if errno == libc::ENOBUFS {
                    self.request_dump()?;
                    continue;
                }
                return Err(Error::syscall("recv(AF_NETLINK)", errno, "reading link events"));
            }
            if n == 0 {
                return Ok(events);
            }
            parse_messages(&self.buf[..n as usize], &mut events);
        }
    }
}

/// Appends the link messages in one datagram to `out`.
fn parse_messages(mut data: &[u8], out: &mut Vec<LinkEvent>) {
    while data.len() >= NLMSG_HDRLEN {
        let len = u32::from_ne_bytes([data[0], data[1], data[2], data[3]]) as usize;
        let kind = u16::from_ne_bytes([data[4], data[5]]);
        if len < NLMSG_HDRLEN || len > data.len() {
            return;
        }
        if kind == RTM_NEWLINK || kind == RTM_DELLINK {
            if let Some(event) = parse_link(&data[NLMSG_HDRLEN..len], kind == RTM_DELLINK) {
                out.push(event);
            }
        }
        // Anything else (NLMSG_DONE ending the dump, NLMSG_ERROR answering a
        // failed one) has nothing to report: the multicast events keep coming.
        data = &data[align4(len).min(data.len())..];
    }
}

fn parse_link(body: &[u8], deleted: bool) -> Option<LinkEvent> {
    if body.len() < IFINFOMSG_LEN {
        return None;
    }
    let ifindex = u32::from_ne_bytes([body[4], body[5], body[6], body[7]]);
    let flags = u32::from_ne_bytes([body[8], body[9], body[10], body[11]]);
    let mut ifname = String::new();
    for (kind, payload) in attrs(&body[IFINFOMSG_LEN..]) {
        if kind == IFLA_IFNAME {
            let name = payload.split(|&b| b == 0).next().unwrap_or_default();
            ifname = String::from_utf8_lossy(name).into_owned();
        }
    }
    Some(LinkEvent { ifindex, ifname, deleted, admin_up: flags & IFF_UP != 0, carrier: flags & IFF_LOWER_UP != 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u16, ifindex: u32, flags: u32, name: &str) -> Vec<u8> {
        let mut m = vec![0u8; NLMSG_HDRLEN + IFINFOMSG_LEN];
        m[4..6].copy_from_slice(&kind.to_ne_bytes());
        m[NLMSG_HDRLEN + 4..NLMSG_HDRLEN + 8].copy_from_slice(&ifindex.to_ne_bytes());
        m[NLMSG_HDRLEN + 8..NLMSG_HDRLEN + 12].copy_from_slice(&flags.to_ne_bytes());
        let mut payload = name.as_bytes().to_vec();
        payload.push(0);
        m.extend_from_slice(&((4 + payload.len()) as u16).to_ne_bytes());
        m.extend_from_slice(&IFLA_IFNAME.to_ne_bytes());
        m.extend_from_slice(&payload);
        m.resize(align4(m.len()), 0);
        let len = m.len() as u32;
        m[0..4].copy_from_slice(&len.to_ne_bytes());
        m
    }

    #[test]
    fn parses_new_and_del_link_messages_in_one_datagram() {
        let mut data = message(RTM_NEWLINK, 7, IFF_UP, "veth0");
        data.extend(message(RTM_DELLINK, 8, IFF_UP | IFF_LOWER_UP, "veth1"));
        let mut out = Vec::new();
        parse_messages(&data, &mut out);
        assert_eq!(
            out,
            vec![
                LinkEvent { ifindex: 7, ifname: "veth0".into(), deleted: false, admin_up: true, carrier: false },
                LinkEvent { ifindex: 8, ifname: "veth1".into(), deleted: true, admin_up: true, carrier: true },
            ]
        );
    }

    #[test]
    fn the_dump_at_open_reports_loopback() {
        let mut watch = LinkWatch::open().expect("netlink socket");
        let mut seen = Vec::new();
        for _ in 0..100 {
            seen.extend(watch.drain().expect("drain"));
            if seen.iter().any(|e| e.ifname == "lo") {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("no 'lo' in {seen:?}");
    }
}

//! IPv4/IPv6 prefixes ("198.51.100.0/24", "2001:db8::/32", or a plain
//! address for a single host), as the rules and the drop list take them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::error::{Error, ErrorCode};

/// A network prefix. Bits beyond `len` are always zero: parsing clears
/// them, so "198.51.100.7/24" is 198.51.100.0/24.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Prefix {
    addr: IpAddr,
    len: u8,
}

impl Prefix {
    /// `addr/len`, with the host bits cleared. None if `len` is too long.
    pub fn new(addr: IpAddr, len: u8) -> Option<Prefix> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if len > max {
            return None;
        }
        let masked = match addr {
            IpAddr::V4(a) => {
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask))
            }
            IpAddr::V6(a) => {
                let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
                IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask))
            }
        };
        Some(Prefix { addr: masked, len })
    }

    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    pub fn len(&self) -> u8 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// Whether every address of `other` is in `self`.
    pub fn contains(&self, other: &Prefix) -> bool {
        if self.is_ipv4() != other.is_ipv4() || other.len < self.len {
            return false;
        }
        Prefix::new(other.addr, self.len).is_some_and(|p| p.addr == self.addr)
    }

    /// The address bytes in network order (4 or 16 of them).
    pub fn octets(&self) -> Vec<u8> {
        match self.addr {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        }
    }
}

impl FromStr for Prefix {
    type Err = Error;

    fn from_str(s: &str) -> Result<Prefix, Error> {
        let bad = |why: &str| Error::new(ErrorCode::InvalidOption, format!("bad prefix {s:?}: {why}"));
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| bad("not an IPv4 or IPv6 address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            Some(l) => l.trim().parse::<u8>().map_err(|_| bad("the length is not a number"))?,
            None => max,
        };
        Prefix::new(addr, len).ok_or_else(|| bad(&format!("the length is above {max}")))
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::Prefix;

    #[test]
    fn parses_and_normalises() {
        let p: Prefix = "198.51.100.7/24".parse().unwrap();
        assert_eq!(p.to_string(), "198.51.100.0/24");
        assert_eq!("192.0.2.1".parse::<Prefix>().unwrap().to_string(), "192.0.2.1/32");
        assert_eq!("2001:db8::1/32".parse::<Prefix>().unwrap().to_string(), "2001:db8::/32");
        assert_eq!("0.0.0.0/0".parse::<Prefix>().unwrap().len(), 0);
        assert!("192.0.2.0/33".parse::<Prefix>().is_err());
        assert!("2001:db8::/129".parse::<Prefix>().is_err());
        assert!("nope".parse::<Prefix>().is_err());
        assert!("192.0.2.0/x".parse::<Prefix>().is_err());
    }

    #[test]
    fn containment() {
        let net: Prefix = "198.51.100.0/24".parse().unwrap();
        assert!(net.contains(&"198.51.100.9".parse().unwrap()));
        assert!(net.contains(&net));
        assert!(!net.contains(&"198.51.0.0/16".parse().unwrap()));
        assert!(!net.contains(&"2001:db8::/32".parse().unwrap()));
        assert!("0.0.0.0/0".parse::<Prefix>().unwrap().contains(&net));
    }
}

//! Where a request came from, as the per-source limits count it. An IPv4
//! address is one source. An IPv6 address counts as its /64: every home
//! line and phone gets a whole /64, so keying on the full address would
//! give anyone 2^64 sources.

use std::net::{IpAddr, Ipv6Addr};

/// The key a per-source limit counts `address` under: the IPv4 address,
/// or the IPv6 address's /64 (`2001:db8:1:2::/64`). An IPv4 address
/// written as IPv6 (`::ffff:192.0.2.1`) is the IPv4 address. Anything that
/// is not an address (API Gateway always gives one) is kept as written.
pub fn source_key(address: &str) -> String {
    match address.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{}/64", Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0))
            }
        },
        Err(_) => address.trim().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_address_counts_as_its_slash_64() {
        assert_eq!(source_key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(
            source_key("2001:0db8:0001:0002:ffff:eeee:dddd:cccc"),
            "2001:db8:1:2::/64"
        );
        assert_ne!(source_key("2001:db8:1:3::1"), source_key("2001:db8:1:2::1"));
        assert_eq!(source_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(source_key("192.0.2.7"), "192.0.2.7");
        assert_ne!(source_key("192.0.2.8"), source_key("192.0.2.7"));
        assert_eq!(source_key(" test "), "test");
    }
}

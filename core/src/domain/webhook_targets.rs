//! Where webhooks may go (SSRF protection): an endpoint's URL is `http` or
//! `https` with a host and no credentials, and every address it resolves
//! to must be public: loopback, private (RFC 1918, unique-local), link-local
//! (including cloud metadata at 169.254.169.254), shared (CGNAT),
//! unspecified, multicast, broadcast and documentation ranges are refused
//! unless an operator lists their network in `webhook_allowed_networks`.
//! The check runs when the URL is saved (literal addresses) and again on
//! every delivery, on the addresses actually connected to (the resolver
//! of the sender), so a name that later resolves inward is refused too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use url::Url;

use super::FieldError;
use crate::wire::{ErrorCode, MAX_WEBHOOK_URL_BYTES};

/// The networks an operator opened on top of the public internet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    allowed: Vec<IpNet>,
}

impl TargetPolicy {
    /// From the setting: CIDR networks separated by commas.
    pub fn parse(setting: &str) -> Result<Self, String> {
        let allowed = setting
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<IpNet>()
                    .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{s:?} is not a network (CIDR) or an address"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { allowed })
    }

    /// Whether a delivery may connect to `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        is_public(ip) || self.allowed.iter().any(|net| net.contains(&ip))
    }

    /// The URL an endpoint may have: refused with `invalid_webhook_url`
    /// (not a URL, another scheme, credentials, too long) or
    /// `webhook_target_refused` (a literal address the policy refuses;
    /// names are checked at each delivery).
    pub fn check_url(&self, raw: &str) -> Result<Url, FieldError> {
        let raw = raw.trim();
        let bad = |why: &str| FieldError::new("url", ErrorCode::InvalidWebhookUrl, why);
        if raw.len() > MAX_WEBHOOK_URL_BYTES {
            return Err(bad(&format!("at most {MAX_WEBHOOK_URL_BYTES} bytes")));
        }
        let url = Url::parse(raw).map_err(|_| bad("not an absolute URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("credentials in the URL are not allowed"));
        }
        let literal = match url.host() {
            None => return Err(bad("the URL needs a host")),
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) if name.eq_ignore_ascii_case("localhost") => {
                Some(IpAddr::V4(Ipv4Addr::LOCALHOST))
            }
            Some(url::Host::Domain(_)) => None,
        };
        if let Some(ip) = literal
            && !self.allows(ip)
        {
            return Err(FieldError::new(
                "url",
                ErrorCode::WebhookTargetRefused,
                format!("{ip} is not a public address"),
            ));
        }
        Ok(url)
    }
}

/// An IPv4 address mapped into IPv6 is judged as the IPv4 one.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        // Shared address space (CGNAT), 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // Benchmarking, 198.18.0.0/15; reserved, 240.0.0.0/4.
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local()
        || ip.is_unicast_link_local()
        // Documentation, 2001:db8::/32.
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        // NAT64 and 6to4 can reach IPv4 addresses inside.
        || first == 0x0064
        || first == 0x2002)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(policy: &TargetPolicy, url: &str) -> ErrorCode {
        policy.check_url(url).unwrap_err().code
    }

    #[test]
    fn inward_addresses_are_refused_unless_allowed() {
        let policy = TargetPolicy::default();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::7f00:1",
        ] {
            assert!(!policy.allows(ip.parse().unwrap()), "{ip}");
        }
        assert!(policy.allows("93.184.215.14".parse().unwrap()));
        assert!(policy.allows("2606:4700::1111".parse().unwrap()));
        let opened = TargetPolicy::parse("127.0.0.0/8, 10.0.0.5").unwrap();
        assert!(opened.allows("127.0.0.1".parse().unwrap()));
        assert!(opened.allows("10.0.0.5".parse().unwrap()));
        assert!(!opened.allows("10.0.0.6".parse().unwrap()));
        assert!(TargetPolicy::parse("nonsense").is_err());
    }

    #[test]
    fn urls_are_checked_for_scheme_credentials_and_literal_addresses() {
        let policy = TargetPolicy::default();
        assert!(
            policy
                .check_url("https://crm.example.com/hooks?x=1")
                .is_ok()
        );
        assert_eq!(
            refused(&policy, "ftp://crm.example.com/"),
            ErrorCode::InvalidWebhookUrl
        );
        assert_eq!(refused(&policy, "not a url"), ErrorCode::InvalidWebhookUrl);
        assert_eq!(
            refused(&policy, "https://u:p@crm.example.com/"),
            ErrorCode::InvalidWebhookUrl
        );
        assert_eq!(
            refused(&policy, "http://127.0.0.1:9/"),
            ErrorCode::WebhookTargetRefused
        );
        assert_eq!(
            refused(&policy, "http://localhost/"),
            ErrorCode::WebhookTargetRefused
        );
        assert_eq!(
            refused(&policy, "http://[::1]/"),
            ErrorCode::WebhookTargetRefused
        );
        assert_eq!(
            refused(&policy, "http://169.254.169.254/latest"),
            ErrorCode::WebhookTargetRefused
        );
        let long = format!("https://e.com/{}", "a".repeat(MAX_WEBHOOK_URL_BYTES));
        assert_eq!(refused(&policy, &long), ErrorCode::InvalidWebhookUrl);
    }
}

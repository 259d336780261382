//! Name resolution without a thread per request.
//!
//! ureq resolves the host on every request, and whenever the request has a
//! timeout it does so on a freshly spawned thread, even for `127.0.0.1`.
//! Nacos servers are usually given as IP addresses: those need no lookup at
//! all, so this resolver answers them directly and hands host names to
//! ureq's own resolver.

use std::net::{IpAddr, SocketAddr};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// IP literals directly; host names through [`DefaultResolver`].
#[derive(Debug, Default)]
pub(crate) struct IpFirstResolver(DefaultResolver);

impl Resolver for IpFirstResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        if let Some(addr) = literal(uri) {
            let mut out = self.empty();
            out.push(addr);
            return Ok(out);
        }
        self.0.resolve(uri, config, timeout)
    }
}

/// The socket address of a URI whose host is an IP literal.
fn literal(uri: &Uri) -> Option<SocketAddr> {
    let host = uri.host()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let ip: IpAddr = host.parse().ok()?;
    let port = uri.port_u16().or(match uri.scheme_str()? {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    })?;
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_resolve_without_lookup() {
        let u: Uri = "http://127.0.0.1:8848/nacos".parse().unwrap();
        assert_eq!(literal(&u), Some("127.0.0.1:8848".parse().unwrap()));
        let u: Uri = "https://[::1]/x".parse().unwrap();
        assert_eq!(literal(&u), Some("[::1]:443".parse().unwrap()));
        let u: Uri = "http://nacos.local:8848/".parse().unwrap();
        assert_eq!(literal(&u), None);
    }
}

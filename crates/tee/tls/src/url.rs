//! The URL subset `https_get` accepts: `https://host[:port][/path]`.

use rustls::pki_types::ServerName;

/// Longest URL accepted, in bytes.
pub const MAX_URL: usize = 2048;
/// Longest host name accepted (the DNS limit).
const MAX_HOST: usize = 253;

/// Why a URL was refused. All of these are `HTTPS_FAILURE`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("URL of {len} bytes exceeds the limit of {max}")]
    TooLong { len: usize, max: usize },
    #[error("only https:// URLs are accepted")]
    NotHttps,
    #[error("URL has no host")]
    MissingHost,
    #[error("URLs with user information are not accepted")]
    UserInfo,
    #[error("host is not a DNS name or an IPv4 address")]
    BadHost,
    #[error("port is not a number between 1 and 65535")]
    BadPort,
    #[error("path contains a character outside printable ASCII, or a fragment")]
    BadPath,
}

/// A parsed `https://` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpsUrl {
    /// DNS name or IPv4 address, as written (used for SNI, certificate matching and `Host`).
    pub host: String,
    /// 443 unless given.
    pub port: u16,
    /// Path and query, starting with `/` (`/` if the URL had none).
    pub path: String,
}

impl HttpsUrl {
    /// The `Host` header value: the host, with the port when it is not 443.
    pub fn host_header(&self) -> String {
        if self.port == 443 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The name the server certificate must match (DNS name or IP address).
    pub fn server_name(&self) -> Result<ServerName<'static>, UrlError> {
        ServerName::try_from(self.host.clone()).map_err(|_| UrlError::BadHost)
    }
}

/// Parses `https://host[:port][/path]`. The scheme is case-insensitive; user information,
/// IPv6 literals, fragments and any byte outside printable ASCII are refused.
pub fn parse_url(url: &str) -> Result<HttpsUrl, UrlError> {
    if url.len() > MAX_URL {
        return Err(UrlError::TooLong {
            len: url.len(),
            max: MAX_URL,
        });
    }
    let scheme = url.get(..8).ok_or(UrlError::NotHttps)?;
    if !scheme.eq_ignore_ascii_case("https://") {
        return Err(UrlError::NotHttps);
    }
    let rest = &url[8..];
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.contains('@') {
        return Err(UrlError::UserInfo);
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, parse_port(port)?),
        None => (authority, 443),
    };
    if host.is_empty() {
        return Err(UrlError::MissingHost);
    }
    check_host(host)?;
    if !path
        .bytes()
        .all(|b| (0x21..=0x7e).contains(&b) && b != b'#')
    {
        return Err(UrlError::BadPath);
    }
    let parsed = HttpsUrl {
        host: host.to_owned(),
        port,
        path: path.to_owned(),
    };
    parsed.server_name()?;
    Ok(parsed)
}

fn parse_port(port: &str) -> Result<u16, UrlError> {
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::BadPort);
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(UrlError::BadPort),
        Ok(p) => Ok(p),
    }
}

/// A host is dot-separated labels of ASCII letters, digits and hyphens (which covers IPv4
/// literals), none empty, none starting or ending with a hyphen.
fn check_host(host: &str) -> Result<(), UrlError> {
    if host.len() > MAX_HOST {
        return Err(UrlError::BadHost);
    }
    for label in host.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(UrlError::BadHost);
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_https_subset() {
        let u = parse_url("https://api.example.com/v1/price?sym=X").unwrap();
        assert_eq!(
            u,
            HttpsUrl {
                host: "api.example.com".into(),
                port: 443,
                path: "/v1/price?sym=X".into()
            }
        );
        assert_eq!(u.host_header(), "api.example.com");
        let u = parse_url("HTTPS://localhost:8443").unwrap();
        assert_eq!((u.port, u.path.as_str()), (8443, "/"));
        assert_eq!(u.host_header(), "localhost:8443");
        let u = parse_url("https://127.0.0.1:1/x").unwrap();
        assert!(matches!(u.server_name().unwrap(), ServerName::IpAddress(_)));
    }

    #[test]
    fn refuses_everything_else() {
        let cases: &[(&str, UrlError)] = &[
            ("http://example.com/", UrlError::NotHttps),
            ("ftp://x", UrlError::NotHttps),
            ("https:/", UrlError::NotHttps),
            ("https://", UrlError::MissingHost),
            ("https:///path", UrlError::MissingHost),
            ("https://user:pw@example.com/", UrlError::UserInfo),
            ("https://exa mple.com/", UrlError::BadHost),
            ("https://[::1]:443/", UrlError::BadHost),
            ("https://-bad.com/", UrlError::BadHost),
            ("https://a..b/", UrlError::BadHost),
            ("https://example.com?x=1", UrlError::BadHost),
            ("https://example.com:0/", UrlError::BadPort),
            ("https://example.com:65536/", UrlError::BadPort),
            ("https://example.com:/", UrlError::BadPort),
            ("https://example.com:+80/", UrlError::BadPort),
            ("https://example.com/a b", UrlError::BadPath),
            ("https://example.com/a\r\nX-Injected: 1", UrlError::BadPath),
            ("https://example.com/a#frag", UrlError::BadPath),
            ("https://example.com/é", UrlError::BadPath),
        ];
        for (url, expected) in cases {
            assert_eq!(parse_url(url).as_ref(), Err(expected), "{url:?}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL));
        assert!(matches!(parse_url(&long), Err(UrlError::TooLong { .. })));
    }
}

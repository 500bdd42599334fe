//! The in-enclave HTTP/1.1 response parser of `arcanum-enclave-tls` (fed the decrypted bytes of
//! a server the enclave does not control) and `parse_url` (URLs come from contracts).
//!
//! Input: limits selector, close selector, two split points (u16 each), then the response
//! bytes, which are also parsed as a URL when they are UTF-8. Invariants: never panic; the
//! verdict is the same whether the bytes arrive whole, split at the two fuzzer-chosen points,
//! or (when short) one byte at a time; a body never exceeds the limit; an accepted URL is
//! within bounds, has a `/`-path, a non-zero port and a host, and its canonical form parses
//! back to the same URL.

#![no_main]

use arcanum_enclave_tls::{FetchLimits, MAX_URL, fuzz_parse_response, parse_url};
use libfuzzer_sys::fuzz_target;

const BODY_LIMITS: [usize; 4] = [0, 7, 1024, 64 * 1024];
const HEAD_LIMITS: [usize; 4] = [16, 64, 1024, 16 * 1024];

fuzz_target!(|data: &[u8]| {
    if data.len() < 6 {
        return;
    }
    let (head, bytes) = data.split_at(6);
    let limits = FetchLimits {
        max_body: BODY_LIMITS[usize::from(head[0] & 3)],
        max_head: HEAD_LIMITS[usize::from((head[0] >> 2) & 3)],
        ..FetchLimits::default()
    };
    let notified = head[1] & 1 == 1;
    let mut a = usize::from(u16::from_le_bytes([head[2], head[3]])) % (bytes.len() + 1);
    let mut b = usize::from(u16::from_le_bytes([head[4], head[5]])) % (bytes.len() + 1);
    if a > b {
        std::mem::swap(&mut a, &mut b);
    }
    let whole = fuzz_parse_response(&[bytes], &limits, notified);
    let split = fuzz_parse_response(&[&bytes[..a], &bytes[a..b], &bytes[b..]], &limits, notified);
    assert_eq!(
        format!("{whole:?}"),
        format!("{split:?}"),
        "split at {a} and {b}"
    );
    if bytes.len() <= 512 {
        let single: Vec<&[u8]> = bytes.chunks(1).collect();
        let dribbled = fuzz_parse_response(&single, &limits, notified);
        assert_eq!(
            format!("{whole:?}"),
            format!("{dribbled:?}"),
            "byte by byte"
        );
    }
    if let Ok(body) = &whole {
        assert!(body.len() <= limits.max_body);
        assert!(body.len() <= bytes.len());
    }

    if let Ok(text) = std::str::from_utf8(bytes)
        && let Ok(url) = parse_url(text)
    {
        assert!(text.len() <= MAX_URL);
        assert!(!url.host.is_empty() && url.port != 0 && url.path.starts_with('/'));
        let canonical = format!("https://{}:{}{}", url.host, url.port, url.path);
        let again = parse_url(&canonical)
            .unwrap_or_else(|e| panic!("{canonical:?} (from {text:?}) does not parse: {e}"));
        assert_eq!(again, url, "{text:?}");
        assert!(url.server_name().is_ok());
    }
});

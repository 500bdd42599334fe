//! HTTP/1.1: the request `https_get` sends and an incremental, bounded parser of the response.
//!
//! The parser is fed decrypted bytes as they arrive. It keeps only the unparsed tail and the
//! body, checks every bound as soon as it can (head size, header count, body size, chunk-size
//! line), fails as soon as the status is known not to be 200, and says when the response is
//! complete so the caller can stop reading without waiting for the connection to close.

use crate::{FetchLimits, TlsError};

/// Most header lines in the response head (and in the chunked trailer).
const MAX_HEADERS: usize = 100;
/// Longest chunk-size line (size, extensions and CRLF).
const MAX_CHUNK_LINE: usize = 1024;

/// The request line and headers of a GET for `path` on `host_header`.
pub(crate) fn request(host_header: &str, path: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: arcanum-enclave\r\n\
         Accept: */*\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// How the body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading the status line and headers.
    Head,
    /// `Content-Length`: this many body bytes still to come.
    Fixed { remaining: usize },
    /// Chunked: expecting a chunk-size line.
    ChunkSize,
    /// Chunked: this many bytes of the current chunk still to come.
    ChunkData { remaining: usize },
    /// Chunked: expecting the CRLF after a chunk.
    ChunkEnd,
    /// Chunked: reading trailer lines (this many bytes so far) up to the empty line.
    Trailer { bytes: usize, lines: usize },
    /// Neither: the body runs until the connection closes.
    UntilClose,
    /// The response is complete.
    Done,
}

/// How the connection ended, as far as the TLS layer can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Close {
    /// The server sent `close_notify`: everything before it is authentic and complete.
    Notified,
    /// The transport ended without `close_notify`: the end may be a truncation.
    Unclean,
}

/// Incremental parser of one HTTP/1.1 response.
#[derive(Debug)]
pub(crate) struct ResponseParser {
    state: State,
    /// Received, not yet parsed bytes.
    pending: Vec<u8>,
    body: Vec<u8>,
    max_head: usize,
    max_body: usize,
    /// Leading bytes of `pending` already searched for the current line terminator, so a
    /// response dribbled in byte by byte is not rescanned from the start each time.
    scanned: usize,
}

impl ResponseParser {
    pub(crate) fn new(limits: &FetchLimits) -> ResponseParser {
        ResponseParser {
            state: State::Head,
            pending: Vec::new(),
            body: Vec::new(),
            max_head: limits.max_head,
            max_body: limits.max_body,
            scanned: 0,
        }
    }

    /// Whether the response is complete (more bytes are ignored).
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Consumes decrypted bytes.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Result<(), TlsError> {
        if self.is_done() {
            return Ok(());
        }
        self.pending.extend_from_slice(bytes);
        let mut pos = 0;
        let result = self.advance(&mut pos);
        self.pending.drain(..pos.min(self.pending.len()));
        result
    }

    /// The body, once the connection has ended in the way `close`.
    pub(crate) fn finish(self, close: Close) -> Result<Vec<u8>, TlsError> {
        match (self.state, close) {
            (State::Done, _) | (State::UntilClose, Close::Notified) => Ok(self.body),
            // Without close_notify the end of the stream is not authenticated: the host may
            // have cut it.
            (_, Close::Unclean) => Err(TlsError::Truncated),
            (_, Close::Notified) => Err(TlsError::Incomplete),
        }
    }

    fn advance(&mut self, pos: &mut usize) -> Result<(), TlsError> {
        loop {
            let rest = &self.pending[*pos..];
            match self.state {
                State::Done => return Ok(()),
                State::Head => {
                    let Some(end) = find_from(rest, b"\r\n\r\n", self.scanned) else {
                        self.scanned = rest.len();
                        if rest.len() > self.max_head {
                            return Err(TlsError::HeadTooLarge { max: self.max_head });
                        }
                        return Ok(());
                    };
                    if end + 4 > self.max_head {
                        return Err(TlsError::HeadTooLarge { max: self.max_head });
                    }
                    let framing = parse_head(&rest[..end], self.max_body)?;
                    *pos += end + 4;
                    self.scanned = 0;
                    self.state = match framing {
                        Framing::Chunked => State::ChunkSize,
                        Framing::Length(0) => State::Done,
                        Framing::Length(n) => State::Fixed { remaining: n },
                        Framing::Close => State::UntilClose,
                    };
                }
                State::Fixed { remaining } | State::ChunkData { remaining } => {
                    if rest.is_empty() {
                        return Ok(());
                    }
                    let take = remaining.min(rest.len());
                    self.push_body(take, pos)?;
                    let left = remaining - take;
                    self.state = match (self.state, left) {
                        (State::Fixed { .. }, 0) => State::Done,
                        (State::Fixed { .. }, n) => State::Fixed { remaining: n },
                        (_, 0) => State::ChunkEnd,
                        (_, n) => State::ChunkData { remaining: n },
                    };
                }
                State::UntilClose => {
                    let take = rest.len();
                    if take == 0 {
                        return Ok(());
                    }
                    self.push_body(take, pos)?;
                }
                State::ChunkSize => {
                    let Some(end) = find_from(rest, b"\r\n", self.scanned) else {
                        self.scanned = rest.len();
                        if rest.len() > MAX_CHUNK_LINE {
                            return Err(TlsError::Malformed("chunk-size line too long"));
                        }
                        return Ok(());
                    };
                    if end + 2 > MAX_CHUNK_LINE {
                        return Err(TlsError::Malformed("chunk-size line too long"));
                    }
                    let size = parse_chunk_size(&rest[..end])?;
                    *pos += end + 2;
                    self.scanned = 0;
                    if size > self.max_body.saturating_sub(self.body.len()) {
                        return Err(TlsError::BodyTooLarge { max: self.max_body });
                    }
                    self.state = if size == 0 {
                        State::Trailer { bytes: 0, lines: 0 }
                    } else {
                        State::ChunkData { remaining: size }
                    };
                }
                State::ChunkEnd => {
                    if rest.len() < 2 {
                        return Ok(());
                    }
                    if &rest[..2] != b"\r\n" {
                        return Err(TlsError::Malformed("chunk not followed by CRLF"));
                    }
                    *pos += 2;
                    self.state = State::ChunkSize;
                }
                State::Trailer { bytes, lines } => {
                    let Some(end) = find_from(rest, b"\r\n", self.scanned) else {
                        self.scanned = rest.len();
                        if bytes.saturating_add(rest.len()) > self.max_head {
                            return Err(TlsError::HeadTooLarge { max: self.max_head });
                        }
                        return Ok(());
                    };
                    *pos += end + 2;
                    self.scanned = 0;
                    let bytes = bytes.saturating_add(end + 2);
                    if bytes > self.max_head || lines >= MAX_HEADERS {
                        return Err(TlsError::HeadTooLarge { max: self.max_head });
                    }
                    self.state = if end == 0 {
                        State::Done
                    } else {
                        State::Trailer {
                            bytes,
                            lines: lines + 1,
                        }
                    };
                }
            }
        }
    }

    /// Moves `take` pending bytes at `*pos` to the body, within the body limit.
    fn push_body(&mut self, take: usize, pos: &mut usize) -> Result<(), TlsError> {
        if take > self.max_body.saturating_sub(self.body.len()) {
            return Err(TlsError::BodyTooLarge { max: self.max_body });
        }
        self.body
            .extend_from_slice(&self.pending[*pos..*pos + take]);
        *pos += take;
        Ok(())
    }
}

/// How the head says the body is delimited.
#[derive(Debug, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
    Close,
}

/// The first occurrence of `needle` in `haystack`, given that none starts before
/// `scanned - (needle.len() - 1)`.
fn find_from(haystack: &[u8], needle: &[u8], scanned: usize) -> Option<usize> {
    let from = scanned.saturating_sub(needle.len() - 1).min(haystack.len());
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// Parses the status line and headers (without the final empty line). Fails with the status
/// unless it is 200.
fn parse_head(head: &[u8], max_body: usize) -> Result<Framing, TlsError> {
    let head = std::str::from_utf8(head).map_err(|_| TlsError::Malformed("head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = parse_status_line(status_line)?;
    if status != 200 {
        return Err(TlsError::Status(status));
    }
    let mut length: Option<usize> = None;
    let mut chunked = false;
    for (count, line) in lines.enumerate() {
        if count >= MAX_HEADERS {
            return Err(TlsError::Malformed("too many headers"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(TlsError::Malformed("header line without a colon"))?;
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            // Also refuses obsolete line folding (a line starting with whitespace).
            return Err(TlsError::Malformed("bad header name"));
        }
        let value = value.trim_matches([' ', '\t']);
        if name.eq_ignore_ascii_case("content-length") {
            if value.is_empty() || value.len() > 19 || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(TlsError::Malformed("bad Content-Length"));
            }
            let n: u64 = value
                .parse()
                .map_err(|_| TlsError::Malformed("bad Content-Length"))?;
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            if length.is_some_and(|l| l != n) {
                return Err(TlsError::Malformed("conflicting Content-Length headers"));
            }
            if n > max_body {
                return Err(TlsError::BodyTooLarge { max: max_body });
            }
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            if !value.eq_ignore_ascii_case("chunked") || chunked {
                return Err(TlsError::Malformed("unsupported Transfer-Encoding"));
            }
            chunked = true;
        }
    }
    match (length, chunked) {
        // Both at once is the classic request-smuggling ambiguity: refuse it.
        (Some(_), true) => Err(TlsError::Malformed(
            "both Content-Length and Transfer-Encoding",
        )),
        (Some(n), false) => Ok(Framing::Length(n)),
        (None, true) => Ok(Framing::Chunked),
        (None, false) => Ok(Framing::Close),
    }
}

/// `HTTP/1.1 200 OK` (or `HTTP/1.0`): the three-digit status.
fn parse_status_line(line: &str) -> Result<u16, TlsError> {
    let rest = line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))
        .ok_or(TlsError::Malformed("bad status line"))?;
    let code = rest
        .get(..3)
        .ok_or(TlsError::Malformed("bad status line"))?;
    let after = rest.as_bytes().get(3);
    if !code.bytes().all(|b| b.is_ascii_digit()) || !matches!(after, None | Some(b' ')) {
        return Err(TlsError::Malformed("bad status line"));
    }
    code.parse()
        .map_err(|_| TlsError::Malformed("bad status line"))
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A chunk-size line: hex digits, optionally followed by `;extensions`.
fn parse_chunk_size(line: &[u8]) -> Result<usize, TlsError> {
    let digits_end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let rest = &line[digits_end..];
    if digits_end == 0 || !(rest.is_empty() || rest.starts_with(b";") || rest.starts_with(b" ")) {
        return Err(TlsError::Malformed("bad chunk size"));
    }
    if digits_end > 8 {
        // More than 4 GiB: larger than any body limit.
        return Err(TlsError::Malformed("chunk size too large"));
    }
    let digits = std::str::from_utf8(&line[..digits_end])
        .map_err(|_| TlsError::Malformed("bad chunk size"))?;
    let size =
        u64::from_str_radix(digits, 16).map_err(|_| TlsError::Malformed("bad chunk size"))?;
    Ok(usize::try_from(size).unwrap_or(usize::MAX))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn limits(max_body: usize) -> FetchLimits {
        FetchLimits {
            max_body,
            ..FetchLimits::default()
        }
    }

    /// Feeds `bytes` one byte at a time and in one piece; both must agree.
    fn parse(bytes: &[u8], max_body: usize, close: Close) -> Result<Vec<u8>, TlsError> {
        let mut whole = ResponseParser::new(&limits(max_body));
        let whole = whole.feed(bytes).and_then(|()| whole.finish(close));
        let mut split = ResponseParser::new(&limits(max_body));
        let mut split_result = Ok(());
        for b in bytes {
            split_result = split.feed(&[*b]);
            if split_result.is_err() {
                break;
            }
        }
        let split = split_result.and_then(|()| split.finish(close));
        assert_eq!(format!("{whole:?}"), format!("{split:?}"));
        whole
    }

    #[test]
    fn content_length_body() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello";
        assert_eq!(parse(r, 100, Close::Unclean).unwrap(), b"hello");
        let mut p = ResponseParser::new(&limits(100));
        p.feed(r).unwrap();
        assert!(p.is_done());
        let short = b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello";
        assert!(matches!(
            parse(short, 100, Close::Notified),
            Err(TlsError::Incomplete)
        ));
        assert!(matches!(
            parse(short, 100, Close::Unclean),
            Err(TlsError::Truncated)
        ));
        let empty = b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(parse(empty, 100, Close::Unclean).unwrap(), b"");
    }

    #[test]
    fn chunked_body_with_extensions_and_trailer() {
        let r = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                  5;ext=1\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n";
        assert_eq!(parse(r, 100, Close::Unclean).unwrap(), b"hello 0123456789");
        let bad = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX";
        assert!(matches!(
            parse(bad, 100, Close::Notified),
            Err(TlsError::Malformed(_))
        ));
        let big = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n";
        assert!(matches!(
            parse(big, 10, Close::Notified),
            Err(TlsError::BodyTooLarge { max: 10 })
        ));
        let huge = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffff\r\n";
        assert!(matches!(
            parse(huge, 10, Close::Notified),
            Err(TlsError::Malformed(_))
        ));
    }

    #[test]
    fn body_until_close_needs_close_notify() {
        let r = b"HTTP/1.1 200 OK\r\nServer: s\r\n\r\nabc";
        assert_eq!(parse(r, 100, Close::Notified).unwrap(), b"abc");
        assert!(matches!(
            parse(r, 100, Close::Unclean),
            Err(TlsError::Truncated)
        ));
        assert!(matches!(
            parse(r, 2, Close::Notified),
            Err(TlsError::BodyTooLarge { max: 2 })
        ));
    }

    #[test]
    fn refuses_bad_heads() {
        let cases: &[&[u8]] = &[
            b"HTTP/2 200 OK\r\n\r\n",
            b"HTTP/1.1 20 OK\r\n\r\n",
            b"HTTP/1.1 2000 OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
        ];
        for case in cases {
            assert!(
                matches!(
                    parse(case, 100, Close::Notified),
                    Err(TlsError::Malformed(_))
                ),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
        assert!(matches!(
            parse(b"HTTP/1.1 404 Not Found\r\n\r\n", 100, Close::Notified),
            Err(TlsError::Status(404))
        ));
        assert!(matches!(
            parse(
                b"HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n",
                100,
                Close::Notified
            ),
            Err(TlsError::BodyTooLarge { max: 100 })
        ));
        let long_head = format!("HTTP/1.1 200 OK\r\nX: {}\r\n\r\n", "a".repeat(20_000));
        assert!(matches!(
            parse(long_head.as_bytes(), 100, Close::Notified),
            Err(TlsError::HeadTooLarge { .. })
        ));
        let many = format!("HTTP/1.1 200 OK\r\n{}\r\n", "A: b\r\n".repeat(101));
        assert!(matches!(
            parse(many.as_bytes(), 100, Close::Notified),
            Err(TlsError::Malformed("too many headers"))
        ));
    }

    #[test]
    fn request_is_a_closing_get() {
        let r = String::from_utf8(request("example.com:8443", "/p?q=1")).unwrap();
        assert!(r.starts_with("GET /p?q=1 HTTP/1.1\r\nHost: example.com:8443\r\n"));
        assert!(r.contains("\r\nConnection: close\r\n"));
        assert!(r.ends_with("\r\n\r\n"));
    }
}

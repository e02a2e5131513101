//! What Envoy 1.40 does when a body the plugin holds grows past the buffer
//! limit (book: reference/callbacks.md#return-values, http.md#every-action).
//! The probe's limits role (`tests/envoy-probe/src/limits.rs`) runs on a
//! listener whose `per_connection_buffer_limit_bytes` is 1 KiB; each check
//! sends a request naming its case in `x-probe-limit`, with a 4 KiB body
//! (request cases) or asking the upstream for a 4 KiB answer (response
//! cases), and holds the client's status line and the plugin's `on_log`
//! line (`probe: limit[CASE] = code C, details D, request body B bytes`) to
//! what the book says.

use crate::e2e::Ctx;
use crate::error::{Context as _, Result, bail};
use crate::probe::{expect_probe, none_wrong};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The limits listener.
const LIMIT_PORT: u16 = 18409;
/// Four times the listener's buffer limit.
const BIG: usize = 4096;
/// Budget of one exchange (a held stream is resumed after 400 ms).
const TIMEOUT: Duration = Duration::from_secs(10);

/// Sends the case's request on the limits listener and returns the whole
/// reply (what arrived before Envoy closed or reset the connection).
fn send(case: &str, big_request: bool) -> Result<String> {
    let request = if big_request {
        let mut head = format!(
            "POST /limit HTTP/1.1\r\nhost: probe\r\ncontent-length: {BIG}\r\n\
             x-probe-limit: {case}\r\nx-probe-case: limit/{case}\r\nconnection: close\r\n\r\n"
        )
        .into_bytes();
        head.extend(std::iter::repeat_n(b'a', BIG));
        head
    } else {
        format!(
            "GET /limit HTTP/1.1\r\nhost: probe\r\nx-probe-limit: {case}\r\n\
             x-probe-big-response: 1\r\nconnection: close\r\n\r\n"
        )
        .into_bytes()
    };
    exchange(&request)
}

/// Sends `request` on a new connection to the limits listener and reads the
/// reply until it is whole (its `content-length` read) or the connection
/// ends (a close or a reset: then what arrived is the reply). Not waiting
/// for the close saves the second Envoy waits before closing a connection
/// after a local reply.
fn exchange(request: &[u8]) -> Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", LIMIT_PORT)).context("connecting")?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .context("configuring the socket")?;
    stream.write_all(request).context("sending")?;
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    while !complete(&reply) {
        match stream.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => reply.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => return Err(e).context("reading the reply"),
        }
    }
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

/// A reply whose head ended and whose body has its `content-length`.
fn complete(reply: &[u8]) -> bool {
    let Some(end) = reply.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(reply.get(..end).unwrap_or_default()).to_ascii_lowercase();
    let length = head.lines().find_map(|l| {
        l.strip_prefix("content-length:")
            .and_then(|v| v.trim().parse::<usize>().ok())
    });
    length.is_some_and(|n| reply.len() - (end + 4) >= n)
}

/// The reply's status line, and its body's length (everything after the
/// head).
fn status_and_body(reply: &str) -> (&str, usize) {
    let status = reply.lines().next().unwrap_or_default();
    let body = reply.split_once("\r\n\r\n").map_or(0, |(_, b)| b.len());
    (status, body)
}

/// The case's reply must begin with `status`, and the plugin's `on_log`
/// line read `logged`.
fn expect_case(
    c: &mut Ctx<'_>,
    case: &str,
    big_request: bool,
    status: &str,
    logged: &str,
) -> Result<()> {
    let reply = send(case, big_request)?;
    let mut wrong = Vec::new();
    let (got, _) = status_and_body(&reply);
    if got != status {
        wrong.push(format!(
            "{case}: the client got {got:?} (expected {status:?})"
        ));
    }
    if let Err(e) = expect_probe(c, &[(format!("limit[{case}]"), logged)]) {
        wrong.push(e.to_string());
    }
    none_wrong(wrong)
}

/// Pause (StopIterationAndBuffer) from every request body callback: past
/// the limit, Envoy answers 413 itself.
pub(crate) fn request_body_pause(c: &mut Ctx<'_>) -> Result<()> {
    expect_case(
        c,
        "body-pause",
        true,
        "HTTP/1.1 413 Payload Too Large",
        "code 413, details request_payload_too_large, request body 0 bytes",
    )
}

/// StopAllIterationAndBuffer from `on_request_headers`: past the limit, 413.
pub(crate) fn headers_stop_all_and_buffer(c: &mut Ctx<'_>) -> Result<()> {
    expect_case(
        c,
        "headers-buffer",
        true,
        "HTTP/1.1 413 Payload Too Large",
        "code 413, details request_payload_too_large, request body 0 bytes",
    )
}

/// StopAllIterationAndWatermark from `on_request_headers`: past the limit,
/// no reply: Envoy stops reading, and once the plugin resumes (a tick,
/// 400 ms on) the whole body goes upstream.
pub(crate) fn headers_stop_all_and_watermark(c: &mut Ctx<'_>) -> Result<()> {
    expect_case(
        c,
        "headers-watermark",
        true,
        "HTTP/1.1 200 OK",
        &format!("code 200, details via_upstream, request body {BIG} bytes"),
    )?;
    let body = crate::probe::probe_value(c, "upstream[limit/headers-watermark]")?;
    let want = format!("body {:?}", "a".repeat(BIG));
    if body != want {
        bail!(
            "the upstream got {} (expected the whole {BIG}-byte body)",
            body.get(..60).unwrap_or(&body)
        );
    }
    Ok(())
}

/// Pause from every response body callback, the response headers
/// continued: past the limit Envoy cannot answer 500 any more (the 200
/// head is out), so it resets the stream: the client gets the head and no
/// body byte, and the details still say `response_payload_too_large`.
pub(crate) fn response_body_pause(c: &mut Ctx<'_>) -> Result<()> {
    let case = "response-body-pause";
    let reply = send(case, false)?;
    let mut wrong = Vec::new();
    let (status, body) = status_and_body(&reply);
    if status != "HTTP/1.1 200 OK" || !reply.contains("\r\n\r\n") || body != 0 {
        wrong.push(format!(
            "{case}: the client got {status:?} and {body} body bytes (expected the 200 head, \
             then nothing: the stream reset)"
        ));
    }
    if let Err(e) = expect_probe(
        c,
        &[(
            format!("limit[{case}]"),
            "code 200, details response_payload_too_large, request body 0 bytes",
        )],
    ) {
        wrong.push(e.to_string());
    }
    none_wrong(wrong)
}

/// StopAllIterationAndBuffer from `on_response_headers`: past the limit,
/// 500.
pub(crate) fn response_headers_stop_all_and_buffer(c: &mut Ctx<'_>) -> Result<()> {
    expect_case(
        c,
        "response-headers-buffer",
        false,
        "HTTP/1.1 500 Internal Server Error",
        "code 500, details response_payload_too_large, request body 0 bytes",
    )
}

#[cfg(test)]
mod tests {
    use super::{complete, status_and_body};

    #[test]
    fn a_reply_is_complete_once_its_content_length_arrived() {
        assert!(!complete(
            b"HTTP/1.1 413 Payload Too Large\r\ncontent-length: 3"
        ));
        assert!(!complete(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nab"));
        assert!(complete(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"));
        // No length: only the connection's end completes it.
        assert!(!complete(b"HTTP/1.1 200 OK\r\n\r\nabc"));
    }

    #[test]
    fn splits_status_and_body() {
        assert_eq!(
            status_and_body("HTTP/1.1 200 OK\r\na: b\r\n\r\nxyz"),
            ("HTTP/1.1 200 OK", 3)
        );
        assert_eq!(status_and_body(""), ("", 0));
    }
}

//! The Envoy behaviours the emulator mirrors (its fidelity rules), measured
//! through the `envoy_probe` plugin (`tests/envoy-probe`): how HTTP callout
//! failures arrive, that a `direct_response` route never delivers the request
//! body, that non-UTF-8 header values reach the plugin as bytes, and which
//! VMs configure and tick (book: reference/envoy-1.40.md#measured).
//!
//! A pattern is the exact value, with `*` standing for any run of characters.

use crate::e2e::Ctx;
use crate::envoy::{self, tcp_exchange};
use crate::error::{Context, Error, Result, bail};
use crate::probe::{none_wrong, probe_value};
use crate::probe_attributes::matches;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::thread;
use std::time::Duration;

/// The port of cluster `probe_reset`, served by [`serve_reset_after_headers`].
pub(crate) const RESET_PORT: u16 = 18405;

/// Budget of one exchange.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What the probe logs for a callout to a port nobody listens on.
const REFUSED: &str = "headers 3 [:status: 503, content-length: 98, content-type: text/plain]; \
     body 98 \"upstream connect error or disconnect/reset before headers. reset reason: remote connection failure\"; \
     trailers 0; status (0, \"\")";

/// What the probe logs for a callout whose timeout (300 ms) passes first.
const TIMED_OUT: &str = "headers 3 [:status: 504, content-length: 24, content-type: text/plain]; \
     body 24 \"upstream request timeout\"; trailers 0; status (0, \"\")";

/// What the probe logs for a callout whose upstream closes the connection
/// after the response headers, mid-body.
const RESET: &str = "headers 0 []; body 0 \"\"; trailers 0; status (11, \"reset\")";

/// `GET path` through the probe, which answers `callout observed` once the
/// callout's response arrived; then the probe's observation `callout[label]`.
fn callout(c: &mut Ctx<'_>, path: &str, label: &str) -> Result<String> {
    let r = envoy::http_get(c.port, path, &[], TIMEOUT)?;
    if r.status != 200 || r.body != b"callout observed\n" {
        bail!(
            "GET {path}: {} {:?} (expected the probe's 200 `callout observed`)",
            r.status,
            r.body_text()
        );
    }
    probe_value(c, &format!("callout[{label}]"))
}

fn expect(name: &str, got: &str, pattern: &str) -> Result<()> {
    if matches(pattern, got) {
        Ok(())
    } else {
        bail!("{name} = {got} (expected {pattern})")
    }
}

/// A callout to a port nobody listens on: a normal response, 503 and Envoy's
/// connect-failure body.
pub(crate) fn callout_refused(c: &mut Ctx<'_>) -> Result<()> {
    let got = callout(c, "/callout/refused", "refused")?;
    expect("callout[refused]", &got, REFUSED)
}

/// A callout that times out: a normal response, 504 `upstream request timeout`.
pub(crate) fn callout_timed_out(c: &mut Ctx<'_>) -> Result<()> {
    let got = callout(c, "/callout/timeout", "timeout")?;
    expect("callout[timeout]", &got, TIMED_OUT)
}

/// A callout whose upstream sends its response headers and then closes the
/// connection: the one failure that arrives without headers.
pub(crate) fn callout_reset(c: &mut Ctx<'_>) -> Result<()> {
    let server = serve_reset_after_headers()?;
    let got = callout(c, "/callout/reset", "reset");
    let served = server
        .join()
        .map_err(|_| Error::msg("the reset server panicked"))?;
    let got = got?;
    served.context("the reset server")?;
    expect("callout[reset]", &got, RESET)
}

/// Serves one connection on [`RESET_PORT`]: reads the request head, sends a
/// response head announcing 100 bytes, 5 of them, and closes.
fn serve_reset_after_headers() -> Result<thread::JoinHandle<Result<()>>> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, RESET_PORT))
        .context(format!("listening on 127.0.0.1:{RESET_PORT}"))?;
    Ok(thread::spawn(move || {
        let (mut stream, _) = listener.accept().context("accepting")?;
        stream
            .set_read_timeout(Some(TIMEOUT))
            .context("configuring the socket")?;
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut byte).context("reading the request")?;
            if n == 0 {
                bail!("the connection closed before the request head ended");
            }
            head.extend_from_slice(&byte);
        }
        stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nshort")
            .context("answering")?;
        Ok(())
    }))
}

/// The body of a raw POST of `body` to `path` on the probe's listener.
fn post(c: &Ctx<'_>, path: &str, body: &str) -> Result<String> {
    let request = format!(
        "POST {path} HTTP/1.1\r\nhost: probe\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let reply = tcp_exchange(c.port, request.as_bytes(), TIMEOUT)?;
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

/// In front of a `direct_response` route the request body never reaches the
/// plugin, whether it continued from the headers or paused and resumed.
pub(crate) fn direct_response_skips_the_body(c: &mut Ctx<'_>) -> Result<()> {
    let mut wrong = Vec::new();
    for path in ["/direct/continue", "/direct/pause"] {
        let reply = post(c, path, "hello")?;
        if !reply.starts_with("HTTP/1.1 200") || !reply.ends_with("probe direct response\n") {
            wrong.push(format!(
                "POST {path}: {reply:?} (expected the direct response)"
            ));
            continue;
        }
        let got = probe_value(c, &format!("direct[{path}]"))?;
        let want = "request headers end_of_stream false; request body callbacks 0; \
                    response headers callbacks 1, :status 200, headers :status content-length content-type";
        if got != want {
            wrong.push(format!("direct[{path}] = {got} (expected {want})"));
        }
    }
    none_wrong(wrong)
}

/// A header value with bytes that are not UTF-8 reaches the plugin as those
/// bytes, and a value the plugin adds goes out as its bytes.
pub(crate) fn header_bytes(c: &mut Ctx<'_>) -> Result<()> {
    let request =
        b"GET /bytes HTTP/1.1\r\nhost: probe\r\nx-bytes: a\xffb\xfe\r\nconnection: close\r\n\r\n";
    let reply = tcp_exchange(c.port, request, TIMEOUT)?;
    let got = probe_value(c, "header_bytes[x-bytes]")?;
    expect("header_bytes[x-bytes]", &got, "hex 61ff62fe")?;
    let added = probe_value(c, "header_bytes[x-echo] add")?;
    expect("header_bytes[x-echo] add", &added, "OK")?;
    let echoed = reply
        .windows(b"x-echo: a\xffb\xfe\r\n".len())
        .any(|w| w == b"x-echo: a\xffb\xfe\r\n");
    if !echoed {
        bail!(
            "the response has no `x-echo: a\\xffb\\xfe` header: {:?}",
            String::from_utf8_lossy(&reply)
        );
    }
    Ok(())
}

/// With `--concurrency N`, each plugin configures N + 2 times and N + 1 VMs
/// tick: counted from the probe's lines.
pub(crate) fn configure_and_tick_counts(c: &mut Ctx<'_>) -> Result<()> {
    let n = envoy::CONCURRENCY;
    probe_value(c, "first_tick")?;
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let log = c.envoy.log();
        let count = |needle: &str| log.lines().filter(|l| l.ends_with(needle)).count();
        let configured = count("probe: on_configure = envoy_probe");
        let ticked = count("probe: first_tick = envoy_probe");
        if configured == n + 2 && ticked == n + 1 {
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            bail!(
                "--concurrency {n}: configured {configured} times (expected {}), {ticked} VMs ticked (expected {})",
                n + 2,
                n + 1
            );
        }
        thread::sleep(Duration::from_millis(100));
    }
}

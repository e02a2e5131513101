//! What Envoy 1.40 does with each `proxywasm::Action` a callback returns,
//! with and without `allow_on_headers_stop_iteration`: the `envoy_probe`
//! plugin's actions role (`tests/envoy-probe/src/actions.rs`) answers the
//! action a request names, logs every callback the stream saw
//! (`probe: action[PLUGIN,CASE]`), and the upstream role logs the body that
//! reached the upstream (`probe: upstream[SETTING/CASE]`). Each check sends
//! the same request, a chunked POST whose two chunks and trailers arrive
//! 50 ms apart, for its variant's cases, and holds the lines to the table
//! below (book: reference/callbacks.md#return-values).

use crate::e2e::Ctx;
use crate::error::{Context as _, Result};
use crate::probe::probe_value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The actions role's listener with Envoy's default.
pub(crate) const DEFAULT_PORT: u16 = 18407;
/// The same with `allow_on_headers_stop_iteration: true`.
pub(crate) const ALLOW_PORT: u16 = 18408;

#[allow(
    unreachable_pub,
    reason = "the table is public in the probe crate, which shares this file"
)]
#[path = "../../tests/envoy-probe/src/measured.rs"]
mod measured;
use measured::ACTIONS as CASES;

/// The cases of `variant` on both listeners.
fn run(c: &mut Ctx<'_>, variant: &str) -> Result<()> {
    let mut wrong = Vec::new();
    let mut seen = 0;
    for (setting, case, callbacks, upstream) in CASES {
        // A case of several actions belongs to its last one's check.
        let last = case.split_once(':').and_then(|(_, v)| v.rsplit('+').next());
        if last != Some(variant) {
            continue;
        }
        seen += 1;
        let port = if *setting == "allow" {
            ALLOW_PORT
        } else {
            DEFAULT_PORT
        };
        let status = send(port, setting, case)?;
        if !status.contains(" 200 ") {
            wrong.push(format!(
                "{setting}/{case}: answered {status:?} (expected 200)"
            ));
        }
        let plugin = format!("actions_{setting}");
        let got = probe_value(c, &format!("action[{plugin},{case}]"))?;
        if got != *callbacks {
            wrong.push(format!(
                "{setting}/{case}: callbacks {got} (expected {callbacks})"
            ));
        }
        let got = probe_value(c, &format!("upstream[{setting}/{case}]"))?;
        if got != *upstream {
            wrong.push(format!(
                "{setting}/{case}: upstream {got} (expected {upstream})"
            ));
        }
    }
    if seen == 0 {
        crate::bail!("no case for {variant}");
    }
    if wrong.is_empty() {
        return Ok(());
    }
    crate::bail!("{}", wrong.join("\n"))
}

/// Sends the case's request and returns the response's status line.
fn send(port: u16, setting: &str, case: &str) -> Result<String> {
    let step = Duration::from_millis(50);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).context("connecting")?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .context("configuring the socket")?;
    let head = format!(
        "POST /actions HTTP/1.1\r\nhost: probe\r\ntransfer-encoding: chunked\r\n\
         x-probe-action: {case}\r\nx-probe-case: {setting}/{case}\r\nconnection: close\r\n\r\n"
    );
    let parts: [&[u8]; 4] = [
        head.as_bytes(),
        b"4\r\naaaa\r\n",
        b"4\r\nbbbb\r\n",
        b"0\r\nx-trailer: t\r\n\r\n",
    ];
    for part in parts {
        stream.write_all(part).context("sending")?;
        std::thread::sleep(step);
    }
    // Envoy may answer and close before reading all the request (then the
    // read ends in a reset): what arrived is the answer.
    let mut reply = Vec::new();
    let read = stream.read_to_end(&mut reply);
    if reply.is_empty() {
        read.context("reading the reply")?;
    }
    let reply = String::from_utf8_lossy(&reply);
    Ok(reply.lines().next().unwrap_or_default().to_string())
}

/// Continue, from headers, body and trailers callbacks.
pub(crate) fn continue_(c: &mut Ctx<'_>) -> Result<()> {
    run(c, "Continue")
}
/// Pause, from headers (both settings), body and trailers callbacks.
pub(crate) fn pause(c: &mut Ctx<'_>) -> Result<()> {
    run(c, "Pause")
}
/// ContinueAndEndStream from headers callbacks.
pub(crate) fn continue_and_end_stream(c: &mut Ctx<'_>) -> Result<()> {
    run(c, "ContinueAndEndStream")
}
/// StopAllIterationAndBuffer from headers callbacks.
pub(crate) fn stop_all_iteration_and_buffer(c: &mut Ctx<'_>) -> Result<()> {
    run(c, "StopAllIterationAndBuffer")
}
/// StopAllIterationAndWatermark from headers callbacks.
pub(crate) fn stop_all_iteration_and_watermark(c: &mut Ctx<'_>) -> Result<()> {
    run(c, "StopAllIterationAndWatermark")
}
/// StopIterationAndWatermark from body callbacks.
pub(crate) fn stop_iteration_and_watermark(c: &mut Ctx<'_>) -> Result<()> {
    run(c, "StopIterationAndWatermark")
}
/// StopIterationNoBuffer from body callbacks.
pub(crate) fn stop_iteration_no_buffer(c: &mut Ctx<'_>) -> Result<()> {
    run(c, "StopIterationNoBuffer")
}

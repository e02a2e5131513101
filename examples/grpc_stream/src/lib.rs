//! `grpc_stream`: open a bidirectional gRPC stream from an HTTP request,
//! send messages on it, log every message that comes back, and answer the
//! request when the stream closes.
//!
//! * A request with `x-messages: hello,grpc,stream` is held
//!   (`Action::Pause`) while the plugin opens a stream to
//!   `demo.echo.v1.Echo/Chat` on the `echo` cluster
//!   (`GrpcCall::open_stream`), sends one message per comma-separated word
//!   (`callout::grpc_send`), then half-closes its side
//!   (`callout::grpc_close`). A request without the header goes on.
//! * The stream's events come to the HTTP context's `on_grpc_event`, each
//!   logged: the initial metadata, every message (kept), the trailing
//!   metadata, and the close with its status.
//! * The close answers the request: status OK → 200 with the messages
//!   received, one a line; any other status → 502 with the status and its
//!   message (`callout::grpc_status`).
//!
//! The messages are plain UTF-8 bytes: the service of this example reads
//! and writes raw bytes. A real service takes serialized protobuf, which
//! the SDK passes through as bytes too.

use proxywasm::callout::{self, GrpcCall, GrpcToken};
use proxywasm::http::{self, LocalResponse};
use proxywasm::log::info;
use proxywasm::{Action, ContextId, GrpcEvent, HttpContext, Result};

/// The Envoy cluster of the echo service.
pub const ECHO_CLUSTER: &str = "echo";

/// The HTTP stream context: the messages the gRPC stream returned so far.
#[derive(Debug, Default)]
pub struct Chat {
    received: Vec<String>,
}

impl HttpContext for Chat {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let Some(messages) = http::request_headers().get("x-messages")? else {
            return Ok(Action::Continue);
        };
        let stream = GrpcCall::new(ECHO_CLUSTER, "demo.echo.v1.Echo", "Chat").open_stream()?;
        info!("grpc_stream: opened stream {stream} to demo.echo.v1.Echo/Chat");
        let mut sent = 0;
        for message in messages.split(|b| *b == b',').filter(|m| !m.is_empty()) {
            callout::grpc_send(stream, message, false)?;
            sent += 1;
        }
        callout::grpc_close(stream)?;
        info!("grpc_stream: sent {sent} messages and half-closed stream {stream}");
        Ok(Action::Pause)
    }

    fn on_grpc_event(&mut self, stream: GrpcToken, event: GrpcEvent) -> Result<()> {
        match event {
            GrpcEvent::InitialMetadata { count } => {
                let server = callout::grpc_initial_metadata().get("x-echo-server")?;
                let server = server.map(|s| s.to_string()).unwrap_or_default();
                info!(
                    "grpc_stream: stream {stream}: {count} initial metadata, x-echo-server={server}"
                );
            }
            GrpcEvent::Message { size } => {
                let message = callout::grpc_message().read_all()?;
                let message = String::from_utf8_lossy(&message).into_owned();
                info!("grpc_stream: stream {stream}: received {message} ({size} bytes)");
                self.received.push(message);
            }
            GrpcEvent::TrailingMetadata { count } => {
                let echoed = callout::grpc_trailing_metadata().get("x-echoed")?;
                let echoed = echoed.map(|s| s.to_string()).unwrap_or_default();
                info!("grpc_stream: stream {stream}: {count} trailing metadata, x-echoed={echoed}");
            }
            GrpcEvent::Close { status } => {
                let (_, message) = callout::grpc_status()?;
                info!("grpc_stream: stream {stream} closed with status {status}: {message}");
                if status.is_ok() {
                    let mut body = self.received.join("\n");
                    body.push('\n');
                    LocalResponse::new(200).body(&body).send()?;
                } else {
                    let body = format!("stream failed with status {status}: {message}\n");
                    LocalResponse::new(502).body(&body).send()?;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// The entry point.
#[proxywasm::main(http)]
pub fn plugin(_id: ContextId) -> Chat {
    Chat::default()
}

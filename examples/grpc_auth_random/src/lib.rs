//! `grpc_auth_random`: before a gRPC request goes upstream, ask a gRPC
//! authorization service, and let the request through or answer it with a
//! gRPC error.
//!
//! The official Rust SDK's `grpc_auth_random` scenario, with a local,
//! deterministic service in place of grpcbin's `RandomError`:
//!
//! * A request that is not gRPC (`content-type` not `application/grpc…`)
//!   gets a local 503 at once.
//! * A gRPC request is held (`Action::Pause`) while the plugin makes a unary
//!   gRPC call, `demo.auth.v1.Auth/Check`, on the `auth` cluster, in the
//!   closure form (`GrpcCall::send_then`). The message is the gRPC method the
//!   client calls (its `:path`), as protobuf field 1.
//! * The service's answer decides: a reply (status OK) resumes the request;
//!   a failure (any other status, including Envoy's `UNAVAILABLE` when the
//!   service cannot be reached) answers the client with a local reply
//!   carrying `grpc-status: 7` (`PERMISSION_DENIED`) and the service's
//!   message, which Envoy sends as `grpc-message`.
//! * Every response gets a `powered-by: proxy-wasm` header, as in the
//!   official example.

use proxywasm::callout::{GrpcCall, GrpcStatus};
use proxywasm::http::{self, LocalResponse};
use proxywasm::log::info;
use proxywasm::{Action, ContextId, HttpContext, Result};
use std::time::Duration;

/// The Envoy cluster of the authorization service.
pub const AUTH_CLUSTER: &str = "auth";

/// The HTTP stream context.
#[derive(Debug, Default)]
pub struct Authorizer;

/// Whether `content_type` is gRPC's: `application/grpc`, or a subtype such
/// as `application/grpc+proto`.
fn is_grpc(content_type: &[u8]) -> bool {
    content_type
        .get(..16)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"application/grpc"))
        && matches!(content_type.get(16), None | Some(b'+' | b';'))
}

/// `method` as a protobuf message with one string field, number 1.
fn check_request(method: &[u8]) -> Vec<u8> {
    let mut message = vec![0x0a];
    let mut len = method.len();
    // The length as a varint.
    while len >= 0x80 {
        message.push((len as u8) | 0x80);
        len >>= 7;
    }
    message.push(len as u8);
    message.extend_from_slice(method);
    message
}

impl HttpContext for Authorizer {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let headers = http::request_headers();
        if !headers.get("content-type")?.is_some_and(|v| is_grpc(&v)) {
            info!("grpc_auth_random: not a gRPC request: 503");
            LocalResponse::new(503)
                .body("this service answers gRPC only\n")
                .send()?;
            return Ok(Action::Pause);
        }
        let method = headers.get(":path")?.unwrap_or_default();
        info!("grpc_auth_random: checking {method}");
        GrpcCall::new(AUTH_CLUSTER, "demo.auth.v1.Auth", "Check")
            .timeout(Duration::from_secs(1))
            .send_then(&check_request(&method), |_: &mut Self, reply| match reply {
                Ok(_) => {
                    info!("grpc_auth_random: allowed");
                    http::resume_request()
                }
                Err(error) => {
                    let status = GrpcStatus::of(&error).unwrap_or(GrpcStatus::UNKNOWN);
                    info!("grpc_auth_random: denied: {error}");
                    LocalResponse::new(403)
                        .grpc_status(GrpcStatus::PERMISSION_DENIED)
                        .body(&format!("denied by proxy-wasm (auth status {status})"))
                        .send()
                }
            })?;
        Ok(Action::Pause)
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        http::response_headers().replace("powered-by", "proxy-wasm")?;
        Ok(Action::Continue)
    }
}

/// The entry point.
#[proxywasm::main(http)]
pub fn plugin(_id: ContextId) -> Authorizer {
    Authorizer
}

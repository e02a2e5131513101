//! **Mock host** (feature `mock-host`): an in-process emulator of Envoy's
//! Proxy-Wasm host, to unit-test plugins natively with `cargo test`.
//!
//! The plugin is compiled into the test binary and driven exactly as Envoy
//! drives the `.wasm`: through the SDK's `proxy_on_*` export trampolines,
//! with every result handed back through the allocation export. Its
//! hostcalls reach the emulator instead of Envoy. The emulator follows what
//! Envoy does (book: reference/README.md), not only what the spec says: status codes, when maps
//! and buffers are available, CAS and queue rules, deferred actions, local
//! replies, callout routing, metrics semantics.
//!
//! Enable it for tests only:
//!
//! ```toml
//! [dev-dependencies]
//! proxywasm = { version = "0.1", features = ["mock-host"] }
//! ```
//!
//! It is compiled only natively (`not(target_family = "wasm")`), so it can
//! never end up in a `.wasm`.
//!
//! # A test
//!
//! ```
//! use proxywasm::callout::{HttpCall, HttpCallToken};
//! use proxywasm::mock::MockHost;
//! use proxywasm::{Action, HttpCallResponse, HttpContext, http, Result};
//! use std::time::Duration;
//!
//! struct Auth;
//! impl HttpContext for Auth {
//!     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
//!         let sent = HttpCall::new("auth")
//!             .header(":method", "GET")
//!             .header(":path", "/check")
//!             .header(":authority", "auth")
//!             .timeout(Duration::from_millis(500))
//!             .send();
//!         if sent.is_ok() { Ok(Action::Pause) } else { Ok(Action::Continue) }
//!     }
//!     fn on_http_call_response(&mut self, _token: HttpCallToken, response: HttpCallResponse) -> Result<()> {
//!         // Envoy answers 503 for a down service and 504 for a silent one:
//!         // only the service's own 200 lets the request through.
//!         let status = proxywasm::callout::response_headers().get(":status").ok().flatten();
//!         if !response.is_failure() && status.is_some_and(|s| s == "200") {
//!             http::resume_request()
//!         } else {
//!             http::LocalResponse::new(503).send()
//!         }
//!     }
//! }
//!
//! let host = MockHost::builder().http(|_| Auth);
//! let mut stream = host.http_stream();
//! assert_eq!(stream.request_headers(&[(":path", "/")], true), Action::Pause);
//!
//! // The callout is recorded; answer it (or fail it, or let it time out).
//! let call = host.callouts().http().pop().unwrap();
//! assert_eq!(call.header(":path"), Some("/check"));
//! host.time().advance(Duration::from_secs(1)); // past the timeout: Envoy answers 504
//! assert_eq!(stream.local_response().map(|r| r.status_code), Some(503));
//! stream.complete();
//! ```
//!
//! # What it emulates
//! * **Lifecycles**: [`MockHost::start`] (start-up, `on_vm_start`,
//!   `on_configure` per plugin), [`HttpStream`] (headers, bodies, trailers,
//!   `on_log` → `on_done` → `on_delete`), [`TcpConnection`] (data both ways,
//!   closes, `on_done` → `on_log` → `on_delete`), [`MockHost::finish`].
//! * **Time**: one clock behind `proxy_get_current_time_nanoseconds` (and
//!   WASI `clock_time_get` in the engine host); [`host.time().advance`](Time::advance)
//!   fires ticks at each plugin's period and callout timeouts.
//! * **Callouts**: HTTP, gRPC calls and streams, DNS — recorded, answered by
//!   the test, delivered on the root context as Envoy does; an HTTP
//!   callout's failures as Envoy delivers them (its own 503 and 504
//!   responses, a reset without headers).
//! * **Envoy's VMs**: [`EnvoyVms`], the canary, the main thread's VM and N
//!   workers, so a plugin configures N + 2 times and ticks in N + 1 VMs.
//! * **Host memory**: every buffer handed to the plugin is tracked natively;
//!   one never freed fails the test ([`MockHostBuilder::leak_check`]).
//! * **Shared state**: shared data and queues per `vm_id` and metrics per
//!   name in a [`MockWorld`] several hosts can share.
//! * **Envoy's rules** ([`Fidelity`]), on by default; **strict mode**
//!   ([`MockHostBuilder::strict`]) turns unexpected hostcalls and lifecycle
//!   violations into test failures.
//! * **Protobuf inputs**: [`proto`] encodes the metadata and `Struct`
//!   configurations Envoy hands a plugin in binary, from JSON.
//!
//! The book's testing chapter maps every Go `proxytest` method to its
//! counterpart here.
//!
//! # Layout
//! [`engine`] is the emulator itself: all host state and behaviour, free of
//! pointers and `unsafe`, organised by domain, and the public, documented API
//! for another front door (the `proxywasm-wasmtime` crate runs the compiled
//! `.wasm` over it). `backend` is the native front door (pointers in,
//! allocation export out), the only `unsafe` here; [`MockHost`] is the test
//! API over it.
#![allow(unsafe_code)] // the native front door (backend.rs) reads host pointers
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

pub(crate) mod backend;
pub mod engine;
mod envoy;
mod handles;
mod host;
mod native;
pub mod proto;

pub use self::engine::{
    DnsLookup, Export, Fidelity, GrpcCallout, GrpcKind, HostAllocation, HttpCallout, LocalReply,
    LogRecord, MockWorld, PluginConfig, Violation,
};
pub use envoy::EnvoyVms;
pub use handles::{Callouts, ForeignFunctions, Logs, Metrics, SharedData, Time};
pub use host::{HttpStream, MockHost, MockHostBuilder, Noop, TcpConnection};
#[doc(hidden)]
pub use host::{doc_http, doc_http_body, doc_http_properties, doc_plugin, doc_tcp_upstream};

//! The `proxy_on_*` exports (abi.md §3.1): each is a trampoline that decodes
//! wire arguments and calls the installed dispatcher. With no dispatcher (only
//! possible natively without a mock host) they answer the ABI's defaults.
//!
//! On wasm they are exported by name. Natively they are ordinary functions,
//! which the mock host calls exactly as a real host calls the exports.
//! `proxy_on_request_metadata`/`proxy_on_response_metadata` are deliberately
//! absent: Envoy treats an absent export as Continue, which is all it honours.

use crate::dispatch::{self, CalloutEvent, GrpcCallback, RootEvent};

/// The ABI version marker Envoy scans the export section for. Never called.
#[cfg_attr(target_family = "wasm", unsafe(no_mangle))]
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
pub(crate) extern "C" fn proxy_abi_version_0_2_1() {}

macro_rules! exports {
    ($(
        $(#[$meta:meta])*
        fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? = |$d:ident| $body:expr, or $default:expr;
    )*) => {$(
        $(#[$meta])*
        #[cfg_attr(target_family = "wasm", unsafe(no_mangle))]
        #[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
        pub(crate) extern "C" fn $name($($arg: $ty),*) $(-> $ret)? {
            match dispatch::current() {
                Some($d) => $body,
                None => $default,
            }
        }
    )*};
}

exports! {
    /// A context was created; `parent_id` 0 means a plugin (root) context.
    fn proxy_on_context_create(context_id: u32, parent_id: u32) = |d| d.context_create(context_id, parent_id), or ();
    /// Non-zero = started.
    fn proxy_on_vm_start(context_id: u32, configuration_size: usize) -> u32 =
        |d| d.root(context_id, RootEvent::VmStart(configuration_size)), or 0;
    /// Non-zero = configured.
    fn proxy_on_configure(context_id: u32, configuration_size: usize) -> u32 =
        |d| d.root(context_id, RootEvent::Configure(configuration_size)), or 0;
    fn proxy_on_tick(context_id: u32) = |d| { d.root(context_id, RootEvent::Tick); }, or ();
    fn proxy_on_queue_ready(context_id: u32, queue_id: u32) = |d| { d.root(context_id, RootEvent::QueueReady(queue_id)); }, or ();
    fn proxy_on_foreign_function(context_id: u32, function_id: u32, arguments_size: usize) =
        |d| { d.root(context_id, RootEvent::Foreign(function_id, arguments_size)); }, or ();
    fn envoy_on_resolve_dns(context_id: u32, token: u32, data_size: usize) =
        |d| { d.root(context_id, RootEvent::Dns(token, data_size)); }, or ();
    fn proxy_on_new_connection(context_id: u32) -> u32 = |d| d.new_connection(context_id), or 0;
    fn proxy_on_downstream_data(context_id: u32, data_size: usize, end_of_stream: u32) -> u32 =
        |d| d.downstream_data(context_id, data_size, end_of_stream != 0), or 0;
    fn proxy_on_upstream_data(context_id: u32, data_size: usize, end_of_stream: u32) -> u32 =
        |d| d.upstream_data(context_id, data_size, end_of_stream != 0), or 0;
    fn proxy_on_downstream_connection_close(context_id: u32, peer_type: u32) =
        |d| d.downstream_close(context_id, peer_type), or ();
    fn proxy_on_upstream_connection_close(context_id: u32, peer_type: u32) =
        |d| d.upstream_close(context_id, peer_type), or ();
    fn proxy_on_request_headers(context_id: u32, num_headers: usize, end_of_stream: u32) -> u32 =
        |d| d.request_headers(context_id, num_headers, end_of_stream != 0), or 0;
    fn proxy_on_request_body(context_id: u32, body_size: usize, end_of_stream: u32) -> u32 =
        |d| d.request_body(context_id, body_size, end_of_stream != 0), or 0;
    fn proxy_on_request_trailers(context_id: u32, num_trailers: usize) -> u32 =
        |d| d.request_trailers(context_id, num_trailers), or 0;
    fn proxy_on_response_headers(context_id: u32, num_headers: usize, end_of_stream: u32) -> u32 =
        |d| d.response_headers(context_id, num_headers, end_of_stream != 0), or 0;
    fn proxy_on_response_body(context_id: u32, body_size: usize, end_of_stream: u32) -> u32 =
        |d| d.response_body(context_id, body_size, end_of_stream != 0), or 0;
    fn proxy_on_response_trailers(context_id: u32, num_trailers: usize) -> u32 =
        |d| d.response_trailers(context_id, num_trailers), or 0;
    fn proxy_on_http_call_response(context_id: u32, token: u32, num_headers: usize, body_size: usize, num_trailers: usize) =
        |d| d.callout(context_id, token, CalloutEvent::Http { headers: num_headers, body: body_size, trailers: num_trailers }), or ();
    fn proxy_on_grpc_receive_initial_metadata(context_id: u32, token: u32, num_elements: usize) =
        |d| d.callout(context_id, token, CalloutEvent::Grpc(GrpcCallback::InitialMetadata(num_elements))), or ();
    fn proxy_on_grpc_receive(context_id: u32, token: u32, message_size: usize) =
        |d| d.callout(context_id, token, CalloutEvent::Grpc(GrpcCallback::Message(message_size))), or ();
    fn proxy_on_grpc_receive_trailing_metadata(context_id: u32, token: u32, num_elements: usize) =
        |d| d.callout(context_id, token, CalloutEvent::Grpc(GrpcCallback::TrailingMetadata(num_elements))), or ();
    fn proxy_on_grpc_close(context_id: u32, token: u32, status_code: u32) =
        |d| d.callout(context_id, token, CalloutEvent::Grpc(GrpcCallback::Close(status_code))), or ();
    /// Non-zero = done (stream contexts' answers are ignored by Envoy).
    fn proxy_on_done(context_id: u32) -> u32 = |d| d.done(context_id), or 1;
    fn proxy_on_log(context_id: u32) = |d| d.log(context_id), or ();
    fn proxy_on_delete(context_id: u32) = |d| d.delete(context_id), or ();
}

#[cfg(target_family = "wasm")]
unsafe extern "Rust" {
    /// Defined by `#[proxywasm::main]` in the plugin crate. A link error naming
    /// this symbol means the plugin has no `#[proxywasm::main]` function.
    safe fn __proxywasm_entry() -> crate::dispatch::Entry;
}

/// The plugin's entry, from the `#[proxywasm::main]` expansion.
#[cfg(target_family = "wasm")]
pub(crate) fn user_entry() -> crate::dispatch::Entry {
    __proxywasm_entry()
}

#[cfg(target_os = "wasi")]
unsafe extern "C" {
    /// Runs static constructors (wasi-libc); the reactor start-up calls it once.
    fn __wasm_call_ctors();
}

/// Reactor start-up (abi.md §1.3). Runs static constructors and nothing else:
/// Envoy allows no hostcall but logging here, so all SDK set-up is deferred to
/// the first callback.
#[cfg(target_os = "wasi")]
#[unsafe(no_mangle)]
pub extern "C" fn _initialize() {
    // SAFETY: called once by the host before any other export, as wasi-libc's
    // reactor model requires; it only runs constructors.
    unsafe { __wasm_call_ctors() }
}

//! # proxywasm-abi
//!
//! The Proxy-Wasm ABI v0.2.1, as Envoy links it, **declared once**: every
//! host function a plugin may import from module `env`, and every function
//! Envoy looks up among a plugin's exports, each with its arguments' names and
//! *roles*. Everything else in the project is generated from these tables or
//! reads them: the SDK's `extern` block, its safe raw calls and its
//! emulator's hostcall entry points, the wasmtime engine's linker and
//! load-time checks, and the ABI-surface check of a built `.wasm`.
//!
//! * [`for_each_import!`] and [`for_each_export!`] hand the whole list to a
//!   macro of yours, which generates what it needs from the rows;
//! * [`IMPORTS`], [`EXPORTS`], [`WASI_IMPORTS`] and [`ENV_SHIMS`] are the
//!   same facts as constants: names, roles and exact wasm types;
//! * [`Export`] is one call of a callback export, with its arguments.
//!
//! ```
//! let log = proxywasm_abi::import("proxy_log").unwrap();
//! assert_eq!(log.signature.to_string(), "(i32, i32, i32) -> i32");
//! assert_eq!(log.params[1].role, proxywasm_abi::Role::InPtr);
//! ```
//!
//! # Rows
//!
//! A row is a function: its documentation, `fn`, its name, and its
//! arguments in order as `name: role`. Import rows also name the operation
//! without its `proxy_`/`envoy_` prefix (`fn proxy_log = log(…)`), and every
//! import returns a status (`i32`). Callback rows name their [`Export`]
//! variant (`fn proxy_on_tick = Tick(…)`) and say `-> u32` when the callback
//! returns a value. The export table has two sections: `callbacks { … }`,
//! the exports a host calls with the plugin's events (one [`Export`] variant
//! each), and `other { … }`, the rest Envoy looks up (the ABI marker, the
//! allocation functions, the other start-up entry points, callbacks the SDK
//! does not export).
//!
//! # Roles
//!
//! | token | wasm | meaning |
//! |---|---|---|
//! | `u32` | `i32` | a plain value: an id, a token, an enum code, flags |
//! | `i32` | `i32` | a plain signed value (a gRPC status) |
//! | `u64` | `i64` | a plain 64-bit value (a metric value) |
//! | `i64` | `i64` | a plain signed 64-bit value (a metric increment) |
//! | `bool` | `i32` | 0 or 1 |
//! | `usize` | `i32` | a size, count or offset passed by value |
//! | `in_ptr`, `in_size` | `i32`, `i32` | input bytes: where they start, how many |
//! | `out_ptr`, `out_size` | `i32`, `i32` | output bytes: where the host writes the address of the buffer it allocated in the plugin, and where it writes its length |
//! | `out_u32`, `out_u64`, `out_usize` | `i32` | where the host writes a 4-byte, 8-byte or pointer-sized result |
//!
//! `in_ptr` is always followed by its `in_size`, `out_ptr` by its
//! `out_size`. Consumers map tokens to their own types with small macros
//! (a macro may stand in type position).
#![no_std]
#![deny(missing_docs)]

use core::fmt;
use core::ops::Deref;

/// What an argument (or a result) is, beyond its wasm type. See the crate
/// documentation for the tokens the tables use.
///
/// ```
/// use proxywasm_abi::{Role, WasmType};
/// assert_eq!(Role::OutU64.wasm_type(), WasmType::I32); // a pointer to the value
/// assert_eq!(Role::U64.wasm_type(), WasmType::I64);
/// assert_eq!(Role::InSize.token(), "in_size");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// `u32`: a plain value (id, token, enum code, flags).
    U32,
    /// `i32`: a plain signed value.
    I32,
    /// `u64`: a plain 64-bit value.
    U64,
    /// `i64`: a plain signed 64-bit value.
    I64,
    /// `bool`: 0 or 1.
    Bool,
    /// `usize`: a size, count or offset passed by value.
    Usize,
    /// `in_ptr`: where input bytes start.
    InPtr,
    /// `in_size`: how many input bytes.
    InSize,
    /// `out_ptr`: where the host writes the address of output bytes it
    /// allocated in the plugin.
    OutPtr,
    /// `out_size`: where the host writes the length of those bytes.
    OutSize,
    /// `out_u32`: where the host writes a 4-byte result.
    OutU32,
    /// `out_u64`: where the host writes an 8-byte result.
    OutU64,
    /// `out_usize`: where the host writes a pointer-sized result (a size).
    OutUsize,
    /// The status every import returns.
    Status,
}

impl Role {
    /// The wasm value type an argument of this role has.
    ///
    /// ```
    /// assert_eq!(proxywasm_abi::Role::I64.wasm_type(), proxywasm_abi::WasmType::I64);
    /// ```
    pub const fn wasm_type(self) -> WasmType {
        match self {
            Role::U64 | Role::I64 => WasmType::I64,
            _ => WasmType::I32,
        }
    }

    /// The token the tables write for this role (`"out_ptr"`, `"u32"`, …).
    ///
    /// ```
    /// assert_eq!(proxywasm_abi::Role::OutPtr.token(), "out_ptr");
    /// ```
    pub const fn token(self) -> &'static str {
        match self {
            Role::U32 => "u32",
            Role::I32 => "i32",
            Role::U64 => "u64",
            Role::I64 => "i64",
            Role::Bool => "bool",
            Role::Usize => "usize",
            Role::InPtr => "in_ptr",
            Role::InSize => "in_size",
            Role::OutPtr => "out_ptr",
            Role::OutSize => "out_size",
            Role::OutU32 => "out_u32",
            Role::OutU64 => "out_u64",
            Role::OutUsize => "out_usize",
            Role::Status => "status",
        }
    }
}

/// The two wasm value types the ABI uses.
///
/// ```
/// assert_eq!(proxywasm_abi::WasmType::I64.to_string(), "i64");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WasmType {
    /// `i32`: pointers, sizes, ids, statuses, enums, flags.
    I32,
    /// `i64`: metric values (and WASI offsets and timestamps).
    I64,
}

impl fmt::Display for WasmType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WasmType::I32 => "i32",
            WasmType::I64 => "i64",
        })
    }
}

/// A wasm function type: the exact type a host links a function with.
///
/// ```
/// use proxywasm_abi::{Signature, WasmType::{I32, I64}};
/// let sig = Signature { params: &[I32, I64], results: &[I32] };
/// assert_eq!(sig.to_string(), "(i32, i64) -> i32");
/// assert_eq!(Signature { params: &[I32], results: &[] }.to_string(), "(i32) -> ()");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    /// Parameter types, in order.
    pub params: &'static [WasmType],
    /// Result types (none or one).
    pub results: &'static [WasmType],
}

impl fmt::Display for Signature {
    /// `(i32, i64) -> i32`, or `-> ()` without a result.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, t) in self.params.iter().enumerate() {
            write!(f, "{}{t}", if i == 0 { "" } else { ", " })?;
        }
        match self.results {
            [one] => write!(f, ") -> {one}"),
            _ => f.write_str(") -> ()"),
        }
    }
}

/// One argument of an ABI function: its name in the tables and its role.
///
/// ```
/// let get = proxywasm_abi::import("proxy_get_header_map_value").unwrap();
/// assert_eq!(get.params[0].name, "map_type");
/// assert_eq!(get.params[3].role, proxywasm_abi::Role::OutPtr);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Param {
    /// The argument's name.
    pub name: &'static str,
    /// What it is.
    pub role: Role,
}

/// One function of the ABI: an import or an export, with its arguments and
/// its exact wasm type.
///
/// ```
/// let tick = proxywasm_abi::export("proxy_on_tick").unwrap();
/// assert_eq!(tick.params.len(), 1);
/// assert_eq!(tick.result, None);
/// assert_eq!(tick.signature.to_string(), "(i32) -> ()");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Function {
    /// The import or export name.
    pub name: &'static str,
    /// The arguments, in order.
    pub params: &'static [Param],
    /// What it returns, if anything ([`Role::Status`] for every import).
    pub result: Option<Role>,
    /// The exact wasm type.
    pub signature: Signature,
}

// ---- the tables ----------------------------------------------------------------------------

/// Calls `callback!` with every host function Envoy registers in module `env`
/// for a module that declares ABI v0.2.1, in the order of the ABI's
/// chapters. Each row is
/// `/// doc` `fn name = operation(arg: role, …);` and returns a status.
///
/// ```
/// macro_rules! names {
///     ($( $(#[$doc:meta])* fn $name:ident = $op:ident($($arg:ident: $role:ident),*); )*) => {
///         const NAMES: &[&str] = &[$(stringify!($name)),*];
///         const OPERATIONS: &[&str] = &[$(stringify!($op)),*];
///     };
/// }
/// proxywasm_abi::for_each_import!(names);
/// assert_eq!(NAMES.len(), proxywasm_abi::IMPORTS.len());
/// assert_eq!((NAMES[0], OPERATIONS[0]), ("proxy_log", "log"));
/// ```
#[macro_export]
macro_rules! for_each_import {
    ($($callback:ident)::+) => {
        $($callback)::+! {
            // Logging, time, timers.

            /// Logs a message at a level (0 trace … 5 critical).
            fn proxy_log = log(level: u32, message_data: in_ptr, message_size: in_size);
            /// The host's log level (0 trace … 5 critical; Envoy answers 6 when its logger is off).
            fn proxy_get_log_level = get_log_level(return_level: out_u32);
            /// The host's wall clock, in nanoseconds since the Unix epoch.
            fn proxy_get_current_time_nanoseconds = get_current_time_nanoseconds(return_time: out_u64);
            /// Sets the period of the root context's tick timer; 0 stops it.
            fn proxy_set_tick_period_milliseconds = set_tick_period_milliseconds(period: u32);

            // Buffers.

            /// Copies up to `max_size` bytes of a buffer from `start`.
            fn proxy_get_buffer_bytes = get_buffer_bytes(
                buffer_type: u32, start: usize, max_size: usize, return_data: out_ptr, return_size: out_size);
            /// Replaces `size` bytes of a buffer at `start` with `data`.
            fn proxy_set_buffer_bytes = set_buffer_bytes(
                buffer_type: u32, start: usize, size: usize, data: in_ptr, data_size: in_size);
            /// A buffer's length and flags.
            fn proxy_get_buffer_status = get_buffer_status(
                buffer_type: u32, return_size: out_usize, return_flags: out_u32);

            // Header, trailer and metadata maps.

            /// Every pair of a map, serialized.
            fn proxy_get_header_map_pairs = get_header_map_pairs(
                map_type: u32, return_data: out_ptr, return_size: out_size);
            /// Replaces a whole map with serialized pairs.
            fn proxy_set_header_map_pairs = set_header_map_pairs(map_type: u32, data: in_ptr, size: in_size);
            /// The value of a key in a map.
            fn proxy_get_header_map_value = get_header_map_value(
                map_type: u32, key_data: in_ptr, key_size: in_size, return_value_data: out_ptr,
                return_value_size: out_size);
            /// Adds a value under a key (keeping the existing ones).
            fn proxy_add_header_map_value = add_header_map_value(
                map_type: u32, key_data: in_ptr, key_size: in_size, value_data: in_ptr, value_size: in_size);
            /// Sets the value of a key (replacing the existing ones).
            fn proxy_replace_header_map_value = replace_header_map_value(
                map_type: u32, key_data: in_ptr, key_size: in_size, value_data: in_ptr, value_size: in_size);
            /// Removes a key.
            fn proxy_remove_header_map_value = remove_header_map_value(
                map_type: u32, key_data: in_ptr, key_size: in_size);
            /// The number of pairs in a map.
            fn proxy_get_header_map_size = get_header_map_size(map_type: u32, return_size: out_usize);

            // Stream control.

            /// Resumes a paused stream direction.
            fn proxy_continue_stream = continue_stream(stream_type: u32);
            /// Closes a stream direction.
            fn proxy_close_stream = close_stream(stream_type: u32);
            /// Answers the request with a local response (`grpc_status` -1: none).
            fn proxy_send_local_response = send_local_response(
                status_code: u32, details_data: in_ptr, details_size: in_size, body_data: in_ptr,
                body_size: in_size, headers_data: in_ptr, headers_size: in_size, grpc_status: i32);
            /// The status code and message of the last callout event.
            fn proxy_get_status = get_status(
                return_code: out_u32, return_message_data: out_ptr, return_message_size: out_size);

            // HTTP callouts.

            /// Starts an HTTP call to an upstream cluster; the response arrives as a callback.
            fn proxy_http_call = http_call(
                upstream_data: in_ptr, upstream_size: in_size, headers_data: in_ptr, headers_size: in_size,
                body_data: in_ptr, body_size: in_size, trailers_data: in_ptr, trailers_size: in_size,
                timeout_milliseconds: u32, return_token: out_u32);

            // gRPC callouts.

            /// Starts a unary gRPC call.
            fn proxy_grpc_call = grpc_call(
                service_data: in_ptr, service_size: in_size, service_name_data: in_ptr,
                service_name_size: in_size, method_data: in_ptr, method_size: in_size,
                initial_metadata_data: in_ptr, initial_metadata_size: in_size, message_data: in_ptr,
                message_size: in_size, timeout_milliseconds: u32, return_token: out_u32);
            /// Opens a gRPC stream.
            fn proxy_grpc_stream = grpc_stream(
                service_data: in_ptr, service_size: in_size, service_name_data: in_ptr,
                service_name_size: in_size, method_data: in_ptr, method_size: in_size,
                initial_metadata_data: in_ptr, initial_metadata_size: in_size, return_token: out_u32);
            /// Sends a message on a gRPC stream.
            fn proxy_grpc_send = grpc_send(token: u32, message_data: in_ptr, message_size: in_size, end_stream: bool);
            /// Cancels a gRPC call or stream.
            fn proxy_grpc_cancel = grpc_cancel(token: u32);
            /// Closes a gRPC call or stream.
            fn proxy_grpc_close = grpc_close(token: u32);

            // Shared data.

            /// A shared value and its CAS version.
            fn proxy_get_shared_data = get_shared_data(
                key_data: in_ptr, key_size: in_size, return_value_data: out_ptr, return_value_size: out_size,
                return_cas: out_u32);
            /// Sets a shared value if `cas` matches (0: unconditionally).
            fn proxy_set_shared_data = set_shared_data(
                key_data: in_ptr, key_size: in_size, value_data: in_ptr, value_size: in_size, cas: u32);

            // Shared queues.

            /// Registers a shared queue owned by this root context.
            fn proxy_register_shared_queue = register_shared_queue(
                name_data: in_ptr, name_size: in_size, return_token: out_u32);
            /// Finds a shared queue by VM id and name.
            fn proxy_resolve_shared_queue = resolve_shared_queue(
                vm_id_data: in_ptr, vm_id_size: in_size, name_data: in_ptr, name_size: in_size,
                return_token: out_u32);
            /// Takes the oldest item of a shared queue.
            fn proxy_dequeue_shared_queue = dequeue_shared_queue(
                token: u32, return_data: out_ptr, return_size: out_size);
            /// Appends an item to a shared queue.
            fn proxy_enqueue_shared_queue = enqueue_shared_queue(token: u32, data: in_ptr, size: in_size);

            // Metrics.

            /// Defines a counter, gauge or histogram.
            fn proxy_define_metric = define_metric(
                metric_type: u32, name_data: in_ptr, name_size: in_size, return_id: out_u32);
            /// Adds to a counter or gauge.
            fn proxy_increment_metric = increment_metric(metric_id: u32, offset: i64);
            /// Sets a gauge or records a histogram value.
            fn proxy_record_metric = record_metric(metric_id: u32, value: u64);
            /// A metric's value.
            fn proxy_get_metric = get_metric(metric_id: u32, return_value: out_u64);

            // Properties.

            /// A property's value by path.
            fn proxy_get_property = get_property(
                path_data: in_ptr, path_size: in_size, return_data: out_ptr, return_size: out_size);
            /// Sets a property.
            fn proxy_set_property = set_property(
                path_data: in_ptr, path_size: in_size, value_data: in_ptr, value_size: in_size);

            // Context management.

            /// Makes later hostcalls of this callback act on another context.
            fn proxy_set_effective_context = set_effective_context(context_id: u32);
            /// Tells the host a root context finished what `proxy_on_done` deferred.
            fn proxy_done = done();

            // Foreign functions.

            /// Calls a function the host registered by name; 0 for both result
            /// pointers discards the result.
            fn proxy_call_foreign_function = call_foreign_function(
                name_data: in_ptr, name_size: in_size, arguments_data: in_ptr, arguments_size: in_size,
                return_results_data: out_ptr, return_results_size: out_size);

            // Envoy's own.

            /// Starts a DNS lookup; the answer arrives as `envoy_on_resolve_dns`.
            fn envoy_resolve_dns = resolve_dns(address_data: in_ptr, address_size: in_size, return_token: out_u32);
        }
    };
}

/// Calls `callback!` with every export Envoy looks up in a plugin, in two
/// sections: `callbacks { … }`, the ones a host calls with the plugin's
/// events (rows `/// doc` `[group] fn name = Variant(arg: role, …) -> u32;`,
/// the result only where there is one), then `other { … }` (rows without a
/// variant). A callback's first argument is always the context it
/// addresses. The group says which contexts take the callback: `start`
/// (module start-up), `core` (every plugin), `root` (plugin contexts only),
/// `http`, `tcp`. `for_each_export!(callback [tokens])` passes `tokens`
/// first, before the sections.
///
/// ```
/// macro_rules! callbacks {
///     (
///         callbacks { $( $(#[$doc:meta])* [$group:ident] fn $name:ident = $variant:ident($($arg:ident: $role:ident),*) $(-> $ret:ident)?; )* }
///         other { $($other:tt)* }
///     ) => {
///         const CALLBACKS: &[&str] = &[$(stringify!($name)),*];
///     };
/// }
/// proxywasm_abi::for_each_export!(callbacks);
/// assert!(CALLBACKS.contains(&"proxy_on_request_headers"));
/// assert!(!CALLBACKS.contains(&"proxy_on_memory_allocate"));
/// ```
#[macro_export]
macro_rules! for_each_export {
    ($($callback:ident)::+) => {
        $crate::for_each_export! { @with [] $($callback)::+ }
    };
    ($($callback:ident)::+ [$($extra:tt)*]) => {
        $crate::for_each_export! { @with [$($extra)*] $($callback)::+ }
    };
    (@with [$($extra:tt)*] $($callback:ident)::+) => {
        $($callback)::+! {
            $($extra)*
            callbacks {
                /// Module start-up (the reactor's `_initialize`); a host follows it
                /// with `main` or `__main_void` when exported.
                [start] fn _initialize = Initialize();
                /// A context was created (`parent_id` 0: a root context).
                [core] fn proxy_on_context_create = ContextCreate(context_id: u32, parent_id: u32);
                /// The VM started; non-zero means success.
                [core] fn proxy_on_vm_start = VmStart(context_id: u32, configuration_size: usize) -> u32;
                /// The plugin is configured; non-zero means success.
                [core] fn proxy_on_configure = Configure(context_id: u32, configuration_size: usize) -> u32;
                /// The root context's timer fired.
                [root] fn proxy_on_tick = Tick(context_id: u32);
                /// A shared queue this root context registered has items.
                [root] fn proxy_on_queue_ready = QueueReady(context_id: u32, queue_id: u32);
                /// A foreign function addressed the plugin (Envoy never calls it).
                [root] fn proxy_on_foreign_function = ForeignFunction(
                    context_id: u32, function_id: u32, arguments_size: usize);
                /// Envoy's DNS answer; the data is in the call-data buffer.
                [root] fn envoy_on_resolve_dns = ResolveDns(context_id: u32, token: u32, data_size: usize);
                /// A TCP connection opened; 0 continues.
                [tcp] fn proxy_on_new_connection = NewConnection(context_id: u32) -> u32;
                /// Bytes from downstream; 0 continues.
                [tcp] fn proxy_on_downstream_data = DownstreamData(
                    context_id: u32, data_size: usize, end_of_stream: bool) -> u32;
                /// Bytes from upstream; 0 continues.
                [tcp] fn proxy_on_upstream_data = UpstreamData(
                    context_id: u32, data_size: usize, end_of_stream: bool) -> u32;
                /// The downstream side closed.
                [tcp] fn proxy_on_downstream_connection_close = DownstreamConnectionClose(context_id: u32, peer_type: u32);
                /// The upstream side closed.
                [tcp] fn proxy_on_upstream_connection_close = UpstreamConnectionClose(context_id: u32, peer_type: u32);
                /// Request headers arrived; returns a header status.
                [http] fn proxy_on_request_headers = RequestHeaders(
                    context_id: u32, num_headers: usize, end_of_stream: bool) -> u32;
                /// Request body bytes arrived; returns a data status.
                [http] fn proxy_on_request_body = RequestBody(context_id: u32, body_size: usize, end_of_stream: bool) -> u32;
                /// Request trailers arrived; returns a trailers status.
                [http] fn proxy_on_request_trailers = RequestTrailers(context_id: u32, num_trailers: usize) -> u32;
                /// Response headers arrived; returns a header status.
                [http] fn proxy_on_response_headers = ResponseHeaders(
                    context_id: u32, num_headers: usize, end_of_stream: bool) -> u32;
                /// Response body bytes arrived; returns a data status.
                [http] fn proxy_on_response_body = ResponseBody(
                    context_id: u32, body_size: usize, end_of_stream: bool) -> u32;
                /// Response trailers arrived; returns a trailers status.
                [http] fn proxy_on_response_trailers = ResponseTrailers(context_id: u32, num_trailers: usize) -> u32;
                /// The response to an HTTP call.
                [core] fn proxy_on_http_call_response = HttpCallResponse(
                    context_id: u32, token: u32, num_headers: usize, body_size: usize, num_trailers: usize);
                /// Initial metadata of a gRPC call or stream.
                [core] fn proxy_on_grpc_receive_initial_metadata = GrpcReceiveInitialMetadata(
                    context_id: u32, token: u32, num_elements: usize);
                /// A gRPC message.
                [core] fn proxy_on_grpc_receive = GrpcReceive(context_id: u32, token: u32, message_size: usize);
                /// Trailing metadata of a gRPC call or stream.
                [core] fn proxy_on_grpc_receive_trailing_metadata = GrpcReceiveTrailingMetadata(
                    context_id: u32, token: u32, num_elements: usize);
                /// A gRPC call or stream closed with a status.
                [core] fn proxy_on_grpc_close = GrpcClose(context_id: u32, token: u32, status_code: u32);
                /// The host wants to remove the context; non-zero means done now.
                [core] fn proxy_on_done = Done(context_id: u32) -> u32;
                /// The stream or connection is complete: the last chance to log.
                [core] fn proxy_on_log = Log(context_id: u32);
                /// The context is gone.
                [core] fn proxy_on_delete = Delete(context_id: u32);
            }
            other {
                /// The ABI version marker; never called.
                fn proxy_abi_version_0_2_1();
                /// The allocation function the host hands results through.
                fn proxy_on_memory_allocate(size: usize) -> u32;
                /// Preferred by Envoy over `proxy_on_memory_allocate` when exported.
                fn malloc(size: usize) -> u32;
                /// Start-up of a command module (without `_initialize`).
                fn _start();
                /// Called after `_initialize` when exported.
                fn main(argc: u32, argv: u32) -> u32;
                /// Called after `_initialize` when exported and `main` is not.
                fn __main_void() -> u32;
                /// Looked up but not called by Envoy's configuration path.
                fn proxy_validate_configuration(context_id: u32, configuration_size: usize) -> u32;
                /// Request metadata; Envoy treats every result as Continue.
                fn proxy_on_request_metadata(context_id: u32, num_elements: usize) -> u32;
                /// Response metadata; Envoy treats every result as Continue.
                fn proxy_on_response_metadata(context_id: u32, num_elements: usize) -> u32;
                /// Envoy's stats-sink callback.
                fn envoy_on_stats_update(context_id: u32, data_size: usize);
            }
        }
    };
}

// ---- what this crate generates from the tables -------------------------------------------------

/// The [`Role`] of a token.
#[rustfmt::skip]
macro_rules! role {
    (u32) => { Role::U32 };
    (i32) => { Role::I32 };
    (u64) => { Role::U64 };
    (i64) => { Role::I64 };
    (bool) => { Role::Bool };
    (usize) => { Role::Usize };
    (in_ptr) => { Role::InPtr };
    (in_size) => { Role::InSize };
    (out_ptr) => { Role::OutPtr };
    (out_size) => { Role::OutSize };
    (out_u32) => { Role::OutU32 };
    (out_u64) => { Role::OutU64 };
    (out_usize) => { Role::OutUsize };
    (status) => { Role::Status };
}

/// The [`WasmType`] of a token.
#[rustfmt::skip]
macro_rules! wasm {
    (u64) => { WasmType::I64 };
    (i64) => { WasmType::I64 };
    ($other:ident) => { WasmType::I32 };
}

/// The [`Function`] of a row; `$result` is a role token or nothing.
macro_rules! function {
    ($name:ident($($arg:ident: $role:ident),*) $($result:ident)?) => {
        Function {
            name: stringify!($name),
            params: &[$(Param { name: stringify!($arg), role: role!($role) }),*],
            result: function!(@result $($result)?),
            signature: Signature {
                params: &[$(wasm!($role)),*],
                results: &[$(wasm!($result))?],
            },
        }
    };
    (@result) => { None };
    (@result $result:ident) => { Some(role!($result)) };
}

macro_rules! imports {
    ($( $(#[$doc:meta])* fn $name:ident = $op:ident($($arg:ident: $role:ident),* $(,)?); )*) => {
        /// Every row of [`for_each_import!`]: the host functions of module
        /// `env` for ABI v0.2.1. Each returns a status.
        ///
        /// ```
        /// let metric = proxywasm_abi::import("proxy_record_metric").unwrap();
        /// assert_eq!(metric.signature.to_string(), "(i32, i64) -> i32");
        /// assert!(proxywasm_abi::IMPORTS.iter().all(|f| f.result == Some(proxywasm_abi::Role::Status)));
        /// ```
        pub const IMPORTS: &[Function] = &[$(function!($name($($arg: $role),*) status)),*];
    };
}
for_each_import!(imports);

macro_rules! exports {
    (
        callbacks { $( $(#[$doc:meta])* [$group:ident] fn $name:ident = $variant:ident($($arg:ident: $role:ident),* $(,)?) $(-> $ret:ident)?; )* }
        other { $( $(#[$odoc:meta])* fn $oname:ident($($oarg:ident: $orole:ident),* $(,)?) $(-> $oret:ident)?; )* }
    ) => {
        /// Every row of [`for_each_export!`], both sections: the exports
        /// Envoy looks up by name, with the type it requires. A present export
        /// of another type fails the load; an absent one means the default.
        ///
        /// ```
        /// let headers = proxywasm_abi::export("proxy_on_request_headers").unwrap();
        /// assert_eq!(headers.signature.to_string(), "(i32, i32, i32) -> i32");
        /// assert!(proxywasm_abi::export("malloc").is_some());
        /// ```
        pub const EXPORTS: &[Function] = &[
            $(function!($name($($arg: $role),*) $($ret)?),)*
            $(function!($oname($($oarg: $orole),*) $($oret)?),)*
        ];

        /// The most arguments a callback takes.
        const MAX_ARGS: usize = max(&[$(<[()]>::len(&[$(exports!(@unit $arg)),*])),*]);

        export_enum! { [] $( $(#[$doc])* $variant($($arg: $role),*) )* }

        impl Export {
            /// The export's name in the module.
            ///
            /// ```
            /// assert_eq!(proxywasm_abi::Export::Tick { context_id: 1 }.name(), "proxy_on_tick");
            /// assert_eq!(proxywasm_abi::Export::Initialize.name(), "_initialize");
            /// ```
            pub const fn name(&self) -> &'static str {
                match self {
                    $(Export::$variant { .. } => stringify!($name),)*
                }
            }

            /// The export's row: arguments with their roles, result, wasm type.
            ///
            /// ```
            /// let f = proxywasm_abi::Export::Log { context_id: 2 }.function();
            /// assert_eq!(f.params[0].name, "context_id");
            /// ```
            pub const fn function(&self) -> &'static Function {
                match self {
                    $(Export::$variant { .. } => {
                        const ROW: Function = function!($name($($arg: $role),*) $($ret)?);
                        &ROW
                    })*
                }
            }

            /// The wasm argument values, in order (booleans as 0 or 1; every
            /// value zero-extended to 64 bits: an `i32` argument is the low 32).
            ///
            /// ```
            /// use proxywasm_abi::Export;
            /// let export = Export::RequestHeaders { context_id: 2, num_headers: 3, end_of_stream: true };
            /// assert_eq!(export.args().as_slice(), &[2, 3, 1]);
            /// assert!(Export::Initialize.args().is_empty());
            /// ```
            pub const fn args(&self) -> Args {
                match *self {
                    $(Export::$variant { $($arg),* } => Args::new(&[$($arg as u64),*]),)*
                }
            }
        }
    };
    (@unit $arg:ident) => { () };
}

/// Builds [`Export`] from the callback rows: a unit variant for a callback
/// without arguments, a struct variant otherwise.
macro_rules! export_enum {
    ([$($done:tt)*]) => {
        /// One call of a callback export: which one, and its arguments, named
        /// as in [`for_each_export!`] (`i32` arguments as `u32`, booleans as
        /// `bool`). [`Export::name`] and [`Export::args`] are what a host
        /// passes to the module.
        ///
        /// ```
        /// use proxywasm_abi::Export;
        /// let export = Export::ResponseBody { context_id: 2, body_size: 5, end_of_stream: false };
        /// assert_eq!(export.name(), "proxy_on_response_body");
        /// assert_eq!(export.context_id(), 2);
        /// assert!(export.returns_value());
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Export { $($done)* }
    };
    ([$($done:tt)*] $(#[$doc:meta])* $variant:ident() $($rest:tt)*) => {
        export_enum! { [$($done)* $(#[$doc])* $variant,] $($rest)* }
    };
    ([$($done:tt)*] $(#[$doc:meta])* $variant:ident($($arg:ident: $role:ident),+) $($rest:tt)*) => {
        export_enum! {
            [$($done)* $(#[$doc])* $variant { $(#[doc = concat!("The `", stringify!($arg), "` argument.")] $arg: export_enum!(@field $role)),+ },]
            $($rest)*
        }
    };
    (@field bool) => { bool };
    (@field u64) => { u64 };
    (@field i64) => { u64 };
    (@field $other:ident) => { u32 };
}

for_each_export!(exports);

const fn max(values: &[usize]) -> usize {
    let mut most = 0;
    let mut i = 0;
    while i < values.len() {
        if values[i] > most {
            most = values[i];
        }
        i += 1;
    }
    most
}

impl Export {
    /// Whether the export returns a value (an `i32`: a filter status, a
    /// start or configure result, `on_done`'s answer).
    ///
    /// ```
    /// assert!(!proxywasm_abi::Export::Log { context_id: 2 }.returns_value());
    /// assert!(proxywasm_abi::Export::Done { context_id: 2 }.returns_value());
    /// ```
    pub const fn returns_value(&self) -> bool {
        self.function().result.is_some()
    }

    /// The context the callback addresses: its first argument (0 for
    /// `_initialize`, which runs in the VM context).
    ///
    /// ```
    /// assert_eq!(proxywasm_abi::Export::Done { context_id: 4 }.context_id(), 4);
    /// assert_eq!(proxywasm_abi::Export::Initialize.context_id(), 0);
    /// ```
    pub const fn context_id(&self) -> u32 {
        match self.args().as_slice() {
            [first, ..] => *first as u32,
            [] => 0,
        }
    }
}

/// The wasm argument values of one [`Export`] call: a small fixed array.
///
/// ```
/// let args = proxywasm_abi::Export::QueueReady { context_id: 1, queue_id: 7 }.args();
/// assert_eq!(args.len(), 2);
/// assert_eq!(args.iter().copied().collect::<Vec<u64>>(), vec![1, 7]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Args {
    values: [u64; MAX_ARGS],
    len: usize,
}

impl Args {
    const fn new(values: &[u64]) -> Args {
        let mut args = Args {
            values: [0; MAX_ARGS],
            len: values.len(),
        };
        let mut i = 0;
        while i < values.len() {
            args.values[i] = values[i];
            i += 1;
        }
        args
    }

    /// The values, in order.
    ///
    /// ```
    /// let args = proxywasm_abi::Export::Tick { context_id: 3 }.args();
    /// assert_eq!(args.as_slice(), &[3]);
    /// ```
    pub const fn as_slice(&self) -> &[u64] {
        self.values.split_at(self.len).0
    }
}

impl Deref for Args {
    type Target = [u64];

    fn deref(&self) -> &[u64] {
        self.as_slice()
    }
}

// ---- the rest of what Envoy links --------------------------------------------------------------

use WasmType::{I32, I64};

const fn sig(params: &'static [WasmType], results: &'static [WasmType]) -> Signature {
    Signature { params, results }
}

const STATUS: &[WasmType] = &[I32];
const NONE: &[WasmType] = &[];

/// Functions Envoy registers in `env` for every module besides the Proxy-Wasm
/// ones: two emscripten shims.
///
/// ```
/// let (name, sig) = proxywasm_abi::ENV_SHIMS[0];
/// assert_eq!((name, sig.to_string().as_str()), ("pthread_equal", "(i32, i32) -> i32"));
/// ```
pub const ENV_SHIMS: &[(&str, Signature)] = &[
    ("pthread_equal", sig(&[I32, I32], STATUS)),
    ("emscripten_notify_memory_growth", sig(&[I32], NONE)),
];

/// The two module names Envoy registers the WASI functions under (the same
/// set in each).
///
/// ```
/// assert!(proxywasm_abi::WASI_MODULES.contains(&"wasi_snapshot_preview1"));
/// ```
pub const WASI_MODULES: [&str; 2] = ["wasi_snapshot_preview1", "wasi_unstable"];

/// Every WASI preview 1 function Envoy registers, with the exact type it
/// registers (for `path_link` and `path_symlink` not the WASI standard's:
/// Envoy's shim declares them with 6 and 4 parameters).
///
/// ```
/// let clock = proxywasm_abi::WASI_IMPORTS.iter().find(|(n, _)| *n == "clock_time_get").unwrap();
/// assert_eq!(clock.1.to_string(), "(i32, i64, i32) -> i32");
/// ```
pub const WASI_IMPORTS: &[(&str, Signature)] = &[
    ("fd_write", sig(&[I32, I32, I32, I32], STATUS)),
    ("fd_read", sig(&[I32, I32, I32, I32], STATUS)),
    ("fd_seek", sig(&[I32, I64, I32, I32], STATUS)),
    ("fd_close", sig(&[I32], STATUS)),
    ("fd_fdstat_get", sig(&[I32, I32], STATUS)),
    ("fd_fdstat_set_flags", sig(&[I32, I32], STATUS)),
    ("fd_prestat_get", sig(&[I32, I32], STATUS)),
    ("fd_prestat_dir_name", sig(&[I32, I32, I32], STATUS)),
    ("fd_filestat_get", sig(&[I32, I32], STATUS)),
    (
        "path_open",
        sig(&[I32, I32, I32, I32, I32, I64, I64, I32, I32], STATUS),
    ),
    ("path_filestat_get", sig(&[I32, I32, I32, I32, I32], STATUS)),
    ("environ_sizes_get", sig(&[I32, I32], STATUS)),
    ("environ_get", sig(&[I32, I32], STATUS)),
    ("args_sizes_get", sig(&[I32, I32], STATUS)),
    ("args_get", sig(&[I32, I32], STATUS)),
    ("clock_time_get", sig(&[I32, I64, I32], STATUS)),
    ("clock_res_get", sig(&[I32, I32], STATUS)),
    ("random_get", sig(&[I32, I32], STATUS)),
    ("sched_yield", sig(NONE, STATUS)),
    ("poll_oneoff", sig(&[I32, I32, I32, I32], STATUS)),
    ("proc_exit", sig(&[I32], NONE)),
    // The newer stubs.
    ("fd_advise", sig(&[I32, I64, I64, I32], STATUS)),
    ("fd_allocate", sig(&[I32, I64, I64], STATUS)),
    ("fd_datasync", sig(&[I32], STATUS)),
    ("fd_fdstat_set_rights", sig(&[I32, I64, I64], STATUS)),
    ("fd_filestat_set_size", sig(&[I32, I64], STATUS)),
    ("fd_filestat_set_times", sig(&[I32, I64, I64, I32], STATUS)),
    ("fd_pread", sig(&[I32, I32, I32, I64, I32], STATUS)),
    ("fd_pwrite", sig(&[I32, I32, I32, I64, I32], STATUS)),
    ("fd_readdir", sig(&[I32, I32, I32, I64, I32], STATUS)),
    ("fd_renumber", sig(&[I32, I32], STATUS)),
    ("fd_sync", sig(&[I32], STATUS)),
    ("fd_tell", sig(&[I32, I32], STATUS)),
    ("path_create_directory", sig(&[I32, I32, I32], STATUS)),
    (
        "path_filestat_set_times",
        sig(&[I32, I32, I32, I32, I64, I64, I32], STATUS),
    ),
    ("path_link", sig(&[I32, I32, I32, I32, I32, I32], STATUS)),
    (
        "path_readlink",
        sig(&[I32, I32, I32, I32, I32, I32], STATUS),
    ),
    ("path_remove_directory", sig(&[I32, I32, I32], STATUS)),
    ("path_rename", sig(&[I32, I32, I32, I32, I32, I32], STATUS)),
    ("path_symlink", sig(&[I32, I32, I32, I32], STATUS)),
    ("path_unlink_file", sig(&[I32, I32, I32], STATUS)),
    ("sock_accept", sig(&[I32, I32, I32], STATUS)),
    ("sock_recv", sig(&[I32, I32, I32, I32, I32, I32], STATUS)),
    ("sock_send", sig(&[I32, I32, I32, I32, I32], STATUS)),
    ("sock_shutdown", sig(&[I32, I32], STATUS)),
];

/// `env` functions Envoy registers only for ABI v0.1.0: a v0.2.1 module that
/// imports one of them does not load.
///
/// ```
/// assert!(proxywasm_abi::ABI_0_1_0_ONLY.contains(&"proxy_continue_request"));
/// assert!(proxywasm_abi::import("proxy_continue_request").is_none());
/// ```
pub const ABI_0_1_0_ONLY: &[&str] = &[
    "proxy_get_configuration",
    "proxy_continue_request",
    "proxy_continue_response",
    "proxy_clear_route_cache",
];

/// The ABI version markers Envoy knows; the first one found in a module's
/// export section decides its ABI. This crate's tables are v0.2.1's.
///
/// ```
/// assert_eq!(proxywasm_abi::ABI_MARKERS[2], "proxy_abi_version_0_2_1");
/// assert!(proxywasm_abi::export(proxywasm_abi::ABI_MARKERS[2]).is_some());
/// ```
pub const ABI_MARKERS: [&str; 3] = [
    "proxy_abi_version_0_1_0",
    "proxy_abi_version_0_2_0",
    "proxy_abi_version_0_2_1",
];

/// The import row named `name`, if Envoy registers it for ABI v0.2.1.
///
/// ```
/// assert_eq!(proxywasm_abi::import("proxy_done").unwrap().signature.to_string(), "() -> i32");
/// assert!(proxywasm_abi::import("pthread_equal").is_none()); // a shim, see ENV_SHIMS
/// ```
pub fn import(name: &str) -> Option<&'static Function> {
    IMPORTS.iter().find(|f| f.name == name)
}

/// The export row named `name`, if Envoy looks it up.
///
/// ```
/// assert_eq!(proxywasm_abi::export("proxy_on_memory_allocate").unwrap().signature.to_string(), "(i32) -> i32");
/// assert!(proxywasm_abi::export("proxy_on_request_header").is_none());
/// ```
pub fn export(name: &str) -> Option<&'static Function> {
    EXPORTS.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unique(names: impl Iterator<Item = &'static str>) -> bool {
        let names: [&str; 128] = {
            let mut all = [""; 128];
            for (slot, name) in all.iter_mut().zip(names) {
                *slot = name;
            }
            all
        };
        let used = names.iter().filter(|n| !n.is_empty());
        used.clone()
            .enumerate()
            .all(|(i, a)| used.clone().skip(i + 1).all(|b| a != b))
    }

    #[test]
    fn names_are_unique_in_each_table() {
        assert!(unique(IMPORTS.iter().map(|f| f.name)));
        assert!(unique(EXPORTS.iter().map(|f| f.name)));
        assert!(unique(WASI_IMPORTS.iter().map(|(n, _)| *n)));
    }

    #[test]
    fn roles_agree_with_the_wasm_types_and_pair_up() {
        for f in IMPORTS.iter().chain(EXPORTS) {
            assert_eq!(f.params.len(), f.signature.params.len(), "{}", f.name);
            for (p, t) in f.params.iter().zip(f.signature.params) {
                assert_eq!(p.role.wasm_type(), *t, "{}", f.name);
            }
            for (i, p) in f.params.iter().enumerate() {
                let next = f.params.get(i + 1).map(|n| n.role);
                match p.role {
                    Role::InPtr => assert_eq!(next, Some(Role::InSize), "{}", f.name),
                    Role::OutPtr => assert_eq!(next, Some(Role::OutSize), "{}", f.name),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn only_metric_values_are_i64() {
        let wide: [&str; 2] = ["proxy_increment_metric", "proxy_record_metric"];
        for f in IMPORTS {
            let has_i64 = f.signature.params.contains(&WasmType::I64);
            assert_eq!(has_i64, wide.contains(&f.name), "{}", f.name);
        }
        // 36 for every ABI version, 2 since 0.2.0, 1 since 0.2.1, and Envoy's
        // envoy_resolve_dns.
        assert_eq!(IMPORTS.len(), 40);
    }

    #[test]
    fn every_callback_starts_with_its_context() {
        for f in EXPORTS {
            if f.name.starts_with("proxy_on_") && f.name != "proxy_on_memory_allocate" {
                assert_eq!(f.params[0].name, "context_id", "{}", f.name);
            }
        }
        let call = Export::HttpCallResponse {
            context_id: 1,
            token: 2,
            num_headers: 3,
            body_size: 4,
            num_trailers: 5,
        };
        assert_eq!(call.args().as_slice(), &[1, 2, 3, 4, 5]);
        assert_eq!(call.function().signature.params.len(), 5);
    }
}

//! The `proxy_on_*` exports (abi.md §3.1): each is a trampoline that decodes
//! wire arguments and calls the installed dispatcher. With no dispatcher (only
//! possible natively without a mock host) they answer the ABI's defaults.
//!
//! On wasm, `#[proxywasm::main]` emits them in the plugin crate from the
//! table below, over the plugin's concretely typed dispatcher. Natively the
//! same table yields ordinary functions, which the mock host calls exactly as
//! a real host calls the exports.
//! `proxy_on_request_metadata`/`proxy_on_response_metadata` are deliberately
//! absent: Envoy treats an absent export as Continue, which is all it honours.

/// The ABI version marker Envoy scans the export section for. Never called.
#[cfg_attr(target_family = "wasm", unsafe(no_mangle))]
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
pub(crate) extern "C" fn proxy_abi_version_0_2_1() {}

/// The export table, written once. Two modes:
///
/// * `__proxywasm_exports!(native)` (inside this crate, natively): trampolines
///   that find the dispatcher the mock or engine host installed on this thread;
/// * `__proxywasm_exports!(SLOT)` (in the plugin crate, on wasm, invoked by
///   `#[proxywasm::main]`): `#[no_mangle]` exports calling the plugin's own
///   dispatcher in the `static` `SLOT` (a [`ModuleStatic`]), whose concrete type lets LLVM
///   inline each callback into its export (no vtable, no pointer chase, no
///   allocation).
#[doc(hidden)]
#[macro_export]
macro_rules! __proxywasm_exports {
    (@one native $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? = |$d:ident| $body:expr, or $default:expr) => {
        // "C-unwind": natively a panic in plugin code must reach the test that
        // drove the export (and fail it), not abort the whole test binary.
        #[allow(dead_code)]
        pub(crate) extern "C-unwind" fn $name($($arg: $ty),*) $(-> $ret)? {
            match $crate::dispatch::current() {
                ::core::option::Option::Some(handle) => {
                    let $d = &*handle;
                    $body
                }
                ::core::option::Option::None => $default,
            }
        }
    };
    (@one ($slot:path) $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:ty)? = |$d:ident| $body:expr, or $default:expr) => {
        #[unsafe(no_mangle)]
        extern "C" fn $name($($arg: $ty),*) $(-> $ret)? {
            $slot.with(|$d| $body)
        }
    };
    (@core $mode:tt) => {
        $crate::__proxywasm_exports! { @one $mode proxy_on_context_create(context_id: u32, parent_id: u32) =
            |d| $crate::__private::Dispatch::context_create(d, context_id, parent_id), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_vm_start(context_id: u32, configuration_size: usize) -> u32 =
            |d| $crate::__private::Dispatch::root(d, context_id, $crate::__private::Call::VmStart, 0, configuration_size), or 0 }
        $crate::__proxywasm_exports! { @one $mode proxy_on_configure(context_id: u32, configuration_size: usize) -> u32 =
            |d| $crate::__private::Dispatch::root(d, context_id, $crate::__private::Call::Configure, 0, configuration_size), or 0 }
        $crate::__proxywasm_exports! { @one $mode proxy_on_http_call_response(context_id: u32, token: u32, num_headers: usize, body_size: usize, num_trailers: usize) =
            |d| $crate::__private::Dispatch::http_call_response(d, context_id, token, num_headers, body_size, num_trailers), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_grpc_receive_initial_metadata(context_id: u32, token: u32, num_elements: usize) =
            |d| $crate::__private::Dispatch::grpc(d, context_id, token, $crate::__private::Call::GrpcInitialMetadata, num_elements), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_grpc_receive(context_id: u32, token: u32, message_size: usize) =
            |d| $crate::__private::Dispatch::grpc(d, context_id, token, $crate::__private::Call::GrpcMessage, message_size), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_grpc_receive_trailing_metadata(context_id: u32, token: u32, num_elements: usize) =
            |d| $crate::__private::Dispatch::grpc(d, context_id, token, $crate::__private::Call::GrpcTrailingMetadata, num_elements), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_grpc_close(context_id: u32, token: u32, status_code: u32) =
            |d| $crate::__private::Dispatch::grpc(d, context_id, token, $crate::__private::Call::GrpcClose, status_code as usize), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_done(context_id: u32) -> u32 =
            |d| $crate::__private::Dispatch::done(d, context_id), or 1 }
        $crate::__proxywasm_exports! { @one $mode proxy_on_log(context_id: u32) =
            |d| $crate::__private::Dispatch::log(d, context_id), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_delete(context_id: u32) =
            |d| $crate::__private::Dispatch::delete(d, context_id), or () }
    };
    (@root $mode:tt) => {
        $crate::__proxywasm_exports! { @one $mode proxy_on_tick(context_id: u32) =
            |d| { $crate::__private::Dispatch::root(d, context_id, $crate::__private::Call::Tick, 0, 0); }, or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_queue_ready(context_id: u32, queue_id: u32) =
            |d| { $crate::__private::Dispatch::root(d, context_id, $crate::__private::Call::QueueReady, queue_id, 0); }, or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_foreign_function(context_id: u32, function_id: u32, arguments_size: usize) =
            |d| { $crate::__private::Dispatch::root(d, context_id, $crate::__private::Call::Foreign, function_id, arguments_size); }, or () }
        $crate::__proxywasm_exports! { @one $mode envoy_on_resolve_dns(context_id: u32, token: u32, data_size: usize) =
            |d| { $crate::__private::Dispatch::root(d, context_id, $crate::__private::Call::Dns, token, data_size); }, or () }
    };
    (@tcp $mode:tt) => {
        $crate::__proxywasm_exports! { @one $mode proxy_on_new_connection(context_id: u32) -> u32 =
            |d| $crate::__private::Dispatch::new_connection(d, context_id), or 0 }
        $crate::__proxywasm_exports! { @one $mode proxy_on_downstream_data(context_id: u32, data_size: usize, end_of_stream: u32) -> u32 =
            |d| $crate::__private::Dispatch::downstream_data(d, context_id, data_size, end_of_stream != 0), or 0 }
        $crate::__proxywasm_exports! { @one $mode proxy_on_upstream_data(context_id: u32, data_size: usize, end_of_stream: u32) -> u32 =
            |d| $crate::__private::Dispatch::upstream_data(d, context_id, data_size, end_of_stream != 0), or 0 }
        $crate::__proxywasm_exports! { @one $mode proxy_on_downstream_connection_close(context_id: u32, peer_type: u32) =
            |d| $crate::__private::Dispatch::downstream_close(d, context_id, peer_type), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_upstream_connection_close(context_id: u32, peer_type: u32) =
            |d| $crate::__private::Dispatch::upstream_close(d, context_id, peer_type), or () }
    };
    (@http $mode:tt) => {
        $crate::__proxywasm_exports! { @one $mode proxy_on_request_headers(context_id: u32, num_headers: usize, end_of_stream: u32) -> u32 =
            |d| $crate::__private::Dispatch::request_headers(d, context_id, num_headers, end_of_stream != 0), or 0 }
        $crate::__proxywasm_exports! { @one $mode proxy_on_request_body(context_id: u32, body_size: usize, end_of_stream: u32) -> u32 =
            |d| $crate::__private::Dispatch::request_body(d, context_id, body_size, end_of_stream != 0), or 0 }
        $crate::__proxywasm_exports! { @one $mode proxy_on_request_trailers(context_id: u32, num_trailers: usize) -> u32 =
            |d| $crate::__private::Dispatch::request_trailers(d, context_id, num_trailers), or 0 }
        $crate::__proxywasm_exports! { @one $mode proxy_on_response_headers(context_id: u32, num_headers: usize, end_of_stream: u32) -> u32 =
            |d| $crate::__private::Dispatch::response_headers(d, context_id, num_headers, end_of_stream != 0), or 0 }
        $crate::__proxywasm_exports! { @one $mode proxy_on_response_body(context_id: u32, body_size: usize, end_of_stream: u32) -> u32 =
            |d| $crate::__private::Dispatch::response_body(d, context_id, body_size, end_of_stream != 0), or 0 }
        $crate::__proxywasm_exports! { @one $mode proxy_on_response_trailers(context_id: u32, num_trailers: usize) -> u32 =
            |d| $crate::__private::Dispatch::response_trailers(d, context_id, num_trailers), or 0 }
    };
    (@all $mode:tt) => {
        $crate::__proxywasm_exports! { @core $mode }
        $crate::__proxywasm_exports! { @root $mode }
        $crate::__proxywasm_exports! { @tcp $mode }
        $crate::__proxywasm_exports! { @http $mode }
    };
    (native) => {
        $crate::__proxywasm_exports! { @all native }
    };
    ($slot:path) => {
        $crate::__proxywasm_exports! { @all ($slot) }
    };
    // `#[proxywasm::main(http)]`: the plugin and VM contexts are the SDK's
    // own, which ignore plugin-level events, and there are no TCP contexts,
    // so those exports are left out (an absent export is a no-op to Envoy).
    ($slot:path, http) => {
        $crate::__proxywasm_exports! { @core ($slot) }
        $crate::__proxywasm_exports! { @http ($slot) }
    };
    // `#[proxywasm::main(tcp)]`: likewise without the HTTP stream exports.
    ($slot:path, tcp) => {
        $crate::__proxywasm_exports! { @core ($slot) }
        $crate::__proxywasm_exports! { @tcp ($slot) }
    };
}

/// The holder of a module-wide value on wasm (the plugin's dispatcher, which
/// `#[proxywasm::main]` keeps in a plain `static`): a wasm module without the
/// `atomics` feature runs on exactly one thread, so `Cell`s inside need no
/// thread-local indirection. Not API (reachable for macro output).
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct ModuleStatic<T>(pub T);

// SAFETY: implemented only for wasm targets without the `atomics` target
// feature, where the module has a single thread: the value is never reachable
// from two threads, so it is never shared across threads at all.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
unsafe impl<T> Sync for ModuleStatic<T> {}

impl<T> ModuleStatic<T> {
    /// Runs `f` on the value (the shape of `LocalKey::with`, which the export
    /// table calls).
    #[inline(always)]
    pub fn with<R>(&'static self, f: impl FnOnce(&'static T) -> R) -> R {
        f(&self.0)
    }
}

#[cfg(not(target_family = "wasm"))]
crate::__proxywasm_exports!(native);

/// Natively, module start-up is the test's `on_initialize` code, which the
/// mock host runs itself: there is nothing to call.
#[cfg(all(not(target_family = "wasm"), feature = "mock-host"))]
fn _initialize() {}

/// Natively: [`call_native`], one arm per callback of the ABI table.
#[cfg(all(not(target_family = "wasm"), feature = "mock-host"))]
macro_rules! native_calls {
    (
        callbacks { $( $(#[$doc:meta])* fn $name:ident = $variant:ident($($arg:ident: $role:ident),*) $(-> $ret:ident)?; )* }
        other { $($other:tt)* }
    ) => {
        /// Calls the native trampoline of `export` with its arguments, as a
        /// host calls the export, and returns its result (0 for an export
        /// without one).
        pub(crate) fn call_native(export: proxywasm_abi::Export) -> u32 {
            match export {
                $(proxywasm_abi::Export::$variant { $($arg),* } => {
                    native_calls!(@call $name($(native_calls!(@arg $role, $arg)),*) $($ret)?)
                })*
                _ => 0,
            }
        }
    };
    (@call $name:ident($($arg:expr),*)) => {{
        $name($($arg),*);
        0
    }};
    (@call $name:ident($($arg:expr),*) u32) => {
        $name($($arg),*)
    };
    (@arg usize, $x:ident) => { $x as usize };
    (@arg bool, $x:ident) => { u32::from($x) };
    (@arg u32, $x:ident) => { $x };
}

#[cfg(all(not(target_family = "wasm"), feature = "mock-host"))]
proxywasm_abi::for_each_export!(native_calls);

#[cfg(target_os = "wasi")]
unsafe extern "C" {
    /// Runs static constructors (wasi-libc); the reactor start-up calls it once.
    fn __wasm_call_ctors();
}

/// Reactor start-up (abi.md §1.3), called by the `_initialize` export that
/// `#[proxywasm::main]` emits: runs static constructors, registers the
/// plugin's dispatcher with the host layer, and installs the logger and panic
/// hook. Envoy allows no hostcall but logging here, and this makes none.
#[cfg(target_family = "wasm")]
pub fn initialize(hooks: &'static dyn crate::dispatch::Hooks) {
    #[cfg(target_os = "wasi")]
    // SAFETY: called once by the host before any other export, as wasi-libc's
    // reactor model requires; it only runs constructors.
    unsafe {
        __wasm_call_ctors()
    };
    crate::dispatch::register(hooks);
}

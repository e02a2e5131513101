//! The `proxy_on_*` exports (book: reference/callbacks.md): each is a
//! trampoline that decodes wire arguments and calls the installed dispatcher.
//! With no dispatcher (only possible natively without a mock host) they answer
//! the ABI's defaults.
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
            match $crate::abi::exports::current() {
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
            |d| $crate::__private::Dispatch::vm_start(d, context_id, configuration_size), or 0 }
        $crate::__proxywasm_exports! { @one $mode proxy_on_configure(context_id: u32, configuration_size: usize) -> u32 =
            |d| $crate::__private::Dispatch::configure(d, context_id, configuration_size), or 0 }
        $crate::__proxywasm_exports! { @one $mode proxy_on_http_call_response(context_id: u32, token: u32, num_headers: usize, body_size: usize, num_trailers: usize) =
            |d| $crate::__private::Dispatch::http_call_response(d, context_id, token, num_headers, body_size, num_trailers), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_grpc_receive_initial_metadata(context_id: u32, token: u32, num_elements: usize) =
            |d| $crate::__private::Dispatch::grpc_initial_metadata(d, context_id, token, num_elements), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_grpc_receive(context_id: u32, token: u32, message_size: usize) =
            |d| $crate::__private::Dispatch::grpc_message(d, context_id, token, message_size), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_grpc_receive_trailing_metadata(context_id: u32, token: u32, num_elements: usize) =
            |d| $crate::__private::Dispatch::grpc_trailing_metadata(d, context_id, token, num_elements), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_grpc_close(context_id: u32, token: u32, status_code: u32) =
            |d| $crate::__private::Dispatch::grpc_close(d, context_id, token, status_code), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_done(context_id: u32) -> u32 =
            |d| $crate::__private::Dispatch::done(d, context_id), or 1 }
        $crate::__proxywasm_exports! { @one $mode proxy_on_log(context_id: u32) =
            |d| $crate::__private::Dispatch::log(d, context_id), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_delete(context_id: u32) =
            |d| $crate::__private::Dispatch::delete(d, context_id), or () }
    };
    (@root $mode:tt) => {
        $crate::__proxywasm_exports! { @one $mode proxy_on_tick(context_id: u32) =
            |d| $crate::__private::Dispatch::tick(d, context_id), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_queue_ready(context_id: u32, queue_id: u32) =
            |d| $crate::__private::Dispatch::queue_ready(d, context_id, queue_id), or () }
        $crate::__proxywasm_exports! { @one $mode proxy_on_foreign_function(context_id: u32, function_id: u32, arguments_size: usize) =
            |d| $crate::__private::Dispatch::foreign_function(d, context_id, function_id, arguments_size), or () }
        $crate::__proxywasm_exports! { @one $mode envoy_on_resolve_dns(context_id: u32, token: u32, data_size: usize) =
            |d| $crate::__private::Dispatch::resolve_dns(d, context_id, token, data_size), or () }
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

/// What the exports call: one method per export, with its wire arguments
/// (sizes as `usize`, flags as `bool`). Implemented once per plugin by the
/// dispatcher, which turns each into a typed event. Object-safe, so natively
/// the mock host can hold any plugin's dispatcher.
#[doc(hidden)]
#[allow(missing_docs)]
pub trait Dispatch {
    fn context_create(&self, id: u32, parent: u32);
    fn vm_start(&self, id: u32, configuration_size: usize) -> u32;
    fn configure(&self, id: u32, configuration_size: usize) -> u32;
    fn tick(&self, id: u32);
    fn queue_ready(&self, id: u32, queue: u32);
    fn foreign_function(&self, id: u32, function: u32, arguments_size: usize);
    fn resolve_dns(&self, id: u32, token: u32, data_size: usize);
    fn new_connection(&self, id: u32) -> u32;
    fn downstream_data(&self, id: u32, size: usize, end_of_stream: bool) -> u32;
    fn upstream_data(&self, id: u32, size: usize, end_of_stream: bool) -> u32;
    fn downstream_close(&self, id: u32, peer: u32);
    fn upstream_close(&self, id: u32, peer: u32);
    fn request_headers(&self, id: u32, count: usize, end_of_stream: bool) -> u32;
    fn request_body(&self, id: u32, size: usize, end_of_stream: bool) -> u32;
    fn request_trailers(&self, id: u32, count: usize) -> u32;
    fn response_headers(&self, id: u32, count: usize, end_of_stream: bool) -> u32;
    fn response_body(&self, id: u32, size: usize, end_of_stream: bool) -> u32;
    fn response_trailers(&self, id: u32, count: usize) -> u32;
    fn http_call_response(&self, id: u32, token: u32, headers: usize, body: usize, trailers: usize);
    fn grpc_initial_metadata(&self, id: u32, token: u32, count: usize);
    fn grpc_message(&self, id: u32, token: u32, size: usize);
    fn grpc_trailing_metadata(&self, id: u32, token: u32, count: usize);
    fn grpc_close(&self, id: u32, token: u32, status: u32);
    fn done(&self, id: u32) -> u32;
    fn log(&self, id: u32);
    fn delete(&self, id: u32);
}

/// How a dispatcher is held natively: reference-counted, one per mock VM,
/// installed on the thread around each call by the mock or engine host.
#[cfg(not(target_family = "wasm"))]
pub(crate) type Handle = std::rc::Rc<dyn Dispatch>;

#[cfg(not(target_family = "wasm"))]
std::thread_local! {
    static CURRENT: core::cell::RefCell<Option<Handle>> = const { core::cell::RefCell::new(None) };
}

/// The dispatcher installed on this thread (by the mock or engine host).
#[cfg(not(target_family = "wasm"))]
pub(crate) fn current() -> Option<Handle> {
    CURRENT.with(|c| c.try_borrow().ok().and_then(|h| h.clone()))
}

/// Installs `handle` as this thread's dispatcher, returning the previous one.
#[cfg(not(target_family = "wasm"))]
pub(crate) fn install(handle: Option<Handle>) -> Option<Handle> {
    CURRENT.with(|c| {
        c.try_borrow_mut()
            .map(|mut h| core::mem::replace(&mut *h, handle))
            .ok()
            .flatten()
    })
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

/// The first step of reactor start-up (book: reference/lifecycle.md#start-up-and-the-restricted-phase): runs static
/// constructors. Called once, by [`crate::dispatch::initialize`].
#[cfg(target_family = "wasm")]
pub(crate) fn call_constructors() {
    #[cfg(target_os = "wasi")]
    // SAFETY: called once by the host before any other export, as wasi-libc's
    // reactor model requires; it only runs constructors.
    unsafe {
        __wasm_call_ctors()
    };
}

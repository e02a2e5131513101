//! # proxywasm
//!
//! Write [Proxy-Wasm] plugins — filters that Envoy loads as WebAssembly — in
//! safe Rust, test them without a proxy, and ship small, fast modules.
//!
//! ```
//! use proxywasm::{Action, HttpContext, http, Result};
//!
//! struct AddHeader;
//!
//! impl HttpContext for AddHeader {
//!     fn on_response_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Result<Action> {
//!         if let Err(e) = http::response_headers().add("x-powered-by", "proxywasm") {
//!             proxywasm::log::warn!("could not add header: {e}");
//!         }
//!         Ok(Action::Continue)
//!     }
//! }
//!
//! #[proxywasm::main(http)]
//! fn filter(_id: proxywasm::ContextId) -> AddHeader {
//!     AddHeader
//! }
//! # let host = proxywasm::mock::MockHost::builder().http(filter);
//! # let mut stream = host.http_stream();
//! # stream.request_headers(&[(":path", "/")], true);
//! # stream.response_headers(&[(":status", "200")], true);
//! # assert_eq!(stream.current_response_header("x-powered-by").as_deref(), Some("proxywasm"));
//! ```
//!
//! Build with `cargo build --release --target wasm32-wasip1` and point Envoy's
//! `envoy.filters.http.wasm` at the `.wasm`. The book (`book/`) has the guide.
//!
//! ## Layers
//! * `abi` (private): the raw imports/exports and memory
//!   hand-off — the only module allowed raw-pointer code;
//! * host calls, by domain: [`http`], [`tcp`], [`callout`], [`shared`],
//!   [`metrics`], [`property`], [`attribute`], [`time`], [`plugin`], [`foreign`], [`dns`],
//!   [`logging`] — each returns [`Result`], never panics;
//! * the context traits: [`VmContext`], [`PluginContext`], [`HttpContext`],
//!   [`TcpContext`];
//! * the dispatcher, which routes every export to your context objects.
//!
//! ## Feature flags
//! Items a feature enables are marked with it in the API reference.
//!
//! * `macros` (default): [`#[proxywasm::main]`][main].
//! * `json`: [`Configuration::json`][json] — typed configuration with `serde`.
//! * `mock-host`: [`mock`][mock] — an in-process emulator of Envoy's host for
//!   native unit tests. Enable it in `[dev-dependencies]`; it never builds into
//!   a `.wasm`.
//! * `wee-alloc`: `wee_alloc` as the global allocator on `wasm32`. Opt-in
//!   only: it is unmaintained and leaked in the official SDK; it conflicts
//!   with a `#[global_allocator]` of your own. The default allocator needs no
//!   feature. See the book (Building: Choosing an allocator).
//!
//! [Proxy-Wasm]: https://github.com/proxy-wasm/spec
// A feature's item exists only with the feature: its link goes to the item
// when it is there (the first definition of a label wins), else to the
// feature list, so `cargo doc` builds with any feature set.
#![cfg_attr(feature = "macros", doc = "[main]: macro@main")]
#![cfg_attr(feature = "json", doc = "[json]: Configuration::json")]
#![cfg_attr(
    all(feature = "mock-host", not(target_family = "wasm")),
    doc = "[mock]: mod@mock"
)]
//! [main]: #feature-flags
//! [json]: #feature-flags
//! [mock]: #feature-flags
// Natively, the exports, the dispatcher handles and the logger installer are
// consumed by the mock host; without it they are legitimately unused.
#![cfg_attr(
    all(not(target_family = "wasm"), not(feature = "mock-host")),
    allow(dead_code)
)]
// docs.rs (`--cfg docsrs`, nightly) marks each item with the features it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![deny(rustdoc::broken_intra_doc_links)]
#![doc(test(attr(deny(warnings))))]

/// `From` both ways and `Display` (the plain number) for a newtype over an
/// integer (`$name.0`): the tokens, ids and status codes of the hostcall API.
macro_rules! integer_newtype {
    ($name:ident($int:ty)) => {
        impl From<$int> for $name {
            fn from(raw: $int) -> $name {
                $name(raw)
            }
        }

        impl From<$name> for $int {
            fn from(value: $name) -> $int {
                value.0
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                core::fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

/// An integer code type with named values (`$name.0` is the code), written
/// as rows `NAME = value,`: each row is `pub const NAME`; the type also gets
/// `new`, the getter named first (`fn code`), the conversions of
/// `integer_newtype!`, and, given a second name (`fn name`), that method,
/// which returns a row's name.
macro_rules! codes {
    ($module:ident::$name:ident($int:ty), fn $get:ident, fn $names:ident $rows:tt) => {
        codes!($module::$name($int), fn $get $rows);
        codes!(@names $names $module $name $rows);
    };
    ($module:ident::$name:ident($int:ty), fn $get:ident $rows:tt) => {
        codes!(@consts $module $name $get $int $rows);
        integer_newtype!($name($int));
    };
    (@consts $module:ident $name:ident $get:ident $int:ty { $($(#[$doc:meta])* $row:ident = $value:literal,)* }) => {
        impl $name {
            $($(#[$doc])* pub const $row: $name = $name($value);)*

            /// The value with this code; any code is kept as given.
            ///
            /// ```
            #[doc = concat!("use proxywasm::", stringify!($module), "::", stringify!($name), ";")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::new(7), ", stringify!($name), "::from(7));")]
            /// ```
            pub const fn new(code: $int) -> $name {
                $name(code)
            }

            /// The code.
            ///
            /// ```
            #[doc = concat!("use proxywasm::", stringify!($module), "::", stringify!($name), ";")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::new(7).", stringify!($get), "(), 7);")]
            /// ```
            pub const fn $get(self) -> $int {
                self.0
            }
        }
    };
    (@names $names:ident $module:ident $name:ident { $($(#[$doc:meta])* $row:ident = $value:literal,)* }) => {
        impl $name {
            /// The name of a named value (`"OK"`, …), or `None` for any
            /// other code.
            ///
            /// ```
            #[doc = concat!("use proxywasm::", stringify!($module), "::", stringify!($name), ";")]
            #[doc = concat!("assert_eq!(", stringify!($name), "::OK.", stringify!($names), "(), Some(\"OK\"));")]
            /// ```
            pub const fn $names(self) -> Option<&'static str> {
                Some(match self.0 {
                    $($value => stringify!($row),)*
                    _ => return None,
                })
            }
        }
    };
}

/// The one-line public functions of the hostcall API, written as rows:
/// * `fn name() -> Type(ID);` is `pub const fn name() -> Type { Type::new(ID) }`,
///   a handle on one host buffer or map (making it calls nothing; its methods
///   make the hostcalls);
/// * `fn name() = operation(DIRECTION);` is `pub fn name() -> Result<()>`, the
///   hostcall `proxy_<operation>` on that stream direction (`stream::DIRECTION`).
macro_rules! one_liners {
    () => {};
    ($(#[$doc:meta])* fn $name:ident() -> $ty:ident($id:expr); $($rest:tt)*) => {
        $(#[$doc])*
        pub const fn $name() -> $ty {
            $ty::new($id)
        }
        one_liners!($($rest)*);
    };
    ($(#[$doc:meta])* fn $name:ident() = $op:ident($dir:ident); $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $name() -> $crate::Result<()> {
            $crate::error::check(
                concat!("proxy_", stringify!($op)),
                $crate::abi::calls::$op($crate::abi::wire::stream::$dir),
            )
        }
        one_liners!($($rest)*);
    };
}

/// Builder setters, written as rows (in an `impl<'a>` block):
/// * `fn name(arg: Type) -> self.field;` sets the field to `arg`;
/// * `fn name(arg: bytes) -> self.field;` takes `&'a impl AsRef<[u8]>` and
///   sets the field to its bytes;
/// * `fn name(key, value) -> self.field.push;` appends the pair of bytes.
macro_rules! setters {
    () => {};
    ($(#[$doc:meta])* fn $name:ident($arg:ident: bytes) -> self.$field:ident; $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $name(mut self, $arg: &'a (impl AsRef<[u8]> + ?Sized)) -> Self {
            self.$field = $arg.as_ref();
            self
        }
        setters!($($rest)*);
    };
    ($(#[$doc:meta])* fn $name:ident($key:ident, $value:ident) -> self.$field:ident.push; $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $name(
            mut self,
            $key: &'a (impl AsRef<[u8]> + ?Sized),
            $value: &'a (impl AsRef<[u8]> + ?Sized),
        ) -> Self {
            self.$field.push(($key.as_ref(), $value.as_ref()));
            self
        }
        setters!($($rest)*);
    };
    ($(#[$doc:meta])* fn $name:ident($arg:ident: $ty:ty) -> self.$field:ident; $($rest:tt)*) => {
        $(#[$doc])*
        pub fn $name(mut self, $arg: $ty) -> Self {
            self.$field = $arg;
            self
        }
        setters!($($rest)*);
    };
}

mod abi;
#[cfg(all(feature = "wee-alloc", target_arch = "wasm32"))]
mod alloc;
mod context;
mod dispatch;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod runtime;

// The hostcall API, one module per domain (each call returns `Result`).
pub mod attribute;
mod buffer;
pub mod callout;
pub mod dns;
pub mod foreign;
pub mod http;
#[cfg(feature = "json")]
mod json;
pub mod logging;
mod map;
pub mod metrics;
pub mod plugin;
mod policy;
pub mod property;
mod protobuf;
pub mod shared;
pub mod task;
pub mod tcp;
pub mod time;

#[cfg(all(feature = "mock-host", not(target_family = "wasm")))]
#[cfg_attr(
    docsrs,
    doc(cfg(all(feature = "mock-host", not(target_family = "wasm"))))
)]
pub mod mock;

pub use abi::memory::HostBytes;
pub use callout::{GrpcEvent, HttpCallResponse};
pub use context::{Callbacks, HttpContext, NoContext, PluginContext, TcpContext, VmContext};
pub use error::{Error, Result, Status};
pub use http::Action;
pub use plugin::Configuration;
pub use policy::ErrorPolicy;
pub use runtime::ContextId;
pub use shared::QueueId;
pub use tcp::PeerType;

/// The [`log`](https://docs.rs/log) crate, re-exported: `proxywasm::log::info!("…")`
/// goes to the host's log at the host's level.
pub use log;

/// The entry point: registers your contexts with the SDK.
///
/// Put it on a function that builds your context. The argument says which
/// kind the function returns:
///
/// | form | function | for |
/// |---|---|---|
/// | `#[proxywasm::main]` | `fn() -> impl VmContext` | full control, VM configuration |
/// | `#[proxywasm::main(plugin)]` | `fn(ContextId) -> impl PluginContext` | plugin configuration, ticks, several stream kinds |
/// | `#[proxywasm::main(http)]` | `fn(ContextId) -> impl HttpContext` | a stateless HTTP filter |
/// | `#[proxywasm::main(tcp)]` | `fn(ContextId) -> impl TcpContext` | a stateless network filter |
///
/// The function stays an ordinary function (tests can pass it to
/// [`mock::MockHost`][MockHost]); on `wasm32` the attribute also emits the
/// module's entry. It runs when the host creates the first context — after
/// start-up, so hostcalls are allowed. One per plugin crate.
///
/// ```
/// use proxywasm::{ContextId, NoContext, PluginContext, Result};
///
/// struct Plugin;
/// impl PluginContext for Plugin {
///     type Http = NoContext;
///     type Tcp = NoContext;
///     fn on_tick(&mut self) -> Result<()> {
///         proxywasm::log::info!("tick");
///         Ok(())
///     }
/// }
///
/// #[proxywasm::main(plugin)]
/// fn plugin(_id: ContextId) -> Plugin {
///     Plugin
/// }
/// # let _ = plugin(ContextId(1));
/// ```
///
#[cfg_attr(
    all(feature = "mock-host", not(target_family = "wasm")),
    doc = "[MockHost]: mock::MockHost"
)]
/// [MockHost]: crate#feature-flags
#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use proxywasm_macros::main;

/// Marks a context's `impl` block so that the callbacks it does not write
/// are answered at once, without reaching the context (a callback that
/// several context kinds receive, `on_done` or `on_log`, only if no
/// context type of the plugin writes it).
///
/// Put it on an `impl HttpContext for …`, `impl TcpContext for …` or
/// `impl PluginContext for …` block. It sets the trait's
/// [`CALLBACKS`](HttpContext::CALLBACKS) to the methods written there; the
/// dispatcher then answers the other callbacks with their default's
/// answer (Continue, nothing, or "done" for `on_done`) without finding the
/// context: about 16 wasm instructions fewer per callback and request.
/// Without the attribute every callback reaches the context and runs its
/// default. What the plugin does is the same either way; only the error
/// line for an event about a context id the host never created, or not of
/// its context's kind, is not written for a callback answered early. See [`Callbacks`] for the events
/// that always reach the SDK.
///
/// It refuses a macro call among the methods (it cannot see what the macro
/// writes) and a `CALLBACKS` written by hand. Takes `crate = "path"` like
/// [`main`](macro@main).
///
/// ```
/// use proxywasm::{Action, HttpContext, Result, http};
///
/// struct AddHeader;
///
/// #[proxywasm::callbacks]
/// impl HttpContext for AddHeader {
///     fn on_response_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
///         http::response_headers().add("x-powered-by", "proxywasm")?;
///         Ok(Action::Continue)
///     }
/// }
///
/// assert!(AddHeader::CALLBACKS.contains("on_response_headers"));
/// assert!(!AddHeader::CALLBACKS.contains("on_request_headers"));
/// ```
#[cfg(feature = "macros")]
#[cfg_attr(docsrs, doc(cfg(feature = "macros")))]
pub use proxywasm_macros::callbacks;

/// Items for `use proxywasm::prelude::*`.
///
/// ```
/// use proxywasm::prelude::*;
/// struct F;
/// impl HttpContext for F {
///     fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
///         Ok(Action::Continue)
///     }
/// }
/// assert_eq!(F.on_request_headers(0, true), Ok(Action::Continue));
/// ```
pub mod prelude {
    pub use crate::{
        Action, Configuration, ContextId, Error, HttpContext, NoContext, PluginContext, Result,
        TcpContext, VmContext,
    };
}

/// Support for macro output. Not public API: exempt from semver.
#[doc(hidden)]
pub mod __private {
    pub use crate::abi::exports::{Dispatch, ModuleStatic};
    pub use crate::abi::wire::{static_pairs, static_pairs_len};
    pub use crate::dispatch::BoxedDispatcher;
    pub use crate::dispatch::anon::{AnonVm, FnMake, HttpVm, Make, TcpVm};
    pub use crate::dispatch::dispatcher::Dispatcher;
    #[cfg(target_family = "wasm")]
    pub use crate::dispatch::initialize;
    pub use proxywasm_abi::Export;
}

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The user guide's pages (`book/src/`): their Rust blocks run as doctests
/// (`mdbook test` cannot resolve the workspace's crates).
#[cfg(doctest)]
mod book {
    #[doc = include_str!("../book/src/introduction.md")]
    struct Introduction;
    #[doc = include_str!("../book/src/getting-started.md")]
    struct GettingStarted;
    #[doc = include_str!("../book/src/contexts.md")]
    struct Contexts;
    #[doc = include_str!("../book/src/http.md")]
    struct Http;
    #[doc = include_str!("../book/src/tcp.md")]
    struct Tcp;
    #[doc = include_str!("../book/src/callouts.md")]
    struct Callouts;
    #[doc = include_str!("../book/src/configuration.md")]
    struct Configuration;
    #[doc = include_str!("../book/src/state.md")]
    struct State;
    #[doc = include_str!("../book/src/foreign-functions.md")]
    struct ForeignFunctions;
    #[doc = include_str!("../book/src/wasm-service.md")]
    struct WasmService;
    #[doc = include_str!("../book/src/errors-and-logging.md")]
    struct ErrorsAndLogging;
    #[doc = include_str!("../book/src/building.md")]
    struct Building;
    #[doc = include_str!("../book/src/envoy.md")]
    struct Envoy;
    #[doc = include_str!("../book/src/examples.md")]
    struct Examples;
    #[doc = include_str!("../book/src/migration.md")]
    struct Migration;
    #[doc = include_str!("../book/src/internals.md")]
    struct Internals;
    #[doc = include_str!("../book/src/reference/README.md")]
    struct Reference;
    #[doc = include_str!("../book/src/reference/hostcalls.md")]
    struct ReferenceHostcalls;
    #[doc = include_str!("../book/src/reference/callbacks.md")]
    struct ReferenceCallbacks;
    #[doc = include_str!("../book/src/reference/lifecycle.md")]
    struct ReferenceLifecycle;
    #[doc = include_str!("../book/src/reference/memory.md")]
    struct ReferenceMemory;
    #[doc = include_str!("../book/src/reference/wire-formats.md")]
    struct ReferenceWireFormats;
    #[doc = include_str!("../book/src/reference/properties.md")]
    struct ReferenceProperties;
    #[doc = include_str!("../book/src/reference/enumerations.md")]
    struct ReferenceEnumerations;
    #[doc = include_str!("../book/src/reference/envoy-1.40.md")]
    struct ReferenceEnvoy140;
    // testing.md and performance.md use proxywasm-wasmtime too: that crate runs them.
}

//! The `proxy_on_*` exports (book: reference/callbacks.md): each is a
//! trampoline, generated from the ABI table, that builds its
//! [`proxywasm_abi::Export`] and hands it to the plugin's dispatcher.
//!
//! On wasm, `#[proxywasm::main]` emits them in the plugin crate, over the
//! plugin's concretely typed dispatcher. Natively the mock host hands each
//! `Export` to the dispatcher installed on the thread (`call_native`); with
//! none (only possible natively without a mock host) the ABI's defaults
//! answer.
//! `proxy_on_request_metadata`/`proxy_on_response_metadata` are deliberately
//! absent: Envoy treats an absent export as Continue, which is all it honours.

/// The ABI version marker Envoy scans the export section for. Never called.
#[cfg_attr(target_family = "wasm", unsafe(no_mangle))]
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
pub(crate) extern "C" fn proxy_abi_version_0_2_1() {}

/// Defines `__proxywasm_exports!`, the export trampolines, from the callback
/// rows of the ABI table (`proxywasm_abi::for_each_export!`): a new callback
/// export is a table row and its arm in the dispatcher. `$d` is a `$`, for
/// the metavariables of the macro it defines.
macro_rules! define_trampolines {
    (
        $d:tt
        callbacks { $( $(#[$doc:meta])* [$group:ident] fn $name:ident = $variant:ident($($arg:ident: $role:ident),*) $(-> $ret:ident)?; )* }
        other { $($other:tt)* }
    ) => {
        /// The export trampolines, one per callback row of the ABI table,
        /// emitted by `#[proxywasm::main]` in the plugin crate on wasm:
        /// `__proxywasm_exports!(SLOT)` for every callback,
        /// `__proxywasm_exports!(SLOT, http)` or `(SLOT, tcp)` for the short
        /// forms, which leave out the other stream kind's callbacks and the
        /// plugin-context ones (their contexts ignore them, and an absent
        /// export is a no-op to Envoy). `SLOT` is the `static`
        /// [`ModuleStatic`] holding the plugin's dispatcher, whose concrete
        /// type lets LLVM inline each callback into its export (no vtable, no
        /// pointer chase, no allocation). Each trampoline builds the
        /// [`proxywasm_abi::Export`] of its row and hands it to
        /// [`Dispatch::export`]. `_initialize` (group `start`) is emitted by
        /// the attribute itself.
        #[doc(hidden)]
        #[macro_export]
        macro_rules! __proxywasm_exports {
            (@row $d slot:path [$d($d form:ident)?] start $d($d rest:tt)*) => {};
            (@row $d slot:path [http] tcp $d($d rest:tt)*) => {};
            (@row $d slot:path [tcp] http $d($d rest:tt)*) => {};
            (@row $d slot:path [$d form:ident] root $d($d rest:tt)*) => {};
            (@row $d slot:path [$d($d form:ident)?] $d group:ident $d name:ident $d variant:ident
                ($d($d arg:ident: $d role:ident),*) $d($d ret:ident)?) => {
                #[unsafe(no_mangle)]
                extern "C" fn $d name($d($d arg: $d crate::__proxywasm_exports!(@wasm $d role)),*) $d(-> $d ret)? {
                    let export = $d crate::__private::Export::$d variant {
                        $d($d arg: $d crate::__proxywasm_exports!(@value $d role, $d arg)),*
                    };
                    let answer = $d slot.with(|d| $d crate::__private::Dispatch::export(d, export));
                    $d crate::__proxywasm_exports!(@answer answer $d($d ret)?)
                }
            };
            (@wasm usize) => { usize };
            (@wasm bool) => { u32 };
            (@wasm u32) => { u32 };
            (@value usize, $d x:ident) => { $d x as u32 };
            (@value bool, $d x:ident) => { $d x != 0 };
            (@value u32, $d x:ident) => { $d x };
            (@answer $d answer:ident) => {{ let _ = $d answer; }};
            (@answer $d answer:ident u32) => { $d answer };
            ($d slot:path $d(, $d form:ident)?) => {
                $(
                    $d crate::__proxywasm_exports! {
                        @row $d slot [$d($d form)?] $group $name $variant ($($arg: $role),*) $($ret)?
                    }
                )*
            };
        }
    };
}

proxywasm_abi::for_each_export!(define_trampolines [$]);

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

/// What the exports call: the dispatcher, handed one [`Export`] (the row of
/// the ABI table and its arguments) per call. Implemented once per plugin by
/// the dispatcher, which turns it into a typed event. Object-safe, so
/// natively the mock host can hold any plugin's dispatcher.
///
/// [`Export`]: proxywasm_abi::Export
#[doc(hidden)]
pub trait Dispatch {
    /// Runs the callback of `export` and returns its answer (0 for a
    /// callback without one).
    fn export(&self, export: proxywasm_abi::Export) -> u32;
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
fn current() -> Option<Handle> {
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

/// Natively: calls `export` on the dispatcher installed on this thread, as a
/// host calls the export, and returns its result (0 for an export without
/// one). With no dispatcher, the ABI's default: `proxy_on_done` answers 1.
#[cfg(all(not(target_family = "wasm"), feature = "mock-host"))]
pub(crate) fn call_native(export: proxywasm_abi::Export) -> u32 {
    match current() {
        Some(handle) => handle.export(export),
        None => u32::from(matches!(export, proxywasm_abi::Export::Done { .. })),
    }
}

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

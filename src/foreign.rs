//! Host foreign functions (Envoy: `compress`, `uncompress`,
//! `set_envoy_filter_state`, `declare_property`, `clear_route_cache`, the
//! `expr_*` CEL trio, …; book: reference/hostcalls.md#envoys-foreign-functions).

use crate::Result;
use crate::abi::calls;
use crate::abi::memory::HostBytes;
use crate::abi::wire::buffer;
use crate::buffer::Buffer;
use crate::error::optional;

/// The id of a foreign function the host calls into the plugin with
/// [`PluginContext::on_foreign_function`](crate::PluginContext::on_foreign_function)
/// (the host names the numbering; Envoy 1.40 never makes such a call).
///
/// ```
/// use proxywasm::foreign::FunctionId;
/// assert_eq!(FunctionId(7).0, 7);
/// assert_eq!(FunctionId::from(7), FunctionId(7));
/// assert_eq!(u32::from(FunctionId(7)), 7);
/// assert_eq!(FunctionId(7).to_string(), "7");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FunctionId(pub u32);

integer_newtype!(FunctionId(u32));

/// Calls the host function `name` with `arguments`; `None` if the host has no
/// function of that name.
///
/// # Errors
/// The function's own status (e.g. `SERIALIZATION_FAILURE`).
///
/// ```
/// # let host = proxywasm::mock::MockHost::builder()
/// #     .foreign_function("reverse", |args: &[u8]| Ok(args.iter().rev().copied().collect()))
/// #     .http(|_| Noop);
/// # struct Noop; impl proxywasm::HttpContext for Noop {}
/// # host.run(|| {
/// let out = proxywasm::foreign::call("reverse", b"abc")?.unwrap();
/// assert_eq!(out, "cba");
/// assert!(proxywasm::foreign::call("missing", b"")?.is_none());
/// # Ok::<(), proxywasm::Error>(()) }).unwrap();
/// ```
pub fn call(name: &str, arguments: &[u8]) -> Result<Option<HostBytes>> {
    optional(
        "proxy_call_foreign_function",
        calls::call_foreign_function(name.as_bytes(), arguments),
    )
}

one_liners! {
    /// Arguments of a host-initiated call (buffer `CALL_DATA`), e.g. in
    /// `on_foreign_function` or `on_resolve_dns`.
    ///
    /// ```
    /// # proxywasm::mock::doc_plugin(|| {
    /// let _ = proxywasm::foreign::arguments().read_all();
    /// # Ok(()) });
    /// ```
    fn arguments() -> Buffer(buffer::CALL_DATA);
}

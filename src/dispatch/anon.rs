//! The anonymous contexts behind the short forms (Go SDK's `SetPluginContext`,
//! `SetHttpContext`, `SetTcpContext`). Public (hidden) because
//! `#[proxywasm::main]` names them in the static it generates.
//!
//! They are generic over a [`Make`] factory: the macro implements it for a
//! zero-sized struct that calls the entry function (so creating a context is
//! an inlined call), and [`FnMake`] adapts closures (the mock host's API).

use crate::ContextId;
use crate::context::{HttpContext, NoContext, PluginContext, TcpContext, VmContext};

/// A context factory.
pub trait Make: 'static {
    /// The context it builds.
    type Output;
    /// Builds the context for `id`.
    fn make(&mut self, id: ContextId) -> Self::Output;
}

/// Adapts a closure to [`Make`].
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct FnMake<F>(pub F);

impl<T, F: FnMut(ContextId) -> T + 'static> Make for FnMake<F> {
    type Output = T;
    #[inline(always)]
    fn make(&mut self, id: ContextId) -> T {
        (self.0)(id)
    }
}

/// A VM context that only creates plugin contexts with a factory.
#[allow(missing_debug_implementations)]
pub struct AnonVm<M>(pub(crate) M);

impl<M> AnonVm<M> {
    /// Wraps a plugin-context factory.
    pub fn new(factory: M) -> Self {
        AnonVm(factory)
    }
}

impl<P: PluginContext, M: Make<Output = P>> VmContext for AnonVm<M> {
    type Plugin = P;
    fn new_plugin_context(&mut self, id: ContextId) -> P {
        self.0.make(id)
    }
}

/// A VM context for HTTP-only plugins: each plugin context gets a copy of the
/// factory.
#[allow(missing_debug_implementations)]
pub struct HttpVm<M>(pub(crate) M);

impl<M> HttpVm<M> {
    /// Wraps an HTTP-context factory.
    pub fn new(factory: M) -> Self {
        HttpVm(factory)
    }
}

impl<H: HttpContext, M: Make<Output = H> + Clone> VmContext for HttpVm<M> {
    type Plugin = HttpOnly<M>;
    fn new_plugin_context(&mut self, _id: ContextId) -> HttpOnly<M> {
        HttpOnly(self.0.clone())
    }
}

/// A VM context for TCP-only plugins.
#[allow(missing_debug_implementations)]
pub struct TcpVm<M>(pub(crate) M);

impl<M> TcpVm<M> {
    /// Wraps a TCP-context factory.
    pub fn new(factory: M) -> Self {
        TcpVm(factory)
    }
}

impl<T: TcpContext, M: Make<Output = T> + Clone> VmContext for TcpVm<M> {
    type Plugin = TcpOnly<M>;
    fn new_plugin_context(&mut self, _id: ContextId) -> TcpOnly<M> {
        TcpOnly(self.0.clone())
    }
}

/// A plugin context that only creates HTTP contexts with a factory.
#[allow(missing_debug_implementations)]
pub struct HttpOnly<M>(pub(crate) M);

impl<H: HttpContext, M: Make<Output = H>> PluginContext for HttpOnly<M> {
    type Http = H;
    type Tcp = NoContext;
    #[inline(always)]
    fn new_http_context(&mut self, id: ContextId) -> Option<H> {
        Some(self.0.make(id))
    }
}

/// A plugin context that only creates TCP contexts with a factory.
#[allow(missing_debug_implementations)]
pub struct TcpOnly<M>(pub(crate) M);

impl<T: TcpContext, M: Make<Output = T>> PluginContext for TcpOnly<M> {
    type Http = NoContext;
    type Tcp = T;
    #[inline(always)]
    fn new_tcp_context(&mut self, id: ContextId) -> Option<T> {
        Some(self.0.make(id))
    }
}

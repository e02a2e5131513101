//! The anonymous contexts behind the short forms (Go SDK's `SetPluginContext`,
//! `SetHttpContext`, `SetTcpContext`). Public (hidden) because
//! `#[proxywasm::main]` names them in the static it generates.
//!
//! They are generic over a [`Make`] factory: the macro implements it for a
//! zero-sized struct that calls the entry function (so creating a context is
//! an inlined call), and [`FnMake`] adapts closures (the mock host's API).

use crate::ContextId;
use crate::context::{Callbacks, HttpContext, NoContext, PluginContext, TcpContext, VmContext};

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

/// A VM context for the stream-only short forms: each plugin context is a
/// copy of `P`, an [`HttpOnly`] or a [`TcpOnly`] holding the stream factory.
#[allow(missing_debug_implementations)]
pub struct StreamVm<P>(pub(crate) P);

/// The VM context of HTTP-only plugins.
pub type HttpVm<M> = StreamVm<HttpOnly<M>>;

/// The VM context of TCP-only plugins.
pub type TcpVm<M> = StreamVm<TcpOnly<M>>;

impl<M> HttpVm<M> {
    /// Wraps an HTTP-context factory.
    pub fn new(factory: M) -> Self {
        StreamVm(HttpOnly(factory))
    }
}

impl<M> TcpVm<M> {
    /// Wraps a TCP-context factory.
    pub fn new(factory: M) -> Self {
        StreamVm(TcpOnly(factory))
    }
}

impl<P: PluginContext + Clone> VmContext for StreamVm<P> {
    type Plugin = P;
    fn new_plugin_context(&mut self, _id: ContextId) -> P {
        self.0.clone()
    }
}

/// A plugin context that only creates HTTP contexts with a factory.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct HttpOnly<M>(pub(crate) M);

impl<H: HttpContext, M: Make<Output = H>> PluginContext for HttpOnly<M> {
    type Http = H;
    type Tcp = NoContext;
    const CALLBACKS: Callbacks = Callbacks::NONE;
    #[inline(always)]
    fn new_http_context(&mut self, id: ContextId) -> Option<H> {
        Some(self.0.make(id))
    }
}

/// A plugin context that only creates TCP contexts with a factory.
#[derive(Clone)]
#[allow(missing_debug_implementations)]
pub struct TcpOnly<M>(pub(crate) M);

impl<T: TcpContext, M: Make<Output = T>> PluginContext for TcpOnly<M> {
    type Http = NoContext;
    type Tcp = T;
    const CALLBACKS: Callbacks = Callbacks::NONE;
    #[inline(always)]
    fn new_tcp_context(&mut self, id: ContextId) -> Option<T> {
        Some(self.0.make(id))
    }
}

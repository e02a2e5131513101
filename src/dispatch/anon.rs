//! The anonymous contexts behind the short forms (Go SDK's `SetPluginContext`,
//! `SetHttpContext`, `SetTcpContext`).

use crate::context::{HttpContext, NoContext, PluginContext, TcpContext, VmContext};
use crate::ContextId;

/// A VM context that only creates plugin contexts with a factory.
pub(crate) struct AnonVm<F>(pub(crate) F);

impl<P: PluginContext, F: FnMut(ContextId) -> P + 'static> VmContext for AnonVm<F> {
    type Plugin = P;
    fn new_plugin_context(&mut self, id: ContextId) -> P {
        (self.0)(id)
    }
}

/// A plugin context that only creates HTTP contexts with a factory.
pub(crate) struct HttpOnly<F>(pub(crate) F);

impl<H: HttpContext, F: FnMut(ContextId) -> H + 'static> PluginContext for HttpOnly<F> {
    type Http = H;
    type Tcp = NoContext;
    fn new_http_context(&mut self, id: ContextId) -> Option<H> {
        Some((self.0)(id))
    }
}

/// A plugin context that only creates TCP contexts with a factory.
pub(crate) struct TcpOnly<F>(pub(crate) F);

impl<T: TcpContext, F: FnMut(ContextId) -> T + 'static> PluginContext for TcpOnly<F> {
    type Http = NoContext;
    type Tcp = T;
    fn new_tcp_context(&mut self, id: ContextId) -> Option<T> {
        Some((self.0)(id))
    }
}

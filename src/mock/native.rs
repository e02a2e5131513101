//! The native guest: the plugin compiled into the test binary, driven
//! through the SDK's `proxy_on_*` trampolines, with this thread's current
//! host, dispatcher and runtime installed around every call.

use super::core::{Export, Guest, Vm};
use crate::abi::exports::{self as x, Handle};
use crate::runtime::{self, Runtime};
use core::cell::RefCell;
use std::rc::{Rc, Weak};

std::thread_local! {
    /// The hosts whose exports are running on this thread, innermost last.
    static CURRENT: RefCell<Vec<Rc<Vm>>> = const { RefCell::new(Vec::new()) };
}

/// The host whose export is running on this thread, if any.
pub(crate) fn current() -> Option<Rc<Vm>> {
    CURRENT.with(|c| c.try_borrow().ok().and_then(|hosts| hosts.last().cloned()))
}

/// Makes a host current until dropped (restores the previous one).
struct Entered;

impl Entered {
    fn new(vm: Rc<Vm>) -> Entered {
        CURRENT.with(|c| c.borrow_mut().push(vm));
        Entered
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|c| c.borrow_mut().pop());
    }
}

/// Installs a dispatcher and its runtime until dropped (restores the
/// previous ones).
struct Installed(Option<Handle>, Option<Rc<Runtime>>);

impl Installed {
    fn new(handle: Handle, runtime: Rc<Runtime>) -> Installed {
        Installed(x::install(Some(handle)), runtime::install(Some(runtime)))
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        x::install(self.0.take());
        runtime::install(self.1.take());
    }
}

/// A plugin compiled natively: its dispatcher and runtime (what a module
/// keeps in its statics), plus the code that stands in for `_initialize`
/// (static constructors), if the test gave some.
pub(crate) struct NativeGuest {
    pub(crate) vm: Weak<Vm>,
    pub(crate) dispatch: Handle,
    pub(crate) runtime: Rc<Runtime>,
    pub(crate) initialize: RefCell<Option<Box<dyn FnOnce()>>>,
}

impl NativeGuest {
    fn enter(&self) -> Option<(Entered, Installed)> {
        let vm = self.vm.upgrade()?;
        let installed = Installed::new(self.dispatch.clone(), self.runtime.clone());
        Some((Entered::new(vm), installed))
    }
}

impl Guest for NativeGuest {
    fn call(&self, export: Export) -> u32 {
        let Some(_guards) = self.enter() else {
            return 0;
        };
        if export == Export::Initialize {
            let hook = self.initialize.borrow_mut().take();
            if let Some(hook) = hook {
                hook();
            }
            return 0;
        }
        trampoline(export)
    }

    fn run_native(&self, context: u32, code: &mut dyn FnMut()) {
        let _guards = self.enter();
        let previous = runtime::set_active(context);
        code();
        runtime::set_active(previous);
    }
}

/// Calls the SDK's export trampoline for `export`, exactly as a host would.
fn trampoline(export: Export) -> u32 {
    let size = |n: u32| n as usize;
    let flag = u32::from;
    match export {
        Export::Initialize => 0,
        Export::ContextCreate {
            context_id,
            parent_id,
        } => {
            x::proxy_on_context_create(context_id, parent_id);
            0
        }
        Export::VmStart {
            context_id,
            configuration_size,
        } => x::proxy_on_vm_start(context_id, size(configuration_size)),
        Export::Configure {
            context_id,
            configuration_size,
        } => x::proxy_on_configure(context_id, size(configuration_size)),
        Export::Tick { context_id } => {
            x::proxy_on_tick(context_id);
            0
        }
        Export::QueueReady {
            context_id,
            queue_id,
        } => {
            x::proxy_on_queue_ready(context_id, queue_id);
            0
        }
        Export::ForeignFunction {
            context_id,
            function_id,
            arguments_size,
        } => {
            x::proxy_on_foreign_function(context_id, function_id, size(arguments_size));
            0
        }
        Export::ResolveDns {
            context_id,
            token,
            data_size,
        } => {
            x::envoy_on_resolve_dns(context_id, token, size(data_size));
            0
        }
        Export::NewConnection { context_id } => x::proxy_on_new_connection(context_id),
        Export::DownstreamData {
            context_id,
            data_size,
            end_of_stream,
        } => x::proxy_on_downstream_data(context_id, size(data_size), flag(end_of_stream)),
        Export::UpstreamData {
            context_id,
            data_size,
            end_of_stream,
        } => x::proxy_on_upstream_data(context_id, size(data_size), flag(end_of_stream)),
        Export::DownstreamConnectionClose {
            context_id,
            peer_type,
        } => {
            x::proxy_on_downstream_connection_close(context_id, peer_type);
            0
        }
        Export::UpstreamConnectionClose {
            context_id,
            peer_type,
        } => {
            x::proxy_on_upstream_connection_close(context_id, peer_type);
            0
        }
        Export::RequestHeaders {
            context_id,
            num_headers,
            end_of_stream,
        } => x::proxy_on_request_headers(context_id, size(num_headers), flag(end_of_stream)),
        Export::RequestBody {
            context_id,
            body_size,
            end_of_stream,
        } => x::proxy_on_request_body(context_id, size(body_size), flag(end_of_stream)),
        Export::RequestTrailers {
            context_id,
            num_trailers,
        } => x::proxy_on_request_trailers(context_id, size(num_trailers)),
        Export::ResponseHeaders {
            context_id,
            num_headers,
            end_of_stream,
        } => x::proxy_on_response_headers(context_id, size(num_headers), flag(end_of_stream)),
        Export::ResponseBody {
            context_id,
            body_size,
            end_of_stream,
        } => x::proxy_on_response_body(context_id, size(body_size), flag(end_of_stream)),
        Export::ResponseTrailers {
            context_id,
            num_trailers,
        } => x::proxy_on_response_trailers(context_id, size(num_trailers)),
        Export::HttpCallResponse {
            context_id,
            token,
            num_headers,
            body_size,
            num_trailers,
        } => {
            x::proxy_on_http_call_response(
                context_id,
                token,
                size(num_headers),
                size(body_size),
                size(num_trailers),
            );
            0
        }
        Export::GrpcReceiveInitialMetadata {
            context_id,
            token,
            num_elements,
        } => {
            x::proxy_on_grpc_receive_initial_metadata(context_id, token, size(num_elements));
            0
        }
        Export::GrpcReceive {
            context_id,
            token,
            message_size,
        } => {
            x::proxy_on_grpc_receive(context_id, token, size(message_size));
            0
        }
        Export::GrpcReceiveTrailingMetadata {
            context_id,
            token,
            num_elements,
        } => {
            x::proxy_on_grpc_receive_trailing_metadata(context_id, token, size(num_elements));
            0
        }
        Export::GrpcClose {
            context_id,
            token,
            status_code,
        } => {
            x::proxy_on_grpc_close(context_id, token, status_code);
            0
        }
        Export::Done { context_id } => x::proxy_on_done(context_id),
        Export::Log { context_id } => {
            x::proxy_on_log(context_id);
            0
        }
        Export::Delete { context_id } => {
            x::proxy_on_delete(context_id);
            0
        }
    }
}

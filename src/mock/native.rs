//! The native guest: the plugin compiled into the test binary, driven
//! through the SDK's `proxy_on_*` trampolines, with this thread's current
//! host, dispatcher and runtime installed around every call.

use super::engine::{Export, Guest, Vm};
use crate::abi::exports::{self, Handle};
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
        Installed(
            exports::install(Some(handle)),
            runtime::install(Some(runtime)),
        )
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        exports::install(self.0.take());
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
        exports::call_native(export)
    }

    fn run_native(&self, context: u32, code: &mut dyn FnMut()) {
        let _guards = self.enter();
        let previous = runtime::set_active(context);
        code();
        runtime::set_active(previous);
    }
}

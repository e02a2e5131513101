//! The native guest: the plugin compiled into the test binary, driven
//! through the SDK's `proxy_on_*` trampolines, with this thread's current
//! host and dispatcher installed around every call.

use super::core::{Export, Guest, Vm};
use crate::abi::exports;
use crate::dispatch::{self, Handle};
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

/// Installs a dispatcher until dropped (restores the previous one).
struct Installed(Option<Handle>);

impl Installed {
    fn new(handle: Handle) -> Installed {
        Installed(dispatch::install(Some(handle)))
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        dispatch::install(self.0.take());
    }
}

/// A plugin compiled natively: its dispatcher, plus the code that stands in
/// for `_initialize` (static constructors), if the test gave some.
pub(crate) struct NativeGuest {
    pub(crate) vm: Weak<Vm>,
    pub(crate) dispatch: Handle,
    pub(crate) initialize: RefCell<Option<Box<dyn FnOnce()>>>,
}

impl NativeGuest {
    fn enter(&self) -> Option<(Entered, Installed)> {
        let vm = self.vm.upgrade()?;
        Some((Entered::new(vm), Installed::new(self.dispatch.clone())))
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
        let previous = dispatch::active();
        dispatch::set_active(context);
        code();
        dispatch::set_active(previous);
    }
}

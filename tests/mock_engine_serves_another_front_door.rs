//! The emulator core is usable from another crate through
//! `proxywasm::mock::engine`: a front door supplies a `Guest` (here a scripted
//! plugin standing in for the engine host's wasm instance) and serves its
//! hostcalls by calling `HostState` methods, while the whole `MockHost` API
//! works unchanged on top.
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::mock::MockHost;
use proxywasm::mock::engine::{Export, Guest, Vm, status};
use std::cell::RefCell;
use std::rc::{Rc, Weak};

/// A "module" whose exports are Rust closures that make hostcalls the way an
/// engine's host functions would: borrow the state for one call, then report
/// it with `after_hostcall`.
struct ScriptedGuest {
    vm: Weak<Vm>,
    calls: Rc<RefCell<Vec<&'static str>>>,
}

impl ScriptedGuest {
    fn vm(&self) -> Rc<Vm> {
        self.vm.upgrade().expect("the VM outlives its guest")
    }
}

impl Guest for ScriptedGuest {
    fn call(&self, export: Export) -> u32 {
        self.calls.borrow_mut().push(export.name());
        let vm = self.vm();
        match export {
            Export::VmStart { .. } | Export::Configure { .. } => 1,
            Export::RequestHeaders { .. } => {
                let path = vm.state().get_header_map_value(0, b":path");
                vm.after_hostcall("proxy_get_header_map_value");
                let value = [b"seen ".as_slice(), &path.unwrap_or_default()].concat();
                let added = vm.state().add_header_map_value(0, b"x-engine", &value);
                vm.after_hostcall("proxy_add_header_map_value");
                assert_eq!(added, Ok(()));
                let logged = vm.state().log(2, b"engine plugin ran");
                vm.after_hostcall("proxy_log");
                assert_eq!(logged, Ok(()));
                0
            }
            Export::ResponseHeaders { .. } => {
                // Request headers are gone once the request continued: the core's rules apply.
                let late = vm.state().get_header_map_value(0, b":path");
                assert_eq!(late, Err(status::BAD_ARGUMENT));
                1
            }
            Export::Done { .. } => 1,
            _ => 0,
        }
    }
}

#[test]
fn a_second_front_door_drives_the_same_core() {
    let calls = Rc::new(RefCell::new(Vec::new()));
    let seen = calls.clone();
    let host =
        MockHost::builder().with_guest(move |vm| Box::new(ScriptedGuest { vm, calls: seen }));
    assert!(host.start());
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/wasm")], true),
        proxywasm::Action::Continue
    );
    assert_eq!(
        stream.current_request_header("x-engine").as_deref(),
        Some("seen /wasm")
    );
    assert_eq!(
        stream.response_headers(&[(":status", "200")], true),
        proxywasm::Action::Pause
    );
    stream.complete();
    assert!(host.logs().contain("engine plugin ran"));
    assert_eq!(host.hostcall_counts().get("proxy_log"), Some(&1));
    assert_eq!(
        *calls.borrow(),
        vec![
            "_initialize",
            "proxy_on_context_create",
            "proxy_on_vm_start",
            "proxy_on_configure",
            "proxy_on_context_create",
            "proxy_on_request_headers",
            "proxy_on_response_headers",
            "proxy_on_log",
            "proxy_on_done",
            "proxy_on_delete",
        ]
    );
}

#[test]
#[should_panic(expected = "native code cannot run inside it")]
fn native_code_cannot_run_inside_a_non_native_guest() {
    let host = MockHost::builder().with_guest(|vm| {
        Box::new(ScriptedGuest {
            vm,
            calls: Rc::default(),
        })
    });
    host.run(|| ());
}

//! The engine's [`Guest`]: one wasmtime instance of a [`WasmPlugin`] that the
//! emulator's driver calls exports on, with fuel metered per call and traps
//! turned into test failures that carry the wasm backtrace and the plugin's
//! last log lines.

use crate::instance::InstanceState;
use crate::meter::Meter;
use crate::module::WasmPlugin;
use proxywasm::mock::engine::{Export, Guest, Vm};
use proxywasm_abi::WasmType;
use std::cell::{Cell, RefCell, RefMut};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::rc::{Rc, Weak};
use wasmtime::{Func, Store, Val};

/// The instance and what the handle and the guest share.
pub(crate) struct Instance {
    pub(crate) store: RefCell<Store<InstanceState>>,
    funcs: HashMap<String, Func>,
    pub(crate) meter: Rc<RefCell<Meter>>,
    failed: RefCell<Option<String>>,
    /// Memory size after the last export call, for when the store is busy.
    last_pages: Cell<u64>,
    name: String,
    fuel_limit: u64,
}

impl Instance {
    /// Instantiates `plugin` in a fresh store. The emulator is attached
    /// later, when the driver creates the VM ([`Instance::attach`]).
    pub(crate) fn new(plugin: &WasmPlugin, fuel_limit: u64) -> Result<Rc<Instance>, String> {
        let engine = crate::module::engine()?;
        let meter = Rc::new(RefCell::new(Meter::default()));
        let mut store = Store::new(engine, InstanceState::new(Weak::new(), meter.clone()));
        store
            .set_fuel(fuel_limit)
            .map_err(|e| format!("cannot set fuel: {e}"))?;
        let instance = plugin
            .pre
            .instantiate(&mut store)
            .map_err(|e| format!("cannot instantiate {}: {e:?}", plugin.name))?;
        let memory = instance.get_memory(&mut store, "memory");
        let alloc = instance
            .get_typed_func::<i32, i32>(&mut store, plugin.allocator())
            .map_err(|e| format!("{}: allocation export: {e}", plugin.name))?;
        store.data_mut().memory = memory;
        store.data_mut().alloc = Some(alloc);
        let mut funcs = HashMap::new();
        for name in plugin.exports() {
            if let Some(func) = instance.get_func(&mut store, &name) {
                funcs.insert(name, func);
            }
        }
        Ok(Rc::new(Instance {
            store: RefCell::new(store),
            funcs,
            meter,
            failed: RefCell::new(None),
            last_pages: Cell::new(0),
            name: plugin.name.clone(),
            fuel_limit,
        }))
    }

    /// Links the instance to the emulated VM its hostcalls act on.
    pub(crate) fn attach(&self, vm: Weak<Vm>) {
        self.store.borrow_mut().data_mut().vm = vm;
    }

    /// Linear-memory size in 64 KiB pages (as of the last export call when
    /// asked from inside one, e.g. by a foreign function).
    pub(crate) fn memory_pages(&self) -> u64 {
        match self.store.try_borrow() {
            Ok(store) => store.data().memory.map_or(0, |m| m.size(&*store)),
            Err(_) => self.last_pages.get(),
        }
    }

    /// The trap report, if the plugin trapped.
    pub(crate) fn trap(&self) -> Option<String> {
        self.failed.borrow().clone()
    }

    #[allow(
        clippy::panic,
        reason = "the Guest contract: a trap, or a call Envoy would never make, fails the test"
    )]
    fn call_export(&self, export: Export) -> u32 {
        if let Some(report) = self.failed.borrow().as_ref() {
            panic!(
                "{} was called on `{}` after the plugin trapped (Envoy sends no more callbacks to a failed VM). \
                 The trap:\n{report}",
                export.name(),
                self.name
            );
        }
        let Ok(mut store) = self.store.try_borrow_mut() else {
            panic!(
                "{} was called on `{}` from inside a hostcall: the engine host does not re-enter a running plugin \
                 (Envoy defers such work until the callback returns); use re-entry hooks with the native mock host",
                export.name(),
                self.name
            );
        };
        if export == Export::Initialize {
            return self.initialize(store);
        }
        let Some(func) = self.funcs.get(export.name()) else {
            return default_result(export);
        };
        let args: Vec<Val> = export
            .args()
            .iter()
            .zip(export.function().params)
            .map(|(&value, param)| match param.role.wasm_type() {
                WasmType::I64 => Val::I64(value as i64),
                _ => Val::I32(value as u32 as i32),
            })
            .collect();
        let mut results = [Val::I32(0)];
        let results = if export.returns_value() {
            &mut results[..]
        } else {
            &mut results[..0]
        };
        match self.run(&mut store, func, export, &args, results) {
            Ok(()) => results.first().and_then(Val::i32).map_or(0, |v| v as u32),
            Err(err) => self.fail(store, export, &err),
        }
    }

    /// Start-up as Envoy does it: `_initialize` then `main` or `__main_void`,
    /// else `_start`, all in the restricted start-up phase
    /// (book: reference/lifecycle.md#start-up-and-the-restricted-phase).
    fn initialize(&self, mut store: RefMut<'_, Store<InstanceState>>) -> u32 {
        let steps: &[(&str, &[Val], usize)] = if self.funcs.contains_key("_initialize") {
            if self.funcs.contains_key("main") {
                &[
                    ("_initialize", &[], 0),
                    ("main", &[Val::I32(0), Val::I32(0)], 1),
                ]
            } else {
                &[("_initialize", &[], 0), ("__main_void", &[], 1)]
            }
        } else {
            &[("_start", &[], 0)]
        };
        for (name, args, result_count) in steps {
            let Some(func) = self.funcs.get(*name) else {
                continue;
            };
            let mut results = [Val::I32(0)];
            let outcome = self.run(
                &mut store,
                func,
                Export::Initialize,
                args,
                &mut results[..*result_count],
            );
            if let Err(err) = outcome {
                drop(store);
                self.fail_named(name, &[], &err);
            }
        }
        0
    }

    fn run(
        &self,
        store: &mut Store<InstanceState>,
        func: &Func,
        export: Export,
        args: &[Val],
        results: &mut [Val],
    ) -> wasmtime::Result<()> {
        store.set_fuel(self.fuel_limit)?;
        let outcome = func.call(&mut *store, args, results);
        let used = self
            .fuel_limit
            .saturating_sub(store.get_fuel().unwrap_or(0));
        self.meter
            .borrow_mut()
            .count_call(export.name(), export.context_id(), used);
        outcome
    }

    fn fail(
        &self,
        store: RefMut<'_, Store<InstanceState>>,
        export: Export,
        err: &wasmtime::Error,
    ) -> ! {
        drop(store);
        self.fail_named(export.name(), &export.args(), err)
    }

    #[allow(
        clippy::panic,
        reason = "the Guest contract: a trap fails the test, with the report as its message"
    )]
    fn fail_named(&self, name: &str, args: &[u64], err: &wasmtime::Error) -> ! {
        let report = self.report(name, args, err);
        *self.failed.borrow_mut() = Some(report.clone());
        panic!("{report}");
    }

    fn report(&self, name: &str, args: &[u64], err: &wasmtime::Error) -> String {
        let mut out = String::new();
        let args: Vec<String> = args.iter().map(u64::to_string).collect();
        let _ = writeln!(
            out,
            "the plugin `{}` trapped in {name}({}); Envoy fails the whole VM on a trap.",
            self.name,
            args.join(", ")
        );
        // The error chain (wasm backtrace, then the trap or the host's reason),
        // without the host's own native stack.
        for (i, cause) in err.chain().enumerate() {
            let _ = writeln!(out, "{}{cause}", if i == 0 { "" } else { "caused by: " });
        }
        let (exit_code, vm) = match self.store.try_borrow() {
            Ok(store) => (store.data().exit_code, store.data().vm.upgrade()),
            Err(_) => (None, None),
        };
        let lines = vm
            .and_then(|vm| vm.try_state().map(|s| s.recent_log_lines()))
            .unwrap_or_default();
        if let Some(code) = exit_code {
            let _ = writeln!(out, "(the plugin called WASI proc_exit({code}) first)");
        }
        let _ = writeln!(out, "the plugin's last log lines:");
        if lines.is_empty() {
            let _ = writeln!(out, "  (none)");
        }
        for line in lines {
            let _ = writeln!(out, "  {line}");
        }
        out
    }
}

/// What Envoy does when a callback is not exported (book: reference/callbacks.md):
/// starting and configuring succeed, `on_done` means done, filter callbacks
/// continue.
fn default_result(export: Export) -> u32 {
    match export {
        Export::VmStart { .. } | Export::Configure { .. } | Export::Done { .. } => 1,
        _ => 0,
    }
}

/// The engine's guest: calls go to the wasm instance.
pub(crate) struct WasmGuest(pub(crate) Rc<Instance>);

impl Guest for WasmGuest {
    fn call(&self, export: Export) -> u32 {
        self.0.call_export(export)
    }
}

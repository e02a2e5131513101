//! {{name}}: a plugin with its own VM context. The VM configuration (JSON,
//! e.g. `{"greeting": "hello"}`) is read when the VM starts and shared by every
//! plugin context of the VM; every response gets `x-greeting` with it.

use std::cell::RefCell;
use std::rc::Rc;

use proxywasm::log::{info, warn};
use proxywasm::{
    Action, Configuration, ContextId, HttpContext, NoContext, PluginContext, Result, VmContext,
    http,
};

/// The VM configuration (`vm_config.configuration` in `envoy.yaml`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmConfig {
    /// The value of the `x-greeting` response header.
    pub greeting: String,
}

/// What the VM shares with its plugin contexts.
#[derive(Debug, Default)]
pub struct Shared {
    greeting: RefCell<Rc<str>>,
}

/// One per VM: reads the VM configuration and creates the plugin contexts.
#[derive(Debug, Default)]
pub struct Vm {
    shared: Rc<Shared>,
}

impl VmContext for Vm {
    type Plugin = Plugin;

    // Envoy calls it after creating each plugin context (so a plugin reads the
    // shared state when it needs it, not when it is created), and in every
    // worker's VM: it must give the same result each time.
    fn on_vm_start(&mut self, configuration: Configuration) -> Result<()> {
        let config: VmConfig = configuration.json()?;
        info!("{{name}}: the VM greets with {:?}", config.greeting);
        *self.shared.greeting.borrow_mut() = config.greeting.into();
        Ok(())
    }

    fn new_plugin_context(&mut self, _id: ContextId) -> Plugin {
        Plugin {
            shared: Rc::clone(&self.shared),
        }
    }
}

/// One per plugin configuration.
#[derive(Debug)]
pub struct Plugin {
    shared: Rc<Shared>,
}

// `#[proxywasm::callbacks]`: the callbacks a block does not write are
// answered without reaching the context (fewer instructions per request).
#[proxywasm::callbacks]
impl PluginContext for Plugin {
    type Http = Greeter;
    type Tcp = NoContext;

    fn new_http_context(&mut self, _id: ContextId) -> Option<Greeter> {
        let greeting = Rc::clone(&self.shared.greeting.borrow());
        Some(Greeter { greeting })
    }
}

/// One per HTTP request.
#[derive(Debug)]
pub struct Greeter {
    greeting: Rc<str>,
}

#[proxywasm::callbacks]
impl HttpContext for Greeter {
    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        if let Err(e) = http::response_headers().add("x-greeting", &*self.greeting) {
            warn!("{{name}}: cannot add x-greeting: {e}");
        }
        Ok(Action::Continue)
    }
}

/// The entry point: the VM context, created once per VM.
#[proxywasm::main]
pub fn vm() -> Vm {
    Vm::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxywasm::mock::MockHost;
    use proxywasm_wasmtime::Dual;

    /// The plugin under test, natively and as its release `.wasm`: each
    /// test's body runs twice, on the emulator, then under wasmtime.
    const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.vm(vm))
        .configure(|| MockHost::builder().vm_configuration(r#"{"greeting": "hi there"}"#));

    #[test]
    fn responses_carry_the_vm_greeting() {
        DUAL.run(|host| {
            let mut stream = host.http_stream();
            stream.request_headers(&[(":method", "GET"), (":path", "/")], true);
            stream.response_headers(&[(":status", "200")], true);
            assert_eq!(
                stream.current_response_header("x-greeting").as_deref(),
                Some("hi there")
            );
            assert!(host.logs().contain("the VM greets with \"hi there\""));
            stream.complete();
        });
    }
}

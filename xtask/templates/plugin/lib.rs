//! {{name}}: a plugin with a JSON configuration. Every response gets the
//! configured header, e.g. `{"header": "x-team", "value": "payments"}`; a
//! configuration that does not parse is refused (Envoy then rejects it).

use std::rc::Rc;

use proxywasm::log::{info, warn};
use proxywasm::{
    Action, Configuration, ContextId, HttpContext, NoContext, PluginContext, Result, http,
};

/// The plugin configuration (`config.configuration` in `envoy.yaml`).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The response header to add.
    pub header: String,
    /// Its value.
    pub value: String,
}

/// One per plugin configuration: holds the parsed configuration.
#[derive(Debug, Default)]
pub struct Plugin {
    config: Option<Rc<Config>>,
}

// `#[proxywasm::callbacks]`: the callbacks a block does not write are
// answered without reaching the context (fewer instructions per request).
#[proxywasm::callbacks]
impl PluginContext for Plugin {
    type Http = Filter;
    type Tcp = NoContext;

    fn on_configure(&mut self, configuration: Configuration) -> Result<()> {
        let config: Config = configuration.json()?;
        let Config { header, value } = &config;
        info!("{{name}}: adding {header}: {value}");
        self.config = Some(Rc::new(config));
        Ok(())
    }

    fn new_http_context(&mut self, _id: ContextId) -> Option<Filter> {
        let config = Rc::clone(self.config.as_ref()?);
        Some(Filter { config })
    }
}

/// One per HTTP request: shares the plugin's configuration.
#[derive(Debug)]
pub struct Filter {
    config: Rc<Config>,
}

#[proxywasm::callbacks]
impl HttpContext for Filter {
    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        let Config { header, value } = &*self.config;
        if let Err(e) = http::response_headers().add(header, value) {
            warn!("{{name}}: cannot add {header}: {e}");
        }
        Ok(Action::Continue)
    }
}

/// The entry point: one `Plugin` per plugin configuration.
#[proxywasm::main(plugin)]
pub fn plugin(_id: ContextId) -> Plugin {
    Plugin::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxywasm::mock::MockHost;
    use proxywasm_wasmtime::Dual;

    /// The plugin under test, natively and as its release `.wasm`: each
    /// test's body runs twice, on the emulator, then under wasmtime.
    const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(plugin)).configure(|| {
        MockHost::builder().plugin_configuration(r#"{"header": "x-team", "value": "payments"}"#)
    });

    #[test]
    fn responses_carry_the_configured_header() {
        DUAL.run(|host| {
            let mut stream = host.http_stream();
            stream.request_headers(&[(":method", "GET"), (":path", "/")], true);
            stream.response_headers(&[(":status", "200")], true);
            assert_eq!(
                stream.current_response_header("x-team").as_deref(),
                Some("payments")
            );
            let logs = host.logs().info();
            assert_eq!(logs, ["{{name}}: adding x-team: payments"]);
            stream.complete();
        });
    }

    #[test]
    fn a_bad_configuration_is_refused() {
        DUAL.run_with(
            || MockHost::builder().plugin_configuration(r#"{"header": "x-team"}"#),
            |host| {
                assert!(!host.start());
                assert!(host.logs().contain("missing field `value`"));
            },
        );
    }
}

//! {{name}}: an HTTP filter. It logs the path of every request and adds
//! `x-proxywasm-plugin: {{name}}` to every response.

use proxywasm::log::{info, warn};
use proxywasm::{Action, ContextId, HttpContext, Result, http};

/// The response header the filter adds.
pub const HEADER: &str = "x-proxywasm-plugin";

/// One per HTTP request (Envoy creates a context per stream).
#[derive(Debug, Default)]
pub struct Filter {
    path: String,
}

// `#[proxywasm::callbacks]`: the callbacks a block does not write are
// answered without reaching the context (fewer instructions per request).
#[proxywasm::callbacks]
impl HttpContext for Filter {
    fn on_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        match http::request_headers().get(":path") {
            Ok(Some(path)) => self.path = path.to_string_lossy().into_owned(),
            Ok(None) => {}
            Err(e) => warn!("{{name}}: cannot read :path: {e}"),
        }
        info!("{{name}}: request for {}", self.path);
        Ok(Action::Continue)
    }

    fn on_response_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Result<Action> {
        if let Err(e) = http::response_headers().add(HEADER, "{{name}}") {
            warn!("{{name}}: cannot add {HEADER}: {e}");
        }
        Ok(Action::Continue)
    }
}

/// The entry point: a new `Filter` for every request.
#[proxywasm::main(http)]
pub fn filter(_id: ContextId) -> Filter {
    Filter::default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proxywasm_wasmtime::Dual;

    /// The plugin under test, natively and as its release `.wasm`: each
    /// test's body runs twice, on the emulator, then under wasmtime.
    const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.http(filter));

    #[test]
    fn responses_are_stamped_and_requests_logged() {
        DUAL.run(|host| {
            let mut stream = host.http_stream();
            stream.request_headers(&[(":method", "GET"), (":path", "/hello")], true);
            stream.response_headers(&[(":status", "200")], true);
            assert_eq!(
                stream.current_response_header(HEADER).as_deref(),
                Some("{{name}}")
            );
            let logs = host.logs().info();
            assert_eq!(logs, ["{{name}}: request for /hello"]);
            stream.complete();
        });
    }
}

//! `proxywasm::attribute` reads Envoy's attributes as Rust types: the
//! emulator derives `request.*` and `response.code` from the stream's
//! headers as Envoy does, and a test seeds the rest in Envoy's encodings
//! (book: reference/wire-formats.md#property-values).

use proxywasm::attribute::{self, request, response, source, xds};
use proxywasm::mock::MockHost;
use proxywasm::{Action, HttpContext, Result};
use std::net::SocketAddr;
use std::time::Duration;

mod support;

#[derive(Default)]
struct Audit {
    seen: Vec<String>,
}

impl Audit {
    fn record(&mut self) -> proxywasm::Result<()> {
        let client: Option<SocketAddr> = source::ADDRESS.get()?;
        let method = request::METHOD.get()?;
        let path = request::PATH.get()?;
        let duration: Option<Duration> = request::DURATION.get()?;
        let tier = xds::ROUTE_METADATA.get()?.and_then(|m| {
            m.get("acme", "tier")
                .and_then(|v| v.as_str().map(String::from))
        });
        self.seen.push(format!(
            "client={client:?} method={method:?} path={path:?} duration={duration:?} tier={tier:?}"
        ));
        Ok(())
    }
}

impl HttpContext for Audit {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        if let Err(e) = self.record() {
            proxywasm::log::warn!("{e}");
        }
        Ok(Action::Continue)
    }

    fn on_response_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        match response::CODE.get() {
            Ok(code) => proxywasm::log::info!("code={code:?}"),
            Err(e) => proxywasm::log::warn!("{e}"),
        }
        Ok(Action::Continue)
    }

    fn on_log(&mut self) -> Result<()> {
        proxywasm::log::info!("{}", self.seen.join("; "));
        Ok(())
    }
}

/// `filter_metadata { "acme": { "tier": "gold" } }`, as Envoy encodes it.
const ROUTE_METADATA: &[u8] = b"\x0a\x15\x0a\x04acme\x12\x0d\x0a\x0b\x0a\x04tier\x12\x03\x1a\x01g";

#[test]
fn attributes_arrive_typed_in_stream_callbacks() {
    let host = MockHost::builder().http(|_| Audit::default());
    let mut stream = host.http_stream();
    stream.set_property(&["source", "address"], "10.1.2.3:40000");
    stream.set_property(&["xds", "route_metadata"], ROUTE_METADATA);
    stream.request_headers(&[(":method", "POST"), (":path", "/orders?id=7")], true);
    stream.response_headers(&[(":status", "201")], true);
    stream.complete();
    assert!(
        host.logs().contain("code=Some(StatusCode(201))"),
        "{:#?}",
        host.logs().records()
    );
    assert!(
        host.logs().contain(
            r#"client=Some(10.1.2.3:40000) method=Some("POST") path=Some("/orders?id=7") duration=None tier=Some("g")"#
        ),
        "{:#?}",
        host.logs().records()
    );
}

#[test]
fn a_value_in_the_wrong_encoding_is_an_error_naming_the_attribute() {
    let host = MockHost::builder().http(|_| Audit::default());
    let mut stream = host.http_stream();
    stream.set_property(&["source", "address"], "not an address");
    stream.request_headers(&[(":path", "/")], true);
    assert!(
        host.logs()
            .contain("attribute `source.address`: malformed data from the host: expected an address `ip:port`"),
        "{:#?}",
        host.logs().records()
    );
    // The raw bytes stay readable.
    assert_eq!(
        stream.property(&["source", "address"]),
        Some(b"not an address".to_vec())
    );
}

#[test]
fn outside_a_stream_stream_attributes_are_absent() {
    let host = MockHost::builder().plugin(|_| {
        support::OnConfigure(|_| {
            let name = attribute::plugin::NAME.get()?;
            let path = request::PATH.get()?;
            proxywasm::log::info!("name={name:?} path={path:?}");
            Ok(())
        })
    });
    assert!(host.start());
    assert!(
        host.logs().contain("path=None"),
        "{:#?}",
        host.logs().records()
    );
}

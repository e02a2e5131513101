//! Edges of two emulator rules measured in Envoy 1.40 (book:
//! reference/envoy-1.40.md#which-vms-run-and-tick and
//! #direct-response-routes): a canary that refuses its configuration stops
//! the start; ticks of several VMs fire in time order; a direct-response
//! route drops request trailers too and answers a bodiless request; plugins
//! sharing a VM start one after another (book: reference/lifecycle.md).
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::mock::{EnvoyVms, MockHost, Noop};
use proxywasm::{
    Action, Configuration, ContextId, Error, NoContext, PluginContext, Result, VmContext, time,
};
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// Refuses its configuration in the first VM that configures (the canary).
struct FirstRefuses(Rc<Cell<u32>>);
impl PluginContext for FirstRefuses {
    type Http = NoContext;
    type Tcp = NoContext;
    fn on_configure(&mut self, _c: Configuration) -> Result<()> {
        self.0.set(self.0.get() + 1);
        if self.0.get() == 1 {
            return Err(Error::config("refused"));
        }
        Ok(())
    }
}

#[test]
fn a_canary_that_refuses_its_configuration_starts_nothing_else() {
    let configured = Rc::new(Cell::new(0));
    let shared = configured.clone();
    let envoy = EnvoyVms::new(2, move |b| {
        let count = shared.clone();
        b.echo_logs(false)
            .plugin(move |_| FirstRefuses(count.clone()))
    });
    assert!(!envoy.start());
    assert_eq!(configured.get(), 1, "only the canary configured");
    assert!(!envoy.main_thread().is_started());
    assert!(envoy.workers().all(|w| !w.is_started()));
}

/// Ticks at its own period, logging the emulated time in ms.
struct Every(u64);
impl PluginContext for Every {
    type Http = NoContext;
    type Tcp = NoContext;
    fn on_configure(&mut self, _c: Configuration) -> Result<()> {
        time::set_tick_period(Duration::from_millis(self.0))
    }
    fn on_tick(&mut self) -> Result<()> {
        let now = time::now().unwrap();
        let ms = now
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
            % 10_000;
        proxywasm::log::info!("{ms}");
        Ok(())
    }
}

#[test]
fn ticks_of_several_vms_fire_at_their_own_times_and_the_clocks_agree() {
    let envoy = EnvoyVms::new(1, |b| b.echo_logs(false).plugin(|_| Every(300)));
    assert!(envoy.start());
    envoy.advance(Duration::from_millis(1000));
    for vm in envoy.ticking() {
        assert_eq!(vm.logs().info(), ["300", "600", "900"]);
    }
    assert!(envoy.canary().logs().info().is_empty());
    assert_eq!(
        envoy.main_thread().time().now(),
        envoy.worker(0).time().now()
    );
}

#[test]
#[should_panic(expected = "no ticking VM (main thread or worker) set a tick period")]
fn tick_without_a_period_fails_as_envoy_would_never_tick() {
    let envoy = EnvoyVms::new(1, |b| b.http(|_| Noop));
    assert!(envoy.start());
    envoy.tick();
}

#[test]
fn a_direct_response_drops_request_trailers_too() {
    let host = MockHost::builder().http(|_| Noop);
    let mut stream = host.http_stream();
    stream.direct_response(204, "");
    stream.request_headers(&[(":method", "POST"), (":path", "/")], false);
    assert_eq!(stream.request_body(b"abc", false), Action::Continue);
    assert_eq!(stream.request_trailers(&[("x-sum", "1")]), Action::Continue);
    assert!(stream.current_request_trailers().is_empty());
    assert_eq!(
        stream.current_response_headers(),
        [(":status".to_owned(), "204".to_owned())]
    );
    assert!(stream.current_response_body().is_empty());
    let names: Vec<&str> = host.callbacks().iter().map(|e| e.name()).collect();
    assert!(!names.contains(&"proxy_on_request_body"));
    assert!(!names.contains(&"proxy_on_request_trailers"));
    assert!(names.contains(&"proxy_on_response_headers"));
    stream.complete();
}

#[test]
#[should_panic(expected = "answered it directly (direct_response); no upstream response comes")]
fn no_upstream_response_follows_a_direct_response() {
    let host = MockHost::builder().http(|_| Noop);
    let mut stream = host.http_stream();
    stream.direct_response(200, "ok");
    stream.request_headers(&[(":path", "/")], true);
    stream.response_headers(&[(":status", "200")], true);
}

#[test]
#[should_panic(expected = "before sending the request headers")]
fn a_direct_response_is_declared_before_the_request_headers() {
    let host = MockHost::builder().http(|_| Noop);
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/")], true);
    stream.direct_response(200, "late");
}

/// Logs each plugin's start-up steps.
struct Steps;
impl VmContext for Steps {
    type Plugin = Named;
    fn on_vm_start(&mut self, _c: Configuration) -> Result<()> {
        let name = proxywasm::attribute::plugin::NAME.get()?;
        proxywasm::log::info!("on_vm_start {}", name.unwrap_or_default());
        Ok(())
    }
    fn new_plugin_context(&mut self, _id: ContextId) -> Named {
        Named
    }
}
struct Named;
impl PluginContext for Named {
    type Http = NoContext;
    type Tcp = NoContext;
    fn on_configure(&mut self, c: Configuration) -> Result<()> {
        proxywasm::log::info!("on_configure {}", c.to_string_lossy()?);
        Ok(())
    }
}

#[test]
fn plugins_sharing_a_vm_start_one_after_another() {
    let host = MockHost::builder()
        .plugin_name("a")
        .plugin_configuration("a")
        .add_plugin_with(proxywasm::mock::PluginConfig {
            name: "b".into(),
            configuration: b"b".to_vec(),
            ..Default::default()
        })
        .vm(|| Steps);
    assert!(host.start());
    assert_eq!(
        host.logs().info(),
        [
            "on_vm_start a",
            "on_configure a",
            "on_vm_start b",
            "on_configure b"
        ]
    );
}

//! [`MockHost`]'s sub-handles, one per domain: [`Time`], [`SharedData`],
//! [`ForeignFunctions`], [`Callouts`], [`Metrics`] and [`Logs`]. Each borrows
//! the host (`host.logs().info()`, `host.callouts().http()`…).

use super::MockHost;
use super::engine::{
    DnsLookup, GrpcCallout, GrpcDelivery, HttpCallout, HttpOutcome, LogRecord, MetricKind,
    from_text,
};
use crate::callout::{GrpcToken, HttpCallToken};
use crate::logging::LogLevel;
use crate::{ContextId, QueueId, Status};
use core::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

/// The emulated clock and the plugins' timers: [`MockHost::time`].
#[derive(Clone, Copy, Debug)]
pub struct Time<'h>(pub(super) &'h MockHost);

impl Time<'_> {
    /// Go `Tick`: calls `proxy_on_tick` now on every plugin that set a tick
    /// period (and re-arms their timers from now).
    ///
    /// # Panics
    /// If no plugin set a tick period: Envoy would never tick.
    ///
    /// ```
    /// use proxywasm::{Configuration, NoContext, PluginContext, Result};
    /// struct Ticker;
    /// impl PluginContext for Ticker {
    ///     type Http = NoContext;
    ///     type Tcp = NoContext;
    ///     fn on_configure(&mut self, _c: Configuration) -> Result<()> {
    ///         proxywasm::time::set_tick_period(std::time::Duration::from_secs(60))
    ///     }
    ///     fn on_tick(&mut self) -> Result<()> { proxywasm::log::info!("tick"); Ok(()) }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().plugin(|_| Ticker);
    /// host.start();
    /// host.time().tick();
    /// assert_eq!(host.logs().info(), vec!["tick"]);
    /// ```
    pub fn tick(&self) {
        self.0.vm.tick();
    }

    /// Go `GetTickPeriod`: the first plugin's tick period (`None` when unset or 0).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| proxywasm::time::set_tick_period(std::time::Duration::from_millis(250))).unwrap();
    /// assert_eq!(host.time().tick_period(), Some(std::time::Duration::from_millis(250)));
    /// ```
    pub fn tick_period(&self) -> Option<Duration> {
        let root = self.0.state().roots.first().copied()?;
        self.tick_period_of(ContextId(root))
    }

    /// The tick period of plugin `root`.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.time().tick_period_of(host.root_context_id()), None);
    /// ```
    pub fn tick_period_of(&self, root: ContextId) -> Option<Duration> {
        let state = self.0.state();
        let period = state.root(root.0)?.tick_period_ms;
        (period > 0).then(|| Duration::from_millis(u64::from(period)))
    }

    /// Moves the emulated clock forward by `by`, firing everything due on
    /// the way in time order: ticks at each plugin's period (re-armed after
    /// each tick, as Envoy does) and HTTP callout timeouts (delivered as
    /// `:status` 504 responses).
    ///
    /// ```
    /// use std::time::Duration;
    /// use proxywasm::{Configuration, NoContext, PluginContext, Result};
    /// struct Ticker;
    /// impl PluginContext for Ticker {
    ///     type Http = NoContext;
    ///     type Tcp = NoContext;
    ///     fn on_configure(&mut self, _c: Configuration) -> Result<()> {
    ///         proxywasm::time::set_tick_period(Duration::from_millis(100))
    ///     }
    ///     fn on_tick(&mut self) -> Result<()> { proxywasm::log::info!("tick"); Ok(()) }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().plugin(|_| Ticker);
    /// host.start();
    /// host.time().advance(Duration::from_millis(350));
    /// assert_eq!(host.logs().info().len(), 3);
    /// ```
    pub fn advance(&self, by: Duration) {
        self.0.vm.advance_time(by);
    }

    /// The emulated wall clock (what `proxy_get_current_time_nanoseconds`
    /// and WASI `clock_time_get` report). It moves only when a test moves
    /// it, so it stands still within a callback, where Envoy's clock runs on
    /// (book: reference/hostcalls.md#logging-time-and-timers): a plugin that
    /// times its own work reads 0 here. This keeps every test reproducible.
    ///
    /// ```
    /// use std::time::Duration;
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// let before = host.time().now();
    /// host.time().advance(Duration::from_secs(5));
    /// assert_eq!(host.time().now().duration_since(before).unwrap(), Duration::from_secs(5));
    /// ```
    pub fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_nanos(self.0.state().now)
    }
}

/// Shared data and shared queues in this VM's `vm_id` scope: [`MockHost::shared_data`].
#[derive(Clone, Copy, Debug)]
pub struct SharedData<'h>(pub(super) &'h MockHost);

impl SharedData<'_> {
    /// The id of this VM's shared queue `name`, if a plugin registered it.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// let queue = host.run(|| proxywasm::shared::register_queue("jobs")).unwrap();
    /// assert_eq!(host.shared_data().queue_id("jobs"), Some(queue));
    /// ```
    pub fn queue_id(&self, name: &str) -> Option<QueueId> {
        let vm_id = self.0.vm_id();
        self.0.vm.world().with(|w| {
            w.queues
                .iter()
                .find(|(_, q)| q.vm_id == vm_id && q.name == name)
                .map(|(t, _)| QueueId(*t))
        })
    }

    /// Go `GetQueueSize`: items waiting in a queue.
    ///
    /// # Panics
    /// If no queue has that id.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// let queue = host.run(|| proxywasm::shared::register_queue("jobs")).unwrap();
    /// host.shared_data().enqueue(queue, b"job 1");
    /// assert_eq!(host.shared_data().queue_size(queue), 1);
    /// ```
    pub fn queue_size(&self, queue: QueueId) -> usize {
        let size = self
            .0
            .vm
            .world()
            .with(|w| w.queues.get(&queue.0).map(|q| q.items.len()));
        size.unwrap_or_else(|| {
            panic!(
                "no shared queue has id {}; a plugin must register it first",
                queue.0
            )
        })
    }

    /// Enqueues `item` as another VM would; the registrant's
    /// `on_queue_ready` runs right after.
    ///
    /// # Panics
    /// If no queue has that id.
    ///
    /// ```
    /// use proxywasm::{NoContext, PluginContext, QueueId, Result};
    /// struct Consumer;
    /// impl PluginContext for Consumer {
    ///     type Http = NoContext;
    ///     type Tcp = NoContext;
    ///     fn on_queue_ready(&mut self, queue: QueueId) -> Result<()> {
    ///         if let Ok(Some(item)) = proxywasm::shared::dequeue(queue) {
    ///             proxywasm::log::info!("got {item}");
    ///         }
    ///         Ok(())
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().plugin(|_| Consumer);
    /// let queue = host.run(|| proxywasm::shared::register_queue("jobs")).unwrap();
    /// host.shared_data().enqueue(queue, b"job 1");
    /// assert!(host.logs().contain("got job 1"));
    /// ```
    pub fn enqueue(&self, queue: QueueId, item: &[u8]) {
        self.0.vm.enqueue(queue.0, item);
    }

    /// Shared data `key` in this VM's `vm_id` scope: value and CAS.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| proxywasm::shared::set("hits", b"7", None)).unwrap();
    /// assert_eq!(host.shared_data().get("hits").unwrap().0, b"7");
    /// ```
    pub fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        self.0.vm.world().shared_data(&self.0.vm_id(), key)
    }

    /// Seeds shared data `key` in this VM's `vm_id` scope (fresh CAS).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.shared_data().set("hits", b"41");
    /// let (value, _cas) = host.run(|| proxywasm::shared::get("hits")).unwrap().unwrap();
    /// assert_eq!(value, "41");
    /// ```
    pub fn set(&self, key: &str, value: &[u8]) {
        self.0
            .vm
            .world()
            .set_shared_data(&self.0.vm_id(), key, value);
    }
}

/// Foreign functions the plugin may call: [`MockHost::foreign_functions`].
#[derive(Clone, Copy, Debug)]
pub struct ForeignFunctions<'h>(pub(super) &'h MockHost);

impl ForeignFunctions<'_> {
    /// Go `RegisterForeignFunction`, after the host was built.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.foreign_functions().register("echo", |args| Ok(args.to_vec()));
    /// assert_eq!(host.run(|| proxywasm::foreign::call("echo", b"x")).unwrap().unwrap(), "x");
    /// assert_eq!(host.foreign_functions().calls(), vec![("echo".to_string(), b"x".to_vec())]);
    /// ```
    pub fn register(
        &self,
        name: &str,
        function: impl FnMut(&[u8]) -> Result<Vec<u8>, Status> + 'static,
    ) {
        self.0
            .state()
            .register_foreign_function(name, Box::new(function));
    }

    /// Makes the built-in `expr_create` accept the CEL text `source` and
    /// `expr_evaluate` answer `value` for it, encoded as a property value
    /// (an `int` as 8 bytes little-endian, a `bool` as 1 byte, a string as
    /// its bytes): the emulator has Envoy's token protocol but no CEL
    /// interpreter. Other texts are refused as Envoy refuses a parse error.
    ///
    /// ```
    /// use proxywasm::foreign::Expression;
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.foreign_functions().expression("1 + 2", 3i64.to_le_bytes());
    /// let three = host.run(|| Expression::new("1 + 2")?.evaluate_as::<i64>()).unwrap();
    /// assert_eq!(three, 3);
    /// assert!(host.run(|| Expression::new("1 +")).is_err());
    /// assert!(host.foreign_functions().live_expressions().is_empty(), "dropped, so deleted");
    /// ```
    pub fn expression(&self, source: &str, value: impl Into<Vec<u8>>) {
        self.0.state().define_expression(source, value.into());
    }

    /// The tokens of the CEL expressions the plugin created and has not
    /// deleted: a leak check for [`Expression`](crate::foreign::Expression).
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.foreign_functions().expression("true", [1]);
    /// let kept = host.run(|| proxywasm::foreign::Expression::new("true")).unwrap();
    /// assert_eq!(host.foreign_functions().live_expressions(), [kept.token()]);
    /// host.run(|| drop(kept));
    /// assert!(host.foreign_functions().live_expressions().is_empty());
    /// ```
    pub fn live_expressions(&self) -> Vec<u32> {
        self.0.state().live_expressions()
    }

    /// Every `proxy_call_foreign_function` so far: name and arguments.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// let _ = host.run(|| proxywasm::foreign::call("missing", b"a"));
    /// assert_eq!(host.foreign_functions().calls().len(), 1);
    /// ```
    pub fn calls(&self) -> Vec<(String, Vec<u8>)> {
        self.0.state().foreign_calls.clone()
    }

    /// Calls `proxy_on_foreign_function(root, function_id, size)` with
    /// `arguments` readable as `CALL_DATA`, as hosts other than Envoy may.
    ///
    /// ```
    /// use proxywasm::{NoContext, PluginContext, Result};
    /// struct P;
    /// impl PluginContext for P {
    ///     type Http = NoContext;
    ///     type Tcp = NoContext;
    ///     fn on_foreign_function(&mut self, id: proxywasm::foreign::FunctionId, _size: usize) -> Result<()> {
    ///         let args = proxywasm::foreign::arguments().read_all().unwrap_or_default();
    ///         proxywasm::log::info!("function {id}: {args}");
    ///         Ok(())
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().plugin(|_| P);
    /// host.foreign_functions().call_back(7, b"payload");
    /// assert!(host.logs().contain("function 7: payload"));
    /// ```
    pub fn call_back(&self, function_id: u32, arguments: &[u8]) {
        self.0
            .vm
            .foreign_function_callback(None, function_id, arguments);
    }
}

/// HTTP callouts, gRPC calls and streams, and DNS lookups, recorded and
/// answered by the test: [`MockHost::callouts`].
#[derive(Clone, Copy, Debug)]
pub struct Callouts<'h>(pub(super) &'h MockHost);

impl Callouts<'_> {
    fn grpc_event(&self, token: GrpcToken, event: GrpcDelivery) {
        self.0.vm.grpc_event(token.0, event);
    }

    /// HTTP callouts dispatched and not yet answered, oldest first.
    ///
    /// ```
    /// use proxywasm::callout::HttpCall;
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| HttpCall::new("a").header(":method", "GET").header(":path", "/").header(":authority", "x").send())
    ///     .unwrap();
    /// assert_eq!(host.callouts().http()[0].upstream, "a");
    /// ```
    pub fn http(&self) -> Vec<HttpCallout> {
        self.0
            .state()
            .http_calls
            .values()
            .map(|c| c.record.clone())
            .collect()
    }

    /// Go `GetCalloutAttributesFromContext`: the pending callouts `context` made.
    ///
    /// ```
    /// use proxywasm::callout::HttpCall;
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| HttpCall::new("a").header(":method", "GET").header(":path", "/").header(":authority", "x").send())
    ///     .unwrap();
    /// assert_eq!(host.callouts().http_from(host.root_context_id()).len(), 1);
    /// assert!(host.callouts().http_from(proxywasm::ContextId(9)).is_empty());
    /// ```
    pub fn http_from(&self, context: ContextId) -> Vec<HttpCallout> {
        self.http()
            .into_iter()
            .filter(|c| c.context_id == context)
            .collect()
    }

    /// Go `CallOnHttpCallResponse`: answers a callout. Envoy delivers it to
    /// the **root** context of the caller (`proxy_on_http_call_response`);
    /// the SDK routes it to the context that made the call.
    ///
    /// # Panics
    /// If no pending callout has that token (never made, or already answered).
    ///
    /// ```
    /// use proxywasm::callout::{self, HttpCall, HttpCallToken};
    /// use proxywasm::{HttpCallResponse, NoContext, PluginContext, Result};
    /// struct P;
    /// impl PluginContext for P {
    ///     type Http = NoContext;
    ///     type Tcp = NoContext;
    ///     fn on_http_call_response(&mut self, _t: HttpCallToken, r: HttpCallResponse) -> Result<()> {
    ///         let body = callout::response_body().read_all().unwrap_or_default();
    ///         proxywasm::log::info!("{} headers, body {body}", r.num_headers);
    ///         Ok(())
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().plugin(|_| P);
    /// let token = host
    ///     .run(|| HttpCall::new("a").header(":method", "GET").header(":path", "/").header(":authority", "x").send())
    ///     .unwrap();
    /// host.callouts().respond_http(token, &[(":status", "200")], b"ok", &[]);
    /// assert!(host.logs().contain("1 headers, body ok"));
    /// ```
    pub fn respond_http(
        &self,
        token: HttpCallToken,
        headers: &[(&str, &str)],
        body: &[u8],
        trailers: &[(&str, &str)],
    ) {
        let response = HttpOutcome::Answer(from_text(headers), body.to_vec(), from_text(trailers));
        self.0.vm.answer_http(token.0, response);
    }

    /// The callout's upstream is down (it refused the connection), as Envoy
    /// delivers it: **a normal response**, `:status` 503 with Envoy's body
    /// `upstream connect error or disconnect/reset before headers. reset
    /// reason: remote connection failure` (`content-length` and
    /// `content-type: text/plain`), not a failure without headers
    /// (book: reference/envoy-1.40.md#http-callout-failures). A plugin that
    /// only checks [`is_failure`](crate::HttpCallResponse::is_failure) lets
    /// requests through while its upstream is down; check the status.
    ///
    /// # Panics
    /// If no pending callout has that token.
    ///
    /// ```
    /// use proxywasm::callout::{self, HttpCall, HttpCallToken};
    /// use proxywasm::{HttpCallResponse, NoContext, PluginContext, Result};
    /// struct P;
    /// impl PluginContext for P {
    ///     type Http = NoContext;
    ///     type Tcp = NoContext;
    ///     fn on_http_call_response(&mut self, _t: HttpCallToken, r: HttpCallResponse) -> Result<()> {
    ///         let status = callout::response_headers().get(":status").ok().flatten();
    ///         let status = status.map(|s| s.to_string()).unwrap_or_default();
    ///         proxywasm::log::warn!("failure {}, status {status}", r.is_failure());
    ///         Ok(())
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().plugin(|_| P);
    /// let token = host
    ///     .run(|| HttpCall::new("a").header(":method", "GET").header(":path", "/").header(":authority", "x").send())
    ///     .unwrap();
    /// host.callouts().connect_failure_http(token);
    /// assert!(host.logs().contain("failure false, status 503"));
    /// ```
    pub fn connect_failure_http(&self, token: HttpCallToken) {
        self.0.vm.answer_http(token.0, HttpOutcome::ConnectFailure);
    }

    /// The callout's upstream sent its response headers and then reset the
    /// stream (it closed the connection mid-body): the one outcome Envoy
    /// delivers **without headers** (and no body), with `proxy_get_status`
    /// = 11, `"reset"`. An unreachable upstream is
    /// [`connect_failure_http`](Callouts::connect_failure_http), a timeout
    /// [`time_out_http`](Callouts::time_out_http).
    ///
    /// # Panics
    /// If no pending callout has that token.
    ///
    /// ```
    /// use proxywasm::callout::{HttpCall, HttpCallToken};
    /// use proxywasm::{HttpCallResponse, NoContext, PluginContext, Result};
    /// struct P;
    /// impl PluginContext for P {
    ///     type Http = NoContext;
    ///     type Tcp = NoContext;
    ///     fn on_http_call_response(&mut self, _t: HttpCallToken, r: HttpCallResponse) -> Result<()> {
    ///         let (code, message) = proxywasm::callout::grpc_status().unwrap();
    ///         proxywasm::log::warn!("failed: {}, {} {message}", r.is_failure(), code.code());
    ///         Ok(())
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().plugin(|_| P);
    /// let token = host
    ///     .run(|| HttpCall::new("a").header(":method", "GET").header(":path", "/").header(":authority", "x").send())
    ///     .unwrap();
    /// host.callouts().reset_http(token);
    /// assert!(host.logs().contain("failed: true, 11 reset"));
    /// ```
    pub fn reset_http(&self, token: HttpCallToken) {
        self.0.vm.answer_http(token.0, HttpOutcome::Reset);
    }

    /// Times a callout out now, as Envoy does when its timeout expires: a
    /// normal response with `:status` 504 and body `upstream request timeout`
    /// (`content-length` and `content-type: text/plain`).
    /// ([`Time::advance`] past the timeout does the same.)
    ///
    /// # Panics
    /// If no pending callout has that token.
    ///
    /// ```
    /// use proxywasm::callout::{self, HttpCall, HttpCallToken};
    /// use proxywasm::{HttpCallResponse, NoContext, PluginContext, Result};
    /// struct P;
    /// impl PluginContext for P {
    ///     type Http = NoContext;
    ///     type Tcp = NoContext;
    ///     fn on_http_call_response(&mut self, _t: HttpCallToken, _r: HttpCallResponse) -> Result<()> {
    ///         let status = callout::response_headers().get(":status").ok().flatten();
    ///         proxywasm::log::info!("status {}", status.map(|s| s.to_string()).unwrap_or_default());
    ///         Ok(())
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().plugin(|_| P);
    /// let token = host
    ///     .run(|| HttpCall::new("a").header(":method", "GET").header(":path", "/").header(":authority", "x").send())
    ///     .unwrap();
    /// host.callouts().time_out_http(token);
    /// assert!(host.logs().contain("status 504"));
    /// ```
    pub fn time_out_http(&self, token: HttpCallToken) {
        self.0.vm.answer_http(token.0, HttpOutcome::Timeout);
    }

    /// gRPC calls and streams that are still open.
    ///
    /// ```
    /// use proxywasm::callout::GrpcCall;
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| GrpcCall::new("c", "pkg.S", "M").open_stream()).unwrap();
    /// assert_eq!(host.callouts().grpc()[0].kind, proxywasm::mock::GrpcKind::Stream);
    /// ```
    pub fn grpc(&self) -> Vec<GrpcCallout> {
        self.0
            .state()
            .grpc_calls
            .values()
            .map(|c| c.record.clone())
            .collect()
    }

    /// Answers a unary gRPC call successfully: `proxy_on_grpc_receive` with
    /// `message` (and, as in Envoy, no close callback).
    ///
    /// # Panics
    /// If no open call has that token, or it is a stream.
    ///
    /// ```
    /// use proxywasm::callout::{self, GrpcCall, GrpcToken};
    /// use proxywasm::{GrpcEvent, NoContext, PluginContext, Result};
    /// struct P;
    /// impl PluginContext for P {
    ///     type Http = NoContext;
    ///     type Tcp = NoContext;
    ///     fn on_grpc_event(&mut self, _t: GrpcToken, event: GrpcEvent) -> Result<()> {
    ///         if let GrpcEvent::Message { .. } = event {
    ///             let reply = callout::grpc_message().read_all().unwrap_or_default();
    ///             proxywasm::log::info!("reply {reply}");
    ///         }
    ///         Ok(())
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().plugin(|_| P);
    /// let token = host.run(|| GrpcCall::new("c", "pkg.S", "M").send(b"q")).unwrap();
    /// host.callouts().respond_grpc(token, b"answer");
    /// assert!(host.logs().contain("reply answer"));
    /// assert!(host.callouts().grpc().is_empty());
    /// ```
    pub fn respond_grpc(&self, token: GrpcToken, message: &[u8]) {
        self.grpc_event(
            token,
            GrpcDelivery::Message {
                message: message.to_vec(),
                reply: true,
            },
        );
    }

    /// Delivers initial metadata on a gRPC stream.
    ///
    /// ```
    /// use proxywasm::callout::{self, GrpcCall, GrpcToken};
    /// use proxywasm::{GrpcEvent, NoContext, PluginContext, Result};
    /// struct P;
    /// impl PluginContext for P {
    ///     type Http = NoContext;
    ///     type Tcp = NoContext;
    ///     fn on_grpc_event(&mut self, _t: GrpcToken, event: GrpcEvent) -> Result<()> {
    ///         if let GrpcEvent::InitialMetadata { .. } = event {
    ///             let v = callout::grpc_initial_metadata().get("x-a").ok().flatten();
    ///             proxywasm::log::info!("x-a={}", v.map(|v| v.to_string()).unwrap_or_default());
    ///         }
    ///         Ok(())
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().plugin(|_| P);
    /// let token = host.run(|| GrpcCall::new("c", "pkg.S", "M").open_stream()).unwrap();
    /// host.callouts().grpc_initial_metadata(token, &[("x-a", "1")]);
    /// assert!(host.logs().contain("x-a=1"));
    /// ```
    pub fn grpc_initial_metadata(&self, token: GrpcToken, metadata: &[(&str, &str)]) {
        self.grpc_event(
            token,
            GrpcDelivery::Metadata {
                trailing: false,
                map: from_text(metadata),
            },
        );
    }

    /// Delivers a message on a gRPC stream (or answers a unary call).
    ///
    /// ```
    /// use proxywasm::callout::GrpcCall;
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// let token = host.run(|| GrpcCall::new("c", "pkg.S", "M").open_stream()).unwrap();
    /// host.callouts().grpc_message(token, b"m1");
    /// assert_eq!(host.callouts().grpc().len(), 1); // a stream stays open
    /// ```
    pub fn grpc_message(&self, token: GrpcToken, message: &[u8]) {
        self.grpc_event(
            token,
            GrpcDelivery::Message {
                message: message.to_vec(),
                reply: false,
            },
        );
    }

    /// Delivers trailing metadata on a gRPC stream.
    ///
    /// ```
    /// use proxywasm::callout::GrpcCall;
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// let token = host.run(|| GrpcCall::new("c", "pkg.S", "M").open_stream()).unwrap();
    /// host.callouts().grpc_trailing_metadata(token, &[("grpc-status", "0")]);
    /// ```
    pub fn grpc_trailing_metadata(&self, token: GrpcToken, metadata: &[(&str, &str)]) {
        self.grpc_event(
            token,
            GrpcDelivery::Metadata {
                trailing: true,
                map: from_text(metadata),
            },
        );
    }

    /// Fails a gRPC call, or closes a stream from the remote side, with
    /// `status` and `message`: `proxy_on_grpc_close`, with the message
    /// readable through `proxy_get_status`.
    ///
    /// ```
    /// use proxywasm::callout::GrpcCall;
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// let stream = host.run(|| GrpcCall::new("c", "pkg.S", "M").open_stream()).unwrap();
    /// let call = host.run(|| GrpcCall::new("c", "pkg.S", "M").send(b"q")).unwrap();
    /// host.callouts().close_grpc(stream, 0, "");
    /// host.callouts().close_grpc(call, 14, "unavailable");
    /// assert!(host.callouts().grpc().is_empty());
    /// ```
    pub fn close_grpc(&self, token: GrpcToken, status: u32, message: &str) {
        self.grpc_event(
            token,
            GrpcDelivery::Close(status, message.as_bytes().to_vec()),
        );
    }

    /// DNS lookups started with `envoy_resolve_dns` and not yet answered.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| proxywasm::dns::resolve("example.com")).unwrap();
    /// assert_eq!(host.callouts().dns().len(), 1);
    /// ```
    pub fn dns(&self) -> Vec<DnsLookup> {
        self.0.state().dns.values().cloned().collect()
    }

    /// Answers a DNS lookup with `(ttl_seconds, address)` results
    /// (`envoy_on_resolve_dns`, data in `CALL_DATA`); no results = failure.
    ///
    /// # Panics
    /// If no pending lookup has that token.
    ///
    /// ```
    /// use proxywasm::{NoContext, PluginContext, Result};
    /// struct P;
    /// impl PluginContext for P {
    ///     type Http = NoContext;
    ///     type Tcp = NoContext;
    ///     fn on_resolve_dns(&mut self, _token: proxywasm::dns::DnsToken, _size: usize) -> Result<()> {
    ///         for r in proxywasm::dns::results().unwrap_or_default() {
    ///             proxywasm::log::info!("{} ttl {}", r.address, r.ttl_seconds);
    ///         }
    ///         Ok(())
    ///     }
    /// }
    /// let host = proxywasm::mock::MockHost::builder().plugin(|_| P);
    /// let token = host.run(|| proxywasm::dns::resolve("example.com")).unwrap();
    /// host.callouts().respond_dns(token.0, &[(30, "10.0.0.1")]);
    /// assert!(host.logs().contain("10.0.0.1 ttl 30"));
    /// ```
    pub fn respond_dns(&self, token: u32, results: &[(u32, &str)]) {
        self.0.vm.respond_dns(token, results);
    }
}

/// Metric values, per name in the host's world: [`MockHost::metrics`].
#[derive(Clone, Copy, Debug)]
pub struct Metrics<'h>(pub(super) &'h MockHost);

impl Metrics<'_> {
    fn metric(&self, name: &str, kind: MetricKind) -> Option<(u64, Vec<u64>)> {
        self.0.vm.world().with(|w| {
            if let Some(m) = w.metrics.get(&(kind, name.to_owned())) {
                return Some((m.value, m.samples.clone()));
            }
            if let Some(((other, _), _)) = w.metrics.iter().find(|((_, n), _)| n == name) {
                panic!(
                    "metric {name:?} is a {}, not a {}",
                    other.name(),
                    kind.name()
                );
            }
            None
        })
    }

    /// Go `GetCounterMetric`: a counter's value, `None` if undefined.
    ///
    /// # Panics
    /// If `name` is a gauge or histogram.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| proxywasm::metrics::Counter::define("requests")?.increment(2)).unwrap();
    /// assert_eq!(host.metrics().counter("requests"), Some(2));
    /// assert_eq!(host.metrics().counter("other"), None);
    /// ```
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.metric(name, MetricKind::Counter).map(|(v, _)| v)
    }

    /// Go `GetGaugeMetric`: a gauge's value, `None` if undefined. Unsigned,
    /// as Envoy's: below 0 it wraps around.
    ///
    /// # Panics
    /// If `name` is a counter or histogram.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| proxywasm::metrics::Gauge::define("active")?.add(3)).unwrap();
    /// assert_eq!(host.metrics().gauge("active"), Some(3));
    /// host.run(|| proxywasm::metrics::Gauge::define("active")?.add(-4)).unwrap();
    /// assert_eq!(host.metrics().gauge("active"), Some(u64::MAX));
    /// ```
    pub fn gauge(&self, name: &str) -> Option<u64> {
        self.metric(name, MetricKind::Gauge).map(|(v, _)| v)
    }

    /// Go `GetHistogramMetric`: every value recorded, in order (Go returns
    /// only the last).
    ///
    /// # Panics
    /// If `name` is a counter or gauge.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| {
    ///     let h = proxywasm::metrics::Histogram::define("latency")?;
    ///     h.record(3)?;
    ///     h.record(5)
    /// })
    /// .unwrap();
    /// assert_eq!(host.metrics().histogram("latency"), Some(vec![3, 5]));
    /// ```
    pub fn histogram(&self, name: &str) -> Option<Vec<u64>> {
        self.metric(name, MetricKind::Histogram)
            .map(|(_, samples)| samples)
    }

    /// [`counter`](Metrics::counter) of the stat a
    /// [`Family`](crate::metrics::Family) named `base` defines for these
    /// tags (keys in the family's order, values as the plugin gave them).
    ///
    /// # Panics
    /// If that stat is a gauge or histogram.
    ///
    /// ```
    /// use proxywasm::metrics::{Counter, Family};
    ///
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| {
    ///     let calls = Family::<Counter, 2>::new("calls", ["host", "code"])?;
    ///     calls.get(["10.0.0.1", "200"])?.increment(1)
    /// })
    /// .unwrap();
    /// let tags = [("host", "10.0.0.1"), ("code", "200")];
    /// assert_eq!(host.metrics().counter_tagged("calls", &tags), Some(1));
    /// assert_eq!(host.metrics().counter("calls.host=10_0_0_1.code=200"), Some(1));
    /// ```
    pub fn counter_tagged(&self, base: &str, tags: &[(&str, &str)]) -> Option<u64> {
        self.counter(&tagged(base, tags))
    }

    /// [`gauge`](Metrics::gauge) of a [`Family`](crate::metrics::Family)'s
    /// stat, as [`counter_tagged`](Metrics::counter_tagged).
    ///
    /// # Panics
    /// If that stat is a counter or histogram.
    ///
    /// ```
    /// use proxywasm::metrics::{Family, Gauge};
    ///
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| Family::<Gauge, 1>::new("sessions", ["tier"])?.get(["gold"])?.set(4))
    ///     .unwrap();
    /// assert_eq!(host.metrics().gauge_tagged("sessions", &[("tier", "gold")]), Some(4));
    /// assert_eq!(host.metrics().gauge_tagged("sessions", &[("tier", "blue")]), None);
    /// ```
    pub fn gauge_tagged(&self, base: &str, tags: &[(&str, &str)]) -> Option<u64> {
        self.gauge(&tagged(base, tags))
    }

    /// [`histogram`](Metrics::histogram) of a
    /// [`Family`](crate::metrics::Family)'s stat, as
    /// [`counter_tagged`](Metrics::counter_tagged).
    ///
    /// # Panics
    /// If that stat is a counter or gauge.
    ///
    /// ```
    /// use proxywasm::metrics::{Family, Histogram};
    ///
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| Family::<Histogram, 1>::new("latency", ["route"])?.get(["api"])?.record(7))
    ///     .unwrap();
    /// assert_eq!(host.metrics().histogram_tagged("latency", &[("route", "api")]), Some(vec![7]));
    /// ```
    pub fn histogram_tagged(&self, base: &str, tags: &[(&str, &str)]) -> Option<Vec<u64>> {
        self.histogram(&tagged(base, tags))
    }

    /// Every stat name defined in the host's world, sorted, as Envoy has them
    /// without its `wasmcustom.` namespace.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| {
    ///     proxywasm::metrics::Gauge::define("b")?;
    ///     proxywasm::metrics::Counter::define("a")?;
    ///     Ok::<(), proxywasm::Error>(())
    /// })
    /// .unwrap();
    /// assert_eq!(host.metrics().names(), ["a", "b"]);
    /// ```
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .0
            .vm
            .world()
            .with(|w| w.metrics.keys().map(|(_, n)| n.clone()).collect());
        names.sort_unstable();
        names.dedup();
        names
    }
}

/// The stat name a [`Family`](crate::metrics::Family) defines for `tags`.
fn tagged(base: &str, tags: &[(&str, &str)]) -> String {
    let mut name = String::from(base);
    for (key, value) in tags {
        crate::metrics::push_tag(&mut name, key, value);
    }
    name
}

/// [`Logs::trace`] … [`Logs::critical`]: [`Logs::at`] one level, each with
/// its example.
macro_rules! level_getters {
    ($($(#[$doc:meta])* $name:ident => $level:ident, $message:literal, $log:expr;)*) => {$(
        $(#[$doc])*
        ///
        /// ```
        /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
        #[doc = concat!("host.run(|| ", stringify!($log), ");")]
        #[doc = concat!("assert_eq!(host.logs().", stringify!($name), "(), vec![", stringify!($message), "]);")]
        /// ```
        pub fn $name(&self) -> Vec<String> {
            self.at(LogLevel::$level)
        }
    )*};
}

/// The plugin's log records and the host's log level: [`MockHost::logs`].
#[derive(Clone, Copy, Debug)]
pub struct Logs<'h>(pub(super) &'h MockHost);

impl Logs<'_> {
    /// Every log record, in order.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| {
    ///     proxywasm::log::info!("one");
    ///     proxywasm::log::error!("two");
    /// });
    /// let messages: Vec<String> = host.logs().records().into_iter().map(|r| r.message).collect();
    /// assert_eq!(messages, vec!["one", "two"]);
    /// ```
    pub fn records(&self) -> Vec<LogRecord> {
        self.0.state().logs.clone()
    }

    /// The messages logged at `level`.
    ///
    /// ```
    /// use proxywasm::logging::LogLevel;
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| proxywasm::log::warn!("careful"));
    /// assert_eq!(host.logs().at(LogLevel::Warn), vec!["careful"]);
    /// ```
    pub fn at(&self, level: LogLevel) -> Vec<String> {
        self.0
            .state()
            .logs
            .iter()
            .filter(|r| r.level == level)
            .map(|r| r.message.clone())
            .collect()
    }

    level_getters! {
        /// Go `GetTraceLogs`: the messages logged at trace.
        trace => Trace, "t", proxywasm::log::trace!("t");
        /// Go `GetDebugLogs`: the messages logged at debug.
        debug => Debug, "d", proxywasm::log::debug!("d");
        /// Go `GetInfoLogs`: the messages logged at info.
        info => Info, "i", proxywasm::log::info!("i");
        /// Go `GetWarnLogs`: the messages logged at warn.
        warn => Warn, "w", proxywasm::log::warn!("w");
        /// Go `GetErrorLogs`: the messages logged at error.
        error => Error, "e", proxywasm::log::error!("e");
        /// Go `GetCriticalLogs`: the messages logged at critical.
        critical => Critical, "c", proxywasm::logging::write(proxywasm::logging::LogLevel::Critical, "c").unwrap();
    }

    /// Whether any log message contains `text`.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| proxywasm::log::info!("configured with hello"));
    /// assert!(host.logs().contain("with hello"));
    /// assert!(!host.logs().contain("goodbye"));
    /// ```
    pub fn contain(&self, text: &str) -> bool {
        self.0.state().logs.iter().any(|r| r.message.contains(text))
    }

    /// Forgets the logs recorded so far.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.run(|| proxywasm::log::info!("x"));
    /// host.logs().clear();
    /// assert!(host.logs().records().is_empty());
    /// ```
    pub fn clear(&self) {
        self.0.state().logs.clear();
    }

    /// The host's log level now.
    ///
    /// ```
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// assert_eq!(host.logs().level(), proxywasm::logging::LogLevel::Trace);
    /// ```
    pub fn level(&self) -> LogLevel {
        self.0.state().config.log_level
    }

    /// Changes the host's log level (Envoy does not push it: the plugin sees
    /// it when it next asks).
    ///
    /// ```
    /// use proxywasm::logging::LogLevel;
    /// let host = proxywasm::mock::MockHost::builder().http(|_| proxywasm::mock::Noop);
    /// host.logs().set_level(LogLevel::Off);
    /// assert_eq!(host.run(proxywasm::logging::log_level).unwrap(), LogLevel::Off);
    /// ```
    pub fn set_level(&self, level: LogLevel) {
        self.0.state().config.log_level = level;
    }
}

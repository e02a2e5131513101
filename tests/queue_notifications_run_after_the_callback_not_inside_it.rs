//! Envoy posts `proxy_on_queue_ready` to the registrant's event loop: it
//! never runs nested inside the callback that enqueued.
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::mock::{Export, MockHost};
use proxywasm::{
    Action, ContextId, HttpContext, NoContext, PluginContext, QueueId, Result, shared,
};

struct Root;
impl PluginContext for Root {
    type Http = Producer;
    type Tcp = NoContext;
    fn on_queue_ready(&mut self, queue: QueueId) -> Result<()> {
        let item = shared::dequeue(queue)
            .ok()
            .flatten()
            .map(|i| i.to_string())
            .unwrap_or_default();
        proxywasm::log::info!("consumed {item}");
        Ok(())
    }
    fn new_http_context(&mut self, _id: ContextId) -> Option<Producer> {
        Some(Producer)
    }
}

struct Producer;
impl HttpContext for Producer {
    fn on_request_headers(&mut self, _n: usize, _eos: bool) -> Result<Action> {
        if let Ok(Some(queue)) = shared::resolve_queue("", "work") {
            let _ = shared::enqueue(queue, b"job");
            proxywasm::log::info!("produced");
        }
        Ok(Action::Continue)
    }
}

#[test]
fn on_queue_ready_follows_the_enqueueing_callback() {
    let host = MockHost::builder().plugin(|_| Root);
    host.run(|| shared::register_queue("work")).unwrap();
    let mut stream = host.http_stream();
    stream.request_headers(&[(":path", "/")], true);
    assert_eq!(host.logs().info(), vec!["produced", "consumed job"]);
    let calls = host.callbacks();
    let headers = calls
        .iter()
        .position(|e| matches!(e, Export::RequestHeaders { .. }))
        .unwrap();
    assert!(matches!(
        calls[headers + 1],
        Export::QueueReady { context_id: 1, .. }
    ));
}

//! `shared_queue`: the receiver registers `events` in its own `vm_id`; the
//! HTTP and TCP senders, in VMs of another `vm_id`, find it by the
//! receiver's `vm_id` and enqueue; the receiver logs every item it
//! dequeues.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on the mock host,
//! then on the release `shared_queue.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::mock::{MockHost, MockWorld};
use proxywasm_wasmtime::{Dual, DualHost};

/// The plugin natively and as its release `.wasm`.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(shared_queue::plugin));

/// The receiver's configuration in `envoy.yaml`.
const RECEIVER: &str = r#"{"receiver": {"queue": "events"}}"#;
/// The senders' configuration in `envoy.yaml`.
const SENDER: &str = r#"{"sender": {"vm_id": "receiver", "queue": "events"}}"#;

/// One Envoy process's VMs in one world: the receiver (`vm_id: receiver`)
/// and a sender (`vm_id: sender`, which serves HTTP streams and TCP
/// connections).
struct Envoy {
    receiver: DualHost,
    sender: DualHost,
}

/// Runs `body` with an unstarted [`Envoy`]: natively on the mock host, then
/// on the release `.wasm`.
fn dual(body: impl Fn(&Envoy)) {
    DUAL.run_hosts(|host| {
        let world = MockWorld::new();
        let vm = |vm_id: &str, config: &str| {
            host(
                MockHost::builder()
                    .world(&world)
                    .vm_id(vm_id)
                    .root_id(vm_id)
                    .echo_logs(false)
                    .plugin_configuration(config),
            )
        };
        let envoy = Envoy {
            receiver: vm("receiver", RECEIVER),
            sender: vm("sender", SENDER),
        };
        body(&envoy);
    });
}

fn start(envoy: &Envoy) {
    assert!(
        envoy.receiver.start(),
        "{:?}",
        envoy.receiver.logs().records()
    );
    assert!(envoy.sender.start(), "{:?}", envoy.sender.logs().records());
}

fn http_request(envoy: &Envoy, method: &str, path: &str) {
    let mut stream = envoy.sender.http_stream();
    let action = stream.request_headers(&[(":method", method), (":path", path)], true);
    assert_eq!(action, Action::Continue);
    stream.complete();
}

#[test]
fn the_receiver_registers_its_queue_when_configured() {
    dual(|envoy| {
        start(envoy);
        assert_eq!(
            envoy.receiver.logs().info(),
            ["shared_queue: receiver registered queue events"]
        );
        assert!(envoy.receiver.shared_data().queue_id("events").is_some());
        // Registered in the receiver's vm_id, not the sender's.
        assert!(envoy.sender.shared_data().queue_id("events").is_none());
        assert_eq!(
            envoy.sender.logs().info(),
            ["shared_queue: sender to queue events of vm receiver"]
        );
    });
}

#[test]
fn an_http_request_reaches_the_receiver() {
    dual(|envoy| {
        start(envoy);
        http_request(envoy, "GET", "/hello");
        assert!(
            envoy
                .sender
                .logs()
                .contain("shared_queue: enqueued http GET /hello")
        );
        assert!(
            envoy
                .receiver
                .logs()
                .contain("shared_queue: dequeued http GET /hello"),
            "{:?}",
            envoy.receiver.logs().records()
        );
    });
}

#[test]
fn downstream_tcp_data_reaches_the_receiver() {
    dual(|envoy| {
        start(envoy);
        let mut connection = envoy.sender.tcp_connection();
        assert_eq!(
            connection.downstream_data(b"hello", false),
            Action::Continue
        );
        assert_eq!(connection.downstream_data(b"", true), Action::Continue);
        assert!(
            envoy
                .receiver
                .logs()
                .contain("shared_queue: dequeued tcp 5 bytes")
        );
        let dequeued = envoy
            .receiver
            .logs()
            .info()
            .into_iter()
            .filter(|l| l.contains("dequeued"))
            .count();
        assert_eq!(dequeued, 1, "the empty end-of-stream chunk sends nothing");
    });
}

#[test]
fn items_arrive_in_the_order_they_were_sent() {
    dual(|envoy| {
        start(envoy);
        for path in ["/1", "/2", "/3"] {
            http_request(envoy, "POST", path);
        }
        let dequeued: Vec<String> = envoy
            .receiver
            .logs()
            .info()
            .into_iter()
            .filter(|l| l.contains("dequeued"))
            .collect();
        assert_eq!(
            dequeued,
            [
                "shared_queue: dequeued http POST /1",
                "shared_queue: dequeued http POST /2",
                "shared_queue: dequeued http POST /3",
            ]
        );
    });
}

#[test]
fn before_the_receiver_registers_a_sender_drops_the_item_and_the_request_passes() {
    dual(|envoy| {
        assert!(envoy.sender.start());
        http_request(envoy, "GET", "/early");
        assert_eq!(
            envoy.sender.logs().warn(),
            ["shared_queue: http GET /early dropped: no queue events in vm receiver"]
        );
        // Once the receiver is up, the next request gets through.
        assert!(envoy.receiver.start());
        http_request(envoy, "GET", "/late");
        assert!(
            envoy
                .receiver
                .logs()
                .contain("shared_queue: dequeued http GET /late")
        );
        assert!(!envoy.receiver.logs().contain("/early"));
    });
}

#[test]
fn a_configuration_without_a_role_refuses_to_start() {
    for config in [
        "{}",
        r#"{"receiver": {}}"#,
        r#"{"sender": {"queue": "events"}}"#,
    ] {
        DUAL.run_with(
            || MockHost::builder().plugin_configuration(config),
            |host| assert!(!host.start(), "{config} started"),
        );
    }
}

//! `rate_limiter` lets exactly `budget` requests through in the whole
//! process and answers 429 to the rest, however the workers' reads and
//! writes of the shared count interleave.
//!
//! Every test runs twice with `DUAL` (a `proxywasm_wasmtime::Dual`): natively on the mock host,
//! then on the release `rate_limiter.wasm` under wasmtime.

use proxywasm::Action;
use proxywasm::mock::{EnvoyVms, MockHost, MockWorld};
use proxywasm_wasmtime::{Dual, DualHost};
use std::rc::Rc;

/// The plugin natively and as its release `.wasm`.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| b.plugin(rate_limiter::plugin));

/// Runs `body` on one host with the configuration `config`.
fn dual_with(config: &'static str, body: impl Fn(&MockHost)) {
    DUAL.run_with(|| MockHost::builder().plugin_configuration(config), body);
}

/// Runs `body` on the VMs Envoy starts with `--concurrency workers` (the
/// canary, the main thread's VM and the workers, one shared-data store),
/// configured with `config`.
fn dual_envoy(workers: usize, config: &'static str, body: impl Fn(&EnvoyVms<DualHost>)) {
    DUAL.run_hosts(|host| {
        body(&EnvoyVms::new(workers, |b| {
            host(b.echo_logs(false).plugin_configuration(config))
        }));
    });
}

/// A worker of [`dual_workers`], shared so that one worker's hostcall can
/// run another's request.
type Worker = Rc<DualHost>;

/// Runs `body` with `count` started workers sharing one world (one Envoy's
/// shared data), configured with `config`.
fn dual_workers(count: usize, config: &'static str, body: impl Fn(&[Worker])) {
    DUAL.run_hosts(|host| {
        let world = MockWorld::new();
        let workers: Vec<Worker> = (0..count)
            .map(|_| {
                let builder = MockHost::builder().world(&world).echo_logs(false);
                Rc::new(host(builder.plugin_configuration(config)))
            })
            .collect();
        for worker in &workers {
            assert!(worker.start(), "{:?}", worker.logs().records());
        }
        body(&workers);
    });
}

/// What the filter did with one request: 200 (passed on) or 429.
fn request(host: &MockHost) -> u32 {
    let mut stream = host.http_stream();
    let action = stream.request_headers(&[(":path", "/"), (":method", "GET")], true);
    let status = match stream.local_response() {
        Some(reply) => {
            assert_eq!(action, Action::Pause);
            assert_eq!(reply.body, b"rate limited\n");
            reply.status_code
        }
        None => {
            assert_eq!(action, Action::Continue);
            200
        }
    };
    stream.complete();
    status
}

/// The count in shared data.
fn used(envoy: &EnvoyVms<DualHost>) -> u64 {
    let (bytes, _cas) = envoy
        .world()
        .shared_data("", rate_limiter::USED_KEY)
        .unwrap_or_else(|| unreachable!("never written"));
    <[u8; 8]>::try_from(bytes).map_or(u64::MAX, u64::from_le_bytes)
}

/// How many info lines of all VMs contain `text`.
fn logged(envoy: &EnvoyVms<DualHost>, text: &str) -> usize {
    envoy
        .all()
        .iter()
        .flat_map(|vm| vm.logs().info())
        .filter(|line| line.contains(text))
        .count()
}

#[test]
fn the_first_budget_requests_pass_and_the_rest_get_429() {
    dual_with(r#"{"budget": 3}"#, |host| {
        assert!(host.start(), "{:?}", host.logs().records());
        let statuses: Vec<u32> = (0..5).map(|_| request(host)).collect();
        assert_eq!(statuses, [200, 200, 200, 429, 429]);
        assert!(host.logs().contain("rate_limiter: granted 3 of 3"));
        assert!(
            host.logs()
                .contain("rate_limiter: refused, budget of 3 used up")
        );
        assert!(host.logs().error().is_empty(), "{:?}", host.logs().error());
    });
}

#[test]
fn a_budget_of_zero_refuses_everything() {
    dual_with(r#"{"budget": 0}"#, |host| {
        assert!(host.start());
        assert_eq!(request(host), 429);
        assert!(
            host.shared_data().get(rate_limiter::USED_KEY).is_none(),
            "nothing written"
        );
    });
}

#[test]
fn a_configuration_without_a_budget_refuses_to_start() {
    for config in [
        "",
        "{}",
        r#"{"budget": -1}"#,
        r#"{"budget": 3, "window": 1}"#,
    ] {
        dual_with(config, |host| {
            assert!(!host.start(), "{config:?} started");
        });
    }
}

#[test]
fn requests_spread_over_four_workers_share_one_budget() {
    // Envoy with `--concurrency 4`: the canary and the main thread's VM are
    // configured too, but take nothing from the budget.
    dual_envoy(4, r#"{"budget": 30}"#, |envoy| {
        assert!(envoy.start());
        assert_eq!(logged(envoy, "rate_limiter: budget of 30 requests"), 6);
        let mut statuses = [0; 2];
        for n in 0..100 {
            let status = request(envoy.worker(n % 4));
            statuses[usize::from(status != 200)] += 1;
        }
        assert_eq!(statuses, [30, 70]);
        assert_eq!(used(envoy), 30);
    });
}

/// Arms `first` so that, right after its next read of shared data, `second`
/// serves a whole request (and with it whatever `second` is armed with).
fn interleave(first: &Worker, second: &Worker) {
    let second = second.clone();
    first.interleave_on("proxy_get_shared_data", move || {
        request(&second);
    });
}

#[test]
fn racing_workers_never_hand_out_a_unit_twice() {
    // Four workers of one Envoy. In every round, each worker reads the count
    // before any of them writes: worker 0's read lets worker 1 serve a whole
    // request, whose read lets worker 2 serve one, and so on; three of the
    // four first writes lose their compare-and-swap and read again.
    dual_workers(4, r#"{"budget": 30}"#, |w| {
        for _ in 0..25 {
            interleave(&w[0], &w[1]);
            interleave(&w[1], &w[2]);
            interleave(&w[2], &w[3]);
            request(&w[0]);
        }
        let lines: Vec<String> = w.iter().flat_map(|vm| vm.logs().info()).collect();
        let count = |text: &str| lines.iter().filter(|l| l.contains(text)).count();
        assert_eq!(count("rate_limiter: granted"), 30, "{lines:?}");
        assert_eq!(count("rate_limiter: refused"), 70);
        for n in 1..=30 {
            assert_eq!(
                count(&format!("rate_limiter: granted {n} of 30")),
                1,
                "unit {n}"
            );
        }
        let (bytes, _cas) = w[0]
            .shared_data()
            .get(rate_limiter::USED_KEY)
            .unwrap_or_default();
        assert_eq!(bytes, 30u64.to_le_bytes());
        // The lost races were retried: more writes were tried than made.
        let sets: u64 = w
            .iter()
            .map(|vm| {
                vm.hostcall_counts()
                    .get("proxy_set_shared_data")
                    .copied()
                    .unwrap_or(0)
            })
            .sum();
        assert!(sets > 30, "{sets} writes for 30 units: no race was lost");
    });
}

//! Two or three workers of one Envoy (VMs sharing a `vm_id`, so one shared
//! data store) count requests, interleaved so that every worker reads the key
//! before any of them writes it: `MockHost::interleave_on` runs the next
//! worker's request right after this one's `proxy_get_shared_data`. The old
//! hand-written loop loses updates when the key is created; `shared::Counter`
//! and `shared::update` lose none.
//!
//! Every test runs natively on the mock host, then on the plugin's release
//! `.wasm` under wasmtime, against the same emulator.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proxywasm::Action;
use proxywasm::mock::{MockHost, MockWorld};
use proxywasm_wasmtime::{Dual, DualHost};
use std::rc::Rc;

/// The filter natively and as its release `.wasm`.
const DUAL: Dual = Dual::new(env!("CARGO_PKG_NAME"), |b| {
    b.http(proxywasm_shared_state::filter)
});

/// A worker: a native host or an engine host, both a `MockHost` underneath.
type Worker = Rc<DualHost>;

const VM_ID: &str = "counters";

fn builder(world: &MockWorld) -> proxywasm::mock::MockHostBuilder {
    MockHost::builder()
        .world(world)
        .vm_id(VM_ID)
        .echo_logs(false)
}

/// Runs `body` with `count` started workers sharing one world: natively,
/// then on the `.wasm`.
fn dual_workers(count: usize, body: impl Fn(&[Worker], &MockWorld)) {
    DUAL.run_hosts(|host| {
        let world = MockWorld::new();
        let workers: Vec<Worker> = (0..count).map(|_| Rc::new(host(builder(&world)))).collect();
        start(&workers);
        body(&workers, &world);
    });
}

fn start(workers: &[Worker]) {
    for worker in workers {
        assert!(worker.start());
    }
}

/// One request for `path` on `worker`: what the filter answered.
fn request(worker: &MockHost, path: &str) -> Action {
    let mut stream = worker.http_stream();
    stream.request_headers(&[(":path", path), (":method", "GET")], true)
}

/// Arms `first` so that, right after its next read of shared data, `second`
/// serves a whole request for `path` (and with it whatever `second` itself is
/// armed with).
fn interleave(first: &Worker, second: &Worker, path: &'static str) {
    let second = second.clone();
    first.interleave_on("proxy_get_shared_data", move || {
        request(&second, path);
    });
}

/// The stored `u64` under `key`.
fn stored(world: &MockWorld, key: &str) -> u64 {
    let (bytes, _cas) = world
        .shared_data(VM_ID, key)
        .unwrap_or_else(|| panic!("`{key}` was never written"));
    u64::from_le_bytes(bytes.try_into().expect("8 bytes"))
}

fn sets(worker: &MockHost) -> u64 {
    worker
        .hostcall_counts()
        .get("proxy_set_shared_data")
        .copied()
        .unwrap_or(0)
}

#[test]
fn the_old_loop_loses_an_update_when_two_workers_create_the_key() {
    dual_workers(2, |w, world| {
        interleave(&w[0], &w[1], "/old");
        request(&w[0], "/old");
        // Both read "missing", both wrote 1 unconditionally.
        assert_eq!(stored(world, "old"), 1, "two requests, one counted");
        assert_eq!(w[0].logs().info(), ["old = 1"]);
        assert_eq!(w[1].logs().info(), ["old = 1"]);
        assert_eq!((sets(&w[0]), sets(&w[1])), (1, 1), "neither retried");
    });
}

#[test]
fn the_counter_loses_no_update_when_two_workers_create_the_key() {
    dual_workers(2, |w, world| {
        interleave(&w[0], &w[1], "/counter");
        request(&w[0], "/counter");
        assert_eq!(stored(world, "counter"), 2);
        assert_eq!(w[1].logs().info(), ["counter = 1"]);
        assert_eq!(w[0].logs().info(), ["counter = 2"]);
        // The first worker's creating write lost to the second's and retried.
        assert_eq!((sets(&w[0]), sets(&w[1])), (2, 1));
        assert!(w[0].logs().warn().is_empty(), "{:?}", w[0].logs().warn());
    });
}

#[test]
fn three_workers_that_all_read_before_any_writes_count_three_with_the_counter() {
    dual_workers(3, |w, world| {
        // 0 reads, 1 reads, 2 reads, 2 writes, 1 retries, 0 retries.
        interleave(&w[0], &w[1], "/counter");
        interleave(&w[1], &w[2], "/counter");
        request(&w[0], "/counter");
        assert_eq!(stored(world, "counter"), 3);
        assert_eq!(w[2].logs().info(), ["counter = 1"]);
        assert_eq!(w[1].logs().info(), ["counter = 2"]);
        assert_eq!(w[0].logs().info(), ["counter = 3"]);
    });
    dual_workers(3, |w, world| {
        interleave(&w[0], &w[1], "/old");
        interleave(&w[1], &w[2], "/old");
        request(&w[0], "/old");
        assert_eq!(stored(world, "old"), 1, "three requests, one counted");
    });
}

#[test]
fn once_the_key_exists_the_old_loop_retries_too() {
    // The loss is at creation only: with a CAS to compare, the old loop's
    // conditional write fails and it reads again, as the counter does.
    dual_workers(2, |w, world| {
        for path in ["/old", "/counter"] {
            request(&w[0], path);
            interleave(&w[0], &w[1], path);
            request(&w[0], path);
        }
        assert_eq!(stored(world, "old"), 3);
        assert_eq!(stored(world, "counter"), 3);
        assert_eq!(
            w[0].logs().info(),
            ["old = 1", "old = 3", "counter = 1", "counter = 3"]
        );
        assert_eq!(w[1].logs().info(), ["old = 2", "counter = 2"]);
    });
}

#[test]
fn a_quota_of_one_lets_one_of_two_racing_workers_through() {
    assert_eq!(proxywasm_shared_state::QUOTA, 1);
    dual_workers(2, |w, world| {
        interleave(&w[0], &w[1], "/quota");
        let mut first = w[0].http_stream();
        let action = first.request_headers(&[(":path", "/quota"), (":method", "GET")], true);
        // The second worker took the unit between the first one's read and
        // write; the first one's retry sees it used up and writes nothing.
        assert_eq!(w[1].logs().info(), ["quota = 1"]);
        assert_eq!(w[0].logs().info(), ["quota exhausted"]);
        assert_eq!(action, Action::Pause);
        assert_eq!(first.local_response().map(|r| r.status_code), Some(429));
        assert_eq!(stored(world, "quota"), 1);
        assert_eq!(sets(&w[0]), 1, "one lost creating write, no second write");
    });
}

#[test]
fn a_worker_that_loses_every_attempt_gives_up_after_the_bound_naming_the_key() {
    let bound = proxywasm::shared::DEFAULT_MAX_ATTEMPTS;
    dual_workers(2, |w, world| {
        // The other worker writes right after each of this one's reads.
        for _ in 0..bound {
            interleave(&w[0], &w[1], "/counter");
        }
        let action = request(&w[0], "/counter");
        assert_eq!(action, Action::Continue, "the filter logs and lets it pass");
        assert_eq!(
            w[0].logs().warn(),
            [format!(
                "cannot count: shared data `counter`: not updated after {bound} attempts, \
                 each lost to another writer (CAS_MISMATCH)"
            )]
        );
        assert_eq!(
            stored(world, "counter"),
            u64::from(bound),
            "the other worker's"
        );
        assert_eq!(sets(&w[0]), u64::from(bound));
    });
}

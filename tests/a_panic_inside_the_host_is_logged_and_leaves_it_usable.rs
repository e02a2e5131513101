//! Code that panics inside a host callback (here: test code run with
//! `MockHost::run`) unwinds to the test, is logged at critical level by the
//! SDK's panic hook (as a trap would be in Envoy), and leaves the host usable.
#![cfg(feature = "mock-host")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests assert by panicking

use proxywasm::mock::MockHost;
use proxywasm::{Action, HttpContext};
use std::panic::{AssertUnwindSafe, catch_unwind};

struct Noop;
impl HttpContext for Noop {}

#[test]
fn the_panic_reaches_the_test_and_the_host_still_works() {
    let host = MockHost::builder().http(|_| Noop);
    let caught = catch_unwind(AssertUnwindSafe(|| {
        host.run(|| panic!("boom in plugin code"))
    }));
    assert!(caught.is_err());
    let critical = host.critical_logs();
    assert_eq!(critical.len(), 1);
    assert!(critical[0].starts_with("panicked at "), "{}", critical[0]);
    assert!(
        critical[0].ends_with("boom in plugin code"),
        "{}",
        critical[0]
    );

    // No frame was left behind: streams and hostcalls work as before.
    let mut stream = host.http_stream();
    assert_eq!(
        stream.request_headers(&[(":path", "/")], true),
        Action::Continue
    );
    assert!(host.run(proxywasm::time::now).is_ok());
}
